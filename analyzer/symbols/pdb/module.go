package pdb

import (
	"sort"
	"sync"
)

// module is one DBI ModInfo record plus, once loaded, the index of its
// symbol stream: procedures and C13 line tables.
type module struct {
	name     string
	stream   int
	symBytes uint32
	c11Bytes uint32
	c13Bytes uint32

	once  sync.Once
	sym   []byte // symbol substream, including the 4-byte signature
	procs []procEntry
	lines []lineSub
	files []string
	// inlinees and chk serve inline frames: DEBUG_S_INLINEELINES by
	// inlinee id, and DEBUG_S_FILECHKSMS for the sites' file changes.
	inlinees map[uint32]inlineeSrc
	chk      []byte
	hasSites bool // the symbol stream has S_INLINESITE records
}

type procEntry struct {
	rva, size uint32
	off       uint32 // record offset in sym
	name      string
}

// lineSub is one DEBUG_S_LINES subsection (usually one function), with the
// entries of all its file blocks merged and sorted by offset.
type lineSub struct {
	rva, size uint32
	entries   []lineEntry
}

type lineEntry struct {
	off  uint32 // from rva
	line uint32 // 0: none (hidden-code markers 0xFEEFEE/0xF00F00)
	file uint32 // index into module.files
}

// C13 debug subsection kinds (DEBUG_S_SUBSECTION_TYPE).
const (
	debugSLines    = 0xF2
	debugSFileChks = 0xF4
)

// loadModule parses module i's symbol stream on first use.
func (f *File) loadModule(i int) *module {
	m := f.modules[i]
	m.once.Do(func() { f.parseModule(m) })
	return m
}

func (f *File) parseModule(m *module) {
	if m.stream == 0xFFFF || m.stream >= len(f.msf.sizes) {
		return
	}
	b, err := f.msf.stream(m.stream)
	if err != nil {
		return
	}
	symEnd := uint64(m.symBytes)
	if symEnd > uint64(len(b)) {
		symEnd = uint64(len(b))
	}
	m.sym = b[:symEnd]
	f.indexProcs(m)
	c13 := symEnd + uint64(m.c11Bytes)
	if c13 < uint64(len(b)) {
		end := c13 + uint64(m.c13Bytes)
		if end > uint64(len(b)) {
			end = uint64(len(b))
		}
		f.parseLines(m, b[c13:end])
	}
	// Keep only the symbol substream; the line data is now indexed.
	m.sym = append([]byte(nil), m.sym...)
}

// indexProcs collects the S_GPROC32/S_LPROC32 (and _ID, _DPC) records.
func (f *File) indexProcs(m *module) {
	r := le{b: m.sym}
	for off := 4; off+4 <= len(m.sym); {
		n := int(r.u16(off))
		kind := r.u16(off + 2)
		next := off + 2 + n
		if n < 2 || next > len(m.sym) {
			break
		}
		if kind == sINLINESITE || kind == sINLINESITE2 {
			m.hasSites = true
		}
		if isProc(kind) && n >= 2+35 {
			size := r.u32(off + 16)
			o := r.u32(off + 32)
			seg := r.u16(off + 36)
			if rva, ok := f.rva(seg, o); ok {
				m.procs = append(m.procs, procEntry{rva: rva, size: size, off: uint32(off), name: sanitizeName(r.cstr(off + 39))})
			}
		}
		off = next
	}
	sort.SliceStable(m.procs, func(i, j int) bool { return m.procs[i].rva < m.procs[j].rva })
}

// parseLines indexes the C13 DEBUG_S_LINES subsections, naming files through
// DEBUG_S_FILECHKSMS and the /names string table.
func (f *File) parseLines(m *module, b []byte) {
	r := le{b: b}
	var chk []byte
	var lineSubs [][]byte
	for off := 0; off+8 <= len(b); {
		kind := r.u32(off)
		n := int(r.u32(off + 4))
		if n < 0 || off+8+n > len(b) || off+8+n < off {
			break
		}
		data := b[off+8 : off+8+n]
		switch kind {
		case debugSFileChks:
			chk = data
		case debugSLines:
			lineSubs = append(lineSubs, data)
		case debugSInlineeLines:
			m.parseInlineeLines(data)
		}
		off = (off + 8 + n + 3) &^ 3
	}
	if m.hasSites {
		m.chk = append([]byte(nil), chk...)
	}
	names := f.namesBuf()
	fileIdx := map[uint32]uint32{}
	fileOf := func(id uint32) uint32 {
		if i, ok := fileIdx[id]; ok {
			return i
		}
		name := ""
		cr := le{b: chk}
		nameOff := cr.u32(int(id))
		if !cr.bad && nameOff < uint32(len(names)) {
			name = sanitizeName((&le{b: names}).cstr(int(nameOff)))
		}
		i := uint32(len(m.files))
		m.files = append(m.files, name)
		fileIdx[id] = i
		return i
	}
	for _, d := range lineSubs {
		lr := le{b: d}
		if len(d) < 12 {
			continue
		}
		offCon := lr.u32(0)
		seg := lr.u16(4)
		flags := lr.u16(6)
		cbCon := lr.u32(8)
		rva, ok := f.rva(seg, offCon)
		if !ok {
			continue
		}
		ls := lineSub{rva: rva, size: cbCon}
		for off := 12; off+12 <= len(d); {
			fileID := lr.u32(off)
			nLines := int(lr.u32(off + 4))
			cb := int(lr.u32(off + 8))
			if cb < 12 || off+cb > len(d) || off+cb < off || nLines < 0 || nLines > (cb-12)/8 {
				break
			}
			fi := fileOf(fileID)
			for k := 0; k < nLines; k++ {
				e := off + 12 + k*8
				lo := lr.u32(e)
				line := lr.u32(e+4) & 0xFFFFFF
				if line == 0xFEEFEE || line == 0xF00F00 {
					line = 0
				}
				ls.entries = append(ls.entries, lineEntry{off: lo, line: line, file: fi})
			}
			_ = flags // columns, if present, follow the lines; not needed
			off += cb
		}
		sort.SliceStable(ls.entries, func(i, j int) bool { return ls.entries[i].off < ls.entries[j].off })
		m.lines = append(m.lines, ls)
	}
	sort.SliceStable(m.lines, func(i, j int) bool { return m.lines[i].rva < m.lines[j].rva })
}

// lineFor returns the source file and line covering rva in module m.
func (m *module) lineFor(rva uint32) (string, int) {
	i := sort.Search(len(m.lines), func(i int) bool { return m.lines[i].rva > rva }) - 1
	// Subsections may be nested or overlap slightly; look back a little.
	for k := i; k >= 0 && k > i-4; k-- {
		ls := &m.lines[k]
		if rva-ls.rva >= ls.size && !(ls.size == 0 && rva == ls.rva) {
			continue
		}
		d := rva - ls.rva
		j := sort.Search(len(ls.entries), func(j int) bool { return ls.entries[j].off > d }) - 1
		if j < 0 {
			continue
		}
		e := ls.entries[j]
		if e.line == 0 {
			return m.files[e.file], 0
		}
		return m.files[e.file], int(e.line)
	}
	return "", 0
}

// procFor returns the procedure of m containing rva.
func (m *module) procFor(rva uint32) (*procEntry, bool) {
	i := sort.Search(len(m.procs), func(i int) bool { return m.procs[i].rva > rva }) - 1
	for k := i; k >= 0 && k > i-4; k-- {
		p := &m.procs[k]
		if rva-p.rva < p.size {
			return p, true
		}
	}
	return nil, false
}

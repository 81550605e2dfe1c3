// Package pdb reads the parts of a Microsoft PDB (MSF 7.00) needed to
// symbolicate stack frames and recover arguments: the PDB info stream (GUID),
// the DBI stream (age, modules, section contributions, section headers), the
// public symbols, module symbol streams (procedures, frame and variable
// records), C13 line information and the TPI/IPI type records.
//
// Open reads only the small index structures; module symbol streams, line
// tables and type records are parsed on first use. A File is safe for
// concurrent use.
package pdb

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
)

// Fixed stream numbers.
const (
	streamPDBInfo = 1
	streamTPI     = 2
	streamDBI     = 3
	streamIPI     = 4
)

// recoverPanics is turned off by the fuzz test so that it sees any panic.
var recoverPanics = true

// File is an opened PDB.
type File struct {
	msf     *msf
	guid    [16]byte
	age     uint32
	machine uint16

	sections []section
	contribs []contrib // code contributions, sorted by rva
	modules  []*module
	pubs     []public // code publics, sorted by rva
	pubNames []byte
	namesIdx int // stream number of /names, -1 if none
	symRec   int // stream number of the symbol record stream

	// Lazily loaded parts, each behind its own sync.Once so that lookups
	// can run concurrently.
	namesOnce sync.Once
	names     []byte // /names string buffer
	typesOnce sync.Once
	types     *typeTable
	idsOnce   sync.Once
	ids       *typeTable
}

type section struct {
	rva, size uint32
	exec      bool
}

type contrib struct {
	rva, size uint32
	mod       uint32
}

type public struct {
	rva      uint32
	nameOff  uint32
	nameLen  uint32
	function bool
}

// Open reads the PDB's index structures from r (size bytes long).
func Open(r io.ReaderAt, size int64) (f *File, err error) {
	defer func() {
		// The parsers check bounds explicitly; this is a last line of
		// defence so that a corrupt file never takes the caller down.
		if !recoverPanics {
			return
		}
		if p := recover(); p != nil {
			f, err = nil, fmt.Errorf("%w: %v", ErrCorrupt, p)
		}
	}()
	m, err := openMSF(r, size)
	if err != nil {
		return nil, err
	}
	f = &File{msf: m, namesIdx: -1}
	if err := f.readInfo(); err != nil {
		return nil, err
	}
	if err := f.readDBI(); err != nil {
		return nil, err
	}
	if err := f.readPublics(); err != nil {
		return nil, err
	}
	return f, nil
}

// GUID returns the PDB info stream's GUID (raw bytes as stored).
func (f *File) GUID() [16]byte { return f.guid }

// Age returns the DBI stream's Age, which is what the executable's CodeView
// record carries.
func (f *File) Age() uint32 { return f.age }

// Machine returns the DBI stream's machine type (IMAGE_FILE_MACHINE_*).
func (f *File) Machine() uint16 { return f.machine }

// DebugID returns the Breakpad/symbol-store identifier: the GUID's fields
// as upper-case hex numbers, then the age in hex without padding.
func (f *File) DebugID() string {
	g := f.guid
	return fmt.Sprintf("%08X%04X%04X%X%X", binary.LittleEndian.Uint32(g[0:]),
		binary.LittleEndian.Uint16(g[4:]), binary.LittleEndian.Uint16(g[6:]), g[8:16], f.age)
}

// readInfo parses the PDB info stream: Version, Signature, Age, Guid, then
// the named stream map, from which it takes "/names".
func (f *File) readInfo() error {
	b, err := f.msf.stream(streamPDBInfo)
	if err != nil {
		return fmt.Errorf("pdb: info stream: %w", err)
	}
	r := le{b: b}
	if len(b) < 28 {
		return fmt.Errorf("%w: info stream too short", ErrCorrupt)
	}
	f.age = r.u32(8)
	copy(f.guid[:], b[12:28])
	// Named stream map: string buffer, then a hash table of
	// (string offset, stream index) pairs with present/deleted bit vectors.
	off := 28
	strLen := int(r.u32(off))
	off += 4
	if r.bad || strLen < 0 || off+strLen > len(b) {
		return nil // no map: no /names
	}
	strs := b[off : off+strLen]
	off += strLen
	count := int(r.u32(off))
	capacity := int(r.u32(off + 4))
	off += 8
	presentWords := int(r.u32(off))
	off += 4
	if r.bad || presentWords < 0 || presentWords > len(b)/4 || capacity < 0 || capacity > len(b) {
		return nil
	}
	present := make([]uint32, presentWords)
	for i := range present {
		present[i] = r.u32(off)
		off += 4
	}
	deletedWords := int(r.u32(off))
	off += 4
	if r.bad || deletedWords < 0 || deletedWords > len(b)/4 {
		return nil
	}
	off += deletedWords * 4
	for i := 0; i < capacity && count > 0; i++ {
		if i/32 >= len(present) || present[i/32]&(1<<(i%32)) == 0 {
			continue
		}
		key := int(r.u32(off))
		val := r.u32(off + 4)
		off += 8
		if r.bad {
			return nil
		}
		count--
		if key >= 0 && key < len(strs) {
			name := (&le{b: strs}).cstr(key)
			if name == "/names" && int(val) < len(f.msf.sizes) {
				f.namesIdx = int(val)
			}
		}
	}
	return nil
}

// readDBI parses DBIStreamHeader, the module info substream, the section
// contribution substream and the optional debug header's section header
// stream.
func (f *File) readDBI() error {
	b, err := f.msf.stream(streamDBI)
	if err != nil {
		return fmt.Errorf("pdb: DBI stream: %w", err)
	}
	if len(b) < 64 {
		return fmt.Errorf("%w: DBI stream too short", ErrCorrupt)
	}
	r := le{b: b}
	f.age = r.u32(8)
	f.symRec = int(r.u16(20))
	modSize := int(r.i32(24))
	scSize := int(r.i32(28))
	secMapSize := int(r.i32(32))
	fileInfoSize := int(r.i32(36))
	tsmSize := int(r.i32(40))
	dbgSize := int(r.i32(48))
	ecSize := int(r.i32(52))
	f.machine = r.u16(58)
	for _, s := range []int{modSize, scSize, secMapSize, fileInfoSize, tsmSize, dbgSize, ecSize} {
		if s < 0 || s > len(b) {
			return fmt.Errorf("%w: DBI substream size %d", ErrCorrupt, s)
		}
	}
	off := 64
	sub := func(n int) []byte {
		if off+n > len(b) {
			off = len(b)
			return nil
		}
		s := b[off : off+n]
		off += n
		return s
	}
	modInfo := sub(modSize)
	secContr := sub(scSize)
	sub(secMapSize)
	sub(fileInfoSize)
	sub(tsmSize)
	sub(ecSize)
	dbg := sub(dbgSize)

	// Section headers (optional debug header slot 5) turn segment:offset
	// into RVAs.
	if len(dbg) >= 12 {
		idx := int(binary.LittleEndian.Uint16(dbg[10:]))
		if idx != 0xFFFF {
			sh, err := f.msf.stream(idx)
			if err != nil {
				return fmt.Errorf("pdb: section header stream: %w", err)
			}
			for i := 0; i+40 <= len(sh); i += 40 {
				vsize := binary.LittleEndian.Uint32(sh[i+8:])
				rva := binary.LittleEndian.Uint32(sh[i+12:])
				rawSize := binary.LittleEndian.Uint32(sh[i+16:])
				ch := binary.LittleEndian.Uint32(sh[i+36:])
				if vsize == 0 {
					vsize = rawSize
				}
				f.sections = append(f.sections, section{rva: rva, size: vsize, exec: ch&(0x20|0x20000000) != 0})
			}
		}
	}

	if err := f.readModules(modInfo); err != nil {
		return err
	}
	f.readContribs(secContr)
	return nil
}

// rva converts a 1-based section number and offset to an RVA.
func (f *File) rva(seg uint16, off uint32) (uint32, bool) {
	if seg == 0 || int(seg) > len(f.sections) {
		return 0, false
	}
	return f.sections[seg-1].rva + off, true
}

func (f *File) isExec(seg uint16) bool {
	return seg != 0 && int(seg) <= len(f.sections) && f.sections[seg-1].exec
}

// readModules parses the ModInfo records of the module info substream.
func (f *File) readModules(b []byte) error {
	r := le{b: b}
	for off := 0; off+64 <= len(b); {
		m := &module{
			stream:   int(r.u16(off + 34)),
			symBytes: r.u32(off + 36),
			c11Bytes: r.u32(off + 40),
			c13Bytes: r.u32(off + 44),
		}
		name := r.cstr(off + 64)
		obj := r.cstr(off + 64 + len(name) + 1)
		m.name = name
		end := off + 64 + len(name) + 1 + len(obj) + 1
		end = (end + 3) &^ 3
		if end <= off || r.bad {
			return fmt.Errorf("%w: module info", ErrCorrupt)
		}
		off = end
		f.modules = append(f.modules, m)
	}
	return nil
}

// readContribs parses the section contribution substream (SectionContrib
// entries, or SectionContrib2 for version V2) and keeps code contributions.
func (f *File) readContribs(b []byte) {
	r := le{b: b}
	if len(b) < 4 {
		return
	}
	ver := r.u32(0)
	size := 28
	if ver == 0xeffe0000+20140516 {
		size = 32
	}
	f.contribs = make([]contrib, 0, (len(b)-4)/size)
	for off := 4; off+size <= len(b); off += size {
		seg := r.u16(off)
		o := r.u32(off + 4)
		n := r.u32(off + 8)
		ch := r.u32(off + 12)
		mod := r.u16(off + 16)
		if ch&(0x20|0x20000000) == 0 && !f.isExec(seg) {
			continue
		}
		rva, ok := f.rva(seg, o)
		if !ok || n == 0 || int(mod) >= len(f.modules) {
			continue
		}
		f.contribs = append(f.contribs, contrib{rva: rva, size: n, mod: uint32(mod)})
	}
	sort.Slice(f.contribs, func(i, j int) bool { return f.contribs[i].rva < f.contribs[j].rva })
}

// Record kinds (CodeView SYM_ENUM_e).
const (
	sEND                    = 0x0006
	sTHUNK32                = 0x1102
	sBLOCK32                = 0x1103
	sWITH32                 = 0x1104
	sREGISTER               = 0x1106
	sBPREL32                = 0x110B
	sLPROC32                = 0x110F
	sGPROC32                = 0x1110
	sREGREL32               = 0x1111
	sPUB32                  = 0x110E
	sFRAMEPROC              = 0x1012
	sSEPCODE                = 0x1132
	sLOCAL                  = 0x113E
	sDEFRANGE               = 0x113F
	sDEFRANGE_SUBFIELD      = 0x1140
	sDEFRANGE_REGISTER      = 0x1141
	sDEFRANGE_FRAMEPTR_REL  = 0x1142
	sDEFRANGE_SUBFIELD_REG  = 0x1143
	sDEFRANGE_FRAMEPTR_FULL = 0x1144
	sDEFRANGE_REGISTER_REL  = 0x1145
	sLPROC32_ID             = 0x1146
	sGPROC32_ID             = 0x1147
	sINLINESITE             = 0x114D
	sINLINESITE_END         = 0x114E
	sPROC_ID_END            = 0x114F
	sLPROC32_DPC            = 0x1155
	sLPROC32_DPC_ID         = 0x1156
	sINLINESITE2            = 0x115D
)

func isProc(kind uint16) bool {
	switch kind {
	case sLPROC32, sGPROC32, sLPROC32_ID, sGPROC32_ID, sLPROC32_DPC, sLPROC32_DPC_ID:
		return true
	}
	return false
}

// readPublics walks the symbol record stream for S_PUB32 records (the
// PSI hash tables are not needed for address lookup) and keeps those in
// executable sections.
func (f *File) readPublics() error {
	b, err := f.msf.stream(f.symRec)
	if err != nil {
		return fmt.Errorf("pdb: symbol record stream: %w", err)
	}
	r := le{b: b}
	// Two passes: count, then fill exactly sized slices (large PDBs have
	// hundreds of thousands of publics).
	walk := func(fn func(off, next int, flags, o uint32, seg uint16)) {
		for off := 0; off+4 <= len(b); {
			n := int(r.u16(off))
			kind := r.u16(off + 2)
			next := off + 2 + n
			if n < 2 || next > len(b) {
				break
			}
			if kind == sPUB32 && n >= 12 {
				flags := r.u32(off + 4)
				o := r.u32(off + 8)
				seg := r.u16(off + 12)
				if f.isExec(seg) || flags&3 != 0 {
					fn(off, next, flags, o, seg)
				}
			}
			off = next
		}
	}
	count, nameBytes := 0, 0
	walk(func(off, next int, _, _ uint32, _ uint16) {
		count++
		nameBytes += next - off - 14
	})
	f.pubs = make([]public, 0, count)
	f.pubNames = make([]byte, 0, nameBytes)
	walk(func(off, next int, flags, o uint32, seg uint16) {
		rva, ok := f.rva(seg, o)
		if !ok {
			return
		}
		rec := b[off+14 : next]
		l := bytes.IndexByte(rec, 0)
		if l < 0 {
			l = len(rec)
		}
		f.pubs = append(f.pubs, public{rva: rva, nameOff: uint32(len(f.pubNames)), nameLen: uint32(l), function: flags&2 != 0})
		f.pubNames = append(f.pubNames, rec[:l]...)
	})
	sort.SliceStable(f.pubs, func(i, j int) bool { return f.pubs[i].rva < f.pubs[j].rva })
	return nil
}

func (f *File) pubName(p public) string {
	return string(f.pubNames[p.nameOff : p.nameOff+p.nameLen])
}

// namesBuf returns the /names stream's string buffer (NameTable header:
// Signature, HashVersion, ByteSize, then the strings).
func (f *File) namesBuf() []byte {
	f.namesOnce.Do(func() {
		if f.namesIdx < 0 {
			return
		}
		b, err := f.msf.stream(f.namesIdx)
		if err != nil || len(b) < 12 {
			return
		}
		n := binary.LittleEndian.Uint32(b[8:])
		if uint64(n)+12 > uint64(len(b)) {
			return
		}
		f.names = b[12 : 12+n]
	})
	return f.names
}

// sanitizeName trims what is not printable from a stored name.
func sanitizeName(s string) string {
	return strings.ToValidUTF8(s, "\uFFFD")
}

// Package dwarf symbolizes addresses of PE images that carry DWARF debug
// information, as MinGW (gcc -g) builds do, using debug/pe and debug/dwarf.
//
// Open indexes the DW_TAG_subprogram address ranges of every compilation unit
// once, with names qualified from the DIE tree (DW_TAG_namespace, class and
// structure parents, followed through DW_AT_specification and
// DW_AT_abstract_origin) the way lldb shows them. A lookup lists the
// DW_TAG_inlined_subroutine chain at the address (inline.go). Line tables are decoded on
// demand, one compilation unit at a time. All addresses are RVAs: debug/pe
// and DWARF speak in VAs (ImageBase + RVA), converted here.
package dwarf

import (
	"cmp"
	"debug/dwarf"
	"debug/pe"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
)

// ErrNoDWARF is returned by Open for a PE file without a .debug_info section.
var ErrNoDWARF = errors.New("dwarf: no .debug_info section")

// maxInflate bounds the size a ".zdebug"/"ZLIB"-compressed section may claim,
// because debug/pe allocates that size before inflating.
const maxInflate = 256 << 20

// File is an opened PE image with DWARF. It is safe for concurrent use.
type File struct {
	data      *dwarf.Data
	imageBase uint64
	addrSize  int
	funcs     []funcRange // sorted by low, then longest first
	symtab    []coffSym   // function symbols of the COFF symbol table, sorted
	maxHigh   []uint64    // maxHigh[i] = max(funcs[0..i].high), to bound backward scans
	// names and refs name inlined subroutines through their
	// DW_AT_abstract_origin: qualified subprogram names by DIE, and the
	// specification/abstract-origin links between subprogram DIEs.
	names map[dwarf.Offset]string
	refs  map[dwarf.Offset]dwarf.Offset

	mu    sync.Mutex
	lines map[dwarf.Offset]*lineTable // by compilation unit offset
	types map[dwarf.Offset]typeInfo

	locs *locSections // location lists, for LocationAt
}

// funcRange is one address range of a DW_TAG_subprogram, as RVAs.
type funcRange struct {
	low, high uint64
	die       dwarf.Offset // the subprogram DIE
	cu        dwarf.Offset // its compilation unit DIE
	name      string
}

// Symbol is the result of a Lookup.
type Symbol struct {
	Name string
	RVA  uint64 // start of the function's range that contains the address
	Size uint64
	File string // source file and line of the address, from .debug_line
	Line int
	// Inlines are the DW_TAG_inlined_subroutine entries covering the
	// address, outermost first. File and Line are then the outermost call
	// site (DW_AT_call_file/call_line), and each inline's are the next call
	// site inside it, or the line table's place for the innermost.
	Inlines []Inline
	// FromSymtab is set when no DW_TAG_subprogram covers the address and the
	// name is the nearest preceding function of the COFF symbol table, as
	// llvm-symbolizer and lldb fall back to. Such names are raw: C++ names
	// are Itanium-mangled ("_Znwy"), and Size is 0.
	FromSymtab bool
}

// Inline is one inlined call at an address.
type Inline struct {
	Name string
	File string // "" when unknown
	Line int    // 0 when unknown
}

// coffSym is a function symbol from the COFF symbol table (IMAGE_SYMBOL with
// a complex type of DT_FUNCTION, or any external/static code symbol).
type coffSym struct {
	rva, end uint64 // end: end of its section, bounding the fallback
	name     string
}

// Open reads the PE headers and DWARF sections of r and indexes its
// functions. It fails if the file has no .debug_info section.
func Open(r io.ReaderAt) (f *File, err error) {
	defer func() {
		// debug/dwarf is not hardened against every malformed input; a
		// panic there must not take the analyzer down.
		if p := recover(); p != nil {
			f, err = nil, fmt.Errorf("dwarf: malformed debug information: %v", p)
		}
	}()
	pf, err := pe.NewFile(r)
	if err != nil {
		return nil, fmt.Errorf("dwarf: %w", err)
	}
	f = &File{lines: map[dwarf.Offset]*lineTable{}, types: map[dwarf.Offset]typeInfo{}}
	switch oh := pf.OptionalHeader.(type) {
	case *pe.OptionalHeader64:
		f.imageBase, f.addrSize = oh.ImageBase, 8
	case *pe.OptionalHeader32:
		f.imageBase, f.addrSize = uint64(oh.ImageBase), 4
	default:
		return nil, errors.New("dwarf: PE file without optional header")
	}
	hasInfo := false
	for _, s := range pf.Sections {
		switch s.Name {
		case ".debug_info", ".zdebug_info":
			hasInfo = true
		}
		if err := checkCompressed(s); err != nil {
			return nil, err
		}
	}
	if !hasInfo {
		return nil, ErrNoDWARF
	}
	f.data, err = pf.DWARF()
	if err != nil {
		return nil, fmt.Errorf("dwarf: %w", err)
	}
	if err := f.index(); err != nil {
		return nil, err
	}
	f.readSymtab(pf)
	f.locs = readLocSections(pf)
	return f, nil
}

// readSymtab keeps the COFF symbols (IMAGE_SYMBOL: Value, SectionNumber,
// Type, StorageClass) that name code: external or static symbols in
// executable sections, functions first when several share an address.
func (f *File) readSymtab(pf *pe.File) {
	const (
		classExternal = 2
		classStatic   = 3
		dtFunction    = 0x20
	)
	for _, s := range pf.Symbols {
		if s.SectionNumber <= 0 || int(s.SectionNumber) > len(pf.Sections) {
			continue
		}
		sec := pf.Sections[s.SectionNumber-1]
		if sec.Characteristics&pe.IMAGE_SCN_MEM_EXECUTE == 0 {
			continue
		}
		if s.StorageClass != classExternal && !(s.StorageClass == classStatic && s.Type&0xf0 == dtFunction) {
			continue
		}
		if s.Name == "" || s.Name[0] == '.' || s.Value >= sec.VirtualSize {
			continue
		}
		name := s.Name
		if f.addrSize == 4 && len(name) > 1 && name[0] == '_' {
			// i386 C names carry a leading underscore; undecorate as
			// llvm-symbolizer does.
			name = name[1:]
		}
		f.symtab = append(f.symtab, coffSym{
			rva:  uint64(sec.VirtualAddress) + uint64(s.Value),
			end:  uint64(sec.VirtualAddress) + uint64(sec.VirtualSize),
			name: name,
		})
	}
	slices.SortStableFunc(f.symtab, func(a, b coffSym) int { return cmp.Compare(a.rva, b.rva) })
}

// checkCompressed refuses a compressed debug section ("ZLIB" + big-endian
// uncompressed size) whose claimed size debug/pe would allocate blindly.
func checkCompressed(s *pe.Section) error {
	if !strings.HasPrefix(s.Name, ".debug_") && !strings.HasPrefix(s.Name, ".zdebug_") {
		return nil
	}
	var hdr [12]byte
	if _, err := s.ReadAt(hdr[:], 0); err != nil || string(hdr[:4]) != "ZLIB" {
		return nil
	}
	if n := binary.BigEndian.Uint64(hdr[4:]); n > maxInflate || n > 1024*uint64(s.Size) {
		return fmt.Errorf("dwarf: section %s claims %d uncompressed bytes", s.Name, n)
	}
	return nil
}

// scope is an open DIE with children during the index walk.
type scope struct {
	prefix string // qualified name of the innermost naming scope, "" at top
}

// pendingFunc is a subprogram with code whose name may come from the DIE it
// refers to by DW_AT_specification or DW_AT_abstract_origin.
type pendingFunc struct {
	ranges [][2]uint64
	die    dwarf.Offset
	cu     dwarf.Offset
	ref    dwarf.Offset
	hasRef bool
}

// index walks all DIEs once, collecting subprogram ranges and the qualified
// names of every subprogram DIE (declarations included, since definitions
// refer to them).
func (f *File) index() error {
	names := map[dwarf.Offset]string{}
	refs := map[dwarf.Offset]dwarf.Offset{}
	var pending []pendingFunc
	var stack []scope
	var cu dwarf.Offset
	r := f.data.Reader()
	for {
		e, err := r.Next()
		if err != nil {
			return fmt.Errorf("dwarf: reading .debug_info: %w", err)
		}
		if e == nil {
			break
		}
		if e.Tag == 0 {
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			continue
		}
		parent := ""
		if len(stack) > 0 {
			parent = stack[len(stack)-1].prefix
		}
		contributes := parent
		switch e.Tag {
		case dwarf.TagCompileUnit, dwarf.TagPartialUnit:
			cu = e.Offset
			stack = stack[:0]
			contributes = ""
		case dwarf.TagNamespace:
			n, ok := e.Val(dwarf.AttrName).(string)
			if !ok {
				n = "(anonymous namespace)"
			}
			contributes = qualify(parent, n)
		case dwarf.TagClassType, dwarf.TagStructType, dwarf.TagUnionType, dwarf.TagEnumerationType:
			if n, ok := e.Val(dwarf.AttrName).(string); ok {
				contributes = qualify(parent, n)
			}
		case dwarf.TagSubprogram:
			name, _ := e.Val(dwarf.AttrName).(string)
			if name == "" {
				name, _ = e.Val(dwarf.AttrLinkageName).(string)
			}
			if name != "" {
				// Local classes are qualified by their function's name.
				names[e.Offset] = qualify(parent, name)
				contributes = names[e.Offset]
			}
			ref, hasRef := e.Val(dwarf.AttrSpecification).(dwarf.Offset)
			if !hasRef {
				ref, hasRef = e.Val(dwarf.AttrAbstractOrigin).(dwarf.Offset)
			}
			if hasRef {
				refs[e.Offset] = ref
			}
			if ranges, err := f.data.Ranges(e); err == nil && len(ranges) > 0 {
				pending = append(pending, pendingFunc{ranges: ranges, die: e.Offset, cu: cu, ref: ref, hasRef: hasRef})
			}
		}
		if e.Children {
			stack = append(stack, scope{prefix: contributes})
		}
	}

	f.names, f.refs = names, refs
	for _, p := range pending {
		name := f.resolve(p.die, 0)
		for _, rg := range p.ranges {
			if rg[1] <= rg[0] || rg[0] < f.imageBase {
				continue // empty, or not in the image (e.g. discarded COMDAT at 0)
			}
			f.funcs = append(f.funcs, funcRange{low: rg[0] - f.imageBase, high: rg[1] - f.imageBase, die: p.die, cu: p.cu, name: name})
		}
	}
	slices.SortFunc(f.funcs, func(a, b funcRange) int {
		return cmp.Or(cmp.Compare(a.low, b.low), cmp.Compare(b.high, a.high))
	})
	f.maxHigh = make([]uint64, len(f.funcs))
	var m uint64
	for i, fr := range f.funcs {
		m = max(m, fr.high)
		f.maxHigh[i] = m
	}
	return nil
}

// resolve follows specification/abstract-origin links to the DIE that
// carries the best (declaration's, hence qualified) name.
func (f *File) resolve(off dwarf.Offset, depth int) string {
	if ref, ok := f.refs[off]; ok && depth < 8 {
		if n := f.resolve(ref, depth+1); n != "" {
			return n
		}
	}
	return f.names[off]
}

// qualify joins a scope's qualified name and a name with "::".
func qualify(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "::" + name
}

// find returns the innermost (shortest) function range containing rva.
func (f *File) find(rva uint64) *funcRange {
	i := sort.Search(len(f.funcs), func(i int) bool { return f.funcs[i].low > rva }) - 1
	var best *funcRange
	for ; i >= 0 && f.maxHigh[i] > rva; i-- {
		fr := &f.funcs[i]
		if rva < fr.high && (best == nil || fr.high-fr.low < best.high-best.low) {
			best = fr
		}
	}
	return best
}

// Functions returns the number of function ranges indexed.
func (f *File) Functions() int { return len(f.funcs) }

// ImageBase returns the PE OptionalHeader.ImageBase the RVAs are relative to.
func (f *File) ImageBase() uint64 { return f.imageBase }

// Lookup returns the function containing rva with the source line of rva.
// An address inside inlined subroutines reports the outer function at its
// call site, and the inlined calls in Inlines. Callers looking up a return
// address should pass the address minus one.
func (f *File) Lookup(rva uint64) (sym Symbol, ok bool) {
	defer func() {
		if recover() != nil {
			sym, ok = Symbol{}, false
		}
	}()
	fr := f.find(rva)
	if fr == nil {
		return f.lookupSymtab(rva)
	}
	sym = Symbol{Name: fr.name, RVA: fr.low, Size: fr.high - fr.low}
	lt := f.lineTable(fr.cu)
	if lt != nil {
		sym.File, sym.Line = lt.find(rva + f.imageBase)
	}
	f.addInlines(&sym, fr, lt, rva)
	return sym, true
}

// lookupSymtab names rva from the COFF symbol table, with the line of the
// compilation unit whose ranges cover it, if any.
func (f *File) lookupSymtab(rva uint64) (Symbol, bool) {
	i := sort.Search(len(f.symtab), func(i int) bool { return f.symtab[i].rva > rva }) - 1
	if i < 0 || rva >= f.symtab[i].end {
		return Symbol{}, false
	}
	// The last of several symbols at one address is as good as any; prefer
	// the first, which sorted stably is the symbol table's first.
	for i > 0 && f.symtab[i-1].rva == f.symtab[i].rva {
		i--
	}
	sym := Symbol{Name: f.symtab[i].name, RVA: f.symtab[i].rva, FromSymtab: true}
	r := f.data.Reader()
	if cu, err := r.SeekPC(rva + f.imageBase); err == nil && cu != nil {
		if lt := f.lineTable(cu.Offset); lt != nil {
			sym.File, sym.Line = lt.find(rva + f.imageBase)
		}
	}
	return sym, true
}

// lineTable returns the decoded line table of a compilation unit, decoding
// it on first use.
func (f *File) lineTable(cu dwarf.Offset) *lineTable {
	f.mu.Lock()
	defer f.mu.Unlock()
	if lt, ok := f.lines[cu]; ok {
		return lt
	}
	lt := f.decodeLines(cu)
	f.lines[cu] = lt
	return lt
}

type lineRow struct {
	addr   uint64
	file   int32 // index into lineTable.files
	line   int32
	endSeq bool
}

type lineTable struct {
	rows  []lineRow // sorted by address; end-of-sequence rows first on ties
	files []string
	// byIndex names the line program's files by their number, as
	// DW_AT_call_file refers to them.
	byIndex []string
}

func (f *File) decodeLines(cu dwarf.Offset) *lineTable {
	r := f.data.Reader()
	r.Seek(cu)
	e, err := r.Next()
	if err != nil || e == nil {
		return nil
	}
	lr, err := f.data.LineReader(e)
	if err != nil || lr == nil {
		return nil
	}
	compDir, _ := e.Val(dwarf.AttrCompDir).(string)
	lt := &lineTable{}
	fileIdx := map[*dwarf.LineFile]int32{}
	var le dwarf.LineEntry
	for {
		if err := lr.Next(&le); err != nil {
			break
		}
		row := lineRow{addr: le.Address, line: int32(le.Line), endSeq: le.EndSequence, file: -1}
		if le.File != nil {
			idx, ok := fileIdx[le.File]
			if !ok {
				idx = int32(len(lt.files))
				lt.files = append(lt.files, joinCompDir(compDir, le.File.Name))
				fileIdx[le.File] = idx
			}
			row.file = idx
		}
		lt.rows = append(lt.rows, row)
	}
	for _, lf := range lr.Files() {
		name := ""
		if lf != nil {
			name = joinCompDir(compDir, lf.Name)
		}
		lt.byIndex = append(lt.byIndex, name)
	}
	slices.SortStableFunc(lt.rows, func(a, b lineRow) int {
		if c := cmp.Compare(a.addr, b.addr); c != 0 {
			return c
		}
		// A sequence ending where another starts must not hide its start.
		switch {
		case a.endSeq && !b.endSeq:
			return -1
		case b.endSeq && !a.endSeq:
			return 1
		}
		return 0
	})
	return lt
}

// joinCompDir makes a relative line-table path absolute with the unit's
// DW_AT_comp_dir, as llvm-symbolizer does (debug/dwarf leaves DWARF 5 paths
// relative to directory 0 unjoined). Paths may use either slash and drive
// letters, since MinGW builds come from Windows and Unix hosts.
func joinCompDir(compDir, name string) string {
	if compDir == "" || isAbs(name) {
		return name
	}
	return path.Join(strings.ReplaceAll(compDir, "\\", "/"), name)
}

func isAbs(p string) bool {
	return strings.HasPrefix(p, "/") || strings.HasPrefix(p, "\\") ||
		(len(p) >= 3 && p[1] == ':' && (p[2] == '/' || p[2] == '\\'))
}

// find returns the file and line of the last row at or below addr, unless
// that row ends a sequence (addr is then in a gap).
func (lt *lineTable) find(addr uint64) (string, int) {
	i := sort.Search(len(lt.rows), func(i int) bool { return lt.rows[i].addr > addr }) - 1
	if i < 0 || lt.rows[i].endSeq {
		return "", 0
	}
	row := lt.rows[i]
	if row.file < 0 || int(row.file) >= len(lt.files) {
		return "", int(row.line)
	}
	return lt.files[row.file], int(row.line)
}

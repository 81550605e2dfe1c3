// Package breakpad reads Breakpad text symbol files (.sym) and evaluates the
// postfix programs of their STACK WIN and STACK CFI records.
//
// The record layout is described in Breakpad's docs/symbol_files.md. Lookups
// follow the semantics of Breakpad's BasicSourceLineResolver: FUNC ranges are
// exclusive (the first stored range wins an overlap), PUBLIC symbols cover the
// addresses up to the next FUNC or PUBLIC, STACK WIN ranges may nest (the
// innermost wins) and STACK CFI deltas apply up to and including the address.
package breakpad

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"
)

// ErrNoModule is returned by Parse when the input does not start with a
// MODULE record, which means it is not a Breakpad symbol file.
var ErrNoModule = errors.New("breakpad: no MODULE record")

// maxLineLen bounds one record. C++ names can be long, but a line above this is
// treated as malformed and skipped rather than buffered without limit.
const maxLineLen = 16 << 20

// ModuleRecord is the MODULE line: "MODULE <os> <arch> <debug id> <name>".
type ModuleRecord struct {
	OS, Arch, DebugID, Name string
}

// File is a parsed symbol file. It is read-only after Parse and safe for
// concurrent use.
type File struct {
	Module ModuleRecord
	// CodeID and CodeFile come from "INFO CODE_ID <code id> [<file>]": for PE
	// files the code id is TimeDateStamp followed by SizeOfImage, in hex.
	CodeID, CodeFile string

	files    map[int64]string
	funcs    []function // sorted by rva, non-overlapping
	lines    []lineRecord
	inlines  []inlineRange    // per FUNC, File.inlines[inlLo:inlHi], in file order
	origins  map[int64]string // INLINE_ORIGIN id -> function name
	publics  []publicSymbol   // sorted by rva, unique
	win      [numWinTypes][]winEntry
	cfiInit  []cfiInit  // sorted by rva, non-overlapping
	cfiDelta []cfiDelta // sorted by rva, unique

	warnings int
	dropped  int
}

type function struct {
	rva, size      uint64
	paramSize      uint32
	lineLo, lineHi uint32 // File.lines[lineLo:lineHi], sorted by rva
	inlLo, inlHi   uint32 // File.inlines[inlLo:inlHi]
	multiple       bool
	name           string
}

type lineRecord struct {
	rva, size uint64
	line      int32
	file      int32
}

// inlineRange is one address range of an INLINE record.
type inlineRange struct {
	rva, size uint64
	depth     int32 // nest level: 0 is inlined into the FUNC itself
	callLine  int32
	callFile  int32 // -1 when the record has none
	origin    int32
}

type publicSymbol struct {
	rva       uint64
	paramSize uint32
	multiple  bool
	name      string
}

type cfiInit struct {
	rva, size uint64
	rules     string
}

type cfiDelta struct {
	rva   uint64
	rules string
	seq   int
}

// Warnings returns how many lines were malformed and skipped.
func (f *File) Warnings() int { return f.warnings }

// Dropped returns how many well-formed records were not kept because their
// range was empty or conflicted with a record kept before them (as Breakpad's
// RangeMap and ContainedRangeMap refuse them).
func (f *File) Dropped() int { return f.dropped }

// Stats counts the records kept, for diagnostics and tests.
type Stats struct {
	Files, Funcs, Lines, Publics, StackWin, CFIInit, CFIDelta int
}

// Stats returns the number of records kept of each kind.
func (f *File) Stats() Stats {
	s := Stats{Files: len(f.files), Funcs: len(f.funcs), Lines: len(f.lines), Publics: len(f.publics),
		CFIInit: len(f.cfiInit), CFIDelta: len(f.cfiDelta)}
	for _, w := range f.win {
		s.StackWin += len(w)
	}
	return s
}

// parser holds the state of one streaming parse.
type parser struct {
	f        *File
	intern   map[string]string
	curFunc  int // index into f.funcs of the FUNC that line records belong to, or -1
	deltaSeq int
	tok      [12][]byte
}

// Parse reads a symbol file. Malformed lines are skipped and counted (see
// Warnings); only a missing MODULE first line is an error. Memory use is
// proportional to the records kept: the input is read line by line.
func Parse(r io.Reader) (*File, error) {
	p := &parser{
		f:       &File{files: map[int64]string{}, origins: map[int64]string{}},
		intern:  map[string]string{},
		curFunc: -1,
	}
	br := bufio.NewReaderSize(r, 64<<10)
	var long []byte
	first := true
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer: gather it, up to maxLineLen.
			long = append(long[:0], line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				if len(long) <= maxLineLen {
					long = append(long, line...)
				}
			}
			if len(long) > maxLineLen {
				p.f.warnings++
				long = long[:0]
				if err != nil {
					break
				}
				continue
			}
			line = long
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("breakpad: read: %w", err)
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) > 0 {
			if first {
				line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
				if !p.module(line) {
					return nil, ErrNoModule
				}
				first = false
			} else {
				p.record(line)
			}
		}
		if err != nil {
			break
		}
	}
	if first {
		return nil, ErrNoModule
	}
	p.finish()
	return p.f, nil
}

func (p *parser) str(b []byte) string {
	if s, ok := p.intern[string(b)]; ok {
		return s
	}
	s := string(b)
	p.intern[s] = s
	return s
}

// fields splits line on spaces into at most len(out) tokens; the last token
// is the rest of the line, as Breakpad's Tokenize does for names that contain
// spaces. It returns the number of tokens.
func fields(line []byte, out [][]byte) int {
	n := 0
	for n < len(out) {
		for len(line) > 0 && line[0] == ' ' {
			line = line[1:]
		}
		if len(line) == 0 {
			return n
		}
		if n == len(out)-1 {
			out[n] = line
			return n + 1
		}
		i := bytes.IndexByte(line, ' ')
		if i < 0 {
			out[n] = line
			return n + 1
		}
		out[n] = line[:i]
		line = line[i+1:]
		n++
	}
	return n
}

// hex parses a hexadecimal number with an optional 0x prefix, as strtoull
// with base 16 does (but without signs or leading spaces).
func hex(b []byte) (uint64, bool) {
	if len(b) > 2 && b[0] == '0' && (b[1] == 'x' || b[1] == 'X') {
		b = b[2:]
	}
	if len(b) == 0 || len(b) > 16 {
		// More than 16 digits can only fit with leading zeros.
		b = bytes.TrimLeft(b, "0")
		if len(b) > 16 {
			return 0, false
		}
		if len(b) == 0 {
			return 0, true
		}
	}
	var v uint64
	for _, c := range b {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		v = v<<4 | uint64(d)
	}
	return v, true
}

// dec parses a decimal number with an optional sign, bounded to int32 range
// since line numbers and file ids never need more.
func dec(b []byte) (int64, bool) {
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 10 {
		return 0, false
	}
	var v int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	if v > 1<<31-1 {
		return 0, false
	}
	if neg {
		v = -v
	}
	return v, true
}

func hasPrefix(line []byte, prefix string) bool {
	return len(line) >= len(prefix) && string(line[:len(prefix)]) == prefix
}

// module parses "MODULE <os> <arch> <id> <name>".
func (p *parser) module(line []byte) bool {
	if !hasPrefix(line, "MODULE ") {
		return false
	}
	t := p.tok[:4]
	if fields(line[7:], t) != 4 {
		return false
	}
	p.f.Module = ModuleRecord{OS: string(t[0]), Arch: string(t[1]), DebugID: string(t[2]), Name: string(t[3])}
	return true
}

func (p *parser) record(line []byte) {
	ok := true
	switch {
	case hasPrefix(line, "FILE "):
		ok = p.file(line[5:])
	case hasPrefix(line, "FUNC "):
		ok = p.function(line[5:])
	case hasPrefix(line, "PUBLIC "):
		// Line records after a PUBLIC do not belong to the previous FUNC.
		p.curFunc = -1
		ok = p.public(line[7:])
	case hasPrefix(line, "STACK WIN "):
		ok = p.stackWin(line[10:])
	case hasPrefix(line, "STACK CFI "):
		ok = p.stackCFI(line[10:])
	case hasPrefix(line, "INLINE_ORIGIN "):
		ok = p.inlineOrigin(line[14:])
	case hasPrefix(line, "INLINE "):
		ok = p.inline(line[7:])
	case hasPrefix(line, "INFO "):
		p.info(line[5:])
	case hasPrefix(line, "MODULE "), hasPrefix(line, "STACK "):
		// A second MODULE, or STACK records of an unknown kind: ignored.
		ok = hasPrefix(line, "MODULE ")
	default:
		ok = p.lineRecord(line)
	}
	if !ok {
		p.f.warnings++
	}
}

// file parses "FILE <id> <name>".
func (p *parser) file(rest []byte) bool {
	t := p.tok[:2]
	if fields(rest, t) != 2 {
		return false
	}
	id, ok := dec(t[0])
	if !ok || id < 0 {
		return false
	}
	if _, dup := p.f.files[id]; !dup {
		p.f.files[id] = string(t[1])
	}
	return true
}

// info parses "INFO CODE_ID <code id> [<file>]"; other INFO records are
// housekeeping and ignored.
func (p *parser) info(rest []byte) {
	if !hasPrefix(rest, "CODE_ID ") {
		return
	}
	t := p.tok[:2]
	n := fields(rest[8:], t)
	if n >= 1 {
		p.f.CodeID = string(t[0])
	}
	if n == 2 {
		p.f.CodeFile = string(t[1])
	}
}

// optionalM splits "[m] a b ... name" into tokens, reporting whether the
// multiple flag "m" was present (FUNC m / PUBLIC m: the address is shared by
// several identical-code-folded functions).
func (p *parser) optionalM(rest []byte, n int) ([][]byte, bool, bool) {
	multiple := false
	if hasPrefix(rest, "m ") {
		multiple = true
		rest = rest[2:]
	}
	t := p.tok[:n]
	if fields(rest, t) != n {
		return nil, false, false
	}
	return t, multiple, true
}

// function parses "FUNC [m] <address> <size> <param size> <name>".
func (p *parser) function(rest []byte) bool {
	p.curFunc = -1
	t, multiple, ok := p.optionalM(rest, 4)
	if !ok {
		return false
	}
	rva, ok1 := hex(t[0])
	size, ok2 := hex(t[1])
	param, ok3 := hex(t[2])
	if !ok1 || !ok2 || !ok3 || param > 1<<31-1 {
		return false
	}
	n, k := len(p.f.lines), uint32(len(p.f.inlines))
	p.f.funcs = append(p.f.funcs, function{
		rva: rva, size: size, paramSize: uint32(param), multiple: multiple,
		name: string(t[3]), lineLo: uint32(n), lineHi: uint32(n), inlLo: k, inlHi: k,
	})
	p.curFunc = len(p.f.funcs) - 1
	return true
}

// lineRecord parses "<address> <size> <line> <file id>", which belongs to the
// FUNC before it.
func (p *parser) lineRecord(line []byte) bool {
	if p.curFunc < 0 {
		return false
	}
	t := p.tok[:4]
	if fields(line, t) != 4 {
		return false
	}
	rva, ok1 := hex(t[0])
	size, ok2 := hex(t[1])
	ln, ok3 := dec(t[2])
	file, ok4 := dec(t[3])
	if !ok1 || !ok2 || !ok3 || !ok4 || ln < 0 || file < 0 {
		return false
	}
	if len(p.f.lines) >= 1<<32-1 {
		return false
	}
	p.f.lines = append(p.f.lines, lineRecord{rva: rva, size: size, line: int32(ln), file: int32(file)})
	p.f.funcs[p.curFunc].lineHi = uint32(len(p.f.lines))
	return true
}

// public parses "PUBLIC [m] <address> <param size> <name>".
func (p *parser) public(rest []byte) bool {
	t, multiple, ok := p.optionalM(rest, 3)
	if !ok {
		return false
	}
	rva, ok1 := hex(t[0])
	param, ok2 := hex(t[1])
	if !ok1 || !ok2 || param > 1<<31-1 {
		return false
	}
	if rva == 0 {
		// Breakpad accepts and ignores address-0 publics (seen in ntdll.pdb).
		return true
	}
	p.f.publics = append(p.f.publics, publicSymbol{rva: rva, paramSize: uint32(param), multiple: multiple, name: string(t[2])})
	return true
}

// inlineOrigin parses "INLINE_ORIGIN <id> [<file id>] <name>"; older
// dump_syms wrote the file id, which lookups do not need. A second token
// that is a number followed by more is taken for it. The first record of
// an id wins.
func (p *parser) inlineOrigin(rest []byte) bool {
	t := p.tok[:3]
	n := fields(rest, t)
	if n < 2 {
		return false
	}
	id, ok := dec(t[0])
	if !ok || id < 0 {
		return false
	}
	name := bytes.TrimLeft(rest, " ")
	name = bytes.TrimLeft(name[len(t[0]):], " ")
	if _, isNum := dec(t[1]); isNum && n == 3 {
		name = t[2]
	}
	if _, dup := p.f.origins[id]; !dup {
		p.f.origins[id] = p.str(name)
	}
	return true
}

// maxInlineDepth bounds the nest level a record may claim; deeper inlining
// is not seen in practice, and the lookup sizes nothing by it.
const maxInlineDepth = 1 << 10

// inline parses "INLINE <nest level> <call site line> [<call site file>]
// <origin id> (<address> <size>)+", which belongs to the FUNC before it.
// Older files lack the call site file, so the field count's parity tells
// the two forms apart.
func (p *parser) inline(rest []byte) bool {
	if p.curFunc < 0 {
		return false
	}
	var nums [4]int64
	n, start := 0, len(p.f.inlines)
	fixed := 4
	if f := bytes.Fields(rest); len(f)%2 == 1 {
		fixed = 3
	}
	ok := true
	var rva uint64
	for _, f := range bytes.Split(rest, []byte{' '}) {
		if len(f) == 0 {
			continue
		}
		switch {
		case n < fixed:
			nums[n], ok = dec(f)
			ok = ok && nums[n] >= 0
		case (n-fixed)%2 == 0:
			rva, ok = hex(f)
		default:
			var size uint64
			size, ok = hex(f)
			if ok {
				r := inlineRange{rva: rva, size: size, depth: int32(nums[0]), callLine: int32(nums[1]), callFile: -1}
				if fixed == 4 {
					r.callFile, r.origin = int32(nums[2]), int32(nums[3])
				} else {
					r.origin = int32(nums[2])
				}
				p.f.inlines = append(p.f.inlines, r)
			}
		}
		if !ok {
			break
		}
		n++
	}
	if !ok || n < fixed+2 || nums[0] > maxInlineDepth || len(p.f.inlines) >= 1<<32-1 {
		p.f.inlines = p.f.inlines[:start]
		return false
	}
	p.f.funcs[p.curFunc].inlHi = uint32(len(p.f.inlines))
	return true
}

// The STACK WIN types of Breakpad's WindowsFrameInfo::StackInfoTypes.
const (
	WinFPO       = 0 // FPO_DATA
	WinTrap      = 1
	WinTSS       = 2
	WinStandard  = 3
	WinFrameData = 4 // FrameData with a program string
	numWinTypes  = 5
)

// StackWin is a STACK WIN record: "STACK WIN <type> <rva> <code size>
// <prolog size> <epilog size> <params size> <saved regs size> <locals size>
// <max stack size> <has program> <program | allocates base pointer>".
type StackWin struct {
	Type                                                                                    int
	RVA, CodeSize, PrologSize, EpilogSize, ParamSize, SavedRegSize, LocalSize, MaxStackSize uint64
	HasProgram                                                                              bool
	Program                                                                                 string
	AllocatesBasePointer                                                                    bool
}

type winEntry struct {
	rva, size                                          uint64
	prolog, epilog, param, savedRegs, locals, maxStack uint32
	parent                                             int32 // enclosing entry, or -1
	typ                                                uint8
	hasProgram, allocatesBP                            bool
	program                                            string
}

func (p *parser) stackWin(rest []byte) bool {
	t := p.tok[:11]
	if fields(rest, t) != 11 {
		return false
	}
	var v [10]uint64
	for i := 0; i < 10; i++ {
		x, ok := hex(t[i])
		if !ok {
			return false
		}
		v[i] = x
	}
	if v[0] >= numWinTypes {
		return false
	}
	for i := 3; i <= 8; i++ {
		if v[i] > 1<<32-1 {
			return false
		}
	}
	e := winEntry{
		typ: uint8(v[0]), rva: v[1], size: v[2],
		prolog: uint32(v[3]), epilog: uint32(v[4]), param: uint32(v[5]), savedRegs: uint32(v[6]),
		locals: uint32(v[7]), maxStack: uint32(v[8]), hasProgram: v[9] != 0,
		parent: -1,
	}
	if e.hasProgram {
		e.program = p.str(t[10])
	} else {
		ab, ok := hex(t[10])
		if !ok {
			return false
		}
		e.allocatesBP = ab != 0
	}
	p.f.win[e.typ] = append(p.f.win[e.typ], e)
	return true
}

// stackCFI parses "STACK CFI INIT <address> <size> <rules>" and
// "STACK CFI <address> <rules>".
func (p *parser) stackCFI(rest []byte) bool {
	if hasPrefix(rest, "INIT ") {
		t := p.tok[:3]
		if fields(rest[5:], t) != 3 {
			return false
		}
		rva, ok1 := hex(t[0])
		size, ok2 := hex(t[1])
		rules, ok3 := p.rules(t[2])
		if !ok1 || !ok2 || !ok3 {
			return false
		}
		p.f.cfiInit = append(p.f.cfiInit, cfiInit{rva: rva, size: size, rules: rules})
		return true
	}
	t := p.tok[:2]
	if fields(rest, t) != 2 {
		return false
	}
	rva, ok := hex(t[0])
	rules, ok2 := p.rules(t[1])
	if !ok || !ok2 {
		return false
	}
	p.f.cfiDelta = append(p.f.cfiDelta, cfiDelta{rva: rva, rules: rules, seq: p.deltaSeq})
	p.deltaSeq++
	return true
}

// rules interns a CFI rule set after checking it once; rule sets repeat a
// lot (most functions share their prologue's rules).
func (p *parser) rules(b []byte) (string, bool) {
	if s, ok := p.intern[string(b)]; ok {
		return s, true
	}
	if !validRules(b) {
		return "", false
	}
	return p.str(b), true
}

// validRules checks "<reg>: <expr> ..." the way parseRules reads it, without
// allocating: every name ends in ':' and is followed by an expression.
func validRules(b []byte) bool {
	haveName, haveExpr := false, false
	for len(b) > 0 {
		i := bytes.IndexAny(b, " \t")
		tok := b
		if i >= 0 {
			tok, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		if len(tok) == 0 {
			continue
		}
		if tok[len(tok)-1] == ':' {
			if len(tok) == 1 || (haveName && !haveExpr) {
				return false
			}
			haveName, haveExpr = true, false
			continue
		}
		if !haveName {
			return false
		}
		haveExpr = true
	}
	return haveName && haveExpr
}

// finish chooses the records Breakpad would keep and sorts them for lookups.
func (p *parser) finish() {
	f := p.f
	p.intern = nil

	// FUNC: exclusive ranges, the first in the file wins.
	keep, n := choose(len(f.funcs), func(i int) (uint64, uint64) { return f.funcs[i].rva, f.funcs[i].size }, false)
	f.dropped += n

	// Lines: compact in file order (line ranges increase with it), keeping
	// only kept functions' lines; each function's lines are exclusive ranges
	// of their own, sorted by address.
	w := 0
	for i := range f.funcs {
		fn := &f.funcs[i]
		if !keep[i] {
			continue
		}
		ls := f.lines[fn.lineLo:fn.lineHi]
		lk, n := choose(len(ls), func(j int) (uint64, uint64) { return ls[j].rva, ls[j].size }, false)
		f.dropped += n
		lo := w
		for j, l := range ls {
			if lk[j] {
				f.lines[w] = l
				w++
			}
		}
		kept := f.lines[lo:w]
		slices.SortFunc(kept, func(a, b lineRecord) int { return cmp.Compare(a.rva, b.rva) })
		fn.lineLo, fn.lineHi = uint32(lo), uint32(w)
	}
	f.lines = compactSlice(f.lines[:w])
	f.inlines = compactSlice(f.inlines)
	funcs := f.funcs[:0]
	for i, fn := range f.funcs {
		if keep[i] {
			funcs = append(funcs, fn)
		}
	}
	slices.SortFunc(funcs, func(a, b function) int { return cmp.Compare(a.rva, b.rva) })
	f.funcs = compactSlice(funcs)

	// PUBLIC: an address map, the first in the file wins.
	slices.SortStableFunc(f.publics, func(a, b publicSymbol) int { return cmp.Compare(a.rva, b.rva) })
	pubs := f.publics[:0]
	for i, s := range f.publics {
		if i > 0 && s.rva == f.publics[i-1].rva {
			f.dropped++
			continue
		}
		pubs = append(pubs, s)
	}
	f.publics = compactSlice(pubs)

	// STACK WIN: one contained-range map per type.
	for t := range f.win {
		f.win[t] = f.nest(f.win[t])
	}

	// STACK CFI INIT: exclusive ranges like FUNC.
	keep, n = choose(len(f.cfiInit), func(i int) (uint64, uint64) { return f.cfiInit[i].rva, f.cfiInit[i].size }, false)
	f.dropped += n
	inits := f.cfiInit[:0]
	for i, c := range f.cfiInit {
		if keep[i] {
			inits = append(inits, c)
		}
	}
	slices.SortFunc(inits, func(a, b cfiInit) int { return cmp.Compare(a.rva, b.rva) })
	f.cfiInit = compactSlice(inits)

	// STACK CFI deltas: a map by address where the last record wins.
	slices.SortStableFunc(f.cfiDelta, func(a, b cfiDelta) int { return cmp.Compare(a.rva, b.rva) })
	deltas := f.cfiDelta[:0]
	for i, d := range f.cfiDelta {
		if i+1 < len(f.cfiDelta) && f.cfiDelta[i+1].rva == d.rva {
			continue
		}
		deltas = append(deltas, d)
	}
	f.cfiDelta = compactSlice(deltas)
}

// compactSlice drops unused capacity when it is large, so the kept records do
// not pin the parse-time growth.
func compactSlice[T any](s []T) []T {
	if cap(s)-len(s) < 1024 || cap(s) < 2*len(s) {
		return s
	}
	return append([]T(nil), s...)
}

// nest keeps the STACK WIN entries of one type that Breakpad's
// ContainedRangeMap keeps (ranges that nest or are disjoint, first in the
// file wins a conflict), sorts them by address with outer ranges first, and
// links each to its enclosing entry so that lookups can climb from the last
// entry starting at or below an address to the innermost one containing it.
func (f *File) nest(es []winEntry) []winEntry {
	keep, n := choose(len(es), func(i int) (uint64, uint64) { return es[i].rva, es[i].size }, true)
	f.dropped += n
	out := es[:0]
	for i, e := range es {
		if keep[i] {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(x, y winEntry) int {
		return cmp.Or(cmp.Compare(x.rva, y.rva), cmp.Compare(y.size, x.size))
	})
	var stack []int32 // indices of the open enclosing ranges
	for i := range out {
		e := &out[i]
		for len(stack) > 0 && out[stack[len(stack)-1]].rva+out[stack[len(stack)-1]].size-1 < e.rva {
			stack = stack[:len(stack)-1]
		}
		e.parent = -1
		if len(stack) > 0 {
			e.parent = stack[len(stack)-1]
		}
		stack = append(stack, int32(i))
	}
	return compactSlice(out)
}

package breakpad

import (
	"errors"
	"sort"
	"strings"
)

// Symbol is the result of a Lookup.
type Symbol struct {
	Name string
	RVA  uint64 // start of the FUNC or PUBLIC
	Size uint64 // FUNC size; 0 for a PUBLIC, which has none
	File string // source file of the line record, if any
	Line int    // line number, 0 if no line record covers the address
	// LineRVA is the start of the line record, so a frame can be shown as
	// "file : line + (address - LineRVA)" as minidump_stackwalk does.
	LineRVA    uint64
	ParamSize  uint32 // bytes of stack parameters (x86 callee-pops)
	Multiple   bool   // "m": several functions were folded at this address
	FromPublic bool   // found as a PUBLIC symbol, without size or lines
	// Inlines are the INLINE calls covering the address, outermost first.
	// When there are some, File and Line are the outermost call site in
	// the FUNC, and each inline's are the next call site inside it, or
	// the line record for the innermost.
	Inlines []Inline
}

// Inline is one inlined call at an address.
type Inline struct {
	Name string // the INLINE_ORIGIN's name
	File string // "" when unknown
	Line int    // 0 when unknown
}

// Lookup finds the symbol for an address relative to the module base. A FUNC
// that contains rva wins, with its line record; otherwise the nearest PUBLIC
// at or below rva, unless a FUNC starts between that PUBLIC and rva (the FUNC
// then bounds the PUBLIC). Callers looking up a return address should pass
// the address minus one so the call instruction is found.
func (f *File) Lookup(rva uint64) (Symbol, bool) {
	i := sort.Search(len(f.funcs), func(i int) bool { return f.funcs[i].rva > rva }) - 1
	if i >= 0 {
		fn := &f.funcs[i]
		if rva-fn.rva < fn.size {
			s := Symbol{Name: fn.name, RVA: fn.rva, Size: fn.size, ParamSize: fn.paramSize, Multiple: fn.multiple}
			ls := f.lines[fn.lineLo:fn.lineHi]
			j := sort.Search(len(ls), func(j int) bool { return ls[j].rva > rva }) - 1
			if j >= 0 && rva-ls[j].rva < ls[j].size {
				s.File = f.files[int64(ls[j].file)]
				s.Line = int(ls[j].line)
				s.LineRVA = ls[j].rva
			}
			if fn.inlHi > fn.inlLo {
				f.addInlines(&s, f.inlines[fn.inlLo:fn.inlHi], rva)
			}
			return s, true
		}
	}
	j := sort.Search(len(f.publics), func(j int) bool { return f.publics[j].rva > rva }) - 1
	if j >= 0 && (i < 0 || f.publics[j].rva > f.funcs[i].rva) {
		p := &f.publics[j]
		return Symbol{Name: p.name, RVA: p.rva, ParamSize: p.paramSize, Multiple: p.multiple, FromPublic: true}, true
	}
	return Symbol{}, false
}

// FindWin returns the STACK WIN record covering rva, preferring type 4
// (FrameData, with a program string) over type 0 (FPO) as Breakpad's
// FindWindowsFrameInfo does. Among nested records of one type the innermost
// wins.
func (f *File) FindWin(rva uint64) (*StackWin, bool) {
	for _, t := range [...]int{WinFrameData, WinFPO} {
		if e := findNested(f.win[t], rva); e != nil {
			return &StackWin{
				Type: int(e.typ), RVA: e.rva, CodeSize: e.size,
				PrologSize: uint64(e.prolog), EpilogSize: uint64(e.epilog), ParamSize: uint64(e.param),
				SavedRegSize: uint64(e.savedRegs), LocalSize: uint64(e.locals), MaxStackSize: uint64(e.maxStack),
				HasProgram: e.hasProgram, Program: e.program, AllocatesBasePointer: e.allocatesBP,
			}, true
		}
	}
	return nil, false
}

// findNested returns the innermost entry containing rva. The entry that
// starts last at or below rva is either a match or, when it ends below rva,
// its enclosing entries are the only candidates left.
func findNested(es []winEntry, rva uint64) *winEntry {
	i := sort.Search(len(es), func(i int) bool { return es[i].rva > rva }) - 1
	for i >= 0 {
		e := &es[i]
		if rva-e.rva < e.size {
			return e
		}
		i = int(e.parent)
	}
	return nil
}

// CFIRules maps a register name (".cfa", ".ra", "$ebp", "$rbx", "r4"...) to
// the postfix expression that recovers its caller value.
type CFIRules map[string]string

// FindCFI returns the STACK CFI rules in effect at rva: those of the STACK CFI
// INIT record covering rva, updated by every STACK CFI delta at an address
// from the INIT's start up to and including rva.
func (f *File) FindCFI(rva uint64) (CFIRules, bool) {
	i := sort.Search(len(f.cfiInit), func(i int) bool { return f.cfiInit[i].rva > rva }) - 1
	if i < 0 || rva-f.cfiInit[i].rva >= f.cfiInit[i].size {
		return nil, false
	}
	init := &f.cfiInit[i]
	rules, err := parseRules(init.rules, CFIRules{})
	if err != nil {
		return nil, false
	}
	j := sort.Search(len(f.cfiDelta), func(j int) bool { return f.cfiDelta[j].rva >= init.rva })
	for ; j < len(f.cfiDelta) && f.cfiDelta[j].rva <= rva; j++ {
		// Deltas were validated at parse time.
		parseRules(f.cfiDelta[j].rules, rules) //nolint:errcheck
	}
	return rules, true
}

// isRuleSpace separates CFI rule tokens; validRules splits the same way.
func isRuleSpace(r rune) bool { return r == ' ' || r == '\t' }

var errBadRules = errors.New("breakpad: malformed CFI rule set")

// parseRules reads "<reg>: <expr> <reg>: <expr> ..." into into (when not
// nil). A token ending in ':' names the register whose rule follows; each
// name needs a non-empty expression, as Breakpad's CFIRuleParser requires.
func parseRules(text string, into CFIRules) (CFIRules, error) {
	var name string
	var expr []string
	have := false
	flush := func() error {
		if !have {
			return nil
		}
		if name == "" || len(expr) == 0 {
			return errBadRules
		}
		if into != nil {
			into[name] = strings.Join(expr, " ")
		}
		return nil
	}
	for _, tok := range strings.FieldsFunc(text, isRuleSpace) {
		if strings.HasSuffix(tok, ":") {
			if err := flush(); err != nil {
				return nil, err
			}
			name, expr, have = tok[:len(tok)-1], expr[:0], true
			continue
		}
		if !have {
			return nil, errBadRules
		}
		expr = append(expr, tok)
	}
	if !have {
		return nil, errBadRules
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return into, nil
}

// addInlines fills s.Inlines from the INLINE ranges of its FUNC, one call
// per nest level from 0 down as long as a range of that level covers rva,
// and moves the line record's place to the innermost call.
func (f *File) addInlines(s *Symbol, rs []inlineRange, rva uint64) {
	// One pass picks, per level, the first range in file order that covers
	// rva; the levels are then followed from 0 while they continue.
	var byDepth []*inlineRange
	for i := range rs {
		r := &rs[i]
		if rva < r.rva || rva-r.rva >= r.size {
			continue
		}
		for int(r.depth) >= len(byDepth) {
			byDepth = append(byDepth, nil)
		}
		if byDepth[r.depth] == nil {
			byDepth[r.depth] = r
		}
	}
	for _, r := range byDepth {
		if r == nil {
			break
		}
		name := f.origins[int64(r.origin)]
		if name == "" {
			name = "(unknown)"
		}
		file := ""
		if r.callFile >= 0 {
			file = f.files[int64(r.callFile)]
		}
		// The call site belongs to the enclosing level (the FUNC's place
		// for level 0, else the previous inline's); the line record's place
		// passes to the new innermost call.
		in := Inline{Name: name}
		if len(s.Inlines) == 0 {
			in.File, in.Line = s.File, s.Line
			s.File, s.Line = file, int(r.callLine)
		} else {
			last := &s.Inlines[len(s.Inlines)-1]
			in.File, in.Line = last.File, last.Line
			last.File, last.Line = file, int(r.callLine)
		}
		s.Inlines = append(s.Inlines, in)
	}
}

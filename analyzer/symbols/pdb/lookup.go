package pdb

import (
	"sort"
	"strings"

	"github.com/dumptriage/dumptriage/analyzer/symbols/demangle"
)

// Symbol is what a stack frame shows for an address.
type Symbol struct {
	Name       string // undecorated qualified name, no parameter list
	RawName    string // as stored in the PDB
	RVA        uint32 // start of the function
	Size       uint32 // 0 if unknown (publics)
	File       string // source file for the looked-up rva, "" if none
	Line       int    // 0 if none
	FromPublic bool   // found only in the publics stream
	// Inlines are the inline sites (S_INLINESITE) covering the address,
	// outermost first, each with its place inside the inlined function.
	// File and Line stay the procedure's line table's: the outermost call.
	Inlines []Inline
}

// displayName undecorates MSVC-decorated names; procedure names are usually
// stored undecorated already. Names it cannot undecorate are kept as is.
func displayName(raw string) string {
	if strings.HasPrefix(raw, "?") {
		if n, ok := demangle.MSVCName(raw); ok {
			return n
		}
	}
	return raw
}

// publicName undecorates a public symbol's name: C++ names, and on x86 the
// C calling-convention decorations too.
func (f *File) publicName(raw string) string {
	name := displayName(raw)
	if f.machine == machineX86 && name == raw {
		name = undecorateX86C(raw)
	}
	return name
}

// undecorateX86C removes the x86 C decorations of a public symbol:
// _name (cdecl), _name@N (stdcall), @name@N (fastcall).
func undecorateX86C(raw string) string {
	s := raw
	switch {
	case strings.HasPrefix(s, "_"):
		s = s[1:]
	case strings.HasPrefix(s, "@"):
		s = s[1:]
	default:
		return raw
	}
	if i := strings.LastIndexByte(s, '@'); i > 0 {
		digits := s[i+1:]
		if digits != "" && strings.Trim(digits, "0123456789") == "" {
			s = s[:i]
		}
	}
	if s == "" {
		return raw
	}
	return s
}

// moduleFor finds the module whose code contribution covers rva.
func (f *File) moduleFor(rva uint32) (int, bool) {
	i := sort.Search(len(f.contribs), func(i int) bool { return f.contribs[i].rva > rva }) - 1
	if i < 0 {
		return 0, false
	}
	c := f.contribs[i]
	if rva-c.rva >= c.size {
		return 0, false
	}
	return int(c.mod), true
}

// findProc returns the loaded module and procedure containing rva.
func (f *File) findProc(rva uint32) (*module, *procEntry) {
	mi, ok := f.moduleFor(rva)
	if !ok {
		return nil, nil
	}
	m := f.loadModule(mi)
	p, ok := m.procFor(rva)
	if !ok {
		return m, nil
	}
	return m, p
}

// Lookup returns the function containing rva: the procedure record of the
// module that contributed the code at rva, with the source line; failing
// that, the nearest preceding public symbol in the same section.
func (f *File) Lookup(rva uint32) (Symbol, bool) {
	m, p := f.findProc(rva)
	if p != nil {
		s := Symbol{Name: displayName(p.name), RawName: p.name, RVA: p.rva, Size: p.size}
		s.File, s.Line = m.lineFor(rva)
		if m.hasSites {
			s.Inlines = f.inlinesAt(m, p, rva)
		}
		return s, true
	}
	i := sort.Search(len(f.pubs), func(i int) bool { return f.pubs[i].rva > rva }) - 1
	if i < 0 || !f.sameSection(f.pubs[i].rva, rva) {
		return Symbol{}, false
	}
	pub := f.pubs[i]
	raw := f.pubName(pub)
	s := Symbol{Name: f.publicName(raw), RawName: raw, RVA: pub.rva, FromPublic: true}
	if m != nil {
		s.File, s.Line = m.lineFor(rva)
	}
	return s, true
}

func (f *File) sameSection(a, b uint32) bool {
	for _, s := range f.sections {
		inA := a-s.rva < s.size
		inB := b-s.rva < s.size
		if inA || inB {
			return inA && inB
		}
	}
	return false
}

package analyzer

import "github.com/dumptriage/dumptriage/analyzer/minidump"

// symbol is a resolved code address.
type symbol struct {
	Name   string
	RVA    uint64 // function start
	File   string
	Line   int
	Source string // pdb, breakpad, dwarf, exports
}

// moduleFiles is what was found for one module: its image and its symbols.
type moduleFiles struct {
	symbols []symbolSource
}

type symbolSource interface {
	lookup(rva uint64) (symbol, bool)
}

func (a *analysis) files(m *minidump.Module) *moduleFiles {
	if a.modules == nil {
		a.modules = map[*minidump.Module]*moduleFiles{}
	}
	if f, ok := a.modules[m]; ok {
		return f
	}
	f := &moduleFiles{}
	a.modules[m] = f
	return f
}

func (a *analysis) lookupSymbol(m *minidump.Module, rva uint64) (symbol, bool) {
	for _, s := range a.files(m).symbols {
		if sym, ok := s.lookup(rva); ok {
			return sym, true
		}
	}
	return symbol{}, false
}

func (a *analysis) imageReader(addr uint64) (func(rva uint32, p []byte) (int, error), uint64, bool) {
	return nil, 0, false
}

package analyzer

import (
	"os"
	"strings"

	"github.com/ianlancetaylor/demangle"

	"github.com/dumptriage/dumptriage/analyzer/report"
	"github.com/dumptriage/dumptriage/analyzer/symbols/dwarf"
)

// dwarfFile keeps the image file open for the DWARF reader.
type dwarfFile struct {
	*dwarf.File
	fh *os.File
}

// Close closes the image file, when the cache evicts it.
func (d *dwarfFile) Close() error { return d.fh.Close() }

// loadDWARF opens the DWARF debug information inside a PE image (mingw
// builds). A nil source without error means the image has no DWARF.
func (a *analysis) loadDWARF(path string) (symbolSource, error) {
	v, err := a.opts.Symbols.get("dwarf:"+path, &a.held, func() (any, int64, error) {
		fh, err := os.Open(path)
		if err != nil {
			return nil, 0, err
		}
		f, err := dwarf.Open(fh)
		if err != nil {
			fh.Close()
			return nil, 0, err
		}
		st, _ := fh.Stat()
		return &dwarfFile{File: f, fh: fh}, st.Size(), nil
	})
	if err != nil {
		return nil, err
	}
	return dwarfSource{v.(*dwarfFile)}, nil
}

type dwarfSource struct{ f *dwarfFile }

func (s dwarfSource) lookup(rva uint64) (symbol, bool) {
	sym, ok := s.f.Lookup(rva)
	if !ok {
		return symbol{}, false
	}
	name := sym.Name
	if sym.FromSymtab {
		name = demangleItanium(name)
	}
	out := symbol{Name: name, RVA: sym.RVA, File: sym.File, Line: sym.Line, Source: "dwarf"}
	for _, in := range sym.Inlines {
		out.Inlines = append(out.Inlines, report.InlineFrame{Function: in.Name, File: in.File, Line: in.Line})
	}
	return out, true
}

// demangleItanium turns a mangled C++ name into a debugger's spelling,
// without the parameter list.
func demangleItanium(name string) string {
	n := strings.TrimPrefix(name, "_") // PE symbol tables may add a leading underscore
	for _, cand := range []string{name, n} {
		if strings.HasPrefix(cand, "_Z") {
			if s, err := demangle.ToString(cand, demangle.NoParams); err == nil {
				return s
			}
		}
	}
	return name
}

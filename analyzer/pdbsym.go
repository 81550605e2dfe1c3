package analyzer

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/dumptriage/dumptriage/analyzer/report"
	"github.com/dumptriage/dumptriage/analyzer/symbols/pdb"
	"github.com/dumptriage/dumptriage/analyzer/symbols/symstore"
)

// pdbFile keeps the PDB open for lazy reads.
type pdbFile struct {
	*pdb.File
	fh *os.File
}

// Close closes the file, when the cache evicts it.
func (p *pdbFile) Close() error { return p.fh.Close() }

func openPDB(path string) (*pdbFile, int64, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, 0, err
	}
	f, err := pdb.Open(fh, st.Size())
	if err != nil {
		fh.Close()
		return nil, 0, err
	}
	return &pdbFile{File: f, fh: fh}, st.Size(), nil
}

// pdbDebugID reads a PDB's identity, for verifying a candidate found by name.
func pdbDebugID(path string) (string, error) {
	f, _, err := openPDB(path)
	if err != nil {
		return "", err
	}
	defer f.fh.Close()
	return f.DebugID(), nil
}

// loadPDB finds and opens the module's PDB. It returns the source and its
// status, or why it was not found.
func (a *analysis) loadPDB(ctx context.Context, st *symstore.Store, name, id string) (symbolSource, report.FileStatus, string) {
	res, err := st.Find(ctx, symstore.PDBKey(name, id))
	a.noteServers(res)
	if err != nil {
		return nil, report.FileStatus{}, whyNotFound(res, err)
	}
	v, err := a.opts.Symbols.get("pdb:"+res.Path, &a.held, func() (any, int64, error) {
		f, size, err := openPDB(res.Path)
		return f, size, err
	})
	if err != nil {
		return nil, report.FileStatus{Corrupt: true}, fmt.Sprintf("%s: %v", res.Path, err)
	}
	return pdbSource{v.(*pdbFile)}, report.FileStatus{Found: true, Kind: "pdb", Source: res.Path,
		URL: symbolURL(res.Source, name, id)}, ""
}

// symbolURL is the address a SymSrv server serves a file at, when the
// file came from one (Result.Source "store https://..."), else "".
func symbolURL(source, name, id string) string {
	server, ok := strings.CutPrefix(source, "store ")
	if !ok || !strings.HasPrefix(server, "http://") && !strings.HasPrefix(server, "https://") {
		return ""
	}
	return strings.TrimSuffix(server, "/") + "/" + name + "/" + id + "/" + name
}

type pdbSource struct{ f *pdbFile }

func (s pdbSource) lookup(rva uint64) (symbol, bool) {
	sym, ok := s.f.Lookup(uint32(rva))
	if !ok {
		return symbol{}, false
	}
	out := symbol{Name: sym.Name, RVA: uint64(sym.RVA), File: sym.File, Line: sym.Line, Source: "pdb"}
	for _, in := range sym.Inlines {
		out.Inlines = append(out.Inlines, report.InlineFrame{Function: in.Name, File: in.File, Line: in.Line})
	}
	return out, true
}

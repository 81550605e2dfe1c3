package analyzer

import (
	"context"

	"github.com/dumptriage/dumptriage/analyzer/report"
	"github.com/dumptriage/dumptriage/analyzer/symbols/symstore"
)

// Until the PDB reader lands these find nothing.

func pdbDebugID(path string) (string, error) { return "", nil }

func (a *analysis) loadPDB(ctx context.Context, st *symstore.Store, name, id string) (symbolSource, report.FileStatus, string) {
	return nil, report.FileStatus{}, ""
}

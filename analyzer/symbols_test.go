package analyzer

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/dumptriage/dumptriage/analyzer/minidump"
	"github.com/dumptriage/dumptriage/internal/testdata"
)

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Dir(dst), 0o755)
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSymbolServer serves the exe and PDB of a Wine dump from a symbol
// store over loopback, the SymSrv way, and checks that they are
// downloaded, cached, and used; and that a second analysis with the same
// cache parses nothing again.
func TestSymbolServer(t *testing.T) {
	dir := testdata.Path(t, "wine", "dumps", "heap_nomem")
	dumpPath := filepath.Join(dir, "heap_nomem_x64_pdb_aug.dmp")
	f, err := os.Open(dumpPath)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := f.Stat()
	d, err := minidump.Open(f, st.Size())
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	exe := d.Modules[0]
	if exe.CodeView == nil {
		t.Fatal("the aug dump should carry the exe's CodeView record")
	}
	store := t.TempDir()
	copyFile(t, filepath.Join(dir, "heap_nomem_x64_pdb.exe"), filepath.Join(store, exe.FileName(), exe.CodeID(), exe.FileName()))
	copyFile(t, filepath.Join(dir, "heap_nomem_x64_pdb.pdb"), filepath.Join(store, exe.DebugFile(), exe.DebugID(), exe.DebugFile()))
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		http.FileServer(http.Dir(store)).ServeHTTP(w, r)
	}))
	defer srv.Close()
	cache := t.TempDir()
	symPath := "srv*" + cache + "*" + srv.URL + ";" + testdata.Path(t, "wine", "dumps", "_wine_dlls", "x64")

	symbols := NewSymbolCache(0)
	rep := analyzeFile(t, dumpPath, Options{SymbolPath: symPath, Symbols: symbols})
	m := rep.Modules[0]
	if m.Symbols == nil || m.Symbols.Kind != "pdb" || !strings.HasPrefix(m.Symbols.Source, cache) {
		t.Fatalf("exe symbols: %+v", m.Symbols)
	}
	if m.Image == nil || !m.Image.Found {
		t.Fatalf("exe image: %+v", m.Image)
	}
	var names []string
	for _, fr := range rep.CrashingThread.Frames {
		names = append(names, fr.Function)
	}
	if !strings.Contains(strings.Join(names, " "), "allocate_cache_block") {
		t.Errorf("frames %v lack allocate_cache_block", names)
	}
	first := requests.Load()
	if first == 0 {
		t.Fatal("the server was not asked")
	}
	loads := symbols.Loads

	rep2 := analyzeFile(t, dumpPath, Options{SymbolPath: symPath, Symbols: symbols})
	if symbols.Loads != loads {
		t.Errorf("second analysis parsed symbols again: %d loads, then %d", loads, symbols.Loads)
	}
	if requests.Load() != first {
		t.Errorf("second analysis contacted the server again")
	}
	if rep2.Signature != rep.Signature {
		t.Errorf("signatures differ: %q, %q", rep.Signature, rep2.Signature)
	}

	// A fresh cache in memory still finds the files in the disk cache,
	// without the server.
	srv.Close()
	rep3 := analyzeFile(t, dumpPath, Options{SymbolPath: symPath})
	if rep3.Modules[0].Symbols == nil || rep3.Modules[0].Symbols.Kind != "pdb" {
		t.Errorf("disk cache not used: %+v", rep3.Modules[0].Symbols)
	}
}

// TestNoSymbolPathContactsNothing: without a symbol path, modules say why
// they have no symbols.
func TestNoSymbolPathContactsNothing(t *testing.T) {
	rep := analyzeFile(t, testdata.Path(t, "wine", "dumps", "heap_nomem", "heap_nomem_x64_pdb_aug.dmp"), Options{})
	s := rep.Modules[0].Symbols
	if s == nil || s.Found || !strings.Contains(s.Why, "no symbol path") {
		t.Errorf("symbols status: %+v", s)
	}
}

// TestDebugIDMismatch: a PDB of the right name but another build is
// refused, and the report says why.
func TestDebugIDMismatch(t *testing.T) {
	dir := t.TempDir()
	// The av_threads PDB renamed as heap_nomem's.
	copyFile(t, testdata.Path(t, "wine", "dumps", "av_threads", "av_threads_x64_pdb.pdb"), filepath.Join(dir, "heap_nomem_x64_pdb.pdb"))
	rep := analyzeFile(t, testdata.Path(t, "wine", "dumps", "heap_nomem", "heap_nomem_x64_pdb_aug.dmp"), Options{SymbolPath: dir})
	s := rep.Modules[0].Symbols
	if s == nil || s.Found || !strings.Contains(s.Why, "debug id mismatch: wanted") {
		t.Errorf("symbols status: %+v", s)
	}
}

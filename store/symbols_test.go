package store

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dumptriage/dumptriage/analyzer"
	"github.com/dumptriage/dumptriage/analyzer/report"
)

const crashPDBID = "3249D99D0C4049318610F4E4FB0B69361"

func symbolicFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sharedTestdata(t), "public", "getsentry__symbolic", "symbolic-testutils", "fixtures", "windows", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// openSymbolsTest opens a store on a backend (open: openTest, openRemote)
// and its symbols, with a data folder of their own.
func openSymbolsTest(t *testing.T, open func(testing.TB, Config) *Store, cfg SymbolConfig) (*Store, *Symbols) {
	t.Helper()
	st := open(t, Config{})
	sym, err := OpenSymbols(st, t.TempDir(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return st, sym
}

func realAnalyzer(sym *Symbols) AnalyzeFunc {
	cache := analyzer.NewSymbolCache(0)
	return func(ctx context.Context, r io.ReaderAt, size int64, sha string) (*report.Report, error) {
		return analyzer.Analyze(ctx, r, size, analyzer.Options{SymbolPath: sym.SearchPath(ctx), Symbols: cache, SHA256: sha})
	}
}

func crashingFunction(t *testing.T, st *Store, id string) string {
	t.Helper()
	_, js, err := st.Report(context.Background(), id)
	if err != nil || len(js) == 0 {
		t.Fatalf("report of %s: %v", id, err)
	}
	var rep report.Report
	if err := json.Unmarshal(js, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.CrashingThread == nil || len(rep.CrashingThread.Frames) == 0 {
		t.Fatal("no crashing thread")
	}
	return rep.CrashingThread.Frames[0].Function
}

// TestSymbolsArriveReanalyse: a PDB uploaded after the dump names its
// crashing frame through an automatic re-analysis, and the dump's module
// leaves the missing-symbols list.
func TestSymbolsArriveReanalyse(t *testing.T) {
	forBackends(t, func(t *testing.T, open func(testing.TB, Config) *Store) {
		ctx := context.Background()
		st, sym := openSymbolsTest(t, open, SymbolConfig{})
		res, err := st.Ingest(ctx, bytes.NewReader(symbolicFixture(t, "mini.dmp")), Upload{FileName: "mini.dmp"})
		if err != nil {
			t.Fatal(err)
		}
		id := res.Dump.ID
		runUntilIdle(t, st, WorkerConfig{Workers: 1}, realAnalyzer(sym))
		if fn := crashingFunction(t, st, id); fn != "" {
			t.Fatalf("frame 0 named %q before any symbols", fn)
		}
		missing, err := sym.Missing(ctx, 50)
		if err != nil {
			t.Fatal(err)
		}
		if len(missing) == 0 || missing[0].DebugID != crashPDBID || missing[0].Name != "crash.exe" || missing[0].OnStack != 1 {
			t.Fatalf("missing symbols: %+v", missing)
		}
		if a, err := sym.Arrival(ctx, id); err != nil || a != nil {
			t.Fatalf("arrival before upload: %v %v", a, err)
		}

		up, err := sym.Add(ctx, bytes.NewReader(symbolicFixture(t, "crash.pdb")), "crash.pdb", "ci", "api")
		if err != nil {
			t.Fatal(err)
		}
		if up.Status != SymbolStored || up.File.Path != "crash.pdb/"+crashPDBID+"/crash.pdb" || up.Reanalyses != 1 {
			t.Fatalf("upload: %+v", up)
		}
		var prio int
		if err := st.Index.(*SQLite).r.QueryRow(`SELECT priority FROM jobs`).Scan(&prio); err != nil || prio >= 0 {
			t.Fatalf("re-analysis job priority %d (%v), want below fresh uploads", prio, err)
		}
		a, err := sym.Arrival(ctx, id)
		if err != nil || a == nil || a.Files != "crash.pdb" {
			t.Fatalf("arrival: %+v %v", a, err)
		}
		runUntilIdle(t, st, WorkerConfig{Workers: 1}, realAnalyzer(sym))
		if fn := crashingFunction(t, st, id); fn != "main" {
			t.Fatalf("frame 0 named %q after the PDB arrived, want main", fn)
		}
		missing, _ = sym.Missing(ctx, 50)
		for _, m := range missing {
			if m.DebugID == crashPDBID {
				t.Errorf("crash.exe still listed as missing symbols: %+v", m)
			}
		}
		again, err := sym.Add(ctx, bytes.NewReader(symbolicFixture(t, "crash.pdb")), "crash.pdb", "ci", "api")
		if err != nil || again.Status != SymbolDuplicate || again.Reanalyses != 0 {
			t.Fatalf("second upload: %+v %v", again, err)
		}
		files, total, err := sym.List(ctx, 10)
		if err != nil || total != 1 || files[0].DebugID != crashPDBID || files[0].UploadedBy != "ci" {
			t.Fatalf("list: %+v %d %v", files, total, err)
		}
	})
}

// TestSymbolReanalysisBelowUploads: a fresh upload is claimed before a
// re-analysis that symbols queued earlier.
func TestSymbolReanalysisBelowUploads(t *testing.T) {
	forBackends(t, func(t *testing.T, open func(testing.TB, Config) *Store) {
		ctx := context.Background()
		st, _ := openSymbolsTest(t, open, SymbolConfig{})
		old := ingest(t, st, 1)
		runUntilIdle(t, st, WorkerConfig{Workers: 1}, okAnalyzer) // fakeReport: app.exe with debug id ABC1
		n, err := st.Index.(SymbolIndex).QueueForSymbols(ctx, SymbolFile{Kind: "pdb", Name: "app.pdb", DebugID: "ABC1"})
		if err != nil || n != 1 {
			t.Fatalf("queued %d: %v", n, err)
		}
		fresh := ingest(t, st, 2)
		for i, want := range []string{fresh.ID, old.ID} {
			j, err := st.Queue.Claim(ctx, "test/1/1", 3*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if j.DumpID != want {
				t.Errorf("claim %d: dump %s, want %s", i, j.DumpID, want)
			}
		}
	})
}

func TestSymbolZipBounds(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name string, b []byte) {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
	}
	add("build/crash.pdb", symbolicFixture(t, "crash.pdb"))
	add("../../../etc/evil.pdb", symbolicFixture(t, "crash.pdb"))
	add("bomb.pdb", make([]byte, 64<<20)) // 64 MiB of zeros, a few KB compressed
	add("notes.txt", []byte("hello"))
	add("fake.dll", []byte("not an image"))
	// A member whose header lies about its size: the copy itself is bounded.
	var deflated bytes.Buffer
	fw, _ := flate.NewWriter(&deflated, flate.BestCompression)
	fw.Write(make([]byte, 64<<20))
	fw.Close()
	w, err := zw.CreateRaw(&zip.FileHeader{Name: "liar.pdb", Method: zip.Deflate, CompressedSize64: uint64(deflated.Len()),
		UncompressedSize64: 100})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(deflated.Bytes())
	zw.Close()
	forBackends(t, func(t *testing.T, open func(testing.TB, Config) *Store) {
		ctx := context.Background()
		_, sym := openSymbolsTest(t, open, SymbolConfig{MaxFileBytes: 2 << 20, MaxZipFiles: 10})
		res, err := sym.AddZip(ctx, bytes.NewReader(buf.Bytes()), int64(buf.Len()), "", "api")
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]SymbolResult{}
		for _, r := range res {
			got[r.Name] = r
		}
		for name, want := range map[string]string{"build/crash.pdb": "stored", "../../../etc/evil.pdb": "unsafe path",
			"bomb.pdb": "limit", "liar.pdb": "zip", "notes.txt": "not a symbol file", "fake.dll": "not a PDB"} {
			r, ok := got[name]
			if !ok {
				t.Errorf("%s: no result", name)
				continue
			}
			if want == "stored" && r.Status != SymbolStored || want != "stored" && (r.Status != SymbolSkipped || !strings.Contains(r.Reason, want)) {
				t.Errorf("%s: %s %q, want %s", name, r.Status, r.Reason, want)
			}
		}
		// Nothing escaped the store.
		filepath.Walk(filepath.Dir(sym.Files.SearchPath()), func(p string, info os.FileInfo, err error) error {
			if strings.Contains(p, "evil") {
				t.Errorf("a file named from the zip path exists: %s", p)
			}
			return nil
		})
		many := zipOf("a.pdb", []byte("x"), "b.pdb", []byte("x"), "c.pdb", []byte("x"), "d.pdb", []byte("x"), "e.pdb", []byte("x"),
			"f.pdb", []byte("x"), "g.pdb", []byte("x"), "h.pdb", []byte("x"), "i.pdb", []byte("x"), "j.pdb", []byte("x"), "k.pdb", []byte("x"))
		if _, err := sym.AddZip(ctx, bytes.NewReader(many), int64(len(many)), "", "api"); !errors.Is(err, ErrTooLarge) {
			t.Errorf("11 members with a limit of 10: %v", err)
		}
		if _, err := sym.Add(ctx, bytes.NewReader(make([]byte, 3<<20)), "big.pdb", "", "api"); !errors.Is(err, ErrTooLarge) {
			t.Errorf("a 3 MiB file with a 2 MiB limit: %v", err)
		}
	})
}

// TestSymbolUpstreamLoopback: the SymSrv upstream setting is searched by
// analyses (a loopback server stands in for Microsoft's).
func TestSymbolUpstreamLoopback(t *testing.T) {
	forBackends(t, func(t *testing.T, open func(testing.TB, Config) *Store) {
		ctx := context.Background()
		pdb := symbolicFixture(t, "crash.pdb")
		var hits atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/crash.pdb/"+crashPDBID+"/crash.pdb" {
				hits.Add(1)
				w.Write(pdb)
				return
			}
			http.NotFound(w, r)
		}))
		defer srv.Close()
		_, sym := openSymbolsTest(t, open, SymbolConfig{})
		src, _ := sym.Sources(ctx)
		if !src.None() {
			t.Fatalf("sources of a fresh store: %+v", src)
		}
		for _, bad := range []string{"ftp://x", "srv*c:\\x*http://y", "not a url"} {
			if err := sym.SetUpstream(ctx, bad); !errors.Is(err, ErrBadRequest) {
				t.Errorf("SetUpstream(%q): %v", bad, err)
			}
		}
		if err := sym.SetUpstream(ctx, srv.URL+"/"); err != nil {
			t.Fatal(err)
		}
		if src, _ := sym.Sources(ctx); len(src.Enabled()) != 1 || src.Enabled()[0].URL != srv.URL || src.None() {
			t.Fatalf("sources: %+v", src)
		}
		dump := symbolicFixture(t, "mini.dmp")
		rep, err := analyzer.Analyze(ctx, bytes.NewReader(dump), int64(len(dump)), analyzer.Options{SymbolPath: sym.SearchPath(ctx)})
		if err != nil {
			t.Fatal(err)
		}
		if fn := rep.CrashingThread.Frames[0].Function; fn != "main" || hits.Load() != 1 {
			t.Fatalf("frame 0 %q, %d downloads", fn, hits.Load())
		}
		if err := sym.SetUpstream(ctx, ""); err != nil {
			t.Fatal(err)
		}
		if src, _ := sym.Sources(ctx); !src.None() {
			t.Fatalf("sources after removing the upstream: %+v", src)
		}
	})
}

func TestChunkAssembly(t *testing.T) {
	forBackends(t, func(t *testing.T, open func(testing.TB, Config) *Store) {
		ctx := context.Background()
		_, sym := openSymbolsTest(t, open, SymbolConfig{})
		pdb := symbolicFixture(t, "crash.pdb")
		sha := func(b []byte) string { h := sha1.Sum(b); return hex.EncodeToString(h[:]) }
		parts := [][]byte{pdb[:300000], pdb[300000:]}
		sums := []string{sha(parts[0]), sha(parts[1])}
		if st := sym.Assemble(ctx, sha(pdb), "crash.pdb", sums, ""); st.State != AssembleNotFound || len(st.MissingChunks) != 2 {
			t.Fatalf("before the chunks: %+v", st)
		}
		if _, err := sym.PutChunk(ctx, bytes.NewReader(parts[0]), "0000000000000000000000000000000000000000"); !errors.Is(err, ErrBadRequest) {
			t.Fatalf("a chunk under the wrong checksum: %v", err)
		}
		for i, p := range parts {
			if got, err := sym.PutChunk(ctx, bytes.NewReader(p), sums[i]); err != nil || got != sums[i] {
				t.Fatal(got, err)
			}
		}
		if st := sym.Assemble(ctx, sha([]byte("other")), "crash.pdb", sums, ""); st.State != AssembleError || !strings.Contains(st.Detail, "checksum") {
			t.Fatalf("wrong file checksum: %+v", st)
		}
		for _, c := range sums {
			sym.PutChunk(ctx, bytes.NewReader(parts[map[string]int{sums[0]: 0, sums[1]: 1}[c]]), c)
		}
		st := sym.Assemble(ctx, sha(pdb), "crash.pdb", sums, "ci")
		if st.State != AssembleOK || st.Result == nil || st.Result.File.DebugID != crashPDBID {
			t.Fatalf("assembled: %+v", st)
		}
		if again := sym.Assemble(ctx, sha(pdb), "crash.pdb", sums, "ci"); again.State != AssembleOK {
			t.Fatalf("asked again: %+v", again)
		}
	})
}

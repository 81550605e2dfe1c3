package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dumptriage/dumptriage/analyzer"
	"github.com/dumptriage/dumptriage/analyzer/report"
)

// TestSymbolPresets: the presets are the public servers issue 15 names,
// each a usable SymSrv URL that says what it serves.
func TestSymbolPresets(t *testing.T) {
	want := []string{"microsoft", "unity", "nvidia", "amd", "intel", "mozilla", "chromium"}
	var got []string
	for _, p := range SymbolPresets {
		got = append(got, p.ID)
		u, err := CheckUpstreamURL(p.URL)
		if err != nil || u != p.URL {
			t.Errorf("%s: URL %q: %v", p.ID, p.URL, err)
		}
		if len(p.Serves) < 40 || p.Name == "" || p.Custom || p.Enabled {
			t.Errorf("%s: %+v", p.ID, p)
		}
		if strings.HasPrefix(p.URL, "http:") && !strings.Contains(p.Note, "http") {
			t.Errorf("%s: plain http without a note", p.ID)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("presets %v, want %v", got, want)
	}
	if SymbolPresets[0].URL != MicrosoftSymbolServer {
		t.Errorf("Microsoft first: %+v", SymbolPresets[0])
	}
}

// TestUpstreamChanges: enable, order, disable, add and remove; the symbol
// path follows, each server through its own cache; bad URLs are refused.
func TestUpstreamChanges(t *testing.T) {
	forBackends(t, func(t *testing.T, open func(testing.TB, Config) *Store) {
		ctx := context.Background()
		_, sym := openSymbolsTest(t, open, SymbolConfig{CacheDir: "/c"})
		order := func() string {
			list, err := sym.Upstreams(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var s []string
			for _, u := range list {
				if u.Enabled {
					s = append(s, u.ID)
				}
			}
			return strings.Join(s, ",")
		}
		steps := []struct {
			action, id, url string
			want            string // enabled ids in order, or the error
		}{
			{UpstreamEnable, "unity", "", "unity"},
			{UpstreamEnable, "microsoft", "", "unity,microsoft"},
			{UpstreamUp, "microsoft", "", "microsoft,unity"},
			{UpstreamUp, "microsoft", "", "microsoft,unity"},
			{UpstreamAdd, "", "https://symbols.example.com/store/", "microsoft,unity,custom-1"},
			{UpstreamAdd, "", "https://SYMBOLS.example.com/store", "microsoft,unity,custom-1"},
			{UpstreamDown, "microsoft", "", "unity,microsoft,custom-1"},
			{UpstreamDown, "custom-1", "", "unity,microsoft,custom-1"},
			{UpstreamDisable, "unity", "", "microsoft,custom-1"},
			{UpstreamEnable, "mozilla", "", "microsoft,custom-1,mozilla"},
			{UpstreamRemove, "custom-1", "", "microsoft,mozilla"},
			{UpstreamRemove, "microsoft", "", "bad request"},
			{UpstreamEnable, "nope", "", "bad request"},
			{"explode", "microsoft", "", "bad request"},
			{UpstreamAdd, "", "ftp://x", "bad request"},
			{UpstreamAdd, "", "https://user:secret@x", "bad request"},
			{UpstreamAdd, "", "https://x/?q=1", "bad request"},
			{UpstreamAdd, "", "https://x/a*b", "bad request"},
			{UpstreamAdd, "", "https://x/a;srv*/etc*http://y", "bad request"},
			{UpstreamAdd, "", "https://x/" + strings.Repeat("a", maxUpstreamURL), "bad request"},
		}
		for i, s := range steps {
			err := sym.ChangeUpstreams(ctx, s.action, s.id, s.url)
			got := order()
			if err != nil {
				got = err.Error()
				if !errors.Is(err, ErrBadRequest) {
					t.Errorf("step %d %s %s: %v is not a bad request", i, s.action, s.id, err)
				}
			}
			if !strings.Contains(got, s.want) {
				t.Errorf("step %d %s %s %s: %q, want %q", i, s.action, s.id, s.url, got, s.want)
			}
		}
		if p := sym.SearchPath(ctx); !strings.HasSuffix(p, ";srv*/c/microsoft*"+MicrosoftSymbolServer+";srv*/c/mozilla*https://symbols.mozilla.org") {
			t.Errorf("search path %q", p)
		}
		for i := range maxCustomUpstreams {
			if err := sym.ChangeUpstreams(ctx, UpstreamAdd, "", fmt.Sprintf("http://10.0.0.%d/syms", i)); err != nil {
				t.Fatal(err)
			}
		}
		if err := sym.ChangeUpstreams(ctx, UpstreamAdd, "", "http://10.0.1.1/syms"); !errors.Is(err, ErrBadRequest) {
			t.Errorf("custom server %d: %v", maxCustomUpstreams+1, err)
		}
		if err := sym.SetUpstream(ctx, ""); err != nil || order() != "" {
			t.Errorf("all off: %v %q", err, order())
		}
		if src, _ := sym.Sources(ctx); !src.None() || len(src.Upstreams) != len(SymbolPresets)+maxCustomUpstreams {
			t.Errorf("sources with every server off: %d, none %v", len(src.Upstreams), src.None())
		}

		// The single upstream of earlier versions is read as the list.
		_, old := openSymbolsTest(t, open, SymbolConfig{CacheDir: "/c"})
		old.Index.SetSetting(ctx, settingSymbolUpstream, "https://symbols.mozilla.org")
		if list, _ := old.Upstreams(ctx); !list[0].Enabled || list[0].ID != "mozilla" {
			t.Errorf("legacy setting: %+v", list[0])
		}
		if err := old.ChangeUpstreams(ctx, UpstreamEnable, "unity", ""); err != nil {
			t.Fatal(err)
		}
		if v, _ := old.Index.Setting(ctx, settingSymbolUpstream); v != "" {
			t.Errorf("legacy setting kept: %q", v)
		}
		if src, _ := old.Sources(ctx); len(src.Enabled()) != 2 || src.Enabled()[0].ID != "mozilla" {
			t.Errorf("after the first change: %+v", src.Enabled())
		}
	})
}

// avThreads is a real dump built here with its image and PDB beside it,
// and what the crashing program recorded about its own stack.
type avThreads struct {
	dump, exe, pdb []byte
	exePath        string // its place on a SymSrv server, by code id
	pdbPath        string
	functions      []string          // expected_crash_stack_functions, innermost first
	addr           map[string]uint64 // their start addresses
	pcs            []uint64          // crash_stack_self_walk: the pc of each frame
}

func loadAvThreads(t *testing.T) avThreads {
	t.Helper()
	dir := filepath.Join(sharedTestdata(t), "wine", "dumps", "av_threads")
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var facts struct {
		Runs map[string]struct {
			DumpSets map[string]struct {
				ProgramFacts map[string]any `json:"program_facts"`
			} `json:"dump_sets"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(read("facts.json"), &facts); err != nil {
		t.Fatal(err)
	}
	pf := facts.Runs["av_threads_x64_pdb"].DumpSets["av_threads_x64_pdb"].ProgramFacts
	hex := func(v any) uint64 {
		n, err := strconv.ParseUint(strings.TrimPrefix(fmt.Sprint(v), "0x"), 16, 64)
		if err != nil {
			t.Fatalf("facts: %v", v)
		}
		return n
	}
	a := avThreads{dump: read("av_threads_x64_pdb_normal.dmp"), exe: read("av_threads_x64_pdb.exe"), pdb: read("av_threads_x64_pdb.pdb"),
		exePath: "/av_threads_x64_pdb.exe/6B04830429000/av_threads_x64_pdb.exe",
		pdbPath: "/av_threads_x64_pdb.pdb/2F069843290D5E074C4C44205044422E1/av_threads_x64_pdb.pdb",
		addr:    map[string]uint64{}}
	for _, f := range pf["expected_crash_stack_functions"].([]any) {
		a.functions = append(a.functions, f.(string))
		a.addr[f.(string)] = hex(pf["addr_"+f.(string)])
	}
	for _, f := range pf["crash_stack_self_walk"].([]any) {
		a.pcs = append(a.pcs, hex(f.(map[string]any)["pc"]))
	}
	if len(a.functions) != 4 || len(a.pcs) < 4 {
		t.Fatalf("facts: %v %v", a.functions, a.pcs)
	}
	return a
}

// function names the recorded function whose range holds pc: they are
// laid out in the order copy_field, parse_header, process_request, main.
func (a avThreads) function(pc uint64) string {
	best := ""
	for name, start := range a.addr {
		if pc >= start && pc < start+0x1000 && (best == "" || start > a.addr[best]) {
			best = name
		}
	}
	return best
}

// loopback is a SymSrv server on 127.0.0.1 that counts its requests; mode
// decides what it answers for the image.
type loopback struct {
	*httptest.Server
	mu    sync.Mutex
	hits  map[string]int
	mode  string // serve, serve+pdb, garbage, huge, endless, slow
	files map[string][]byte
}

func newLoopback(t *testing.T, files map[string][]byte) *loopback {
	l := &loopback{hits: map[string]int{}, files: files, mode: "serve"}
	l.Server = httptest.NewServer(http.HandlerFunc(l.serve))
	t.Cleanup(l.Close)
	return l
}

func (l *loopback) set(mode string) { l.mu.Lock(); l.mode = mode; l.mu.Unlock() }

func (l *loopback) count(path string) int { l.mu.Lock(); defer l.mu.Unlock(); return l.hits[path] }

func (l *loopback) total() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, c := range l.hits {
		n += c
	}
	return n
}

func (l *loopback) serve(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	l.hits[r.URL.Path]++
	mode := l.mode
	l.mu.Unlock()
	body, ok := l.files[r.URL.Path]
	isImage := strings.HasSuffix(r.URL.Path, ".exe")
	switch {
	case !ok || !isImage && mode != "serve+pdb":
		http.NotFound(w, r)
	case mode == "garbage":
		fmt.Fprint(w, "<html><body>Please sign in</body></html>")
	case mode == "huge":
		w.Header().Set("Content-Length", strconv.Itoa(1<<40))
		w.WriteHeader(http.StatusOK)
		w.Write(body[:4096])
	case mode == "endless":
		chunk := bytes.Repeat([]byte("MZ"), 1<<15)
		for i := 0; i < 1024 && r.Context().Err() == nil; i++ {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	case mode == "slow":
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	default:
		w.Write(body)
	}
}

// TestUpstreamImageUnwindsByCFI and TestUpstreamHostile run on SQLite only:
// what they test, fetching from upstreams into the local cache, touches no
// backend but the settings row, which TestUpstreamChanges and
// TestBackendsUpstreams test on both.
//
// TestUpstreamImageUnwindsByCFI is issue 15's symbol-source test on a real
// dump: without its image the crashing thread's callers are scanned; with a
// loopback SymSrv server enabled as a custom upstream, the image is fetched
// by its code id and the stack unwinds by its .pdata to the functions and
// return addresses the crashing program recorded. A second analysis takes
// the image from the cache, with no request.
func TestUpstreamImageUnwindsByCFI(t *testing.T) {
	ctx := context.Background()
	a := loadAvThreads(t)
	srv := newLoopback(t, map[string][]byte{a.exePath: a.exe, a.pdbPath: a.pdb})
	_, sym := openSymbolsTest(t, openTest, SymbolConfig{})
	analyze := func() *report.Report {
		t.Helper()
		rep, err := analyzer.Analyze(ctx, bytes.NewReader(a.dump), int64(len(a.dump)),
			analyzer.Options{SymbolPath: sym.SearchPath(ctx), SymbolTimeout: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}

	before := analyze()
	frames := before.CrashingThread.Frames
	for i := 1; i < 4 && i < len(frames); i++ {
		if frames[i].Trust == "cfi" {
			t.Errorf("without the image, frame %d is %s", i, frames[i].Trust)
		}
	}
	if srv.total() != 0 {
		t.Fatalf("%d requests before any upstream was enabled", srv.total())
	}

	if err := sym.ChangeUpstreams(ctx, UpstreamAdd, "", srv.URL); err != nil {
		t.Fatal(err)
	}
	check := func(rep *report.Report, named bool) {
		t.Helper()
		frames := rep.CrashingThread.Frames
		if len(frames) < 4 {
			t.Fatalf("%d frames", len(frames))
		}
		for i, want := range a.functions {
			f := frames[i]
			pc := uint64(f.Registers["rip"])
			if pc != a.pcs[i] || a.function(pc) != want {
				t.Errorf("frame %d: pc %#x (%s), want %#x (%s)", i, pc, a.function(pc), a.pcs[i], want)
			}
			if i > 0 && f.Trust != "cfi" {
				t.Errorf("frame %d (%s): trust %s, want cfi", i, want, f.Trust)
			}
			if named && f.Function != want {
				t.Errorf("frame %d: %q, want %q", i, f.Function, want)
			}
		}
		for _, m := range rep.Modules {
			if m.Filename == "av_threads_x64_pdb.exe" && (m.Image == nil || !m.Image.Found ||
				!strings.HasPrefix(m.Image.Source, filepath.Join(sym.cfg.CacheDir, "custom-1")) ||
				!named && m.Image.URL != srv.URL+a.exePath || named && m.Image.URL != "") {
				t.Errorf("image status %+v", m.Image)
			}
		}
	}
	check(analyze(), false)
	if srv.count(a.exePath) != 1 || srv.count(a.pdbPath) != 1 {
		t.Errorf("requests: image %d, pdb %d; want 1 each", srv.count(a.exePath), srv.count(a.pdbPath))
	}

	// The second analysis (a fresh analyzer cache) takes the image from
	// the upstream's cache; the PDB, served now, names the frames.
	srv.set("serve+pdb")
	check(analyze(), true)
	if srv.count(a.exePath) != 1 {
		t.Errorf("image asked for %d times", srv.count(a.exePath))
	}
	srv.set("slow")
	check(analyze(), true)
	if srv.count(a.exePath) != 1 || srv.count(a.pdbPath) != 2 {
		t.Errorf("third analysis: image %d, pdb %d requests", srv.count(a.exePath), srv.count(a.pdbPath))
	}
}

// TestUpstreamHostile: garbage, an endless or over-long answer, and a
// server that never answers leave the analysis whole, the frames scanned,
// nothing in the cache, and a warning naming the server and what it did.
func TestUpstreamHostile(t *testing.T) {
	ctx := context.Background()
	a := loadAvThreads(t)
	tests := []struct {
		mode, warning string
	}{
		{"garbage", "not the file asked for (not a PE image"},
		{"huge", "exceeds the"},
		{"endless", "exceeds the"},
		{"slow", "server unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			srv := newLoopback(t, map[string][]byte{a.exePath: a.exe})
			srv.set(tt.mode)
			_, sym := openSymbolsTest(t, openTest, SymbolConfig{})
			if err := sym.ChangeUpstreams(ctx, UpstreamAdd, "", srv.URL); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			rep, err := analyzer.Analyze(ctx, bytes.NewReader(a.dump), int64(len(a.dump)),
				analyzer.Options{SymbolPath: sym.SearchPath(ctx), SymbolTimeout: 300 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d > 8*time.Second {
				t.Errorf("analysis took %v", d)
			}
			warned := ""
			for _, w := range rep.Warnings {
				if strings.Contains(w, "symbol server "+srv.URL) {
					warned = w
				}
			}
			if !strings.Contains(warned, tt.warning) {
				t.Errorf("warnings %q; want one naming %s with %q", rep.Warnings, srv.URL, tt.warning)
			}
			if f := rep.CrashingThread.Frames; len(f) < 2 || f[1].Trust == "cfi" {
				t.Errorf("frames without a usable image: %+v", f[:min(2, len(f))])
			}
			for _, m := range rep.Modules {
				if m.Filename == "av_threads_x64_pdb.exe" && (m.Image == nil || m.Image.Found || m.Image.Why == "") {
					t.Errorf("image status %+v", m.Image)
				}
			}
			if tt.mode == "slow" && srv.total() > 2 {
				t.Errorf("a server that timed out was asked %d times", srv.total())
			}
			filepath.Walk(sym.cfg.CacheDir, func(p string, fi os.FileInfo, err error) error {
				if err == nil && !fi.IsDir() {
					t.Errorf("left in the cache: %s", p)
				}
				return nil
			})
		})
	}
}

// TestBackendsUpstreams: the list is kept in the settings table of both
// backends, and two nodes of one deployment see the same search path.
func TestBackendsUpstreams(t *testing.T) {
	forBackends(t, func(t *testing.T, open func(t testing.TB, cfg Config) *Store) {
		ctx := context.Background()
		st := open(t, Config{})
		sym, err := OpenSymbols(st, t.TempDir(), SymbolConfig{CacheDir: "/c"})
		if err != nil {
			t.Fatal(err)
		}
		// A shared test database may hold a list from an earlier run.
		reset := func() { sym.Index.SetSetting(ctx, settingSymbolUpstreams, "") }
		reset()
		t.Cleanup(reset)
		for _, c := range [][3]string{{UpstreamEnable, "unity", ""}, {UpstreamAdd, "", "http://10.1.2.3/syms"}, {UpstreamUp, "custom-1", ""}} {
			if err := sym.ChangeUpstreams(ctx, c[0], c[1], c[2]); err != nil {
				t.Fatal(c, err)
			}
		}
		other, err := OpenSymbols(st, t.TempDir(), SymbolConfig{CacheDir: "/c"})
		if err != nil {
			t.Fatal(err)
		}
		want := ";srv*/c/custom-1*http://10.1.2.3/syms;srv*/c/unity*http://symbolserver.unity3d.com"
		if p := other.SearchPath(ctx); !strings.HasSuffix(p, want) {
			t.Errorf("search path %q, want the suffix %q", p, want)
		}
		if err := sym.SetUpstream(ctx, ""); err != nil {
			t.Fatal(err)
		}
		if src, _ := other.Sources(ctx); !src.None() {
			t.Errorf("after all off: %+v", src.Enabled())
		}
	})
}

package web

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/dumptriage/dumptriage/analyzer"
	"github.com/dumptriage/dumptriage/analyzer/report"
	"github.com/dumptriage/dumptriage/store"
)

// realDump is one public dump of TestModulePagesRealDumps and what its
// report says of the system modules (versions from each dump's module list).
type realDump struct {
	path     string
	ann      map[string]string
	faulting string            // the exception's module, lower case
	stack    map[string]string // system modules on the crashing stack -> version
}

// hostileVersion is a crash reporter's version that tries to be markup.
const hostileVersion = `1.4.3"><img src=x onerror=alert(1)>`

var moduleDumps = []realDump{
	{path: "public/electron__node-minidump/test/fixtures/windows.dmp", ann: map[string]string{"prod": "Electron", "ver": hostileVersion},
		faulting: "electron.exe", stack: map[string]string{"kernelbase.dll": "10.0.14393.187", "kernel32.dll": "10.0.14393.0", "ntdll.dll": "10.0.14393.103"}},
	{path: "public/getsentry__sentry-native/tests/fixtures/minidump.dmp", faulting: "vcruntime140d.dll",
		stack: map[string]string{"kernelbase.dll": "6.2.22621.4249", "kernel32.dll": "6.2.22621.3958", "ntdll.dll": "6.2.22621.4317"}},
	{path: "public/llvm-mirror__lldb/test/Shell/Minidump/Windows/Sigsegv/Inputs/sigsegv.dmp", faulting: "sigsegv.exe",
		stack: map[string]string{"kernelbase.dll": "10.0.16299.611", "kernel32.dll": "10.0.16299.431", "ntdll.dll": "10.0.16299.785"}},
	{path: "public/google__breakpad/src/processor/testdata/write_av_non_canonical.dmp", faulting: "crash.exe",
		stack: map[string]string{"kernelbase.dll": "6.2.19041.1949", "kernel32.dll": "6.2.19041.1889", "ntdll.dll": "6.2.19041.1949"}},
	{path: "public/google__breakpad/src/processor/testdata/tiny-exe-fastfail.dmp", faulting: "tiny.exe",
		stack: map[string]string{"kernelbase.dll": "10.0.19041.1826", "kernel32.dll": "10.0.19041.1806", "ntdll.dll": "10.0.19041.1806"}},
	{path: "public/radareorg__radare2-testbins/mdmp/calc.dmp", faulting: "ntdll.dll",
		stack: map[string]string{"kernel32.dll": "6.1.7601.23543", "ntdll.dll": "6.1.7601.23543"}},
}

// TestModulePagesRealDumps: system modules that are on the crashing stack
// of real dumps but fault in few or none are listed under "on the crashing
// stack", by version, with their chart; the crash reporter's version names
// the main module's.
func TestModulePagesRealDumps(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir(), store.Config{})
	if err != nil {
		t.Fatal(err)
	}
	creds := seedUsers(t, st)
	srv := httptest.NewServer(New(st, Config{AnalyzerVersion: analyzer.Version}).Routes())
	wctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		st.RunWorkers(wctx, store.WorkerConfig{Workers: 2, Poll: 10 * time.Millisecond},
			func(ctx context.Context, r io.ReaderAt, size int64, sha string) (*report.Report, error) {
				return analyzer.Analyze(ctx, r, size, analyzer.Options{SHA256: sha})
			})
	})
	t.Cleanup(func() {
		srv.Close()
		cancel()
		wg.Wait()
		st.Close()
	})
	ids := map[string]int{} // dump id -> index in moduleDumps
	for i, d := range moduleDumps {
		b, err := os.ReadFile(testdata(t, d.path))
		if err != nil {
			t.Fatal(err)
		}
		res, err := st.Ingest(ctx, bytes.NewReader(b), store.Upload{Annotations: d.ann})
		if err != nil {
			t.Fatal(err)
		}
		ids[res.Dump.ID] = i
	}
	deadline := time.Now().Add(2 * time.Minute)
	for id := range ids {
		for {
			d, err := st.Dump(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if d.Status == store.StatusDone {
				break
			}
			if d.Status == store.StatusFailed || time.Now().After(deadline) {
				t.Fatalf("dump %s: %s %s", id, d.Status, d.Error)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	e := &pageEnv{t: t, st: st, srv: srv, creds: creds}
	for _, mod := range []string{"kernelbase.dll", "kernel32.dll", "ntdll.dll"} {
		t.Run(mod, func(t *testing.T) {
			wantStack, wantFault := map[string]bool{}, map[string]bool{}
			versions := map[string]bool{}
			for id, i := range ids {
				if v, ok := moduleDumps[i].stack[mod]; ok {
					wantStack[id] = true
					versions[v] = true
				}
				if moduleDumps[i].faulting == mod {
					wantFault[id] = true
				}
			}
			if len(wantStack) < 5 {
				t.Fatalf("the table has %s on %d stacks", mod, len(wantStack))
			}
			resp, body := e.get("/modules/" + mod)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			d := doc(t, body)
			if got := d.Find(tid("module-onstack")).Text(); got != strconv.Itoa(len(wantStack)) {
				t.Errorf("on the stack: %q, want %d", got, len(wantStack))
			}
			if got := d.Find(tid("module-faulting")).Text(); got != strconv.Itoa(len(wantFault)) {
				t.Errorf("faulting: %q, want %d", got, len(wantFault))
			}
			if d.Find(`svg`+tid("module-chart")).Length() != 1 {
				t.Errorf("no chart: %q", d.Find(tid("module-chart")).Text())
			}
			listed := func(list string) map[string]bool {
				out := map[string]bool{}
				d.Find(tid(list) + " " + tid("module-dump-row")).Each(func(_ int, s *goquery.Selection) {
					out[s.AttrOr("data-id", "")] = true
				})
				return out
			}
			if got := listed("module-stack-dumps"); !sameSet(got, wantStack) {
				t.Errorf("on the crashing stack lists %v, want %v", got, wantStack)
			}
			if got := listed("module-faulting-dumps"); !sameSet(got, wantFault) {
				t.Errorf("faulting lists %v, want %v", got, wantFault)
			}
			if len(wantFault) == 0 && d.Find(tid("module-faulting-dumps")).Text() == "" {
				t.Error("the faulting list says nothing")
			}
			gotVersions := map[string]bool{}
			d.Find(tid("module-version-link")).Each(func(_ int, s *goquery.Selection) { gotVersions[s.Text()] = true })
			if !sameSet(gotVersions, versions) {
				t.Errorf("versions %v, want %v", gotVersions, versions)
			}
			if d.Find(tid("module-version-first")).First().Text() == "" {
				t.Error("no first seen")
			}
			// The API carries the same.
			resp, body = e.get("/api/modules/" + mod)
			var api struct {
				OnStack    int `json:"on_stack"`
				Versions   []struct{ Version string }
				StackDumps struct {
					Dumps []struct {
						ID            string `json:"id"`
						ModuleVersion string `json:"module_version"`
					}
				} `json:"stack_dumps"`
				Chart struct {
					Series []struct{ Total int }
				}
			}
			if err := json.Unmarshal(body, &api); err != nil || resp.StatusCode != 200 {
				t.Fatalf("api: %d %v", resp.StatusCode, err)
			}
			sum := 0
			for _, s := range api.Chart.Series {
				sum += s.Total
			}
			if api.OnStack != len(wantStack) || len(api.Versions) != len(versions) || len(api.StackDumps.Dumps) != len(wantStack) ||
				sum != len(wantStack) {
				t.Errorf("api: %+v", api)
			}
			for _, sd := range api.StackDumps.Dumps {
				if sd.ModuleVersion != moduleDumps[ids[sd.ID]].stack[mod] {
					t.Errorf("dump %s: version %q, want %q", sd.ID, sd.ModuleVersion, moduleDumps[ids[sd.ID]].stack[mod])
				}
			}
		})
	}
	// The reporter's version is the main module's, escaped wherever it shows.
	for _, path := range []string{"/modules/electron.exe", "/modules?q=electron", "/api/modules/electron.exe"} {
		if _, body := e.get(path); bytes.Contains(body, []byte("<img src=x")) {
			t.Errorf("%s: the version reached the page unescaped", path)
		}
	}
	_, body := e.get("/modules/electron.exe")
	d := doc(t, body)
	if v := d.Find(tid("module-version-link")).First().Text(); v != hostileVersion {
		t.Errorf("electron.exe's version %q, want the reporter's", v)
	}
	// The list shows versions.
	_, body = e.get("/modules?q=kernelbase")
	d = doc(t, body)
	if n := d.Find(tid("module-list-version")).Length(); n != 3 {
		t.Errorf("%d versions listed for kernelbase.dll, want the top 3", n)
	}
}

func sameSet(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

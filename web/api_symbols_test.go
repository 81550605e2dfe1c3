package web

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/dumptriage/dumptriage/analyzer"
	"github.com/dumptriage/dumptriage/analyzer/report"
	shared "github.com/dumptriage/dumptriage/internal/testdata"
	"github.com/dumptriage/dumptriage/store"
)

type symEnv struct {
	st            *store.Store
	sym           *store.Symbols
	srv           *httptest.Server
	upload, read  string // member tokens: upload-only, read-only
	admin, member string // tokens with every scope
	session       cred   // an admin's browser session
}

// newSymEnv serves a fresh store with its symbol store, token auth and
// workers running the real analyzer over the store's symbol path.
func newSymEnv(t *testing.T) *symEnv {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, dir, store.Config{})
	if err != nil {
		t.Fatal(err)
	}
	sym, err := store.OpenSymbols(st, dir, store.SymbolConfig{})
	if err != nil {
		t.Fatal(err)
	}
	e := &symEnv{st: st, sym: sym}
	c := seedUsers(t, st)
	e.upload, e.read, e.admin, e.member = c["member-upload"].token, c["member-read"].token, c["admin"].token, c["member"].token
	e.session = c["admin-session"]
	// The chunk-upload options name the server by its public URL.
	e.srv = httptest.NewUnstartedServer(nil)
	e.srv.Config.Handler = New(st, Config{AnalyzerVersion: "test", Symbols: sym, PublicURL: "http://" + e.srv.Listener.Addr().String(),
		ListenAddr: e.srv.Listener.Addr().String()}).Routes()
	e.srv.Start()
	cache := analyzer.NewSymbolCache(0)
	wctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		st.RunWorkers(wctx, store.WorkerConfig{Workers: 1, Poll: 20 * time.Millisecond},
			func(ctx context.Context, r io.ReaderAt, size int64, sha string) (*report.Report, error) {
				return analyzer.Analyze(ctx, r, size, analyzer.Options{SymbolPath: sym.SearchPath(ctx), Symbols: cache, SHA256: sha})
			})
	})
	t.Cleanup(func() {
		e.srv.Close()
		cancel()
		wg.Wait()
		st.Close()
	})
	return e
}

func symbolic(t *testing.T, name string) string {
	return shared.Path(t, "public", "getsentry__symbolic", "symbolic-testutils", "fixtures", "windows", name)
}

func (e *symEnv) do(t *testing.T, method, path, token, ctype string, body io.Reader, headers ...string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, body)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func multipartFiles(t *testing.T, files map[string][]byte) (string, *bytes.Buffer) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for name, b := range files {
		w, _ := mw.CreateFormFile("file", name)
		w.Write(b)
	}
	mw.Close()
	return mw.FormDataContentType(), &buf
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// waitFrame waits for the dump's analysis to name its crashing frame
// want ("": the first analysis done) and returns the name.
func (e *symEnv) waitFrame(t *testing.T, id, want string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	got := ""
	for time.Now().Before(deadline) {
		_, b := e.do(t, "GET", "/api/dumps/"+id, e.read, "", nil)
		var j struct {
			Status string         `json:"status"`
			Report *report.Report `json:"report"`
		}
		json.Unmarshal(b, &j)
		if j.Status == "done" && j.Report != nil && j.Report.CrashingThread != nil && len(j.Report.CrashingThread.Frames) > 0 {
			got = j.Report.CrashingThread.Frames[0].Function
			if got == want {
				return got
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return got
}

func (e *symEnv) uploadDump(t *testing.T, p string) string {
	t.Helper()
	code, b := e.do(t, "POST", "/api/dumps", e.upload, "application/octet-stream", bytes.NewReader(readFile(t, p)))
	if code != http.StatusCreated {
		t.Fatalf("dump upload: %d %s", code, b)
	}
	var j struct{ ID string }
	json.Unmarshal(b, &j)
	return j.ID
}

// TestSentryCLIUpload runs sentry-cli's debug-files upload for real against
// the server: the chunk-upload protocol, then the automatic re-analysis
// names the earlier dump's crashing frame.
func TestSentryCLIUpload(t *testing.T) {
	cli := shared.SentryCLI(t)
	e := newSymEnv(t)
	id := e.uploadDump(t, symbolic(t, "mini.dmp"))
	if fn := e.waitFrame(t, id, ""); fn != "" {
		t.Fatalf("frame 0 is %q before symbols", fn)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "crash.pdb"), readFile(t, symbolic(t, "crash.pdb")), 0o644)
	run := func(token string) (string, error) {
		cmd := exec.Command(cli, "--url", e.srv.URL, "--auth-token", token, "debug-files", "upload", "-o", "any-org",
			"-p", "any-project", "--wait-for", "30", dir)
		cmd.Env = append(os.Environ(), "SENTRY_LOAD_DOTENV=0", "HOME="+t.TempDir())
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := run(e.read); err == nil {
		t.Fatalf("sentry-cli with a read-only token succeeded:\n%s", out)
	}
	out, err := run(e.upload)
	if err != nil {
		t.Fatalf("sentry-cli: %v\n%s", err, out)
	}
	if !strings.Contains(out, "OK 3249d99d-0c40-4931-8610-f4e4fb0b6936-1 (crash.pdb; x86)") {
		t.Errorf("sentry-cli output:\n%s", out)
	}
	if fn := e.waitFrame(t, id, "main"); fn != "main" {
		t.Fatalf("frame 0 is %q after sentry-cli uploaded the PDB", fn)
	}
	// A second run finds everything on the server.
	if out, err := run(e.upload); err != nil {
		t.Fatalf("second sentry-cli run: %v\n%s", err, out)
	}
	code, b := e.do(t, "GET", "/api/dumps/"+id, e.read, "", nil)
	if code != 200 || !strings.Contains(string(b), `"symbols_arrived":"crash.pdb"`) {
		t.Errorf("dump API does not note the arrival: %d %.300s", code, b)
	}
	code, b = e.do(t, "GET", "/dumps/"+id, e.read, "", nil)
	doc, _ := goquery.NewDocumentFromReader(bytes.NewReader(b))
	if code != 200 || doc.Find(`[data-testid="symbols-reanalysed"]`).Length() != 1 {
		t.Errorf("report page does not note the re-analysis (%d)", code)
	}
}

func TestAPISymbolUpload(t *testing.T) {
	e := newSymEnv(t)
	pdb := readFile(t, symbolic(t, "crash.pdb"))
	exe := readFile(t, shared.Path(t, "wine", "dumps", "av_threads", "av_threads_x64_pdb.exe"))
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	for name, b := range map[string][]byte{"Release/app.exe": exe, "../evil.pdb": pdb, "readme.md": []byte("x")} {
		w, _ := zw.Create(name)
		w.Write(b)
	}
	zw.Close()

	ct, body := multipartFiles(t, map[string][]byte{"crash.pdb": pdb})
	if code, b := e.do(t, "POST", "/api/symbols", "", ct, body); code != http.StatusUnauthorized {
		t.Errorf("no token: %d %s", code, b)
	}
	ct, body = multipartFiles(t, map[string][]byte{"crash.pdb": pdb})
	if code, b := e.do(t, "POST", "/api/symbols", e.read, ct, body); code != http.StatusForbidden {
		t.Errorf("read-only token: %d %s", code, b)
	}
	ct, body = multipartFiles(t, map[string][]byte{"crash.pdb": pdb, "build.zip": zbuf.Bytes(), "notes.txt": []byte("hi")})
	code, b := e.do(t, "POST", "/api/symbols", e.upload, ct, body)
	if code != http.StatusOK {
		t.Fatalf("upload: %d %s", code, b)
	}
	var res struct{ Files []symbolFileJSON }
	json.Unmarshal(b, &res)
	got := map[string]symbolFileJSON{}
	for _, f := range res.Files {
		got[f.Name] = f
	}
	if f := got["crash.pdb"]; f.Status != "stored" || f.Kind != "pdb" || f.DebugID != "3249d99d-0c40-4931-8610-f4e4fb0b6936-1" {
		t.Errorf("crash.pdb: %+v", f)
	}
	if f := got["Release/app.exe"]; f.Status != "stored" || f.Kind != "pe" || f.CodeID != "6b04830429000" ||
		f.DebugID != "2f069843-290d-5e07-4c4c-44205044422e-1" || f.Path != "app.exe/6B04830429000/app.exe" {
		t.Errorf("app.exe from the zip: %+v", f)
	}
	if f := got["../evil.pdb"]; f.Status != "skipped" || !strings.Contains(f.Reason, "unsafe") {
		t.Errorf("traversal name: %+v", f)
	}
	if f := got["notes.txt"]; f.Status != "skipped" || !strings.Contains(f.Reason, "not a PDB") {
		t.Errorf("text file: %+v", f)
	}
	code, b = e.do(t, "GET", "/api/symbols", e.read, "", nil)
	if code != 200 || !strings.Contains(string(b), `"total":2`) {
		t.Errorf("list: %d %s", code, b)
	}
	code, b = e.do(t, "GET", "/symbols", e.admin, "", nil)
	doc, _ := goquery.NewDocumentFromReader(bytes.NewReader(b))
	if code != 200 || doc.Find(`[data-testid="symbol-file"]`).Length() != 2 || doc.Find(`[data-testid="upstream-row"][data-id="microsoft"] [data-testid="upstream-enable"]`).Length() != 1 {
		t.Errorf("symbols page: %d, %d files", code, doc.Find(`[data-testid="symbol-file"]`).Length())
	}
}

// TestSymbolPages: the report says plainly that no symbol source is
// configured; the symbols page lists the missing module with its debug id;
// its form takes an upload from a browser session; the settings form sets
// the Microsoft symbol server in one step (admins only).
func TestSymbolPages(t *testing.T) {
	e := newSymEnv(t)
	id := e.uploadDump(t, symbolic(t, "mini.dmp"))
	e.waitFrame(t, id, "")
	page := func(path string) *goquery.Document {
		code, b := e.do(t, "GET", path, "", "", nil, e.session.headers()...)
		if code != 200 {
			t.Fatalf("%s: %d", path, code)
		}
		doc, _ := goquery.NewDocumentFromReader(bytes.NewReader(b))
		return doc
	}
	note := page("/dumps/" + id).Find(`[data-testid="no-symbol-source"]`)
	if !strings.Contains(note.Text(), "Frames are unnamed because no symbol source is configured") || !strings.Contains(note.Text(), "crash.pdb") {
		t.Errorf("no-symbol-source note: %q", note.Text())
	}
	first := page("/symbols").Find(`[data-testid="missing-row"]`).First()
	if !strings.Contains(first.Text(), "crash.exe") || first.Find(`[data-testid="missing-debug-id"]`).Text() != "3249D99D0C4049318610F4E4FB0B69361" {
		t.Errorf("first missing row: %q", first.Text())
	}

	form := func(token string) int {
		body := strings.NewReader("upstream=" + store.MicrosoftSymbolServer)
		code, _ := e.do(t, "POST", "/settings/symbols", token, "application/x-www-form-urlencoded", body)
		return code
	}
	if code := form(e.member); code != http.StatusForbidden {
		t.Errorf("a member changed settings: %d", code)
	}
	if code := form(""); code != http.StatusUnauthorized {
		t.Errorf("anonymous settings change: %d", code)
	}
	if page("/symbols").Find(`[data-testid="upstream"]`).Length() != 0 {
		t.Fatal("a refused change took effect")
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("POST", e.srv.URL+"/settings/symbols", strings.NewReader("upstream="+store.MicrosoftSymbolServer+
		"&csrf="+e.session.csrf))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Cookie", sessionCookie+"="+e.session.session)
	resp, err := client.Do(req)
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("admin sets the upstream: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	if up := page("/symbols").Find(`[data-testid="upstream"]`).Text(); !strings.Contains(up, store.MicrosoftSymbolServer) {
		t.Errorf("sources after the change: %q", up)
	}
	if page("/dumps/"+id).Find(`[data-testid="no-symbol-source"]`).Length() != 0 {
		t.Error("the report still says no source is configured")
	}

	// The page's form, as a browser session sends it (CSRF in the action).
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	w, _ := mw.CreateFormFile("file", "crash.pdb")
	w.Write(readFile(t, symbolic(t, "crash.pdb")))
	mw.Close()
	code, b := e.do(t, "POST", "/symbols?csrf="+e.session.csrf, "", mw.FormDataContentType(), &buf,
		"Cookie", sessionCookie+"="+e.session.session)
	doc, _ := goquery.NewDocumentFromReader(bytes.NewReader(b))
	if code != 200 || doc.Find(`[data-testid="symbol-result-status"]`).Text() != "stored" {
		t.Errorf("page upload: %d %q %q", code, doc.Find(`[data-testid="symbol-result"]`).Text(), doc.Find(`[data-testid="symbol-error"]`).Text())
	}
	if fn := e.waitFrame(t, id, "main"); fn != "main" {
		t.Errorf("frame 0 after the page upload: %q", fn)
	}
}

package web

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dumptriage/dumptriage/analyzer"
	shared "github.com/dumptriage/dumptriage/internal/testdata"
	"github.com/dumptriage/dumptriage/store"
)

// TestBrowserSymbols drops a symbol file on the symbols page (a drop event
// carrying a file, as a drag from the desktop delivers it), then chooses a
// PDB with the file picker: each submits the page's form and lists what
// was stored.
func TestBrowserSymbols(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(context.Background(), dir, store.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sym, err := store.OpenSymbols(st, dir, store.SymbolConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddUser(context.Background(), "admin", store.RoleAdmin, testPassword); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	srv.Config.Handler = New(st, Config{AnalyzerVersion: analyzer.Version, Symbols: sym,
		PublicURL: "http://" + srv.Listener.Addr().String()}).Routes()
	srv.Start()
	t.Cleanup(srv.Close)

	ctx := browser(t)
	login(t, ctx, srv.URL, "admin")
	status := func() string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](
			`Array.from(document.querySelectorAll('[data-testid=symbol-result-status]')).map(e => e.textContent).join(',')`))
		must(t, "result statuses", err)
		return s
	}
	must(t, "open symbols", chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/symbols"),
		chromedp.WaitReady(chromedp.CSS("#symbol-dropzone"))))
	const drop = `(() => {
		const sym = "MODULE windows x86_64 5A9832E5287241C1838ED98914E9B7FF1 dropped.pdb\nFUNC 1000 10 0 f\n";
		const dt = new DataTransfer();
		dt.items.add(new File([sym], "dropped.sym"));
		const zone = document.getElementById("symbol-dropzone");
		zone.dispatchEvent(new DragEvent("dragover", {dataTransfer: dt, bubbles: true, cancelable: true}));
		zone.dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
		return true;
	})()`
	_, err = chromedp.Run(ctx, chromedp.Evaluate[bool](drop))
	must(t, "drop a file", err)
	waitPage(t, ctx, "dropped file listed", `document.querySelectorAll('[data-testid=symbol-result]').length == 1`)
	if s := status(); s != "stored" {
		t.Fatalf("after the drop: %q", s)
	}
	files, _, err := sym.List(context.Background(), 10)
	if err != nil || len(files) != 1 || files[0].Path != "dropped.pdb/5A9832E5287241C1838ED98914E9B7FF1/dropped.sym" || files[0].UploadedBy != "admin" {
		t.Fatalf("stored: %+v %v", files, err)
	}
	pdb := shared.Path(t, "public", "getsentry__symbolic", "symbolic-testutils", "fixtures", "windows", "crash.pdb")
	must(t, "choose a PDB", chromedp.Do(ctx, chromedp.WaitReady(chromedp.CSS("#symbol-input")),
		chromedp.SetUploadFiles(chromedp.CSS("#symbol-input"), []string{pdb})))
	waitPage(t, ctx, "chosen PDB listed",
		`Array.from(document.querySelectorAll('[data-testid=symbol-result] td.mono')).some(e => e.textContent == 'crash.pdb')`)
	if s := status(); !strings.Contains(s, "stored") {
		t.Errorf("after choosing the PDB: %q", s)
	}
}

// waitPage polls expr until it holds, across the navigation a form
// submission makes (an evaluation during it fails and is retried).
func waitPage(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after 30 s (last error %v)", what, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

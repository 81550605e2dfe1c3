package web

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// TestBrowserXSS uploads the hostile dump ../shared/tools/hostile/make_xss.py
// makes (script in module, thread, comment and Unreal strings) and opens
// every page that shows its strings in real Chromium: no dialog may open, no
// payload element may exist, and the payload must still be there as text.
func TestBrowserXSS(t *testing.T) {
	gen := filepath.Join(repoRoot(t), "..", "shared", "tools", "hostile", "make_xss.py")
	dir := t.TempDir()
	cmd := exec.Command("python3", gen)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make_xss.py: %v\n%s", err, out)
	}
	dump := filepath.Join(dir, "xss.dmp")
	if _, err := os.Stat(dump); err != nil {
		t.Fatal(err)
	}
	srv, _ := liveServer(t, 0)
	ctx := browser(t)
	// A payload that ran would open a dialog (and block the page, so the
	// next step times out and fails too).
	var dialogs atomic.Int32
	must(t, "listen", chromedp.Listen(ctx, func(ev any) {
		if _, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			dialogs.Add(1)
		}
	}))
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	login(t, ctx, srv.URL, "admin")
	must(t, "upload", chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/upload"), chromedp.WaitReady(css("#file-input")),
		chromedp.SetUploadFiles(css("#file-input"), []string{dump})))
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelectorAll('[data-testid=upload-status] .status-done').length == 1`))
	must(t, "analysed", err)
	report, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('[data-testid=upload-report-link]').getAttribute('href')`))
	must(t, "report link", err)

	// The crash group of the hostile dump, by its link on the list.
	must(t, "open /signatures", chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/signatures"), chromedp.WaitReady(css("main"))))
	group, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('[data-testid=signature-link]').getAttribute('href')`))
	must(t, "group link", err)

	injected := `document.querySelectorAll('img[src="x"], svg[onload], iframe, [onfocus], [onerror], script:not([src])').length`
	for _, c := range []struct {
		path string
		text []string // payloads that must show as text
	}{
		{report, []string{"<img src=x onerror=alert(1)>", `"><svg onload=alert(2)>`, `<img src=x onerror=alert("thread0")>`}},
		{"/dumps", nil},
		{"/signatures", nil},
		{group, nil},
		{group + "/compare", nil}, // one dump: the error page
		{"/modules", []string{"<img src=x onerror=alert(1)>"}},
		{"/trends", nil},
	} {
		must(t, "open "+c.path, chromedp.Do(ctx, chromedp.Navigate(srv.URL+c.path), chromedp.WaitReady(css("main"))))
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](injected))
		must(t, "payload elements on "+c.path, err)
		if n != 0 {
			t.Errorf("%s: %d payload elements in the DOM", c.path, n)
		}
		text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
		must(t, "text of "+c.path, err)
		for _, want := range c.text {
			if !strings.Contains(text, want) {
				t.Errorf("%s does not show %q as text", c.path, want)
			}
		}
	}
	shoot(t, ctx, "xss-report")
	if dialogs.Load() != 0 {
		t.Errorf("%d dialogs opened", dialogs.Load())
	}
}

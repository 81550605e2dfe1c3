package web

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserCrashView: at phone and desktop widths the crash view's
// fixed-width blocks (registers, code, memory) and the folded recursion
// stay inside the page: a wide block scrolls inside its own box.
func TestBrowserCrashView(t *testing.T) {
	files := []string{
		testdata(t, "wine/dumps/heap_nomem/heap_nomem_x64_mingw_normal.dmp"),
		testdata(t, "wine/dumps/stack_overflow/stack_overflow_x64_mingw_normal.dmp"),
	}
	srv, _ := liveServer(t, 0)
	ctx := browser(t)
	login(t, ctx, srv.URL, "admin")
	must(t, "open upload", chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/upload"), chromedp.WaitReady(chromedp.CSS("#file-input"))))
	must(t, "choose files", chromedp.Do(ctx, chromedp.SetUploadFiles(chromedp.CSS("#file-input"), files)))
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelectorAll('[data-testid=upload-status] .status-done').length == 2`,
		chromedp.WithPollingTimeout(60*time.Second)))
	must(t, "uploads done", err)
	links, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll('[data-testid=upload-report-link]')).map(a => a.getAttribute('href'))`))
	must(t, "report links", err)
	if len(links) != 2 {
		t.Fatalf("report links %v", links)
	}
	// Every element of the crash view and the fold ends inside the
	// viewport, with every <details> open; the blocks wider than the
	// viewport scroll inside themselves.
	const check = `(() => {
		const root = document.querySelector('[data-testid=crash-view]');
		if (!root) return 'no crash view';
		document.querySelectorAll('[data-testid=crash-view] details, [data-testid=recursion] details').forEach(d => d.open = true);
		const out = [];
		for (const el of document.querySelectorAll('[data-testid=crash-view], [data-testid=crash-view] *, [data-testid=recursion]')) {
			if (el.closest('pre') && el.tagName != 'PRE') continue; // inside a scrolling block
			const r = el.getBoundingClientRect();
			if (r.width > 0 && r.right > innerWidth + 1) out.push(el.tagName + '.' + el.className + ' ends at ' + Math.round(r.right));
		}
		let scrolls = 0;
		for (const p of root.querySelectorAll('pre')) if (p.scrollWidth > p.clientWidth) scrolls++;
		return out.slice(0, 5).join('; ') + '|' + scrolls;
	})()`
	for i, link := range links {
		for _, w := range []int64{390, 1400} {
			must(t, "viewport", chromedp.Do(ctx, chromedp.EmulateViewport(w, 900)))
			must(t, "open report", chromedp.Do(ctx, chromedp.Navigate(srv.URL+link), chromedp.WaitVisible(chromedp.CSS(`[data-testid=crash-view]`))))
			shootElement(t, ctx, `[data-testid=crash-view]`, fmt.Sprintf("crash-view-%d-%d", i, w))
			shootElement(t, ctx, `[data-testid=crashing-thread]`, fmt.Sprintf("crashing-thread-%d-%d", i, w))
			res, err := chromedp.Run(ctx, chromedp.Evaluate[string](check))
			must(t, "measure", err)
			over, scrolls, _ := strings.Cut(res, "|")
			if over != "" {
				t.Errorf("%s at %d px: %s", link, w, over)
			}
			if w == 390 && scrolls == "0" {
				t.Errorf("%s at 390 px: no block scrolls in its box (%s)", link, res)
			}
		}
	}
}

// shootElement saves a screenshot of one element under artifacts/screenshots.
func shootElement(t *testing.T, ctx context.Context, sel, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS(sel)))
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	dir := filepath.Join(repoRoot(t), "artifacts", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

package web

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestModulePagesBrowser: at 390 px the module pages' own parts fit the
// screen and the phone chart is the one shown; at 1400 px the wide one.
// Screenshots go to artifacts/screenshots.
func TestModulePagesBrowser(t *testing.T) {
	srv, _ := liveServer(t, 600)
	ctx := browser(t)
	login(t, ctx, srv.URL, "admin")
	for _, w := range []int{390, 1400} {
		for _, p := range []struct{ name, path string }{{"modules", "/modules"}, {"module", "/modules/ntdll.dll"},
			{"module-stack-only", "/modules/kernel32.dll"}} {
			must(t, "viewport", chromedp.Do(ctx, chromedp.EmulateViewport(int64(w), 900)))
			must(t, "open "+p.path, chromedp.Do(ctx, chromedp.Navigate(srv.URL+p.path),
				chromedp.WaitReady(chromedp.CSS(`[data-testid^=module]`))))
			// The right edge of every part of the page this branch owns;
			// tables scroll inside their own box.
			wide, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll(
				'[data-testid^=module], .chart-wide, .chart-narrow, .legend, .table-box')).filter(e => e.offsetParent !== null &&
				!(e.parentElement && e.parentElement.closest('.table-box')) &&
				e.getBoundingClientRect().right > innerWidth + 0.5).map(e => (e.dataset.testid || e.className) + ' ' +
				Math.round(e.getBoundingClientRect().right))`))
			must(t, "measure", err)
			if len(wide) > 0 {
				t.Errorf("%s at %d px: wider than the screen: %v", p.path, w, wide)
			}
			if p.name == "module" {
				shown, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('.chart-narrow').offsetParent ?
					'narrow' : document.querySelector('.chart-wide').offsetParent ? 'wide' : 'none'`))
				must(t, "chart shown", err)
				if want := map[bool]string{true: "narrow", false: "wide"}[w < 600]; shown != want {
					t.Errorf("at %d px the %s chart is shown, want %s", w, shown, want)
				}
			}
			time.Sleep(50 * time.Millisecond)
			shoot(t, ctx, fmt.Sprintf("%s-%d", p.name, w))
		}
	}
}

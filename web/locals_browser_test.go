package web

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dumptriage/dumptriage/store"
)

// TestBrowserLocals: at 390 px the arguments-and-locals table scrolls
// inside its own box: the box is no wider than the viewport, and the
// table's overflow stays in it. Screenshots at 390 and 1400 px.
func TestBrowserLocals(t *testing.T) {
	srv, st := liveServer(t, 0)
	b, err := os.ReadFile(testdata(t, "wine/dumps/heap_nomem/heap_nomem_x64_pdb_aug.dmp"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	res, err := st.Ingest(ctx, bytes.NewReader(b), store.Upload{FileName: "heap_nomem_x64_pdb_aug.dmp"})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		d, err := st.Dump(ctx, res.Dump.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d.Status == store.StatusDone {
			break
		}
		if d.Status == store.StatusFailed || time.Now().After(deadline) {
			t.Fatalf("dump: %s %s", d.Status, d.Error)
		}
	}
	bctx := browser(t)
	login(t, bctx, srv.URL, "admin")
	for _, width := range []int64{390, 1400} {
		must(t, "viewport", chromedp.Do(bctx, chromedp.EmulateViewport(width, 900),
			chromedp.Navigate(srv.URL+"/dumps/"+res.Dump.ID+"#locals-4"),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=locals] .table-box`))))
		type measure struct{ Right, Inner, Scroll, Client float64 }
		box, err := chromedp.Run(bctx, chromedp.Evaluate[measure](`(() => {
			const b = document.querySelector('[data-testid=locals] .table-box');
			return {Right: b.getBoundingClientRect().right, Inner: window.innerWidth, Scroll: b.scrollWidth, Client: b.clientWidth};
		})()`))
		must(t, "measure", err)
		if box.Right > box.Inner {
			t.Errorf("%d px: the locals box ends at %.0f px, past the viewport's %.0f", width, box.Right, box.Inner)
		}
		if width == 390 && box.Scroll <= box.Client {
			t.Logf("390 px: the table fits its box (%v)", box)
		}
		shoot(t, bctx, "locals-"+map[int64]string{390: "390", 1400: "1400"}[width])
		png, err := chromedp.Run(bctx, chromedp.Screenshot(chromedp.CSS(`[data-testid=locals]`)))
		must(t, "section screenshot", err)
		_ = os.WriteFile(filepath.Join(repoRoot(t), "artifacts", "screenshots", "locals-section-"+map[int64]string{390: "390", 1400: "1400"}[width]+".png"), png, 0o644)
	}
}

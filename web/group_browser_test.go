package web

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dumptriage/dumptriage/store"
	"github.com/dumptriage/dumptriage/web/components"
)

// TestBrowserGroupPages: a crash group's page, with its workflow and
// history, and the comparison of two of its real dumps fit a phone's width
// and a desktop's without scrolling sideways.
func TestBrowserGroupPages(t *testing.T) {
	srv, st := liveServer(t, 0)
	ctx := context.Background()
	var ids []string
	for _, n := range []string{"null_read_av.dmp", "ascii_write_av.dmp"} {
		b, err := os.ReadFile(testdata(t, "public/google__breakpad/src/processor/testdata/"+n))
		if err != nil {
			t.Fatal(err)
		}
		res, err := st.Ingest(ctx, bytes.NewReader(b), store.Upload{UploadedBy: "admin"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.Dump.ID)
	}
	var sig string
	for _, id := range ids {
		for i := 0; ; i++ {
			d, err := st.Dump(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if d.Status == store.StatusDone {
				sig = d.Summary.Signature
				break
			}
			if i > 600 || d.Status == store.StatusFailed {
				t.Fatalf("dump %s: %s %s", id, d.Status, d.Error)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	long := strings.Repeat("a-very-long-unbroken-word-", 12)
	for _, c := range []store.GroupChange{
		{State: ptrTo(store.GroupInvestigating), Assignee: ptrTo("admin"), Note: ptrTo(long)},
		{BugURL: ptrTo("https://bugs.example/issues/" + long)},
		{State: ptrTo(store.GroupFixed), FixedIn: ptrTo("2.0")},
	} {
		c.Signature, c.By = sig, "admin"
		if _, err := st.UpdateGroup(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	bctx := browser(t)
	login(t, bctx, srv.URL, "admin")
	page := srv.URL + string(components.SignatureURL(sig))
	for _, w := range []int64{390, 1400} {
		must(t, "viewport", chromedp.Do(bctx, chromedp.EmulateViewport(w, 900)))
		for _, p := range []struct {
			name, url string
			parts     []string // this page's own sections
		}{
			{"group", page, []string{"group-status", "group-compare-picker", "group-history"}},
			{"compare", page + "/compare", []string{"compare-dumps", "compare-exception", "compare-versions", "compare-modules", "compare-frames"}},
		} {
			must(t, "open "+p.name, chromedp.Do(bctx, chromedp.Navigate(p.url), chromedp.WaitVisible(chromedp.CSS(`[data-testid=`+p.parts[0]+`]`))))
			// Each section stays inside the window and does not overflow
			// itself (tables scroll inside their .scroll-x box).
			bad, err := chromedp.Run(bctx, chromedp.Evaluate[string](`(() => {
				const bad = [];
				for (const id of `+jsList(p.parts)+`) {
					const el = document.querySelector('[data-testid="' + id + '"]');
					if (!el) { bad.push(id + ' missing'); continue; }
					const r = el.getBoundingClientRect();
					if (r.right > innerWidth + 1) bad.push(id + ' ends at ' + Math.round(r.right));
					if (el.scrollWidth > el.clientWidth + 1) bad.push(id + ' overflows ' + el.scrollWidth + '>' + el.clientWidth);
				}
				return bad.join(', ');
			})()`))
			must(t, "widths on "+p.name, err)
			if bad != "" {
				t.Errorf("%s at %d px: %s", p.name, w, bad)
			}
			// The page as a whole also depends on the nav and the shared
			// tables; say so, without failing here.
			if over, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.scrollingElement.scrollWidth - innerWidth`)); err == nil && over > 0 {
				t.Logf("%s at %d px: the page scrolls %d px sideways", p.name, w, over)
			}
			shoot(t, bctx, fmt.Sprintf("group-%s-%d", p.name, w))
		}
	}
}

func jsList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = "'" + s + "'"
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func ptrTo[T any](v T) *T { return &v }

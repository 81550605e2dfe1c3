package web

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/dumptriage/dumptriage/store"
)

// TestDamagedDumpPages uploads a real dump cut short and checks what the
// pages say: the damage as headline, advice about the damage rather than
// the dump flags, "(unknown)" for a lost name, and trends without it.
func TestDamagedDumpPages(t *testing.T) {
	srv, st := liveServer(t, 0)
	raw, _, err := st.CreateToken(context.Background(), "admin", "test", store.ScopeAll, 0)
	if err != nil {
		t.Fatal(err)
	}
	// pageEnv.get reads as the admin-session credential.
	e := &pageEnv{t: t, st: st, srv: srv, creds: testCreds{"admin-session": {name: "admin", token: raw}}}
	whole, err := os.ReadFile(testdata(t, "public/LYJ-Kerman__crash-log/crash.dmp"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	upload := func(b []byte, name string) string {
		res, err := st.Ingest(ctx, bytes.NewReader(b), store.Upload{FileName: name})
		if err != nil {
			t.Fatal(err)
		}
		return res.Dump.ID
	}
	// 60,000 bytes keep the exception and module list, not the module names.
	cutID, wholeID := upload(whole[:60000], "cut.dmp"), upload(whole, "whole.dmp")
	deadline := time.Now().Add(60 * time.Second)
	for _, id := range []string{cutID, wholeID} {
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
	_, b := e.get("/dumps/" + cutID)
	d := doc(t, b)
	if h := d.Find(tid("damage")).Text(); !strings.Contains(h, "truncated") || !strings.Contains(h, "60,000 bytes") {
		t.Errorf("headline %q", h)
	}
	if strings.Contains(string(b), "written without a crash") {
		t.Error("a truncated dump is headlined as written without a crash")
	}
	d.Find(tid("missing-row")).Each(func(_ int, s *goquery.Selection) {
		if strings.Contains(s.Text(), "MINIDUMP_EXCEPTION_INFORMATION") {
			t.Errorf("advice about the exception record: %q", s.Text())
		}
	})
	if n := d.Find(tid("missing-row")).Length(); n == 0 {
		t.Error("no missing rows")
	}
	if p := strings.TrimSpace(d.Find(tid("process")).Text()); !strings.HasPrefix(p, "(unknown)") {
		t.Errorf("process %q", p)
	}
	if s := strings.TrimSpace(d.Find(tid("signature")).Text()); s != "corrupt dump | truncated" {
		t.Errorf("signature %q", s)
	}
	if strings.Contains(d.Find(tid("summary")).Text(), " . ") {
		t.Error(`"." in the summary`)
	}
	_, b = e.get("/dumps/" + wholeID)
	if d := doc(t, b); d.Find(tid("damage")).Length() != 0 || !strings.Contains(d.Find(tid("process")).Text(), "KSP_x64.exe") {
		t.Error("the whole dump is shown as damaged, or without its process")
	}
	// The dumps were written years ago: by upload time they are this month's.
	_, b = e.get("/trends?clock=upload")
	d = doc(t, b)
	if !strings.Contains(d.Find(tid("trend-damaged")).Text(), "1 damaged dump (a file cut short) is left out") || d.Find(tid("trend-total")).Text() != "1" {
		t.Errorf("trends: total %q, note %q", d.Find(tid("trend-total")).Text(), d.Find(tid("trend-damaged")).Text())
	}
	if strings.Contains(d.Find(tid("top-crashers")).Text(), "corrupt dump") {
		t.Error("the damaged dump is among the top crashers")
	}
	_, b = e.get("/trends?clock=upload&damaged=1")
	if d := doc(t, b); d.Find(tid("trend-total")).Text() != "2" || !strings.Contains(d.Find(tid("top-crashers")).Text(), "corrupt dump") {
		t.Errorf("trends with damaged dumps: total %q", d.Find(tid("trend-total")).Text())
	}
}

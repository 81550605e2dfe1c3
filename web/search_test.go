package web

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/dumptriage/dumptriage/store"
)

// TestSearchRealDumps uploads real dumps and searches them as the issue
// does: signature=OOM, process=oom and module=kernelbase find the Wine
// out-of-memory dumps on every list page and in the API, filters combine,
// and a dump with an impossible clock (1972) is marked on /dumps.
func TestSearchRealDumps(t *testing.T) {
	srv, st := liveServer(t, 0)
	ctx := context.Background()
	raw, _, err := st.CreateToken(ctx, "admin", "test", store.ScopeAll, 0)
	if err != nil {
		t.Fatal(err)
	}
	e := &pageEnv{t: t, st: st, srv: srv, creds: testCreds{"admin-session": {name: "admin", token: raw}}}
	files := map[string]string{
		"oom_vector":  "wine/dumps/oom_vector/oom_vector_x64_mingw_normal.dmp",
		"msvcthrow":   "wine/dumps/oom_vector/oom_vector_msvcthrow_x64_mingw_normal.dmp",
		"heap_nomem":  "wine/dumps/heap_nomem/heap_nomem_x64_mingw_normal.dmp",
		"av_threads":  "wine/dumps/av_threads/av_threads_x64_mingw_normal.dmp",
		"ksp":         "public/LYJ-Kerman__crash-log/crash.dmp",
		"clock_1972":  "public/rust-minidump__rust-minidump/testdata/invalid-range.dmp",
		"sentry_2058": "public/getsentry__sentry-native/tests/fixtures/minidump.dmp",
	}
	ids, byID := map[string]string{}, map[string]string{}
	for k, rel := range files {
		b, err := os.ReadFile(testdata(t, rel))
		if err != nil {
			t.Fatal(err)
		}
		res, err := st.Ingest(ctx, bytes.NewReader(b), store.Upload{FileName: k + ".dmp"})
		if err != nil {
			t.Fatal(err)
		}
		ids[k], byID[res.Dump.ID] = res.Dump.ID, k
	}
	sum := map[string]*store.Summary{}
	deadline := time.Now().Add(120 * time.Second)
	for k, id := range ids {
		for {
			d, err := st.Dump(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if d.Status == store.StatusDone || d.Status == store.StatusFailed {
				if d.Summary == nil {
					t.Fatalf("%s: %s without an analysis: %s", k, d.Status, d.Error)
				}
				sum[k] = d.Summary
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s not analysed in time", k)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// What the issue says of these dumps.
	if !strings.HasPrefix(sum["heap_nomem"].Signature, "OOM |") || !strings.EqualFold(sum["oom_vector"].Module, "kernelbase.dll") ||
		!strings.Contains(sum["oom_vector"].ProcessName, "oom") {
		t.Fatalf("the dumps are not what the test expects: %+v %+v", sum["heap_nomem"], sum["oom_vector"])
	}
	// want lists the dumps whose analysis has a field containing s, ignoring case.
	want := func(field func(*store.Summary) string, s string) []string {
		var out []string
		for k, a := range sum {
			if strings.Contains(strings.ToLower(field(a)), strings.ToLower(s)) {
				out = append(out, k)
			}
		}
		sort.Strings(out)
		return out
	}
	sig := func(a *store.Summary) string { return a.Signature }
	proc := func(a *store.Summary) string { return a.ProcessName }
	mod := func(a *store.Summary) string { return a.Module }
	listed := func(path string) []string {
		t.Helper()
		resp, b := e.get(path)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
		var out []string
		doc(t, b).Find(tid("dump-row")).Each(func(_ int, s *goquery.Selection) {
			id, _ := s.Attr("data-id")
			out = append(out, byID[id])
		})
		sort.Strings(out)
		return out
	}
	both := func(a, b []string) []string {
		var out []string
		for _, x := range a {
			for _, y := range b {
				if x == y {
					out = append(out, x)
				}
			}
		}
		return out
	}
	for _, c := range []struct {
		path     string
		want     []string
		mustHave string
	}{
		{"/dumps?signature=OOM", want(sig, "oom"), "heap_nomem"},
		{"/dumps?process=oom", want(proc, "oom"), "oom_vector"},
		{"/dumps?module=kernelbase", want(mod, "kernelbase"), "oom_vector"},
		{"/dumps?module=KERNELBASE.DLL", want(mod, "kernelbase.dll"), "msvcthrow"},
		{"/dumps?signature=OOM&process=heap", both(want(sig, "oom"), want(proc, "heap")), "heap_nomem"},
		{"/dumps?module=%5Ekernel", want(mod, "kernel"), "oom_vector"},
		{"/dumps?module=%5Ebase", nil, ""},
		{"/dumps?signature=%22OOM%22", nil, ""},
		{"/dumps?process=" + url.QueryEscape(`"`+sum["ksp"].ProcessName+`"`), []string{"ksp"}, "ksp"},
		{"/dumps?process=nothing-like-it", nil, ""},
	} {
		got := listed(c.path)
		if strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("%s: %v, want %v", c.path, got, c.want)
		}
		if c.mustHave != "" && !strings.Contains(","+strings.Join(got, ",")+",", ","+c.mustHave+",") {
			t.Errorf("%s does not find %s", c.path, c.mustHave)
		}
		if c.mustHave == "" && len(got) != 0 {
			t.Errorf("%s finds %v", c.path, got)
		}
	}
	// The form keeps the search, so the URL is the search.
	_, b := e.get("/dumps?process=oom&module=kernelbase")
	d := doc(t, b)
	if v, _ := d.Find(tid("filter-process")).Attr("value"); v != "oom" {
		t.Errorf("process field %q", v)
	}
	if m, _ := d.Find(tid("filters")).Attr("method"); m != "get" {
		t.Errorf("filter form method %q", m)
	}

	// The crashed column: the dump's own clock, and the 1972 one marked.
	_, b = e.get("/dumps")
	d = doc(t, b)
	rows := d.Find(tid("dump-row"))
	if rows.Length() != len(files) {
		t.Fatalf("%d rows", rows.Length())
	}
	rows.Each(func(_ int, s *goquery.Selection) {
		id, _ := s.Attr("data-id")
		k := byID[id]
		cell := s.Find(tid("dump-crashed"))
		marked := cell.Find(tid("clock-implausible")).Length() == 1
		if marked != (k == "clock_1972") {
			t.Errorf("%s: clock marked %v: %q", k, marked, cell.Text())
		}
		if k == "clock_1972" && !strings.Contains(cell.Text(), "1972") {
			t.Errorf("1972 clock shown as %q", cell.Text())
		}
		if k == "ksp" && !strings.Contains(cell.Text(), "2021-06-14") {
			t.Errorf("KSP crashed %q", cell.Text())
		}
	})
	if !sum["clock_1972"].ClockImplausible || sum["ksp"].ClockImplausible || sum["sentry_2058"].ClockImplausible {
		t.Errorf("implausible clocks: 1972 %v, KSP %v, sentry (a module stamp in 2058) %v", sum["clock_1972"].ClockImplausible,
			sum["ksp"].ClockImplausible, sum["sentry_2058"].ClockImplausible)
	}

	// The same search on the other pages and in the API.
	_, b = e.get("/signatures?process=oom")
	var sigs []string
	doc(t, b).Find(tid("signature-link")).Each(func(_ int, s *goquery.Selection) { sigs = append(sigs, s.Text()) })
	wantSigs := map[string]bool{}
	for _, k := range want(proc, "oom") {
		wantSigs[sum[k].Signature] = true
	}
	if len(sigs) != len(wantSigs) || len(sigs) == 0 {
		t.Errorf("/signatures?process=oom: %q, want %v", sigs, wantSigs)
	}
	for _, s := range sigs {
		if !wantSigs[s] {
			t.Errorf("/signatures?process=oom lists %q", s)
		}
	}
	_, b = e.get("/signatures?signature=oom")
	if n := doc(t, b).Find(tid("signature-row")).Length(); n == 0 {
		t.Error("/signatures?signature=oom lists nothing")
	}
	_, b = e.get("/modules?module=kernelbase")
	if txt := doc(t, b).Find("table").Text(); !strings.Contains(strings.ToLower(txt), "kernelbase.dll") {
		t.Errorf("/modules?module=kernelbase: %q", txt)
	}
	_, b = e.get("/modules?process=oom")
	if txt := doc(t, b).Find("table").Text(); !strings.Contains(strings.ToLower(txt), "kernelbase.dll") {
		t.Errorf("/modules?process=oom: %q", txt)
	}
	var api struct {
		Dumps []struct{ ID string } `json:"dumps"`
	}
	resp, b := e.get("/api/dumps?module=kernelbase")
	if err := json.Unmarshal(b, &api); err != nil || resp.StatusCode != 200 || len(api.Dumps) != len(want(mod, "kernelbase")) {
		t.Errorf("/api/dumps?module=kernelbase: %d %s", resp.StatusCode, b)
	}
	var tr struct {
		Total int    `json:"total"`
		Clock string `json:"clock"`
	}
	resp, b = e.get("/api/trends?clock=upload&process=oom")
	if err := json.Unmarshal(b, &tr); err != nil || resp.StatusCode != 200 || tr.Total != len(want(proc, "oom")) || tr.Clock != "upload" {
		t.Errorf("/api/trends?clock=upload&process=oom: %d %s", resp.StatusCode, b)
	}
	// Trends by crash time: the KSP dump crashed in 2021 and the Sentry one
	// in 2024, so the last 90 days leave them out; the 1972 clock counts at
	// its upload (but is damaged, so left out by default). By upload time
	// every undamaged dump is in.
	inPeriod, undamaged := 0, 0
	since := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -89)
	for _, a := range sum {
		if a.Damaged {
			continue
		}
		undamaged++
		if a.DumpTime == nil || a.ClockImplausible || !a.DumpTime.Before(since) {
			inPeriod++
		}
	}
	_, b = e.get("/api/trends?days=90")
	if err := json.Unmarshal(b, &tr); err != nil || tr.Clock != "crash" || tr.Total != inPeriod || inPeriod >= undamaged {
		t.Errorf("/api/trends by crash time: %d of %d undamaged dumps, got %s", inPeriod, undamaged, b)
	}
	_, b = e.get("/api/trends?days=90&clock=upload")
	if err := json.Unmarshal(b, &tr); err != nil || tr.Clock != "upload" || tr.Total != undamaged {
		t.Errorf("/api/trends by upload time: want %d, got %s", undamaged, b)
	}
	_, b = e.get("/trends?process=oom&clock=upload")
	d = doc(t, b)
	if d.Find(tid("trend-total")).Text() != strconv.Itoa(len(want(proc, "oom"))) ||
		!strings.Contains(d.Find(tid("trend-clock")).Text(), "upload time") {
		t.Errorf("/trends?process=oom&clock=upload: total %q, %q", d.Find(tid("trend-total")).Text(), d.Find(tid("trend-clock")).Text())
	}
	if v, _ := d.Find(tid("search-process")).Attr("value"); v != "oom" {
		t.Errorf("trends search form process %q", v)
	}
	if href, _ := d.Find(tid("period-7")).Attr("href"); !strings.Contains(href, "process=oom") || !strings.Contains(href, "clock=upload") {
		t.Errorf("period link %q loses the search", href)
	}
}

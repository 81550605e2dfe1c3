package web

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/dumptriage/dumptriage/internal/seed"
	"github.com/dumptriage/dumptriage/store"
	"github.com/dumptriage/dumptriage/web/components"
)

type pageEnv struct {
	t     *testing.T
	st    *store.Store
	srv   *httptest.Server
	creds testCreds
}

// newPageEnv serves the pages over a store seeded with made-up analyses, a
// queued dump, a failed one and one whose file expired. No workers run.
func newPageEnv(t *testing.T) (*pageEnv, map[string]string) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir(), store.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Index.(*store.SQLite).Seed(ctx, seed.Config{Dumps: 400, Days: 60, Seed: 11}); err != nil {
		t.Fatal(err)
	}
	creds := seedUsers(t, st)
	srv := httptest.NewServer(New(st, Config{AnalyzerVersion: "seed"}).Routes())
	t.Cleanup(srv.Close)
	ids := map[string]string{}
	first := func(key string, q store.SearchQuery) {
		q.Limit = 1
		p, err := st.SearchDumps(ctx, q)
		if err != nil || len(p.Dumps) == 0 {
			t.Fatalf("no seeded dump for %s: %v", key, err)
		}
		ids[key] = p.Dumps[0].ID
	}
	first("oom", store.SearchQuery{ListQuery: store.ListQuery{CrashType: "STATUS_NO_MEMORY"}})
	first("overflow", store.SearchQuery{ListQuery: store.ListQuery{CrashType: "EXCEPTION_STACK_OVERFLOW"}})
	first("av", store.SearchQuery{ListQuery: store.ListQuery{CrashType: "EXCEPTION_ACCESS_VIOLATION_READ"}})
	for _, k := range []string{"queued", "failed", "expired"} {
		d, _, err := st.Index.AddDump(ctx, store.NewDump{SHA256: strings.Repeat(k[:1], 64), Size: 1234, FileName: k + ".dmp"})
		if err != nil {
			t.Fatal(err)
		}
		ids[k] = d.ID
	}
	if err := st.Index.MarkExpired(ctx, ids["expired"]); err != nil {
		t.Fatal(err)
	}
	// Fail the "failed" dump's job; give the others back.
	var held []*store.Job
	for {
		j, err := st.Queue.Claim(ctx, "test", time.Minute)
		if err != nil || j == nil {
			t.Fatalf("no job for the failed dump: %v", err)
		}
		if j.DumpID != ids["failed"] {
			held = append(held, j)
			continue
		}
		if err := st.Queue.Fail(ctx, j, "analysis blew up: bad stream"); err != nil {
			t.Fatal(err)
		}
		break
	}
	for _, j := range held {
		if err := st.Queue.Release(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	return &pageEnv{t: t, st: st, srv: srv, creds: creds}, ids
}

func (e *pageEnv) get(path string) (*http.Response, []byte) {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
	h := e.creds["admin-session"].headers()
	for i := 0; i+1 < len(h); i += 2 {
		req.Header.Set(h[i], h[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func doc(t *testing.T, b []byte) *goquery.Document {
	t.Helper()
	d, err := goquery.NewDocumentFromReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func tid(id string) string { return `[data-testid="` + id + `"]` }

func TestPages(t *testing.T) {
	e, ids := newPageEnv(t)
	top, err := e.st.Groups(context.Background(), store.GroupQuery{Dim: store.DimSignature, Limit: 1})
	if err != nil || len(top.Groups) == 0 {
		t.Fatal(err)
	}
	topSig := top.Groups[0]
	mods, err := e.st.ModuleStats(context.Background(), store.ModuleQuery{Sort: "faulting", Limit: 1})
	if err != nil || len(mods.Modules) == 0 {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, path string
		code       int
		present    []string          // data-testids that must be there
		absent     []string          // and must not
		text       map[string]string // data-testid -> substring of its text
		check      func(t *testing.T, d *goquery.Document)
	}{
		{name: "home redirects to dumps", path: "/", code: 200, present: []string{"dump-table", "filters"}},
		{name: "dumps", path: "/dumps", code: 200, present: []string{"dump-table", "pager-next", "nav-dumps"},
			absent: []string{"pager-first", "filter-clear"},
			check: func(t *testing.T, d *goquery.Document) {
				if n := d.Find(tid("dump-row")).Length(); n != 50 {
					t.Errorf("%d rows, want 50", n)
				}
				if !d.Find(tid("nav-dumps")).HasClass("active") {
					t.Error("nav entry not active")
				}
			}},
		{name: "dumps by exception", path: "/dumps?exception=EXCEPTION_STACK_OVERFLOW", code: 200,
			present: []string{"filter-clear"},
			check: func(t *testing.T, d *goquery.Document) {
				rows := d.Find(tid("dump-exception"))
				if rows.Length() == 0 {
					t.Fatal("no rows")
				}
				rows.Each(func(_ int, s *goquery.Selection) {
					if s.Text() != "EXCEPTION_STACK_OVERFLOW" {
						t.Errorf("row of %q", s.Text())
					}
				})
				if v, _ := d.Find(tid("filter-exception")).Attr("value"); v != "EXCEPTION_STACK_OVERFLOW" {
					t.Errorf("filter field keeps %q", v)
				}
			}},
		{name: "dumps by signature", path: "/dumps?signature=" + url.QueryEscape(topSig.Key), code: 200,
			check: func(t *testing.T, d *goquery.Document) {
				rows := d.Find(tid("dump-signature"))
				if want := min(topSig.Count, 50); rows.Length() != want {
					t.Errorf("%d rows, want %d (the group's count on one page)", rows.Length(), want)
				}
				rows.Each(func(_ int, s *goquery.Selection) {
					if title, _ := s.Attr("title"); title != topSig.Key {
						t.Errorf("row of signature %q", title)
					}
				})
			}},
		{name: "dumps by status", path: "/dumps?status=failed", code: 200, text: map[string]string{"dump-status": "failed"}},
		{name: "dumps in the future", path: "/dumps?from=2999-01-01", code: 200, present: []string{"empty"},
			absent: []string{"dump-table"}},
		{name: "bad status", path: "/dumps?status=weird", code: 400, present: []string{"query-error", "filters"}},
		{name: "bad date", path: "/dumps?to=yesterday", code: 400, present: []string{"query-error"}},
		{name: "oom report", path: "/dumps/" + ids["oom"], code: 200,
			present: []string{"summary", "oom-card", "oom-requested", "memory", "address-summary", "region-table",
				"crashing-thread", "threads", "modules", "handles", "handle-table", "exception-record", "download-dump", "download-json", "copy-link"},
			absent: []string{"pending", "file-expired", "overflow-card", "outdated"},
			text:   map[string]string{"crash-type": "STATUS_NO_MEMORY", "dump-status": "done", "oom-verdict": "_"},
			check: func(t *testing.T, d *goquery.Document) {
				if v, _ := d.Find(tid("share-url")).Attr("value"); !strings.HasSuffix(v, "/dumps/"+ids["oom"]) ||
					!strings.HasPrefix(v, "http://") {
					t.Errorf("share URL %q", v)
				}
				if n := d.Find(tid("crash-frame")).Length(); n < 3 {
					t.Errorf("%d crashing frames", n)
				}
				if !strings.Contains(d.Find(tid("crash-frame")).First().Text(), "!") {
					t.Errorf("frame 0 %q is not module!function", d.Find(tid("crash-frame")).First().Text())
				}
				if d.Find(tid("module-row")).Length() < 5 {
					t.Error("modules missing")
				}
				// The unwinder's note is the trust's tooltip.
				tr := d.Find(tid("crash-frame")).Eq(1).Find(tid("frame-trust"))
				if title, _ := tr.Attr("title"); tr.Text() != "cfi" || !strings.Contains(title, "chained unwind info") {
					t.Errorf("frame 1 trust %q, tooltip %q", tr.Text(), title)
				}
			}},
		{name: "stack overflow report", path: "/dumps/" + ids["overflow"], code: 200,
			present: []string{"overflow-card", "overflow-recursion"}, absent: []string{"oom-card"},
			text: map[string]string{"overflow-explanation": "calls itself"}},
		{name: "access violation report", path: "/dumps/" + ids["av"], code: 200,
			text: map[string]string{"crash-description": "read of address"}},
		{name: "queued dump", path: "/dumps/" + ids["queued"], code: 200, present: []string{"pending", "download-dump"},
			absent: []string{"summary", "download-json"}, text: map[string]string{"dump-status": "queued"},
			check: func(t *testing.T, d *goquery.Document) {
				if d.Find(`head noscript`).Length() == 0 {
					t.Error("no refresh for browsers without JavaScript")
				}
			}},
		{name: "failed dump", path: "/dumps/" + ids["failed"], code: 200, present: []string{"dump-error"},
			text: map[string]string{"dump-error": "bad stream", "dump-status": "failed"}},
		{name: "expired dump", path: "/dumps/" + ids["expired"], code: 200, absent: []string{"download-dump"},
			text: map[string]string{"file-expired": "dump file expired"}},
		{name: "unknown dump", path: "/dumps/nope", code: 404, present: []string{"error"}},
		{name: "unknown page", path: "/nowhere", code: 404, present: []string{"error"}},
		{name: "signatures", path: "/signatures", code: 200, present: []string{"signature-table", "pager-next"},
			check: func(t *testing.T, d *goquery.Document) {
				if s := d.Find(tid("signature-link")).First().Text(); s != topSig.Key {
					t.Errorf("first group %q, want %q", s, topSig.Key)
				}
			}},
		{name: "signatures page 2", path: "/signatures?offset=50", code: 200, present: []string{"pager-first"}},
		{name: "signature search", path: "/signatures?q=" + url.QueryEscape(strings.Split(topSig.Key, " | ")[0]), code: 200,
			present: []string{"signature-table"}},
		{name: "signature search none", path: "/signatures?q=zzzznothing", code: 200, present: []string{"empty"}},
		{name: "signature", path: string(components.SignatureURL(topSig.Key)), code: 200,
			present: []string{"signature-chart", "signature-versions", "signature-oses", "dump-table", "signature-dumps"},
			text:    map[string]string{"signature-title": topSig.Key, "signature-count": components.Count(topSig.Count)}},
		{name: "unknown signature", path: "/signatures/nope", code: 404},
		{name: "no signature", path: "/signature", code: 400},
		{name: "old URL of an unknown signature", path: "/signature?sig=nope", code: 404}, // get follows the redirect
		{name: "modules", path: "/modules", code: 200, present: []string{"module-list", "sort-faulting", "module-list-version"}},
		{name: "modules by faulting", path: "/modules?sort=faulting", code: 200, present: []string{"sort-stack"},
			check: func(t *testing.T, d *goquery.Document) {
				if s := d.Find(tid("module-link")).First().Text(); s != mods.Modules[0].Name {
					t.Errorf("first module %q, want %q", s, mods.Modules[0].Name)
				}
			}},
		{name: "module", path: "/modules/" + mods.Modules[0].Name, code: 200,
			present: []string{"module-chart", "module-chart-narrow", "module-legend", "module-versions", "module-signatures",
				"module-faulting-dumps", "module-stack-dumps", "module-version-row"},
			text: map[string]string{"module-title": mods.Modules[0].Name, "module-faulting": components.Count(mods.Modules[0].Faulting)}},
		{name: "module in upper case", path: "/modules/" + strings.ToUpper(mods.Modules[0].Name), code: 200},
		{name: "unknown module", path: "/modules/nope.dll", code: 404},
		{name: "module, bad days", path: "/modules/" + mods.Modules[0].Name + "?days=abc", code: 400},
		{name: "module, too many days", path: "/modules/" + mods.Modules[0].Name + "?days=9999", code: 400},
		{name: "module, bad chart", path: "/modules/" + mods.Modules[0].Name + "?chart=x", code: 400},
		{name: "module, bad offset", path: "/modules/" + mods.Modules[0].Name + "?soffset=-5", code: 400},
		{name: "module, faulting chart", path: "/modules/" + mods.Modules[0].Name + "?chart=faulting&days=30", code: 200,
			present: []string{"module-chart"}},
		{name: "trends", path: "/trends", code: 200,
			present: []string{"trend-chart", "legend", "top-crashers", "by-exception", "by-module", "by-os", "by-version", "oom-chart"},
			check: func(t *testing.T, d *goquery.Document) {
				if d.Find(tid("trend-chart")+" rect").Length() == 0 {
					t.Error("no bars")
				}
				if d.Find(".scatter a.pt.dot").Length() == 0 || d.Find(".scatter a.pt.cross").Length() == 0 {
					t.Error("no OOM points")
				}
				if d.Find(tid("trend-chart-data")+" tbody tr").Length() == 0 || d.Find(tid("oom-chart-data")+" tbody tr").Length() == 0 {
					t.Error("the charts have no data tables")
				}
				if !d.Find(tid("period-30")).HasClass("active") {
					t.Error("30 days not the active period")
				}
			}},
		{name: "trends 7 days", path: "/trends?days=7", code: 200, present: []string{"trend-chart"}},
		{name: "upload page", path: "/upload", code: 200, present: []string{"dropzone", "file-input", "upload-form"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := e.get(tt.path)
			if resp.StatusCode != tt.code {
				t.Fatalf("GET %s: %d, want %d", tt.path, resp.StatusCode, tt.code)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Fatalf("content type %q", ct)
			}
			d := doc(t, b)
			for _, id := range tt.present {
				if d.Find(tid(id)).Length() == 0 {
					t.Errorf("no %s", id)
				}
			}
			for _, id := range tt.absent {
				if d.Find(tid(id)).Length() != 0 {
					t.Errorf("unexpected %s", id)
				}
			}
			for id, want := range tt.text {
				if got := d.Find(tid(id)).First().Text(); !strings.Contains(got, want) {
					t.Errorf("%s: %q does not contain %q", id, got, want)
				}
			}
			if tt.check != nil {
				tt.check(t, d)
			}
		})
	}
}

func TestDumpListPaging(t *testing.T) {
	e, _ := newPageEnv(t)
	seen := map[string]bool{}
	path := "/dumps"
	pages := 0
	for path != "" && pages < 20 {
		_, b := e.get(path)
		d := doc(t, b)
		d.Find(tid("dump-row")).Each(func(_ int, s *goquery.Selection) {
			id, _ := s.Attr("data-id")
			if seen[id] {
				t.Errorf("dump %s on two pages", id)
			}
			seen[id] = true
		})
		path, _ = d.Find(tid("pager-next")).Attr("href")
		pages++
	}
	if len(seen) != 403 {
		t.Errorf("pages listed %d dumps, want 403", len(seen))
	}
}

func TestDumpDownloadsAndStatus(t *testing.T) {
	e, ids := newPageEnv(t)
	resp, b := e.get("/dumps/" + ids["oom"] + "/report.json")
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("report.json: %d %v", resp.StatusCode, resp.Header)
	}
	var rep map[string]any
	if err := json.Unmarshal(b, &rep); err != nil || rep["allocation_failure"] == nil {
		t.Fatalf("report.json is not the report: %v", err)
	}
	if resp, _ := e.get("/dumps/" + ids["queued"] + "/report.json"); resp.StatusCode != 404 {
		t.Errorf("report.json before analysis: %d", resp.StatusCode)
	}
	for _, tt := range []struct{ id, status string }{{ids["oom"], "done"}, {ids["queued"], "queued"}, {ids["failed"], "failed"}} {
		resp, b := e.get("/dumps/" + tt.id + "/status")
		var j statusJSON
		if err := json.Unmarshal(b, &j); err != nil || resp.StatusCode != 200 || string(j.Status) != tt.status || j.URL != "/dumps/"+tt.id {
			t.Errorf("status of %s: %d %s", tt.id, resp.StatusCode, b)
		}
	}
	if resp, _ := e.get("/dumps/nope/status"); resp.StatusCode != 404 {
		t.Errorf("status of an unknown dump: %d", resp.StatusCode)
	}
	resp, b = e.get("/static/app.css")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") || len(b) < 1000 {
		t.Errorf("app.css: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	resp, _ = e.get("/static/app.js?v=" + assetVersion())
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("versioned app.js: %d %s", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	if resp, _ := e.get("/static/nope.js"); resp.StatusCode != 404 {
		t.Errorf("missing asset: %d", resp.StatusCode)
	}
}

// TestFormUpload posts the upload form as a browser without JavaScript does.
func TestFormUpload(t *testing.T) {
	e, _ := newPageEnv(t)
	var buf bytes.Buffer
	mw := newMultipart(&buf)
	mw.file("file", "a.dmp", fakeDump(1, 3000))
	mw.file("file", "b.dmp", fakeDump(2, 3000))
	mw.file("file", "a-again.dmp", fakeDump(1, 3000))
	mw.file("file", "notes.txt", []byte("not a dump"))
	ct := mw.close()
	// The form's action carries the CSRF token: the body is a stream, not parsed for a field.
	_, page := e.get("/upload")
	action, ok := doc(t, page).Find(tid("upload-form")).Attr("action")
	if !ok || !strings.Contains(action, "csrf="+url.QueryEscape(e.creds["admin-session"].csrf)) {
		t.Fatalf("upload form action %q", action)
	}
	req, _ := http.NewRequest("POST", e.srv.URL+action, &buf)
	req.Header.Set("Content-Type", ct)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: e.creds["admin-session"].session})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("form upload: %d %s", resp.StatusCode, b)
	}
	d := doc(t, b)
	rows := d.Find(tid("upload-row"))
	if rows.Length() != 4 {
		t.Fatalf("%d result rows, want 4", rows.Length())
	}
	links := d.Find(tid("upload-report-link"))
	if links.Length() != 3 {
		t.Fatalf("%d report links, want 3", links.Length())
	}
	first, _ := links.Eq(0).Attr("href")
	again, _ := links.Eq(2).Attr("href")
	if first != again || !strings.Contains(rows.Eq(2).Text(), "already uploaded") {
		t.Errorf("duplicate: %s vs %s, %q", first, again, rows.Eq(2).Text())
	}
	if !strings.Contains(rows.Eq(3).Text(), "not a minidump") {
		t.Errorf("non-dump row: %q", rows.Eq(3).Text())
	}
	req, _ = http.NewRequest("POST", e.srv.URL+action, strings.NewReader("x"))
	req.Header.Set("Content-Type", "text/plain")
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: e.creds["admin-session"].session})
	if resp, _ := http.DefaultClient.Do(req); resp.StatusCode != 400 {
		t.Errorf("non-multipart form: %d", resp.StatusCode)
	}
	// Without the token in the action, the same form is refused.
	req, _ = http.NewRequest("POST", e.srv.URL+"/upload", strings.NewReader("x"))
	req.Header.Set("Content-Type", "text/plain")
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: e.creds["admin-session"].session})
	if resp, _ := http.DefaultClient.Do(req); resp.StatusCode != 403 {
		t.Errorf("form without the CSRF token: %d", resp.StatusCode)
	}
}

type multipartWriter struct{ *multipart.Writer }

func newMultipart(w io.Writer) multipartWriter { return multipartWriter{multipart.NewWriter(w)} }

func (m multipartWriter) file(field, name string, data []byte) {
	w, _ := m.CreateFormFile(field, name)
	w.Write(data)
}

func (m multipartWriter) close() string {
	m.Writer.Close()
	return m.FormDataContentType()
}

// TestOutdatedReport: a report made by another analyzer version says so, and
// its Reanalyze button (a plain form POST to the reanalyze API) queues the
// dump and comes back to the page.
func TestOutdatedReport(t *testing.T) {
	e, ids := newPageEnv(t)
	srv := httptest.NewServer(New(e.st, Config{AnalyzerVersion: "9.9.9"}).Routes())
	t.Cleanup(srv.Close)
	e.srv = srv
	_, b := e.get("/dumps/" + ids["oom"])
	d := doc(t, b)
	if got := d.Find(tid("outdated")).Text(); !strings.Contains(got, "seed") || !strings.Contains(got, "9.9.9") {
		t.Fatalf("outdated notice %q", got)
	}
	form := d.Find(tid("reanalyze-form"))
	action, _ := form.Attr("action")
	if m, _ := form.Attr("method"); m != "post" || action != "/api/dumps/"+ids["oom"]+"/reanalyze" {
		t.Fatalf("form %s %q", m, action)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	csrf, _ := form.Find(`input[name="csrf"]`).Attr("value")
	req, _ := http.NewRequest("POST", srv.URL+action, strings.NewReader(url.Values{"csrf": {csrf}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Cookie", sessionCookie+"="+e.creds["admin-session"].session)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || loc != "/dumps/"+ids["oom"] {
		t.Fatalf("POST %s: %d to %q", action, resp.StatusCode, loc)
	}
	_, b = e.get(loc)
	d = doc(t, b)
	if s := d.Find(tid("dump-status")).Text(); s != "queued" || d.Find(tid("outdated")).Length() != 0 {
		t.Errorf("after reanalyze: status %q, outdated notice %d", s, d.Find(tid("outdated")).Length())
	}
	// The API keeps answering API clients in JSON.
	req, _ = http.NewRequest("POST", srv.URL+action, nil)
	req.Header.Set("Authorization", "Bearer "+e.creds["member"].token)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("API reanalyze: %d", resp.StatusCode)
	}
}

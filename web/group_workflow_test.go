package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/dumptriage/dumptriage/analyzer"
	"github.com/dumptriage/dumptriage/analyzer/report"
	"github.com/dumptriage/dumptriage/store"
	"github.com/dumptriage/dumptriage/web/components"
)

// crashOf is what the made-up analyzer says of one dump.
type crashOf struct{ sig, version string }

// newGroupEnv serves a store whose workers give each dump the signature and
// version crashes names for its seed (see groupEnv.crash).
func newGroupEnv(t *testing.T, analyze func(ctx context.Context, r io.ReaderAt, size int64, sha string) (*report.Report, error)) *env {
	t.Helper()
	st, err := store.Open(context.Background(), t.TempDir(), store.Config{})
	if err != nil {
		t.Fatal(err)
	}
	creds := seedUsers(t, st)
	srv := httptest.NewServer(New(st, Config{MaxUploadBytes: 1 << 30, AnalyzerVersion: "test"}).Routes())
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { st.RunWorkers(ctx, store.WorkerConfig{Workers: 1, Poll: 10 * time.Millisecond}, analyze) })
	t.Cleanup(func() { srv.Close(); cancel(); wg.Wait(); st.Close() })
	return &env{t: t, st: st, srv: srv, creds: creds, as: creds["admin"]}
}

// madeUpGroups is an analyzer that files each dump under the crash its
// sha256 maps to.
func madeUpGroups(crashes map[string]crashOf) func(ctx context.Context, r io.ReaderAt, size int64, sha string) (*report.Report, error) {
	var mu sync.Mutex
	return func(ctx context.Context, r io.ReaderAt, size int64, sha string) (*report.Report, error) {
		rep, err := fakeAnalyze(ctx, r, size, sha)
		mu.Lock()
		c := crashes[sha]
		mu.Unlock()
		rep.Signature, rep.Process.Version = c.sig, c.version
		return rep, err
	}
}

func shaOf(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// Signatures that a URL must carry intact: path separators, query and
// fragment marks, escapes, markup, C++ names, non-ASCII.
var hostileSigs = []string{
	"app.exe!crash_here",
	"a b/c/../d",
	"<script>alert(1)</script>",
	"ns::Foo<int>::bar(std::basic_string<char> const&) | ntdll.dll@0x1a2b",
	"100% | %2F | %zz",
	"q?x=1&y=2#frag",
	"ünïcødé ∑",
	"/leading and trailing/",
	"back\\slash;semi,comma+plus'quote\"",
}

// TestSignatureURLs: every group, however hostile its signature, has one
// page and one API URL, its links lead there, and the old ?sig= URLs
// answer with permanent redirects that keep their other parameters.
func TestSignatureURLs(t *testing.T) {
	crashes := map[string]crashOf{}
	var dumps [][]byte
	for i, sig := range hostileSigs {
		b := fakeDump(uint64(500+i), 3000)
		crashes[shaOf(b)] = crashOf{sig: sig}
		dumps = append(dumps, b)
	}
	e := newGroupEnv(t, madeUpGroups(crashes))
	for _, b := range dumps {
		e.wait(e.upload(b).ID)
	}
	e.as = e.creds["viewer-session"]
	_, list := e.do("GET", "/signatures?limit=50", nil)
	links := map[string]string{} // signature -> href on the list page
	doc(t, list).Find(tid("signature-link")).Each(func(_ int, s *goquery.Selection) {
		href, _ := s.Attr("href")
		links[s.Text()] = href
	})
	for _, sig := range hostileSigs {
		page := string(components.SignatureURL(sig))
		if links[sig] != page {
			t.Errorf("%q: the list links to %q, want %q", sig, links[sig], page)
		}
		resp, b := e.do("GET", page, nil)
		if resp.StatusCode != 200 {
			t.Errorf("%q: GET %s: %d", sig, page, resp.StatusCode)
			continue
		}
		if got := doc(t, b).Find(tid("signature-title")).Text(); got != sig {
			t.Errorf("%q: page %s shows %q", sig, page, got)
		}
		api := components.SignaturePath("/api/signatures/", sig)
		var j struct {
			Signature string `json:"signature"`
			Count     int    `json:"count"`
		}
		resp, b = e.do("GET", api, nil)
		if json.Unmarshal(b, &j); resp.StatusCode != 200 || j.Signature != sig || j.Count != 1 {
			t.Errorf("%q: GET %s: %d %s", sig, api, resp.StatusCode, b)
		}
		for _, r := range []struct{ old, want string }{
			{"/signature?sig=" + url.QueryEscape(sig), page},
			{"/signature?history=0&sig=" + url.QueryEscape(sig), page + "?history=0"},
			{"/api/signature?sig=" + url.QueryEscape(sig), api},
			{"/api/signature?sig=" + url.QueryEscape(sig) + "&x=%2F", api + "?x=%2F"},
		} {
			resp, _ := e.do("GET", r.old, nil)
			if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != r.want {
				t.Errorf("%q: GET %s: %d to %q, want 301 to %q", sig, r.old, resp.StatusCode, resp.Header.Get("Location"), r.want)
			}
		}
		// Browsers send what the link says; a client that escapes more
		// (url.PathEscape) reaches the same group.
		if resp, _ := e.do("GET", "/signatures/"+url.PathEscape(sig), nil); resp.StatusCode != 200 {
			t.Errorf("%q: the url.PathEscape spelling: %d", sig, resp.StatusCode)
		}
	}
	for _, tt := range []struct {
		path string
		code int
	}{
		{"/signatures/a%20b%2Fc", 404}, // "a b/c" is not "a b/c/../d"
		{"/signatures/a%20b/c", 404},   // an unescaped slash is not part of the signature
		{"/signature", 400},
		{"/api/signature", 400},
		{"/api/signatures/nope", 404},
	} {
		if resp, _ := e.do("GET", tt.path, nil); resp.StatusCode != tt.code {
			t.Errorf("GET %s: %d, want %d", tt.path, resp.StatusCode, tt.code)
		}
	}
}

// TestGroupWorkflowPage: a member changes the workflow through the page's
// form; each change is in the history, newest first and paged; a viewer
// sees no form and is refused; a crash at or past the fixed version shows
// the group regressed.
func TestGroupWorkflowPage(t *testing.T) {
	const sig = "ns::Foo<int>::bar | a/b %"
	crashes := map[string]crashOf{}
	first := fakeDump(600, 3000)
	crashes[shaOf(first)] = crashOf{sig, "1.2"}
	e := newGroupEnv(t, madeUpGroups(crashes))
	e.wait(e.upload(first).ID)
	page := string(components.SignatureURL(sig))
	api := components.SignaturePath("/api/signatures/", sig) + "/status"

	e.as = e.creds["member-session"]
	_, b := e.do("GET", page, nil)
	d := doc(t, b)
	form := d.Find(tid("group-status-form"))
	if action, _ := form.Attr("action"); action != page+"/status" {
		t.Fatalf("form action %q, want %q", action, page+"/status")
	}
	var users []string
	form.Find(tid("group-form-assignee") + " option").Each(func(_ int, s *goquery.Selection) { users = append(users, s.Text()) })
	if strings.Join(users, ",") != "nobody,admin,member,viewer" {
		t.Errorf("assignees offered: %v", users)
	}
	if d.Find(tid("group-event")).Length() != 0 || !strings.Contains(d.Find(tid("group-history")).Text(), "No changes yet") {
		t.Errorf("history of an untouched group: %q", d.Find(tid("group-history")).Text())
	}
	csrf, _ := form.Find(`input[name="csrf"]`).Attr("value")
	post := func(c cred, kv ...string) *http.Response {
		v := url.Values{"csrf": {csrf}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		// A browser's post: the session cookie and the form's csrf field.
		resp, _ := e.do("POST", page+"/status", strings.NewReader(v.Encode()),
			"X-CSRF-Token", "", "Authorization", "", "Cookie", sessionCookie+"="+c.session,
			"Content-Type", "application/x-www-form-urlencoded")
		return resp
	}
	resp := post(e.creds["member-session"], "status", "investigating", "fixed_in", "", "assignee", "viewer",
		"bug_url", "https://bugs.example/9", "note", "<b>racy</b>\r\nsecond line")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != page+"#workflow" {
		t.Fatalf("form post: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, b = e.do("GET", page, nil)
	d = doc(t, b)
	for id, want := range map[string]string{"group-state": "investigating", "group-assignee": "viewer",
		"group-note": "<b>racy</b>\nsecond line"} {
		if got := strings.TrimSpace(d.Find(tid(id)).Text()); got != want {
			t.Errorf("%s: %q, want %q", id, got, want)
		}
	}
	if d.Find(tid("group-note")+" b").Length() != 0 {
		t.Error("the note's markup was rendered")
	}
	if href, _ := d.Find(tid("group-bug")).Attr("href"); href != "https://bugs.example/9" {
		t.Errorf("bug link %q", href)
	}
	var fields []string
	d.Find(tid("group-event")).Each(func(_ int, s *goquery.Selection) {
		f, _ := s.Attr("data-field")
		fields = append(fields, f+":"+s.Find(tid("event-by")).Text())
	})
	if strings.Join(fields, " ") != "note:member bug_url:member assignee:member status:member" {
		t.Errorf("history: %v", fields)
	}

	// A viewer sees the workflow, not the form, and cannot post either way.
	e.as = e.creds["viewer-session"]
	_, b = e.do("GET", page, nil)
	if d := doc(t, b); d.Find(tid("group-status-form")).Length() != 0 || d.Find(tid("group-state")).Text() != "investigating" {
		t.Error("a viewer sees the form, or not the status")
	}
	if resp := post(e.creds["viewer-session"], "status", "ignored"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer's form post: %d", resp.StatusCode)
	}
	if resp, _ := e.do("POST", api, strings.NewReader(`{"status":"ignored"}`), "Content-Type", "application/json"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer's API post: %d", resp.StatusCode)
	}

	// The JSON API: fields left out stay; bad ones are refused.
	e.as = e.creds["member"]
	for _, tt := range []struct {
		body string
		code int
		want string
	}{
		{`{"assignee":"mallory"}`, 400, "no user"},
		{`{"status":"fixed"}`, 400, "version"},
		{`{"bogus":1}`, 400, "unknown field"},
		{`{"note":"` + strings.Repeat("n", store.MaxGroupNote+1) + `"}`, 400, "note of at most"},
		{`{"note":"n0"}`, 200, `"status":"investigating","bug_url":"https://bugs.example/9","assignee":"viewer","note":"n0"`},
		{`{"assignee":""}`, 200, `"status":"investigating","bug_url":"https://bugs.example/9","note":"n0"`},
	} {
		resp, b := e.do("POST", api, strings.NewReader(tt.body), "Content-Type", "application/json")
		if resp.StatusCode != tt.code || !strings.Contains(string(b), tt.want) {
			t.Errorf("%.40s: %d %s", tt.body, resp.StatusCode, b)
		}
	}
	if resp, _ := e.do("POST", components.SignaturePath("/api/signatures/", "nope")+"/status", strings.NewReader(`{"note":"x"}`)); resp.StatusCode != 404 {
		t.Errorf("unknown group: %d", resp.StatusCode)
	}

	// Paging: 4 + 2 changes so far; 20 more make 26.
	for i := 1; i <= 20; i++ {
		if resp, b := e.do("POST", api, strings.NewReader(fmt.Sprintf(`{"note":"n%d"}`, i))); resp.StatusCode != 200 {
			t.Fatalf("note %d: %d %s", i, resp.StatusCode, b)
		}
	}
	e.as = e.creds["viewer-session"]
	_, b = e.do("GET", page, nil)
	d = doc(t, b)
	if n := d.Find(tid("group-event")).Length(); n != historyPerPage {
		t.Errorf("first history page: %d rows", n)
	}
	if got := d.Find(tid("group-event")).First().Find(tid("event-new")).Text(); got != "n20" {
		t.Errorf("newest change first: %q", got)
	}
	next, ok := d.Find(tid("group-history") + " " + tid("pager-next")).Attr("href")
	if !ok || next != page+"?history=20#history" {
		t.Fatalf("next history page: %q", next)
	}
	_, b = e.do("GET", strings.TrimSuffix(next, "#history"), nil)
	if n := doc(t, b).Find(tid("group-event")).Length(); n != 6 {
		t.Errorf("second history page: %d rows, want 6", n)
	}
	for _, q := range []string{"?history=abc", "?history=-1"} {
		if resp, _ := e.do("GET", page+q, nil); resp.StatusCode != 400 {
			t.Errorf("%s: %d", q, resp.StatusCode)
		}
	}
	var hist struct {
		Events []groupEventJSON `json:"events"`
		Total  int              `json:"total"`
		More   bool             `json:"more"`
	}
	_, b = e.do("GET", components.SignaturePath("/api/signatures/", sig)+"/events?limit=5&offset=24", nil)
	if json.Unmarshal(b, &hist); hist.Total != 26 || len(hist.Events) != 2 || hist.More || hist.Events[1].Field != "status" {
		t.Errorf("events API: %s", b)
	}

	// Fixed in 1.3, then a crash in 1.10: regressed.
	e.as = e.creds["member"]
	if resp, b := e.do("POST", api, strings.NewReader(`{"status":"fixed","fixed_in":"1.3"}`)); resp.StatusCode != 200 {
		t.Fatalf("fixed: %d %s", resp.StatusCode, b)
	}
	later := fakeDump(601, 3000)
	crashes[shaOf(later)] = crashOf{sig, "1.10"}
	e.wait(e.upload(later).ID)
	e.as = e.creds["viewer-session"]
	_, b = e.do("GET", page, nil)
	d = doc(t, b)
	if reg := d.Find(tid("group-regressed")).Text(); !strings.Contains(reg, "fixed in 1.3") || !strings.Contains(reg, "crashed in 1.10") {
		t.Errorf("regression shown as %q", reg)
	}
	if d.Find(tid("group-event")).First().Find(tid("event-by")).Text() != "regression" {
		t.Error("the regression is not the newest change")
	}
	_, b = e.do("GET", components.SignaturePath("/api/signatures/", sig), nil)
	if !strings.Contains(string(b), `"regression":{"fixed_in":"1.3","crashed_in":"1.10"`) {
		t.Errorf("API status after the regression: %s", b)
	}
	// Marked fixed in a version that already crashed: shown too.
	e.as = e.creds["member"]
	e.do("POST", api, strings.NewReader(`{"status":"fixed","fixed_in":"1.5"}`))
	e.as = e.creds["viewer-session"]
	_, b = e.do("GET", page, nil)
	d = doc(t, b)
	if d.Find(tid("group-regressed")).Length() != 0 || !strings.Contains(d.Find(tid("group-past-fix")).Text(), "1.10 (1)") {
		t.Errorf("fixed in 1.5 with a crash in 1.10: regressed %q, past fix %q", d.Find(tid("group-regressed")).Text(),
			d.Find(tid("group-past-fix")).Text())
	}
}

// newRealEnv serves a store whose workers run the real analyzer.
func newRealEnv(t *testing.T) *env {
	return newGroupEnv(t, func(ctx context.Context, r io.ReaderAt, size int64, sha string) (*report.Report, error) {
		return analyzer.Analyze(ctx, r, size, analyzer.Options{SHA256: sha})
	})
}

// TestGroupCompareRealDumps: Breakpad's null_read_av and ascii_write_av
// crash at one place in crashme.exe, one by reading 0, one by writing
// 0x41414141; the comparison shows that and nothing else at the top of the
// stack. Dumps of other groups, unknown ones and a dump compared with
// itself are refused.
func TestGroupCompareRealDumps(t *testing.T) {
	e := newRealEnv(t)
	read := func(name string) []byte {
		b, err := os.ReadFile(testdata(t, "public/google__breakpad/src/processor/testdata/"+name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ids := map[string]string{}
	for _, n := range []string{"null_read_av.dmp", "ascii_write_av.dmp", "minidump2.dmp"} {
		ids[n] = e.upload(read(n)).ID
		e.wait(ids[n])
	}
	nullRead, asciiWrite, other := ids["null_read_av.dmp"], ids["ascii_write_av.dmp"], ids["minidump2.dmp"]
	d, err := e.st.Dump(context.Background(), nullRead)
	if err != nil || d.Summary == nil {
		t.Fatal(d, err)
	}
	sig := d.Summary.Signature
	if sig != "crashme.exe@0xa6cd" {
		t.Fatalf("signature %q: the test needs both dumps in crashme.exe@0xa6cd", sig)
	}
	ends, err := e.st.GroupEnds(context.Background(), sig)
	if err != nil || len(ends) != 2 {
		t.Fatal(ends, err)
	}
	page := string(components.SignatureURL(sig))
	e.as = e.creds["viewer-session"]
	_, b := e.do("GET", page, nil)
	pick := doc(t, b).Find(tid("group-compare-picker"))
	for key, want := range map[string]string{"compare-a": ends[0].ID, "compare-b": ends[1].ID} {
		if got, _ := pick.Find(tid(key) + " option[selected]").Attr("value"); got != want {
			t.Errorf("%s defaults to %q, want %q", key, got, want)
		}
	}
	if n := pick.Find(tid("compare-a") + " option").Length(); n != 2 {
		t.Errorf("%d dumps to pick from, want 2", n)
	}

	check := func(path, a, b string) {
		t.Helper()
		resp, body := e.do("GET", path, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %.300s", path, resp.StatusCode, body)
		}
		d := doc(t, body)
		if h, _ := d.Find(tid("compare-a-link")).Attr("href"); h != string(components.DumpURL(a)) {
			t.Errorf("%s: dump A %q, want %s", path, h, a)
		}
		if h, _ := d.Find(tid("compare-b-link")).Attr("href"); h != string(components.DumpURL(b)) {
			t.Errorf("%s: dump B %q, want %s", path, h, b)
		}
		differs := map[string]string{}
		d.Find(tid("compare-field")).Each(func(_ int, s *goquery.Selection) {
			n, _ := s.Attr("data-name")
			differs[n], _ = s.Attr("data-differs")
		})
		for n, want := range map[string]string{"code": "false", "crash type": "true", "accessed address": "true",
			"parameters": "true", "OS version": "false", "process": "false"} {
			if differs[n] != want {
				t.Errorf("%s: %s differs=%q, want %s", path, n, differs[n], want)
			}
		}
		frames := d.Find(tid("compare-frame"))
		if frames.Length() < 3 || frames.Filter(`[data-differs="true"]`).Length() != 0 ||
			!strings.Contains(frames.First().Text(), "crashme.exe+0xa6cd") {
			t.Errorf("%s: top frames %q", path, frames.Text())
		}
		if n := d.Find(tid("compare-module")).Length(); n != 0 {
			t.Errorf("%s: %d modules in one dump only", path, n)
		}
	}
	compare := page + "/compare"
	check(compare, ends[0].ID, ends[1].ID)
	check(compare+"?a="+asciiWrite+"&b="+nullRead, asciiWrite, nullRead)

	var j struct {
		A         compareDumpJSON     `json:"a"`
		Exception []map[string]any    `json:"exception"`
		Frames    []map[string]any    `json:"frames"`
		OnlyA     []map[string]string `json:"modules_only_a"`
	}
	api := components.SignaturePath("/api/signatures/", sig) + "/compare"
	_, body := e.do("GET", api+"?a="+nullRead+"&b="+asciiWrite, nil)
	if json.Unmarshal(body, &j); j.A.ID != nullRead || len(j.Exception) == 0 || len(j.Frames) < 3 || j.Frames[0]["differs"] != false {
		t.Errorf("compare API: %.500s", body)
	}
	for _, tt := range []struct {
		query string
		code  int
		want  string
	}{
		{"?a=" + nullRead + "&b=" + other, 400, "not in this crash group"},
		{"?a=" + other + "&b=" + nullRead, 400, "not in this crash group"},
		{"?a=" + nullRead + "&b=nope", 404, "no dump"},
		{"?a=" + nullRead + "&b=" + nullRead, 400, "two different dumps"},
	} {
		for _, path := range []string{compare, api} {
			resp, body := e.do("GET", path+tt.query, nil)
			if resp.StatusCode != tt.code || !strings.Contains(string(body), tt.want) {
				t.Errorf("%s%s: %d %.200s", path, tt.query, resp.StatusCode, body)
			}
		}
	}
	// A group of one dump has nothing to compare.
	d, _ = e.st.Dump(context.Background(), other)
	if resp, body := e.do("GET", string(components.SignatureURL(d.Summary.Signature))+"/compare", nil); resp.StatusCode != 400 ||
		!bytes.Contains(body, []byte("one dump")) {
		t.Errorf("a group of one dump: %d", resp.StatusCode)
	}
}

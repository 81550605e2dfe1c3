package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/dumptriage/dumptriage/store"
)

func TestQueryParser(t *testing.T) {
	long := strings.Repeat("x", maxQueryValue+1)
	for _, c := range []struct {
		name  string
		query string
		read  func(q *query) any
		want  any
		bad   string // in the error; "" for none
	}{
		{"int absent", "", func(q *query) any { return q.Int("days", 30, 1, 3650) }, 30, ""},
		{"int", "days=7", func(q *query) any { return q.Int("days", 30, 1, 3650) }, 7, ""},
		{"int not a number", "days=abc", func(q *query) any { return q.Int("days", 30, 1, 3650) }, 30, `days: "abc" is not a whole number`},
		{"int below", "limit=-1", func(q *query) any { return q.Int("limit", 50, 1, 500) }, 50, "limit: -1 is not between 1 and 500"},
		{"int above", "limit=501", func(q *query) any { return q.Int("limit", 50, 1, 500) }, 50, "limit: 501 is not between"},
		{"int overflow", "offset=99999999999999999999", func(q *query) any { return q.Int("offset", 0, 0, maxOffset) }, 0, "offset"},
		{"int repeated", "days=7&days=8", func(q *query) any { return q.Int("days", 30, 1, 3650) }, 7, "days: given 2 times"},
		{"enum", "sort=name", func(q *query) any { return q.Enum("sort", "stack", "faulting", "name") }, "name", ""},
		{"enum unknown", "sort=size", func(q *query) any { return q.Enum("sort", "stack", "faulting", "name") }, "",
			`sort: "size" is not one of stack, faulting, name`},
		{"clock absent", "", func(q *query) any { return q.Clock("clock") }, store.ClockCrash, ""},
		{"clock upload", "clock=upload", func(q *query) any { return q.Clock("clock") }, store.ClockUpload, ""},
		{"clock bad", "clock=wall", func(q *query) any { return q.Clock("clock") }, store.ClockCrash, `clock: "wall" is not crash or upload`},
		{"bool", "damaged=1", func(q *query) any { return q.Bool("damaged") }, true, ""},
		{"bool bad", "damaged=yes", func(q *query) any { return q.Bool("damaged") }, false, "damaged"},
		{"date", "from=2026-01-02", func(q *query) any { return q.Date("from").Format("2006-01-02") }, "2026-01-02", ""},
		{"date bad", "from=yesterday", func(q *query) any { return q.Date("from").IsZero() }, true, "YYYY-MM-DD"},
		{"time bad", "since=2026-01-02", func(q *query) any { return q.Time("since").IsZero() }, true, "RFC 3339"},
		{"too long", "signature=" + long, func(q *query) any { return q.Match("signature") == nil }, true, "bytes long"},
		{"not utf-8", "signature=%ff", func(q *query) any { return q.Match("signature") == nil }, true, "not UTF-8"},
		{"substring", "module=Kernel", func(q *query) any { return *q.Match("module") }, store.Match{Text: "Kernel"}, ""},
		{"prefix", "module=%5Ekernel", func(q *query) any { return *q.Match("module") },
			store.Match{Text: "kernel", Mode: store.Prefix}, ""},
		{"exact", "module=%22kernelbase.dll%22", func(q *query) any { return *q.Match("module") },
			store.Match{Text: "kernelbase.dll", Mode: store.Exact}, ""},
		{"exact empty", "module=%22%22", func(q *query) any { return *q.Match("module") }, store.Match{Mode: store.Exact}, ""},
		{"prefix of nothing", "module=%5E", func(q *query) any { return q.Match("module") == nil }, true, "nothing to search for"},
		{"search past the store's limit", "signature=" + strings.Repeat("y", store.MaxSearchBytes+1),
			func(q *query) any { return q.Match("signature") == nil }, true, "at most 1024"},
		{"matches in field order", "version=1&signature=a", func(q *query) any { return len(q.Matches()) }, 2, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			v, err := url.ParseQuery(c.query)
			if err != nil {
				t.Fatal(err)
			}
			q := newQuery(v)
			if got := c.read(q); got != c.want {
				t.Errorf("got %#v, want %#v", got, c.want)
			}
			err = q.Err()
			switch {
			case c.bad == "" && err != nil:
				t.Errorf("error %v", err)
			case c.bad != "" && (err == nil || !strings.Contains(err.Error(), c.bad)):
				t.Errorf("error %v, want one saying %q", err, c.bad)
			case err != nil && !isBadRequest(err):
				t.Errorf("error %v is not a bad request", err)
			}
		})
	}
}

func isBadRequest(err error) bool { code, _ := httpStatus(err); return code == http.StatusBadRequest }

// TestMalformedQueries: every page and API route with query values answers
// a malformed one with 400, a JSON error on the API and, on a page, the page
// itself with the message on top.
func TestMalformedQueries(t *testing.T) {
	e, _ := newPageEnv(t)
	long := strings.Repeat("z", 5000)
	top, err := e.st.Groups(context.Background(), store.GroupQuery{Dim: store.DimSignature, Limit: 1})
	if err != nil || len(top.Groups) == 0 {
		t.Fatal(err)
	}
	sig := url.QueryEscape(top.Groups[0].Key)
	for _, c := range []struct {
		path string
		say  string
	}{
		{"/dumps?status=weird", "status"},
		{"/dumps?from=abc", "from"},
		{"/dumps?signature=" + long, "signature"},
		{"/dumps?module=%5E", "module"},
		{"/signatures?offset=-1", "offset"},
		{"/signatures?offset=abc", "offset"},
		{"/signatures?process=" + long, "process"},
		{"/modules?sort=size", "sort"},
		{"/modules?offset=1e9", "offset"},
		{"/trends?days=abc", "days"},
		{"/trends?days=0", "days"},
		{"/trends?days=99999", "days"},
		{"/trends?clock=wall", "clock"},
		{"/trends?damaged=maybe", "damaged"},
		{"/signature?sig=" + sig + "&clock=wall", "clock"},
		{"/admin/audit?before=abc", "before"},
	} {
		resp, b := e.get(c.path)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d", c.path, resp.StatusCode)
			continue
		}
		d := doc(t, b)
		if msg := d.Find(tid("query-error")).Text(); !strings.Contains(msg, c.say+":") {
			t.Errorf("%s: message %q", c.path, msg)
		}
		if d.Find("main h1").Length() == 0 {
			t.Errorf("%s: the page did not render around the message", c.path)
		}
	}
	for _, c := range []struct {
		path string
		say  string
	}{
		{"/api/dumps?limit=-1", "limit"},
		{"/api/dumps?limit=abc", "limit"},
		{"/api/dumps?status=weird", "status"},
		{"/api/dumps?since=yesterday", "since"},
		{"/api/dumps?stack_overflow=maybe", "stack_overflow"},
		{"/api/dumps?signature=" + long, "signature"},
		{"/api/signatures?limit=0", "limit"},
		{"/api/signatures?offset=-5", "offset"},
		{"/api/signatures?q=" + long, "signature"},
		{"/api/signature?sig=x&clock=wall", "clock"},
		{"/api/modules?sort=size", "sort"},
		{"/api/modules?limit=1000", "limit"},
		{"/api/trends?days=abc", "days"},
		{"/api/trends?days=-3", "days"},
		{"/api/trends?clock=wall", "clock"},
		{"/api/trends?version=%5E", "version"},
	} {
		resp, b := e.get(c.path)
		var body struct {
			Error string `json:"error"`
		}
		if resp.StatusCode != http.StatusBadRequest || json.Unmarshal(b, &body) != nil || !strings.Contains(body.Error, c.say+":") {
			t.Errorf("%s: %d %s", c.path, resp.StatusCode, b)
		}
	}
	// The signature page counts by crash time unless asked otherwise.
	for clock, want := range map[string]string{"": "crash time", "upload": "upload time"} {
		resp, b := e.get("/signature?sig=" + sig + "&clock=" + clock)
		d := doc(t, b)
		if resp.StatusCode != http.StatusOK || !strings.Contains(d.Find(tid("signature-clock")).Text(), want) {
			t.Errorf("clock %q: %d %q", clock, resp.StatusCode, d.Find(tid("signature-clock")).Text())
		}
		if href, _ := d.Find(tid("clock-upload")).Attr("href"); !strings.Contains(href, "clock=upload") ||
			!strings.Contains(href, "/signatures/") {
			t.Errorf("clock link %q", href)
		}
	}
	// Good values still answer 200.
	for _, p := range []string{"/trends?days=7&clock=upload", "/signatures?offset=50", "/modules?sort=name",
		"/api/trends?days=365&clock=crash", "/api/dumps?limit=500", "/dumps?signature=%22x%22"} {
		if resp, b := e.get(p); resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d %.200s", p, resp.StatusCode, b)
		}
	}
}

package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dumptriage/dumptriage/analyzer/report"

	"github.com/dumptriage/dumptriage/store"
	"github.com/dumptriage/dumptriage/web/components"
)

func sigAnalyze(ctx context.Context, r io.ReaderAt, size int64, sha string) (*report.Report, error) {
	rep, err := fakeAnalyze(ctx, r, size, sha)
	rep.Signature = "app.exe!crash_here"
	return rep, err
}

func TestGroupStatus(t *testing.T) {
	st, err := store.Open(context.Background(), t.TempDir(), store.Config{})
	if err != nil {
		t.Fatal(err)
	}
	creds := seedUsers(t, st)
	srv := httptest.NewServer(New(st, Config{MaxUploadBytes: 1 << 20}).Routes())
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { st.RunWorkers(ctx, store.WorkerConfig{Workers: 1, Poll: 10 * time.Millisecond}, sigAnalyze) })
	t.Cleanup(func() { srv.Close(); cancel(); wg.Wait(); st.Close() })
	e := &env{t: t, st: st, srv: srv, creds: creds, as: creds["member"]}
	e.wait(e.upload(fakeDump(92, 3000)).ID)
	const sig = "app.exe!crash_here"
	q := "?sig=" + url.QueryEscape(sig)
	for _, tt := range []struct {
		body string
		code int
		want string
	}{
		{`{"status":"fixed","fixed_in":"2.0","bug_url":"https://bugs.example/7"}`, 200, `"fixed_in":"2.0"`},
		{`{"status":"fixed"}`, 400, "version"},
		{`{"status":"done"}`, 400, "not new, investigating"},
		{`{"status":"investigating","bug_url":"javascript:alert(1)"}`, 400, "not an http(s) URL"},
		{`{"status":"ignored"`, 400, "error"},
	} {
		resp, b := e.do("POST", "/api/signature/status"+q, strings.NewReader(tt.body), "Content-Type", "application/json")
		if resp.StatusCode != tt.code || !strings.Contains(string(b), tt.want) {
			t.Errorf("%s: %d %s", tt.body, resp.StatusCode, b)
		}
	}
	if resp, _ := e.do("POST", "/api/signature/status?sig=nope", strings.NewReader(`{"status":"new"}`)); resp.StatusCode != 404 {
		t.Errorf("unknown signature: %d", resp.StatusCode)
	}
	_, b := e.do("GET", "/api/signatures/"+components.EscapeSegment(sig), nil)
	if !strings.Contains(string(b), `"status":{"signature":"app.exe!crash_here","status":"fixed","fixed_in":"2.0","bug_url":"https://bugs.example/7"`) {
		t.Errorf("GET /api/signatures/{signature}: %s", b)
	}
	_, page := e.do("GET", string(components.SignatureURL(sig)), nil)
	if !strings.Contains(string(page), `data-testid="group-fixed-in">2.0<`) || !strings.Contains(string(page), `data-testid="group-status-form"`) {
		t.Errorf("signature page for a member lacks the status or its form")
	}
	e.as = creds["viewer"]
	_, page = e.do("GET", string(components.SignatureURL(sig)), nil)
	if strings.Contains(string(page), `data-testid="group-status-form"`) {
		t.Errorf("a viewer sees the status form")
	}
}

func TestWebhookAdminPage(t *testing.T) {
	e := newEnv(t, store.Config{}, 1<<20)
	admin := e.creds["admin-session"]
	form := func(path string, kv ...string) (int, string) {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		resp, b := e.do("POST", path, strings.NewReader(v.Encode()), append(admin.headers(),
			"Content-Type", "application/x-www-form-urlencoded", "Authorization", "")...)
		return resp.StatusCode, string(b)
	}
	for _, tt := range []struct {
		name string
		kv   []string
		code int
		want string
	}{
		{"slack webhook", []string{"url", "https://hooks.slack.com/services/T/B/x", "events", "new", "events", "regression"}, 201, "Added webhook 1."},
		{"threshold without a number", []string{"url", "http://127.0.0.1:9/h", "events", "threshold"}, 400, "threshold"},
		{"not http", []string{"url", "javascript:alert(1)", "events", "new"}, 400, "not an http(s) URL"},
		{"threshold", []string{"url", "http://127.0.0.1:9/h", "events", "threshold", "threshold", "50", "format", "json"}, 201, "Added webhook 2."},
	} {
		code, body := form("/admin/webhooks", tt.kv...)
		if code != tt.code || !strings.Contains(body, tt.want) {
			t.Errorf("%s: %d, want %d with %q", tt.name, code, tt.code, tt.want)
		}
	}
	resp, b := e.do("GET", "/api/webhooks", nil)
	var list struct {
		Webhooks []webhookJSON `json:"webhooks"`
	}
	if json.Unmarshal(b, &list); resp.StatusCode != 200 || len(list.Webhooks) != 2 || list.Webhooks[0].Format != "slack" ||
		list.Webhooks[1].Threshold != 50 {
		t.Fatalf("webhooks: %d %s", resp.StatusCode, b)
	}
	_, pageB := e.do("GET", "/admin/webhooks", nil, append(admin.headers(), "Authorization", "")...)
	page := string(pageB)
	if strings.Count(page, `data-testid="webhook-row"`) != 2 {
		t.Errorf("admin page lists %d webhooks", strings.Count(page, `data-testid="webhook-row"`))
	}
	if code, _ := form("/admin/webhooks/1/remove"); code != 200 {
		t.Errorf("remove: %d", code)
	}
	if resp, _ := e.do("DELETE", "/api/webhooks/1", nil); resp.StatusCode != 404 {
		t.Errorf("removing again: %d", resp.StatusCode)
	}
}

package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	rt "github.com/dumptriage/dumptriage/internal/reportertest"
)

// TestCrashReporters sends real dumps as Crashpad and sentry-native send
// them to a real server, and checks the annotations, the product filter,
// the version the crash is filed under, and the webhook alert that the
// new signature raises at a loopback receiver.
func TestCrashReporters(t *testing.T) {
	var mu sync.Mutex
	var got []string
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, string(b))
		mu.Unlock()
	}))
	defer recv.Close()
	data := t.TempDir()
	if out, err := exec.Command(dtBinary(t), "webhook", "add", recv.URL+"/slack", "--format", "slack", "--events", "new",
		"--data", data).CombinedOutput(); err != nil {
		t.Fatalf("webhook add: %v %s", err, out)
	}
	s := startServer(t, data, nil)
	tokensMu.Lock()
	tok := tokens[s.addr]
	tokensMu.Unlock()
	dump, err := os.ReadFile(filepath.Join(sharedTestdata(t), "public", "google__breakpad", "src", "processor", "testdata", "minidump2.dmp"))
	if err != nil {
		t.Fatal(err)
	}
	req := rt.Crashpad(map[string]string{"prod": "BarsProduct", "ver": "4.5.6", "guid": "0123456789abcdef", "plat": "Win32",
		"ptype": "browser"}, dump, []rt.File{{Name: "app.log", File: "app.log", Data: []byte("last words\n")}}, true)
	id := send(t, req.New(s.url+"/api/minidump?token="+url.QueryEscape(tok)), false)
	j := waitDone(t, s.url, id)
	ann := j["annotations"].(map[string]any)
	if ann["prod"] != "BarsProduct" || ann["ver"] != "4.5.6" || j["product_version"] != "4.5.6" {
		t.Fatalf("annotations %v, product %v %v", ann, j["product"], j["product_version"])
	}
	if rep, _ := j["report"].(map[string]any); rep == nil || rep["thread_count"] == nil {
		t.Fatalf("no report: %v", j["status"])
	}
	for _, q := range []string{"product=BarsProduct", "version=4.5.6", "annotation=ptype:browser"} {
		if b := get(t, s.url+"/api/dumps?"+q); !strings.Contains(b, id) {
			t.Errorf("?%s does not list the dump", q)
		}
	}
	// The annotation's version files the crash, not the exe's own.
	// The test dumps crashed long ago: count them on the day they arrived.
	if b := get(t, s.url+"/api/trends?days=2&clock=upload"); !strings.Contains(b, `"key":"4.5.6"`) {
		t.Errorf("trends by version lack 4.5.6: %.300s", b)
	}

	mini, err := os.ReadFile(filepath.Join(sharedTestdata(t), "public", "getsentry__symbolic", "symbolic-testutils", "fixtures", "windows", "mini.dmp"))
	if err != nil {
		t.Fatal(err)
	}
	event := rt.Msgpack(map[string]any{"release": "bars@7.8.9", "environment": "production", "tags": map[string]any{"shard": "eu"}})
	sid := send(t, rt.SentryNative(event, nil, mini).New(s.url+"/api/42/minidump/?sentry_client=sentry.native%2F0.7.20&sentry_key="+
		url.QueryEscape(tok)), true)
	j = waitDone(t, s.url, sid)
	ann = j["annotations"].(map[string]any)
	if ann["release"] != "bars@7.8.9" || ann["tags.shard"] != "eu" || ann["sentry.project"] != "42" || j["product"] != "bars" {
		t.Fatalf("sentry annotations %v, product %v", ann, j["product"])
	}
	waitFor(t, "the new-signature alerts", 30*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) >= 2
	})
	mu.Lock()
	defer mu.Unlock()
	for _, b := range got {
		var m map[string]string
		if json.Unmarshal([]byte(b), &m) != nil || !strings.HasPrefix(m["text"], "*New crash*") || !strings.Contains(m["text"], s.url) {
			t.Errorf("webhook body %s", b)
		}
	}
}

func send(t *testing.T, req *http.Request, sentry bool) string {
	t.Helper()
	// Straight to the transport: the token is in the URL, as the reporters send it.
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %d %s", req.URL.Path, resp.StatusCode, b)
	}
	if !sentry {
		return string(b)
	}
	var j struct{ ID string }
	if err := json.Unmarshal(b, &j); err != nil {
		t.Fatal(err)
	}
	return j.ID
}

func get(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func waitDone(t *testing.T, base, id string) map[string]any {
	t.Helper()
	var j map[string]any
	waitFor(t, "analysis of "+id, 60*time.Second, func() bool {
		j = nil
		json.Unmarshal([]byte(get(t, base+"/api/dumps/"+id)), &j)
		return j["status"] == "done" || j["status"] == "failed"
	})
	if j["status"] != "done" {
		t.Fatalf("dump %s: %v %v", id, j["status"], j["error"])
	}
	return j
}

package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	rt "github.com/dumptriage/dumptriage/internal/reportertest"
	"github.com/dumptriage/dumptriage/store"
)

// newReporterEnv is newEnv; tokens come from its seeded users.
func newReporterEnv(t *testing.T) *env {
	t.Helper()
	return newEnv(t, store.Config{}, 8<<20)
}

func TestReporterUploads(t *testing.T) {
	e := newReporterEnv(t)
	goodToken := e.creds["member-upload"].token
	readToken := e.creds["viewer-read"].token
	event := rt.Msgpack(map[string]any{"release": "bars@7.8.9", "environment": "production",
		"user": map[string]any{"id": "u1"}, "tags": map[string]any{"shard": "eu"}})
	many := map[string]string{}
	for i := range 1100 {
		many[fmt.Sprintf("k%d", i)] = "v"
	}
	bearer := http.Header{"Authorization": {"Bearer " + goodToken}}
	tests := []struct {
		name     string
		path     string
		req      rt.Request
		header   http.Header
		status   int
		sentry   bool              // answers {"id": ...}
		want     map[string]string // annotations the stored dump has
		product  string
		version  string
		attached int
	}{
		{name: "crashpad gzip, token in the URL", path: "/api/minidump?token=" + goodToken,
			req: rt.Crashpad(map[string]string{"prod": "BarsProduct", "ver": "4.5.6", "guid": "0123456789abcdef", "plat": "Win64", "ptype": "browser"},
				fakeDump(1, 3000), []rt.File{{Name: "log.txt", File: "log.txt", Data: []byte("started\n")}}, true),
			status: 200, want: map[string]string{"prod": "BarsProduct", "ver": "4.5.6", "ptype": "browser"},
			product: "BarsProduct", version: "4.5.6", attached: 1},
		{name: "crashpad identifies the client in the URL", path: "/api/minidump?token=" + goodToken + "&prod=UrlProd&ver=9",
			req: rt.Crashpad(map[string]string{"guid": "g"}, fakeDump(2, 3000), nil, true), status: 200,
			want: map[string]string{"prod": "UrlProd", "ver": "9", "guid": "g"}, product: "UrlProd", version: "9"},
		{name: "electron", path: "/api/minidump?token=" + goodToken,
			req: rt.Crashpad(map[string]string{"prod": "Electron", "ver": "30.0.1", "_productName": "BarsApp", "_version": "2.1.0",
				"process_type": "renderer"}, fakeDump(3, 3000), nil, true),
			status: 200, want: map[string]string{"process_type": "renderer"}, product: "BarsApp", version: "2.1.0"},
		{name: "breakpad linux, bearer", path: "/api/minidump", header: bearer,
			req:    rt.BreakpadLinux("crash.dmp", fakeDump(4, 3000), "prod", "BP", "ver", "1.0"),
			status: 200, want: map[string]string{"prod": "BP"}, product: "BP", version: "1.0"},
		{name: "breakpad windows, bearer", path: "/api/minidump", header: bearer,
			req:    rt.BreakpadWindows("c.dmp", fakeDump(5, 3000), "prod", "BW", "ver", "2"),
			status: 200, want: map[string]string{"ver": "2"}, product: "BW", version: "2"},
		{name: "sentry-native with sentry_key", path: "/api/42/minidump/?sentry_client=sentry.native%2F0.7.0&sentry_key=" + goodToken,
			req: rt.SentryNative(event, rt.Msgpack(map[string]any{"message": "clicked"}), fakeDump(6, 3000)), sentry: true,
			status: 200, want: map[string]string{"release": "bars@7.8.9", "environment": "production", "user.id": "u1", "tags.shard": "eu",
				"sentry.project": "42"}, product: "bars", version: "7.8.9", attached: 1},
		{name: "sentry form fields, X-Sentry-Auth", path: "/api/web/minidump/",
			header: http.Header{"X-Sentry-Auth": {"Sentry sentry_version=7, sentry_client=custom/1, sentry_key=" + goodToken}},
			req:    rt.BreakpadLinux("c.dmp", fakeDump(7, 3000), "sentry[release]", "7.8.9", "sentry[tags][k]", "v"),
			sentry: true, status: 200, want: map[string]string{"release": "7.8.9", "tags.k": "v"}, product: "web", version: "7.8.9"},
		{name: "huge annotation cut", path: "/api/minidump?token=" + goodToken,
			req:    rt.Crashpad(map[string]string{"big": strings.Repeat("x", 200<<10)}, fakeDump(8, 3000), nil, true),
			status: 200, want: map[string]string{"big": strings.Repeat("x", 64<<10)}},
		{name: "no token", path: "/api/minidump", req: rt.Crashpad(map[string]string{"prod": "P"}, fakeDump(9, 3000), nil, true), status: 401},
		{name: "bad token", path: "/api/minidump?token=nope", req: rt.Crashpad(nil, fakeDump(9, 3000), nil, true), status: 401},
		{name: "bad bearer", path: "/api/minidump", header: http.Header{"Authorization": {"Bearer nope"}},
			req: rt.Crashpad(nil, fakeDump(9, 3000), nil, true), status: 401},
		{name: "read-only token", path: "/api/minidump?token=" + readToken, req: rt.Crashpad(nil, fakeDump(9, 3000), nil, true), status: 403},
		{name: "read-only sentry key", path: "/api/1/minidump/?sentry_key=" + readToken, req: rt.Crashpad(nil, fakeDump(9, 3000), nil, true), status: 403},
		{name: "sentry without key", path: "/api/42/minidump/", req: rt.SentryNative(event, nil, fakeDump(9, 3000)), status: 401},
		{name: "not multipart", path: "/api/minidump?token=" + goodToken,
			req: rt.Request{Body: fakeDump(9, 3000), Header: http.Header{"Content-Type": {"application/octet-stream"}}}, status: 400},
		{name: "broken multipart", path: "/api/minidump?token=" + goodToken,
			req: rt.Request{Body: []byte("--b\r\nContent-Disposition: form-data; name=\"prod\"\r\n\r\nP"),
				Header: http.Header{"Content-Type": {"multipart/form-data; boundary=b"}}}, status: 400},
		{name: "dump part cut short", path: "/api/minidump?token=" + goodToken,
			req: rt.Request{Body: []byte("--b\r\nContent-Disposition: form-data; name=\"upload_file_minidump\"; filename=\"a.dmp\"\r\n\r\nMDMP"),
				Header: http.Header{"Content-Type": {"multipart/form-data; boundary=b"}}}, status: 422},
		{name: "no dump part", path: "/api/minidump?token=" + goodToken,
			req: rt.BreakpadLinux("x", nil), status: 422},
		{name: "not a minidump", path: "/api/minidump?token=" + goodToken,
			req: rt.BreakpadLinux("x.dmp", []byte("this is no dump at all, not at all"), "prod", "P"), status: 422},
		{name: "gzip header but plain body", path: "/api/minidump?token=" + goodToken,
			req: func() rt.Request {
				r := rt.Crashpad(nil, fakeDump(9, 3000), nil, false)
				r.Header.Set("Content-Encoding", "gzip")
				return r
			}(), status: 400},
		{name: "too many parts", path: "/api/minidump?token=" + goodToken, req: rt.Crashpad(many, fakeDump(10, 3000), nil, true), status: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := tt.req.New(e.srv.URL + tt.path)
			for k, v := range tt.header {
				req.Header[k] = v
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, b)
			}
			if tt.status != 200 {
				return
			}
			id := string(b)
			if tt.sentry {
				var j struct{ ID string }
				if err := json.Unmarshal(b, &j); err != nil || j.ID == "" || resp.Header.Get("Content-Type") != "application/json" {
					t.Fatalf("sentry answer %q %v", b, err)
				}
				id = j.ID
			} else if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") || strings.ContainsAny(id, "{\n ") || id == "" {
				t.Fatalf("crashpad answer %q (%s)", b, ct)
			}
			j := e.wait(id)
			ann, _ := j["annotations"].(map[string]any)
			for k, v := range tt.want {
				if ann[k] != v {
					t.Errorf("annotation %s = %.40q, want %.40q", k, ann[k], v)
				}
			}
			for k := range ann {
				if k == "token" || k == "sentry_key" || k == "sentry_client" {
					t.Errorf("credential %s kept as an annotation", k)
				}
			}
			if j["product"] != orNil(tt.product) || j["product_version"] != orNil(tt.version) {
				t.Errorf("product %v %v, want %q %q", j["product"], j["product_version"], tt.product, tt.version)
			}
			atts, _ := j["attachments"].([]any)
			if len(atts) != tt.attached {
				t.Fatalf("attachments %v, want %d", atts, tt.attached)
			}
			for _, a := range atts {
				u := a.(map[string]any)["url"].(string)
				resp, body := e.do("GET", u, nil)
				if resp.StatusCode != 200 || len(body) == 0 || resp.Header.Get("Content-Type") != "application/octet-stream" {
					t.Errorf("attachment %s: %d %q %s", u, resp.StatusCode, body, resp.Header.Get("Content-Type"))
				}
			}
			if tt.product != "" {
				_, b := e.do("GET", "/api/dumps?product="+url.QueryEscape(tt.product), nil)
				if !bytes.Contains(b, []byte(`"id":"`+id+`"`)) {
					t.Errorf("?product=%s does not list %s", tt.product, id)
				}
				_, page := e.do("GET", "/dumps?product="+url.QueryEscape(tt.product), nil)
				if !bytes.Contains(page, []byte(id)) {
					t.Errorf("/dumps?product=%s does not list %s", tt.product, id)
				}
			}
			if tt.version != "" {
				_, b := e.do("GET", "/api/dumps?version="+url.QueryEscape(tt.version), nil)
				if !bytes.Contains(b, []byte(`"id":"`+id+`"`)) {
					t.Errorf("?version=%s does not list %s", tt.version, id)
				}
			}
			for k, v := range tt.want {
				if len(v) > 100 {
					continue
				}
				_, b := e.do("GET", "/api/dumps?annotation="+url.QueryEscape(k+":"+v), nil)
				if !bytes.Contains(b, []byte(`"id":"`+id+`"`)) {
					t.Errorf("?annotation=%s:%s does not list %s", k, v, id)
				}
				_, b = e.do("GET", "/api/dumps?annotation="+url.QueryEscape(k+":"+v+"-other"), nil)
				if bytes.Contains(b, []byte(`"id":"`+id+`"`)) {
					t.Errorf("?annotation=%s:%s-other lists %s", k, v, id)
				}
			}
			_, page := e.do("GET", "/dumps/"+id, nil)
			if len(tt.want) > 0 && !bytes.Contains(page, []byte(`data-testid="annotations"`)) {
				t.Errorf("report page shows no annotations")
			}
		})
	}
	resp, _ := e.do("GET", "/api/dumps?annotation=nocolon", nil)
	if resp.StatusCode != 400 {
		t.Errorf("annotation filter without a colon: %d", resp.StatusCode)
	}
}

func orNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// The dump part is streamed to the store: an upload past the limit is
// refused with 413 without being held.
func TestReporterUploadLimit(t *testing.T) {
	e := newReporterEnv(t)
	goodToken := e.creds["member-upload"].token
	r := rt.Crashpad(map[string]string{"prod": "P"}, fakeDump(11, 9<<20), nil, true)
	resp, b := e.do("POST", "/api/minidump?token="+goodToken, bytes.NewReader(r.Body), "Content-Type", r.Header.Get("Content-Type"),
		"Content-Encoding", "gzip")
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	// A gzip bomb: small on the wire, past the limit once inflated.
	bomb := append([]byte("MDMP\x93\xa7\x00\x00"), make([]byte, 9<<20)...)
	r = rt.Crashpad(map[string]string{"prod": "P"}, bomb, nil, true)
	if len(r.Body) > 1<<20 {
		t.Fatalf("bomb is %d bytes compressed", len(r.Body))
	}
	resp, b = e.do("POST", "/api/minidump?token="+goodToken, bytes.NewReader(r.Body), "Authorization", "",
		"Content-Type", r.Header.Get("Content-Type"), "Content-Encoding", "gzip")
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), "8MB limit") {
		t.Fatalf("gzip bomb: %d %s", resp.StatusCode, b)
	}
}

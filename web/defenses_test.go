package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dumptriage/dumptriage/analyzer/report"
	"github.com/dumptriage/dumptriage/store"
)

func TestCSRF(t *testing.T) {
	e := newAuthEnv(t, Config{})
	id := e.dump("member")
	sess := e.creds["member-session"]
	noToken := cred{name: sess.name, session: sess.session} // the cookie alone, as a cross-site form sends it
	for _, tc := range []struct {
		name   string
		c      cred
		header []string
		want   int
	}{
		{"session with the CSRF header", sess, nil, http.StatusCreated},
		{"session without a CSRF token", noToken, nil, http.StatusForbidden},
		{"session with a wrong CSRF token", noToken, []string{"X-CSRF-Token", "guess"}, http.StatusForbidden},
		{"another session's CSRF token", noToken, []string{"X-CSRF-Token", e.creds["admin-session"].csrf}, http.StatusForbidden},
		{"cross-site fetch metadata", sess, []string{"Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
		{"foreign Origin", sess, []string{"Origin", "https://evil.example"}, http.StatusForbidden},
		{"same Origin", sess, []string{"Origin", "http://localhost", "Sec-Fetch-Site", "same-origin"}, http.StatusCreated},
		{"bearer token needs no CSRF token", e.creds["member"], []string{"Origin", "https://evil.example"}, http.StatusCreated},
	} {
		w := e.do("POST", "/api/dumps/"+id+"/shares", nil, tc.c, tc.header...)
		if w.Code != tc.want {
			t.Errorf("%s: %d, want %d (%s)", tc.name, w.Code, tc.want, w.Body)
		}
	}
	// A url-encoded form carries the token as a field.
	v := url.Values{"csrf": {sess.csrf}, "expires_in": {"1h"}}
	w := e.do("POST", "/dumps/"+id+"/shares", strings.NewReader(v.Encode()), noToken,
		"Content-Type", "application/x-www-form-urlencoded")
	if w.Code != http.StatusCreated {
		t.Errorf("form with its csrf field: %d", w.Code)
	}
	// A cross-site login form is refused too (login CSRF).
	v = url.Values{"name": {"viewer"}, "password": {testPassword}}
	w = e.do("POST", "/login", strings.NewReader(v.Encode()), cred{}, "Content-Type", "application/x-www-form-urlencoded",
		"Origin", "https://evil.example")
	if w.Code != http.StatusForbidden {
		t.Errorf("cross-site login: %d", w.Code)
	}
}

func TestHostCheck(t *testing.T) {
	e := newAuthEnv(t, Config{PublicURL: "https://dumps.example.com", ListenAddr: "10.1.2.3:8080"})
	for host, ok := range map[string]bool{
		"localhost:8080": true, "LOCALHOST": true, "127.0.0.1:8080": true, "[::1]:8080": true, "10.1.2.3:8080": true,
		"192.168.1.7": true, "dumps.example.com": true, "dumps.example.com.:443": true,
		"attacker.example": false, "attacker.example:8080": false, "localhost.attacker.example": false, "": false,
	} {
		r := httptest.NewRequest("GET", "/login", nil)
		r.Host = host
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		if got := w.Code == http.StatusOK; got != ok {
			t.Errorf("Host %q: %d, want allowed=%v", host, w.Code, ok)
		}
		if !ok && (w.Code < 400 || w.Code >= 500) {
			t.Errorf("Host %q: %d, want a 4xx", host, w.Code)
		}
	}
}

func TestHeadersAndHEAD(t *testing.T) {
	e := newAuthEnv(t, Config{PublicURL: "https://dumps.example.com"})
	for _, path := range []string{"/healthz", "/login", "/static/app.js", "/nope"} {
		for _, m := range []string{"GET", "HEAD"} {
			w := e.do(m, path, nil, cred{})
			h := w.Header()
			csp := h.Get("Content-Security-Policy")
			if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline'; img") && strings.Contains(csp, "script-src 'self' 'unsafe-inline'") ||
				!strings.Contains(csp, "frame-ancestors 'none'") {
				t.Errorf("%s %s: CSP %q", m, path, csp)
			}
			for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
				"Strict-Transport-Security": "max-age=31536000"} {
				if h.Get(k) != v {
					t.Errorf("%s %s: %s = %q", m, path, k, h.Get(k))
				}
			}
			if m == "HEAD" && path != "/nope" && w.Code != http.StatusOK {
				t.Errorf("HEAD %s: %d", path, w.Code)
			}
		}
	}
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	resp, err := http.Head(srv.URL + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("HEAD /healthz over HTTP: %v %v", resp, err)
	}
	if h := newAuthEnv(t, Config{PublicURL: "http://localhost:8080"}).do("GET", "/login", nil, cred{}).Header(); h.Get("Strict-Transport-Security") != "" {
		t.Error("HSTS over plain http")
	}
	// The templates have no inline script or handler (the CSP would block them).
	w := e.do("GET", "/dumps/"+e.dump("admin"), nil, e.creds["admin-session"])
	body := w.Body.String()
	for _, bad := range []string{"<script>", " onclick=", " onload=", " onerror=", " onsubmit=", "javascript:"} {
		if strings.Contains(body, bad) {
			t.Errorf("report page has %q", bad)
		}
	}
}

func TestTokensRevokedAndExpired(t *testing.T) {
	e := newAuthEnv(t, Config{})
	ctx := context.Background()
	raw, tok, _ := e.st.CreateToken(ctx, "member", "", store.ScopeAll, 0)
	short, _, _ := e.st.CreateToken(ctx, "member", "", store.ScopeAll, time.Millisecond)
	ok := cred{token: raw}
	if w := e.do("GET", "/api/dumps", nil, ok); w.Code != http.StatusOK {
		t.Fatalf("fresh token: %d", w.Code)
	}
	time.Sleep(5 * time.Millisecond)
	if w := e.do("GET", "/api/dumps", nil, cred{token: short}); w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "expired") {
		t.Errorf("expired token: %d %s", w.Code, w.Body)
	}
	if _, err := e.st.RevokeToken(ctx, tok.ID, ""); err != nil {
		t.Fatal(err)
	}
	for _, c := range []cred{ok, {token: "dtt_forged"}, {token: "x"}} {
		if w := e.do("GET", "/api/dumps", nil, c); w.Code != http.StatusUnauthorized {
			t.Errorf("token %.12q: %d, want 401", c.token, w.Code)
		}
		// A bad token is refused on public pages too, rather than served as anonymous.
		if w := e.do("GET", "/dumps", nil, c); w.Code != http.StatusUnauthorized {
			t.Errorf("token %.12q on a page: %d, want 401", c.token, w.Code)
		}
	}
	// A removed user's tokens and sessions end with the account.
	sess := e.creds["viewer-session"]
	e.st.RemoveUser(ctx, "viewer")
	if w := e.do("GET", "/api/dumps", nil, e.creds["viewer"]); w.Code != http.StatusUnauthorized {
		t.Errorf("removed user's token: %d", w.Code)
	}
	if w := e.do("GET", "/dumps", nil, sess); w.Code != http.StatusSeeOther {
		t.Errorf("removed user's session: %d, want a redirect to login", w.Code)
	}
}

func TestShares(t *testing.T) {
	e := newAuthEnv(t, Config{PublicURL: "https://dumps.example.com/"})
	ctx := context.Background()
	id := e.dump("member")
	// A report naming server paths: the shared page shows base names only.
	rep := &report.Report{Status: "OK", Modules: []report.Module{{Filename: "app.exe",
		Symbols: &report.FileStatus{Found: true, Kind: "pdb", Source: "/srv/secret-symbols/app.pdb/ABC1/app.pdb"},
		Image:   &report.FileStatus{Why: "/srv/secret-symbols/app.exe: no such file; cache /var/cache/dt/x"}}}}
	j, err := e.st.Queue.Claim(ctx, "t", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	a, err := store.NewAnalysis(rep, time.Now(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.Queue.Finish(ctx, j, a, ""); err != nil {
		t.Fatal(err)
	}

	w := e.do("POST", "/api/dumps/"+id+"/shares", strings.NewReader(`{"expires_in":"72h","allow_download":false}`), e.creds["member"])
	var sh shareJSON
	json.Unmarshal(w.Body.Bytes(), &sh)
	if w.Code != http.StatusCreated || sh.ID == "" || sh.ExpiresAt == nil || sh.AllowDownload ||
		!strings.HasPrefix(sh.URL, "https://dumps.example.com/s/dts_") || len(sh.URL) < len("https://dumps.example.com/s/dts_")+43 {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	if d := time.Until(*sh.ExpiresAt); d < 71*time.Hour || d > 73*time.Hour {
		t.Errorf("expires in %v, want 72h", d)
	}
	path := strings.TrimPrefix(sh.URL, "https://dumps.example.com")
	page := e.do("GET", path, nil, cred{})
	body := page.Body.String()
	if page.Code != http.StatusOK || !strings.Contains(body, "app.exe") {
		t.Fatalf("share page: %d", page.Code)
	}
	for _, leak := range []string{"/srv/", "secret-symbols", "/var/cache", "/api/dumps/", "delete-dump", "share-form", "csrf"} {
		if strings.Contains(body, leak) {
			t.Errorf("the shared page shows %q", leak)
		}
	}
	if !strings.Contains(body, "…/app.pdb") {
		t.Error("the symbol file's base name is gone too")
	}
	if w := e.do("GET", path+"/file", nil, cred{}); w.Code != http.StatusForbidden {
		t.Errorf("download through a share without allow_download: %d", w.Code)
	}
	w = e.do("POST", "/api/dumps/"+id+"/shares", nil, e.creds["admin"])
	var dl shareJSON
	json.Unmarshal(w.Body.Bytes(), &dl)
	if w.Code != http.StatusCreated || dl.ExpiresAt == nil {
		t.Fatalf("create without a body: %d %s", w.Code, w.Body)
	}
	w = e.do("POST", "/api/dumps/"+id+"/shares", strings.NewReader(`{"allow_download":true,"expires_in":"30d"}`), e.creds["admin"])
	json.Unmarshal(w.Body.Bytes(), &dl)
	dlPath := strings.TrimPrefix(dl.URL, "https://dumps.example.com")
	if w := e.do("GET", dlPath+"/file", nil, cred{}); w.Code != http.StatusOK || !bytes.HasPrefix(w.Body.Bytes(), []byte("MDMP")) {
		t.Errorf("download through a share with allow_download: %d", w.Code)
	}
	for _, bad := range []string{`{"expires_in":"soon"}`, `[`, `{"expires_in":"-1h"}`} {
		if w := e.do("POST", "/api/dumps/"+id+"/shares", strings.NewReader(bad), e.creds["admin"]); w.Code != http.StatusBadRequest {
			t.Errorf("body %s: %d", bad, w.Code)
		}
	}
	if w := e.do("POST", "/api/dumps/nosuchdump/shares", nil, e.creds["admin"]); w.Code != http.StatusNotFound {
		t.Errorf("share of a missing dump: %d", w.Code)
	}
	w = e.do("GET", "/api/dumps/"+id+"/shares", nil, e.creds["viewer"])
	if w.Code != http.StatusOK || strings.Count(w.Body.String(), `"id"`) != 3 || strings.Contains(w.Body.String(), "dts_") {
		t.Errorf("list: %d %s", w.Code, w.Body)
	}
	// Revoked: 404; expired: 410; a guess: 404.
	if w := e.do("DELETE", "/api/dumps/"+id+"/shares/"+sh.ID, nil, e.creds["member"]); w.Code != http.StatusNoContent {
		t.Errorf("revoke: %d", w.Code)
	}
	if w := e.do("GET", path, nil, cred{}); w.Code != http.StatusNotFound {
		t.Errorf("revoked share: %d", w.Code)
	}
	if w := e.do("DELETE", "/api/dumps/"+id+"/shares/nosuchshare", nil, e.creds["member"]); w.Code != http.StatusNotFound {
		t.Errorf("revoking an unknown share: %d", w.Code)
	}
	expRaw, _, _ := e.st.CreateShare(ctx, id, "admin", time.Millisecond, true)
	time.Sleep(5 * time.Millisecond)
	for _, p := range []string{"/s/" + expRaw, "/s/" + expRaw + "/file"} {
		if w := e.do("GET", p, nil, cred{}); w.Code != http.StatusGone {
			t.Errorf("expired share %s: %d", p[:10], w.Code)
		}
	}
	if w := e.do("GET", "/s/dts_"+strings.Repeat("A", 43), nil, cred{}); w.Code != http.StatusNotFound {
		t.Errorf("guessed share: %d", w.Code)
	}
	// Deleting the dump ends its links.
	if w := e.do("DELETE", "/api/dumps/"+id, nil, e.creds["admin"]); w.Code != http.StatusNoContent {
		t.Fatalf("delete: %d", w.Code)
	}
	if w := e.do("GET", dlPath, nil, cred{}); w.Code != http.StatusNotFound {
		t.Errorf("share of a deleted dump: %d", w.Code)
	}
}

func TestLoginFlow(t *testing.T) {
	e := newAuthEnv(t, Config{})
	login := func(name, pw, next string, ip string) *httptest.ResponseRecorder {
		v := url.Values{"name": {name}, "password": {pw}, "next": {next}}
		r := httptest.NewRequest("POST", "http://localhost/login", strings.NewReader(v.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.RemoteAddr = ip + ":1000"
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		return w
	}
	w := login("member", testPassword, "/dumps?status=done", "10.0.0.1")
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/dumps?status=done" {
		t.Fatalf("login: %d %s", w.Code, w.Header().Get("Location"))
	}
	c := w.Result().Cookies()
	if len(c) != 1 || !c[0].HttpOnly || c[0].SameSite != http.SameSiteLaxMode || c[0].Secure {
		t.Fatalf("cookie %+v", c)
	}
	for _, next := range []string{"https://evil.example/", "//evil.example", "/\\evil.example", "javascript:alert(1)"} {
		if w := login("member", testPassword, next, "10.0.0.1"); w.Header().Get("Location") != "/dumps" {
			t.Errorf("next %q: went to %q", next, w.Header().Get("Location"))
		}
	}
	// Five wrong passwords lock the account for the window, even with the right one.
	for i := 0; i < loginPerUser; i++ {
		if w := login("viewer", "wrong-password", "", fmt.Sprintf("10.0.1.%d", i)); w.Code != http.StatusUnauthorized {
			t.Fatalf("wrong password: %d", w.Code)
		}
	}
	if w := login("viewer", testPassword, "", "10.0.2.1"); w.Code != http.StatusTooManyRequests {
		t.Errorf("after %d failures: %d, want 429", loginPerUser, w.Code)
	}
	// And one address trying many accounts is stopped too.
	for i := 0; i < loginPerIP; i++ {
		login(fmt.Sprintf("nobody%d", i), "wrong-password", "", "10.0.3.1")
	}
	if w := login("admin", testPassword, "", "10.0.3.1"); w.Code != http.StatusTooManyRequests {
		t.Errorf("after %d failures from one address: %d, want 429", loginPerIP, w.Code)
	}
	if w := login("admin", testPassword, "", "10.0.3.2"); w.Code != http.StatusSeeOther {
		t.Errorf("another address: %d", w.Code)
	}
	log, _ := e.st.ListAudit(context.Background(), 0, 1000)
	var ok, failed int
	for _, a := range log {
		switch a.Action {
		case store.AuditLoginOK:
			ok++
		case store.AuditLoginFailed:
			failed++
		}
	}
	if ok < 2 || failed < loginPerUser+loginPerIP {
		t.Errorf("audit: %d logins, %d failures", ok, failed)
	}
}

func TestSetup(t *testing.T) {
	st, err := store.Open(context.Background(), t.TempDir(), store.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h := New(st, Config{SetupToken: "one-time"}).Routes()
	do := func(method, path, ip string, form url.Values) *httptest.ResponseRecorder {
		var body *strings.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		} else {
			body = strings.NewReader("")
		}
		r := httptest.NewRequest(method, "http://localhost"+path, body)
		r.RemoteAddr = ip + ":1"
		if form != nil {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	// Before any admin, nothing is served to anyone, the login page points to setup.
	if w := do("GET", "/api/dumps", "192.0.2.1", nil); w.Code != http.StatusUnauthorized {
		t.Errorf("API before setup: %d", w.Code)
	}
	if w := do("GET", "/login", "192.0.2.1", nil); !strings.Contains(w.Body.String(), "setup-hint") {
		t.Error("login page without the setup hint")
	}
	if w := do("GET", "/setup", "192.0.2.1", nil); w.Code != http.StatusForbidden {
		t.Errorf("setup from afar without the token: %d", w.Code)
	}
	if w := do("GET", "/setup?token=wrong", "192.0.2.1", nil); w.Code != http.StatusForbidden {
		t.Errorf("setup with a wrong token: %d", w.Code)
	}
	if w := do("GET", "/setup?token=one-time", "192.0.2.1", nil); w.Code != http.StatusOK {
		t.Errorf("setup with the token: %d", w.Code)
	}
	if w := do("GET", "/setup", "127.0.0.1", nil); w.Code != http.StatusOK {
		t.Errorf("setup from loopback: %d", w.Code)
	}
	if w := do("POST", "/setup", "192.0.2.1", url.Values{"name": {"root"}, "password": {testPassword}}); w.Code != http.StatusForbidden {
		t.Errorf("setup POST from afar without the token: %d", w.Code)
	}
	w := do("POST", "/setup", "192.0.2.1", url.Values{"name": {"root"}, "password": {testPassword}, "token": {"one-time"}})
	if w.Code != http.StatusSeeOther || len(w.Result().Cookies()) != 1 {
		t.Fatalf("setup: %d %s", w.Code, w.Body)
	}
	if u, err := st.User(context.Background(), "root"); err != nil || u.Role != store.RoleAdmin {
		t.Errorf("first user %+v %v", u, err)
	}
	// Once done, it is closed, even from loopback and with the token.
	if w := do("POST", "/setup", "127.0.0.1", url.Values{"name": {"second"}, "password": {testPassword}, "token": {"one-time"}}); w.Code != http.StatusForbidden {
		t.Errorf("second setup: %d", w.Code)
	}
}

func TestUploadLimits(t *testing.T) {
	e := newAuthEnv(t, Config{UploadsPerMinute: 3, UploadBytesPerDay: 10000})
	up := func(c cred, size int) int {
		return e.do("POST", "/api/dumps", bytes.NewReader(fakeDump(uint64(e.seq.Add(1)), size)), c,
			"Content-Type", "application/octet-stream").Code
	}
	for i := 0; i < 3; i++ {
		if code := up(e.creds["member-upload"], 1000); code != http.StatusCreated {
			t.Fatalf("upload %d: %d", i, code)
		}
	}
	if code := up(e.creds["member-upload"], 1000); code != http.StatusTooManyRequests {
		t.Errorf("fourth upload in a minute: %d, want 429", code)
	}
	if code := up(e.creds["admin"], 1000); code != http.StatusCreated {
		t.Errorf("another user: %d", code)
	}
	// The quota counts bytes per user per day.
	if code := up(e.creds["admin"], 9500); code != http.StatusTooManyRequests {
		t.Errorf("past the daily quota: %d, want 429", code)
	}
}

func TestDiskFull(t *testing.T) {
	for _, err := range []error{
		fmt.Errorf("write tmp/upload-1.part: %w", syscall.ENOSPC),
		fmt.Errorf("store: %w: 10 MB left on the data disk", store.ErrNoSpace),
		errors.New("add dump: database or disk is full (13)"),
	} {
		code, msg := httpStatus(err)
		if code != http.StatusInsufficientStorage || !strings.Contains(msg, "out of disk space") {
			t.Errorf("%v: %d %q", err, code, msg)
		}
	}
	// Through the server: the store refuses to start a file when the disk is below its reserve.
	e := newAuthEnv(t, Config{})
	e.st.Blobs.(*store.Dir).MinFree = 1 << 62
	w := e.do("POST", "/api/dumps", bytes.NewReader(fakeDump(1, 4000)), e.creds["admin"], "Content-Type", "application/octet-stream")
	if w.Code != http.StatusInsufficientStorage || !strings.Contains(w.Body.String(), "disk space") {
		t.Errorf("upload on a full disk: %d %s", w.Code, w.Body)
	}
}

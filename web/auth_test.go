package web

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	reporter "github.com/dumptriage/dumptriage/internal/reportertest"
	"github.com/dumptriage/dumptriage/store"
	"github.com/dumptriage/dumptriage/web/components"
)

// authEnv is a server with seeded users and no workers.
type authEnv struct {
	t     *testing.T
	st    *store.Store
	srv   *Server
	h     http.Handler
	creds testCreds
	seq   atomic.Int64
}

func newAuthEnv(t *testing.T, cfg Config) *authEnv {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(context.Background(), dir, store.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if cfg.Symbols == nil {
		sym, err := store.OpenSymbols(st, dir, store.SymbolConfig{})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Symbols = sym
	}
	creds := seedUsers(t, st)
	cfg.AnalyzerVersion = "test"
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://dumps.example.com"
	}
	s := New(st, cfg)
	return &authEnv{t: t, st: st, srv: s, h: s.Routes(), creds: creds}
}

// dump stores a new dump uploaded by name.
func (e *authEnv) dump(by string) string {
	e.t.Helper()
	res, err := e.st.Ingest(context.Background(), bytes.NewReader(fakeDump(uint64(e.seq.Add(1)), 4000)),
		store.Upload{FileName: "x.dmp", UploadedBy: by})
	if err != nil {
		e.t.Fatal(err)
	}
	return res.Dump.ID
}

// fresh returns c with a new session for session credentials, so that
// logging out or changing a password in one case does not end the next.
func (e *authEnv) fresh(c cred) cred {
	if c.session == "" {
		return c
	}
	u, err := e.st.User(context.Background(), c.name)
	if err != nil {
		e.t.Fatal(err)
	}
	raw, s, err := e.st.CreateSession(context.Background(), u.ID, "127.0.0.1", time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	return cred{name: c.name, session: raw, csrf: s.CSRF}
}

// do sends a request as c from a loopback address with Host localhost.
func (e *authEnv) do(method, path string, body io.Reader, c cred, header ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, "http://localhost"+path, body)
	r.RemoteAddr = "127.0.0.1:5000"
	h := append(c.headers(), header...)
	for i := 0; i+1 < len(h); i += 2 {
		r.Header.Set(h[i], h[i+1])
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return w
}

var (
	credKeys = []string{"anon", "admin", "admin-upload", "admin-read", "admin-session", "member", "member-upload",
		"member-read", "member-session", "viewer", "viewer-upload", "viewer-read", "viewer-session"}
	// Who passes each rule, written out rather than derived from perm.allows.
	allowEveryone = credKeys
	allowReaders  = []string{"admin", "admin-read", "admin-session", "member", "member-read", "member-session",
		"viewer", "viewer-read", "viewer-session"}
	allowUploaders = []string{"admin", "admin-upload", "admin-session", "member", "member-upload", "member-session"}
	allowWriters   = []string{"admin", "admin-session", "member", "member-session"}
	allowAdmins    = []string{"admin", "admin-session"}
	allowSessions  = []string{"admin-session", "member-session", "viewer-session"}
	allowNobody    = []string{}
)

// routeCase is how the matrix exercises one route: who may pass, and the
// request to send as a given credential.
type routeCase struct {
	allow []string
	req   func(e *authEnv, key string, c cred) (path string, body io.Reader, header []string)
}

func plain(path string) func(*authEnv, string, cred) (string, io.Reader, []string) {
	return func(*authEnv, string, cred) (string, io.Reader, []string) { return path, nil, nil }
}

func form(path string, kv ...string) func(*authEnv, string, cred) (string, io.Reader, []string) {
	return func(*authEnv, string, cred) (string, io.Reader, []string) {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return path, strings.NewReader(v.Encode()), []string{"Content-Type", "application/x-www-form-urlencoded"}
	}
}

// TestPermissionMatrix sends every route of the router (chi.Walk) as
// anonymous, each role's session and each token scope, and a share link;
// a route without a case here fails the test, so a new route cannot
// ship unchecked.
func TestPermissionMatrix(t *testing.T) {
	e := newAuthEnv(t, Config{})
	ctx := context.Background()
	shared := e.dump("member")
	shareRaw, _, err := e.st.CreateShare(ctx, shared, "member", time.Hour, true)
	if err != nil {
		t.Fatal(err)
	}
	ownDump := func(e *authEnv, key string, c cred) string {
		return e.dump(c.name) // members may delete only their own uploads
	}
	newShare := func(e *authEnv) (string, string) {
		_, sh, err := e.st.CreateShare(ctx, shared, "admin", time.Hour, false)
		if err != nil {
			t.Fatal(err)
		}
		return shared, sh.ID
	}
	dumpBody := func(path string) func(*authEnv, string, cred) (string, io.Reader, []string) {
		return func(e *authEnv, _ string, _ cred) (string, io.Reader, []string) {
			return path, bytes.NewReader(fakeDump(uint64(1e6+e.seq.Add(1)), 4000)),
				[]string{"Content-Type", "application/octet-stream"}
		}
	}
	crashpad := func(path string) func(*authEnv, string, cred) (string, io.Reader, []string) {
		return func(e *authEnv, _ string, _ cred) (string, io.Reader, []string) {
			r := reporter.Crashpad(map[string]string{"prod": "P"}, fakeDump(uint64(3e6+e.seq.Add(1)), 4000), nil, true)
			return path, bytes.NewReader(r.Body), []string{"Content-Type", r.Header.Get("Content-Type"), "Content-Encoding", "gzip"}
		}
	}
	// The key in the path is no token here: the credential under test is
	// sent as for every route.
	unreal := func(path string) func(*authEnv, string, cred) (string, io.Reader, []string) {
		return func(e *authEnv, _ string, _ cred) (string, io.Reader, []string) {
			r := reporter.Unreal(reporter.UnrealContainer("UE4CC-X", []reporter.UnrealFile{
				{Name: "UE4Minidump.dmp", Data: fakeDump(uint64(5e6+e.seq.Add(1)), 4000)}}))
			return path + "?" + reporter.UnrealQuery, bytes.NewReader(r.Body), []string{"Content-Type", "application/octet-stream"}
		}
	}
	withLog, err := e.st.Ingest(ctx, bytes.NewReader(fakeDump(4e6, 4000)), store.Upload{UploadedBy: "member",
		Attachments: []store.Attachment{{Field: "log", FileName: "log.txt", Size: 2, Data: []byte("hi")}}})
	if err != nil {
		t.Fatal(err)
	}
	atts, err := e.st.Attachments(ctx, withLog.Dump.ID)
	if err != nil || len(atts) != 1 {
		t.Fatal(atts, err)
	}
	newHook := func(e *authEnv) int64 {
		h, _ := store.NewWebhook("http://127.0.0.1:1/x", "json", "new", 0, "t")
		h, err := e.st.AddWebhook(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		return h.ID
	}
	const sharedSig = "x" // unknown: 404 for those allowed
	const hostileSig = "a/b <c> %2F::d?e#f"
	cases := map[string]routeCase{
		"POST /api/dumps":                   {allowUploaders, dumpBody("/api/dumps")},
		"POST /api/minidump":                {allowUploaders, crashpad("/api/minidump")},
		"POST /api/{project}/minidump":      {allowUploaders, crashpad("/api/1/minidump")},
		"POST /api/{project}/minidump/":     {allowUploaders, crashpad("/api/1/minidump/")},
		"POST /api/{project}/unreal/{key}":  {allowUploaders, unreal("/api/1/unreal/x")},
		"POST /api/{project}/unreal/{key}/": {allowUploaders, unreal("/api/1/unreal/x/")},
		"POST /api/unreal/{key}":            {allowUploaders, unreal("/api/unreal/x")},
		"POST /api/unreal/{key}/":           {allowUploaders, unreal("/api/unreal/x/")},
		"GET /api/signatures":               {allowReaders, plain("/api/signatures")},
		"GET /api/signature":                {allowReaders, plain("/api/signature?sig=x")},
		"GET /api/modules":                  {allowReaders, plain("/api/modules")},
		"GET /api/modules/{name}":           {allowReaders, plain("/api/modules/ntdll.dll")},
		"GET /api/trends":                   {allowReaders, plain("/api/trends")},
		"GET /api/openapi.json":             {allowEveryone, plain("/api/openapi.json")},
		"POST /api/signature/status": {allowWriters, func(*authEnv, string, cred) (string, io.Reader, []string) {
			return "/api/signature/status?sig=" + url.QueryEscape(sharedSig), strings.NewReader(`{"status":"investigating"}`),
				[]string{"Content-Type", "application/json"}
		}},
		"POST /signature/status": {allowWriters, form("/signature/status?sig="+url.QueryEscape(sharedSig), "status", "investigating")},
		// The group's own URLs, with a signature that needs escaping.
		"GET /api/signatures/{signature}":         {allowReaders, plain(components.SignaturePath("/api/signatures/", hostileSig))},
		"GET /api/signatures/{signature}/events":  {allowReaders, plain(components.SignaturePath("/api/signatures/", hostileSig) + "/events")},
		"GET /api/signatures/{signature}/compare": {allowReaders, plain(components.SignaturePath("/api/signatures/", hostileSig) + "/compare")},
		"POST /api/signatures/{signature}/status": {allowWriters, func(*authEnv, string, cred) (string, io.Reader, []string) {
			return components.SignaturePath("/api/signatures/", hostileSig) + "/status", strings.NewReader(`{"status":"investigating"}`),
				[]string{"Content-Type", "application/json"}
		}},
		"GET /signatures/{signature}":         {allowReaders, plain(string(components.SignatureURL(hostileSig)))},
		"GET /signatures/{signature}/compare": {allowReaders, plain(string(components.SignatureURL(hostileSig)) + "/compare")},
		"POST /signatures/{signature}/status": {allowWriters, form(string(components.SignatureURL(hostileSig))+"/status", "status", "investigating")},
		"GET /api/webhooks":                   {allowAdmins, plain("/api/webhooks")},
		"POST /api/webhooks": {allowAdmins, func(*authEnv, string, cred) (string, io.Reader, []string) {
			return "/api/webhooks", strings.NewReader(`{"url":"http://127.0.0.1:1/h","events":["new"]}`), []string{"Content-Type", "application/json"}
		}},
		"DELETE /api/webhooks/{id}": {allowAdmins, func(e *authEnv, _ string, _ cred) (string, io.Reader, []string) {
			return fmt.Sprintf("/api/webhooks/%d", newHook(e)), nil, nil
		}},
		"GET /admin/webhooks":  {allowAdmins, plain("/admin/webhooks")},
		"POST /admin/webhooks": {allowAdmins, form("/admin/webhooks", "url", "http://127.0.0.1:1/h", "events", "new")},
		"POST /admin/webhooks/{id}/remove": {allowAdmins, func(e *authEnv, _ string, _ cred) (string, io.Reader, []string) {
			return fmt.Sprintf("/admin/webhooks/%d/remove", newHook(e)), nil, nil
		}},
		"GET /api/dumps/{id}/attachments/{att}": {allowReaders,
			plain(fmt.Sprintf("/api/dumps/%s/attachments/%d", withLog.Dump.ID, atts[0].ID))},
		"GET /api/dumps":           {allowReaders, plain("/api/dumps")},
		"GET /api/dumps/{id}":      {allowReaders, plain("/api/dumps/" + shared)},
		"GET /api/dumps/{id}/file": {allowReaders, plain("/api/dumps/" + shared + "/file")},
		"DELETE /api/dumps/{id}": {allowWriters, func(e *authEnv, k string, c cred) (string, io.Reader, []string) {
			return "/api/dumps/" + ownDump(e, k, c), nil, nil
		}},
		"POST /api/dumps/{id}/reanalyze": {allowWriters, plain("/api/dumps/" + shared + "/reanalyze")},
		"POST /api/reanalyze":            {allowAdmins, plain("/api/reanalyze")},
		"POST /api/dumps/{id}/shares": {allowWriters, func(*authEnv, string, cred) (string, io.Reader, []string) {
			return "/api/dumps/" + shared + "/shares", strings.NewReader(`{"expires_in":"1h"}`), []string{"Content-Type", "application/json"}
		}},
		"GET /api/dumps/{id}/shares": {allowReaders, plain("/api/dumps/" + shared + "/shares")},
		"DELETE /api/dumps/{id}/shares/{share_id}": {allowWriters, func(e *authEnv, _ string, _ cred) (string, io.Reader, []string) {
			d, s := newShare(e)
			return "/api/dumps/" + d + "/shares/" + s, nil, nil
		}},
		"GET /static/*": {allowEveryone, plain("/static/app.css")},
		"GET /healthz":  {allowEveryone, plain("/healthz")},
		"GET /login":    {allowEveryone, plain("/login")},
		"POST /login":   {allowEveryone, form("/login", "name", "viewer", "password", testPassword)},
		"POST /logout":  {allowSessions, plain("/logout")},
		// Users exist: setup refuses everyone (its own 403, not a login).
		"GET /setup":                  {allowNobody, plain("/setup")},
		"POST /setup":                 {allowNobody, form("/setup", "name", "intruder", "password", testPassword)},
		"GET /s/{token}":              {allowEveryone, plain("/s/" + shareRaw)},
		"GET /s/{token}/file":         {allowEveryone, plain("/s/" + shareRaw + "/file")},
		"GET /":                       {allowReaders, plain("/")},
		"GET /dumps":                  {allowReaders, plain("/dumps")},
		"GET /dumps/{id}":             {allowReaders, plain("/dumps/" + shared)},
		"GET /dumps/{id}/status":      {allowReaders, plain("/dumps/" + shared + "/status")},
		"GET /dumps/{id}/report.json": {allowReaders, plain("/dumps/" + shared + "/report.json")},
		"POST /dumps/{id}/delete": {allowWriters, func(e *authEnv, k string, c cred) (string, io.Reader, []string) {
			return "/dumps/" + ownDump(e, k, c) + "/delete", nil, nil
		}},
		"POST /dumps/{id}/shares": {allowWriters, form("/dumps/"+shared+"/shares", "expires_in", "1h")},
		"POST /dumps/{id}/shares/{share_id}/revoke": {allowWriters, func(e *authEnv, _ string, _ cred) (string, io.Reader, []string) {
			d, s := newShare(e)
			return "/dumps/" + d + "/shares/" + s + "/revoke", nil, nil
		}},
		"GET /upload": {allowUploaders, plain("/upload")},
		"POST /upload": {allowUploaders, func(e *authEnv, _ string, _ cred) (string, io.Reader, []string) {
			b, ct := multipartBody("file", "x.dmp", fakeDump(uint64(2e6+e.seq.Add(1)), 4000))
			return "/upload", b, []string{"Content-Type", ct}
		}},
		"GET /signatures":        {allowReaders, plain("/signatures")},
		"GET /signature":         {allowReaders, plain("/signature?sig=x")},
		"GET /modules":           {allowReaders, plain("/modules")},
		"GET /modules/{name}":    {allowReaders, plain("/modules/ntdll.dll")},
		"GET /trends":            {allowReaders, plain("/trends")},
		"GET /account":           {allowSessions, plain("/account")},
		"POST /account/password": {allowSessions, form("/account/password", "current", testPassword, "password", testPassword)},
		"POST /account/tokens":   {allowSessions, form("/account/tokens", "scope", "read", "expires", "1d")},
		"POST /account/tokens/{token_id}/revoke": {allowSessions, func(e *authEnv, _ string, c cred) (string, io.Reader, []string) {
			_, tok, err := e.st.CreateToken(ctx, c.name, "", store.ScopeRead, 0)
			if err != nil && c.name != "" {
				t.Fatal(err)
			}
			return "/account/tokens/" + tok.ID + "/revoke", nil, nil
		}},
		"GET /admin/users": {allowAdmins, plain("/admin/users")},
		"POST /admin/users": {allowAdmins, func(e *authEnv, k string, c cred) (string, io.Reader, []string) {
			return form("/admin/users", "name", fmt.Sprintf("u%d", e.seq.Add(1)), "password", testPassword, "role", "viewer")(e, k, c)
		}},
		"POST /admin/users/{name}/role": {allowAdmins, form("/admin/users/viewer/role", "role", "viewer")},
		"POST /admin/users/{name}/remove": {allowAdmins, func(e *authEnv, _ string, _ cred) (string, io.Reader, []string) {
			name := fmt.Sprintf("gone%d", e.seq.Add(1))
			if _, err := e.st.AddUser(ctx, name, store.RoleViewer, testPassword); err != nil {
				t.Fatal(err)
			}
			return "/admin/users/" + name + "/remove", nil, nil
		}},
		"GET /admin/audit": {allowAdmins, plain("/admin/audit")},

		"POST /api/symbols": {allowUploaders, func(*authEnv, string, cred) (string, io.Reader, []string) {
			b, ct := multipartBody("file", "notes.txt", []byte("not a symbol file"))
			return "/api/symbols", b, []string{"Content-Type", ct}
		}},
		"GET /api/symbols":         {allowReaders, plain("/api/symbols")},
		"GET /api/symbols/servers": {allowReaders, plain("/api/symbols/servers")},
		"POST /api/symbols/servers": {allowAdmins, func(*authEnv, string, cred) (string, io.Reader, []string) {
			return "/api/symbols/servers", strings.NewReader(`{"action":"disable","id":"unity"}`), []string{"Content-Type", "application/json"}
		}},
		"GET /api/0/organizations/{org}/chunk-upload/": {allowUploaders, plain("/api/0/organizations/any/chunk-upload/")},
		"POST /api/0/organizations/{org}/chunk-upload/": {allowUploaders, func(*authEnv, string, cred) (string, io.Reader, []string) {
			b, ct := multipartBody("file", "d3486ae9136e7856bc42212385ea797094475802", []byte("hello world"))
			return "/api/0/organizations/any/chunk-upload/", b, []string{"Content-Type", ct}
		}},
		"POST /api/0/projects/{org}/{project}/files/difs/assemble/": {allowUploaders, func(*authEnv, string, cred) (string, io.Reader, []string) {
			return "/api/0/projects/any/any/files/difs/assemble/", strings.NewReader("{}"), []string{"Content-Type", "application/json"}
		}},
		"GET /symbols": {allowReaders, plain("/symbols")},
		"POST /symbols": {allowUploaders, func(*authEnv, string, cred) (string, io.Reader, []string) {
			b, ct := multipartBody("file", "notes.txt", []byte("not a symbol file"))
			return "/symbols", b, []string{"Content-Type", ct}
		}},
		"POST /settings/symbols": {allowAdmins, form("/settings/symbols", "action", "enable", "id", "unity")},
	}

	var routes []string
	err = chi.Walk(e.h.(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		routes = append(routes, method+" "+route)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(routes)
	if len(routes) < 40 {
		t.Fatalf("only %d routes walked", len(routes))
	}
	for _, rt := range routes {
		method, pattern, _ := strings.Cut(rt, " ")
		key := rt
		if method == http.MethodHead {
			key = "GET " + pattern
		}
		rc, ok := cases[key]
		if !ok {
			t.Errorf("route %s has no case in the permission matrix", rt)
			continue
		}
		if _, ok := e.srv.rules[rt]; !ok {
			t.Errorf("route %s has no permission rule", rt)
		}
		for _, k := range credKeys {
			c := e.fresh(e.creds[k])
			path, body, header := rc.req(e, k, c)
			w := e.do(method, path, body, c, header...)
			code, loc := w.Code, w.Header().Get("Location")
			toLogin := (code == http.StatusSeeOther || code == http.StatusFound) && strings.HasPrefix(loc, "/login?next=")
			switch {
			case key == "GET /setup" || key == "POST /setup":
				if code != http.StatusForbidden {
					t.Errorf("%s as %s: %d, want 403 once users exist", rt, k, code)
				}
			case slices.Contains(rc.allow, k):
				if code == http.StatusUnauthorized || code == http.StatusForbidden || toLogin || code >= 500 {
					t.Errorf("%s as %s: %d %s, want it allowed: %.200s", rt, k, code, loc, w.Body.String())
				}
			case k == "anon":
				if code != http.StatusUnauthorized && !toLogin {
					t.Errorf("%s anonymous: %d, want 401 or a redirect to /login", rt, code)
				}
				if strings.HasPrefix(pattern, "/api/") && (code != http.StatusUnauthorized ||
					!strings.HasPrefix(w.Header().Get("Content-Type"), "application/json")) {
					t.Errorf("%s anonymous: %d %s, want 401 JSON", rt, code, w.Header().Get("Content-Type"))
				}
			default:
				if code != http.StatusForbidden {
					t.Errorf("%s as %s: %d, want 403", rt, k, code)
				}
			}
		}
	}
	for key := range cases {
		m, p, _ := strings.Cut(key, " ")
		if !slices.Contains(routes, key) {
			t.Errorf("matrix case %s %s matches no route", m, p)
		}
	}
}

// TestMemberDeletesOnlyOwnUploads: members delete their uploads, not others'.
func TestMemberDeletesOnlyOwnUploads(t *testing.T) {
	e := newAuthEnv(t, Config{})
	theirs, own := e.dump("admin"), e.dump("member")
	if w := e.do("DELETE", "/api/dumps/"+theirs, nil, e.creds["member"]); w.Code != http.StatusForbidden {
		t.Errorf("member deleting the admin's upload: %d", w.Code)
	}
	if w := e.do("DELETE", "/api/dumps/"+own, nil, e.creds["member"]); w.Code != http.StatusNoContent {
		t.Errorf("member deleting their upload: %d %s", w.Code, w.Body)
	}
	if w := e.do("GET", "/api/dumps/"+own, nil, e.creds["member"]); w.Code != http.StatusNotFound {
		t.Errorf("deleted dump: %d", w.Code)
	}
	if w := e.do("DELETE", "/api/dumps/"+theirs, nil, e.creds["admin"]); w.Code != http.StatusNoContent {
		t.Errorf("admin deleting: %d", w.Code)
	}
	log, _ := e.st.ListAudit(context.Background(), 0, 100)
	n := 0
	for _, a := range log {
		if a.Action == store.AuditDelete {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d delete entries in the audit log, want 2", n)
	}
}

package symstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestServerConventions: file.ptr redirects (to a URL only), compressed
// answers, answers that are not the file asked for, and the image bound.
// Each row asks a fresh store for one key.
func TestServerConventions(t *testing.T) {
	var srvURL string
	files := map[string]string{
		"/a.pdb/AB1/file.ptr":         "PATH:{srv}/elsewhere/a.pdb",
		"/elsewhere/a.pdb":            "the pdb",
		"/b.pdb/AB1/file.ptr":         `PATH:\\fileserver\share\b.pdb`,
		"/c.pdb/AB1/file.ptr":         "PATH:/etc/passwd",
		"/d.pdb/AB1/file.ptr":         "MSG: withdrawn by the vendor",
		"/e.pdb/AB1/e.pdb":            "MSCF\x00\x00\x00\x00cabinet",
		"/f.pdb/AB1/f.pdb":            "<html>Sign in</html>",
		"/g.pdb/AB1/file.ptr":         "garbage",
		"/big.dll/0000000010/big.dll": strings.Repeat("x", 2*0x10+imageSlack+1),
	}
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		body, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, strings.ReplaceAll(body, "{srv}", srvURL))
	}))
	defer srv.Close()
	srvURL = srv.URL
	verify := func(path string, want Key) error {
		b, _ := os.ReadFile(path)
		if strings.HasPrefix(string(b), "<html>") {
			return errors.New("not a PDB")
		}
		return nil
	}
	tests := []struct {
		key      Key
		found    string // the file's content, or "" when it must not be found
		reason   string // in Tried when not found
		refusals bool   // the error wraps ErrRefused
	}{
		{key: PDBKey("a.pdb", "AB1"), found: "the pdb"},
		{key: PDBKey("b.pdb", "AB1"), reason: `file.ptr names "\\\\fileserver`, refusals: true},
		{key: PDBKey("c.pdb", "AB1"), reason: "not an http(s) URL", refusals: true},
		{key: PDBKey("d.pdb", "AB1"), reason: "withdrawn by the vendor"},
		{key: PDBKey("e.pdb", "AB1"), reason: "CAB-compressed"},
		{key: PDBKey("f.pdb", "AB1"), reason: "not the file asked for (not a PDB)"},
		{key: PDBKey("g.pdb", "AB1"), reason: "neither PATH: nor MSG:"},
		{key: ImageKey("big.dll", 0, 0x10), reason: "limit"},
	}
	for _, tt := range tests {
		cache := t.TempDir()
		s := &Store{Path: Path{{Kind: KindServer, CacheDir: cache, URL: srv.URL}}, VerifyDownload: verify}
		res, err := s.Find(context.Background(), tt.key)
		if tt.found != "" {
			b, _ := os.ReadFile(res.Path)
			if err != nil || string(b) != tt.found || !strings.HasPrefix(res.Path, cache) {
				t.Errorf("%s: %+v, %v", tt.key, res, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: found %s", tt.key, res.Path)
			continue
		}
		if tried := fmt.Sprint(res.Tried); !strings.Contains(tried, tt.reason) {
			t.Errorf("%s: tried %s; want %q", tt.key, tried, tt.reason)
		}
		if tt.refusals != errors.Is(err, ErrRefused) && !strings.Contains(fmt.Sprint(res.Tried), ErrRefused.Error()) {
			t.Errorf("%s: %v, refused %v", tt.key, err, tt.refusals)
		}
		// Nothing but directories left in the cache.
		filepath.Walk(cache, func(p string, fi os.FileInfo, err error) error {
			if err == nil && !fi.IsDir() {
				t.Errorf("%s: left %s in the cache", tt.key, p)
			}
			return nil
		})
		// A rejected answer is not fetched again.
		before := hits.Load()
		s.Find(context.Background(), tt.key)
		if n := hits.Load() - before; n != 0 {
			t.Errorf("%s: %d requests the second time", tt.key, n)
		}
	}
}

// TestServerDown: a server that times out is skipped for DownTTL, so the
// next keys cost no request and no wait, and is asked again after it.
func TestServerDown(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer srv.Close()
	s := &Store{Path: Path{{Kind: KindServer, CacheDir: t.TempDir(), URL: srv.URL}}, Timeout: 100 * time.Millisecond}
	ctx := context.Background()
	_, err := s.Find(ctx, PDBKey("a.pdb", "AB1"))
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("first: %v", err)
	}
	start := time.Now()
	res, _ := s.Find(ctx, PDBKey("b.pdb", "AB1"))
	if hits.Load() != 1 || time.Since(start) > 50*time.Millisecond || !strings.Contains(fmt.Sprint(res.Tried), "skipped: the server failed") {
		t.Errorf("second key: %d requests, %v, tried %v", hits.Load(), time.Since(start), res.Tried)
	}
	later := time.Now().Add(2 * defaultDownTTL)
	s.now = func() time.Time { return later }
	s.Find(ctx, PDBKey("b.pdb", "AB1"))
	if hits.Load() != 2 {
		t.Errorf("after DownTTL: %d requests", hits.Load())
	}
}

// TestRedirectPolicy: a redirect (or file.ptr) from an upstream on a public
// address may not reach an internal one; from an internal upstream (an
// administrator's own server) it may.
func TestRedirectPolicy(t *testing.T) {
	internalHosts.Store("public.example:443", false)
	internalHosts.Store("corp.internal:80", true)
	tests := []struct {
		origin, dial string
		redirected   bool
		refused      bool
	}{
		{"public.example:443", "93.184.216.34:443", false, false},
		{"public.example:443", "93.184.216.34:443", true, false},
		{"public.example:443", "127.0.0.1:80", true, true},
		{"public.example:443", "169.254.169.254:80", true, true},
		{"public.example:443", "10.0.0.5:80", true, true},
		{"public.example:443", "[::1]:80", true, true},
		{"public.example:443", "[::ffff:192.168.1.1]:80", true, true},
		{"corp.internal:80", "10.0.0.5:80", true, false},
		{"never.dialed:80", "10.0.0.5:80", true, true},
	}
	for _, tt := range tests {
		pol := &netPolicy{origin: tt.origin}
		pol.redirected.Store(tt.redirected)
		err := dialControl(context.WithValue(context.Background(), policyKey{}, pol), "tcp", tt.dial, nil)
		if got := errors.Is(err, ErrRefused); got != tt.refused {
			t.Errorf("%s -> %s (redirected %v): %v", tt.origin, tt.dial, tt.redirected, err)
		}
	}

	// Through the client: a loopback upstream may redirect to loopback.
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "pdb") }))
	defer target.Close()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/x", http.StatusFound)
	}))
	defer up.Close()
	s := &Store{Path: Path{{Kind: KindServer, CacheDir: t.TempDir(), URL: up.URL}}}
	if _, err := s.Find(context.Background(), PDBKey("a.pdb", "AB1")); err != nil {
		t.Errorf("loopback to loopback: %v", err)
	}
}

// FuzzParsePtr: a file.ptr never leads anywhere but an http(s) URL with a
// host.
func FuzzParsePtr(f *testing.F) {
	for _, s := range []string{"PATH:https://x/a.pdb", `PATH:\\srv\share\a.pdb`, "MSG: gone", "PATH:file:///etc/passwd", "PATH:http://", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		target, err := parsePtr(s)
		if err != nil {
			if target != "" {
				t.Fatalf("%q: target %q with error %v", s, target, err)
			}
			return
		}
		u, perr := url.Parse(target)
		if perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			t.Fatalf("%q -> %q", s, target)
		}
	})
}

// TestRedirectRefusedEndToEnd: through the real client, a redirect or a
// file.ptr from an upstream on a "public" address (127.0.0.1 plays one) to
// an internal one (127.0.0.2) is refused at the dial, and the attempt says
// so.
func TestRedirectRefusedEndToEnd(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no 127.0.0.2: %v", err)
	}
	var hit atomic.Bool
	inner := &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hit.Store(true)
		fmt.Fprint(w, "metadata")
	})}}
	inner.Start()
	defer inner.Close()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "file.ptr") {
			fmt.Fprint(w, "PATH:"+inner.URL+"/ptr")
			return
		}
		if strings.HasPrefix(r.URL.Path, "/b.pdb/") {
			http.NotFound(w, r)
			return
		}
		http.Redirect(w, r, inner.URL+"/latest/meta-data", http.StatusFound)
	}))
	defer up.Close()
	old := isInternal
	isInternal = func(a netip.Addr) bool { return a == netip.MustParseAddr("127.0.0.2") }
	defer func() { isInternal = old }()
	for _, name := range []string{"a.pdb", "b.pdb"} { // a redirect, a file.ptr
		s := &Store{Path: Path{{Kind: KindServer, CacheDir: t.TempDir(), URL: up.URL}}}
		res, err := s.Find(context.Background(), PDBKey(name, "AB1"))
		if err == nil || !strings.Contains(fmt.Sprint(res.Tried), "leads to the internal address 127.0.0.2") {
			t.Errorf("%s: %v, tried %v", name, err, res.Tried)
		}
	}
	if hit.Load() {
		t.Error("the internal server was reached")
	}
}

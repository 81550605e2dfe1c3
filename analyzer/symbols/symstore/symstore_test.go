package symstore

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParsePath(t *testing.T) {
	tests := []struct {
		in      string
		want    Path
		wantErr bool
	}{
		{in: "", want: nil},
		{in: " ; ;", want: nil},
		{in: `D:\dir`, want: Path{{Kind: KindDir, Dir: `D:\dir`}}},
		{in: "/srv/syms", want: Path{{Kind: KindDir, Dir: "/srv/syms"}}},
		{
			in: `srv*C:\cache*https://server;D:\dir;cache*D:\c;srv*https://x`,
			want: Path{
				{Kind: KindServer, CacheDir: `C:\cache`, URL: "https://server"},
				{Kind: KindDir, Dir: `D:\dir`},
				{Kind: KindCache, Dir: `D:\c`},
				{Kind: KindServer, URL: "https://x"},
			},
		},
		{in: "SRV*/tmp/c*HTTPS://msdl.microsoft.com/download/symbols/", want: Path{{Kind: KindServer, CacheDir: "/tmp/c", URL: "HTTPS://msdl.microsoft.com/download/symbols"}}},
		{in: "srv**https://x", want: Path{{Kind: KindServer, URL: "https://x"}}},
		{in: `srv*c1*\\share\syms*https://x`, want: Path{{Kind: KindServer, CacheDir: "c1", Stores: []string{`\\share\syms`}, URL: "https://x"}}},
		{in: `srv*C:\cache*\\server\share`, want: Path{{Kind: KindServer, CacheDir: `C:\cache`, Stores: []string{`\\server\share`}}}},
		{in: `symsrv*symsrv.dll*C:\cache*http://x:8080/s`, want: Path{{Kind: KindServer, CacheDir: `C:\cache`, URL: "http://x:8080/s"}}},
		{in: "cache*", want: Path{{Kind: KindCache}}},
		{in: " /a ; /b ", want: Path{{Kind: KindDir, Dir: "/a"}, {Kind: KindDir, Dir: "/b"}}},
		{in: "srv*", wantErr: true},
		{in: "srv*ftp://x", wantErr: true},
		{in: "srv*https://x*/tmp/c", wantErr: true},
		{in: "https://x", wantErr: true},
		{in: "cache*a*b", wantErr: true},
		{in: "weird*a", wantErr: true},
		{in: "srv*/c*https://", wantErr: true},
		{in: "symsrv*symsrv.dll", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParsePath(tt.in)
		if tt.wantErr {
			if !errors.Is(err, ErrSyntax) {
				t.Errorf("ParsePath(%q) = %v, %v; want a syntax error", tt.in, got, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParsePath(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParsePath(%q) (-want +got):\n%s", tt.in, diff)
		}
		// String round-trips.
		again, err := ParsePath(got.String())
		if err != nil || !cmp.Equal(again, got) {
			t.Errorf("ParsePath(%q).String() = %q does not round-trip: %v", tt.in, got.String(), err)
		}
	}
}

func TestFromEnv(t *testing.T) {
	t.Setenv("_NT_SYMBOL_PATH", "nt")
	t.Setenv("DUMPTRIAGE_SYMBOL_PATH", "")
	if got := FromEnv(); got != "nt" {
		t.Errorf("FromEnv = %q, want nt", got)
	}
	t.Setenv("DUMPTRIAGE_SYMBOL_PATH", "dt")
	if got := FromEnv(); got != "dt" {
		t.Errorf("FromEnv = %q, want dt", got)
	}
}

func TestKeys(t *testing.T) {
	tests := []struct {
		k    Key
		want string
	}{
		{ImageKey("ntdll.dll", 0x6B0483AC, 0xa0000), "ntdll.dll/6B0483ACa0000/ntdll.dll"},
		{PDBKey("av.pdb", "2F069843290D5E074C4C44205044422E1"), "av.pdb/2F069843290D5E074C4C44205044422E1/av.pdb"},
		{BreakpadKey("av.pdb", "2F069843290D5E074C4C44205044422E1"), "av.pdb/2F069843290D5E074C4C44205044422E1/av.sym"},
		{BreakpadKey("noext", "AB1"), "noext/AB1/noext.sym"},
	}
	for _, tt := range tests {
		if got := tt.k.String(); got != tt.want {
			t.Errorf("%+v = %s, want %s", tt.k, got, tt.want)
		}
	}
	if got := BaseName(`C:\build\out\app.pdb`); got != "app.pdb" {
		t.Errorf("BaseName = %q", got)
	}
}

func write(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestFindLocal(t *testing.T) {
	root := t.TempDir()
	flat := filepath.Join(root, "flat")
	store := filepath.Join(root, "store")
	two := filepath.Join(root, "two")
	bp := filepath.Join(root, "breakpad")
	k := PDBKey("app.pdb", "ABCDEF1")

	write(t, filepath.Join(flat, "app.pdb"), "flat ABCDEF1")
	write(t, filepath.Join(flat, "other.pdb"), "flat 0000")
	write(t, filepath.Join(store, "app.pdb", "ABCDEF1", "app.pdb"), "store")
	write(t, filepath.Join(store, "Mixed.PDB", "ABCDEF1", "mixed.pdb"), "store mixed")
	write(t, filepath.Join(two, "index2.txt"), "")
	write(t, filepath.Join(two, "ap", "app.pdb", "ABCDEF1", "app.pdb"), "two-tier")
	write(t, filepath.Join(bp, "app.pdb", "ABCDEF1", "app.sym"), "MODULE windows x86_64 ABCDEF1 app.pdb")

	// Verify compares the id written in the file.
	verify := func(path string, want Key) error {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if f := strings.Fields(string(b)); len(f) < 2 || f[len(f)-1] != want.ID {
			return fmt.Errorf("debug id mismatch: wanted %s, found %s", want.ID, f[len(f)-1])
		}
		return nil
	}
	tests := []struct {
		name       string
		path       string
		key        Key
		verify     bool
		wantPath   string
		wantSource string
		wantTried  []string // substrings of Tried, in order
	}{
		{name: "flat", path: flat, key: k, wantPath: filepath.Join(flat, "app.pdb"), wantSource: "dir " + flat + " (flat)"},
		{name: "flat verified", path: flat, key: k, verify: true, wantPath: filepath.Join(flat, "app.pdb")},
		{name: "flat mismatch falls to store", path: flat + ";" + store, key: PDBKey("other.pdb", "ABCDEF1"), verify: true,
			wantTried: []string{"debug id mismatch: wanted ABCDEF1, found 0000", "not found"}},
		{name: "store", path: store, key: k, wantPath: filepath.Join(store, "app.pdb", "ABCDEF1", "app.pdb"), wantSource: "dir " + store + " (store)"},
		{name: "store case-insensitive", path: store, key: PDBKey("mixed.pdb", "ABCDEF1"), wantPath: filepath.Join(store, "Mixed.PDB", "ABCDEF1", "mixed.pdb")},
		{name: "two-tier", path: two, key: k, wantPath: filepath.Join(two, "ap", "app.pdb", "ABCDEF1", "app.pdb")},
		{name: "breakpad", path: bp, key: BreakpadKey("app.pdb", "ABCDEF1"), wantPath: filepath.Join(bp, "app.pdb", "ABCDEF1", "app.sym")},
		{name: "order", path: store + ";" + flat, key: k, wantPath: filepath.Join(store, "app.pdb", "ABCDEF1", "app.pdb")},
		{name: "wrong id", path: store, key: PDBKey("app.pdb", "FFFF1"), wantTried: []string{"not a regular file", "not found"}},
		{name: "cache element", path: "cache*" + store, key: k, wantPath: filepath.Join(store, "app.pdb", "ABCDEF1", "app.pdb"), wantSource: "cache " + store},
		{name: "windows path", path: `D:\syms`, key: k, wantTried: []string{"Windows path"}},
		{name: "server chain without URL", path: "srv*" + filepath.Join(root, "nocache") + "*" + store, key: k, wantPath: filepath.Join(store, "app.pdb", "ABCDEF1", "app.pdb"), wantSource: "store " + store},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParsePath(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			s := &Store{Path: p, DefaultCacheDir: filepath.Join(root, "default")}
			if tt.verify {
				s.Verify = verify
			}
			res, err := s.Find(context.Background(), tt.key)
			if tt.wantPath == "" {
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("Find = %+v, %v; want not found", res, err)
				}
			} else if err != nil || res.Path != tt.wantPath {
				t.Fatalf("Find = %q, %v; want %q (tried %v)", res.Path, err, tt.wantPath, res.Tried)
			}
			if tt.wantSource != "" && res.Source != tt.wantSource {
				t.Errorf("Source = %q, want %q", res.Source, tt.wantSource)
			}
			if len(res.Tried) < len(tt.wantTried) {
				t.Fatalf("Tried = %v, want %v", res.Tried, tt.wantTried)
			}
			for i, w := range tt.wantTried {
				if !strings.Contains(res.Tried[i].Reason, w) {
					t.Errorf("Tried[%d] = %v, want %q", i, res.Tried[i], w)
				}
			}
		})
	}
	// Nothing is created for a Windows path on Linux.
	if _, err := os.Stat(`D:\syms`); err == nil {
		t.Errorf("a Windows path was created")
	}
}

func TestFindRejectsHostileKeys(t *testing.T) {
	s := &Store{Path: Path{{Kind: KindDir, Dir: t.TempDir()}}}
	for _, k := range []Key{
		{Name: "../etc/passwd", ID: "AB"},
		{Name: `..\x.pdb`, ID: "AB"},
		{Name: "..", ID: "AB"},
		{Name: "a.pdb", ID: "../AB"},
		{Name: "a.pdb", ID: ""},
		{Name: "", ID: "AB"},
		{Name: "a.pdb", ID: "AB", Dir: "x/y"},
		{Name: "C:x.pdb", ID: "AB"},
	} {
		if _, err := s.Find(context.Background(), k); err == nil || errors.Is(err, ErrNotFound) {
			t.Errorf("Find(%+v) = %v, want a key error", k, err)
		}
	}
}

// symServer serves files at /name/ID/name, counting requests.
func symServer(t *testing.T, files map[string]string) (*httptest.Server, *atomic.Int32) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.Header.Get("User-Agent") == "" {
			t.Errorf("no User-Agent")
		}
		body, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if body == "slow" {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			return
		}
		if body == "error" {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func TestFindServer(t *testing.T) {
	srv, hits := symServer(t, map[string]string{
		"/app.pdb/ABCDEF1/app.pdb":           "pdb bytes",
		"/ntdll.dll/6B0483ACa0000/ntdll.dll": "image bytes",
		"/app.pdb/ABCDEF1/app.sym":           "MODULE windows x86_64 ABCDEF1 app.pdb",
		"/big.pdb/AB1/big.pdb":               strings.Repeat("x", 4096),
		"/err.pdb/AB1/err.pdb":               "error",
		"/slow.pdb/AB1/slow.pdb":             "slow",
	})
	cache := filepath.Join(t.TempDir(), "cache")
	p, err := ParsePath("srv*" + cache + "*" + srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	s := &Store{Path: p, Client: srv.Client(), MaxDownload: 1024}
	ctx := context.Background()

	// Downloaded into the cache, then served from it without the server.
	k := PDBKey("app.pdb", "ABCDEF1")
	res, err := s.Find(ctx, k)
	want := filepath.Join(cache, "app.pdb", "ABCDEF1", "app.pdb")
	if err != nil || res.Path != want || res.Source != "store "+srv.URL {
		t.Fatalf("Find = %+v, %v", res, err)
	}
	if b, _ := os.ReadFile(want); string(b) != "pdb bytes" {
		t.Errorf("cached file = %q", b)
	}
	before := hits.Load()
	res, err = s.Find(ctx, k)
	if err != nil || res.Path != want || res.Source != "cache "+cache || hits.Load() != before {
		t.Errorf("second Find = %+v, %v, %d new requests", res, err, hits.Load()-before)
	}
	// No temp files left behind.
	ents, _ := os.ReadDir(filepath.Dir(want))
	if len(ents) != 1 {
		t.Errorf("cache dir holds %d entries", len(ents))
	}

	// Case: the image is asked for as "NTDLL.DLL"; the server has lower case.
	res, err = s.Find(ctx, ImageKey("NTDLL.DLL", 0x6B0483AC, 0xa0000))
	if err != nil || filepath.Base(res.Path) != "ntdll.dll" {
		t.Errorf("image Find = %+v, %v", res, err)
	}

	// Breakpad layout on the server.
	if res, err := s.Find(ctx, BreakpadKey("app.pdb", "ABCDEF1")); err != nil || !strings.HasSuffix(res.Path, filepath.Join("app.pdb", "ABCDEF1", "app.sym")) {
		t.Errorf("breakpad Find = %+v, %v", res, err)
	}

	// 404s are remembered.
	missing := PDBKey("missing.pdb", "AB1")
	if _, err := s.Find(ctx, missing); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
	before = hits.Load()
	res, err = s.Find(ctx, missing)
	if !errors.Is(err, ErrNotFound) || hits.Load() != before {
		t.Errorf("missing again: %v, %d new requests", err, hits.Load()-before)
	}
	if last := res.Tried[len(res.Tried)-1]; !strings.Contains(last.Reason, "remembered") {
		t.Errorf("Tried = %v", res.Tried)
	}
	// ... until their TTL passes: the file may have been uploaded since.
	now := time.Now().Add(s.NegativeTTL + defaultNegativeTTL + time.Second)
	s.now = func() time.Time { return now }
	before = hits.Load()
	if _, err := s.Find(ctx, missing); !errors.Is(err, ErrNotFound) || hits.Load() == before {
		t.Errorf("missing after the TTL: %v, %d new requests", err, hits.Load()-before)
	}
	s.now = nil

	// Size limit, server errors, timeouts: reported, nothing cached.
	for _, tc := range []struct {
		name, reason string
		ctx          func() (context.Context, context.CancelFunc)
	}{
		{"big.pdb", "limit", nil},
		{"err.pdb", "HTTP 500", nil},
		{"slow.pdb", "deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(ctx, 200*time.Millisecond)
		}},
	} {
		c, cancel := ctx, context.CancelFunc(func() {})
		if tc.ctx != nil {
			c, cancel = tc.ctx()
		}
		res, err := s.Find(c, PDBKey(tc.name, "AB1"))
		cancel()
		if err == nil {
			t.Errorf("%s: found %+v", tc.name, res)
			continue
		}
		tried := fmt.Sprint(res.Tried)
		if !strings.Contains(tried, tc.reason) && !strings.Contains(err.Error(), tc.reason) {
			t.Errorf("%s: err %v, tried %s; want %q", tc.name, err, tried, tc.reason)
		}
		if _, err := os.Stat(filepath.Join(cache, tc.name)); err == nil {
			entries, _ := os.ReadDir(filepath.Join(cache, tc.name, "AB1"))
			if len(entries) != 0 {
				t.Errorf("%s: left %d files in the cache", tc.name, len(entries))
			}
		}
	}
}

// TestFindServerCacheElement: "cache*dir" gives later servers their cache.
// TestNegativeBound: the remembered 404s are bounded.
func TestNegativeBound(t *testing.T) {
	s := &Store{}
	for i := range 3 * maxNegative {
		s.setNegative(fmt.Sprint("http://x/", i))
	}
	if n := s.NegativeLen(); n != maxNegative {
		t.Errorf("%d remembered, want the bound %d", n, maxNegative)
	}
	if len(s.negOrder) > 2*maxNegative+1 {
		t.Errorf("order list grew to %d", len(s.negOrder))
	}
	if !s.isNegative(fmt.Sprint("http://x/", 3*maxNegative-1)) || s.isNegative("http://x/0") {
		t.Error("the newest should stay and the oldest go")
	}
}

func TestFindServerCacheElement(t *testing.T) {
	srv, _ := symServer(t, map[string]string{"/app.pdb/ABCDEF1/app.pdb": "pdb"})
	cache := t.TempDir()
	p, err := ParsePath("cache*" + cache + ";srv*" + srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	s := &Store{Path: p, Client: srv.Client()}
	res, err := s.Find(context.Background(), PDBKey("app.pdb", "ABCDEF1"))
	if err != nil || res.Path != filepath.Join(cache, "app.pdb", "ABCDEF1", "app.pdb") {
		t.Errorf("Find = %+v, %v", res, err)
	}
}

// TestNothingContacted: a path without servers makes no requests, and an
// unconfigured Store finds nothing.
func TestNothingContacted(t *testing.T) {
	_, hits := symServer(t, nil)
	s := &Store{Path: Path{{Kind: KindDir, Dir: t.TempDir()}}}
	if _, err := s.Find(context.Background(), PDBKey("a.pdb", "AB1")); !errors.Is(err, ErrNotFound) {
		t.Errorf("err = %v", err)
	}
	var empty Store
	if res, err := empty.Find(context.Background(), PDBKey("a.pdb", "AB1")); !errors.Is(err, ErrNotFound) || len(res.Tried) != 0 {
		t.Errorf("empty store: %+v, %v", res, err)
	}
	if hits.Load() != 0 {
		t.Errorf("%d requests", hits.Load())
	}
}

// TestWindowsCacheOnLinux: a copied Windows path still reaches the server,
// caching under DefaultCacheDir, and creates nothing named C:\...
func TestWindowsCacheOnLinux(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows paths are real here")
	}
	srv, _ := symServer(t, map[string]string{"/app.pdb/ABCDEF1/app.pdb": "pdb"})
	def := t.TempDir()
	p, err := ParsePath(`srv*C:\symcache*` + srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	s := &Store{Path: p, Client: srv.Client(), DefaultCacheDir: def}
	res, err := s.Find(context.Background(), PDBKey("app.pdb", "ABCDEF1"))
	if err != nil || res.Path != filepath.Join(def, "app.pdb", "ABCDEF1", "app.pdb") {
		t.Fatalf("Find = %+v, %v", res, err)
	}
	if !strings.Contains(fmt.Sprint(res.Tried), "Windows path") {
		t.Errorf("Tried = %v", res.Tried)
	}
	if _, err := os.Stat(`C:\symcache`); err == nil {
		t.Errorf(`created C:\symcache`)
	}
}

func FuzzParsePath(f *testing.F) {
	for _, s := range []string{
		`srv*C:\cache*https://server;D:\dir;cache*D:\c;srv*https://x`,
		"symsrv*symsrv.dll*c*http://h/p", "cache*", "srv**https://x", "/a;/b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePath(s)
		if err != nil {
			return
		}
		again, err := ParsePath(p.String())
		if err != nil {
			t.Fatalf("%q -> %q: %v", s, p.String(), err)
		}
		if !cmp.Equal(again, p) {
			t.Fatalf("%q -> %q does not round-trip: %+v vs %+v", s, p.String(), p, again)
		}
	})
}

package symstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
	"unicode"
)

// Key names a file in a symbol store.
type Key struct {
	// Name is the file name: "ntdll.dll", "ntdll.pdb", "ntdll.sym".
	Name string
	// ID is the store key: for an image TimeDateStamp as %08X followed by
	// SizeOfImage as %x; for a PDB (and a Breakpad .sym) the debug id, GUID
	// hex then age hex.
	ID string
	// Dir is the directory name in store layouts when it differs from
	// Name: Breakpad files its "ntdll.sym" under "ntdll.pdb/ID/".
	Dir string
	// SizeOfImage is an image key's IMAGE_OPTIONAL_HEADER.SizeOfImage
	// (0 for other keys): it bounds what a server may send for it.
	SizeOfImage uint32
}

// ImageKey is the key of a PE image: name plus TimeDateStamp and SizeOfImage.
func ImageKey(name string, timeDateStamp, sizeOfImage uint32) Key {
	return Key{Name: name, ID: fmt.Sprintf("%08X%x", timeDateStamp, sizeOfImage), SizeOfImage: sizeOfImage}
}

// PDBKey is the key of a PDB: its file name and debug id.
func PDBKey(pdbName, debugID string) Key { return Key{Name: pdbName, ID: debugID} }

// BreakpadKey is the key of a Breakpad symbol file for a PDB:
// "name.pdb/DEBUGID/name.sym".
func BreakpadKey(pdbName, debugID string) Key {
	base := pdbName
	if i := strings.LastIndexByte(base, '.'); i > 0 {
		base = base[:i]
	}
	return Key{Name: base + ".sym", ID: debugID, Dir: pdbName}
}

func (k Key) dir() string {
	if k.Dir != "" {
		return k.Dir
	}
	return k.Name
}

// String is the store-relative path, dir/ID/name.
func (k Key) String() string { return k.dir() + "/" + k.ID + "/" + k.Name }

// check rejects keys that could escape a directory: names come from dumps.
func (k Key) check() error {
	for _, n := range []string{k.Name, k.dir()} {
		if n == "" || n == "." || n == ".." || strings.ContainsAny(n, `/\:`) || strings.ContainsFunc(n, unicode.IsControl) || len(n) > 255 {
			return fmt.Errorf("symstore: unusable file name %q", n)
		}
	}
	if k.ID == "" || len(k.ID) > 128 || strings.ContainsFunc(k.ID, func(r rune) bool {
		return !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) {
		return fmt.Errorf("symstore: unusable id %q", k.ID)
	}
	return nil
}

// BaseName returns the last element of a Windows or POSIX path, e.g. the
// PDB name from a CodeView record's build path.
func BaseName(p string) string {
	if i := strings.LastIndexAny(p, `\/`); i >= 0 {
		return p[i+1:]
	}
	return p
}

// DefaultMaxDownload bounds a download when Store.MaxDownload is 0.
const DefaultMaxDownload = 1 << 30

// DefaultTimeout bounds one HTTP request when the context has no deadline.
const DefaultTimeout = 2 * time.Minute

// DefaultAnswerTimeout bounds the wait for a server's answer (its headers).
const DefaultAnswerTimeout = 15 * time.Second

// ErrNotFound is returned (wrapped) when no element has the file.
var ErrNotFound = errors.New("not found")

// Store finds files along a symbol path. Its methods are safe for
// concurrent use. Nothing is contacted but the URLs in Path.
type Store struct {
	Path Path
	// Client is used for servers; nil means a client with no overall
	// timeout (each request is bounded by its context).
	Client *http.Client
	// Verify, if set, checks a flat-directory candidate (whose name alone
	// does not prove it matches): it returns an error such as
	// "debug id mismatch: wanted X, found Y" to reject it.
	Verify func(path string, want Key) error
	// MaxDownload bounds a downloaded file (default 1 GiB).
	MaxDownload int64
	// DefaultCacheDir is where downloads go for servers with no cache of
	// their own and no preceding cache* element. If empty,
	// <os.TempDir()>/dumptriage-symcache.
	DefaultCacheDir string
	// UserAgent for HTTP requests; default "Microsoft-Symbol-Server/10.0.0.0",
	// which some servers expect.
	UserAgent string

	// NegativeTTL is how long a URL answered 404 (or with a file that is
	// not the one asked for) is not asked again (default 5 min): symbols
	// may be uploaded after a crash comes in.
	NegativeTTL time.Duration
	// Timeout bounds the wait for a server's answer, up to its headers
	// (default DefaultAnswerTimeout); a server that does not answer in
	// time is skipped for DownTTL. The body is bounded by the context's
	// deadline, or DefaultTimeout without one: a large file that cannot
	// arrive in time fails alone, without marking its server down.
	Timeout time.Duration
	// DownTTL is how long a server that failed as a whole (no connection,
	// a timeout, HTTP 429/502/503/504) is skipped (default 1 min), so a
	// dead or slow server costs one timeout, not one per module.
	DownTTL time.Duration
	// VerifyDownload, if set, judges a downloaded file before it enters
	// the cache: a server's answer is used only if it is the file asked
	// for (the image's TimeDateStamp and SizeOfImage, the PDB's debug id).
	VerifyDownload func(path string, want Key) error
	// now is the clock, for tests.
	now func() time.Time

	mu       sync.Mutex
	negative map[string]negEntry // URLs answered 404 or rejected, with when to forget them
	negOrder []string            // insertion order, oldest first, for the bound
	down     map[string]downMark // servers skipped for a while, by base URL
}

// Bounds of the remembered 404s.
const (
	defaultNegativeTTL = 5 * time.Minute
	maxNegative        = 4096
)

// Result is the outcome of Find.
type Result struct {
	// Path is the local file found or downloaded.
	Path string
	// Source says where it was found, e.g. "dir D:\syms (flat)",
	// "cache C:\cache", "store https://x".
	Source string
	// Tried lists every candidate looked at, in order, and why it was not
	// used, so a report can say why a file is missing.
	Tried []Attempt
}

// Attempt is one candidate location.
type Attempt struct {
	Where  string // a file path or URL
	Reason string // "not found", "debug id mismatch: ...", "HTTP 404", ...
}

func (a Attempt) String() string { return a.Where + ": " + a.Reason }

// Find looks for k along the path, in order, and returns the first match.
// Per element: a directory is tried flat (dir/name, checked by Verify),
// then as a symbol store (dir/name/ID/name); a server's caches and stores
// as symbol stores, then its URL (GET URL/name/ID/name, saved to
// cache/name/ID/name). On failure the error wraps ErrNotFound and Result
// still lists what was tried.
func (s *Store) Find(ctx context.Context, k Key) (Result, error) {
	var res Result
	if err := k.check(); err != nil {
		return res, err
	}
	cache := "" // set by cache* for later servers
	for _, e := range s.Path {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		switch e.Kind {
		case KindDir:
			if p, ok := s.tryFlat(e.Dir, k, &res); ok {
				res.Path, res.Source = p, fmt.Sprintf("dir %s (flat)", e.Dir)
				return res, nil
			}
			if p, ok := s.tryStore(e.Dir, k, &res); ok {
				res.Path, res.Source = p, fmt.Sprintf("dir %s (store)", e.Dir)
				return res, nil
			}
		case KindCache:
			cache = e.Dir
			if cache == "" {
				cache = s.defaultCache()
			}
			if p, ok := s.tryStore(cache, k, &res); ok {
				res.Path, res.Source = p, "cache "+cache
				return res, nil
			}
		case KindServer:
			c := e.CacheDir
			if c == "" {
				c = cache
			}
			if c == "" {
				c = s.defaultCache()
			}
			if p, ok := s.tryStore(c, k, &res); ok {
				res.Path, res.Source = p, "cache "+c
				return res, nil
			}
			if unusableHere(c) {
				// A Windows cache from a copied _NT_SYMBOL_PATH: keep
				// using the server, caching elsewhere.
				c = s.defaultCache()
				if p, ok := s.tryStore(c, k, &res); ok {
					res.Path, res.Source = p, "cache "+c
					return res, nil
				}
			}
			for _, st := range e.Stores {
				if p, ok := s.tryStore(st, k, &res); ok {
					res.Path, res.Source = p, "store "+st
					return res, nil
				}
			}
			if e.URL == "" {
				continue
			}
			p, err := s.download(ctx, e.URL, c, k, &res)
			if err == nil {
				res.Path, res.Source = p, "store "+e.URL
				return res, nil
			}
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
		}
	}
	return res, fmt.Errorf("symstore: %s: %w (%d places tried)", k, ErrNotFound, len(res.Tried))
}

func (s *Store) defaultCache() string {
	if s.DefaultCacheDir != "" {
		return s.DefaultCacheDir
	}
	return filepath.Join(os.TempDir(), "dumptriage-symcache")
}

// tryFlat looks for dir/name and lets Verify judge it.
func (s *Store) tryFlat(dir string, k Key, res *Result) (string, bool) {
	p, ok := s.lookup(dir, res, k.Name)
	if !ok {
		return "", false
	}
	if s.Verify != nil {
		if err := s.Verify(p, k); err != nil {
			res.Tried = append(res.Tried, Attempt{p, err.Error()})
			return "", false
		}
	}
	return p, true
}

// tryStore looks for dir/name/ID/name, or dir/na/name/ID/name in a
// two-tier store (one with index2.txt).
func (s *Store) tryStore(dir string, k Key, res *Result) (string, bool) {
	if fi, err := os.Stat(filepath.Join(dir, "index2.txt")); err == nil && fi.Mode().IsRegular() {
		d := k.dir()
		return s.lookup(dir, res, d[:min(2, len(d))], d, k.ID, k.Name)
	}
	return s.lookup(dir, res, k.dir(), k.ID, k.Name)
}

// lookup finds dir/elems... as a regular file, matching each element
// case-insensitively when the exact name is absent (Windows stores are
// case-insensitive; module names in dumps vary in case).
func (s *Store) lookup(dir string, res *Result, elems ...string) (string, bool) {
	want := filepath.Join(append([]string{dir}, elems...)...)
	if unusableHere(dir) {
		res.Tried = append(res.Tried, Attempt{want, "Windows path, not available on " + runtime.GOOS})
		return "", false
	}
	cur := dir
	for _, el := range elems {
		next := filepath.Join(cur, el)
		if _, err := os.Lstat(next); err != nil {
			next = ""
			if ents, err := os.ReadDir(cur); err == nil && len(ents) < 100000 {
				for _, de := range ents {
					if strings.EqualFold(de.Name(), el) {
						next = filepath.Join(cur, de.Name())
						break
					}
				}
			}
			if next == "" {
				res.Tried = append(res.Tried, Attempt{want, "not found"})
				return "", false
			}
		}
		cur = next
	}
	fi, err := os.Stat(cur)
	if err != nil || !fi.Mode().IsRegular() {
		res.Tried = append(res.Tried, Attempt{want, "not a regular file"})
		return "", false
	}
	return cur, true
}

// unusableHere reports a Windows drive or UNC path on another system, which
// must not be created relative to the working directory.
func unusableHere(dir string) bool {
	if runtime.GOOS == "windows" {
		return false
	}
	if strings.HasPrefix(dir, `\\`) {
		return true
	}
	return len(dir) >= 2 && dir[1] == ':' && (dir[0]|0x20) >= 'a' && (dir[0]|0x20) <= 'z'
}

// download fetches URL/dir/ID/name into cache/dir/ID/name, following a
// file.ptr when the server has one instead of the file.
func (s *Store) download(ctx context.Context, base, cache string, k Key, res *Result) (string, error) {
	if why, ok := s.isDown(base); ok {
		res.Tried = append(res.Tried, Attempt{base, "skipped: " + why})
		return "", fmt.Errorf("%s: %w", why, ErrUnavailable)
	}
	names := []string{k.Name}
	if l := strings.ToLower(k.Name); l != k.Name {
		names = append(names, l)
	}
	var lastErr error
	for i, name := range names {
		kk := k
		kk.Name = name
		dir := base + "/" + url.PathEscape(kk.dir()) + "/" + url.PathEscape(kk.ID) + "/"
		p, err := s.get(ctx, dir+url.PathEscape(kk.Name), base, cache, kk, false, res)
		if err == nil {
			return p, nil
		}
		lastErr = err
		if errors.Is(err, ErrNotFound) && i == 0 {
			// SymSrv's file.ptr: the store keeps a pointer, not the file.
			p, err = s.followPtr(ctx, dir+"file.ptr", base, cache, kk, res)
			if err == nil {
				return p, nil
			}
			if !errors.Is(err, ErrNotFound) {
				lastErr = err
			}
		}
		if !errors.Is(err, ErrNotFound) {
			break
		}
	}
	return "", lastErr
}

// get fetches one URL unless it is remembered as missing, and records the
// attempt.
func (s *Store) get(ctx context.Context, u, base, cache string, k Key, redirected bool, res *Result) (string, error) {
	if why, ok := s.negWhy(u); ok {
		return "", remembered(u, why, res)
	}
	p, err := s.fetch(ctx, u, base, cache, k, redirected)
	if err != nil {
		res.Tried = append(res.Tried, Attempt{u, err.Error()})
		if errors.Is(err, ErrUnavailable) && ctx.Err() == nil {
			s.setDown(base, err)
		}
	}
	return p, err
}

func (s *Store) clock() time.Time {
	if s.now != nil {
		return s.now()
	}
	return time.Now()
}

// negEntry is a remembered answer: a 404 (why == ""), or why the file the
// server sent was not used.
type negEntry struct {
	until time.Time
	why   string
}

func (s *Store) isNegative(u string) bool {
	_, ok := s.negWhy(u)
	return ok
}

// negWhy reports whether u is remembered, and why when it was rejected
// rather than missing.
func (s *Store) negWhy(u string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.negative[u]
	if ok && !s.clock().Before(e.until) {
		delete(s.negative, u)
		return "", false
	}
	return e.why, ok
}

// NegativeLen is the number of remembered 404s, for tests.
func (s *Store) NegativeLen() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.negative)
}

func (s *Store) setNegative(u string) { s.setRejected(u, "") }

// setRejected remembers that u's answer was not used, and why.
func (s *Store) setRejected(u, why string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.negative == nil {
		s.negative = map[string]negEntry{}
	}
	ttl := s.NegativeTTL
	if ttl <= 0 {
		ttl = defaultNegativeTTL
	}
	if _, ok := s.negative[u]; !ok {
		s.negOrder = append(s.negOrder, u)
	}
	s.negative[u] = negEntry{until: s.clock().Add(ttl), why: why}
	// Keep the order list in step with the map: drop names already
	// forgotten, then the oldest past the bound.
	if len(s.negOrder) > 2*maxNegative {
		live := s.negOrder[:0]
		for _, k := range s.negOrder {
			if _, ok := s.negative[k]; ok {
				live = append(live, k)
			}
		}
		s.negOrder = live
	}
	for len(s.negative) > maxNegative && len(s.negOrder) > 0 {
		delete(s.negative, s.negOrder[0])
		s.negOrder = s.negOrder[1:]
	}
}

func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("scheme %q: only http and https are supported", u.Scheme)
	}
	if u.Host == "" {
		return fmt.Errorf("no host in %q", raw)
	}
	return nil
}

// fetch downloads u into cache/dir/ID/name. Every answer is bounded: its
// size (MaxDownload, and for an image twice its SizeOfImage plus
// imageSlack), its time (Timeout, then the context), and its content, which VerifyDownload
// must accept before the file enters the cache.
func (s *Store) fetch(ctx context.Context, u, base, cache string, k Key, redirected bool) (string, error) {
	if err := checkURL(u); err != nil {
		return "", err
	}
	if unusableHere(cache) {
		return "", fmt.Errorf("cache %s is a Windows path, not available on %s", cache, runtime.GOOS)
	}
	resp, cancel, err := s.request(ctx, u, base, redirected)
	if err != nil {
		return "", err
	}
	defer cancel()
	defer resp.Body.Close()
	if err := s.status(resp, u); err != nil {
		return "", err
	}
	limit := s.limit(k)
	if resp.ContentLength > limit {
		err := fmt.Errorf("%d bytes exceeds the %d-byte download limit", resp.ContentLength, limit)
		s.setRejected(u, err.Error())
		return "", err
	}

	dir := filepath.Join(cache, k.dir(), k.ID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(dir, "."+k.Name+".*.tmp")
	if err != nil {
		return "", err
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	n, err := io.Copy(tmp, io.LimitReader(resp.Body, limit+1))
	if err != nil {
		// A body cut short fails this file alone: a large file may not
		// arrive within the deadline from a server that works.
		return "", fmt.Errorf("download: %w", err)
	}
	if n > limit {
		err := fmt.Errorf("download exceeds the %d-byte limit", limit)
		s.setRejected(u, err.Error())
		return "", err
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return "", fmt.Errorf("download truncated: %d of %d bytes", n, resp.ContentLength)
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	if err := s.judge(tmp.Name(), k); err != nil {
		// The same answer would come again: remember it.
		s.setRejected(u, err.Error())
		return "", err
	}
	final := filepath.Join(dir, k.Name)
	if err := os.Rename(tmp.Name(), final); err != nil {
		return "", err
	}
	ok = true
	return final, nil
}

// Package symstore parses symbol paths in the _NT_SYMBOL_PATH syntax and
// finds images and symbol files in them: flat directories, symbol-store
// directories (name/ID/name, two-tier with index2.txt), Breakpad symbol
// directories (name.pdb/DEBUGID/name.sym), and SymSrv HTTP servers with a
// local cache.
package symstore

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// Kind is the kind of a symbol path element.
type Kind int

const (
	// KindDir is a directory: searched flat (dir/name) and as a symbol
	// store (dir/name/ID/name).
	KindDir Kind = iota
	// KindServer is "srv*[cache*...]*upstream": the caches are searched as
	// stores, then the upstream (an http(s) URL, or a store directory) is,
	// and files downloaded from a URL go to the first cache.
	KindServer
	// KindCache is "cache*dir": searched as a store, and the cache for
	// later server elements that name none.
	KindCache
)

func (k Kind) String() string {
	switch k {
	case KindDir:
		return "dir"
	case KindServer:
		return "server"
	case KindCache:
		return "cache"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Element is one ';'-separated part of a symbol path.
type Element struct {
	Kind Kind
	// Dir is the directory of a KindDir or KindCache element ("" for a
	// bare "cache*": the Store's default cache).
	Dir string
	// CacheDir is a server's first (downstream) store, where downloads go.
	CacheDir string
	// Stores are further stores of a server chain between the cache and
	// the upstream ("srv*c1*c2*URL" has Stores [c2]), searched in order.
	Stores []string
	// URL is a server's http(s) upstream. A chain ending in a directory
	// ("srv*C:\cache*\\server\share") has URL "" and the directory last in
	// Stores.
	URL string
}

// Path is a parsed symbol path, searched in order.
type Path []Element

// ErrSyntax is returned (wrapped) for symbol paths that cannot be parsed.
var ErrSyntax = errors.New("symbol path syntax")

// ParsePath parses a symbol path in the _NT_SYMBOL_PATH syntax:
// ';'-separated elements, each a directory, "srv*[cache*...]*upstream"
// (also "symsrv*symsrv.dll*..."), or "cache*[dir]". Empty elements are
// skipped. Windows paths are kept as written; on other systems they simply
// do not exist.
func ParsePath(s string) (Path, error) {
	var p Path
	for _, raw := range strings.Split(s, ";") {
		el := strings.TrimSpace(raw)
		if el == "" {
			continue
		}
		parts := strings.Split(el, "*")
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		head := strings.ToLower(parts[0])
		switch {
		case len(parts) == 1:
			if isURL(el) {
				return nil, fmt.Errorf("%w: %q: a URL needs srv*", ErrSyntax, el)
			}
			p = append(p, Element{Kind: KindDir, Dir: el})
		case head == "cache":
			if len(parts) > 2 {
				return nil, fmt.Errorf("%w: %q: cache* takes one directory", ErrSyntax, el)
			}
			if isURL(parts[1]) {
				return nil, fmt.Errorf("%w: %q: cache* takes a directory", ErrSyntax, el)
			}
			p = append(p, Element{Kind: KindCache, Dir: parts[1]})
		case head == "srv" || head == "symsrv":
			chain := parts[1:]
			if head == "symsrv" {
				// symsrv*symsrv.dll*...: the DLL name is Windows plumbing.
				if len(chain) < 2 {
					return nil, fmt.Errorf("%w: %q: symsrv*dll*store expected", ErrSyntax, el)
				}
				chain = chain[1:]
			}
			e, err := parseServer(el, chain)
			if err != nil {
				return nil, err
			}
			p = append(p, e)
		default:
			return nil, fmt.Errorf("%w: %q: unknown element type %q", ErrSyntax, el, parts[0])
		}
	}
	return p, nil
}

func parseServer(el string, chain []string) (Element, error) {
	// Drop empty links: "srv**URL" means the default cache.
	var stores []string
	emptyCache := false
	for i, c := range chain {
		if c == "" {
			if i == 0 {
				emptyCache = true
			}
			continue
		}
		stores = append(stores, c)
	}
	if len(stores) == 0 {
		return Element{}, fmt.Errorf("%w: %q: srv* without a store", ErrSyntax, el)
	}
	for _, s := range stores[:len(stores)-1] {
		if isURL(s) {
			return Element{}, fmt.Errorf("%w: %q: only the last store of a chain may be a URL", ErrSyntax, el)
		}
	}
	e := Element{Kind: KindServer}
	last := stores[len(stores)-1]
	if isURL(last) {
		if err := checkURL(last); err != nil {
			return Element{}, fmt.Errorf("%w: %q: %v", ErrSyntax, el, err)
		}
		e.URL = strings.TrimRight(last, "/")
		stores = stores[:len(stores)-1]
	} else if strings.Contains(last, "://") {
		return Element{}, fmt.Errorf("%w: %q: only http and https servers are supported", ErrSyntax, el)
	}
	if len(stores) > 0 && !emptyCache {
		e.CacheDir, stores = stores[0], stores[1:]
	}
	if len(stores) > 0 {
		e.Stores = stores
	}
	return e, nil
}

func isURL(s string) bool {
	l := strings.ToLower(s)
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}

// String renders the path back in _NT_SYMBOL_PATH syntax.
func (p Path) String() string {
	var out []string
	for _, e := range p {
		switch e.Kind {
		case KindDir:
			out = append(out, e.Dir)
		case KindCache:
			out = append(out, "cache*"+e.Dir)
		case KindServer:
			parts := []string{"srv", e.CacheDir}
			if e.CacheDir == "" && len(e.Stores) == 0 && e.URL != "" {
				parts = []string{"srv"}
			}
			parts = append(parts, e.Stores...)
			if e.URL != "" {
				parts = append(parts, e.URL)
			}
			out = append(out, strings.Join(parts, "*"))
		}
	}
	return strings.Join(out, ";")
}

// FromEnv returns the symbol path configured in the environment:
// DUMPTRIAGE_SYMBOL_PATH, or else _NT_SYMBOL_PATH.
func FromEnv() string {
	if s := os.Getenv("DUMPTRIAGE_SYMBOL_PATH"); s != "" {
		return s
	}
	return os.Getenv("_NT_SYMBOL_PATH")
}

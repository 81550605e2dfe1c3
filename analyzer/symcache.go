package analyzer

import (
	"container/list"
	"io"
	"sync"
	"time"
)

// SymbolCache keeps parsed symbol files and images across analyses, so a
// dump whose symbols were already loaded costs no parsing. It is bounded
// three ways: by the sizes its entries report, by a number of entries, and
// by time for failures (a file missing now may be uploaded later). The
// least recently used entries go first. An evicted entry that holds a file
// is closed as soon as no running analysis holds it: nothing waits for a
// finalizer.
type SymbolCache struct {
	mu         sync.Mutex
	maxBytes   int64
	maxEntries int
	used       int64
	lru        *list.List // of *cacheEntry, most recent first
	byKey      map[string]*list.Element
	// NegativeTTL is how long a failed load is remembered (default 5 min).
	NegativeTTL time.Duration
	now         func() time.Time
	// Loads counts parses that missed the cache, for tests and benchmarks.
	Loads int64
	// Closed counts entries closed after eviction, for tests.
	Closed int64
}

type cacheEntry struct {
	key     string
	value   any
	size    int64
	expires time.Time // failures only
	refs    int       // analyses holding the value
	evicted bool
}

// Default bounds of a SymbolCache.
const (
	defaultCacheBytes   = 256 << 20
	defaultCacheEntries = 4096
	defaultNegativeTTL  = 5 * time.Minute
)

// NewSymbolCache makes a cache holding about maxBytes of parsed symbols
// (256 MiB when maxBytes <= 0) in at most 4096 entries.
func NewSymbolCache(maxBytes int64) *SymbolCache {
	return NewSymbolCacheLimits(maxBytes, 0)
}

// NewSymbolCacheLimits is NewSymbolCache with a bound on the number of
// entries too (4096 when maxEntries <= 0).
func NewSymbolCacheLimits(maxBytes int64, maxEntries int) *SymbolCache {
	if maxBytes <= 0 {
		maxBytes = defaultCacheBytes
	}
	if maxEntries <= 0 {
		maxEntries = defaultCacheEntries
	}
	return &SymbolCache{maxBytes: maxBytes, maxEntries: maxEntries, lru: list.New(), byKey: map[string]*list.Element{},
		NegativeTTL: defaultNegativeTTL, now: time.Now}
}

// Len is the number of entries held.
func (c *SymbolCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// holds is what one analysis took from the cache; release gives it back.
type holds struct {
	c       *SymbolCache
	entries []*cacheEntry
}

func (h *holds) release() {
	if h == nil || h.c == nil {
		return
	}
	var closers []io.Closer
	h.c.mu.Lock()
	for _, e := range h.entries {
		e.refs--
		if e.refs == 0 && e.evicted {
			if cl, ok := e.value.(io.Closer); ok {
				closers = append(closers, cl)
			}
		}
	}
	h.c.Closed += int64(len(closers))
	h.c.mu.Unlock()
	h.entries = nil
	for _, cl := range closers {
		cl.Close()
	}
}

// get returns the cached value for key, or loads it. load returns the value,
// its approximate size in bytes, and an error; an error is remembered for
// NegativeTTL. When h is not nil the value is held for h's analysis: it is
// not closed, even if evicted, until h is released. Values that hold files
// implement io.Closer and must be got with a holder.
func (c *SymbolCache) get(key string, h *holds, load func() (any, int64, error)) (any, error) {
	c.mu.Lock()
	if el, ok := c.byKey[key]; ok {
		e := el.Value.(*cacheEntry)
		if e.expires.IsZero() || c.now().Before(e.expires) {
			c.lru.MoveToFront(el)
			v := e.value
			if ce, ok := v.(cachedErr); ok {
				c.mu.Unlock()
				return nil, ce.err
			}
			c.hold(e, h)
			c.mu.Unlock()
			return v, nil
		}
		c.removeLocked(el) // an expired failure: try again
	}
	c.Loads++
	c.mu.Unlock()
	v, size, err := load()
	e := &cacheEntry{key: key, value: v, size: size}
	if err != nil {
		e.value, e.size, e.expires = cachedErr{err}, 64, c.now().Add(c.NegativeTTL)
	}
	var closers []io.Closer
	c.mu.Lock()
	if el, ok := c.byKey[key]; ok { // loaded concurrently: keep the first
		c.lru.MoveToFront(el)
		if cl, ok := v.(io.Closer); ok && err == nil {
			closers = append(closers, cl)
		}
		e = el.Value.(*cacheEntry)
		if ce, ok := e.value.(cachedErr); ok {
			v, err = nil, ce.err
		} else {
			v, err = e.value, nil
		}
	} else {
		c.byKey[key] = c.lru.PushFront(e)
		c.used += e.size
	}
	if err == nil {
		c.hold(e, h)
	}
	for (c.used > c.maxBytes || c.lru.Len() > c.maxEntries) && c.lru.Len() > 1 {
		if cl := c.removeLocked(c.lru.Back()); cl != nil {
			closers = append(closers, cl)
		}
	}
	c.Closed += int64(len(closers))
	c.mu.Unlock()
	for _, cl := range closers {
		cl.Close()
	}
	return v, err
}

func (c *SymbolCache) hold(e *cacheEntry, h *holds) {
	if h == nil {
		return
	}
	h.c = c
	e.refs++
	h.entries = append(h.entries, e)
}

// removeLocked drops an entry and returns its closer when no analysis
// holds it; a held entry is closed by the last release.
func (c *SymbolCache) removeLocked(el *list.Element) io.Closer {
	e := el.Value.(*cacheEntry)
	c.lru.Remove(el)
	delete(c.byKey, e.key)
	c.used -= e.size
	e.evicted = true
	if e.refs > 0 {
		return nil
	}
	cl, _ := e.value.(io.Closer)
	return cl
}

type cachedErr struct{ err error }

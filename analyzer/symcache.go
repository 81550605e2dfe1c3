package analyzer

import (
	"container/list"
	"sync"
)

// SymbolCache keeps parsed symbol files and images across analyses, so a
// dump whose symbols were already loaded costs no parsing. Its memory is
// bounded by the sizes its entries report; the least recently used go first.
type SymbolCache struct {
	mu       sync.Mutex
	maxBytes int64
	used     int64
	lru      *list.List // of *cacheEntry, most recent first
	byKey    map[string]*list.Element
	// Loads counts parses that missed the cache, for tests and benchmarks.
	Loads int64
}

type cacheEntry struct {
	key   string
	value any
	size  int64
}

// NewSymbolCache makes a cache holding about maxBytes of parsed symbols
// (256 MiB when maxBytes <= 0).
func NewSymbolCache(maxBytes int64) *SymbolCache {
	if maxBytes <= 0 {
		maxBytes = 256 << 20
	}
	return &SymbolCache{maxBytes: maxBytes, lru: list.New(), byKey: map[string]*list.Element{}}
}

// get returns the cached value for key, or loads it. load returns the value,
// its approximate size in bytes, and an error (errors are cached too, so a
// missing file is not searched for again).
func (c *SymbolCache) get(key string, load func() (any, int64, error)) (any, error) {
	c.mu.Lock()
	if el, ok := c.byKey[key]; ok {
		c.lru.MoveToFront(el)
		v := el.Value.(*cacheEntry).value
		c.mu.Unlock()
		if e, ok := v.(cachedErr); ok {
			return nil, e.err
		}
		return v, nil
	}
	c.Loads++
	c.mu.Unlock()
	v, size, err := load()
	if err != nil {
		v, size = cachedErr{err}, 64
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[key]; ok { // loaded concurrently
		c.lru.MoveToFront(el)
	} else {
		c.byKey[key] = c.lru.PushFront(&cacheEntry{key: key, value: v, size: size})
		c.used += size
		for c.used > c.maxBytes && c.lru.Len() > 1 {
			last := c.lru.Back()
			e := last.Value.(*cacheEntry)
			c.lru.Remove(last)
			delete(c.byKey, e.key)
			c.used -= e.size
		}
	}
	return v, err
}

type cachedErr struct{ err error }

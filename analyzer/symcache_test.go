package analyzer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
	"testing"
	"time"

	"github.com/dumptriage/dumptriage/analyzer/minidump"
	"github.com/dumptriage/dumptriage/internal/testdata"
)

type closeCounter struct{ closed *int }

func (c closeCounter) Close() error { *c.closed++; return nil }

// TestSymbolCacheBounds: entries are bounded by count and bytes, failures
// expire, and an evicted entry is closed once, when its last holder lets go.
func TestSymbolCacheBounds(t *testing.T) {
	c := NewSymbolCacheLimits(1000, 3)
	now := time.Unix(0, 0)
	c.now = func() time.Time { return now }
	closed := 0
	load := func() (any, int64, error) { return closeCounter{&closed}, 10, nil }

	var h holds
	if _, err := c.get("held", &h, load); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		c.get(fmt.Sprint("k", i), nil, load)
	}
	if n := c.Len(); n != 3 {
		t.Errorf("%d entries, want the bound 3", n)
	}
	// k0 and k1 were evicted and closed; "held" was evicted but is held.
	if closed != 2 {
		t.Errorf("%d closed while held, want 2", closed)
	}
	h.release()
	if closed != 3 {
		t.Errorf("%d closed after release, want 3", closed)
	}

	// Bytes: one entry of 600 and one of 600 do not fit in 1000.
	c.get("big1", nil, func() (any, int64, error) { return 1, 600, nil })
	c.get("big2", nil, func() (any, int64, error) { return 2, 600, nil })
	if _, ok := c.byKey["big1"]; ok {
		t.Error("big1 kept past the byte bound")
	}

	// A failure is remembered for NegativeTTL, then loaded again.
	loads := 0
	fail := func() (any, int64, error) { loads++; return nil, 0, errors.New("missing") }
	c.get("neg", nil, fail)
	c.get("neg", nil, fail)
	if loads != 1 {
		t.Fatalf("failure loaded %d times within its TTL, want 1", loads)
	}
	now = now.Add(c.NegativeTTL + time.Second)
	c.get("neg", nil, fail)
	if loads != 2 {
		t.Errorf("failure not retried after its TTL: %d loads", loads)
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

func heapInuse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// TestSymbolCacheFlat: 10,000 symbol lookups across rotating symbol paths
// (each its own directory holding a PDB build and a DWARF build, 200 path
// changes in all, each evicting the oldest files) keep file
// descriptors and memory flat. The first phase runs with the garbage
// collector off, so no finalizer can close what eviction left open.
func TestSymbolCacheFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 lookups")
	}
	src := testdata.Path(t, "wine", "dumps", "av_threads")
	type build struct {
		d    *minidump.Dump
		rva  uint64
		want string
	}
	var builds []build
	for _, tag := range []string{"pdb", "mingw"} {
		f, err := os.Open(filepath.Join(src, "av_threads_x64_"+tag+"_aug.dmp"))
		if err != nil {
			t.Fatal(err)
		}
		st, _ := f.Stat()
		d, err := minidump.Open(f, st.Size())
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		builds = append(builds, build{d: d})
	}
	const paths = 16
	root := t.TempDir()
	var dirs []string
	for i := range paths {
		dir := filepath.Join(root, fmt.Sprint(i))
		os.MkdirAll(dir, 0o755)
		for _, name := range []string{"av_threads_x64_pdb.exe", "av_threads_x64_pdb.pdb", "av_threads_x64_mingw.exe"} {
			if err := os.Symlink(filepath.Join(src, name), filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
		}
		dirs = append(dirs, dir)
	}
	// A function start in each build, to look up.
	for i := range builds {
		a := newAnalysis(context.Background(), builds[i].d, Options{Symbols: NewSymbolCache(0), SymbolPath: dirs[0]})
		m := &builds[i].d.Modules[0]
		for rva := uint64(0x1000); rva < uint64(m.Size); rva += 0x10 {
			if s, ok := a.lookupSymbol(m, rva); ok && s.Source != "exports" {
				builds[i].rva, builds[i].want = rva, s.Name
				break
			}
		}
		a.held.release()
		if builds[i].want == "" {
			t.Fatalf("build %d: no symbol found", i)
		}
	}

	cache := NewSymbolCacheLimits(64<<20, 12)
	// The path changes every `every` lookups: each change loads and evicts,
	// the lookups between are served from the cache.
	every := 10
	lookup := func(i int) {
		b := builds[i%len(builds)]
		a := newAnalysis(context.Background(), b.d, Options{Symbols: cache, SymbolPath: dirs[(i/every)%paths]})
		s, ok := a.lookupSymbol(&b.d.Modules[0], b.rva)
		a.held.release()
		if !ok || s.Name != b.want {
			t.Fatalf("lookup %d: %q %v, want %q", i, s.Name, ok, b.want)
		}
	}
	fd0 := openFDs(t)
	old := debug.SetGCPercent(-1)
	for i := range 300 {
		lookup(i)
	}
	fdNoGC := openFDs(t)
	debug.SetGCPercent(old)
	if fdNoGC > fd0+12 {
		t.Errorf("without GC: %d descriptors open after 300 lookups, %d before (cache bound 12)", fdNoGC, fd0)
	}
	const total = 10000
	every = 50
	var fdWarm int
	var memWarm uint64
	for i := 300; i < total; i++ {
		lookup(i)
		if i == 1000 {
			fdWarm, memWarm = openFDs(t), heapInuse()
		}
	}
	fdEnd, memEnd := openFDs(t), heapInuse()
	t.Logf("descriptors: %d before, %d at 1,000 lookups, %d at %d; heap in use %d KiB then %d KiB; %d loads, %d closed",
		fd0, fdWarm, fdEnd, total, memWarm>>10, memEnd>>10, cache.Loads, cache.Closed)
	if fdEnd > fdWarm+2 || fdEnd > fd0+12 {
		t.Errorf("descriptors grew: %d at 1,000 lookups, %d at %d", fdWarm, fdEnd, total)
	}
	if memEnd > memWarm+16<<20 {
		t.Errorf("heap grew from %d KiB to %d KiB", memWarm>>10, memEnd>>10)
	}
	if cache.Len() > 12 {
		t.Errorf("cache holds %d entries, bound 12", cache.Len())
	}
	if cache.Closed == 0 {
		t.Error("no evicted file was closed")
	}
}

// TestSymbolCacheConcurrent: analyses sharing a small cache get, hold and
// release entries at once; every value is closed exactly once, and none
// while it is held.
func TestSymbolCacheConcurrent(t *testing.T) {
	c := NewSymbolCacheLimits(1<<20, 4)
	var mu sync.Mutex
	closed := map[int]int{}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				var h holds
				var got []*trackedCloser
				for k := range 3 {
					key := (g + i + k) % 10
					v, err := c.get(fmt.Sprint(key), &h, func() (any, int64, error) {
						mu.Lock()
						defer mu.Unlock()
						id := len(closed) + 1
						closed[id] = 0
						return &trackedCloser{id: id, mu: &mu, closed: closed}, 10, nil
					})
					if err != nil {
						t.Error(err)
						return
					}
					got = append(got, v.(*trackedCloser))
				}
				mu.Lock()
				for _, v := range got {
					if closed[v.id] != 0 {
						t.Errorf("value %d closed while held", v.id)
					}
				}
				mu.Unlock()
				h.release()
			}
		}()
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	for id, n := range closed {
		if n > 1 {
			t.Errorf("value %d closed %d times", id, n)
		}
	}
}

type trackedCloser struct {
	id     int
	mu     *sync.Mutex
	closed map[int]int
}

func (v *trackedCloser) Close() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.closed[v.id]++
	return nil
}

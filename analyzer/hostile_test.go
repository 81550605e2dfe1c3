package analyzer

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dumptriage/dumptriage/analyzer/report"
	"github.com/dumptriage/dumptriage/internal/synthdump"
	"github.com/dumptriage/dumptriage/internal/testdata"
)

// Targets for any input (issue 10): under 10 s, under 512 MB of process
// memory and under 64 MB of JSON. In process we hold the heap to less, as
// the process also holds the input and the runtime.
const (
	hostileMaxTime = 10 * time.Second
	hostileMaxJSON = 64 << 20
	hostileMaxHeap = 384 << 20
)

type hostileCase struct {
	name string
	make func(testing.TB) []byte
	// check looks at the report; nil checks only the bounds.
	check func(t testing.TB, r *Report)
}

func hostileCases() []hostileCase {
	cases := []hostileCase{
		// The shapes truth.py amplify makes with ../shared/tools/hostile.
		{"deep4000", func(tb testing.TB) []byte { return deepDump(tb, 4000, 65536) }, func(t testing.TB, r *Report) {
			if r.ThreadCount != 4000 || len(r.Threads) != 4000 {
				t.Errorf("threads %d listed of %d", len(r.Threads), r.ThreadCount)
			}
		}},
		{"thr100k", func(tb testing.TB) []byte { return manyThreads(tb, 100000) }, func(t testing.TB, r *Report) {
			if r.ThreadCount != 100000 || len(r.Threads) != 4096 {
				t.Errorf("threads %d listed of %d", len(r.Threads), r.ThreadCount)
			}
		}},
	}
	checks := map[string]func(testing.TB, *Report){
		// Past MaxThreads the thread the exception names is still listed.
		"threads-shared-context": func(t testing.TB, r *Report) {
			if r.ThreadCount != 300000 || r.CrashingThread == nil || r.CrashingThread.ThreadID != 300000 {
				t.Errorf("thread count %d, crashing thread %+v", r.ThreadCount, r.CrashingThread)
			}
		},
		"modules-shared-name": func(t testing.TB, r *Report) {
			if c := truncated(r, "modules"); c == nil || c.Count != 200000 || c.Listed != len(r.Modules) {
				t.Errorf("modules %d, truncated %+v", len(r.Modules), r.Truncated)
			}
			if n := len(r.Modules[0].Path); n > 3*1024+3 {
				t.Errorf("module name of %d bytes", n)
			}
		},
		"handles-shared-name": func(t testing.TB, r *Report) {
			if c := truncated(r, "handles"); c == nil || c.Count != 1000000 || c.Listed != len(r.Handles) {
				t.Errorf("handles %d, truncated %+v", len(r.Handles), r.Truncated)
			}
		},
	}
	for _, s := range synthdump.Hostile() {
		cases = append(cases, hostileCase{s.Name, func(testing.TB) []byte { return s.Make() }, checks[s.Name]})
	}
	return cases
}

func truncated(r *Report, what string) *report.ListCut {
	for i := range r.Truncated {
		if r.Truncated[i].What == what {
			return &r.Truncated[i]
		}
	}
	return nil
}

func readLE(b []byte, off int) uint32 { return binary.LittleEndian.Uint32(b[off:]) }

// stream finds a stream's directory index, size and RVA.
func stream(b []byte, typ uint32) (int, uint32, uint32) {
	n, dir := int(readLE(b, 8)), int(readLE(b, 12))
	for i := range n {
		if readLE(b, dir+12*i) == typ {
			return i, readLE(b, dir+12*i+4), readLE(b, dir+12*i+8)
		}
	}
	return -1, 0, 0
}

func setStream(b []byte, i int, typ, size, rva uint32) {
	dir := int(readLE(b, 12))
	binary.LittleEndian.PutUint32(b[dir+12*i:], typ)
	binary.LittleEndian.PutUint32(b[dir+12*i+4:], size)
	binary.LittleEndian.PutUint32(b[dir+12*i+8:], rva)
}

func pad(b []byte, n int) []byte {
	for len(b)%n != 0 {
		b = append(b, 0)
	}
	return b
}

func hostileBase(tb testing.TB) []byte {
	b, err := os.ReadFile(testdata.Path(tb, "wine", "dumps", "av_threads", "av_threads_x64_pdb_normal.dmp"))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// deepDump is make_deep.py: n threads sharing one context and one stack of
// stk bytes full of return addresses into the main module, so each walk
// scans up to the frame limit.
func deepDump(tb testing.TB, n, stk int) []byte {
	le := binary.LittleEndian
	b := hostileBase(tb)
	_, _, mr := stream(b, 4)
	ret := le.Uint64(b[mr+4:]) + 0x1010
	const S = 0x7ff0000000
	b = pad(b, 16)
	stackRva := len(b)
	for i := range stk / 8 {
		b = le.AppendUint64(b, ret+0x100+uint64(i%1000)*16)
	}
	ti, _, tr := stream(b, 3)
	e0 := append([]byte(nil), b[tr+4:tr+52]...)
	csize, crva := le.Uint32(e0[40:]), le.Uint32(e0[44:])
	ctx := append([]byte(nil), b[crva:crva+csize]...)
	le.PutUint64(ctx[0x98:], S+8)
	le.PutUint64(ctx[0xA0:], S)
	le.PutUint64(ctx[0xF8:], ret)
	b = pad(b, 16)
	ctxRva := len(b)
	b = append(b, ctx...)
	mi, _, mlr := stream(b, 5)
	mcnt := le.Uint32(b[mlr:])
	old := append([]byte(nil), b[mlr+4:mlr+4+16*mcnt]...)
	b = pad(b, 8)
	newMr := len(b)
	b = le.AppendUint32(b, mcnt+1)
	b = append(b, old...)
	b = le.AppendUint64(b, S)
	b = le.AppendUint32(b, uint32(stk))
	b = le.AppendUint32(b, uint32(stackRva))
	setStream(b, mi, 5, 4+16*(mcnt+1), uint32(newMr))
	e := append([]byte(nil), e0...)
	le.PutUint64(e[24:], S)
	le.PutUint32(e[32:], uint32(stk))
	le.PutUint32(e[36:], uint32(stackRva))
	le.PutUint32(e[40:], uint32(len(ctx)))
	le.PutUint32(e[44:], uint32(ctxRva))
	b = pad(b, 8)
	newTr := len(b)
	b = le.AppendUint32(b, uint32(n))
	for k := range n {
		le.PutUint32(e, uint32(0x100000+k))
		b = append(b, e...)
	}
	setStream(b, ti, 3, uint32(4+48*n), uint32(newTr))
	return b
}

// manyThreads is make_threads.py: n copies of the thread with the largest stack.
func manyThreads(tb testing.TB, n int) []byte {
	le := binary.LittleEndian
	b := hostileBase(tb)
	ti, _, tr := stream(b, 3)
	cnt := int(le.Uint32(b[tr:]))
	var best []byte
	for k := range cnt {
		e := b[int(tr)+4+48*k : int(tr)+4+48*k+48]
		if best == nil || le.Uint32(e[32:]) > le.Uint32(best[32:]) {
			best = append([]byte(nil), e...)
		}
	}
	b = pad(b, 8)
	newTr := len(b)
	b = le.AppendUint32(b, uint32(n))
	for k := range n {
		le.PutUint32(best, uint32(0x100000+k))
		b = append(b, best...)
	}
	setStream(b, ti, 3, uint32(4+48*n), uint32(newTr))
	return b
}

// peakHeap samples the heap in use while fn runs.
func peakHeap(fn func()) uint64 {
	var peak uint64
	var mu sync.Mutex
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			mu.Lock()
			peak = max(peak, ms.HeapInuse)
			mu.Unlock()
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	fn()
	close(done)
	wg.Wait()
	return peak
}

type countWriter struct{ n int }

func (c *countWriter) Write(p []byte) (int, error) { c.n += len(p); return len(p), nil }

// analyzeHostile runs one case as the worker does (a plain ReaderAt) and
// returns the report, its JSON size, the time and the peak heap above the
// input.
func analyzeHostile(tb testing.TB, in []byte) (*Report, int, time.Duration, uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	before := ms.HeapInuse
	var rep *Report
	var took time.Duration
	var size countWriter
	peak := peakHeap(func() {
		start := time.Now()
		var err error
		rep, err = Analyze(context.Background(), bytes.NewReader(in), int64(len(in)), Options{})
		if err != nil {
			tb.Fatal(err)
		}
		if err := rep.WriteJSON(&size); err != nil {
			tb.Fatal(err)
		}
		took = time.Since(start)
	})
	return rep, size.n, took, peak - min(peak, before)
}

// TestHostileShapes: every hostile shape analyses within the targets, with
// exact counts and a note of what was cut.
func TestHostileShapes(t *testing.T) {
	if testing.Short() {
		t.Skip("hostile shapes take a minute")
	}
	for _, c := range hostileCases() {
		t.Run(c.name, func(t *testing.T) {
			in := c.make(t)
			rep, size, took, heap := analyzeHostile(t, in)
			t.Logf("%d KB in: %s, %.1f MB JSON, %.0f MB heap; truncated %v", len(in)>>10, took.Round(time.Millisecond),
				float64(size)/1e6, float64(heap)/1e6, rep.Truncated)
			if took > hostileMaxTime || size > hostileMaxJSON || heap > hostileMaxHeap {
				t.Errorf("over the bounds: %s, %d bytes of JSON, %d bytes of heap", took, size, heap)
			}
			if c.check != nil {
				c.check(t, rep)
			}
			if len(rep.Truncated) > 0 && !strings.Contains(strings.Join(rep.Warnings, "\n"), "report lists") {
				t.Errorf("cut %v without a warning: %q", rep.Truncated, rep.Warnings)
			}
		})
	}
}

// BenchmarkHostile measures each hostile shape: time per analysis, MB of
// JSON and MB of peak heap.
func BenchmarkHostile(b *testing.B) {
	for _, c := range hostileCases() {
		b.Run(c.name, func(b *testing.B) {
			in := c.make(b)
			b.ResetTimer()
			var size int
			var heap uint64
			for range b.N {
				_, size, _, heap = analyzeHostile(b, in)
			}
			b.ReportMetric(float64(size)/1e6, "MB-json")
			b.ReportMetric(float64(heap)/1e6, "MB-heap")
			b.ReportMetric(float64(len(in))/1e6, "MB-in")
		})
	}
}

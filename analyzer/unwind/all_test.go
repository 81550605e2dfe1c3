package unwind

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dumptriage/dumptriage/analyzer/minidump"
)

// allDumps lists every minidump under shared/testdata.
func allDumps(t testing.TB) []string {
	var out []string
	filepath.WalkDir(sharedTestdata(t), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".dmp") || strings.HasSuffix(p, ".mdmp")) {
			out = append(out, p)
		}
		return nil
	})
	if len(out) < 40 {
		t.Fatalf("found %d dumps", len(out))
	}
	return out
}

// localModules finds images beside the dump (and Wine's DLLs for Wine
// dumps) and .sym files in a symbols/ directory beside it.
func localModules(t testing.TB, d *minidump.Dump, path string) testModules {
	dirs := []string{filepath.Dir(path)}
	if strings.Contains(path, string(filepath.Separator)+"wine"+string(filepath.Separator)) {
		dirs = append(dirs, filepath.Join(sharedTestdata(t), "wine", "dumps", "_wine_dlls", "x64"))
	}
	return dumpModules(t, d, filepath.Join(filepath.Dir(path), "symbols"), dirs...)
}

type dumpWalk struct {
	d   *minidump.Dump
	ms  testModules
	f   *os.File
	ctx []*minidump.Context
}

func openWalk(t testing.TB, path string) *dumpWalk {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := f.Stat()
	d, err := minidump.Open(f, st.Size())
	if err != nil {
		f.Close()
		return nil // malformed on purpose
	}
	w := &dumpWalk{d: d, f: f, ms: localModules(t, d, path)}
	for _, th := range d.Threads {
		if th.Context != nil {
			w.ctx = append(w.ctx, th.Context)
		}
	}
	if d.Exception != nil && d.Exception.Context != nil {
		w.ctx = append(w.ctx, d.Exception.Context)
	}
	return w
}

func (w *dumpWalk) walk() (frames int) {
	opts := Options{StackLimits: stackLimits(w.d)}
	for _, c := range w.ctx {
		frames += len(Walk(c, w.d, w.ms, opts))
	}
	return frames
}

// TestAllDumps walks every thread of every dump in shared/testdata, reading
// through the file as the analyzer does, and checks the time of each dump
// against the 50 ms budget (with slack for a loaded machine).
func TestAllDumps(t *testing.T) {
	for _, p := range allDumps(t) {
		w := openWalk(t, p)
		if w == nil {
			continue
		}
		start := time.Now()
		n := w.walk()
		el := time.Since(start)
		w.f.Close()
		if el > 200*time.Millisecond {
			t.Errorf("%s: %d frames in %v", p, n, el)
		}
		if testing.Verbose() {
			t.Logf("%-90s %3d threads %5d frames %v", strings.TrimPrefix(p, sharedTestdata(t)), len(w.ctx), n, el)
		}
	}
}

// BenchmarkAllDumps reports the time to walk all threads of the slowest
// dumps (the budget is 50 ms per dump).
func BenchmarkAllDumps(b *testing.B) {
	for _, p := range allDumps(b) {
		w := openWalk(b, p)
		if w == nil {
			continue
		}
		name := strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				w.walk()
			}
		})
		w.f.Close()
	}
}

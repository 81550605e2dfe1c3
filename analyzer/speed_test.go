package analyzer

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/dumptriage/dumptriage/analyzer/minidump"
	"github.com/dumptriage/dumptriage/internal/testdata"
)

// BenchmarkAnalyzeBig analyzes the real dumps with the most threads and
// modules, the ones the speed goal is measured on.
func BenchmarkAnalyzeBig(b *testing.B) {
	for _, rel := range []string{
		"public/LYJ-Kerman__crash-log/crash.dmp",
		"public/getsentry__symbolic/symbolic-testutils/fixtures/unreal/unreal_crash.extracted/UE4Minidump.dmp",
	} {
		b.Run(rel[:12], func(b *testing.B) {
			f, err := os.Open(testdata.Path(b, rel))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			st, _ := f.Stat()
			for i := 0; i < b.N; i++ {
				if _, err := Analyze(context.Background(), f, st.Size(), Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkWineWithSymbols analyzes every Wine dump with its exe, PDB and
// Wine's DLLs on the symbol path, sharing one symbol cache as the worker
// does: all threads walked and symbolized.
func BenchmarkWineWithSymbols(b *testing.B) {
	dlls := testdata.Path(b, "wine", "dumps", "_wine_dlls", "x64")
	paths, _ := filepath.Glob(testdata.Path(b, "wine", "dumps", "*", "*.dmp"))
	cache := NewSymbolCache(0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, p := range paths {
			f, _ := os.Open(p)
			st, _ := f.Stat()
			if _, err := Analyze(context.Background(), f, st.Size(), Options{Symbols: cache, SymbolPath: filepath.Dir(p) + ";" + dlls}); err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N*len(paths)), "ms/dump")
}

// BenchmarkSizeRecovery times the allocation-failure step alone (finding
// the allocator frame, disassembling the caller, evaluating the size, the
// debug-info cross-check and the verdict) on the OOM dumps.
func BenchmarkSizeRecovery(b *testing.B) {
	dlls := testdata.Path(b, "wine", "dumps", "_wine_dlls", "x64")
	var prepared []*analysis
	for _, scenario := range []string{"oom_vector", "heap_nomem"} {
		paths, _ := filepath.Glob(testdata.Path(b, "wine", "dumps", scenario, "*.dmp"))
		for _, p := range paths {
			f, _ := os.Open(p)
			defer f.Close()
			st, _ := f.Stat()
			d, err := minidump.Open(newBlockCache(f, st.Size()), st.Size())
			if err != nil {
				b.Fatal(err)
			}
			a := newAnalysis(context.Background(), d, Options{Symbols: NewSymbolCache(0), SymbolPath: filepath.Dir(p) + ";" + dlls, MaxFrames: 1024})
			a.run()
			prepared = append(prepared, a)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, a := range prepared {
			a.rep.AllocationFailure = nil
			a.analyzeAllocationFailure()
			if a.rep.AllocationFailure == nil || a.rep.AllocationFailure.RequestedBytes == nil {
				b.Fatal("no size")
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*len(prepared)), "µs/dump")
}

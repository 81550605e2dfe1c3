package analyzer

import (
	"context"
	"os"
	"testing"

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

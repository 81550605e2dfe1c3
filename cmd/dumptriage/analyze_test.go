package main

import (
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dumptriage/dumptriage/internal/testdata"
)

// BenchmarkAnalyzeCommand runs `dumptriage analyze --json` in process on
// the dumps the speed goal is measured on (hashing, analysis and output).
func BenchmarkAnalyzeCommand(b *testing.B) {
	for _, rel := range []string{"public/LYJ-Kerman__crash-log/crash.dmp",
		"public/getsentry__symbolic/symbolic-testutils/fixtures/unreal/unreal_crash.extracted/UE4Minidump.dmp"} {
		p := testdata.Path(b, rel)
		b.Run(filepath.Base(p), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if err := runAnalyze([]string{"--json", p}, io.Discard, io.Discard); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestAnalyzeCommandErrors(t *testing.T) {
	var errOut strings.Builder
	err := runAnalyze([]string{}, io.Discard, &errOut)
	if err == nil || !strings.Contains(err.Error(), "no dump file") {
		t.Errorf("no file: %v", err)
	}
}

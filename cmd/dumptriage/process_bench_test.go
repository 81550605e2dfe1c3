package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/dumptriage/dumptriage/internal/testdata"
)

// BenchmarkAnalyzeProcess runs the built binary, `dumptriage analyze --json
// DUMP`, as a new process per iteration: what a user and the speed goal
// measure, start-up and first-touch page faults included (the in-process
// BenchmarkAnalyzeCommand sees neither). It reports the median wall time and
// the page faults per run. With $STACKWALK set to Breakpad's
// minidump_stackwalk, it runs `minidump_stackwalk -m DUMP` the same way and
// reports our time over Breakpad's.
//
//	go test -run '^$' -bench AnalyzeProcess -benchtime 30x ./cmd/dumptriage
func BenchmarkAnalyzeProcess(b *testing.B) {
	bin := filepath.Join(b.TempDir(), "dumptriage")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	peer := os.Getenv("STACKWALK")
	for _, rel := range []string{"public/LYJ-Kerman__crash-log/crash.dmp",
		"public/getsentry__symbolic/symbolic-testutils/fixtures/unreal/unreal_crash.extracted/UE4Minidump.dmp"} {
		p := testdata.Path(b, rel)
		b.Run(filepath.Base(p), func(b *testing.B) {
			var ours, theirs []time.Duration
			var faults int64
			for i := 0; i < b.N; i++ {
				d, f := runOnce(b, bin, "analyze", "--json", p)
				ours = append(ours, d)
				faults += f
				if peer != "" {
					d, _ := runOnce(b, peer, "-m", p)
					theirs = append(theirs, d)
				}
			}
			b.ReportMetric(float64(median(ours).Microseconds())/1000, "ms/run")
			b.ReportMetric(float64(faults)/float64(b.N), "faults/run")
			if peer != "" {
				b.ReportMetric(float64(median(theirs).Microseconds())/1000, "breakpad-ms/run")
				b.ReportMetric(float64(median(ours))/float64(median(theirs)), "ratio")
			}
		})
	}
}

func runOnce(b *testing.B, bin string, args ...string) (time.Duration, int64) {
	cmd := exec.Command(bin, args...)
	// Read the output through pipes, as a caller capturing it does.
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	start := time.Now()
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s: %v", bin, err)
	}
	d := time.Since(start)
	var faults int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		faults = ru.Minflt + ru.Majflt
	}
	return d, faults
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

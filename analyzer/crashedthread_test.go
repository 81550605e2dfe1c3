package analyzer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dumptriage/dumptriage/internal/testdata"
)

// TestUnrealCrashedThread: Unreal wrote its dump from the crash reporter
// thread 8148, which the Exception stream names, but the exception
// context's stack pointer lies in the game thread 11644's stack. The
// crashing thread keeps the id and index the dump names (as every peer
// reports them), its frames are the exception context's walk on 11644's
// stack, and crashed_thread_id with the reason say so. Frame 0 is RaiseException in KERNELBASE (Unreal raises
// code 1 for an assert) and frame 1 the game's frame the crash reporter's
// own CallStack names FDebug::AssertFailed: both sit above the fault, and
// the signature starts below them.
func TestUnrealCrashedThread(t *testing.T) {
	dir := testdata.Path(t, "public", "getsentry__symbolic", "symbolic-testutils", "fixtures", "unreal", "unreal_crash.extracted")
	ctx, err := os.ReadFile(filepath.Join(dir, "CrashContext.runtime-xml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, withLog := range []bool{false, true} {
		opts := Options{}
		if withLog {
			opts.ReporterLog = ctx
		}
		rep := analyzeFile(t, filepath.Join(dir, "UE4Minidump.dmp"), opts)
		ct := rep.CrashingThread
		if ct == nil || ct.ThreadID != 8148 || ct.ThreadsIndex != 4 || *rep.CrashInfo.CrashingThread != 4 {
			t.Fatalf("crashing thread %+v, want 8148 (index 4), as the Exception stream names it", ct)
		}
		if ct.CrashedThreadID == nil || *ct.CrashedThreadID != 11644 || ct.CrashedThreadsIndex == nil || *ct.CrashedThreadsIndex != 0 {
			t.Fatalf("crashed thread %v (index %v), want 11644 (index 0)", ct.CrashedThreadID, ct.CrashedThreadsIndex)
		}
		if got := rep.Threads[0].Frames; len(got) != len(ct.Frames) || got[0].Offset != ct.Frames[0].Offset {
			t.Errorf("threads[0] (11644) does not carry the crash's walk")
		}
		if !strings.Contains(ct.Reason, "8148") || !strings.Contains(ct.Reason, "11644") {
			t.Errorf("reason %q", ct.Reason)
		}
		if rep.Exception.ThreadID != 8148 {
			t.Errorf("the exception record keeps the writer's thread: %d", rep.Exception.ThreadID)
		}
		if ct.Frames[0].Module != "KERNELBASE.dll" {
			t.Fatalf("frame 0 in %s", ct.Frames[0].Module)
		}
		want := 1 // RaiseException
		if withLog {
			want = 2 // and FDebug::AssertFailed, by the reporter's CallStack
			rs := rep.ReporterStack
			if rs == nil || rs.Source != "Unreal CrashContext" || len(rs.Frames) != 16 || rs.Disagreements != 0 {
				t.Errorf("reporter stack %+v", rs)
			}
		}
		if ct.HandlerFrames != want {
			t.Errorf("handler frames %d, want %d", ct.HandlerFrames, want)
		}
		if strings.HasPrefix(rep.Signature, "kernelbase") || want == 2 && strings.Contains(rep.Signature, "0xd12e0b") {
			t.Errorf("signature %q starts in the handler", rep.Signature)
		}
	}
}

// TestUnityReporterStack holds Player.log's stack against ours: all 69
// logged frames, the Mono JIT ones included, are ours in order.
func TestUnityReporterStack(t *testing.T) {
	dir := testdata.Path(t, "public", "LYJ-Kerman__crash-log")
	log, err := os.ReadFile(filepath.Join(dir, "Player.log"))
	if err != nil {
		t.Fatal(err)
	}
	rep := analyzeFile(t, filepath.Join(dir, "crash.dmp"), Options{ReporterLog: log})
	rs := rep.ReporterStack
	if rs == nil || rs.Source != "Unity Player.log" || len(rs.Frames) != 69 {
		t.Fatalf("reporter stack %+v", rs)
	}
	if rs.Disagreements != 0 {
		t.Errorf("%d disagreements", rs.Disagreements)
	}
	if f := rs.Frames[3]; f.OurFrame == nil || rep.CrashingThread.Frames[*f.OurFrame].Module != "Mono JIT code" {
		t.Errorf("Player.log's first JIT frame: %+v", f)
	}
	if rep.CrashingThread.Reason != "" || rep.CrashingThread.HandlerFrames != 0 {
		t.Errorf("Unity writes from the crashed thread and its exception context is the fault: %+v", rep.CrashingThread)
	}
	// Without the log, no second opinion.
	if rep := analyzeFile(t, filepath.Join(dir, "crash.dmp"), Options{}); rep.ReporterStack != nil {
		t.Errorf("reporter stack without a log: %+v", rep.ReporterStack)
	}
}

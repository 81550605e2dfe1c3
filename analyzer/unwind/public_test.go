package unwind

import (
	"path/filepath"
	"testing"
)

type wantFrame struct {
	pc, sp, fp uint64 // sp/fp 0: not checked
	trust      string
}

func checkFrames(t *testing.T, ms testModules, got []Frame, want []wantFrame, exactCount bool) {
	t.Helper()
	if len(got) < len(want) || exactCount && len(got) != len(want) {
		t.Fatalf("%d frames, want %d:\n%s", len(got), len(want), formatFrames(ms, got))
	}
	for i, w := range want {
		f := got[i]
		if f.PC != w.pc || w.sp != 0 && f.SP != w.sp || w.fp != 0 && f.FP != w.fp || w.trust != "" && f.Trust != w.trust {
			t.Errorf("frame %d: pc %#x sp %#x fp %#x %s, want pc %#x sp %#x fp %#x %s\n%s", i, f.PC, f.SP, f.FP, f.Trust,
				w.pc, w.sp, w.fp, w.trust, formatFrames(ms, got))
		}
	}
}

// TestBreakpadMinidump2 walks Breakpad's x86 test dump with its .sym files
// (STACK WIN records) and checks every register minidump_stackwalk printed
// in minidump2.stackwalk.out.
func TestBreakpadMinidump2(t *testing.T) {
	dir := filepath.Join(sharedTestdata(t), "public", "google__breakpad", "src", "processor", "testdata")
	d := openDump(t, filepath.Join(dir, "minidump2.dmp"))
	ms := dumpModules(t, d, filepath.Join(dir, "symbols"))
	got := WalkX86(d.Exception.Context.X86, d, ms, Options{StackLimits: stackLimits(d)})
	checkFrames(t, ms, got, []wantFrame{
		{0x0040429e, 0x0012fe84, 0x0012fe88, TrustContext},
		{0x00404200, 0x0012fe90, 0x0012ff70, TrustCFI},
		{0x004053ec, 0x0012ff78, 0x0012ffc0, TrustCFI},
		{0x7c816fd7, 0x0012ffc8, 0x0012fff0, TrustCFI},
	}, true)
	// Without symbols the EBP chain finds the same return addresses.
	ms = dumpModules(t, d, "")
	got = WalkX86(d.Exception.Context.X86, d, ms, Options{StackLimits: stackLimits(d)})
	checkFrames(t, ms, got, []wantFrame{{pc: 0x0040429e}, {pc: 0x00404200}, {pc: 0x004053ec}, {pc: 0x7c816fd7}}, false)
}

// TestLLDBFizzbuzz walks LLDB's x86 dump (no images, no symbols): the six
// PCs its TestMiniDump.py asserts.
func TestLLDBFizzbuzz(t *testing.T) {
	path := filepath.Join(sharedTestdata(t), "public", "llvm-mirror__lldb", "packages", "Python", "lldbsuite", "test",
		"functionalities", "postmortem", "minidump", "fizzbuzz_no_heap.dmp")
	d := openDump(t, path)
	ms := dumpModules(t, d, "")
	got := WalkX86(d.Exception.Context.X86, d, ms, Options{StackLimits: stackLimits(d)})
	checkFrames(t, ms, got, []wantFrame{{pc: 0x164d14}, {pc: 0x167c79}, {pc: 0x167e6d}, {pc: 0x7510336a},
		{pc: 0x77759882}, {pc: 0x77759855}}, true)
}

// TestUnityNoImages walks the Unity crash, for which no image is available:
// frame 1 comes from executing the captured code after the PC (its
// epilogue), and the third frame of error.log is the first return address
// that the scan finds after two stale ones it cannot tell apart without code
// bytes.
func TestUnityNoImages(t *testing.T) {
	d := openDump(t, filepath.Join(sharedTestdata(t), "public", "LYJ-Kerman__crash-log", "crash.dmp"))
	ms := dumpModules(t, d, "")
	got := WalkAMD64(d.Exception.Context.AMD64, d, ms, Options{StackLimits: stackLimits(d), MaxFrames: 8})
	checkFrames(t, ms, got, []wantFrame{{pc: 0x7FF9F4D221FD, trust: TrustContext}, {pc: 0x7FF9F4D1FED5, trust: TrustCFI}}, false)
	found := false
	for _, f := range got[2:] {
		if f.PC == 0x7FF9F4F41279 {
			found = true
		}
	}
	if !found {
		t.Errorf("0x7FF9F4F41279 not among the scanned frames:\n%s", formatFrames(ms, got))
	}
}

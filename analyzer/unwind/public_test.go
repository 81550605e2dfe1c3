package unwind

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dumptriage/dumptriage/analyzer/minidump"
	"github.com/dumptriage/dumptriage/analyzer/report"
	"github.com/dumptriage/dumptriage/analyzer/symbols/breakpad"
)

type wantFrame struct {
	pc, sp, fp uint64 // sp/fp 0: not checked
	trust      report.Trust
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
// epilogue), and the third frame of error.log comes from the scan, after
// one stale return address it cannot tell apart without code bytes (one
// more lies in frame 1's home area, which the scan skips).
func TestUnityNoImages(t *testing.T) {
	d := openDump(t, filepath.Join(sharedTestdata(t), "public", "LYJ-Kerman__crash-log", "crash.dmp"))
	ms := dumpModules(t, d, "")
	got := WalkAMD64(d.Exception.Context.AMD64, d, ms, Options{StackLimits: stackLimits(d), MaxFrames: 8})
	checkFrames(t, ms, got, []wantFrame{{pc: 0x7FF9F4D221FD, trust: TrustContext}, {pc: 0x7FF9F4D1FED5, trust: TrustEmulation}}, false)
	if got[3].PC != 0x7FF9F4F41279 {
		t.Errorf("frame 3 is not 0x7FF9F4F41279:\n%s", formatFrames(ms, got))
	}
}

// withJIT adds a dump's dynamic function tables to its modules.
type withJIT struct {
	testModules
	jit []*JITTable
}

func (w withJIT) ModuleAt(addr uint64) Module {
	if m := w.testModules.ModuleAt(addr); m != nil {
		return m
	}
	for _, t := range w.jit {
		if addr >= t.BaseAddr && addr < t.End {
			return t
		}
	}
	return nil
}

func jitTables(d *minidump.Dump) []*JITTable {
	var out []*JITTable
	for _, ft := range d.FunctionTables {
		out = append(out, NewJITTable(ft.BaseAddress, ft.MaximumAddress, ft.Entries, int(ft.EntrySize), "Mono JIT code", d))
	}
	return out
}

// TestUnityJIT walks the Unity crash through Mono's JIT code with the
// FunctionTable stream: Player.log's three Mono JIT frames follow its three
// UnityPlayer frames; the first is scanned (a UnityPlayer frame below it
// has no unwind data), its callers come from the table's UNWIND_INFO
// (push rbp; mov rbp, rsp) with the frame record found on the stack, down
// to the runtime_invoke wrapper and mono_get_runtime_build_info, as the
// log has them.
func TestUnityJIT(t *testing.T) {
	d := openDump(t, filepath.Join(sharedTestdata(t), "public", "LYJ-Kerman__crash-log", "crash.dmp"))
	if len(d.FunctionTables) != 46 {
		t.Fatalf("%d function tables, want 46", len(d.FunctionTables))
	}
	ms := dumpModules(t, d, "")
	mods := withJIT{ms, jitTables(d)}
	got := WalkAMD64(d.Exception.Context.AMD64, d, mods, Options{StackLimits: stackLimits(d), MaxFrames: 12})
	want := []wantFrame{
		{pc: 0x7FF9F4D221FD, trust: TrustContext}, {pc: 0x7FF9F4D1FED5, trust: TrustEmulation},
		{pc: 0x7FF9F4F41279, trust: TrustScan}, {pc: 0x21E3438B78A, trust: TrustScan},
		{pc: 0x21E3438B6FB, sp: 0x5ebed1d4f0, trust: TrustCFI}, {pc: 0x21E3438B163, trust: TrustCFI},
		{pc: 0x21E4740DB70, trust: TrustCFI}, {pc: 0x7FF9F3FDBC80, trust: TrustCFI},
	}
	k := 0
	for _, w := range want {
		for k < len(got) && got[k].PC != w.pc {
			k++
		}
		if k == len(got) {
			t.Fatalf("no frame %#x after the ones before it:\n%s", w.pc, formatFrames(ms, got))
		}
		if got[k].Trust != w.trust || w.sp != 0 && got[k].SP != w.sp {
			t.Errorf("frame %d %#x: trust %s sp %#x, want %s sp %#x", k, w.pc, got[k].Trust, got[k].SP, w.trust, w.sp)
		}
	}
	// Without the tables the walk never reaches JIT code.
	for _, f := range WalkAMD64(d.Exception.Context.AMD64, d, ms, Options{StackLimits: stackLimits(d), MaxFrames: 12}) {
		if f.PC >= 0x21E00000000 && f.PC < 0x21F00000000 {
			t.Errorf("frame %#x in JIT code without the tables", f.PC)
		}
	}
}

// TestSentryMiniNoSymbols walks Sentry's x86 mini.dmp without images or
// symbols: the five frames symbolicator's snapshot records with crash.sym
// (main, __scrt_common_main_seh, kernel32, ntdll, ntdll). Frame 1 comes from
// executing main's captured epilogue, the rest from the EBP chain.
func TestSentryMiniNoSymbols(t *testing.T) {
	dir := filepath.Join(sharedTestdata(t), "public", "getsentry__symbolic", "symbolic-testutils", "fixtures", "windows")
	d := openDump(t, filepath.Join(dir, "mini.dmp"))
	ms := dumpModules(t, d, "")
	got := WalkX86(d.Exception.Context.X86, d, ms, Options{StackLimits: stackLimits(d)})
	checkFrames(t, ms, got, []wantFrame{{pc: 0x2a2a3d}, {pc: 0x2a2d97}, {pc: 0x750662c4}, {pc: 0x771d0f79}, {pc: 0x771d0f44}}, true)
	// With crash.sym (STACK WIN records) the same frames are found by CFI.
	f, err := os.Open(filepath.Join(dir, "crash.sym"))
	if err != nil {
		t.Fatal(err)
	}
	bp, err := breakpad.Parse(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if strings.EqualFold(m.ModuleName, "crash.exe") {
			m.Sym = bp
		}
	}
	got = WalkX86(d.Exception.Context.X86, d, ms, Options{StackLimits: stackLimits(d)})
	checkFrames(t, ms, got, []wantFrame{{pc: 0x2a2a3d}, {pc: 0x2a2d97, trust: TrustCFI}, {pc: 0x750662c4}}, false)
}

// TestLLDBSigsegvNoImages walks LLDB's x64 sigsegv.dmp (no image): the
// functions come from sigsegv.pdb (llvm-pdbutil: crash 0x10b0-0x10f5, foo
// 0x1100-0x117c, main 0x1040-0x1064, mainCRTStartup 0x1070-0x107e). Frame
// 1 is exact (crash's epilogue executed); the scan for main's return
// address starts above foo's 32-byte home area, where two .rdata pointers
// (0x3001, 0x3060) would otherwise be taken for frames.
func TestLLDBSigsegvNoImages(t *testing.T) {
	path := filepath.Join(sharedTestdata(t), "public", "llvm-mirror__lldb", "test", "Shell", "Minidump", "Windows", "Sigsegv", "Inputs", "sigsegv.dmp")
	d := openDump(t, path)
	ms := dumpModules(t, d, "")
	got := WalkAMD64(d.Exception.Context.AMD64, d, ms, Options{StackLimits: stackLimits(d)})
	keys := frameKeys(ms, got)
	want := []string{"sigsegv.exe+0x10d9 context", "sigsegv.exe+0x1171 emulation", "sigsegv.exe+0x105d scan",
		"sigsegv.exe+0x1079 emulation", "kernel32.dll+0x11fe4 emulation", "ntdll.dll+0x6cb81 scan"}
	if len(keys) < len(want) {
		t.Fatalf("frames %q", keys)
	}
	for i, w := range want {
		if keys[i] != w {
			t.Errorf("frame %d: %s, want %s\n%s", i, keys[i], w, formatFrames(ms, got))
		}
	}
}

// TestBreakpadNonCanonicalNoImages: frame 1 from the epilogue after the PC,
// then kernel32!BaseThreadInitThunk+0x14 and ntdll!RtlUserThreadStart+0x21
// found by the scan.
func TestBreakpadNonCanonicalNoImages(t *testing.T) {
	dir := filepath.Join(sharedTestdata(t), "public", "google__breakpad", "src", "processor", "testdata")
	d := openDump(t, filepath.Join(dir, "write_av_non_canonical.dmp"))
	ms := dumpModules(t, d, "")
	got := WalkAMD64(d.Exception.Context.AMD64, d, ms, Options{StackLimits: stackLimits(d)})
	keys := frameKeys(ms, got)
	want := []string{"crash.exe+0x1331 context", "crash.exe+0x33f0 emulation", "kernel32.dll+0x17034 scan", "ntdll.dll+0x526a1 scan"}
	if len(keys) < len(want) {
		t.Fatalf("frames %q", keys)
	}
	for i, w := range want {
		if keys[i] != w {
			t.Errorf("frame %d: %s, want %s", i, keys[i], w)
		}
	}
}

// TestStackCFIX86 unwinds through STACK CFI rules (none of the real .sym
// files here has x86 CFI).
func TestStackCFIX86(t *testing.T) {
	sym := "MODULE windows x86 0 a.pdb\n" +
		"STACK CFI INIT 1000 100 .cfa: $esp 4 + .ra: .cfa 4 - ^\n" +
		"STACK CFI 1001 .cfa: $esp 8 + $ebp: .cfa 8 - ^\n" +
		"STACK CFI 1003 .cfa: $ebp 8 + $ebx: .cfa 12 - ^\n"
	bp, err := breakpad.Parse(strings.NewReader(sym))
	if err != nil {
		t.Fatal(err)
	}
	m := &fuzzSym{synthModule: &synthModule{base: 0x400000, img: make([]byte, 0x5000), pdata: 0x3000, codeEnd: 0x3000}, bp: bp}
	s := &stackMem{base: stackBase, b: make([]byte, 0x1000)}
	put32 := func(a, v uint64) { binary.LittleEndian.PutUint32(s.b[a-stackBase:], uint32(v)) }
	// The caller called 0x401000 from 0x402345 (E8 before it, into the module).
	copy(m.img[0x2340:], []byte{0xE8, 0xBB, 0xEC, 0xFF, 0xFF})
	put32(0x10800, 0x402345) // return address
	put32(0x107fc, 0x10900)  // saved ebp
	put32(0x107f8, 0xb0b0)   // saved ebx
	ctx := &minidump.ContextX86{Eip: 0x401010, Esp: 0x107e0, Ebp: 0x107fc, Ebx: 0x1}
	got := WalkX86(ctx, s, m, Options{MaxFrames: 2})
	if len(got) != 2 {
		t.Fatalf("%d frames", len(got))
	}
	f := got[1]
	ebx, _ := f.Regs.Get(RegEBX)
	if f.PC != 0x402345 || f.SP != 0x10804 || f.FP != 0x10900 || ebx != 0xb0b0 || f.Trust != TrustCFI {
		t.Errorf("caller pc %#x sp %#x ebp %#x ebx %#x %s", f.PC, f.SP, f.FP, ebx, f.Trust)
	}
}

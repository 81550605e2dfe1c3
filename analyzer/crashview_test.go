package analyzer

import (
	"fmt"
	"strings"
	"testing"

	"github.com/dumptriage/dumptriage/analyzer/report"
	"github.com/dumptriage/dumptriage/internal/testdata"
)

// TestCrashViewWine checks the crash view of Wine's STATUS_NO_MEMORY dump
// against independent tools: lldb's transcript of the dump shows
// "-> 0x170025de8 <+1992>: jmp 0x170025de0" for frame 0, and llvm-objdump
// of Wine's ntdll.dll shows "170029fd5: e8 16 be ff ff call 0x170025df0
// <RtlRaiseStatus>" before frame 2's return address.
func TestCrashViewWine(t *testing.T) {
	dir := testdata.Path(t, "wine", "dumps")
	rep := analyzeFile(t, dir+"/heap_nomem/heap_nomem_x64_mingw_normal.dmp",
		Options{SymbolPath: dir + "/heap_nomem;" + dir + "/_wine_dlls/x64"})
	cv := rep.CrashView
	if cv == nil || len(cv.Disassembly) < 3 {
		t.Fatalf("crash view %+v", cv)
	}
	marked := func(w report.Disassembly) report.Instruction {
		t.Helper()
		var out []report.Instruction
		for _, in := range w.Instructions {
			if in.Marked {
				out = append(out, in)
			}
		}
		if len(out) != 1 {
			t.Fatalf("frame %d: %d marked instructions", w.Frame, len(out))
		}
		return out[0]
	}
	w0 := cv.Disassembly[0]
	if w0.Frame != 0 || w0.Address != 0x170025de8 || !w0.BeforeCertain || w0.StartFrom != report.StartFunction || w0.Source != "dump" {
		t.Errorf("frame 0 window %+v", w0)
	}
	if in := marked(w0); in.Address != 0x170025de8 || in.Text != "jmp 0x170025de0" || in.Bytes != "ebf6" {
		t.Errorf("frame 0 marks %+v", in)
	}
	if n := len(w0.Instructions); n != crashBefore+crashAfter {
		t.Errorf("frame 0 shows %d instructions", n)
	}
	w2 := cv.Disassembly[2]
	if in := marked(w2); w2.Address != 0x170029fda || in.Address != 0x170029fd5 || in.Text != "call ntdll!RtlRaiseStatus" || in.Bytes != "e816beffff" {
		t.Errorf("frame 2 marks %+v in %+v", in, w2)
	}
	if w2.Source != "image" {
		t.Errorf("frame 2's code from %q, want the image (Wine captured only bytes around the pc)", w2.Source)
	}
	if len(cv.Memory) != 1 {
		t.Fatalf("memory views %+v", cv.Memory)
	}
	m := cv.Memory[0]
	off := int(m.Address - m.Start)
	if m.What != "exception address" || m.Size != hexViewBytes || len(m.Bytes) != 2*m.Size || m.Bytes[2*off:2*off+4] != "ebf6" ||
		m.Captured == 0 || m.Captured == m.Size || !strings.Contains(m.Bytes, "??") {
		t.Errorf("memory view %+v", m)
	}
}

// TestCrashViewOverflow: the recursion's windows are shown once, the
// accessed address's memory is the stack, and every thread's recursion is
// found.
func TestCrashViewOverflow(t *testing.T) {
	dir := testdata.Path(t, "wine", "dumps")
	rep := analyzeFile(t, dir+"/stack_overflow/stack_overflow_x64_mingw_normal.dmp",
		Options{SymbolPath: dir + "/stack_overflow;" + dir + "/_wine_dlls/x64"})
	cv := rep.CrashView
	if cv == nil || len(cv.Disassembly) != crashViewCallers+1 {
		t.Fatalf("crash view with %d windows", len(cv.Disassembly))
	}
	same := 0
	for _, w := range cv.Disassembly {
		if w.SameAs != nil {
			same++
			if *w.SameAs != 1 || len(w.Instructions) != 0 {
				t.Errorf("frame %d same as %d", w.Frame, *w.SameAs)
			}
		}
	}
	if same != crashViewCallers-1 {
		t.Errorf("%d windows repeat frame 1's", same)
	}
	if len(cv.Memory) != 2 || cv.Memory[1].What != "accessed address" || cv.Memory[1].Address != 0x21ff8 || cv.Memory[1].Captured != hexViewBytes {
		t.Errorf("memory views %+v", cv.Memory)
	}
	r := rep.Threads[rep.CrashingThread.ThreadsIndex].Recursion
	if r == nil || len(r.Frames) != 1 || r.Frames[0] != "parse_expression" || r.Repeats < 412 {
		t.Errorf("crashing thread's recursion %+v", r)
	}
}

func named(names ...string) []report.Frame {
	out := make([]report.Frame, len(names))
	for i, n := range names {
		out[i] = report.Frame{Frame: i, Function: n}
	}
	return out
}

func repeat(n int, names ...string) []string {
	var out []string
	for range n {
		out = append(out, names...)
	}
	return out
}

// TestFoldable: which frame lists fold, and to what cycle.
func TestFoldable(t *testing.T) {
	cat := func(parts ...[]string) []string {
		var out []string
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	cases := []struct {
		name    string
		frames  []string
		cycle   string // "" when nothing folds
		repeats int
		first   int
	}{
		{"deep self-recursion", cat([]string{"fault"}, repeat(412, "parse"), []string{"main", "start"}), "parse", 412, 1},
		{"mutual recursion", cat([]string{"a", "b"}, repeat(50, "even", "odd"), []string{"main"}), "even,odd", 50, 2},
		{"three-function cycle with a partial tail", cat(repeat(10, "x", "y", "z"), []string{"x", "y", "main"}), "x,y,z", 10, 0},
		{"a call repeated twice does not fold", cat([]string{"a"}, repeat(2, "f"), []string{"main", "b", "c", "d"}), "", 0, 0},
		{"too few frames to be worth it", cat(repeat(3, "f"), []string{"main"}), "", 0, 0},
		{"two repeats of a long cycle do not fold", cat(repeat(2, "a", "b", "c", "d", "e"), []string{"main"}), "", 0, 0},
		{"no repeat", []string{"a", "b", "c", "d", "e", "f", "g"}, "", 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := foldable(named(c.frames...))
			if c.cycle == "" {
				if r != nil {
					t.Errorf("folds %+v", r)
				}
				return
			}
			if r == nil || strings.Join(r.Frames, ",") != c.cycle || r.Repeats != c.repeats || r.FirstFrame != c.first {
				t.Errorf("fold %+v, want %s × %d from %d", r, c.cycle, c.repeats, c.first)
			}
		})
	}
	// Unnamed frames fold by module offset.
	fs := make([]report.Frame, 20)
	for i := range fs {
		fs[i] = report.Frame{Frame: i, Module: "m.dll", ModuleOffset: report.Addr(0x100 + 0x10*(i%2))}
	}
	if r := foldable(fs); r == nil || r.Repeats != 10 || fmt.Sprint(r.Frames) != "[m.dll+0x100 m.dll+0x110]" {
		t.Errorf("unnamed fold %+v", r)
	}
}

// TestCrashViewAccessViolation: Wine's write to NULL+0x40 (facts.json:
// params [1, 0x40]) shows the memory at the exception address and, as
// not captured, at the accessed address; the faulting instruction is
// marked at the exception address.
func TestCrashViewAccessViolation(t *testing.T) {
	dir := testdata.Path(t, "wine", "dumps")
	rep := analyzeFile(t, dir+"/va_commit/va_commit_x64_mingw_normal.dmp",
		Options{SymbolPath: dir + "/va_commit;" + dir + "/_wine_dlls/x64"})
	cv := rep.CrashView
	if cv == nil || len(cv.Memory) != 2 {
		t.Fatalf("crash view %+v", cv)
	}
	e := rep.Exception
	if m := cv.Memory[0]; m.What != "exception address" || uint64(m.Address) != uint64(e.Address) || m.Captured == 0 {
		t.Errorf("exception address view %+v", m)
	}
	if m := cv.Memory[1]; m.What != "accessed address" || m.Address != 0x40 || m.Captured != 0 || m.Bytes != "" || m.Start != 0 {
		t.Errorf("accessed address view %+v", m)
	}
	w := cv.Disassembly[0]
	var marked []report.Instruction
	for _, in := range w.Instructions {
		if in.Marked {
			marked = append(marked, in)
		}
	}
	if len(marked) != 1 || marked[0].Address != e.Address || rep.CrashInfo.Instruction == nil || marked[0].Text != *rep.CrashInfo.Instruction {
		t.Errorf("marked %+v, crash_info.instruction %v", marked, rep.CrashInfo.Instruction)
	}
}

package components

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/dumptriage/dumptriage/analyzer"
	"github.com/dumptriage/dumptriage/analyzer/report"
	"github.com/dumptriage/dumptriage/internal/testdata"
)

// wineFacts reads one program_facts key of a Wine dump's scenario.
func wineFacts(t *testing.T, scenario, run, key string) string {
	t.Helper()
	b, err := os.ReadFile(testdata.Path(t, "wine", "dumps", scenario, "facts.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Runs map[string]struct {
			DumpSets map[string]struct {
				ProgramFacts map[string]any `json:"program_facts"`
			} `json:"dump_sets"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	v, ok := doc.Runs[run].DumpSets[run].ProgramFacts[key].(string)
	if !ok {
		t.Fatalf("facts.json: no %s.%s", run, key)
	}
	return v
}

func wineOpts(t *testing.T, scenario string) analyzer.Options {
	dir := testdata.Path(t, "wine", "dumps")
	return analyzer.Options{SymbolPath: filepath.Join(dir, scenario) + ";" + filepath.Join(dir, "_wine_dlls", "x64")}
}

// TestCrashViewRegistersAndCode: Wine's STATUS_NO_MEMORY dump shows the
// crashing frame's registers as WinDbg's r does, the code at its crash
// address (facts.json's exception_address) with the faulting instruction
// marked (lldb's transcript: jmp 0x170025de0), and the memory there.
func TestCrashViewRegistersAndCode(t *testing.T) {
	path := testdata.Path(t, "wine", "dumps", "heap_nomem", "heap_nomem_x64_mingw_normal.dmp")
	addr := wineFacts(t, "heap_nomem", "heap_nomem_x64_mingw", "exception_address")
	if addr != "0x170025de8" {
		t.Fatalf("facts.json's exception address is %s", addr)
	}
	d := renderReport(t, path, wineOpts(t, "heap_nomem"))
	view := d.Find(tid("crash-view"))
	if view.Length() != 1 {
		t.Fatal("no crash view")
	}
	regs := view.Find(tid("registers")).Text()
	for _, want := range []string{
		"rax=", "rip=0000000170025de8 rsp=000000000021f6a0 rbp=0000000039bc7190", // lldb's register read
		" r8=ffffffffffffffff  r9=0000000000000000 r10=0000000000000008",
		"iopl=0 nv up ei pl nz na pe nc efl=00000206",
	} {
		if !strings.Contains(regs, want) {
			t.Errorf("registers lack %q:\n%s", want, regs)
		}
	}
	marked := view.Find(tid("disasm") + " " + tid("asm-marked"))
	if marked.Length() != 1 || marked.Text() != "> 00000001`70025de8 ebf6             jmp 0x170025de0" {
		t.Errorf("marked instruction %q", marked.Text())
	}
	if n := strings.Count(view.Find(tid("disasm")).Text(), "\n"); n != 16 {
		t.Errorf("%d lines of code at the crash", n)
	}
	if got := view.Find(tid("disasm-how")).Text(); got != "Code captured in the dump; decoded from the function's start." {
		t.Errorf("how: %q", got)
	}
	hex := view.Find(tid("hex"))
	if hex.Length() != 1 || hex.Find(tid("hex-marked")).Text() != "eb" || !strings.Contains(hex.Text(), "??") {
		t.Errorf("hex view %q", hex.Text())
	}
	if !strings.Contains(hex.Text(), "00000001`70025de0  48 89 d9 e8 60 f7 02 00-eb f6 66 0f 1f 44 00 00  H...`.....f..D..\n") {
		t.Errorf("hex view has no line at 00000001`70025de0:\n%s", hex.Text())
	}
	// Frame 2 called RtlRaiseStatus (llvm-objdump of Wine's ntdll.dll).
	f2 := view.Find(tid("frame-view") + `[data-frame="2"]`)
	if got := f2.Find(tid("asm-marked")).Text(); !strings.HasSuffix(got, "e816beffff       call ntdll!RtlRaiseStatus") {
		t.Errorf("frame 2's call %q", got)
	}
	if !strings.Contains(f2.Find(tid("frame-registers")).Text(), "rsp=") || !strings.Contains(f2.Find(tid("frame-registers")).Text(), "?") {
		t.Errorf("frame 2's registers %q", f2.Find(tid("frame-registers")).Text())
	}
	if d.Find(tid("recursion")).Length() != 0 {
		t.Error("a recursion folded where none is")
	}
}

// TestRecursionFolded: the 412-deep recursion of Wine's stack-overflow
// dump shows as one cycle with its repeat count, the repetitions folded
// away, so the page stays short.
func TestRecursionFolded(t *testing.T) {
	path := testdata.Path(t, "wine", "dumps", "stack_overflow", "stack_overflow_x64_mingw_normal.dmp")
	opts := wineOpts(t, "stack_overflow")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	rep, err := analyzer.Analyze(context.Background(), f, st.Size(), opts)
	if err != nil {
		t.Fatal(err)
	}
	c := rep.CrashingThread.ThreadsIndex
	frames := len(rep.Threads[c].Frames)
	var b bytes.Buffer
	if err := reportBody(DumpView{Report: rep, Pages: Pages{Thread: c}}).Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	d, err := goquery.NewDocumentFromReader(&b)
	if err != nil {
		t.Fatal(err)
	}
	card := d.Find(tid("crashing-thread"))
	fold := card.Find(tid("recursion"))
	if fold.Length() != 1 {
		t.Fatalf("%d folds on the crashing thread", fold.Length())
	}
	// facts.json: 412 calls deep; the fold counts the frames of the walk.
	if got := fold.Find(tid("recursion-repeats")).Text(); got != "× 414" {
		t.Errorf("repeats %q", got)
	}
	if !strings.Contains(fold.Text(), "parse_expression") {
		t.Error("the cycle is not parse_expression")
	}
	visible := card.Find(tid("crash-frame")).FilterFunction(func(_ int, s *goquery.Selection) bool {
		return s.Closest("details:not([open])").Length() == 0
	}).Length()
	all := card.Find(tid("crash-frame")).Length()
	if all != frames || visible > 8 {
		t.Errorf("%d of %d frames visible, %d in the page (want all, and a short list)", visible, frames, all)
	}
	if d.Find(tid("focused-thread")+" "+tid("recursion")).Length() != 1 {
		t.Error("the focused thread is not folded")
	}
	// Callers of the recursion repeat one window, shown once.
	run := d.Find(tid("frame-view-run"))
	if run.Length() != 1 || !strings.HasPrefix(run.Find("summary").Text(), "frames 2–32 stack_overflow_x64_mingw.exe!parse_expression+0xba (×31") ||
		run.Find(tid("frame-registers")).Length() != 31 {
		t.Errorf("callers' run %q with %d register blocks", run.Find("summary").Text(), run.Find(tid("frame-registers")).Length())
	}
	if d.Find(tid("crash-view")+" "+tid("hex")).Length() != 2 {
		t.Error("no memory at both the exception and the accessed address")
	}
}

// TestRegisterText: WinDbg's layout, unknown registers as ?, x86 widths.
func TestRegisterText(t *testing.T) {
	got := RegisterText(map[string]report.Addr{"eax": 1, "eip": 0x401000, "eflags": 0x246}, "x86")
	want := "eax=00000001 ebx=???????? ecx=???????? edx=???????? esi=???????? edi=????????\n" +
		"eip=00401000 esp=???????? ebp=????????\niopl=0 nv up ei pl zr na pe nc efl=00000246"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if got := RegisterText(map[string]report.Addr{"x0": 1, "pc": 2}, "arm64"); got != " pc=0000000000000002  x0=0000000000000001" {
		t.Errorf("arm64 %q", got)
	}
}

// TestFoldFrames: the split around a recursion, from a thread's frames
// or a suffix of them, and stored values that do not fit.
func TestFoldFrames(t *testing.T) {
	frames := make([]report.Frame, 20)
	for i := range frames {
		frames[i].Frame = i
	}
	r := &report.Recursion{Frames: []string{"a", "b"}, Repeats: 7, FirstFrame: 3}
	cases := []struct {
		name                       string
		frames                     []report.Frame
		r                          *report.Recursion
		skip                       int
		ok                         bool
		before, cycle, rest, after int
	}{
		{"whole thread", frames, r, 0, true, 3, 2, 12, 3},
		{"after two handler frames", frames[2:], r, 2, true, 1, 2, 12, 3},
		{"cycle starts in skipped frames", frames[4:], r, 4, false, 0, 0, 0, 0},
		{"cut list", frames[:8], r, 0, true, 3, 2, 3, 0},
		{"absurd repeat count", frames, &report.Recursion{Frames: []string{"a"}, Repeats: 1 << 62, FirstFrame: 1}, 0, true, 1, 1, 18, 0},
		{"cycle past the end", frames, &report.Recursion{Frames: []string{"a"}, Repeats: 3, FirstFrame: 25}, 0, false, 0, 0, 0, 0},
		{"negative first frame", frames, &report.Recursion{Frames: []string{"a"}, Repeats: 3, FirstFrame: -1}, 0, false, 0, 0, 0, 0},
		{"none", frames, nil, 0, false, 0, 0, 0, 0},
	}
	for _, c := range cases {
		f, ok := FoldFrames(c.frames, c.r, c.skip)
		if ok != c.ok || len(f.Before) != c.before || len(f.Cycle) != c.cycle || len(f.Rest) != c.rest || len(f.After) != c.after {
			t.Errorf("%s: ok %v, %d/%d/%d/%d", c.name, ok, len(f.Before), len(f.Cycle), len(f.Rest), len(f.After))
		}
	}
}

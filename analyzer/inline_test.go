package analyzer

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dumptriage/dumptriage/analyzer/report"
	"github.com/dumptriage/dumptriage/analyzer/symbols/breakpad"
	"github.com/dumptriage/dumptriage/internal/testdata"
	"github.com/google/go-cmp/cmp"
)

// TestInlineFramesMSVC: Sentry's mini.dmp crashed in code MSVC inlined
// twice into main (crash.pdb has 552 S_INLINESITE records). The frames
// carry the inlined calls outermost first; the physical frame keeps the
// line MSVC's line table gives the call site, which Breakpad's dump_syms
// (crash.sym, written through DIA) agrees with; and the text output lists
// the inlined calls above their frame, as WinDbg does.
func TestInlineFramesMSVC(t *testing.T) {
	win := testdata.Path(t, "public", "getsentry__symbolic", "symbolic-testutils", "fixtures", "windows")
	rep := analyzeFile(t, filepath.Join(win, "mini.dmp"), Options{SymbolPath: win})
	frames := rep.CrashingThread.Frames
	if len(frames) < 2 {
		t.Fatalf("%d frames", len(frames))
	}
	main := `c:\projects\breakpad-tools\windows\crash\main.cpp`
	want := []report.InlineFrame{
		{Function: "`anonymous namespace'::start", File: main, Line: 28},
		{Function: "`anonymous namespace'::crash", File: main, Line: 24},
	}
	if d := cmp.Diff(want, frames[0].Inlines); d != "" {
		t.Errorf("frame 0 inlines (-want +got):\n%s", d)
	}
	if len(frames[1].Inlines) != 1 || frames[1].Inlines[0].Function != "invoke_main" {
		t.Errorf("frame 1 inlines: %+v", frames[1].Inlines)
	}
	sym := parseSym(t, filepath.Join(win, "crash.sym"))
	for _, f := range frames[:2] {
		bp, ok := sym.Lookup(uint64(f.ModuleOffset))
		if !ok || bp.Line != f.Line || !strings.EqualFold(bp.File, f.File) {
			t.Errorf("frame %d at %#x: %s:%d, crash.sym says %s:%d", f.Frame, uint64(f.ModuleOffset), f.File, f.Line, bp.File, bp.Line)
		}
	}
	var text bytes.Buffer
	if err := report.WriteText(&text, rep); err != nil {
		t.Fatal(err)
	}
	wantText := "  0  (Inline Function) crash.exe!`anonymous namespace'::crash [" + main + " @ 24]\n     Found by: inline\n" +
		"  0  (Inline Function) crash.exe!`anonymous namespace'::start [" + main + " @ 28]\n     Found by: inline\n" +
		"  0  crash.exe!main+0x12d [" + main + " @ 35]\n"
	if !strings.Contains(text.String(), wantText) {
		t.Errorf("text output lacks\n%s", wantText)
	}
}

func parseSym(t *testing.T, path string) *breakpad.File {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := breakpad.Parse(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

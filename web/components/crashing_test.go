package components

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/dumptriage/dumptriage/analyzer"
	"github.com/dumptriage/dumptriage/internal/testdata"
)

func renderReport(t *testing.T, path string, opts analyzer.Options) *goquery.Document {
	t.Helper()
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
	var b bytes.Buffer
	if err := reportBody(DumpView{Report: rep}).Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	d, err := goquery.NewDocumentFromReader(&b)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func tid(id string) string { return `[data-testid="` + id + `"]` }

// TestCrashingThreadCard: the Unreal dump's crashing thread says why it is
// not the one the exception names, and its crash handler frames are
// folded above the fault; Unity's Player.log stack is shown beside ours.
func TestCrashingThreadCard(t *testing.T) {
	dir := testdata.Path(t, "public", "getsentry__symbolic", "symbolic-testutils", "fixtures", "unreal", "unreal_crash.extracted")
	ctx, err := os.ReadFile(filepath.Join(dir, "CrashContext.runtime-xml"))
	if err != nil {
		t.Fatal(err)
	}
	d := renderReport(t, filepath.Join(dir, "UE4Minidump.dmp"), analyzer.Options{ReporterLog: ctx})
	if s := d.Find(tid("crashing-reason")).Text(); !strings.Contains(s, "8148") {
		t.Errorf("reason %q", s)
	}
	if n := d.Find(tid("handler-frames") + " " + tid("handler-frame")).Length(); n != 2 {
		t.Errorf("%d folded handler frames, want 2", n)
	}
	if first := d.Find(tid("crash-frame")).First().Text(); strings.Contains(first, "KERNELBASE") {
		t.Errorf("the first unfolded frame is the handler's: %q", first)
	}
	if n := d.Find(tid("reporter-frame")).Length(); n != 16 {
		t.Errorf("%d reporter frames", n)
	}

	dir = testdata.Path(t, "public", "LYJ-Kerman__crash-log")
	log, err := os.ReadFile(filepath.Join(dir, "Player.log"))
	if err != nil {
		t.Fatal(err)
	}
	d = renderReport(t, filepath.Join(dir, "crash.dmp"), analyzer.Options{ReporterLog: log})
	if d.Find(tid("handler-frames")).Length() != 0 || d.Find(tid("crashing-reason")).Length() != 0 {
		t.Error("Unity's crash needs neither fold nor reason")
	}
	if n := d.Find(tid("reporter-frame") + `[data-agrees="yes"]`).Length(); n != 69 {
		t.Errorf("%d of Player.log's 69 frames agree", n)
	}
	if !strings.Contains(d.Find(tid("crashing-thread")).Text(), "Mono JIT code") {
		t.Error("no Mono JIT code frame on the page")
	}
}

package components

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/dumptriage/dumptriage/analyzer/report"
)

// TestFrameLocals renders locals of every shape: a value with its bytes, an
// unnamed parameter, a low-confidence value with its badge, a register
// variable outside frame 0 with only its note, and a hostile name, which
// stays text.
func TestFrameLocals(t *testing.T) {
	addr := report.Addr(0x11f8d4)
	frames := []report.Frame{
		{Frame: 0, Function: "RtlRaiseStatus"},
		{Frame: 4, Function: "load_texture_cache", Locals: []report.Local{
			{Name: "entries", Kind: report.VarParameter, Type: "unsigned int", Size: 4, Location: "rsp+0x24", Address: &addr,
				Bytes: "19 c7 9b 03", Value: "0x039bc719 (60540697)", Source: "pdb", Confidence: "high", Note: "PDB frame-pointer-relative: rsp = 0x11f8b0"},
			{Name: "", Kind: report.VarParameter, Type: "const void *", Size: 8, Location: "cfa+0x10", Address: &addr,
				Bytes: "00 00 00 00 00 00 00 00", Value: "0x0000000000000000 (null)", Source: "dwarf", Confidence: "low", Note: "uncertain"},
			{Name: "n", Kind: report.VarLocal, Type: "int", Size: 4, Location: "rcx", Source: "pdb",
				Note: "held in rcx: a register's value is known only in frame 0"},
			{Name: "<img src=x onerror=alert(1)>", Kind: report.VarLocal, Type: "<b>", Location: "rsp", Source: "pdb"},
		}},
		{Frame: 5, Function: "main", Locals: []report.Local{{Name: "argc", Kind: report.VarParameter, Type: "int", Location: "cfa"}}},
	}
	var buf bytes.Buffer
	if err := FrameLocals(frames).Render(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "<img src=x") || strings.Contains(buf.String(), "<b>") {
		t.Error("a hostile name reached the page unescaped")
	}
	d, err := goquery.NewDocumentFromReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	sel := func(id string) string { return `[data-testid="` + id + `"]` }
	fl := d.Find(sel("frame-locals"))
	if fl.Length() != 2 {
		t.Fatalf("%d frames with locals, want 2", fl.Length())
	}
	if _, open := fl.First().Attr("open"); !open {
		t.Error("the first frame with locals is closed")
	}
	if _, open := fl.Last().Attr("open"); open {
		t.Error("the second frame with locals is open")
	}
	if s := fl.First().Find("summary").Text(); !strings.Contains(s, "2 arguments, 2 locals") {
		t.Errorf("summary %q", s)
	}
	rows := fl.First().Find(sel("local"))
	if rows.Length() != 4 {
		t.Fatalf("%d rows", rows.Length())
	}
	r0 := rows.Eq(0)
	if r0.Find(sel("local-value")).Text() != "0x039bc719 (60540697)" || r0.Find(sel("local-bytes")).Text() != "19 c7 9b 03" ||
		!strings.Contains(r0.Find(sel("local-location")).Text(), "0x") || r0.Find(sel("local-confidence")).Length() != 0 {
		t.Errorf("row 0: %q", r0.Text())
	}
	r1 := rows.Eq(1)
	if r1.Find(sel("local-name")).Text() != "(unnamed)" || r1.Find(sel("local-confidence")).Text() != "low" {
		t.Errorf("row 1: %q", r1.Text())
	}
	r2 := rows.Eq(2)
	if r2.Find(sel("local-value")).Length() != 0 || !strings.Contains(r2.Find(sel("local-note")).Text(), "only in frame 0") {
		t.Errorf("row 2: %q", r2.Text())
	}
	if rows.Eq(3).Find(sel("local-name")).Text() != "<img src=x onerror=alert(1)>" {
		t.Errorf("row 3 name %q", rows.Eq(3).Find(sel("local-name")).Text())
	}

	buf.Reset()
	if err := FrameLocals(frames[:1]).Render(context.Background(), &buf); err != nil || buf.Len() != 0 {
		t.Errorf("frames without locals render %q (%v)", buf.String(), err)
	}
}

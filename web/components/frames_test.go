package components

import (
	"bytes"
	"context"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/dumptriage/dumptriage/analyzer/report"
)

// TestFrameTableInlines: inlined calls are rows of their own above their
// physical frame, innermost first, numbered as it and marked inline, as
// WinDbg lists them.
func TestFrameTableInlines(t *testing.T) {
	th := report.Thread{Frames: []report.Frame{
		{Frame: 0, Trust: report.TrustContext, Module: "app.exe", Function: "main", File: `c:\src\main.cpp`, Line: 35,
			Inlines: []report.InlineFrame{{Function: "start", File: `c:\src\main.cpp`, Line: 28}, {Function: "crash", File: `c:\src\main.cpp`, Line: 24}}},
		{Frame: 1, Trust: report.TrustCFI, Module: "app.exe", Function: "__scrt_common_main_seh"},
	}}
	var b bytes.Buffer
	if err := frameTable(th, "crash-frame").Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	d, err := goquery.NewDocumentFromReader(&b)
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	d.Find("tr").Each(func(_ int, s *goquery.Selection) {
		id, _ := s.Attr("data-testid")
		rows = append(rows, id+" "+s.Find("td.num").Text()+" "+s.Find("td.fn").Text()+" "+s.Find("td.src").Text()+" "+s.Find(".trust").Text())
	})
	want := []string{
		"inline-frame 0 (Inline Function) app.exe!crash main.cpp:24 inline",
		"inline-frame 0 (Inline Function) app.exe!start main.cpp:28 inline",
		"crash-frame 0 app.exe!main+0x0 main.cpp:35 context",
		"crash-frame 1 app.exe!__scrt_common_main_seh+0x1 cfi",
	}
	if len(rows) != len(want) {
		t.Fatalf("rows %q, want %q", rows, want)
	}
	for i := range want {
		if got := collapse(rows[i]); got != want[i] {
			t.Errorf("row %d: %q, want %q", i, got, want[i])
		}
	}
}

func collapse(s string) string {
	return string(bytes.Join(bytes.Fields([]byte(s)), []byte(" ")))
}

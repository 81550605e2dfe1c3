package stackoverflow

import (
	"strings"
	"testing"

	"github.com/dumptriage/dumptriage/analyzer/report"
)

func frames(names ...string) []report.Frame {
	out := make([]report.Frame, len(names))
	for i, n := range names {
		out[i] = report.Frame{Frame: i, Function: n, SP: report.Addr(0x1000 + 0x100*uint64(i))}
	}
	return out
}

func TestFindRecursion(t *testing.T) {
	cases := []struct {
		name    string
		frames  []report.Frame
		cycle   []string
		repeats int
	}{
		{"self", frames("__chkstk", "f", "f", "f", "f", "main"), []string{"f"}, 4},
		{"pair", frames("a", "b", "a", "b", "a", "b", "main"), []string{"a", "b"}, 3},
		{"none", frames("a", "b", "c"), nil, 0},
	}
	for _, c := range cases {
		r := FindRecursion(c.frames)
		if c.cycle == nil {
			if r != nil {
				t.Errorf("%s: found %+v", c.name, r)
			}
			continue
		}
		if r == nil || len(r.Frames) != len(c.cycle) || r.Frames[0] != c.cycle[0] || r.Repeats != c.repeats {
			t.Errorf("%s: %+v, want %v x%d", c.name, r, c.cycle, c.repeats)
		}
	}
}

func TestAnalyze(t *testing.T) {
	reserve, commit := uint64(0x200000), uint64(0x1000)
	fr := frames("parse_expression", "parse_expression", "parse_expression", "evaluate", "main")
	fr[0].SP, fr[1].SP, fr[2].SP, fr[3].SP, fr[4].SP = 0x21100, 0x22500, 0x23900, 0x24d00, 0x24e00
	w := uint32(296)
	so := Analyze(Input{ThreadID: 292, SP: 0x21100, PageSize: 0x1000, HaveBounds: true, BoundsSource: SourceTEB, StackBase: 0x220000, StackLimit: 0x21000,
		DeallocationStack: 0x20000, Reserve: &reserve, Commit: &commit, Frames: fr, WriterThreadID: &w})
	if *so.UsedBytes != 0x220000-0x21100 || *so.RemainingBytes != 0x1100 {
		t.Errorf("used %#x remaining %#x", *so.UsedBytes, *so.RemainingBytes)
	}
	if so.GuardPage == nil || so.GuardPage.Base != 0x20000 {
		t.Errorf("guard %+v", so.GuardPage)
	}
	if so.Recursion == nil || so.Recursion.Frames[0] != "parse_expression" || so.Recursion.Repeats != 3 {
		t.Errorf("recursion %+v", so.Recursion)
	}
	if so.LargestFrames[0].Bytes != 0x1400 || !*so.DumpedFromOther {
		t.Errorf("largest %+v other %v", so.LargestFrames, *so.DumpedFromOther)
	}
	if so.Explanation == "" {
		t.Error("no explanation")
	}
}

// TestAnalyzeRealReservation: a reservation other than the PE header's is
// reported as a field, in the explanation, and with where it came from.
func TestAnalyzeRealReservation(t *testing.T) {
	reserve := uint64(0x80000)
	so := Analyze(Input{ThreadID: 1, SP: 0x22be8, HaveBounds: true, BoundsSource: SourceMemoryRegions, StackBase: 0x120000,
		StackLimit: 0x21000, DeallocationStack: 0x20000, Reserve: &reserve, ReserveSource: "PE optional header of x.exe"})
	if so.ThreadReserveBytes == nil || *so.ThreadReserveBytes != 0x100000 || so.ReserveDiffers == nil || !*so.ReserveDiffers {
		t.Fatalf("thread reserve %v differs %v", so.ThreadReserveBytes, so.ReserveDiffers)
	}
	if !strings.Contains(so.Explanation, "1 MiB reservation, though the PE header asks for 512 KiB") {
		t.Errorf("explanation %q", so.Explanation)
	}
	want := map[string]string{"stack_reserve_bytes": SourcePEHeader, "stack_base": SourceMemoryRegions, "stack_limit": SourceMemoryRegions,
		"deallocation_stack": SourceMemoryRegions, "thread_reserve_bytes": SourceMemoryRegions, "used_bytes": SourceMemoryRegions,
		"remaining_bytes": SourceMemoryRegions, "guard_page": SourceMemoryRegions}
	for _, s := range so.Sources {
		if want[s.Fact] == s.Source && s.Confidence != "" {
			delete(want, s.Fact)
		}
	}
	if len(want) != 0 {
		t.Errorf("facts without their source: %v (sources %+v)", want, so.Sources)
	}
	same := Analyze(Input{ThreadID: 1, SP: 0x22be8, HaveBounds: true, BoundsSource: SourceTEB, StackBase: 0x120000,
		StackLimit: 0x21000, DeallocationStack: 0x20000, Reserve: new(uint64(0x100000))})
	if same.ReserveDiffers == nil || *same.ReserveDiffers || strings.Contains(same.Explanation, "PE header asks") {
		t.Errorf("same reservation: differs %v, %q", same.ReserveDiffers, same.Explanation)
	}
}

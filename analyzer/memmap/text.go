package memmap

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/dumptriage/dumptriage/analyzer/report"
)

// Section headings, exactly as WinDbg prints them.
const (
	headUsage   = "--- Usage Summary ---------------- RgnCount ----------- Total Size -------- %ofBusy %ofTotal"
	headType    = "--- Type Summary (for busy) ------ RgnCount ----------- Total Size -------- %ofBusy %ofTotal"
	headState   = "--- State Summary ---------------- RgnCount ----------- Total Size -------- %ofBusy %ofTotal"
	headProtect = "--- Protect Summary (for commit) - RgnCount ----------- Total Size -------- %ofBusy %ofTotal"
	headLargest = "--- Largest Region by Usage ----------- Base Address -------- Region Size ----------"
)

// Column ends, as WinDbg lays the rows out: the name and the region count
// end at column 43, the total size's hex at 61; in the largest-region table
// the base address ends at 52 and the size's hex at 70.
const (
	colCount   = 43
	colHex     = 18
	colLBase   = 52
	colLHexEnd = 18
)

// Render lays the summary out as WinDbg's `!address -summary` does.
func Render(s *report.MemorySummary) string {
	var w strings.Builder
	ps := s.PointerSize
	section := func(head string, rows []report.SummaryEntry) {
		w.WriteString(head)
		w.WriteByte('\n')
		for _, e := range rows {
			writeRow(&w, e, ps)
		}
		w.WriteByte('\n')
	}
	section(headUsage, s.Usage)
	section(headType, s.Type)
	section(headState, s.State)
	section(headProtect, s.Protect)
	w.WriteString(headLargest)
	w.WriteByte('\n')
	for _, l := range s.Largest {
		w.WriteString(padBetween(l.Usage, hexSize(uint64(l.Base), ps), colLBase))
		fmt.Fprintf(&w, "%*s (%s)\n", colLHexEnd, hexSize(l.Bytes, ps), humanSize(l.Bytes))
	}
	return w.String()
}

func writeRow(w *strings.Builder, e report.SummaryEntry, ps int) {
	w.WriteString(padBetween(e.Name, fmt.Sprint(e.Regions), colCount))
	fmt.Fprintf(w, "%*s (%s)", colHex, hexSize(e.Bytes, ps), humanSize(e.Bytes))
	if e.Name == UsageFree || e.Name == "MEM_FREE" {
		w.WriteString("        ")
	} else {
		fmt.Fprintf(w, "%7.2f%%", e.PctBusy)
	}
	fmt.Fprintf(w, "%8.2f%%\n", e.PctTotal)
}

// padBetween left-aligns left and right-aligns right so that together they
// fill width columns, keeping at least one space between them.
func padBetween(left, right string, width int) string {
	n := width - len(left) - len(right)
	if n < 1 {
		n = 1
	}
	return left + strings.Repeat(" ", n) + right
}

// hexSize writes a number as WinDbg's summary does: for a 64-bit target the
// high and low 32 bits joined by a backtick (7df9`74541000, 0`0004c000),
// for a 32-bit target plain hex (3c876000).
func hexSize(v uint64, ps int) string {
	if ps == 4 && v>>32 == 0 {
		return fmt.Sprintf("%x", v)
	}
	return fmt.Sprintf("%x`%08x", v>>32, uint32(v))
}

// hexAddr writes an address at full width, as !address ADDR does:
// 000000f2`8328f000 or 006ee000.
func hexAddr(v uint64, ps int) string {
	if ps == 4 && v>>32 == 0 {
		return fmt.Sprintf("%08x", v)
	}
	return fmt.Sprintf("%08x`%08x", v>>32, uint32(v))
}

// humanSize is WinDbg's "125.974 TB": three decimals in the largest unit
// that the size reaches, 8 columns wide. An exact half rounds to even
// (21.3125 MB is 21.312 MB), as the Universal CRT's printf in today's
// WinDbg does; older builds, which wrote "Mb", rounded it up.
func humanSize(n uint64) string {
	v, unit := scaleSize(n)
	return fmt.Sprintf("%8.3f %s", v, unit)
}

func scaleSize(n uint64) (float64, string) {
	units := []struct {
		shift uint
		name  string
	}{{40, "TB"}, {30, "GB"}, {20, "MB"}}
	for _, u := range units {
		if n >= 1<<u.shift {
			return float64(n) / float64(uint64(1)<<u.shift), u.name
		}
	}
	return float64(n) / 1024, "kB"
}

// Lookup finds the region containing addr, as `!address ADDR` does. It
// reports false when addr lies beyond the regions of the summary.
func Lookup(s *report.MemorySummary, addr uint64) (report.Region, bool) {
	if s == nil {
		return report.Region{}, false
	}
	rs := s.Regions
	i := sort.Search(len(rs), func(i int) bool { return uint64(rs[i].End) > addr })
	if i >= len(rs) || uint64(rs[i].Base) > addr {
		return report.Region{}, false
	}
	r := rs[i]
	r.PointerSize = s.PointerSize
	return r, true
}

// FormatLookup writes a region as `!address ADDR` shows it.
func FormatLookup(r report.Region, addr uint64) string {
	ps := r.PointerSize
	if ps == 0 {
		ps = 4
		if uint64(r.End) > 1<<32 || addr >= 1<<32 {
			ps = 8
		}
	}
	var w strings.Builder
	line := func(label, value string) { fmt.Fprintf(&w, "%-24s%s\n", label+":", value) }
	flag := func(label, name string) {
		line(label, fmt.Sprintf("%08x          %s", parseName(name), name))
	}
	line("Usage", r.Usage)
	line("Base Address", hexAddr(uint64(r.Base), ps))
	line("End Address", hexAddr(uint64(r.End), ps))
	line("Region Size", fmt.Sprintf("%s (%s)", hexAddr(r.Size, ps), humanSize(r.Size)))
	flag("State", r.State)
	if r.Protect != "" {
		flag("Protect", r.Protect)
	}
	if r.State != "MEM_FREE" {
		flag("Type", r.Type)
		line("Allocation Base", hexAddr(uint64(r.AllocationBase), ps))
		if r.AllocationProtect != "" {
			flag("Allocation Protect", r.AllocationProtect)
		}
	}
	if r.Detail != "" {
		if r.Usage == UsageImage {
			line("Image Path", r.Detail)
			line("Module Name", strings.TrimSuffix(r.Detail, path.Ext(r.Detail)))
		} else {
			line("More info", r.Detail)
		}
	}
	return w.String()
}

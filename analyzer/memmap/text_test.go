package memmap

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/dumptriage/dumptriage/analyzer/report"
)

// refUnits maps the units of older WinDbg builds to today's.
var refUnits = strings.NewReplacer(" Mb)", " MB)", " Gb)", " GB)", " kb)", " kB)", " Tb)", " TB)")

// TestWinDbgLayout re-renders every row of real WinDbg `!address -summary`
// outputs (testdata/windbg) from the numbers it shows, and expects the same
// line: headings, column positions, backtick-split hex, units with three
// decimals and percentages. It also recomputes the percentages from the
// byte counts, as Summarize does.
func TestWinDbgLayout(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "windbg", "*.txt"))
	if len(files) < 3 {
		t.Fatalf("want at least 3 reference outputs, have %d", len(files))
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			ps := 8
			if strings.HasPrefix(filepath.Base(path), "x86") {
				ps = 4
			}
			section := ""
			heads := map[string]bool{}
			var rows []report.SummaryEntry
			var states []report.SummaryEntry
			for _, line := range strings.Split(string(b), "\n") {
				switch {
				case strings.HasPrefix(line, "#"), strings.HasPrefix(line, "0:0"), line == "":
					continue
				case strings.HasPrefix(line, "--- "):
					section = line
					heads[line] = true
					continue
				}
				want := refUnits.Replace(line)
				old := want != line // an older WinDbg build, whose printf rounds halves up
				if section == headLargest {
					name, base := splitCount(t, line[:colLBase])
					bytes := parseHex(t, line[colLBase:colLBase+colLHexEnd])
					got := renderLargest(report.LargestEntry{Usage: name, Base: report.Addr(parseHex(t, base)), Bytes: bytes}, ps)
					if old {
						got = strings.Replace(got, humanSize(bytes), halfUpSize(bytes), 1)
					}
					if got != want {
						t.Errorf("largest row:\n got %q\nwant %q", got, want)
					}
					continue
				}
				e := parseRow(t, line)
				var w strings.Builder
				writeRow(&w, e, ps)
				got := strings.TrimSuffix(w.String(), "\n")
				size := humanSize(e.Bytes)
				if old {
					got = strings.Replace(got, size, halfUpSize(e.Bytes), 1)
					size = halfUpSize(e.Bytes)
				}
				if got != want {
					t.Errorf("%s row:\n got %q\nwant %q", section[:20], got, want)
				}
				if !strings.Contains(want, "("+size+")") {
					t.Errorf("size of 0x%x: %q not in %q", e.Bytes, size, want)
				}
				if section == headState {
					states = append(states, e)
				}
				rows = append(rows, e)
			}
			for _, h := range []string{headUsage, headType, headState, headProtect, headLargest} {
				if !heads[h] {
					t.Errorf("heading %q not in the reference", h)
				}
			}
			// The percentages follow from the bytes: total is the sum of
			// the states, busy is total less MEM_FREE.
			var total, free uint64
			for _, e := range states {
				total += e.Bytes
				if e.Name == "MEM_FREE" {
					free = e.Bytes
				}
			}
			for _, e := range rows {
				if got := pct(e.Bytes, total); got != e.PctTotal {
					t.Errorf("%s: %%ofTotal %.2f, WinDbg %.2f", e.Name, got, e.PctTotal)
				}
				if e.Name != "Free" && e.Name != "MEM_FREE" {
					if got := pct(e.Bytes, total-free); got != e.PctBusy {
						t.Errorf("%s: %%ofBusy %.2f, WinDbg %.2f", e.Name, got, e.PctBusy)
					}
				}
			}
		})
	}
}

// halfUpSize is humanSize as older WinDbg builds round it.
func halfUpSize(n uint64) string {
	v, unit := scaleSize(n)
	return fmt.Sprintf("%8.3f %s", math.Floor(v*1000+0.5)/1000, unit)
}

func renderLargest(l report.LargestEntry, ps int) string {
	s := &report.MemorySummary{PointerSize: ps, Largest: []report.LargestEntry{l}}
	text := Render(s)
	i := strings.Index(text, headLargest+"\n")
	return strings.TrimSuffix(text[i+len(headLargest)+1:], "\n")
}

// parseRow reads a summary row by WinDbg's fixed columns.
func parseRow(t *testing.T, line string) report.SummaryEntry {
	t.Helper()
	if len(line) != 92 {
		t.Fatalf("row of %d columns, WinDbg's are 92: %q", len(line), line)
	}
	name, count := splitCount(t, line[:colCount])
	n, err := strconv.Atoi(count)
	if err != nil {
		t.Fatalf("count %q: %v", count, err)
	}
	e := report.SummaryEntry{Name: name, Regions: n, Bytes: parseHex(t, line[colCount:colCount+colHex])}
	if busy := strings.TrimSpace(strings.TrimSuffix(line[75:83], "%")); busy != "" {
		e.PctBusy, _ = strconv.ParseFloat(busy, 64)
	}
	e.PctTotal, _ = strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(line[83:], "%")), 64)
	return e
}

func splitCount(t *testing.T, s string) (string, string) {
	t.Helper()
	s = strings.TrimRight(s, " ")
	i := strings.LastIndex(s, " ")
	if i < 0 {
		t.Fatalf("no name/count in %q", s)
	}
	return strings.TrimSpace(s[:i]), s[i+1:]
}

func parseHex(t *testing.T, s string) uint64 {
	t.Helper()
	v, err := strconv.ParseUint(strings.Replace(strings.TrimSpace(s), "`", "", 1), 16, 64)
	if err != nil {
		t.Fatalf("hex %q: %v", s, err)
	}
	return v
}

func TestHumanSize(t *testing.T) {
	for _, c := range []struct {
		n    uint64
		want string
	}{
		{0x1000, "   4.000 kB"},
		{0xfd000, "1012.000 kB"},
		{0x100000, "   1.000 MB"},
		{0x7df974541000, " 125.974 TB"},
		{0x7FFFFFFF0000, " 128.000 TB"},
		{0x40000000, "   1.000 GB"},
		{0, "   0.000 kB"},
		{0x1550000, "  21.312 MB"}, // exact halves round to even, as today's WinDbg does
		{0x190000, "   1.562 MB"},
	} {
		if got := humanSize(c.n); got != c.want {
			t.Errorf("humanSize(0x%x) = %q, want %q", c.n, got, c.want)
		}
	}
}

func TestHex(t *testing.T) {
	for _, c := range []struct {
		v          uint64
		ps         int
		size, addr string
	}{
		{0x7df974541000, 8, "7df9`74541000", "00007df9`74541000"},
		{0x4c000, 8, "0`0004c000", "00000000`0004c000"},
		{0x3c876000, 4, "3c876000", "3c876000"},
		{0x8a000, 4, "8a000", "0008a000"},
		{0x1_0000_0000, 4, "1`00000000", "00000001`00000000"},
	} {
		if got := hexSize(c.v, c.ps); got != c.size {
			t.Errorf("hexSize(0x%x, %d) = %q, want %q", c.v, c.ps, got, c.size)
		}
		if got := hexAddr(c.v, c.ps); got != c.addr {
			t.Errorf("hexAddr(0x%x, %d) = %q, want %q", c.v, c.ps, got, c.addr)
		}
	}
}

// TestFormatLookupWinDbg rebuilds real `!address ADDR` outputs from their
// values.
func TestFormatLookupWinDbg(t *testing.T) {
	for _, c := range []struct {
		r    report.Region
		addr uint64
		want string
	}{
		{report.Region{Usage: "Stack", Base: 0xf28328f000, End: 0xf2832a0000, Size: 0x11000, State: "MEM_COMMIT", Protect: "PAGE_READWRITE",
			Type: "MEM_PRIVATE", AllocationBase: 0xf283220000, AllocationProtect: "PAGE_READWRITE", Detail: "~0k", PointerSize: 8}, 0xf28329f000,
			`Usage:                  Stack
Base Address:           000000f2` + "`" + `8328f000
End Address:            000000f2` + "`" + `832a0000
Region Size:            00000000` + "`" + `00011000 (  68.000 kB)
State:                  00001000          MEM_COMMIT
Protect:                00000004          PAGE_READWRITE
Type:                   00020000          MEM_PRIVATE
Allocation Base:        000000f2` + "`" + `83220000
Allocation Protect:     00000004          PAGE_READWRITE
More info:              ~0k
`},
		{report.Region{Usage: "<unknown>", Base: 0x0c800000, End: 0x0c900000, Size: 0x100000, State: "MEM_COMMIT", Protect: "PAGE_READWRITE",
			Type: "MEM_PRIVATE", AllocationBase: 0x0c800000, AllocationProtect: "PAGE_READWRITE", PointerSize: 4}, 0x0c8299e8,
			`Usage:                  <unknown>
Base Address:           0c800000
End Address:            0c900000
Region Size:            00100000 (   1.000 MB)
State:                  00001000          MEM_COMMIT
Protect:                00000004          PAGE_READWRITE
Type:                   00020000          MEM_PRIVATE
Allocation Base:        0c800000
Allocation Protect:     00000004          PAGE_READWRITE
`},
		// PointerSize unknown: inferred from the addresses.
		{report.Region{Usage: "Heap", Base: 0x018c0000, End: 0x018cf000, Size: 0xf000, State: "MEM_COMMIT", Protect: "PAGE_READWRITE",
			Type: "MEM_PRIVATE", AllocationBase: 0x018c0000, AllocationProtect: "PAGE_READWRITE"}, 0x018c59cd,
			`Usage:                  Heap
Base Address:           018c0000
End Address:            018cf000
Region Size:            0000f000 (  60.000 kB)
State:                  00001000          MEM_COMMIT
Protect:                00000004          PAGE_READWRITE
Type:                   00020000          MEM_PRIVATE
Allocation Base:        018c0000
Allocation Protect:     00000004          PAGE_READWRITE
`},
	} {
		if got := FormatLookup(c.r, c.addr); got != c.want {
			t.Errorf("got:\n%s\nwant:\n%s", got, c.want)
		}
	}
}

// TestLookupGolden renders !address for addresses of interest in real dumps.
func TestLookupGolden(t *testing.T) {
	var b strings.Builder
	for _, c := range []struct {
		rel   string
		addrs []uint64
	}{
		{"wine/dumps/stack_overflow/stack_overflow_x64_mingw_aug.dmp", []uint64{0x21000, 0x67fe0010, 0x140001000, 0x7ffe0000, 0x10000000}},
		{"public/rust-minidump__rust-minidump/testdata/stability-report.dmp", []uint64{0x260bbef000, 0x260bbec000, 0x260b2b4000, 0x1e665140000, 0x7df4ed390000}},
		{"public/google__breakpad/src/processor/testdata/tiny-exe-with-cet-xsave.dmp", []uint64{0x7ff778bd1000, 0xcbc8200000, 0x2a658990000}},
	} {
		_, s := summarize(t, c.rel)
		for _, a := range c.addrs {
			r, ok := Lookup(s, a)
			if !ok {
				t.Errorf("%s: 0x%x not found", c.rel, a)
				continue
			}
			b.WriteString("!address 0x" + strconv.FormatUint(a, 16) + " (" + filepath.Base(c.rel) + ")\n")
			b.WriteString(FormatLookup(r, a) + "\n")
		}
		if _, ok := Lookup(s, s.AddressSpaceBytes); ok {
			t.Errorf("%s: address past the address space found", c.rel)
		}
	}
	checkGolden(t, filepath.Join("testdata", "golden", "lookup.txt"), b.String())
}

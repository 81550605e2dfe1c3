package pdb

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// symbolizerBlocks splits llvm-symbolizer --addresses --output-style=GNU
// output into one block per address.
func symbolizerBlocks(t *testing.T, path string) map[uint64]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[uint64]string{}
	var cur uint64
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if strings.HasPrefix(line, "0x") {
			v, err := strconv.ParseUint(strings.TrimSpace(line[2:]), 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			cur = v
		}
		out[cur] += line
	}
	return out
}

// gnuFrames writes frames as llvm-symbolizer --inlining --output-style=GNU
// does: innermost first, "function" then "file:line" ("??" when unknown).
func gnuFrames(va uint64, name, file string, line int, inlines []Inline) string {
	var b strings.Builder
	fmt.Fprintf(&b, "0x%x\n", va)
	place := func(n, f string, l int) {
		if n == "" {
			n = "??"
		}
		if f == "" {
			f = "??"
		}
		fmt.Fprintf(&b, "%s\n%s:%d\n", n, f, l)
	}
	for i := len(inlines) - 1; i >= 0; i-- {
		place(inlines[i].Name, inlines[i].File, inlines[i].Line)
	}
	place(name, file, line)
	return b.String()
}

// TestInlineSitesSymbolizer: at every byte of outer() in an -O2 clang
// build (testdata/inline, see build.sh), the inline frames read from
// S_INLINESITE, the IPI's LF_FUNC_ID and DEBUG_S_INLINEELINES are
// llvm-symbolizer's, names, files and lines.
//
// One difference is expected and checked: clang's line table for outer()
// has no rows over the inlined code before its first own line, so this
// package reports no line for the physical frame there, where
// llvm-symbolizer falls back to the function's first row (line 33, the
// `if` after the call; the call is on line 32).
func TestInlineSitesSymbolizer(t *testing.T) {
	const dir = "../../testdata/inline/"
	fh, err := os.Open(dir + "inline_pdb.pdb")
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	st, _ := fh.Stat()
	f, err := Open(fh, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	const imageBase = 0x140000000
	blocks := symbolizerBlocks(t, dir+"inline_pdb.symbolizer.txt")
	if len(blocks) < 64 {
		t.Fatalf("%d addresses in the golden", len(blocks))
	}
	nested, unlined := 0, 0
	for va, want := range blocks {
		s, ok := f.Lookup(uint32(va - imageBase))
		if !ok {
			t.Errorf("%#x: not found", va)
			continue
		}
		got := gnuFrames(va, s.Name, s.File, s.Line, s.Inlines)
		if s.Line == 0 && len(s.Inlines) > 0 {
			// The expected difference: compare all but the last line.
			unlined++
			cut := func(s string) string { return s[:strings.LastIndex(strings.TrimSuffix(s, "\n"), "\n")] }
			if cut(got) != cut(want) || !strings.HasSuffix(want, `C:\inline\src\inline.c:33`+"\n") {
				t.Errorf("%#x:\n got %s\nwant %s", va, got, want)
			}
			continue
		}
		if got != want {
			t.Errorf("%#x:\n got %s\nwant %s", va, got, want)
		}
		if len(s.Inlines) == 2 {
			nested++
		}
	}
	if nested == 0 || unlined > 24 {
		t.Errorf("%d addresses two inlines deep, %d without a line in outer()", nested, unlined)
	}
}

var (
	reProc     = regexp.MustCompile("^\\s+(\\d+) \\| S_GPROC32 .*`outer`")
	reProcAddr = regexp.MustCompile(`addr = 0001:(\d+), code size = (\d+)`)
	reSite     = regexp.MustCompile(`^\s+(\d+) \| S_INLINESITE `)
	reInlinee  = regexp.MustCompile(`inlinee = 0x[0-9A-F]+ \((\w+)\), parent = (\d+), end = (\d+)`)
	reCode     = regexp.MustCompile(`code (end )?0x([0-9A-F]+)`)
)

// TestInlineSitesPDBUtil: the code ranges llvm-pdbutil decodes from each
// S_INLINESITE's binary annotations (testdata/inline/inline_pdb.symbols.txt)
// are where Lookup reports that inlinee, at that site's nesting depth.
func TestInlineSitesPDBUtil(t *testing.T) {
	const dir = "../../testdata/inline/"
	fh, err := os.Open(dir + "inline_pdb.pdb")
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	st, _ := fh.Stat()
	f, err := Open(fh, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	golden, err := os.ReadFile(dir + "inline_pdb.symbols.txt")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(golden), "\n")
	var procOff, procRVA uint32
	depth := map[uint32]int{}
	type site struct {
		name   string
		depth  int
		ranges [][2]uint32
	}
	var sites []site
	for i := 0; i < len(lines); i++ {
		if m := reProc.FindStringSubmatch(lines[i]); m != nil && i+1 < len(lines) {
			o, _ := strconv.Atoi(m[1])
			procOff = uint32(o)
			if a := reProcAddr.FindStringSubmatch(lines[i+1]); a != nil {
				off, _ := strconv.Atoi(a[1])
				procRVA = 0x1000 + uint32(off)
			}
			continue
		}
		m := reSite.FindStringSubmatch(lines[i])
		if m == nil || i+1 >= len(lines) {
			continue
		}
		off, _ := strconv.Atoi(m[1])
		in := reInlinee.FindStringSubmatch(lines[i+1])
		if in == nil {
			t.Fatalf("no inlinee after %q", lines[i])
		}
		parent, _ := strconv.Atoi(in[2])
		d := 0
		if uint32(parent) != procOff {
			d = depth[uint32(parent)] + 1
		}
		depth[uint32(off)] = d
		s := site{name: in[1], depth: d}
		open := false
		for k := i + 2; k < len(lines) && strings.HasPrefix(lines[k], "             "); k++ {
			c := reCode.FindStringSubmatch(lines[k])
			if c == nil {
				continue
			}
			v, _ := strconv.ParseUint(c[2], 16, 32)
			if open {
				s.ranges[len(s.ranges)-1][1] = uint32(v)
			}
			open = c[1] == ""
			if open {
				s.ranges = append(s.ranges, [2]uint32{uint32(v), uint32(v)})
			}
		}
		sites = append(sites, s)
	}
	if procRVA == 0 || len(sites) != 4 {
		t.Fatalf("outer at %#x, %d sites in the golden", procRVA, len(sites))
	}
	checked := 0
	for _, s := range sites {
		for _, rg := range s.ranges {
			for off := rg[0]; off < rg[1]; off++ {
				sym, _ := f.Lookup(procRVA + off)
				if len(sym.Inlines) <= s.depth || sym.Inlines[s.depth].Name != s.name {
					t.Errorf("%#x: inlines %+v, want %s at depth %d", procRVA+off, sym.Inlines, s.name, s.depth)
				}
				checked++
			}
		}
	}
	if checked == 0 {
		t.Error("no range checked")
	}
}

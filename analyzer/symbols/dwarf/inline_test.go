package dwarf

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestInlinedSubroutinesSymbolizer: at every byte of outer() in an -O2
// MinGW build (testdata/inline, see build.sh), the frames from
// DW_TAG_inlined_subroutine (names through DW_AT_abstract_origin, call
// sites from DW_AT_call_file/call_line) are llvm-symbolizer --inlining's,
// byte for byte.
func TestInlinedSubroutinesSymbolizer(t *testing.T) {
	const dir = "../../testdata/inline/"
	fh, err := os.Open(dir + "inline_mingw.exe")
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	f, err := Open(fh)
	if err != nil {
		t.Fatal(err)
	}
	golden, err := os.ReadFile(dir + "inline_mingw.symbolizer.txt")
	if err != nil {
		t.Fatal(err)
	}
	blocks := map[uint64]string{}
	var cur uint64
	for _, line := range strings.SplitAfter(string(golden), "\n") {
		if strings.HasPrefix(line, "0x") {
			if cur, err = strconv.ParseUint(strings.TrimSpace(line[2:]), 16, 64); err != nil {
				t.Fatal(err)
			}
		}
		blocks[cur] += line
	}
	if len(blocks) < 64 {
		t.Fatalf("%d addresses in the golden", len(blocks))
	}
	nested := 0
	for va, want := range blocks {
		s, ok := f.Lookup(va - f.ImageBase())
		if !ok {
			t.Errorf("%#x: not found", va)
			continue
		}
		var b strings.Builder
		fmt.Fprintf(&b, "0x%x\n", va)
		place := func(n, file string, l int) {
			if file == "" {
				file = "??"
			}
			fmt.Fprintf(&b, "%s\n%s:%d\n", n, file, l)
		}
		for i := len(s.Inlines) - 1; i >= 0; i-- {
			place(s.Inlines[i].Name, s.Inlines[i].File, s.Inlines[i].Line)
		}
		place(s.Name, s.File, s.Line)
		if got := b.String(); got != want {
			t.Errorf("%#x:\n got %s\nwant %s", va, got, want)
		}
		if len(s.Inlines) == 2 {
			nested++
		}
	}
	if nested == 0 {
		t.Error("no address two inlines deep")
	}
}

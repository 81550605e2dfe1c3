package pdb

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/dumptriage/dumptriage/analyzer/symbols/demangle"
)

// TestBreakpadSym compares crash.pdb with crash.sym beside it, Breakpad
// dump_syms' (DIA's) reading of the same PDB: function ranges, names and
// line records.
func TestBreakpadSym(t *testing.T) {
	f := openPDB(t, "crash")
	fh, err := os.Open(filepath.Join(sharedTestdata(t), "public/getsentry__symbolic/symbolic-testutils/fixtures/windows/crash.sym"))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	files := map[string]string{}
	var funcs, lines, bad int
	inFunc := false
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		switch fields[0] {
		case "FILE":
			files[fields[1]] = strings.SplitN(sc.Text(), " ", 3)[2]
			continue
		case "FUNC":
			multiple := fields[1] == "m"
			if multiple {
				fields = append(fields[:1], fields[2:]...)
			}
			inFunc = !multiple // folded functions: DIA picks one name, we another
			// (DIA also strips the x86 C decoration of MASM procedures:
			// __SEH_prolog4 is _SEH_prolog4 there.)
			if multiple {
				continue
			}
			addr, _ := strconv.ParseUint(fields[1], 16, 32)
			size, _ := strconv.ParseUint(fields[2], 16, 32)
			name := strings.SplitN(sc.Text(), " ", 5)[4]
			s, ok := f.Lookup(uint32(addr))
			funcs++
			if !ok || s.RVA != uint32(addr) || s.Size != uint32(size) || !(name == s.Name || strings.HasPrefix(name, s.Name+"(") || "_"+name == s.Name) {
				bad++
				t.Errorf("FUNC %x %x %s: Lookup = %+v, %v", addr, size, name, s, ok)
			}
			continue
		case "PUBLIC", "STACK", "MODULE", "INFO", "INLINE", "INLINE_ORIGIN":
			inFunc = false
			continue
		}
		// Zero-size records are earlier entries at an address that a later
		// entry also starts at; the later one is the one that applies.
		if !inFunc || len(fields) != 4 || fields[1] == "0" {
			continue
		}
		addr, _ := strconv.ParseUint(fields[0], 16, 32)
		line, _ := strconv.Atoi(fields[2])
		if line == 0xF00F00 || line == 0xFEEFEE {
			line = 0
		}
		s, ok := f.Lookup(uint32(addr))
		lines++
		if !ok || s.Line != line || s.File != files[fields[3]] {
			bad++
			t.Errorf("line %s: Lookup = %+v, %v; want %s:%d", sc.Text(), s, ok, files[fields[3]], line)
		}
		if bad > 20 {
			t.Fatal("too many mismatches")
		}
	}
	if funcs < 50 || lines < 500 {
		t.Fatalf("only %d functions, %d lines checked", funcs, lines)
	}
}

// TestPublicNamesMatchProcedures checks demangle.MSVCName on the decorated
// public names of crash.pdb against the names MSVC wrote into the procedure
// records at the same addresses.
func TestPublicNamesMatchProcedures(t *testing.T) {
	f := openPDB(t, "crash")
	at := map[uint32]int{}
	for _, pub := range f.pubs {
		at[pub.rva]++
	}
	n := 0
	for _, pub := range f.pubs {
		raw := f.pubName(pub)
		// Several publics at one address are identical functions folded
		// by the linker; the procedure record names only one of them.
		if !strings.HasPrefix(raw, "?") || at[pub.rva] > 1 {
			continue
		}
		_, p := f.findProc(pub.rva)
		if p == nil || p.rva != pub.rva {
			continue
		}
		got, ok := demangle.MSVCName(raw)
		if !ok || got != p.name {
			t.Errorf("MSVCName(%q) = %q, %v; procedure record says %q", raw, got, ok, p.name)
		}
		n++
	}
	if n < 30 {
		t.Fatalf("only %d names compared", n)
	}
	t.Logf("%d names compared", n)
}

func TestUndecorateX86C(t *testing.T) {
	for in, want := range map[string]string{
		"_memcpy": "memcpy", "_IsProcessorFeaturePresent@4": "IsProcessorFeaturePresent",
		"@__security_check_cookie@4": "__security_check_cookie", "___scrt_native_startup_lock": "__scrt_native_startup_lock",
		"main": "main", "_": "_", "_a@b": "a@b", "@x@": "x@",
	} {
		if got := undecorateX86C(in); got != want {
			t.Errorf("undecorateX86C(%q) = %q, want %q", in, got, want)
		}
	}
}

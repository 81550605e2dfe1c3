package breakpad

import (
	"errors"
	"github.com/dumptriage/dumptriage/internal/testdata"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// testdataDir is the shared test data directory (../shared/testdata).
func testdataDir(t testing.TB) string { return testdata.Dir(t) }

const (
	breakpadSyms = "public/google__breakpad/src/processor/testdata/symbols"
	testAppSym   = breakpadSyms + "/test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1/test_app.sym"
	kernel32Sym  = breakpadSyms + "/kernel32.pdb/BCE8785C57B44245A669896B6A19B9542/kernel32.sym"
	crashSym     = "public/getsentry__symbolic/symbolic-testutils/fixtures/windows/crash.sym"
	fizzbuzzSym  = "public/llvm-mirror__lldb/packages/Python/lldbsuite/test/functionalities/postmortem/minidump/fizzbuzz.syms"
)

func parseFile(t testing.TB, path string) *File {
	t.Helper()
	if !filepath.IsAbs(path) {
		path = filepath.Join(testdataDir(t), path)
	}
	r, err := os.Open(path)
	if err != nil {
		t.Fatalf("test file: %v", err)
	}
	defer r.Close()
	f, err := Parse(r)
	if err != nil {
		t.Fatalf("Parse(%s): %v", path, err)
	}
	return f
}

// TestMinidump2Frames checks the four frames of Breakpad's
// minidump2.stackwalk.out; the module offsets come from rust-minidump's
// json-pretty-symbols snapshot (callers looked up at return address - 1).
func TestMinidump2Frames(t *testing.T) {
	app := parseFile(t, testAppSym)
	k32 := parseFile(t, kernel32Sym)
	tests := []struct {
		name string
		f    *File
		rva  uint64
		want Symbol
	}{
		{"CrashFunction", app, 0x429e, Symbol{Name: "`anonymous namespace'::CrashFunction", RVA: 0x4290, Size: 0x18,
			File: `c:\test_app.cc`, Line: 58, LineRVA: 0x429b}},
		{"main", app, 0x41ff, Symbol{Name: "main", RVA: 0x41b0, Size: 0x86, ParamSize: 8,
			File: `c:\test_app.cc`, Line: 65, LineRVA: 0x41fb}},
		{"__tmainCRTStartup", app, 0x53eb, Symbol{Name: "__tmainCRTStartup", RVA: 0x528d, Size: 0x1b6,
			File: `f:\sp\vctools\crt_bld\self_x86\crt\src\crt0.c`, Line: 327, LineRVA: 0x53da}},
		{"BaseProcessStart", k32, 0x16fd6, Symbol{Name: "BaseProcessStart", RVA: 0x16fb4, ParamSize: 4, FromPublic: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.f.Lookup(tt.rva)
			if !ok {
				t.Fatalf("Lookup(%#x) found nothing", tt.rva)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Lookup(%#x) mismatch (-want +got):\n%s", tt.rva, diff)
			}
		})
	}
	// The frame offsets as minidump_stackwalk prints them, from the return
	// address (module offset + 1 for callers).
	if s, _ := app.Lookup(0x41ff); 0x4200-s.LineRVA != 5 {
		t.Errorf("main line offset = %#x, want 0x5", 0x4200-s.LineRVA)
	}
	if s, _ := k32.Lookup(0x16fd6); 0x16fd7-s.RVA != 0x23 {
		t.Errorf("BaseProcessStart offset = %#x, want 0x23", 0x16fd7-s.RVA)
	}
}

func TestRealFilesParse(t *testing.T) {
	tests := []struct {
		path   string
		module ModuleRecord
		codeID string
		stats  Stats
	}{
		{testAppSym, ModuleRecord{"windows", "x86", "5A9832E5287241C1838ED98914E9B7FF1", "test_app.pdb"}, "",
			Stats{Files: 0, Funcs: 1065, Publics: 5}},
		{kernel32Sym, ModuleRecord{"windows", "x86", "BCE8785C57B44245A669896B6A19B9542", "kernel32.pdb"}, "",
			Stats{Publics: 1576}},
		{crashSym, ModuleRecord{"windows", "x86", "3249D99D0C4049318610F4E4FB0B69361", "crash.pdb"}, "5AB380779000", Stats{}},
		{fizzbuzzSym, ModuleRecord{"windows", "x86", "0F45B7919A9646F9BF8F2D6076EA421A11", "fizzbuzz.pdb"}, "",
			Stats{Publics: 1}},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.path), func(t *testing.T) {
			f := parseFile(t, tt.path)
			if f.Module != tt.module {
				t.Errorf("Module = %+v, want %+v", f.Module, tt.module)
			}
			if f.CodeID != tt.codeID {
				t.Errorf("CodeID = %q, want %q", f.CodeID, tt.codeID)
			}
			if f.Warnings() != 0 {
				t.Errorf("Warnings = %d, want 0", f.Warnings())
			}
			s := f.Stats()
			if tt.stats.Funcs != 0 && s.Funcs != tt.stats.Funcs {
				t.Errorf("Funcs = %d, want %d", s.Funcs, tt.stats.Funcs)
			}
			if tt.stats.Publics != 0 && s.Publics != tt.stats.Publics {
				t.Errorf("Publics = %d, want %d", s.Publics, tt.stats.Publics)
			}
			t.Logf("%+v dropped=%d", s, f.Dropped())
		})
	}
}

func TestSyntheticLookup(t *testing.T) {
	f := parseFile(t, mustAbs(t, "testdata/synthetic.sym"))
	if f.Warnings() != 8 {
		t.Errorf("Warnings = %d, want 8", f.Warnings())
	}
	if f.Dropped() != 6 {
		t.Errorf("Dropped = %d, want 6", f.Dropped())
	}
	if f.CodeID != "89ABCDEF0123" || f.CodeFile != "libsynth.so" {
		t.Errorf("INFO CODE_ID = %q %q", f.CodeID, f.CodeFile)
	}
	tests := []struct {
		rva  uint64
		want Symbol
		ok   bool
	}{
		{0x0fff, Symbol{}, false},
		{0x1000, Symbol{Name: "first_function(int, char const*)", RVA: 0x1000, Size: 0x20, File: "/src/a.c", Line: 10, LineRVA: 0x1000}, true},
		// INLINE ranges: level 0 covers 0x1008-0x100b, level 1 0x1008-0x1009
		// and 0x100c, which level 0 does not cover, so only the first two
		// addresses nest. The FUNC's place becomes the outermost call site,
		// and the line record's goes to the innermost inline.
		{0x1008, Symbol{Name: "first_function(int, char const*)", RVA: 0x1000, Size: 0x20, File: "/src/a.c", Line: 12, LineRVA: 0x1000,
			Inlines: []Inline{{Name: "inlined_helper", File: "/src/b with space.h", Line: 5}, {Name: "old_style_origin", File: "/src/a.c", Line: 10}}}, true},
		{0x100a, Symbol{Name: "first_function(int, char const*)", RVA: 0x1000, Size: 0x20, File: "/src/a.c", Line: 12, LineRVA: 0x1000,
			Inlines: []Inline{{Name: "inlined_helper", File: "/src/a.c", Line: 10}}}, true},
		{0x100c, Symbol{Name: "first_function(int, char const*)", RVA: 0x1000, Size: 0x20, File: "/src/a.c", Line: 10, LineRVA: 0x1000}, true},
		{0x1012, Symbol{Name: "first_function(int, char const*)", RVA: 0x1000, Size: 0x20, File: "/src/b with space.h", Line: 11, LineRVA: 0x1010}, true},
		{0x101f, Symbol{Name: "first_function(int, char const*)", RVA: 0x1000, Size: 0x20, File: "/src/b with space.h", Line: 11, LineRVA: 0x1010}, true},
		{0x1020, Symbol{Name: "folded", RVA: 0x1020, Size: 0x10, File: "/src/a.c", Line: 20, LineRVA: 0x1020, ParamSize: 8, Multiple: true}, true},
		{0x1030, Symbol{Name: "public_after", RVA: 0x1030, ParamSize: 4, FromPublic: true}, true},
		{0x1045, Symbol{Name: "public_multiple", RVA: 0x1040, Multiple: true, FromPublic: true}, true},
		{0x1050, Symbol{Name: "bounds_public", RVA: 0x1050, Size: 0x10, File: "/src/a.c", Line: 31, LineRVA: 0x1050}, true},
		{0x1058, Symbol{Name: "bounds_public", RVA: 0x1050, Size: 0x10}, true},
		// The FUNC at 0x1050 bounds the PUBLIC at 0x1040.
		{0x1060, Symbol{}, false},
	}
	for _, tt := range tests {
		got, ok := f.Lookup(tt.rva)
		if ok != tt.ok {
			t.Errorf("Lookup(%#x) ok = %v, want %v", tt.rva, ok, tt.ok)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Lookup(%#x) mismatch (-want +got):\n%s", tt.rva, diff)
		}
	}
}

func mustAbs(t testing.TB, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestSyntheticFindWin(t *testing.T) {
	f := parseFile(t, mustAbs(t, "testdata/synthetic.sym"))
	tests := []struct {
		rva      uint64
		wantType int
		wantRVA  uint64
		ok       bool
	}{
		{0x2000, WinFrameData, 0x2000, true},
		{0x2015, WinFrameData, 0x2010, true},
		{0x202f, WinFrameData, 0x2010, true},
		{0x2030, WinFrameData, 0x2000, true}, // outer range after the nested one
		{0x2150, WinFPO, 0x2000, true},       // only the FPO record covers it
		{0x3005, WinFPO, 0x3000, true},
		{0x3010, 0, 0, false},
		{0x1000, 0, 0, false}, // the type 9 record was rejected
	}
	for _, tt := range tests {
		w, ok := f.FindWin(tt.rva)
		if ok != tt.ok {
			t.Errorf("FindWin(%#x) ok = %v, want %v", tt.rva, ok, tt.ok)
			continue
		}
		if ok && (w.Type != tt.wantType || w.RVA != tt.wantRVA) {
			t.Errorf("FindWin(%#x) = type %d at %#x, want type %d at %#x", tt.rva, w.Type, w.RVA, tt.wantType, tt.wantRVA)
		}
	}
	w, _ := f.FindWin(0x2150)
	want := &StackWin{Type: 0, RVA: 0x2000, CodeSize: 0x200, PrologSize: 3, ParamSize: 8, SavedRegSize: 4, LocalSize: 0x10, AllocatesBasePointer: true}
	if diff := cmp.Diff(want, w); diff != "" {
		t.Errorf("FPO record mismatch (-want +got):\n%s", diff)
	}
}

func TestSyntheticFindCFI(t *testing.T) {
	f := parseFile(t, mustAbs(t, "testdata/synthetic.sym"))
	tests := []struct {
		rva  uint64
		want CFIRules
	}{
		{0x3fff, nil},
		{0x4000, CFIRules{".cfa": "$rsp 8 +", ".ra": ".cfa -8 + ^"}},
		{0x4002, CFIRules{".cfa": "$rsp 16 +", ".ra": ".cfa -8 + ^", "$rbp": ".cfa -16 + ^"}},
		{0x4004, CFIRules{".cfa": "$rbp 16 +", ".ra": ".cfa -8 + ^", "$rbp": ".cfa -16 + ^", "$rbx": ".cfa -24 + ^"}},
		{0x403f, CFIRules{".cfa": "$rbp 16 +", ".ra": ".cfa -8 + ^", "$rbp": ".cfa -16 + ^", "$rbx": ".cfa -24 + ^"}},
		{0x4040, nil},
		{0x4105, nil},
	}
	for _, tt := range tests {
		got, ok := f.FindCFI(tt.rva)
		if ok != (tt.want != nil) {
			t.Errorf("FindCFI(%#x) ok = %v", tt.rva, ok)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("FindCFI(%#x) mismatch (-want +got):\n%s", tt.rva, diff)
		}
	}
}

// TestFindWinReal checks the STACK WIN records used to walk minidump2.
func TestFindWinReal(t *testing.T) {
	app := parseFile(t, testAppSym)
	k32 := parseFile(t, kernel32Sym)
	const std8 = "$T0 $ebp = $eip $T0 4 + ^ = $ebp $T0 ^ = $esp $T0 8 + = $L $T0 .cbSavedRegs - = $P $T0 8 + .cbParams + ="
	tests := []struct {
		name string
		f    *File
		rva  uint64
		want StackWin
	}{
		{"CrashFunction", app, 0x429e, StackWin{Type: 4, RVA: 0x4290, CodeSize: 0x18, PrologSize: 4, LocalSize: 4, HasProgram: true, Program: std8}},
		{"main", app, 0x41ff, StackWin{Type: 4, RVA: 0x41b0, CodeSize: 0x86, PrologSize: 0x13, ParamSize: 8, LocalSize: 0xe0, HasProgram: true, Program: std8}},
		{"BaseProcessStart", k32, 0x16fd6, StackWin{Type: 4, RVA: 0x16fb4, CodeSize: 0x4f, PrologSize: 0xc, ParamSize: 4, SavedRegSize: 8, LocalSize: 0x1c, HasProgram: true,
			Program: "$T0 $ebp = $eip $T0 4 + ^ = $ebp $T0 ^ = $esp $T0 8 + = $L $T0 .cbSavedRegs - = $P $T0 4 + .cbParams + ="}},
		// 0x16f83 has both a type 4 and a type 0 record: type 4 wins.
		{"prefer type 4", k32, 0x16f85, StackWin{Type: 4, RVA: 0x16f83, CodeSize: 6, HasProgram: true,
			Program: "$T2 $esp .cbLocals + .cbSavedRegs + = $T0 .raSearchStart = $eip $T0 ^ = $esp $T0 4 + ="}},
		// 0x42ae (size 0x18) encloses 0x42af (size 0x14): the inner one wins.
		{"nested", app, 0x42b0, StackWin{Type: 4, RVA: 0x42af, CodeSize: 0x14, PrologSize: 6, ParamSize: 4, SavedRegSize: 4, HasProgram: true,
			Program: "$T2 $esp .cbLocals + .cbSavedRegs + = $T0 .raSearchStart = $eip $T0 ^ = $esp $T0 4 + ="}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.f.FindWin(tt.rva)
			if !ok {
				t.Fatalf("FindWin(%#x) found nothing", tt.rva)
			}
			if diff := cmp.Diff(&tt.want, got); diff != "" {
				t.Errorf("FindWin(%#x) mismatch (-want +got):\n%s", tt.rva, diff)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in string
	}{
		{"empty", ""},
		{"blank lines", "\n\r\n\n"},
		{"no module", "FILE 1 a.c\nMODULE windows x86 ID a.pdb\n"},
		{"short module", "MODULE windows x86\n"},
		{"binary", "MDMP\x93\xa7\x00\x00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tt.in))
			if !errors.Is(err, ErrNoModule) {
				t.Errorf("Parse error = %v, want ErrNoModule", err)
			}
		})
	}
}

func TestParseLongLines(t *testing.T) {
	long := strings.Repeat("x", 200<<10)
	in := "\xef\xbb\xbfMODULE windows x86 ID a.pdb\r\nFUNC 10 10 0 " + long + "\r\n10 10 7 1\r\nFILE 1 a.c\r\nPUBLIC 100 0 p"
	f, err := Parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	s, ok := f.Lookup(0x15)
	if !ok || s.Name != long || s.Line != 7 || s.File != "a.c" {
		t.Errorf("Lookup(0x15) = %q line %d file %q", s.Name[:min(10, len(s.Name))], s.Line, s.File)
	}
	if s, ok := f.Lookup(0x100); !ok || s.Name != "p" {
		t.Errorf("last line without newline: %+v %v", s, ok)
	}
}

package dwarf

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"github.com/dumptriage/dumptriage/internal/testdata"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// testdataDir is the shared test data directory (../shared/testdata).
func testdataDir(t testing.TB) string { return testdata.Dir(t) }

func exePath(t testing.TB, name string) string {
	scenario := name[:strings.Index(name, "_x")]
	scenario = strings.TrimSuffix(scenario, "_msvcthrow")
	scenario = strings.TrimSuffix(scenario, "_custom")
	return filepath.Join(testdataDir(t), "wine", "dumps", scenario, name)
}

func openExe(t testing.TB, name string) *File {
	t.Helper()
	r, err := os.Open(exePath(t, name))
	if err != nil {
		t.Fatalf("test file: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	start := time.Now()
	f, err := Open(r)
	if err != nil {
		t.Fatalf("Open(%s): %v", name, err)
	}
	t.Logf("Open(%s): %d function ranges in %v", name, f.Functions(), time.Since(start))
	return f
}

// TestOOMVectorStack checks the frames of oom_vector_x64_mingw's crashing
// thread that have DWARF, as lldb's transcript shows them (return address
// minus one for the callers).
func TestOOMVectorStack(t *testing.T) {
	f := openExe(t, "oom_vector_x64_mingw.exe")
	tests := []struct {
		va   uint64
		name string
		file string
		line int
	}{
		{0x14001c54d - 1, "std::__new_allocator<Entry16>::allocate", "new_allocator.h", 137},
		{0x14001c7c6 - 1, "std::allocator_traits<std::allocator<Entry16> >::allocate", "alloc_traits.h", 464},
		{0x14001b087 - 1, "std::_Vector_base<Entry16, std::allocator<Entry16> >::_M_allocate", "stl_vector.h", 378},
		{0x14001cb0e - 1, "std::vector<Entry16, std::allocator<Entry16> >::_M_realloc_insert<const Entry16&>", "vector.tcc", 453},
		{0x14001cd08 - 1, "std::vector<Entry16, std::allocator<Entry16> >::push_back", "stl_vector.h", 1287},
		{0x1400031ac - 1, "fill_vector", "oom_vector.cpp", 100},
		{0x1400031e1 - 1, "build_index", "oom_vector.cpp", 108},
		{0x1400034a0 - 1, "main", "oom_vector.cpp", 173},
		{0x1400013ae - 1, "__tmainCRTStartup", "crtexe.c", 321},
		// facts.json function addresses.
		{0x14000316f, "fill_vector", "oom_vector.cpp", 97},
		{0x1400031b3, "build_index", "oom_vector.cpp", 105},
		{0x1400033fe, "main", "oom_vector.cpp", 159},
	}
	for _, tt := range tests {
		s, ok := f.Lookup(tt.va - f.ImageBase())
		if !ok {
			t.Errorf("Lookup(%#x) found nothing", tt.va)
			continue
		}
		if s.Name != tt.name || path.Base(s.File) != tt.file || s.Line != tt.line {
			t.Errorf("Lookup(%#x) = %q %s:%d, want %q %s:%d", tt.va, s.Name, s.File, s.Line, tt.name, tt.file, tt.line)
		}
	}
	// operator new and __cxa_throw come from libstdc++ without DWARF: the
	// COFF symbol table names them, mangled.
	for _, tt := range []struct {
		va   uint64
		name string
	}{{0x140020a33 - 1, "_Znwy"}, {0x140020f49 - 1, "__cxa_throw"}, {0x14000de21 - 1, "_Unwind_RaiseException"}} {
		s, ok := f.Lookup(tt.va - f.ImageBase())
		if !ok || s.Name != tt.name || !s.FromSymtab {
			t.Errorf("Lookup(%#x) = %+v, want %s from the symbol table", tt.va, s, tt.name)
		}
	}
}

// TestAllocateParam finds __n of __new_allocator<Entry16>::allocate, the
// element count lldb shows as __n=67108864 in the OOM dump, and evaluates
// its location against a frame.
func TestAllocateParam(t *testing.T) {
	f := openExe(t, "oom_vector_x64_mingw.exe")
	fn, ok := f.Function(0x14001c54c - f.ImageBase())
	if !ok {
		t.Fatal("Function(allocate) found nothing")
	}
	if fn.Name != "std::__new_allocator<Entry16>::allocate" || fn.LowPC != 0x1c4f0 || fn.HighPC != 0x1c554 {
		t.Errorf("Function = %q [%#x, %#x)", fn.Name, fn.LowPC, fn.HighPC)
	}
	if !bytes.Equal(fn.FrameBase, []byte{opCallFrameCFA}) {
		t.Errorf("FrameBase = %x, want DW_OP_call_frame_cfa", fn.FrameBase)
	}
	var n *Variable
	for i := range fn.Params {
		if fn.Params[i].Name == "__n" {
			n = &fn.Params[i]
		}
	}
	if n == nil {
		t.Fatalf("no __n among %+v", fn.Params)
	}
	// DW_OP_fbreg +8: the home slot of the second argument (rdx), above the
	// return address at CFA-8... at CFA+8 in the Win64 shadow space.
	if n.TypeName != "size_type" || n.TypeSize != 8 || !bytes.Equal(n.Location, []byte{opFbreg, 8}) || n.LocList {
		t.Errorf("__n = %+v", *n)
	}
	const cfa = 0x21fbd0
	mem := map[uint64]uint64{cfa + 8: 67108864}
	addr, reg, err := EvalLocation(n.Location, cfa, nil, func(a uint64, size int) ([]byte, bool) {
		v, ok := mem[a]
		b := make([]byte, 8)
		binary.LittleEndian.PutUint64(b, v)
		return b[:size], ok
	})
	if err != nil || reg != -1 || addr != cfa+8 {
		t.Errorf("EvalLocation(__n) = %#x, %d, %v", addr, reg, err)
	}
	if len(fn.Params) != 3 || fn.Params[0].Name != "this" || fn.Params[0].TypeName != "__new_allocator<Entry16> * const" {
		t.Errorf("Params = %+v", fn.Params)
	}

	main, ok := f.Function(0x1400033fe - f.ImageBase())
	if !ok || len(main.Params) != 2 || main.Params[0].Name != "argc" || main.Params[0].TypeName != "int" ||
		main.Params[1].Name != "argv" || main.Params[1].TypeName != "char **" {
		t.Errorf("main = %+v", main)
	}
}

// TestGoldenSymbolizer compares Lookup with llvm-symbolizer --no-inlines on
// addresses sampled across .text of every MinGW exe (testdata/make_golden.py).
// Files and lines must match exactly. Names are compared with the
// demangled name's parameters and return type removed, and template
// arguments ignored, since llvm-symbolizer demangles the linkage name and we
// build names from the DIE tree.
func TestGoldenSymbolizer(t *testing.T) {
	g, err := os.Open("testdata/golden_symbolizer.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	files := map[string]*File{}
	rows, bad := 0, 0
	sc := bufio.NewScanner(g)
	for sc.Scan() {
		fs := strings.Split(sc.Text(), "\t")
		if len(fs) != 5 {
			t.Fatalf("bad golden row %q", sc.Text())
		}
		f := files[fs[0]]
		if f == nil {
			f = openExe(t, fs[0])
			files[fs[0]] = f
		}
		rva, _ := strconv.ParseUint(fs[1], 0, 64)
		line, _ := strconv.Atoi(fs[4])
		rows++
		s, ok := f.Lookup(rva)
		// Without --inlining, llvm-symbolizer gives the outer function with
		// the line table's place, which is the innermost inline's.
		if n := len(s.Inlines); n > 0 {
			s.File, s.Line = s.Inlines[n-1].File, s.Inlines[n-1].Line
		}
		// GCC's clones (.isra.0, .part.0, .constprop.0) point to their
		// origin's DIE; llvm-symbolizer shows the clone's symbol name.
		wantName := baseName(cloneSuffix.ReplaceAllString(fs[2], ""))
		if !ok || path.Clean(s.File) != path.Clean(fs[3]) || s.Line != line || baseName(cloneSuffix.ReplaceAllString(s.Name, "")) != wantName {
			bad++
			if bad <= 20 {
				t.Errorf("%s %s: got %q %s:%d (ok=%v), want %q %s:%d", fs[0], fs[1], s.Name, s.File, s.Line, ok, fs[2], fs[3], line)
			}
		}
	}
	if rows < 1000 {
		t.Errorf("only %d golden rows", rows)
	}
	t.Logf("%d rows, %d mismatches", rows, bad)
}

var cloneSuffix = regexp.MustCompile(`\.(isra|part|constprop|cold)\.\d+`)

// baseName reduces a C++ name to its last component without template
// arguments or parameters: "void ns::C<int>::f<X>(int) const" -> "f".
func baseName(s string) string {
	// Drop the parameter list: the last top-level "(...)".
	depth := 0
	cut := len(s)
	for i := len(s) - 1; i >= 0; i-- {
		switch s[i] {
		case ')', '>':
			depth++
		case '(', '<':
			depth--
			if depth == 0 && s[i] == '(' && !strings.HasSuffix(s[:i], "operator") {
				cut = i
				i = -1
			}
		}
	}
	s = s[:cut]
	// Remove template arguments.
	var b strings.Builder
	depth = 0
	for _, c := range s {
		switch {
		case c == '<' && !strings.HasSuffix(b.String(), "operator"):
			depth++
		case c == '>' && depth > 0:
			depth--
		case depth == 0:
			b.WriteRune(c)
		}
	}
	s = b.String()
	if i := strings.LastIndex(s, "::"); i >= 0 {
		s = s[i+2:]
	}
	if i := strings.LastIndex(s, " "); i >= 0 && !strings.Contains(s, "operator") {
		s = s[i+1:]
	}
	return s
}

func TestOpenErrors(t *testing.T) {
	// A PE file without DWARF: one of Wine's stripped DLLs.
	dlls, _ := filepath.Glob(filepath.Join(testdataDir(t), "wine", "dumps", "_wine_dlls", "x64", "*.dll"))
	if len(dlls) > 0 {
		r, err := os.Open(dlls[0])
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if _, err := Open(r); !errors.Is(err, ErrNoDWARF) {
			t.Errorf("Open(%s) error = %v, want ErrNoDWARF", filepath.Base(dlls[0]), err)
		}
	}
	for _, in := range []string{"", "MZ", "not a PE file at all, just text"} {
		if _, err := Open(strings.NewReader(in)); err == nil {
			t.Errorf("Open(%q) succeeded", in)
		}
	}
	// Truncated exe: headers intact, sections cut.
	data, err := os.ReadFile(exePath(t, "va_commit_x64_mingw.exe"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0x400, 0x1000, len(data) / 2, len(data) - 0x3000} {
		if f, err := Open(bytes.NewReader(data[:n])); err == nil {
			f.Lookup(0x1500)
			f.Function(0x1500)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	data, err := os.ReadFile(exePath(b, "oom_vector_x64_mingw.exe"))
	if err != nil {
		b.Skip(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Open(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLookupFirst(b *testing.B) {
	data, err := os.ReadFile(exePath(b, "oom_vector_x64_mingw.exe"))
	if err != nil {
		b.Skip(err)
	}
	for b.Loop() {
		f, err := Open(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		f.Lookup(0x1c54c)
	}
}

// TestLocalScopes: heap_nomem's main declares buf, i and len in an inner
// block; they carry its range, p the whole function. Typedefs resolve to
// their base type.
func TestLocalScopes(t *testing.T) {
	f := openExe(t, "heap_nomem_x64_mingw.exe")
	main, ok := f.Function(0x1400032c7 - f.ImageBase())
	if !ok {
		t.Fatal("no main")
	}
	scoped := map[string]bool{}
	for _, v := range main.Locals {
		scoped[v.Name] = v.Scope != nil
		for _, rg := range v.Scope {
			if rg[0] < main.LowPC || rg[1] > main.HighPC || rg[0] >= rg[1] {
				t.Errorf("%s: scope %#x outside main [%#x, %#x)", v.Name, rg, main.LowPC, main.HighPC)
			}
		}
	}
	want := map[string]bool{"p": false, "buf": true, "i": true, "len": true}
	for name, s := range want {
		if got, ok := scoped[name]; !ok || got != s {
			t.Errorf("%s: scoped = %v (found %v), want %v", name, got, ok, s)
		}
	}
	alloc, ok := f.Function(0x14000322e - f.ImageBase())
	if !ok || len(alloc.Params) != 2 {
		t.Fatalf("allocate_cache_block: %+v", alloc)
	}
	for i, want := range [][3]string{{"heap", "HANDLE", "void *"}, {"bytes", "SIZE_T", "long long unsigned int"}} {
		p := alloc.Params[i]
		if p.Name != want[0] || p.TypeName != want[1] || p.BaseType != want[2] {
			t.Errorf("param %d = %q %q base %q, want %q", i, p.Name, p.TypeName, p.BaseType, want)
		}
	}
}

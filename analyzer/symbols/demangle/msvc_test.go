package demangle

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// TestMSVCGolden compares MSVC against llvm-undname 14's output recorded in
// testdata/undname_golden.tsv (see testdata/gen_golden.sh).
func TestMSVCGolden(t *testing.T) {
	f, err := os.Open("testdata/undname_golden.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n, bad := 0, 0
	for sc.Scan() {
		in, want, ok := strings.Cut(sc.Text(), "\t")
		if !ok {
			t.Fatalf("bad golden line %q", sc.Text())
		}
		n++
		got, ok := MSVC(in)
		if want == "<error>" {
			if ok {
				t.Logf("MSVC(%q) = %q, llvm-undname rejects it", in, got)
			}
			continue
		}
		if !ok || got != want {
			bad++
			t.Errorf("MSVC(%q)\n got %q ok=%v\nwant %q", in, got, ok, want)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 100 {
		t.Fatalf("only %d golden names", n)
	}
	t.Logf("%d names, %d mismatches", n, bad)
}

func TestMSVCName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"?Foo@Bar@@QEAAHH@Z", "Bar::Foo"},
		{"??$_Emplace_reallocate@AEBH@?$vector@HV?$allocator@H@std@@@std@@QEAAPEAHQEAHAEBH@Z", "std::vector<int,std::allocator<int> >::_Emplace_reallocate<int const &>"},
		{"??1?$basic_string@_WU?$char_traits@_W@std@@V?$allocator@_W@2@@std@@QAE@XZ", "std::basic_string<wchar_t,std::char_traits<wchar_t>,std::allocator<wchar_t> >::~basic_string<wchar_t,std::char_traits<wchar_t>,std::allocator<wchar_t> >"},
		{"??$_Buynode@ABUAppMemory@google_breakpad@@@?$_List_buy@UAppMemory@google_breakpad@@V?$allocator@UAppMemory@google_breakpad@@@std@@@std@@QAEPAU?$_List_node@UAppMemory@google_breakpad@@PAX@1@PAU21@0ABUAppMemory@google_breakpad@@@Z", "std::_List_buy<google_breakpad::AppMemory,std::allocator<google_breakpad::AppMemory> >::_Buynode<google_breakpad::AppMemory const &>"},
		{"??$emplace_back@PAVExceptionHandler@google_breakpad@@@?$vector@PAVExceptionHandler@google_breakpad@@V?$allocator@PAVExceptionHandler@google_breakpad@@@std@@@std@@QAEX$$QAPAVExceptionHandler@google_breakpad@@@Z", "std::vector<google_breakpad::ExceptionHandler *,std::allocator<google_breakpad::ExceptionHandler *> >::emplace_back<google_breakpad::ExceptionHandler *>"},
		{"??0AutoExceptionHandler@google_breakpad@@QAE@XZ", "google_breakpad::AutoExceptionHandler::AutoExceptionHandler"},
		{"??2@YAPAXI@Z", "operator new"},
		{"??3@YAXPAXI@Z", "operator delete"},
		{"??_U@YAPAXI@Z", "operator new[]"},
		{"??_V@YAXPAX@Z", "operator delete[]"},
		{"??4?$basic_string@_WU?$char_traits@_W@std@@V?$allocator@_W@2@@std@@QAEAAV01@$$QAV01@@Z", "std::basic_string<wchar_t,std::char_traits<wchar_t>,std::allocator<wchar_t> >::operator="},
		{"??_Gbad_alloc@std@@UAEPAXI@Z", "std::bad_alloc::`scalar deleting destructor'"},
		{"??_Ebad_alloc@std@@UAEPAXI@Z", "std::bad_alloc::`vector deleting destructor'"},
		{"??_7bad_alloc@std@@6B@", "std::bad_alloc::`vftable'"},
		{"??Bfoo@@QAEHXZ", "foo::operator int"},
		{"?f@?A0x1234@@YAXXZ", "`anonymous namespace'::f"},
		{"?_OptionsStorage@?1??__local_stdio_printf_options@@9@4_KA", "`__local_stdio_printf_options'::`2'::_OptionsStorage"},
		{"?nomem@?5???2@YAPAXI@Z@4PAXA", "`operator new'::`6'::nomem"},
		{"??$f@$0BA@$0?5@@YAXXZ", "f<16,-6>"},
		{"??$f@P6AXH@Z@@YAXXZ", "f<void (*)(int)>"},
		{"??$f@PAPBD@@YAXXZ", "f<char const * *>"},
		{"??$f@QBD@@YAXXZ", "f<char const * const>"},
		{"?handler_stack_@ExceptionHandler@google_breakpad@@0PAV?$vector@PAVExceptionHandler@google_breakpad@@V?$allocator@PAVExceptionHandler@google_breakpad@@@std@@@std@@A", "google_breakpad::ExceptionHandler::handler_stack_"},
		{"??_C@_0L@IDKDBMAM@UuidCreate?$AA@", "`string'"},
		{"??__Ex@@YAXXZ", "`dynamic initializer for 'x''"},
	}
	for _, tt := range tests {
		got, ok := MSVCName(tt.in)
		if !ok || got != tt.want {
			t.Errorf("MSVCName(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
		}
	}
}

func TestMSVCTypeName(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{".?AVbad_alloc@std@@", "class std::bad_alloc", true},
		{".?AVexception@std@@", "class std::exception", true},
		{".?AUfoo@@", "struct foo", true},
		{".?AW4Color@@", "enum Color", true},
		{".H", "int", true},
		{".PAD", "char *", true},
		{".?AV?$vector@HV?$allocator@H@std@@@std@@", "class std::vector<int, class std::allocator<int>>", true},
		{"?AVfoo@@", "", false},
		{".?AVfoo@", "", false},
		{".?AVfoo@@x", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := MSVCTypeName(tt.in)
		if ok != tt.ok || got != tt.want {
			t.Errorf("MSVCTypeName(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestMSVCRejects(t *testing.T) {
	for _, in := range []string{
		"", "?", "??", "main", "_Z3foov", "?f@@", "?f@@YA", "?f@@YAX", "?f@@YAXH", "??$f@H", "?f@@YAX9@Z",
		"?f@@3", "??_C@_0", "?f@@YAXPAY0?1H@Z",
		strings.Repeat("?$a@", 500),
		"?x@@3" + strings.Repeat("PA", 2000) + "HA",
	} {
		if got, ok := MSVC(in); ok {
			t.Errorf("MSVC(%q) = %q, want failure", in, got)
		}
		if got, ok := MSVCName(in); ok {
			t.Errorf("MSVCName(%q) = %q, want failure", in, got)
		}
	}
}

// TestMSVCExpansion checks that back-references cannot blow up the output.
func TestMSVCExpansion(t *testing.T) {
	// Each level's template argument list names the previous level's type,
	// then refers to it again by back-reference (V1@), so the rendered name
	// doubles per level; llvm-undname accepts every level of this shape.
	nested := func(levels int) string {
		typ := "Vb@"
		for i := 0; i < levels; i++ {
			typ = "V?$a@" + typ + "@V1@@"
		}
		return "?x@@3" + typ + "@A"
	}
	two := nested(2)
	if got, ok := MSVC(two); !ok || got != "class a<class a<class b, class b>, class a<class b, class b>> x" {
		t.Fatalf("MSVC(%q) = %q, %v; want llvm-undname's spelling", two, got, ok)
	}
	// 11 levels render to 36,855 bytes, under the cap; 12 would pass it.
	if got, ok := MSVC(nested(11)); !ok || len(got) != 36855 {
		t.Errorf("MSVC(nested(11)) = %d bytes, %v; want 36855, true", len(got), ok)
	}
	for _, levels := range []int{12, 40} { // 40: about 2^40 characters in full
		if _, ok := parse(nested(levels)); levels == 12 && !ok {
			t.Fatalf("nested(%d) does not parse, so the cap is not what refuses it", levels)
		}
		if got, ok := MSVC(nested(levels)); ok || len(got) > maxOutput {
			t.Errorf("MSVC(nested(%d)) = %d bytes, ok=%v; want refusal at the %d-byte cap", levels, len(got), ok, maxOutput)
		}
	}
	// The bare name leaves the variable's type out, so nothing expands.
	if got, ok := MSVCName(nested(12)); !ok || got != "x" {
		t.Errorf("MSVCName(nested(12)) = %q, %v; want x", got, ok)
	}
}

func FuzzMSVC(f *testing.F) {
	fh, err := os.Open("testdata/undname_golden.tsv")
	if err != nil {
		f.Fatal(err)
	}
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		in, _, _ := strings.Cut(sc.Text(), "\t")
		f.Add(in)
	}
	fh.Close()
	f.Fuzz(func(t *testing.T, s string) {
		full, ok1 := MSVC(s)
		name, ok2 := MSVCName(s)
		if ok1 != ok2 && name != "" {
			t.Fatalf("MSVC ok=%v (%q) but MSVCName ok=%v (%q)", ok1, full, ok2, name)
		}
		_, _ = MSVCTypeName(s)
	})
}

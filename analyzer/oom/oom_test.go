package oom

import (
	"regexp"
	"strings"
	"testing"

	"github.com/dumptriage/dumptriage/analyzer/report"
)

func TestMatch(t *testing.T) {
	cases := map[string]struct {
		arg  int
		kind Kind
	}{
		"operator new":   {0, KindSize},
		"operator new[]": {0, KindSize},
		"std::__new_allocator<Entry16>::allocate":                               {0, KindCount},
		"__gnu_cxx::new_allocator<int>::allocate":                               {0, KindCount},
		"std::allocator<Entry16>::allocate(unsigned long)":                      {0, KindCount},
		"std::_Allocate<16,std::_Default_allocate_traits,0>":                    {0, KindSize},
		"std::_Allocate_manually_vector_aligned<std::_Default_allocate_traits>": {0, KindSize},
		"std::_Default_allocate_traits::_Allocate":                              {0, KindSize},
		"malloc":                  {0, KindSize},
		"_malloc_base":            {0, KindSize},
		"moz_xmalloc":             {0, KindSize},
		"calloc":                  {0, KindCalloc},
		"realloc":                 {1, KindSize},
		"_aligned_malloc":         {0, KindSize},
		"RtlAllocateHeap":         {2, KindSize},
		"HeapAlloc":               {2, KindSize},
		"HeapReAlloc":             {3, KindSize},
		"VirtualAlloc":            {1, KindSize},
		"VirtualAllocEx":          {2, KindSize},
		"NtAllocateVirtualMemory": {3, KindSizePtr},
		"LocalAlloc":              {1, KindSize},
	}
	for name, want := range cases {
		a, ok := Match(name)
		if !ok || a.Arg != want.arg || a.Kind != want.kind {
			t.Errorf("%s: %+v %v, want %+v", name, a, ok, want)
		}
	}
	for _, name := range []string{"main", "parse_header", "operator delete", "std::vector<int>::push_back", "mallocator"} {
		if _, ok := Match(name); ok {
			t.Errorf("%s matched an allocator", name)
		}
	}
}

func TestRecognize(t *testing.T) {
	fr := func(names ...string) []report.Frame {
		var out []report.Frame
		for _, n := range names {
			out = append(out, report.Frame{Function: n})
		}
		return out
	}
	cases := []struct {
		name   string
		code   uint32
		thrown string
		frames []report.Frame
		unreal map[string]string
		want   bool
	}{
		{"no memory", 0xC0000017, "", nil, nil, true},
		{"commit limit", 0xC000012D, "", nil, nil, true},
		{"msvc bad_alloc", 0xE06D7363, "class std::bad_alloc", nil, nil, true},
		{"gcc throw", 0x20474343, "", fr("RaiseException", "_Unwind_RaiseException", "__cxa_throw", "operator new"), nil, true},
		{"xbad_alloc", 0xE06D7363, "", fr("RaiseException", "_CxxThrowException", "std::_Xbad_alloc"), nil, true},
		{"unreal", 0x1, "", nil, map[string]string{"bIsOOM": "true"}, true},
		{"plain av", 0xC0000005, "", fr("copy_field", "main"), nil, false},
		{"av in malloc", 0xC0000005, "", fr("malloc", "main"), nil, false},
	}
	for _, c := range cases {
		if _, got := Recognize(c.code, c.thrown, c.frames, c.unreal); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func u(v uint64) *uint64 { return &v }

func TestVerdict(t *testing.T) {
	cases := []struct {
		name  string
		req   uint64
		facts Facts
		want  string
	}{
		{"founding case: commit limit", 968651152, Facts{Is64: true, AddressSpaceBytes: 128 << 40, CommitTotal: u(31 << 30), CommitLimit: u(31<<30 + 100<<20), LargestFree: u(120 << 40)}, "commit_limit"},
		{"32-bit fragmentation", 300 << 20, Facts{AddressSpaceBytes: 2 << 30, CommitTotal: u(8 << 30), CommitLimit: u(32 << 30), LargestFree: u(120 << 20)}, "address_space"},
		{"absurd", 1 << 62, Facts{Is64: true, AddressSpaceBytes: 128 << 40}, "absurd_request"},
		{"unknown under wine", 1 << 30, Facts{Is64: true, AddressSpaceBytes: 128 << 40, LargestFree: u(100 << 40)}, "unknown"},
		{"status commitment limit", 1 << 20, Facts{Is64: true, AddressSpaceBytes: 128 << 40, ExceptionCode: 0xC000012D}, "commit_limit"},
	}
	for _, c := range cases {
		af := &report.AllocationFailure{RequestedBytes: u(c.req)}
		Verdict(af, c.facts)
		if af.Verdict != c.want || af.Explanation == "" {
			t.Errorf("%s: %s (%s), want %s", c.name, af.Verdict, af.Explanation, c.want)
		}
	}
	af := &report.AllocationFailure{RequestedBytes: u(968651152), ElementCount: u(60540697), ElementSize: u(16)}
	Verdict(af, cases[0].facts)
	if !strings.Contains(af.Explanation, "60540697 elements of 16 bytes") || !strings.Contains(af.Explanation, "923.8 MiB") {
		t.Errorf("explanation: %s", af.Explanation)
	}
}

// refTemplateArgs is the regexp StripTemplates used before it was written
// out by hand (compiling it cost every run of the analyze command).
var refTemplateArgs = regexp.MustCompile(`<[^<>]*>`)

func refStripTemplates(name string) string {
	if i := strings.Index(name, "("); i > 0 && !strings.HasPrefix(name, "operator()") {
		name = name[:i]
	}
	for i := 0; i < 16 && strings.Contains(name, "<"); i++ {
		next := refTemplateArgs.ReplaceAllString(name, "")
		if next == name {
			break
		}
		name = next
	}
	return strings.TrimSpace(name)
}

var stripTricky = []string{
	"", "<", ">", "<>", "><", "<<>>", "<<>", "<>>", "a<b>c<d>e", "a<b<c>d>e", "a<b<c<d>>>", "a<<b>", "a<b<>",
	"std::vector<int,std::allocator<int> >::push_back", "std::_Allocate<16,std::_Default_allocate_traits,0>",
	"operator<", "operator<<", "operator<<<char>", "operator()<int>(x)", "operator()", "f(a<b>)", "(f<x>)", "<(>)",
	" a<b> ", "a <b> c", "é<日本>語", "\xff<\xfe>\xfd", "a<\xff>", "a<\n>b", "<lambda_1>::operator()",
	strings.Repeat("<", 20) + strings.Repeat(">", 20), "f" + strings.Repeat("<a", 17) + strings.Repeat(">", 17),
	"f" + strings.Repeat("<a", 16) + strings.Repeat(">", 16), "f" + strings.Repeat("<a", 15) + strings.Repeat(">", 15),
	strings.Repeat("<a>", 40), "a>b<c", "a<b>>c", "a<<b>>c<",
}

func TestStripTemplatesMatchesRegexp(t *testing.T) {
	check := func(s string) {
		if got, want := StripTemplates(s), refStripTemplates(s); got != want {
			t.Errorf("StripTemplates(%q) = %q, regexp gives %q", s, got, want)
		}
	}
	for _, s := range stripTricky {
		check(s)
	}
	// Every string of up to 8 characters over an alphabet that reaches
	// each case.
	const chars = "<>a( "
	buf := make([]byte, 0, 8)
	var gen func()
	gen = func() {
		check(string(buf))
		if len(buf) == cap(buf) || t.Failed() {
			return
		}
		for i := 0; i < len(chars); i++ {
			buf = append(buf, chars[i])
			gen()
			buf = buf[:len(buf)-1]
		}
	}
	gen()
}

func FuzzStripTemplates(f *testing.F) {
	for _, s := range stripTricky {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := StripTemplates(s), refStripTemplates(s); got != want {
			t.Errorf("StripTemplates(%q) = %q, regexp gives %q", s, got, want)
		}
	})
}

// refRecognizeFrames is Recognize's frame loop as it was, with the
// allocator match before the throw test.
func refRecognizeFrames(frames []report.Frame) (string, bool) {
	for i, f := range frames {
		if i > 12 {
			break
		}
		n := refStripTemplates(f.Function)
		if strings.Contains(n, "_Xbad_alloc") || strings.Contains(n, "__throw_bad_alloc") || strings.Contains(n, "throw_bad_alloc") {
			return "the stack throws std::bad_alloc (" + n + ")", true
		}
		if a, ok := Match(f.Function); ok && a.Kind != KindCount && i > 0 && isThrowOrRaise(frames[:i]) {
			return "an exception raised inside " + n, true
		}
	}
	return "", false
}

// TestRecognizeFramesUnchanged compares Recognize with the loop as it was
// on every stack of up to four frames from a set of names, and on longer
// stacks with the throw and the allocator far apart.
func TestRecognizeFramesUnchanged(t *testing.T) {
	names := []string{"", "main", "RaiseException", "_CxxThrowException", "__cxa_throw", "RtlRaiseStatus", "raise_status",
		"operator new(unsigned __int64)", "std::allocator<int>::allocate(unsigned __int64)", "malloc", "HeapAlloc",
		"std::_Xbad_alloc", "NtAllocateVirtualMemory", "std::vector<int>::push_back<int>(int&&)"}
	check := func(frames []report.Frame) {
		got, gotOK := Recognize(0xC0000005, "", frames, nil)
		want, wantOK := refRecognizeFrames(frames)
		if got != want || gotOK != wantOK {
			var fs []string
			for _, f := range frames {
				fs = append(fs, f.Function)
			}
			t.Errorf("Recognize(%q) = %q, %v; was %q, %v", fs, got, gotOK, want, wantOK)
		}
	}
	var stack []report.Frame
	var gen func()
	gen = func() {
		check(stack)
		if len(stack) == 4 || t.Failed() {
			return
		}
		for _, n := range names {
			stack = append(stack, report.Frame{Function: n})
			gen()
			stack = stack[:len(stack)-1]
		}
	}
	gen()
	for gap := 0; gap < 16; gap++ {
		for _, alloc := range []string{"malloc", "operator new", "std::allocator<T>::allocate"} {
			frames := []report.Frame{{Function: "RaiseException"}}
			for range gap {
				frames = append(frames, report.Frame{Function: "f"})
			}
			check(append(frames, report.Frame{Function: alloc}))
		}
	}
}

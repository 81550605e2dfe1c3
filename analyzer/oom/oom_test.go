package oom

import (
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

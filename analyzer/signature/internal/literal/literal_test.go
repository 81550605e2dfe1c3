package literal

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestOf: the literals read from the parse tree. Escapes, classes, flags
// and groups are read as the regexp package reads them.
func TestOf(t *testing.T) {
	tests := []struct {
		expr string
		want Prefilter
	}{
		{"RtlFailFast2?", Prefilter{Prefix: "RtlFailFast"}},
		{"Rtlp(Hp)?HeapHandleError", Prefilter{Prefix: "Rtlp", Contains: "HeapHandleError"}},
		{"Rtlp[A-Za-z]*Heap[A-Za-z]*", Prefilter{Prefix: "Rtlp", Contains: "Heap"}},
		{"a|b", Prefilter{AnyOf: []string{"a", "b"}, AnyOfAtStart: true}},
		{"(a|b)c", Prefilter{Contains: "c", AnyOf: []string{"a", "b"}, AnyOfAtStart: true}},
		{"std::_Xbad_alloc", Prefilter{Prefix: "std::_Xbad_alloc", Complete: true}},
		{"operator\\x20new", Prefilter{Prefix: "operator new", Complete: true}},
		{"operator\\x{20}new", Prefilter{Prefix: "operator new", Complete: true}},
		{"operator new(\\[\\])?", Prefilter{Prefix: "operator new"}},
		{"abc.*", Prefilter{Prefix: "abc"}},
		{"ab+c", Prefilter{Prefix: "ab", Contains: "c"}},
		{"ab+?cd", Prefilter{Prefix: "ab", Contains: "cd"}},
		{"ab*c", Prefilter{Prefix: "a", Contains: "c"}},
		{"x{2}", Prefilter{Prefix: "x"}},
		{"x{2}yz", Prefilter{Prefix: "x", Contains: "yz"}},
		{"ab{2,3}cd", Prefilter{Prefix: "ab", Contains: "cd"}},
		{"ab{2,}cd", Prefilter{Prefix: "ab", Contains: "cd"}},
		{"a{,2}", Prefilter{Prefix: "a{,2}", Complete: true}},
		{"a{x}b", Prefilter{Prefix: "a{x}b", Complete: true}},
		{"(Nt|Zw)WaitFor[A-Za-z]+", Prefilter{Contains: "WaitFor", AnyOf: []string{"Nt", "Zw"}, AnyOfAtStart: true}},
		{"_?_CxxThrowException", Prefilter{Contains: "_CxxThrowException"}},
		{"w?mainCRTStartup", Prefilter{Contains: "mainCRTStartup"}},
		{"w?WinMainCRTStartup", Prefilter{Contains: "WinMainCRTStartup"}},
		{".*[Tt]hrow_(std_)?bad_(alloc|array_new_length).*", Prefilter{Contains: "hrow_", AnyOf: []string{"alloc", "array_new_length"}}},
		{"std::[a-z_]+<T>::_X(len|length|range)", Prefilter{Prefix: "std::", Contains: "<T>::_X", AnyOf: []string{"len", "range"}}},
		{"_*mem(cpy|move|set|cmp|chr)(_[a-z0-9_]+)?", Prefilter{Contains: "mem", AnyOf: []string{"chr", "cmp", "cpy", "move", "set"}}},
		{"[a-z0-9_.-]+\\.dll", Prefilter{Contains: ".dll"}},
		{"@0x[1-9a-f][0-9a-f]*", Prefilter{Prefix: "@0x"}},
		{"(?i)abc", Prefilter{}},
		{"(?:ab)cd", Prefilter{Prefix: "abcd", Complete: true}},
		{"(?P<n>a)bc", Prefilter{Prefix: "abc"}},
		{"ab(?s).", Prefilter{Prefix: "ab"}},
		{"ab\\Qc|d\\E", Prefilter{Prefix: "abc|d", Complete: true}},
		{"\\(?abc", Prefilter{Contains: "abc"}},
		{"a\\|b", Prefilter{Prefix: "a|b", Complete: true}},
		{"\\(a|b\\)", Prefilter{AnyOf: []string{"(a", "b)"}, AnyOfAtStart: true}},
		{"[|]x", Prefilter{Prefix: "|x", Complete: true}},
		{"[(]|x", Prefilter{AnyOf: []string{"(", "x"}, AnyOfAtStart: true}},
		{"[)]x|y", Prefilter{AnyOf: []string{")x", "y"}, AnyOfAtStart: true}},
		{"([)]|x)yz", Prefilter{Contains: "yz", AnyOf: []string{")", "x"}, AnyOfAtStart: true}},
		{"(\\)|x)yz", Prefilter{Contains: "yz", AnyOf: []string{")", "x"}, AnyOfAtStart: true}},
		{"[\\]|]x|y", Prefilter{AnyOf: []string{"]x", "y", "|x"}, AnyOfAtStart: true}},
		{"[]a]bc", Prefilter{Contains: "bc", AnyOf: []string{"]", "a"}, AnyOfAtStart: true}},
		{"[^]a]bc", Prefilter{Contains: "bc"}},
		{"[]|]bc", Prefilter{Contains: "bc", AnyOf: []string{"]", "|"}, AnyOfAtStart: true}},
		{"[[:alpha:]]xy", Prefilter{Contains: "xy"}},
		{"[[:alpha:]|]xy", Prefilter{Contains: "xy"}},
		{"[a[:digit:]]xy|z", Prefilter{}},
		{"\\pLab", Prefilter{Contains: "ab"}},
		{"\\p{Greek}ab", Prefilter{Contains: "ab"}},
		{"\\PLab", Prefilter{Contains: "ab"}},
		{"\\101bc", Prefilter{Prefix: "Abc", Complete: true}},
		{"\\0ab", Prefilter{Prefix: "\x00ab", Complete: true}},
		{"\\1234", Prefilter{Prefix: "S4", Complete: true}},
		{"\\d+ab", Prefilter{Contains: "ab"}},
		{"ab\\.cd", Prefilter{Prefix: "ab.cd", Complete: true}},
		{"a^b", Prefilter{Prefix: "ab"}},
		{"ab$", Prefilter{Prefix: "ab"}},
		{"^ab", Prefilter{Prefix: "ab"}},
		{"(a)(b)cd(e)fgh", Prefilter{Prefix: "abcdefgh"}},
		{"a(b|c)de|f", Prefilter{AnyOf: []string{"abde", "acde", "f"}, AnyOfAtStart: true}},
		{"((a)|b)c", Prefilter{Contains: "c", AnyOf: []string{"a", "b"}, AnyOfAtStart: true}},
		{"a(b(c)d)*ef", Prefilter{Prefix: "a", Contains: "ef"}},
		{"é?x", Prefilter{Contains: "x"}},
		{"aé+b", Prefilter{Prefix: "aé", Contains: "b"}},
		{"aé*b", Prefilter{Prefix: "a", Contains: "b"}},
		{"日本?語", Prefilter{Prefix: "日", Contains: "語"}},
		{"]x", Prefilter{Prefix: "]x", Complete: true}},
		{"a}b", Prefilter{Prefix: "a}b", Complete: true}},
		{"", Prefilter{Complete: true}},
		{"(Local|Global)(Alloc|ReAlloc|Free)", Prefilter{AnyOf: []string{"Global", "Local"}, AnyOfAtStart: true}},
		{"_?(malloc|calloc|realloc|free)(_base)?", Prefilter{AnyOf: []string{"calloc", "free", "malloc", "realloc"}}},
		{"_*(str|wcs)(len|nlen|cpy)(_s)?", Prefilter{AnyOf: []string{"str", "wcs"}}},
		{"(ucrtbase|msvcrt)\\.dll", Prefilter{Contains: ".dll", AnyOf: []string{"msvcrt", "ucrtbase"}, AnyOfAtStart: true}},
		{"(vcruntime140(_1)?|msvcp140)\\.dll", Prefilter{Contains: ".dll", AnyOf: []string{"msvcp140", "vcruntime140"}, AnyOfAtStart: true}},
		{"(atidxx|amdxx|atiumd[a-z0-9]*|amdxc)(32|64)?\\.dll", Prefilter{Contains: ".dll", AnyOf: []string{"amdxc", "amdxx", "atidxx", "atiumd"}, AnyOfAtStart: true}},
		{"kernel(base|32)\\.dll", Prefilter{Prefix: "kernel", Contains: ".dll", AnyOf: []string{"32", "base"}}},
		{"(a|b)+c", Prefilter{Contains: "c", AnyOf: []string{"a", "b"}, AnyOfAtStart: true}},
		{"(a|b)?(c|d)", Prefilter{AnyOf: []string{"c", "d"}}},
		{"(a|b)*c", Prefilter{Contains: "c"}},
		{"(a|b){2}c", Prefilter{Contains: "c", AnyOf: []string{"a", "b"}, AnyOfAtStart: true}},
		{"(a|b?)c", Prefilter{Contains: "c"}},
		{"(a|[b])c(d|e)", Prefilter{Contains: "c", AnyOf: []string{"a", "b"}, AnyOfAtStart: true}},
		{"(a(b|c)|d)", Prefilter{AnyOf: []string{"ab", "ac", "d"}, AnyOfAtStart: true}},
		{"((a|b)|c)", Prefilter{AnyOf: []string{"a", "b", "c"}, AnyOfAtStart: true}},
		{"(a|b)|c", Prefilter{AnyOf: []string{"a", "b", "c"}, AnyOfAtStart: true}},
		{"x|(a|b)", Prefilter{AnyOf: []string{"a", "b", "x"}, AnyOfAtStart: true}},
		{"(?:a|b)c", Prefilter{Contains: "c", AnyOf: []string{"a", "b"}, AnyOfAtStart: true}},
		{"\\((a|b)", Prefilter{Prefix: "(", AnyOf: []string{"a", "b"}}},
		{"[(](a|b)", Prefilter{Prefix: "(", AnyOf: []string{"a", "b"}}},
		{"(a\\)|b)c", Prefilter{Contains: "c", AnyOf: []string{"a)", "b"}, AnyOfAtStart: true}},
		{"(a[)]|b)c", Prefilter{Contains: "c", AnyOf: []string{"a)", "b"}, AnyOfAtStart: true}},
		{"(a|b", Prefilter{}},
		{"(std::)?terminate", Prefilter{Contains: "terminate"}},
		{"(std::)terminate", Prefilter{Prefix: "std::terminate"}},
		{"abc", Prefilter{Prefix: "abc", Complete: true}},
		{"abort", Prefilter{Prefix: "abort", Complete: true}},
		{"ntdll\\.dll", Prefilter{Prefix: "ntdll.dll", Complete: true}},
		{"operator new\\[\\]", Prefilter{Prefix: "operator new[]", Complete: true}},
		{"a\\\\b", Prefilter{Prefix: "a\\b", Complete: true}},
		{"a\\-b", Prefilter{Prefix: "a-b", Complete: true}},
		{"\\d", Prefilter{}},
		{"\\x41", Prefilter{Prefix: "A", Complete: true}},
		{"a\\", Prefilter{}},
		{"a.b", Prefilter{Prefix: "a", Contains: "b"}},
		{"a+", Prefilter{Prefix: "a"}},
	}
	for _, tt := range tests {
		if got := Of(tt.expr); !equal(got, tt.want) {
			t.Errorf("Of(%q) = %+v, want %+v", tt.expr, got, tt.want)
		}
		if re, err := regexp.Compile(`^(?:` + tt.expr + `)$`); err == nil {
			checkSound(t, re, tt.expr, tt.expr)
		}
	}
}

func equal(a, b Prefilter) bool {
	return a.Prefix == b.Prefix && a.Complete == b.Complete && a.Contains == b.Contains &&
		slices.Equal(a.AnyOf, b.AnyOf) && a.AnyOfAtStart == b.AnyOfAtStart
}

// checkSound: a string the expression matches passes the prefilter, and a
// complete one matches only its prefix.
func checkSound(t *testing.T, re *regexp.Regexp, expr, s string) {
	t.Helper()
	p := Of(expr)
	if p.Complete && re.MatchString(s) != (s == p.Prefix) {
		t.Errorf("%q taken for the plain name %q, but matching %q gives %v", expr, p.Prefix, s, re.MatchString(s))
	}
	if !re.MatchString(s) {
		return
	}
	ok := strings.HasPrefix(s, p.Prefix) && strings.Contains(s, p.Contains)
	if len(p.AnyOf) > 0 {
		any := false
		for _, a := range p.AnyOf {
			any = any || p.AnyOfAtStart && strings.HasPrefix(s, a) || !p.AnyOfAtStart && strings.Contains(s, a)
		}
		ok = ok && any
	}
	if !ok {
		t.Errorf("%q matches %q, but its prefilter %+v rejects it", expr, s, p)
	}
}

// FuzzOf: for any expression that compiles, a string it matches passes its
// prefilter.
func FuzzOf(f *testing.F) {
	for _, e := range exprs {
		f.Add(e, e)
	}
	f.Add("(Local|Global)(Alloc|Free)", "GlobalFree")
	f.Add("(atidxx|amdxx|atiumd[a-z0-9]*|amdxc)(32|64)?\\.dll", "atiumd64.dll")
	f.Fuzz(func(t *testing.T, expr, s string) {
		re, err := regexp.Compile(`^(?:` + expr + `)$`)
		if err != nil {
			return
		}
		checkSound(t, re, expr, s)
	})
}

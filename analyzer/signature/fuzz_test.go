package signature

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/dumptriage/dumptriage/analyzer/report"
)

// seedNames are names from the tests and, when present, every undecorated
// name of the demangler's llvm-undname golden file.
func seedNames() []string {
	names := []string{
		"public: void __cdecl std::vector<int,std::allocator<int> >::push_back(int const &) __ptr64",
		"`void __cdecl main(void)'::`2'::<lambda_1a2b3c>::operator()(void) const",
		"class std::basic_ostream<char, struct std::char_traits<char>> & __cdecl std::operator<<<struct std::char_traits<char>>(class std::basic_ostream<char, struct std::char_traits<char>> &, char const *)",
		"int (__cdecl * __cdecl f(void))(int)", "Foo::operator std::basic_string<char>() const",
		"<alloc::vec::Vec<T> as core::ops::drop::Drop>::drop::h0123456789abcdef", "foo(int) [clone .cold.1]",
		"void __cdecl `dynamic initializer for 'gTable''(void)", "main::{lambda(int)#1}::operator()(int) const",
		"_RaiseException@16", "operator", "operator ", "operator<", "`", "'", "(anonymous namespace)", "<", ">", "(", ")",
	}
	g, err := os.Open(filepath.Join("..", "symbols", "demangle", "testdata", "undname_golden.tsv"))
	if err != nil {
		return names
	}
	defer g.Close()
	sc := bufio.NewScanner(g)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if _, out, ok := strings.Cut(sc.Text(), "\t"); ok && out != "<error>" {
			names = append(names, out)
		}
	}
	return names
}

// FuzzNormalize checks that Normalize never panics, returns valid UTF-8
// without control characters, is stable on its own output's spacing, and
// stays fast.
func FuzzNormalize(f *testing.F) {
	for _, n := range seedNames() {
		f.Add(n)
	}
	f.Fuzz(func(t *testing.T, s string) {
		start := time.Now()
		got := Normalize(s)
		if d := time.Since(start); d > time.Second && len(s) < 1<<16 {
			t.Fatalf("Normalize of %d bytes took %v", len(s), d)
		}
		if !utf8.ValidString(got) {
			t.Fatalf("Normalize(%q) = %q: invalid UTF-8", s, got)
		}
		for _, r := range got {
			if r < ' ' || r == 0x7f {
				t.Fatalf("Normalize(%q) = %q: control character", s, got)
			}
		}
		if strings.TrimSpace(got) != got || strings.Contains(got, "  ") {
			t.Fatalf("Normalize(%q) = %q: untidy spaces", s, got)
		}
	})
}

// FuzzGenerate builds a stack from the fuzzed names (split at '|') and
// checks that Generate never panics and returns one bounded line.
func FuzzGenerate(f *testing.F) {
	f.Add("KERNELBASE.dll!RaiseException|msvcp140.dll!std::_Xbad_alloc|app.exe!operator new(unsigned __int64)|app.exe!std::vector<int>::_Emplace_reallocate<int>", "large", false, "")
	f.Add("so.exe!f|so.exe!g|so.exe!f|so.exe!g|so.exe!f", "", true, "g")
	f.Add("app.exe+0x10|@0x0|ntdll.dll+0x5|ntdll.dll+0x6", "small", false, "")
	f.Add("_purecall|||", "", true, "a|b")
	f.Fuzz(func(t *testing.T, stack, oom string, so bool, recursion string) {
		var in Input
		in.OOM, in.StackOverflow = oom, so
		if recursion != "" {
			in.Recursion = strings.Split(recursion, "|")
		}
		for i, spec := range strings.Split(stack, "|") {
			fr := fr(spec)
			fr.Frame = i
			in.Frames = append(in.Frames, fr)
		}
		sig, notes := Generate(in)
		if sig == "" || len(sig) > maxLength || strings.ContainsAny(sig, "\n\r") || !utf8.ValidString(sig) {
			t.Fatalf("Generate(%q) = %q", stack, sig)
		}
		if len(notes) == 0 {
			t.Fatalf("Generate(%q): no notes", stack)
		}
	})
}

// TestGenerateWeirdFrames runs Generate on frames with odd field values.
func TestGenerateWeirdFrames(t *testing.T) {
	weird := []report.Frame{
		{Module: `\`, Function: "\x00"},
		{Module: "/", ModuleOffset: ^report.Addr(0)},
		{File: "/", Line: 1},
		{File: `a\`, Line: -1, Offset: ^report.Addr(0)},
		{Function: strings.Repeat("<", 1<<17)},
		{Module: strings.Repeat("é", 1000) + ".dll"},
	}
	sig, _ := Generate(Input{Frames: weird, StackOverflow: true, OOM: "small", Recursion: []string{"", "\xff"}})
	if sig == "" || len(sig) > maxLength || !utf8.ValidString(sig) {
		t.Errorf("Generate = %q", sig)
	}
}

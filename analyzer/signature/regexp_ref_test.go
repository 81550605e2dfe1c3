package signature

import (
	"regexp"
	"strings"
	"testing"
)

// The regular expressions normalize.go and signature.go used before they
// were written out by hand (compiling them cost every run of the analyze
// command): the reference the hand-written code must agree with exactly.
var (
	refDecorated        = regexp.MustCompile(`^(?:_([A-Za-z_][A-Za-z0-9_]*)|@([A-Za-z_][A-Za-z0-9_]*))@[0-9]+$`)
	refClangLambda      = regexp.MustCompile(`::\$_[0-9]+(::|$)`)
	refRustHash         = regexp.MustCompile(`::h[0-9a-f]{16}$`)
	refSpaceBefore      = regexp.MustCompile(` +([*&,])`)
	refCommaSpace       = regexp.MustCompile(`, *`)
	refSpaces           = regexp.MustCompile(`  +`)
	refHintModuleOffset = regexp.MustCompile(`^([^ <>()!]+)[+@](0x[0-9a-fA-F]+)$`)
	refHintAddress      = regexp.MustCompile(`^@?(0x[0-9a-fA-F]+)$`)
)

func refUndecorate(s string) string {
	if m := refDecorated.FindStringSubmatch(s); m != nil {
		return m[1] + m[2]
	}
	return s
}

func refTidySpaces(s string) string {
	s = refSpaceBefore.ReplaceAllString(s, "$1")
	s = refCommaSpace.ReplaceAllString(s, ", ")
	return refSpaces.ReplaceAllString(s, " ")
}

func refFixup(s string) string {
	s = strings.TrimPrefix(s, "[thunk]:")
	s = refClangLambda.ReplaceAllString(s, "::$$$1")
	s = refRustHash.ReplaceAllString(s, "")
	s = refTidySpaces(s)
	s = strings.TrimPrefix(s, "::")
	return strings.TrimSpace(s)
}

// checkAgainstRef compares each hand-written function with its reference
// on s.
func checkAgainstRef(t *testing.T, s string) {
	t.Helper()
	if got, want := undecorate(s), refUndecorate(s); got != want {
		t.Errorf("undecorate(%q) = %q, regexp gives %q", s, got, want)
	}
	if got, want := dropClangLambdas(s), refClangLambda.ReplaceAllString(s, "::$$$1"); got != want {
		t.Errorf("dropClangLambdas(%q) = %q, regexp gives %q", s, got, want)
	}
	if got, want := dropRustHash(s), refRustHash.ReplaceAllString(s, ""); got != want {
		t.Errorf("dropRustHash(%q) = %q, regexp gives %q", s, got, want)
	}
	if got, want := tidySpaces(s), refTidySpaces(s); got != want {
		t.Errorf("tidySpaces(%q) = %q, regexp gives %q", s, got, want)
	}
	if got, want := fixup(s), refFixup(s); got != want {
		t.Errorf("fixup(%q) = %q, regexp gives %q", s, got, want)
	}
	mod, off, ok := hintModuleOffset(s)
	if m := refHintModuleOffset.FindStringSubmatch(s); (m != nil) != ok || ok && (m[1] != mod || m[2] != off) {
		t.Errorf("hintModuleOffset(%q) = %q, %q, %v; regexp gives %q", s, mod, off, ok, m)
	}
	addr, ok := hintAddress(s)
	if m := refHintAddress.FindStringSubmatch(s); (m != nil) != ok || ok && m[1] != addr {
		t.Errorf("hintAddress(%q) = %q, %v; regexp gives %q", s, addr, ok, m)
	}
}

// refTricky are inputs at the edges of the old expressions.
var refTricky = []string{
	"", " ", "  ", ":", "::", "::$", "::$_", "::$_::", "::$_1", "::$_12", "::$_1::", "::$_1::$_2::", "::$_1::$_2",
	"::$_1:$_2", ":::$_1", "::::$_1", "a::$_1b", "a::$_1::b::$_22", "::$_1a::$_2", "::$_1::::$_2", "::$_::$_3",
	"::$_0123456789", "foo::$_3::operator()", "::$_1 ::$_2", "::$_١", "::$_1::$_", "$_1", "::$$_1", "::$_1$",
	"_foo@8", "__foo@8", "@bar@12", "_a@", "_a@1", "_@1", "@@1", "@_@1", "_1@2", "_a1@2", "_a@1a", "_a@@1", "@a@1@2",
	"a_b@1", "_é@1", "_a é@1", "_a@١", "__@0", "_a-b@1", " _a@1", "_a@1 ", "_a@1\n", "@a@", "@1@2", "_Z@123456789012",
	"_RaiseException@16", "__CxxThrowException@8", "@fastfn@8",
	"a *", "a  *", "a&", "a \t*", "a ,b", "a , b", "a ,  b", "a, ,b", ", ,", ",,", " , , ", "a,", "a,  ", "a ,", ",   *",
	"a  b", "a   b", " a  ", "a ** b", "a & &b", "a ,*b", "a, *b", "char const * (void)", "std::map<int, int>",
	"é  ,é", "日本 ,語", "a\u00a0 b", "a \u3000,b",
	"x::h0123456789abcdef", "::h0123456789abcdef", "a::h0123456789abcdeF", "a::h0123456789abcde", "a::h0123456789abcdef0",
	"a::h0123456789abcdef::h0123456789abcdef", "a:h0123456789abcdef", "a::H0123456789abcdef", "a::hg123456789abcdef",
	"a::h0123456789abcdef ", "::$_1::h0123456789abcdef", "[thunk]:a", "[thunk]:::a", "[thunk]:[thunk]:a", "::::a", " ::a",
	"mod+0x1", "mod@0x1", "mod+0x", "mod+1", "+0x1", "@0x1", "0x1", "@0x", "0x", "@@0x1", "0X1", "0xg", "0xaBcD",
	"a+b+0x1", "a+0x1+0x2", "a@0x1@0x2", "a b+0x1", "a<b+0x1", "a!b+0x1", "a(b)+0x1", "é+0x1", "\xff+0x1", "a\n+0x1",
	"a+0x0x1", "a+0x00", "mod.dll+0x12345678901234567890", "+0x", "a++0x1", "a@+0x1", "ntdll.dll@0xFFFF",
}

func TestFixupMatchesRegexp(t *testing.T) {
	for _, s := range refTricky {
		checkAgainstRef(t, s)
	}
	for _, n := range seedNames() {
		checkAgainstRef(t, n)
		checkAgainstRef(t, collapse(lastToken(clean(n)), 0))
	}
}

// TestFixupMatchesRegexpExhaustive compares every short string over
// alphabets that reach each of the old expressions' cases.
func TestFixupMatchesRegexpExhaustive(t *testing.T) {
	alphabets := []struct {
		chars string
		max   int
	}{
		{":$_1a ", 7},
		{"_@aZ1$ ", 6},
		{" ,*&a", 7},
		{"+@0xa <", 6},
	}
	if testing.Short() {
		for i := range alphabets {
			alphabets[i].max--
		}
	}
	for _, a := range alphabets {
		buf := make([]byte, 0, a.max)
		var gen func()
		gen = func() {
			checkAgainstRef(t, string(buf))
			if len(buf) == a.max || t.Failed() {
				return
			}
			for i := 0; i < len(a.chars); i++ {
				buf = append(buf, a.chars[i])
				gen()
				buf = buf[:len(buf)-1]
			}
		}
		gen()
	}
}

// FuzzFixup compares the hand-written undecorate, fixup (and each of its
// steps) and the recursion-hint parsers with the regular expressions they
// replace.
func FuzzFixup(f *testing.F) {
	for _, s := range refTricky {
		f.Add(s)
	}
	for _, n := range seedNames() {
		f.Add(n)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkAgainstRef(t, s)
	})
}

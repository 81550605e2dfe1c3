package signature

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"regexp/syntax"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/dumptriage/dumptriage/analyzer/report"
	"github.com/dumptriage/dumptriage/internal/testdata"
)

func TestLiterals(t *testing.T) {
	tests := []struct{ expr, prefix, contains string }{
		{"RtlFailFast2?", "RtlFailFast", ""},
		{"Rtlp(Hp)?HeapHandleError", "Rtlp", "HeapHandleError"},
		{"Rtlp[A-Za-z]*Heap[A-Za-z]*", "Rtlp", "Heap"},
		{"a|b", "", ""},
		{"(a|b)c", "", "c"},
		{"std::_Xbad_alloc", "std::_Xbad_alloc", ""},
		{`operator\x20new`, "operator", "new"},
		{`operator\x{20}new`, "operator", "new"},
		{`operator new(\[\])?`, "operator new", ""},
		{"abc.*", "abc", ""},
		{"ab+c", "ab", "c"},
		{"ab+?cd", "ab", "cd"},
		{"ab*c", "a", "c"},
		{"x{2}", "", ""},
		{"x{2}yz", "", "yz"},
		{"ab{2,3}cd", "a", "cd"},
		{"ab{2,}cd", "a", "cd"},
		{"a{,2}", "", ",2}"}, // not a repeat: a literal "{,2}", though 'a' is dropped too
		{"a{x}b", "", "x}b"},
		{"(Nt|Zw)WaitFor[A-Za-z]+", "", "WaitFor"},
		{"_?_CxxThrowException", "", "_CxxThrowException"},
		{"w?mainCRTStartup", "", "mainCRTStartup"},
		{"w?WinMainCRTStartup", "", "WinMainCRTStartup"},
		{".*[Tt]hrow_(std_)?bad_(alloc|array_new_length).*", "", "hrow_"},
		{"std::[a-z_]+<T>::_X(len|length|range)", "std::", "<T>::_X"},
		{"_*mem(cpy|move|set|cmp|chr)(_[a-z0-9_]+)?", "", "mem"},
		{`[a-z0-9_.-]+\.dll`, "", "dll"},
		{`@0x[1-9a-f][0-9a-f]*`, "@0x", ""},
		// Flags, non-capturing and named groups, \Q: no literals.
		{"(?i)abc", "", ""},
		{"(?:ab)cd", "", ""},
		{"(?P<n>a)bc", "", ""},
		{"ab(?s).", "", ""},
		{`ab\Qc|d\E`, "", ""},
		{`\(?abc`, "", ""}, // an optional '(' spells "(?" too: conservative
		// Escapes, classes and alternation in odd places.
		{`a\|b`, "a", "b"},
		{`\(a|b\)`, "", ""},
		{"[|]x", "", "x"},
		{"[(]|x", "", ""},
		{"[)]x|y", "", ""},
		{"([)]|x)yz", "", "yz"},
		{`(\)|x)yz`, "", "yz"},
		{`[\]|]x|y`, "", ""},
		{"[]a]bc", "", "bc"},
		{"[^]a]bc", "", "bc"},
		{"[]|]bc", "", "bc"},
		{"[[:alpha:]]xy", "", "xy"},
		{"[[:alpha:]|]xy", "", "xy"},
		{"[a[:digit:]]xy|z", "", ""},
		{`\pLab`, "", "ab"},
		{`\p{Greek}ab`, "", "ab"},
		{`\PLab`, "", "ab"},
		{`\101bc`, "", "bc"},
		{`\0ab`, "", "ab"},
		{`\1234`, "", "4"},
		{`\d+ab`, "", "ab"},
		{`ab\.cd`, "ab", "cd"},
		{"a^b", "a", "b"},
		{"ab$", "ab", ""},
		{"^ab", "", "ab"},
		{"(a)(b)cd(e)fgh", "", "fgh"},
		{"a(b|c)de|f", "", ""},
		{"((a)|b)c", "", "c"},
		{"a(b(c)d)*ef", "a", "ef"},
		{"é?x", "", "x"},
		{"aé+b", "aé", "b"},
		{"aé*b", "a", "b"},
		{"日本?語", "日", "語"},
		{"]x", "]x", ""},
		{"a}b", "a}b", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		if p, c := literals(tt.expr); p != tt.prefix || c != tt.contains {
			t.Errorf("literals(%q) = %q, %q; want %q, %q", tt.expr, p, c, tt.prefix, tt.contains)
		}
		checkLiterals(t, tt.expr)
	}
}

func TestAlternatives(t *testing.T) {
	tests := []struct {
		expr    string
		set     []string
		atStart bool
	}{
		{"(Local|Global)(Alloc|ReAlloc|Free)", []string{"Local", "Global"}, true},
		{"_?(malloc|calloc|realloc|free)(_base)?", []string{"malloc", "calloc", "realloc", "free"}, false},
		{"_*(str|wcs)(len|nlen|cpy)(_s)?", []string{"str", "wcs"}, false},
		{`(ucrtbase|msvcrt)\.dll`, []string{"ucrtbase", "msvcrt"}, true},
		{`(vcruntime140(_1)?|msvcp140)\.dll`, []string{"vcruntime140", "msvcp140"}, true},
		{`(atidxx|amdxx|atiumd[a-z0-9]*|amdxc)(32|64)?\.dll`, []string{"atidxx", "amdxx", "atiumd", "amdxc"}, true},
		{`kernel(base|32)\.dll`, []string{"base", "32"}, false},
		{"(a|b)+c", []string{"a", "b"}, true},
		{"(a|b)?(c|d)", []string{"c", "d"}, false},
		{"(a|b)*c", nil, false},
		{"(a|b){2}c", nil, false},
		{"(a|b?)c", nil, false},
		{"(a|[b])c(d|e)", []string{"d", "e"}, false},
		{"(a(b|c)|d)", []string{"a", "d"}, true},
		{"((a|b)|c)", nil, false},
		{"(a|b)|c", nil, false},
		{"x|(a|b)", nil, false},
		{"(?:a|b)c", nil, false},
		{`\((a|b)`, []string{"a", "b"}, false},
		{`[(](a|b)`, []string{"a", "b"}, false},
		{`(a\)|b)c`, []string{"a", "b"}, true},
		{`(a[)]|b)c`, []string{"a", "b"}, true},
		{"(a|b", nil, false},
		{"(std::)?terminate", nil, false},
		{"(std::)terminate", []string{"std::"}, true},
		{"abc", nil, false},
	}
	for _, tt := range tests {
		set, atStart := alternatives(tt.expr)
		if strings.Join(set, "|") != strings.Join(tt.set, "|") || atStart != tt.atStart {
			t.Errorf("alternatives(%q) = %q, %v; want %q, %v", tt.expr, set, atStart, tt.set, tt.atStart)
		}
	}
}

func TestPlainName(t *testing.T) {
	tests := []struct {
		expr, name string
		ok         bool
	}{
		{"abort", "abort", true},
		{`ntdll\.dll`, "ntdll.dll", true},
		{`operator new\[\]`, "operator new[]", true},
		{`a\\b`, `a\b`, true},
		{`a\-b`, "", false}, // a valid escape, but not one QuoteMeta writes
		{`\d`, "", false},
		{`\x41`, "", false},
		{`a\`, "", false},
		{"a.b", "", false},
		{"a+", "", false},
		{"", "", true},
	}
	for _, tt := range tests {
		name, ok := plainName(tt.expr)
		if ok != tt.ok || ok && name != tt.name {
			t.Errorf("plainName(%q) = %q, %v; want %q, %v", tt.expr, name, ok, tt.name, tt.ok)
		}
	}
}

// requiredLiterals reads expr's parse tree: the literal text at the top level
// of the concatenation, which every match of the whole expression contains,
// as runs, and the part of it that starts the expression. A literal that '+'
// applies to counts once and ends its run.
func requiredLiterals(expr string) (prefix string, runs []string, err error) {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return "", nil, err
	}
	subs := []*syntax.Regexp{re}
	if re.Op == syntax.OpConcat {
		subs = re.Sub
	}
	var cur []rune
	atStart := true
	flush := func() {
		if atStart {
			prefix = string(cur)
		}
		atStart = false
		if len(cur) > 0 {
			runs = append(runs, string(cur))
		}
		cur = nil
	}
	literal := func(re *syntax.Regexp) bool { return re.Op == syntax.OpLiteral && re.Flags&syntax.FoldCase == 0 }
	for _, s := range subs {
		switch {
		case literal(s):
			cur = append(cur, s.Rune...)
		case s.Op == syntax.OpPlus && literal(s.Sub[0]):
			cur = append(cur, s.Sub[0].Rune...)
			flush()
		default:
			flush()
		}
	}
	flush()
	return prefix, runs, nil
}

// checkLiterals checks literals(expr) against the parse tree: the prefix
// must start the tree's leading literal, and contains must be inside one of
// its literal runs.
func checkLiterals(t *testing.T, expr string) {
	t.Helper()
	prefix, runs, err := requiredLiterals(expr)
	if err != nil {
		return
	}
	p, c := literals(expr)
	if !strings.HasPrefix(prefix, p) {
		t.Errorf("literals(%q): prefix %q, but the parse tree's leading literal is %q", expr, p, prefix)
	}
	if c == "" {
		return
	}
	for _, r := range runs {
		if strings.Contains(r, c) {
			return
		}
	}
	t.Errorf("literals(%q): contains %q is in none of the parse tree's literal runs %q", expr, c, runs)
}

// exprRules are the expression rules of every file, in file order.
func exprRules(t *testing.T) []*rule {
	rs, err := defaultRules()
	if err != nil {
		t.Fatal(err)
	}
	var out []*rule
	for _, list := range [][]*rule{rs.irrelevant, rs.prefix, rs.oomSkip, rs.trimModule} {
		for _, r := range list {
			if !r.complete {
				out = append(out, r)
			}
		}
	}
	return out
}

// TestLiteralsSound checks every rule's literals against its parse tree.
func TestLiteralsSound(t *testing.T) {
	for _, r := range exprRules(t) {
		checkLiterals(t, r.text)
		if r.prefix == "" && r.contains == "" {
			t.Logf("%s: no literal; the expression runs on every name", r)
		}
	}
}

// samples returns strings that match re (a parse tree), at most limit.
func samples(re *syntax.Regexp, limit int) []string {
	limitTo := func(ss []string) []string {
		if len(ss) <= limit {
			return ss
		}
		// Keep a spread, ends included.
		out := make([]string, 0, limit)
		for i := 0; i < limit; i++ {
			out = append(out, ss[i*(len(ss)-1)/(limit-1)])
		}
		return out
	}
	product := func(a, b []string) []string {
		var out []string
		for _, x := range a {
			for _, y := range b {
				out = append(out, x+y)
			}
		}
		return limitTo(out)
	}
	repeat := func(sub []string, n int) []string {
		out := []string{""}
		for range n {
			out = product(out, sub)
		}
		return out
	}
	switch re.Op {
	case syntax.OpLiteral:
		s := string(re.Rune)
		if re.Flags&syntax.FoldCase != 0 {
			return []string{s, strings.ToUpper(s), strings.ToLower(s)}
		}
		return []string{s}
	case syntax.OpCharClass:
		var out []string
		for i := 0; i+1 < len(re.Rune); i += 2 {
			lo, hi := re.Rune[i], re.Rune[i+1]
			out = append(out, string(lo), string(hi))
			if mid := lo + (hi-lo)/2; hi-lo > 1 && utf8.ValidRune(mid) {
				out = append(out, string(mid))
			}
		}
		return limitTo(out)
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return []string{"x", "_", ":", "<", "é", "0"}
	case syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary, syntax.OpEmptyMatch:
		return []string{""}
	case syntax.OpCapture:
		return samples(re.Sub[0], limit)
	case syntax.OpStar:
		sub := samples(re.Sub[0], limit)
		return limitTo(append(append([]string{""}, sub...), repeat(sub, 2)...))
	case syntax.OpPlus:
		sub := samples(re.Sub[0], limit)
		return limitTo(append(append([]string{}, sub...), repeat(sub, 2)...))
	case syntax.OpQuest:
		return limitTo(append([]string{""}, samples(re.Sub[0], limit)...))
	case syntax.OpRepeat:
		sub := samples(re.Sub[0], limit)
		out := repeat(sub, re.Min)
		if re.Max != re.Min {
			out = append(out, repeat(sub, max(re.Max, re.Min+1))...)
		}
		return limitTo(out)
	case syntax.OpConcat:
		out := []string{""}
		for _, s := range re.Sub {
			out = product(out, samples(s, limit))
		}
		return out
	case syntax.OpAlternate:
		var out []string
		for _, s := range re.Sub {
			out = append(out, samples(s, limit)...)
		}
		return limitTo(out)
	}
	return nil
}

// frameNames returns the names this package's tests feed the rules: the
// rule cases' and seed names normalised, every frame of the Wine dumps as
// LLDB and the crashing programs named them, and every function in the
// Breakpad symbol files of the shared test data, all as normalizeFrame
// names them, with the module names the trim rules see.
func frameNames(t *testing.T) []string {
	rs, err := defaultRules()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	seen := map[string]bool{}
	addFrame := func(f report.Frame) {
		for _, n := range []string{rs.normalizeFrame(f, 0).name, Normalize(f.Function)} {
			if !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
		if f.Module != "" {
			m := strings.ToLower(clean(filepath.Base(strings.ReplaceAll(f.Module, `\`, "/"))))
			if !seen[m] {
				seen[m] = true
				names = append(names, m)
			}
		}
	}
	for _, c := range ruleCases {
		addFrame(caseFrame(c))
	}
	for _, n := range seedNames() {
		addFrame(report.Frame{Function: n})
	}
	root := testdata.Dir(t)
	transcripts, _ := filepath.Glob(filepath.Join(root, "wine", "dumps", "*", "*.lldb.txt"))
	for _, p := range transcripts {
		for _, f := range lldbCrashFrames(t, p) {
			addFrame(f)
		}
	}
	facts, _ := filepath.Glob(filepath.Join(root, "wine", "dumps", "*", "facts.json"))
	for _, p := range facts {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		// Every "symbol" and "module" anywhere in the file.
		var walk func(v any)
		walk = func(v any) {
			switch v := v.(type) {
			case map[string]any:
				var f report.Frame
				if s, ok := v["symbol"].(string); ok && s != "?" {
					f.Function, _, _ = strings.Cut(s, "+0x")
				}
				if s, ok := v["module"].(string); ok && s != "?" {
					f.Module = s
				}
				if f.Function != "" || f.Module != "" {
					addFrame(f)
				}
				for _, e := range v {
					walk(e)
				}
			case []any:
				for _, e := range v {
					walk(e)
				}
			}
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		walk(v)
	}
	filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || !strings.HasSuffix(p, ".sym") {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			// FUNC [m] address size param_size name; PUBLIC [m] address param_size name
			fields := strings.Fields(sc.Text())
			n := 0
			switch {
			case len(fields) > 0 && fields[0] == "FUNC":
				n = 4
			case len(fields) > 0 && fields[0] == "PUBLIC":
				n = 3
			default:
				continue
			}
			if len(fields) > 1 && fields[1] == "m" {
				n++
			}
			if len(fields) > n {
				addFrame(report.Frame{Function: strings.Join(fields[n:], " ")})
			}
		}
		return nil
	})
	if len(transcripts) == 0 || len(facts) == 0 || len(names) < 1000 {
		t.Fatalf("only %d names (%d transcripts, %d facts files)", len(names), len(transcripts), len(facts))
	}
	return names
}

// ruleNames is frameNames plus, for every rule, names that match it (made
// from its parse tree) and near misses of them.
func ruleNames(t *testing.T) []string {
	names := frameNames(t)
	for _, r := range exprRules(t) {
		re, err := syntax.Parse(r.text, syntax.Perl)
		if err != nil {
			t.Fatalf("%s: %v", r, err)
		}
		for _, s := range samples(re, 64) {
			names = append(names, s, "x"+s, s+"x", "::"+s, s+"::f", s+"<T>", strings.ToUpper(s))
			for i := range len(s) {
				names = append(names, s[:i]+s[i+1:]) // dropping a byte may leave invalid UTF-8: fine
			}
		}
	}
	return names
}

// TestPrefilterNeverRejects: for every expression rule and every name the
// tests know, a name the expression matches passes the rule's literal
// prefilters, and match picks the same rule as trying every expression in
// order would.
func TestPrefilterNeverRejects(t *testing.T) {
	rs, err := defaultRules()
	if err != nil {
		t.Fatal(err)
	}
	names := ruleNames(t)
	rules := exprRules(t)
	matched := map[*rule]int{}
	for _, r := range rules {
		re := regexp.MustCompile(`^(?:` + r.text + `)$`)
		for _, n := range names {
			if !re.MatchString(n) {
				continue
			}
			matched[r]++
			if !r.mayMatch(n) {
				t.Errorf("%s matches %q, but its prefilters (prefix %q, contains %q, any of %q at start %v) reject it",
					r, n, r.prefix, r.contains, r.anyOf, r.anyOfAtStart)
			}
		}
		if matched[r] == 0 {
			t.Errorf("%s: no name matches it", r)
		}
	}
	compiled := map[*rule]*regexp.Regexp{}
	for _, list := range [][]*rule{rs.irrelevant, rs.prefix, rs.oomSkip, rs.trimModule} {
		for _, r := range list {
			re := regexp.MustCompile(`^(?:` + r.text + `)$`)
			compiled[r] = re
			if !r.complete {
				continue
			}
			// A plain name matches itself and nothing else.
			if !re.MatchString(r.prefix) {
				t.Errorf("%s does not match its plain name %q", r, r.prefix)
			}
			for _, n := range names {
				if re.MatchString(n) != (n == r.prefix) {
					t.Errorf("%s: matches %q is %v, but its plain name is %q", r, n, re.MatchString(n), r.prefix)
				}
			}
		}
	}
	for _, list := range [][]*rule{rs.irrelevant, rs.prefix, rs.oomSkip, rs.trimModule} {
		for _, n := range names {
			var want *rule
			for _, r := range list {
				if compiled[r].MatchString(n) {
					want = r
					break
				}
			}
			if got := match(list, n); got != want {
				t.Errorf("match(%q) = %v, want %v", n, got, want)
			}
		}
	}
	t.Logf("%d names, %d expression rules", len(names), len(rules))
}

// FuzzLiterals checks literals against the parse tree of any expression that
// compiles, and that a string the expression matches passes its literals.
func FuzzLiterals(f *testing.F) {
	rs, err := defaultRules()
	if err != nil {
		f.Fatal(err)
	}
	for _, list := range [][]*rule{rs.irrelevant, rs.prefix, rs.oomSkip, rs.trimModule} {
		for _, r := range list {
			f.Add(r.text, r.text)
		}
	}
	for _, s := range []string{`a\|b`, "[(]|x", "[]a]bc", "[[:alpha:]]xy", `\p{Greek}ab`, `\101bc`, "aé+b", "a{,2}", "ab+?cd", `x\Qa|b\E`,
		"(Local|Global)(Alloc|Free)", "_?(malloc|free)(_base)?", `(a\)|b)c`, `(a[)]|b)c`, "(a|b)+c", "(a(b|c)|d)", `ntdll\.dll`, `a\\b`} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, expr, s string) {
		re, err := regexp.Compile(`^(?:` + expr + `)$`)
		if err != nil {
			return
		}
		checkLiterals(t, expr)
		r := &rule{text: expr}
		r.setPrefilters()
		m := re.MatchString(s)
		if m && !r.complete && !r.mayMatch(s) {
			t.Errorf("%q matches %q, but its prefilters (prefix %q, contains %q, any of %q at start %v) reject it",
				expr, s, r.prefix, r.contains, r.anyOf, r.anyOfAtStart)
		}
		if r.complete && (m != (s == r.prefix) || !re.MatchString(r.prefix)) {
			t.Errorf("%q is taken for the plain name %q, but matching %q gives %v", expr, r.prefix, s, m)
		}
	})
}

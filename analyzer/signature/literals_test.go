package signature

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"regexp/syntax"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/dumptriage/dumptriage/analyzer/report"
	"github.com/dumptriage/dumptriage/internal/testdata"
)

// TestPrefilterTableCurrent: prefilters_gen.go is what go generate writes
// from the embedded rules as they are.
func TestPrefilterTableCurrent(t *testing.T) {
	out := filepath.Join(t.TempDir(), "prefilters_gen.go")
	if b, err := exec.Command("go", "run", "./internal/prefiltergen", out).CombinedOutput(); err != nil {
		t.Fatalf("prefiltergen: %v\n%s", err, b)
	}
	want, _ := os.ReadFile(out)
	got, _ := os.ReadFile("prefilters_gen.go")
	if !bytes.Equal(got, want) {
		t.Error("prefilters_gen.go is stale: run go generate ./analyzer/signature")
	}
	for _, r := range exprRules(t) {
		if _, ok := embeddedPrefilters[r.text]; !ok {
			t.Errorf("%s is not in the table", r)
		}
	}
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

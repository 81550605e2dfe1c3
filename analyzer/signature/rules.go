package signature

import (
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

//go:embed rules/*.txt
var rulesFS embed.FS

// Rule files, as named under rules/.
const (
	fileIrrelevant = "irrelevant_signature_re.txt"
	filePrefix     = "prefix_signature_re.txt"
	fileOOMSkip    = "oom_irrelevant_signature_re.txt"
	fileSentinels  = "signature_sentinels.txt"
	fileTrimModule = "trim_module_re.txt"
	fileCrashTypes = "crash_types.txt"
	fileOOMSize    = "oom_size.txt"
)

// rule is one line of a rules file.
type rule struct {
	file string
	line int
	text string
	re   *regexp.Regexp // compiled on first use; nil for exact-name lists
	once sync.Once
	// prefix is a literal every match starts with; complete says the
	// expression matches only that literal. Both only speed up matching.
	prefix   string
	complete bool
	// contains is another literal every match contains (see literals).
	contains string
	// Every match contains one of anyOf, or starts with one when
	// anyOfAtStart (see alternatives).
	anyOf        []string
	anyOfAtStart bool
}

// String names the rule as notes quote it: file:line "text".
func (r *rule) String() string { return fmt.Sprintf("%s:%d %q", r.file, r.line, r.text) }

// ruleSet is every rules file, parsed.
type ruleSet struct {
	irrelevant []*rule
	prefix     []*rule
	// oomSkip are frames skipped only in out-of-memory signatures.
	oomSkip    []*rule
	sentinels  []*rule
	trimModule []*rule
	// crashTypes maps CrashInfo.Type to "stackoverflow" or "oom".
	crashTypes map[string]*rule
	crashKind  map[string]string
	// largeBytes is the OOM large/small boundary and largeRule its line.
	largeBytes uint64
	largeRule  *rule
}

var defaultRules = sync.OnceValues(func() (*ruleSet, error) { return loadRules(rulesFS, "rules") })

// lines returns the non-blank, non-comment lines of a rules file with their
// line numbers.
func lines(fsys fs.FS, dir, name string) ([]*rule, error) {
	b, err := fs.ReadFile(fsys, dir+"/"+name)
	if err != nil {
		return nil, err
	}
	// Rule texts are substrings of the one file string: every analysis
	// loads the rules, and a scanner with a string per line cost more.
	rest := string(b)
	var out []*rule
	for n := 1; rest != ""; n++ {
		line, after, _ := strings.Cut(rest, "\n")
		rest = after
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		out = append(out, &rule{file: name, line: n, text: t})
	}
	return out, nil
}

// regexLines reads a file of regular expressions, each anchored to match a
// whole frame. They are compiled on first use, and not checked here
// (start-up of the analyze command pays for every parsed rule):
// TestRulesCompile compiles every embedded line.
func regexLines(fsys fs.FS, dir, name string) ([]*rule, error) {
	rs, err := lines(fsys, dir, name)
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		r.setPrefilters()
	}
	return rs, nil
}

// setPrefilters reads from the rule's text what lets most names skip the
// expression entirely.
func (r *rule) setPrefilters() {
	if lit, ok := plainName(r.text); ok {
		// A plain name: compare strings, compile nothing.
		r.prefix, r.complete = lit, true
		return
	}
	r.prefix, r.contains = literals(r.text)
	r.anyOf, r.anyOfAtStart = alternatives(r.text)
}

// mayMatch reports whether s passes the rule's prefilters: false means the
// expression cannot match s.
func (r *rule) mayMatch(s string) bool {
	if !strings.HasPrefix(s, r.prefix) || !strings.Contains(s, r.contains) {
		return false
	}
	if len(r.anyOf) == 0 {
		return true
	}
	for _, a := range r.anyOf {
		if r.anyOfAtStart && strings.HasPrefix(s, a) || !r.anyOfAtStart && strings.Contains(s, a) {
			return true
		}
	}
	return false
}

// plainName returns the one string expr matches when expr is a literal,
// perhaps with escaped punctuation (ntdll\.dll): when quoting that string
// gives expr back.
func plainName(expr string) (string, bool) {
	if !strings.Contains(expr, `\`) {
		return expr, regexp.QuoteMeta(expr) == expr
	}
	var b strings.Builder
	for i := 0; i < len(expr); i++ {
		if expr[i] == '\\' && i+1 < len(expr) {
			i++
		}
		b.WriteByte(expr[i])
	}
	lit := b.String()
	return lit, regexp.QuoteMeta(lit) == expr
}

// literals returns two literals that every whole match of the RE2
// expression expr contains, "" where it cannot tell: prefix, which every
// match starts with, and contains, the longest other run of literal text,
// which every match contains somewhere. Both are runs of literal characters
// at the top level of expr: a group, class, escape, '.', '^' or '$' ends a
// run; a character that '?', '*' or a {n,m} repeat applies to is left out;
// one that '+' applies to ends its run. A top-level '|', or anywhere "(?"
// (flags, named and non-capturing groups) or \Q, means no literals at all.
// They only let match skip expressions that cannot match, so they must
// never exclude a match (TestLiteralsSound).
func literals(expr string) (prefix, contains string) {
	if strings.Contains(expr, "(?") || strings.Contains(expr, `\Q`) {
		return "", ""
	}
	start, end := -1, -1 // the current run is expr[start:end]; none when start < 0
	endRun := func() {
		switch {
		case start < 0 || end <= start:
		case start == 0:
			prefix = expr[:end]
		case end-start > len(contains):
			contains = expr[start:end]
		}
		start = -1
	}
	depth := 0
	for i := 0; i < len(expr); {
		switch expr[i] {
		case '\\':
			endRun()
			i = escapeEnd(expr, i)
			continue
		case '[':
			endRun()
			i = classEnd(expr, i)
			continue
		case '(':
			endRun()
			depth++
			i++
			continue
		case ')':
			depth = max(depth-1, 0)
			i++
			continue
		case '|':
			if depth == 0 {
				return "", ""
			}
			i++
			continue
		}
		if depth > 0 {
			i++
			continue
		}
		switch expr[i] {
		case '.', '^', '$', '?', '*', '+':
			endRun()
			i++
			continue
		case '{':
			endRun()
			i = repeatEnd(expr, i)
			continue
		}
		// A literal character, a whole rune: a quantifier after it applies to it.
		_, n := utf8.DecodeRuneInString(expr[i:])
		j := i + n
		if j < len(expr) && (expr[j] == '?' || expr[j] == '*' || expr[j] == '{') {
			endRun()
			i = j
			continue
		}
		if start < 0 {
			start = i
		}
		end = j
		if j < len(expr) && expr[j] == '+' {
			endRun()
		}
		i = j
	}
	endRun()
	return prefix, contains
}

// alternatives returns literals one of which every whole match of expr
// contains, from the first group at its top level that every match goes
// through (no '?', '*' or '{' after it) and whose every alternative has a
// literal prefix (see literals): those prefixes. atStart says the group
// starts expr, so that every match starts with one of them:
// (Local|Global)(Alloc|ReAlloc|Free) gives Local and Global, at the start;
// _?(malloc|calloc|realloc|free)(_base)? gives malloc, calloc, realloc and
// free. None for a top-level '|', "(?" or \Q, as for literals.
func alternatives(expr string) (set []string, atStart bool) {
	if strings.Contains(expr, "(?") || strings.Contains(expr, `\Q`) {
		return nil, false
	}
	n := 0
	forBars(expr, func(string) { n++ })
	if n != 1 {
		return nil, false
	}
	for i := 0; i < len(expr); {
		switch expr[i] {
		case '\\':
			i = escapeEnd(expr, i)
		case '[':
			i = classEnd(expr, i)
		case '(':
			j := groupEnd(expr, i)
			if j < 0 {
				return nil, false
			}
			if j < len(expr) && (expr[j] == '?' || expr[j] == '*' || expr[j] == '{') {
				i = j
				continue
			}
			var alts []string
			ok := true
			forBars(expr[i+1:j-1], func(alt string) {
				p, _ := literals(alt)
				ok = ok && p != ""
				alts = append(alts, p)
			})
			if ok {
				return alts, i == 0
			}
			i = j
		default:
			i++
		}
	}
	return nil, false
}

// eachMeta calls fn with the index of each byte of expr from i on that is
// outside escapes and classes, until fn returns false.
func eachMeta(expr string, i int, fn func(j int) bool) {
	for j := i; j < len(expr); {
		switch expr[j] {
		case '\\':
			j = escapeEnd(expr, j)
		case '[':
			j = classEnd(expr, j)
		default:
			if !fn(j) {
				return
			}
			j++
		}
	}
}

// groupEnd returns the index after the ')' that closes the group opening at
// expr[i], or -1.
func groupEnd(expr string, i int) int {
	depth, end := 0, -1
	eachMeta(expr, i, func(j int) bool {
		switch expr[j] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				end = j + 1
				return false
			}
		}
		return true
	})
	return end
}

// forBars calls yield with each part of expr between the '|' outside its
// groups and classes.
func forBars(expr string, yield func(string)) {
	depth, start := 0, 0
	eachMeta(expr, 0, func(j int) bool {
		switch expr[j] {
		case '(':
			depth++
		case ')':
			depth = max(depth-1, 0)
		case '|':
			if depth == 0 {
				yield(expr[start:j])
				start = j + 1
			}
		}
		return true
	})
	yield(expr[start:])
}

// escapeEnd returns the index after the escape that starts at expr[i], a
// backslash: \x41, \x{41}, \pL, \p{Greek}, up to three octal digits, or a
// backslash and one character.
func escapeEnd(expr string, i int) int {
	j := i + 1
	if j >= len(expr) {
		return len(expr)
	}
	switch c := expr[j]; {
	case c == 'x' || c == 'p' || c == 'P':
		if j+1 < len(expr) && expr[j+1] == '{' {
			if k := strings.IndexByte(expr[j+1:], '}'); k >= 0 {
				return j + 1 + k + 1
			}
			return len(expr)
		}
		if c == 'x' {
			return min(j+3, len(expr))
		}
		j++
	case c >= '0' && c <= '7':
		k := j + 1
		for k < len(expr) && k < j+3 && expr[k] >= '0' && expr[k] <= '7' {
			k++
		}
		return k
	}
	_, n := utf8.DecodeRuneInString(expr[j:])
	return min(j+n, len(expr))
}

// classEnd returns the index after the character class that starts at
// expr[i], a '[', as regexp/syntax reads one: a ']' first (after any '^')
// is a member, [:name:] is a POSIX class, escapes are skipped.
func classEnd(expr string, i int) int {
	j := i + 1
	if j < len(expr) && expr[j] == '^' {
		j++
	}
	if j < len(expr) && expr[j] == ']' {
		j++
	}
	for j < len(expr) {
		switch {
		case expr[j] == ']':
			return j + 1
		case expr[j] == '\\':
			j += 2
		case strings.HasPrefix(expr[j:], "[:") && len(expr)-j > 2:
			if k := strings.Index(expr[j+2:], ":]"); k >= 0 {
				j += 2 + k + 2
			} else {
				j++
			}
		default:
			j++
		}
	}
	return len(expr)
}

// repeatEnd returns the index after the repeat {n}, {n,} or {n,m} that
// starts at expr[i], or i+1 when the '{' is a literal one.
func repeatEnd(expr string, i int) int {
	j := i + 1
	digits := func() bool {
		k := j
		for j < len(expr) && expr[j] >= '0' && expr[j] <= '9' {
			j++
		}
		return j > k
	}
	if !digits() {
		return i + 1
	}
	if j < len(expr) && expr[j] == ',' {
		j++
		digits()
	}
	if j < len(expr) && expr[j] == '}' {
		return j + 1
	}
	return i + 1
}

// compile compiles the rule's expression, anchored at both ends.
func (r *rule) compile() (*regexp.Regexp, error) {
	re, err := regexp.Compile(`^(?:` + r.text + `)$`)
	if err != nil {
		return nil, fmt.Errorf("%s:%d: %w", r.file, r.line, err)
	}
	return re, nil
}

// regexp compiles the rule's expression once. The embedded rules all
// compile (TestRulesCompile), so an error here is a bug in a rules file.
func (r *rule) regexp() *regexp.Regexp {
	r.once.Do(func() {
		re, err := r.compile()
		if err != nil {
			panic("signature: " + err.Error())
		}
		r.re = re
	})
	return r.re
}

// loadRules parses the rules files under dir.
func loadRules(fsys fs.FS, dir string) (*ruleSet, error) {
	rs := &ruleSet{crashTypes: map[string]*rule{}, crashKind: map[string]string{}}
	var err error
	if rs.irrelevant, err = regexLines(fsys, dir, fileIrrelevant); err != nil {
		return nil, err
	}
	if rs.prefix, err = regexLines(fsys, dir, filePrefix); err != nil {
		return nil, err
	}
	if rs.oomSkip, err = regexLines(fsys, dir, fileOOMSkip); err != nil {
		return nil, err
	}
	if rs.trimModule, err = regexLines(fsys, dir, fileTrimModule); err != nil {
		return nil, err
	}
	if rs.sentinels, err = lines(fsys, dir, fileSentinels); err != nil {
		return nil, err
	}
	cts, err := lines(fsys, dir, fileCrashTypes)
	if err != nil {
		return nil, err
	}
	for _, r := range cts {
		f := strings.Fields(r.text)
		if len(f) != 2 || (f[1] != "stackoverflow" && f[1] != "oom") {
			return nil, fmt.Errorf("%s:%d: want \"<crash type> stackoverflow|oom\", got %q", r.file, r.line, r.text)
		}
		rs.crashTypes[f[0]], rs.crashKind[f[0]] = r, f[1]
	}
	oom, err := lines(fsys, dir, fileOOMSize)
	if err != nil {
		return nil, err
	}
	for _, r := range oom {
		f := strings.Fields(r.text)
		if len(f) != 2 || f[0] != "large_bytes" {
			return nil, fmt.Errorf("%s:%d: want \"large_bytes <N>\", got %q", r.file, r.line, r.text)
		}
		n, err := strconv.ParseUint(f[1], 0, 64)
		if err != nil || n == 0 {
			return nil, fmt.Errorf("%s:%d: bad byte count %q", r.file, r.line, f[1])
		}
		rs.largeBytes, rs.largeRule = n, r
	}
	if rs.largeRule == nil {
		return nil, fmt.Errorf("%s: no large_bytes line", fileOOMSize)
	}
	return rs, nil
}

// match returns the first rule whose expression matches the whole of s.
func match(rules []*rule, s string) *rule {
	for _, r := range rules {
		if !strings.HasPrefix(s, r.prefix) {
			continue
		}
		if r.complete {
			if s == r.prefix {
				return r
			}
			continue
		}
		if r.mayMatch(s) && r.regexp().MatchString(s) {
			return r
		}
	}
	return nil
}

// OOMClass says whether a failed allocation of requested bytes is "large" or
// "small", by the large_bytes rule in rules/oom_size.txt; an unknown size
// (nil) is "large". The note names the rule that decided.
func OOMClass(requested *uint64) (class, note string) {
	rs, err := defaultRules()
	if err != nil {
		return "large", "signature rules failed to load: " + err.Error()
	}
	switch {
	case requested == nil:
		return "large", fmt.Sprintf("request size unknown: large [%s]", rs.largeRule)
	case *requested >= rs.largeBytes:
		return "large", fmt.Sprintf("request of %d bytes >= %d: large [%s]", *requested, rs.largeBytes, rs.largeRule)
	default:
		return "small", fmt.Sprintf("request of %d bytes < %d: small [%s]", *requested, rs.largeBytes, rs.largeRule)
	}
}

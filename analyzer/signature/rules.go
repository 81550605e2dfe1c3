package signature

import (
	"bufio"
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"sync"
)

//go:embed rules/*.txt
var rulesFS embed.FS

// Rule files, as named under rules/.
const (
	fileIrrelevant = "irrelevant_signature_re.txt"
	filePrefix     = "prefix_signature_re.txt"
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
}

// String names the rule as notes quote it: file:line "text".
func (r *rule) String() string { return fmt.Sprintf("%s:%d %q", r.file, r.line, r.text) }

// ruleSet is every rules file, parsed.
type ruleSet struct {
	irrelevant []*rule
	prefix     []*rule
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
	var out []*rule
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for n := 1; sc.Scan(); n++ {
		t := strings.TrimSpace(sc.Text())
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		out = append(out, &rule{file: name, line: n, text: t})
	}
	return out, sc.Err()
}

// regexLines reads a file of regular expressions, each anchored to match a
// whole frame.
func regexLines(fsys fs.FS, dir, name string) ([]*rule, error) {
	rs, err := lines(fsys, dir, name)
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		if regexp.QuoteMeta(r.text) == r.text {
			// A plain name: compare strings, compile nothing (start-up
			// of the analyze command pays for every compiled rule).
			r.prefix, r.complete = r.text, true
			continue
		}
		// Checked here, compiled on first use; the literal prefix lets
		// most frames skip the expression entirely.
		if _, err := syntax.Parse(`^(?:`+r.text+`)$`, syntax.Perl); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, r.line, err)
		}
		r.prefix = literalPrefix(r.text)
	}
	return rs, nil
}

// literalPrefix is a literal that every whole match of expr starts with:
// the text before the first metacharacter, less a character a quantifier
// applies to; "" when a top-level alternation could start elsewhere.
func literalPrefix(expr string) string {
	depth := 0
	for i := 0; i < len(expr); i++ {
		switch expr[i] {
		case '(':
			depth++
		case ')':
			depth--
		case '|':
			if depth == 0 {
				return ""
			}
		}
	}
	for i := 0; i < len(expr); i++ {
		switch expr[i] {
		case '?', '*', '{':
			if i > 0 {
				return expr[:i-1]
			}
			return ""
		case '\\', '.', '+', '(', ')', '|', '[', ']', '}', '^', '$':
			if expr[i] == '+' {
				return expr[:i] // x+ still starts with x
			}
			return expr[:i]
		}
	}
	return expr
}

// regexp compiles the rule's anchored expression once.
func (r *rule) regexp() *regexp.Regexp {
	r.once.Do(func() { r.re = regexp.MustCompile(`^(?:` + r.text + `)$`) })
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
		if r.regexp().MatchString(s) {
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

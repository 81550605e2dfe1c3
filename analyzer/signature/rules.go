package signature

//go:generate go run ./internal/prefiltergen

import (
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/dumptriage/dumptriage/analyzer/signature/internal/literal"
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

// setPrefilters sets what lets most names skip the expression entirely:
// the literals internal/literal reads from its parse tree, from the table
// go generate made for the embedded rules (start-up parses nothing).
func (r *rule) setPrefilters() {
	p, ok := embeddedPrefilters[r.text]
	if !ok {
		p = literal.Of(r.text)
	}
	r.prefix, r.complete, r.contains = p.Prefix, p.Complete, p.Contains
	r.anyOf, r.anyOfAtStart = p.AnyOf, p.AnyOfAtStart
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

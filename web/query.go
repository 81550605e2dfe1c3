package web

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dumptriage/dumptriage/store"
)

// query reads a request's query values by one set of rules for every page
// and API route: a malformed value is an error that names the parameter,
// never a silent default. Read every value, then check Err: the API answers
// 400 with it, a page renders with it shown and status 400.
type query struct {
	v    url.Values
	errs []string
}

func newQuery(v url.Values) *query { return &query{v: v} }

// maxQueryValue bounds any one query value (a search is bounded by
// store.MaxSearchBytes).
const maxQueryValue = 4096

func (q *query) bad(name, format string, a ...any) {
	q.errs = append(q.errs, name+": "+fmt.Sprintf(format, a...))
}

// Err is every malformed value, as one store.ErrBadRequest.
func (q *query) Err() error {
	if len(q.errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", store.ErrBadRequest, strings.Join(q.errs, "; "))
}

// raw is the parameter's only value; repeating it is an error.
func (q *query) raw(name string) string {
	vs := q.v[name]
	if len(vs) == 0 {
		return ""
	}
	if len(vs) > 1 {
		q.bad(name, "given %d times", len(vs))
	}
	s := vs[0]
	if len(s) > maxQueryValue {
		q.bad(name, "%d bytes long; at most %d", len(s), maxQueryValue)
		return ""
	}
	if !utf8.ValidString(s) {
		q.bad(name, "not UTF-8")
		return ""
	}
	return s
}

// Shown is the value as the page's form shows it back, without checks.
func (q *query) Shown(name string) string {
	s := q.v.Get(name)
	if len(s) > maxQueryValue {
		return short(s)
	}
	return s
}

// maxOffset bounds ?offset= on offset-paged lists.
const maxOffset = 1_000_000

// String is a plain value.
func (q *query) String(name string) string { return q.raw(name) }

// Int is a whole number in [lo, hi]; def when absent.
func (q *query) Int(name string, def, lo, hi int) int {
	s := q.raw(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		q.bad(name, "%q is not a whole number", short(s))
		return def
	}
	if n < lo || n > hi {
		q.bad(name, "%d is not between %d and %d", n, lo, hi)
		return def
	}
	return n
}

// Enum is one of allowed ("" when absent, if "" is not itself allowed).
func (q *query) Enum(name string, allowed ...string) string {
	s := q.raw(name)
	if s == "" {
		return ""
	}
	for _, a := range allowed {
		if s == a {
			return s
		}
	}
	q.bad(name, "%q is not one of %s", short(s), strings.Join(allowed, ", "))
	return ""
}

// Bool is 1/0/true/false; false when absent.
func (q *query) Bool(name string) bool {
	s := q.raw(name)
	if s == "" {
		return false
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		q.bad(name, "%q is not 1, 0, true or false", short(s))
	}
	return b
}

// Clock is ?clock=crash|upload, crash when absent.
func (q *query) Clock(name string) store.Clock {
	c, err := store.ParseClock(q.raw(name))
	if err != nil {
		q.bad(name, "%q is not crash or upload", short(q.v.Get(name)))
		return store.ClockCrash
	}
	return c
}

// Date is a YYYY-MM-DD day (UTC), zero when absent.
func (q *query) Date(name string) time.Time {
	s := q.raw(name)
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		q.bad(name, "%q is not a YYYY-MM-DD date", short(s))
	}
	return t
}

// Time is an RFC 3339 time, zero when absent.
func (q *query) Time(name string) time.Time {
	s := q.raw(name)
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		q.bad(name, "%q is not an RFC 3339 time", short(s))
	}
	return t
}

// Match is a text filter: "text" matches anywhere in the value ignoring
// case, "^text" at its start, and "\"text\"" (in double quotes) the whole
// value. It is nil when absent.
func (q *query) Match(name string) *store.Match {
	s := q.raw(name)
	if s == "" {
		return nil
	}
	m, err := parseMatch(s)
	if err != nil {
		q.bad(name, "%v", err)
		return nil
	}
	return &m
}

// Matches reads the text filters of store.SearchFields.
func (q *query) Matches() []store.FieldMatch {
	var out []store.FieldMatch
	for _, f := range store.SearchFields {
		if m := q.Match(string(f)); m != nil {
			out = append(out, store.FieldMatch{Field: f, Match: *m})
		}
	}
	return out
}

var errEmptyMatch = errors.New("nothing to search for")

func parseMatch(s string) (store.Match, error) {
	m := store.Match{Text: s}
	switch {
	case len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"':
		m.Text, m.Mode = s[1:len(s)-1], store.Exact
	case strings.HasPrefix(s, "^"):
		m.Text, m.Mode = s[1:], store.Prefix
	}
	if m.Text == "" && m.Mode != store.Exact {
		return m, errEmptyMatch
	}
	if len(m.Text) > store.MaxSearchBytes {
		return m, fmt.Errorf("the search is %d bytes long; at most %d", len(m.Text), store.MaxSearchBytes)
	}
	return m, nil
}

// short cuts a bad value for an error message.
func short(s string) string {
	if len(s) <= 40 {
		return s
	}
	i := 40
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

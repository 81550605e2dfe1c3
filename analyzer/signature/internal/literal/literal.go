// Package literal reads, from an RE2 expression's parse tree
// (regexp/syntax), the literal text every whole match must contain, so that
// a signature rule can skip names that cannot match without running the
// expression.
package literal

import (
	"regexp/syntax"
	"slices"
	"strings"
)

// Prefilter is what every whole match of an expression contains. The zero
// value rejects nothing.
type Prefilter struct {
	// Prefix starts every match; Complete says the expression matches
	// exactly Prefix and nothing else.
	Prefix   string
	Complete bool
	// Contains is the longest other literal run every match contains.
	Contains string
	// Every match contains one of AnyOf, or starts with one when AnyOfAtStart.
	AnyOf        []string
	AnyOfAtStart bool
}

// maxSet bounds the alternatives a prefilter lists.
const maxSet = 32

// Of reads expr (Perl syntax, as regexp.Compile reads it); an expression
// that does not parse gets the zero Prefilter.
func Of(expr string) Prefilter {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return Prefilter{}
	}
	if s, ok := plain(re); ok {
		return Prefilter{Prefix: s, Complete: true}
	}
	subs := []*syntax.Regexp{re}
	if re.Op == syntax.OpConcat {
		subs = re.Sub
	}
	var p Prefilter
	// Runs of literal text at the top level of the concatenation.
	var cur []rune
	first, atStart := true, true
	flush := func() {
		switch {
		case first && atStart:
			p.Prefix = string(cur)
		case len(string(cur)) > len(p.Contains):
			p.Contains = string(cur)
		}
		first, atStart, cur = false, false, nil
	}
	for _, s := range subs {
		switch {
		case zeroWidth(s):
		case isLiteral(s):
			cur = append(cur, literalRunes(s)...)
		case (s.Op == syntax.OpPlus || s.Op == syntax.OpRepeat && s.Min >= 1) && isLiteral(s.Sub[0]):
			// Required at least once; what follows may be another copy.
			cur = append(cur, literalRunes(s.Sub[0])...)
			flush()
		default:
			flush()
		}
	}
	flush()
	p.AnyOf, p.AnyOfAtStart = alternatives(subs)
	return p
}

// plain reports whether re matches exactly one string, a literal.
func plain(re *syntax.Regexp) (string, bool) {
	switch {
	case re.Op == syntax.OpEmptyMatch:
		return "", true
	case isLiteral(re):
		return string(literalRunes(re)), true
	}
	return "", false
}

// isLiteral: a case-sensitive literal, perhaps in a capturing group.
func isLiteral(re *syntax.Regexp) bool {
	for re.Op == syntax.OpCapture {
		re = re.Sub[0]
	}
	return re.Op == syntax.OpLiteral && re.Flags&syntax.FoldCase == 0
}

func literalRunes(re *syntax.Regexp) []rune {
	for re.Op == syntax.OpCapture {
		re = re.Sub[0]
	}
	return re.Rune
}

// zeroWidth nodes match no text: they neither add to nor break a run
// (anchors inside an expression anchored as a whole only narrow it).
func zeroWidth(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary, syntax.OpEmptyMatch:
		return true
	}
	return false
}

// alternatives returns, for the first required part of the concatenation
// that starts with one of several literals, those literals; atStart says
// nothing comes before that part. (Local|Global)(Alloc|Free) gives Local
// and Global, at the start; _?(malloc|free)(_base)? gives malloc and free.
func alternatives(subs []*syntax.Regexp) ([]string, bool) {
	atStart := true
	for _, s := range subs {
		if zeroWidth(s) {
			continue
		}
		if optional(s) {
			atStart = false
			continue
		}
		if !isLiteral(s) {
			if set, _ := prefixes(s); len(set) > 1 {
				return set, atStart
			}
		}
		atStart = false
	}
	return nil, false
}

func optional(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpQuest, syntax.OpStar:
		return true
	case syntax.OpRepeat:
		return re.Min == 0
	case syntax.OpCapture:
		return optional(re.Sub[0])
	}
	return false
}

// prefixes returns literals one of which starts every match of re, sorted,
// or nil; complete says re matches exactly those strings.
func prefixes(re *syntax.Regexp) (set []string, complete bool) {
	switch re.Op {
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return nil, false
		}
		return []string{string(re.Rune)}, true
	case syntax.OpCapture:
		return prefixes(re.Sub[0])
	case syntax.OpCharClass:
		// A small class: its characters (syntax turns a|b into [a-b]).
		var out []string
		for i := 0; i+1 < len(re.Rune); i += 2 {
			for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
				if len(out) == maxSet/4 {
					return nil, false
				}
				out = append(out, string(r))
			}
		}
		return out, true
	case syntax.OpPlus:
		set, _ := prefixes(re.Sub[0])
		return set, false
	case syntax.OpRepeat:
		if re.Min < 1 {
			return nil, false
		}
		set, _ := prefixes(re.Sub[0])
		return set, false
	case syntax.OpAlternate:
		var out []string
		complete = true
		for _, s := range re.Sub {
			set, c := prefixes(s)
			if len(set) == 0 || slices.Contains(set, "") {
				return nil, false
			}
			out = append(out, set...)
			complete = complete && c
		}
		if len(out) > maxSet {
			return nil, false
		}
		return dedupe(out), complete
	case syntax.OpConcat:
		out := []string{""}
		for _, s := range re.Sub {
			if zeroWidth(s) {
				continue
			}
			set, c := prefixes(s)
			if len(set) == 0 || len(out)*len(set) > maxSet {
				return nonEmpty(out), false
			}
			var next []string
			for _, a := range out {
				for _, b := range set {
					next = append(next, a+b)
				}
			}
			out = next
			if !c {
				return nonEmpty(out), false
			}
		}
		return nonEmpty(out), true
	}
	return nil, false
}

// nonEmpty is set, or nil when one of its strings is empty (no filter).
func nonEmpty(set []string) []string {
	if slices.Contains(set, "") {
		return nil
	}
	return dedupe(set)
}

// dedupe sorts set and drops repeats and strings that another one starts
// (a match starting with "ab" starts with "a").
func dedupe(set []string) []string {
	slices.Sort(set)
	out := set[:0]
	for _, s := range set {
		if len(out) > 0 && strings.HasPrefix(s, out[len(out)-1]) {
			continue
		}
		out = append(out, s)
	}
	return out
}

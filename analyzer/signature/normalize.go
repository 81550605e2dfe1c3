package signature

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxDepth bounds how deep Normalize descends into groups it keeps (MSVC
// `...' scopes, {lambda} blocks, Rust <X as Y> paths), so that the work stays
// linear in the name's length times this constant.
const maxDepth = 4

// Normalize reduces a function name, as a demangler or symbol file gives it,
// to the form signatures use, the way Socorro's C++ normaliser does:
//   - access specifiers, calling conventions, return types, cv/ref
//     qualifiers and `[clone .cold]` suffixes are dropped;
//   - template arguments collapse to <T> (`std::vector<int,std::allocator<int> >`
//     becomes `std::vector<T>`), MSVC lambda classes `<lambda_1a2b>` become
//     <lambda>, and Rust `<X as Trait>` paths are kept;
//   - argument lists are dropped, except `(anonymous namespace)`, and
//     `anonymous namespace' is written (anonymous namespace);
//   - operator names stay whole (`operator<`, `operator()`, `operator new[]`);
//   - x86 decorations `_name@8` and `@name@8` lose their decoration;
//   - clang lambda numbers `$_3` and Rust hashes `::h0123...` are dropped.
//
// It never panics and runs in time linear in len(function).
func Normalize(function string) string { return normalize(function, 0) }

// maxInput is the longest name Normalize reads; the rest is ignored. Real
// symbol names stay far below it (a PDB record holds at most 64 KiB).
const maxInput = 64 << 10

func normalize(s string, depth int) string {
	if len(s) > maxInput {
		s = s[:maxInput]
	}
	s = clean(s)
	if s == "" {
		return ""
	}
	s = strings.ReplaceAll(s, "`anonymous namespace'", "(anonymous namespace)")
	s = undecorate(s)
	tok := lastToken(s)
	if tok == "" {
		return ""
	}
	// A function returning a function pointer: `int (__cdecl *f(void))(int)`.
	if tok[0] == '(' && depth < maxDepth {
		if j := matchEnd(tok, 0); j < len(tok) && !strings.HasPrefix(tok[j:], "::") {
			return normalize(tok[1:j-1], depth+1)
		}
	}
	return fixup(collapse(tok, depth))
}

// clean drops invalid UTF-8 and control characters, turns any whitespace
// into one space, and trims.
func clean(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		switch {
		case r == utf8.RuneError && n <= 1:
			continue
		case unicode.IsSpace(r):
			space = true
			continue
		case !unicode.IsPrint(r):
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// undecorate removes x86 __stdcall (_name@N) and __fastcall (@name@N)
// decoration, as PDB publics and exports of 32-bit modules carry it. All of
// s must be decorated: '_' or '@', an identifier ([A-Za-z_][A-Za-z0-9_]*),
// '@' and decimal digits.
func undecorate(s string) string {
	if len(s) < 4 || s[0] != '_' && s[0] != '@' {
		return s
	}
	at := strings.IndexByte(s[1:], '@') + 1
	if at < 2 || at == len(s)-1 || !isCIdentStart(s[1]) {
		return s
	}
	for i := 2; i < at; i++ {
		if !isCIdentStart(s[i]) && (s[i] < '0' || s[i] > '9') {
			return s
		}
	}
	if !allDigits(s[at+1:]) {
		return s
	}
	return s[1:at]
}

// isCIdentStart reports whether c is [A-Za-z_].
func isCIdentStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// allDigits reports whether s is one or more of [0-9].
func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func isIdent(c byte) bool {
	return c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

func isIdentStart(c byte) bool { return isIdent(c) && (c < '0' || c > '9') }

// isOperator reports whether the keyword `operator` starts at s[i].
func isOperator(s string, i int) bool {
	if !strings.HasPrefix(s[i:], "operator") {
		return false
	}
	if i > 0 && isIdent(s[i-1]) {
		return false
	}
	return i+8 >= len(s) || !isIdent(s[i+8])
}

// Operator symbols, longest first so that `<<=` wins over `<<` and `<`.
var operatorSymbols = []string{
	"->*", "<<=", ">>=", "<=>", "()", "[]", "->", "<<", ">>", "<=", ">=", "==", "!=", "&&", "||", "++", "--",
	"+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", `""`,
	"<", ">", "+", "-", "*", "/", "%", "^", "&", "|", "~", "!", "=", ",",
}

// operatorSymbol returns the normalised operator name starting at s[i]
// (where isOperator holds) and the index after it. Conversion operators
// (`operator bool`) return only the keyword; the caller reads the type.
func operatorSymbol(s string, i int) (name string, end int, conversion bool) {
	j := i + 8
	k := j
	for k < len(s) && s[k] == ' ' {
		k++
	}
	rest := s[k:]
	for _, w := range []string{"new", "delete", "co_await"} {
		if strings.HasPrefix(rest, w) && (len(rest) == len(w) || !isIdent(rest[len(w)])) {
			e := k + len(w)
			m := e
			for m < len(s) && s[m] == ' ' {
				m++
			}
			if strings.HasPrefix(s[m:], "[]") {
				return "operator " + w + "[]", m + 2, false
			}
			return "operator " + w, e, false
		}
	}
	for _, sym := range operatorSymbols {
		if strings.HasPrefix(rest, sym) {
			return "operator" + sym, k + len(sym), false
		}
	}
	if k < len(s) && isIdentStart(s[k]) {
		return "operator", k, true
	}
	return "operator", j, false
}

// conversionEnd returns where a conversion operator's type, starting at
// s[k], ends: at the argument list or the end of the name.
func conversionEnd(s string, k int) int {
	for k < len(s) {
		switch c := s[k]; {
		case c == '(':
			return k
		case c == '<' || c == '[' || c == '`' || c == '{':
			k = matchEnd(s, k)
		default:
			k++
		}
	}
	return k
}

func closerOf(c byte) byte {
	switch c {
	case '<':
		return '>'
	case '(':
		return ')'
	case '[':
		return ']'
	case '{':
		return '}'
	case '`', '\'':
		return '\''
	}
	return 0
}

func openerOf(c byte) byte {
	switch c {
	case '>':
		return '<'
	case ')':
		return '('
	case ']':
		return '['
	}
	return '{'
}

// matchEnd returns the index just after the group that opens at s[i] (one
// of < ( [ { `), or len(s) if it is never closed. A closer that does not
// match the innermost opener closes the nearest matching one, treating the
// openers in between as stray (`a<b` in an expression); a stray '>' is
// ignored. Inside MSVC `...' quotes only quotes count, and a ' after a space
// opens a nested quote, as around the x of MSVC's
// "`dynamic initializer for 'x'" followed by the closing quote. Linear time.
func matchEnd(s string, i int) int {
	stack := make([]byte, 1, 8)
	stack[0] = s[i]
	var open [256]int
	open[s[i]]++
	push := func(c byte) { stack = append(stack, c); open[c]++ }
	pop := func() { open[stack[len(stack)-1]]--; stack = stack[:len(stack)-1] }
	for j := i + 1; j < len(s); j++ {
		c := s[j]
		top := stack[len(stack)-1]
		if top == '`' || top == '\'' {
			switch {
			case c == '`':
				push(c)
			case c == '\'' && top == '`' && s[j-1] == ' ':
				push(c)
			case c == '\'':
				pop()
			}
		} else {
			switch c {
			case '<', '(', '[', '{', '`':
				push(c)
			case '>', ')', ']', '}':
				want := openerOf(c)
				switch {
				case top == want:
					pop()
				case c != '>' && open[want] > 0:
					for stack[len(stack)-1] != want {
						pop()
					}
					pop()
				}
			case 'o':
				if isOperator(s, j) {
					_, end, _ := operatorSymbol(s, j)
					j = end - 1
				}
			}
		}
		if len(stack) == 0 {
			return j + 1
		}
	}
	return len(s)
}

// inner returns the text inside the group s[i:j] that matchEnd found.
func inner(s string, i, j int) string {
	if j-i >= 2 && s[j-1] == closerOf(s[i]) {
		return s[i+1 : j-1]
	}
	return s[i+1 : j]
}

// splitTop calls yield with each word of s, splitting at the spaces that are
// outside every group and outside operator names.
func splitTop(s string, yield func(string)) {
	start := 0
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == ' ':
			if i > start {
				yield(s[start:i])
			}
			i++
			start = i
		case c == '<' || c == '(' || c == '[' || c == '{' || c == '`':
			i = matchEnd(s, i)
		case c == 'o' && isOperator(s, i):
			_, end, conv := operatorSymbol(s, i)
			if conv {
				end = conversionEnd(s, end)
				for end > i && s[end-1] == ' ' {
					end--
				}
			}
			if end <= i {
				end = i + 1
			}
			i = end
		default:
			i++
		}
	}
	if start < len(s) {
		yield(s[start:])
	}
}

// dropTokens are words around a function name that are not part of it.
var dropTokens = map[string]bool{
	"const": true, "volatile": true, "&": true, "&&": true, "const&": true, "const&&": true, "*": true,
	"noexcept": true, "override": true, "final": true, "throw()": true,
	"static": true, "virtual": true, "inline": true, "extern": true, `"C"`: true,
	"__cdecl": true, "__stdcall": true, "__fastcall": true, "__thiscall": true, "__vectorcall": true,
	"__clrcall": true, "__pascal": true, "__regcall": true, "__swift_1": true, "__swift_2": true,
	"__ptr64": true, "__ptr32": true, "__restrict": true, "__unaligned": true,
}

// lastToken picks the function name from the top-level words of s: the last
// one that is not a qualifier, access specifier or `[clone ...]`, with an
// argument list written after a space joined back on.
func lastToken(s string) string {
	var last []string // the current word and the groups joined onto it
	splitTop(s, func(t string) {
		switch {
		case dropTokens[t], strings.HasPrefix(t, "[clone "),
			strings.HasSuffix(t, ":") && !strings.HasSuffix(t, "::"):
		case len(last) > 0 && (t[0] == '(' && !strings.HasPrefix(t, "(anonymous namespace)::") && !isDeclarator(t) || t[0] == '['):
			last = append(last, t)
		default:
			last = append(last[:0], t)
		}
	})
	return strings.Join(last, "")
}

// isDeclarator reports whether t, which starts with '(', is a pointer
// declarator such as `(__cdecl *f(void))` rather than an argument list.
func isDeclarator(t string) bool {
	for _, w := range strings.Fields(inner(t, 0, matchEnd(t, 0))) {
		if !dropTokens[w] || w == "*" || w == "&" || w == "&&" {
			return w[0] == '*' || w[0] == '&'
		}
	}
	return false
}

// collapse rewrites the groups of one name: templates to <T>, argument
// lists away, kept groups normalised inside.
func collapse(s string, depth int) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == 'o' && isOperator(s, i):
			name, end, conv := operatorSymbol(s, i)
			if end <= i {
				end = i + 1
			}
			b.WriteString(name)
			if conv {
				e := conversionEnd(s, end)
				if depth < maxDepth {
					b.WriteString(" " + collapse(strings.TrimSpace(s[end:e]), depth+1))
				} else {
					b.WriteString(" " + strings.TrimSpace(s[end:e]))
				}
				end = e
			}
			i = end
		case c == '<':
			j := matchEnd(s, i)
			in := inner(s, i, j)
			switch {
			case (i == 0 || strings.HasSuffix(s[:i], "::")) && (in == "lambda" || strings.HasPrefix(in, "lambda_")):
				// An MSVC lambda class, named by a hash that changes per build.
				b.WriteString("<lambda>")
			case i == 0 && depth < maxDepth && hasTopLevelAs(in):
				b.WriteString("<" + collapse(in, depth+1) + ">")
			default:
				b.WriteString("<T>")
			}
			i = j
		case c == '(':
			j := matchEnd(s, i)
			if inner(s, i, j) == "anonymous namespace" {
				b.WriteString("(anonymous namespace)")
			}
			i = j
		case c == '[':
			j := matchEnd(s, i)
			if !strings.HasPrefix(inner(s, i, j), "clone ") {
				b.WriteString(s[i:j])
			}
			i = j
		case c == '{':
			j := matchEnd(s, i)
			if depth < maxDepth {
				b.WriteString("{" + collapse(inner(s, i, j), depth+1) + "}")
			} else {
				b.WriteString(s[i:j])
			}
			i = j
		case c == '`':
			j := matchEnd(s, i)
			in := inner(s, i, j)
			if strings.ContainsRune(in, '(') && depth < maxDepth {
				b.WriteString("`" + normalize(in, depth+1) + "'")
			} else {
				b.WriteString(s[i:j])
			}
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

// hasTopLevelAs reports whether s has " as " outside its groups, as Rust's
// qualified paths `<Vec<T> as Drop>::drop` do.
func hasTopLevelAs(s string) bool {
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == '<' || c == '(' || c == '[' || c == '{' || c == '`':
			i = matchEnd(s, i)
		case strings.HasPrefix(s[i:], " as "):
			return true
		default:
			i++
		}
	}
	return false
}

// fixup tidies spacing and drops build-specific numbers.
func fixup(s string) string {
	s = strings.TrimPrefix(s, "[thunk]:")
	s = dropClangLambdas(s)
	s = dropRustHash(s)
	s = tidySpaces(s)
	s = strings.TrimPrefix(s, "::")
	return strings.TrimSpace(s)
}

// dropClangLambdas rewrites clang's numbered lambda scopes `::$_12` to
// `::$` where the number ends a scope (at "::" or the end). Scanning goes on
// after the "::" that ends one, so in `::$_1::$_2::` only the first is
// rewritten, as ReplaceAll of the regexp `::\$_[0-9]+(::|$)` would.
func dropClangLambdas(s string) string {
	i := strings.Index(s, "::$_")
	if i < 0 {
		return s
	}
	var b strings.Builder
	done := 0 // s[:done] is written
	for {
		j := i + 4
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		next := i + 1 // where the search for the next one starts
		switch {
		case j == i+4:
		case j == len(s):
			b.WriteString(s[done:i])
			b.WriteString("::$")
			done, next = j, j
		case strings.HasPrefix(s[j:], "::"):
			b.WriteString(s[done:i])
			b.WriteString("::$::")
			done, next = j+2, j+2
		}
		k := strings.Index(s[next:], "::$_")
		if k < 0 {
			break
		}
		i = next + k
	}
	b.WriteString(s[done:])
	return b.String()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// dropRustHash removes the hash Rust appends to a symbol path,
// `::h0123456789abcdef` (exactly 16 lower-case hex digits), at the end.
func dropRustHash(s string) string {
	const n = len("::h") + 16
	if len(s) < n || !strings.HasPrefix(s[len(s)-n:], "::h") {
		return s
	}
	for i := len(s) - 16; i < len(s); i++ {
		if c := s[i]; !isDigit(c) && (c < 'a' || c > 'f') {
			return s
		}
	}
	return s[:len(s)-n]
}

// tidySpaces drops the spaces before '*', '&' and ',', writes one space
// after each ',', and turns any other run of spaces into one space: in one
// pass, what the regexp rewrites ` +([*&,])` -> "$1", `, *` -> ", " and
// `  +` -> " " did in turn.
func tidySpaces(s string) string {
	if !strings.ContainsAny(s, " ,") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 4)
	for i := 0; i < len(s); {
		switch c := s[i]; c {
		case ',':
			b.WriteString(", ")
			for i++; i < len(s) && s[i] == ' '; i++ {
			}
		case ' ':
			j := i + 1
			for j < len(s) && s[j] == ' ' {
				j++
			}
			if j == len(s) || s[j] != '*' && s[j] != '&' && s[j] != ',' {
				b.WriteByte(' ')
			}
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

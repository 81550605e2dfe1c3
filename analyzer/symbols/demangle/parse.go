package demangle

import (
	"strings"
)

// maxDepth bounds the nesting of types, templates and nested symbols so that
// hostile input cannot exhaust the stack.
const maxDepth = 64

// backrefs holds the two back-reference tables of the MSVC scheme: up to ten
// names (digits in name position) and ten parameter types (digits in
// parameter position). Template argument lists start a fresh table.
type backrefs struct {
	names  []*ident
	params []*typ
}

type parser struct {
	s     string
	err   bool
	depth int
	br    backrefs
}

func (p *parser) fail() { p.err = true }

func (p *parser) enter() bool {
	p.depth++
	if p.depth > maxDepth {
		p.err = true
		return false
	}
	return true
}

func (p *parser) leave() { p.depth-- }

func (p *parser) peek() byte {
	if len(p.s) == 0 {
		return 0
	}
	return p.s[0]
}

func (p *parser) pop() byte {
	if len(p.s) == 0 {
		p.err = true
		return 0
	}
	c := p.s[0]
	p.s = p.s[1:]
	return c
}

func (p *parser) consume(prefix string) bool {
	if strings.HasPrefix(p.s, prefix) {
		p.s = p.s[len(prefix):]
		return true
	}
	return false
}

func (p *parser) startsWithDigit() bool {
	return len(p.s) > 0 && p.s[0] >= '0' && p.s[0] <= '9'
}

// number decodes <number>: an optional '?' (negative), then either one digit
// (value 1..10) or hex nibbles 'A'..'P' terminated by '@'.
func (p *parser) number() (uint64, bool) {
	neg := p.consume("?")
	if p.startsWithDigit() {
		v := uint64(p.s[0]-'0') + 1
		p.s = p.s[1:]
		return v, neg
	}
	var v uint64
	for i := 0; i < len(p.s); i++ {
		c := p.s[i]
		if c == '@' {
			p.s = p.s[i+1:]
			return v, neg
		}
		if c >= 'A' && c <= 'P' {
			if i >= 16 {
				break
			}
			v = v<<4 | uint64(c-'A')
			continue
		}
		break
	}
	p.fail()
	return 0, false
}

func (p *parser) signed() int64 {
	// llvm-undname truncates offsets to 32 bits.
	v, neg := p.number()
	i := int64(int32(uint32(v)))
	if neg {
		return -i
	}
	return i
}

func (p *parser) unsigned() int64 {
	v, neg := p.number()
	if neg {
		p.fail()
	}
	return int64(v)
}

func (p *parser) memorize(id *ident, key string) {
	if len(p.br.names) >= 10 {
		return
	}
	for _, n := range p.br.names {
		if identKey(n) == key {
			return
		}
	}
	p.br.names = append(p.br.names, id)
}

// identKey is the string a name back-reference is compared by (llvm compares
// the rendered identifier).
func identKey(id *ident) string {
	if id.kind == idSimple && !id.hasArgs {
		return id.text
	}
	pr := printer{style: styleLLVM}
	pr.ident(id)
	return pr.String()
}

func (p *parser) simpleName(memo bool) *ident {
	i := strings.IndexByte(p.s, '@')
	if i <= 0 {
		p.fail()
		return nil
	}
	id := &ident{kind: idSimple, text: p.s[:i]}
	p.s = p.s[i+1:]
	if memo {
		p.memorize(id, id.text)
	}
	return id
}

func (p *parser) backrefName() *ident {
	n := int(p.s[0] - '0')
	p.s = p.s[1:]
	if n >= len(p.br.names) {
		p.fail()
		return nil
	}
	return p.br.names[n]
}

type nbb uint8

const (
	nbbNone nbb = iota
	nbbSimple
	nbbTemplate
)

// templateName parses "?$" <name> <template-args> '@' with a fresh
// back-reference context.
func (p *parser) templateName(mode nbb) *ident {
	if !p.enter() {
		return nil
	}
	defer p.leave()
	p.consume("?$")
	outer := p.br
	p.br = backrefs{}
	id := p.unqualifiedSymbolName(nbbSimple)
	if !p.err && id != nil {
		// Copy: id may be a memorized (shared) node.
		cp := *id
		id = &cp
		id.hasArgs = true
		id.args = p.templateArgs()
	}
	p.br = outer
	if p.err || id == nil {
		return nil
	}
	if mode == nbbTemplate && id.kind == idSimple {
		p.memorize(id, identKey(id))
	}
	return id
}

func (p *parser) unqualifiedSymbolName(mode nbb) *ident {
	if p.startsWithDigit() {
		return p.backrefName()
	}
	if strings.HasPrefix(p.s, "?$") {
		return p.templateName(mode)
	}
	if strings.HasPrefix(p.s, "?") {
		return p.functionIdentifierCode()
	}
	return p.simpleName(mode == nbbSimple)
}

func (p *parser) unqualifiedTypeName() *ident {
	if p.startsWithDigit() {
		return p.backrefName()
	}
	if strings.HasPrefix(p.s, "?$") {
		return p.templateName(nbbTemplate)
	}
	return p.simpleName(true)
}

var basicOps = map[byte]string{
	'2': "operator new", '3': "operator delete", '4': "operator=", '5': "operator>>",
	'6': "operator<<", '7': "operator!", '8': "operator==", '9': "operator!=",
	'A': "operator[]", 'C': "operator->", 'D': "operator*", 'E': "operator++",
	'F': "operator--", 'G': "operator-", 'H': "operator+", 'I': "operator&",
	'J': "operator->*", 'K': "operator/", 'L': "operator%", 'M': "operator<",
	'N': "operator<=", 'O': "operator>", 'P': "operator>=", 'Q': "operator,",
	'R': "operator()", 'S': "operator~", 'T': "operator^", 'U': "operator|",
	'V': "operator&&", 'W': "operator||", 'X': "operator*=", 'Y': "operator+=",
	'Z': "operator-=",
}

// underOps: llvm spelling, MSVC spelling.
var underOps = map[byte][2]string{
	'0': {"operator/=", ""}, '1': {"operator%=", ""}, '2': {"operator>>=", ""},
	'3': {"operator<<=", ""}, '4': {"operator&=", ""}, '5': {"operator|=", ""},
	'6': {"operator^=", ""}, '7': {"`vftable'", ""}, '8': {"`vbtable'", ""},
	'9': {"`vcall'", ""}, 'A': {"`typeof'", ""}, 'B': {"`local static guard'", ""},
	'C': {"`string'", ""}, 'D': {"`vbase dtor'", "`vbase destructor'"},
	'E': {"`vector deleting dtor'", "`vector deleting destructor'"},
	'F': {"`default ctor closure'", "`default constructor closure'"},
	'G': {"`scalar deleting dtor'", "`scalar deleting destructor'"},
	'H': {"`vector ctor iterator'", "`vector constructor iterator'"},
	'I': {"`vector dtor iterator'", "`vector destructor iterator'"},
	'J': {"`vector vbase ctor iterator'", "`vector vbase constructor iterator'"},
	'K': {"`virtual displacement map'", ""},
	'L': {"`eh vector ctor iterator'", "`eh vector constructor iterator'"},
	'M': {"`eh vector dtor iterator'", "`eh vector destructor iterator'"},
	'N': {"`eh vector vbase ctor iterator'", "`eh vector vbase constructor iterator'"},
	'O': {"`copy ctor closure'", "`copy constructor closure'"},
	'S': {"`local vftable'", ""},
	'T': {"`local vftable ctor closure'", "`local vftable constructor closure'"},
	'U': {"operator new[]", ""}, 'V': {"operator delete[]", ""},
	'X': {"`placement delete closure'", ""}, 'Y': {"`placement delete[] closure'", ""},
}

var doubleUnderOps = map[byte]string{
	'A': "`managed vector ctor iterator'", 'B': "`managed vector dtor iterator'",
	'C': "`EH vector copy ctor iterator'", 'D': "`EH vector vbase copy ctor iterator'",
	'G': "`vector copy ctor iterator'", 'H': "`vector vbase copy ctor iterator'",
	'I': "`managed vector copy ctor iterator'", 'J': "`local static thread guard'",
	'L': "operator co_await", 'M': "operator<=>",
}

func (p *parser) functionIdentifierCode() *ident {
	p.consume("?")
	switch {
	case p.consume("__"):
		c := p.pop()
		if c == 'K' {
			n := p.simpleName(false)
			if n == nil {
				return nil
			}
			return &ident{kind: idLiteralOp, text: n.text}
		}
		if s, ok := doubleUnderOps[c]; ok {
			return &ident{kind: idOperator, text: s}
		}
	case p.consume("_"):
		c := p.pop()
		if s, ok := underOps[c]; ok {
			return &ident{kind: idOperator, text: s[0], msText: s[1]}
		}
	default:
		switch c := p.pop(); c {
		case '0':
			return &ident{kind: idCtor}
		case '1':
			return &ident{kind: idDtor}
		case 'B':
			return &ident{kind: idConversion}
		default:
			if s, ok := basicOps[c]; ok {
				return &ident{kind: idOperator, text: s}
			}
		}
	}
	p.fail()
	return nil
}

// startsWithLocalScope reports whether s begins with '?' <number> '?'.
func startsWithLocalScope(s string) bool {
	if len(s) < 3 || s[0] != '?' {
		return false
	}
	s = s[1:]
	if s[0] >= '0' && s[0] <= '9' {
		return len(s) > 1 && s[1] == '?'
	}
	i := strings.IndexByte(s, '@')
	if i < 0 || i+1 >= len(s) || s[i+1] != '?' {
		return false
	}
	for _, c := range []byte(s[:i]) {
		if c < 'A' || c > 'P' {
			return false
		}
	}
	return true
}

func (p *parser) nameScopePiece() *ident {
	switch {
	case p.startsWithDigit():
		return p.backrefName()
	case strings.HasPrefix(p.s, "?$"):
		return p.templateName(nbbTemplate)
	case strings.HasPrefix(p.s, "?A"):
		p.s = p.s[2:]
		i := strings.IndexByte(p.s, '@')
		if i < 0 {
			p.fail()
			return nil
		}
		key := &ident{kind: idSimple, text: p.s[:i]}
		p.memorize(key, key.text)
		p.s = p.s[i+1:]
		return &ident{kind: idSimple, text: "`anonymous namespace'"}
	case startsWithLocalScope(p.s):
		p.s = p.s[1:]
		n, _ := p.number()
		if !p.consume("?") {
			p.fail()
			return nil
		}
		sym := p.symbol()
		if p.err || sym == nil {
			return nil
		}
		return &ident{kind: idLocalScope, nested: sym, number: int64(n)}
	}
	return p.simpleName(true)
}

// nameScopeChain reads the scopes after the unqualified name up to the
// terminating '@'; the result is outermost first.
func (p *parser) nameScopeChain(first *ident) *qname {
	parts := []*ident{first}
	for !p.consume("@") {
		if len(p.s) == 0 || p.err {
			p.fail()
			return nil
		}
		id := p.nameScopePiece()
		if p.err || id == nil {
			p.fail()
			return nil
		}
		parts = append(parts, id)
		if len(parts) > 256 {
			p.fail()
			return nil
		}
	}
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return &qname{parts: parts}
}

func (p *parser) fullyQualifiedTypeName() *qname {
	id := p.unqualifiedTypeName()
	if p.err || id == nil {
		p.fail()
		return nil
	}
	return p.nameScopeChain(id)
}

func (p *parser) fullyQualifiedSymbolName() *qname {
	id := p.unqualifiedSymbolName(nbbSimple)
	if p.err || id == nil {
		p.fail()
		return nil
	}
	q := p.nameScopeChain(id)
	if p.err || q == nil {
		return nil
	}
	if id.kind == idCtor || id.kind == idDtor {
		if len(q.parts) < 2 {
			p.fail()
			return nil
		}
		id.class = q.parts[len(q.parts)-2]
	}
	return q
}

// symbol parses a complete decorated name (after nothing has been consumed).
func (p *parser) symbol() *symbol {
	if !p.enter() {
		return nil
	}
	defer p.leave()
	if strings.HasPrefix(p.s, ".") {
		p.s = p.s[1:]
		t := p.typ(qmResult)
		if p.err || t == nil || len(p.s) != 0 {
			p.fail()
			return nil
		}
		return &symbol{kind: sVar, t: t, name: &qname{parts: []*ident{{kind: idSimple, text: "`RTTI Type Descriptor Name'"}}}}
	}
	if strings.HasPrefix(p.s, "??@") {
		i := strings.IndexByte(p.s[3:], '@')
		if i < 0 {
			p.fail()
			return nil
		}
		text := p.s[:3+i+1]
		p.s = p.s[3+i+1:]
		p.consume("??_R4@")
		return &symbol{kind: sRaw, text: text}
	}
	if !p.consume("?") {
		p.fail()
		return nil
	}
	if sym, ok := p.specialIntrinsic(); ok {
		if p.err {
			return nil
		}
		return sym
	}
	q := p.fullyQualifiedSymbolName()
	if p.err {
		return nil
	}
	return p.encodedSymbol(q)
}

func (p *parser) encodedSymbol(q *qname) *symbol {
	switch c := p.peek(); c {
	case '0', '1', '2', '3', '4':
		p.s = p.s[1:]
		return p.variableEncoding(q, c)
	}
	fn := p.functionEncoding()
	if p.err || fn == nil {
		return nil
	}
	if id := q.last(); id != nil && id.kind == idConversion {
		id.conv = fn.ret
	}
	return &symbol{kind: sFunc, name: q, fn: fn}
}

func (p *parser) variableEncoding(q *qname, sc byte) *symbol {
	t := p.typ(qmDrop)
	if p.err || t == nil {
		return nil
	}
	if t.kind == tPtr {
		t.quals |= p.ptrExtQuals()
		cq, _ := p.qualifiers()
		if t.memberOf != nil {
			p.fullyQualifiedTypeName()
		}
		if t.pointee != nil {
			t.pointee.quals |= cq
		}
	} else {
		cq, _ := p.qualifiers()
		t.quals = cq
	}
	if p.err {
		return nil
	}
	return &symbol{kind: sVar, name: q, t: t, storage: sc}
}

func (p *parser) functionClass() funcClass {
	switch p.pop() {
	case '9':
		return fcExternC | fcNoParams
	case 'A':
		return fcPrivate
	case 'B':
		return fcPrivate | fcFar
	case 'C':
		return fcPrivate | fcStatic
	case 'D':
		return fcPrivate | fcStatic | fcFar
	case 'E':
		return fcPrivate | fcVirtual
	case 'F':
		return fcPrivate | fcVirtual | fcFar
	case 'G':
		return fcPrivate | fcVirtual | fcStaticThisAdjust
	case 'H':
		return fcPrivate | fcVirtual | fcStaticThisAdjust | fcFar
	case 'I':
		return fcProtected
	case 'J':
		return fcProtected | fcFar
	case 'K':
		return fcProtected | fcStatic
	case 'L':
		return fcProtected | fcStatic | fcFar
	case 'M':
		return fcProtected | fcVirtual
	case 'N':
		return fcProtected | fcVirtual | fcFar
	case 'O':
		return fcProtected | fcVirtual | fcStaticThisAdjust
	case 'P':
		return fcProtected | fcVirtual | fcStaticThisAdjust | fcFar
	case 'Q':
		return fcPublic
	case 'R':
		return fcPublic | fcFar
	case 'S':
		return fcPublic | fcStatic
	case 'T':
		return fcPublic | fcStatic | fcFar
	case 'U':
		return fcPublic | fcVirtual
	case 'V':
		return fcPublic | fcVirtual | fcFar
	case 'W':
		return fcPublic | fcVirtual | fcStaticThisAdjust
	case 'X':
		return fcPublic | fcVirtual | fcStaticThisAdjust | fcFar
	case 'Y':
		return fcGlobal
	case 'Z':
		return fcGlobal | fcFar
	case '$':
		v := fcVirtualThisAdjust
		if p.consume("R") {
			v |= fcVirtualThisAdjustEx
		}
		switch p.pop() {
		case '0':
			return fcPrivate | fcVirtual | v
		case '1':
			return fcPrivate | fcVirtual | v | fcFar
		case '2':
			return fcProtected | fcVirtual | v
		case '3':
			return fcProtected | fcVirtual | v | fcFar
		case '4':
			return fcPublic | fcVirtual | v
		case '5':
			return fcPublic | fcVirtual | v | fcFar
		}
	}
	p.fail()
	return fcPublic
}

func (p *parser) functionEncoding() *funcSig {
	var extra funcClass
	if p.consume("$$J0") {
		extra = fcExternC
	}
	if len(p.s) == 0 {
		p.fail()
		return nil
	}
	fc := p.functionClass() | extra
	var adj [4]int64
	thunk := false
	if fc&fcStaticThisAdjust != 0 {
		thunk = true
		adj[0] = p.signed()
	} else if fc&fcVirtualThisAdjust != 0 {
		thunk = true
		if fc&fcVirtualThisAdjustEx != 0 {
			adj[2] = p.signed()
			adj[3] = p.signed()
		}
		adj[1] = p.signed()
		adj[0] = p.signed()
	}
	if p.err {
		return nil
	}
	var fn *funcSig
	if fc&fcNoParams != 0 {
		fn = &funcSig{}
	} else {
		fn = p.functionType(fc&(fcGlobal|fcStatic) == 0)
	}
	if p.err || fn == nil {
		return nil
	}
	fn.class = fc
	fn.thunk = thunk
	fn.adjust = adj
	return fn
}

var callingConventions = map[byte]string{
	'A': "__cdecl", 'B': "__cdecl", 'C': "__pascal", 'D': "__pascal",
	'E': "__thiscall", 'F': "__thiscall", 'G': "__stdcall", 'H': "__stdcall",
	'I': "__fastcall", 'J': "__fastcall", 'M': "__clrcall", 'N': "__clrcall",
	'O': "__eabi", 'P': "__eabi", 'Q': "__vectorcall",
}

func (p *parser) functionType(thisQuals bool) *funcSig {
	if !p.enter() {
		return nil
	}
	defer p.leave()
	fn := &funcSig{class: fcGlobal}
	if thisQuals {
		fn.quals = p.ptrExtQuals()
		switch {
		case p.consume("G"):
			fn.hasRef, fn.refQual = true, pkRef
		case p.consume("H"):
			fn.hasRef, fn.refQual = true, pkRRef
		}
		q, _ := p.qualifiers()
		fn.quals |= q
	}
	if len(p.s) == 0 {
		p.fail()
		return nil
	}
	fn.cc = callingConventions[p.pop()]
	if !p.consume("@") {
		fn.ret = p.typ(qmResult)
	}
	if p.err {
		return nil
	}
	fn.params, fn.hasParam, fn.variadic = p.paramList()
	if p.err {
		return nil
	}
	switch {
	case p.consume("_E"):
		fn.noexcept = true
	case p.consume("Z"):
	default:
		p.fail()
		return nil
	}
	return fn
}

func (p *parser) paramList() (params []*typ, has, variadic bool) {
	if p.consume("X") {
		return nil, false, false
	}
	for !p.err && len(p.s) > 0 && p.s[0] != '@' && p.s[0] != 'Z' {
		if p.startsWithDigit() {
			n := int(p.s[0] - '0')
			p.s = p.s[1:]
			if n >= len(p.br.params) {
				p.fail()
				return nil, false, false
			}
			params = append(params, p.br.params[n])
			continue
		}
		old := len(p.s)
		t := p.typ(qmDrop)
		if p.err || t == nil {
			p.fail()
			return nil, false, false
		}
		params = append(params, t)
		if len(p.br.params) <= 9 && old-len(p.s) > 1 {
			p.br.params = append(p.br.params, t)
		}
	}
	if p.err {
		return nil, false, false
	}
	if p.consume("@") {
		return params, true, false
	}
	if p.consume("Z") {
		return params, true, true
	}
	p.fail()
	return nil, false, false
}

func (p *parser) templateArgs() []*targ {
	args := []*targ{}
	for !strings.HasPrefix(p.s, "@") {
		if p.err || len(p.s) == 0 {
			p.fail()
			return nil
		}
		if p.consume("$S") || p.consume("$$V") || p.consume("$$$V") || p.consume("$$Z") {
			continue
		}
		a := &targ{}
		switch {
		case p.consume("$$Y"):
			q := p.fullyQualifiedTypeName()
			a.t = &typ{kind: tCustom, name: q}
		case p.consume("$$B"):
			a.t = p.typ(qmDrop)
		case p.consume("$$C"):
			a.t = p.typ(qmMangle)
		case strings.HasPrefix(p.s, "$1") || strings.HasPrefix(p.s, "$H") ||
			strings.HasPrefix(p.s, "$I") || strings.HasPrefix(p.s, "$J"):
			p.s = p.s[1:]
			inh := p.pop()
			a.kind = taSymbol
			a.pointer = true
			if strings.HasPrefix(p.s, "?") {
				a.sym = p.symbol()
				if p.err || a.sym == nil || a.sym.name == nil {
					p.fail()
					return nil
				}
				if id := a.sym.name.last(); id != nil {
					p.memorize(id, identKey(id))
				}
			}
			n := map[byte]int{'1': 0, 'H': 1, 'I': 2, 'J': 3}[inh]
			for i := 0; i < n; i++ {
				a.offsets = append(a.offsets, p.signed())
			}
		case strings.HasPrefix(p.s, "$E?"):
			p.s = p.s[2:]
			a.kind = taSymbol
			a.sym = p.symbol()
		case strings.HasPrefix(p.s, "$F") || strings.HasPrefix(p.s, "$G"):
			p.s = p.s[1:]
			n := 2
			if p.pop() == 'G' {
				n = 3
			}
			a.kind = taOffsets
			for i := 0; i < n; i++ {
				a.offsets = append(a.offsets, p.signed())
			}
		case p.consume("$0"):
			a.kind = taInt
			a.val, a.neg = p.number()
		default:
			a.t = p.typ(qmDrop)
		}
		if p.err || (a.kind == taType && a.t == nil) || (a.kind == taSymbol && a.sym == nil && len(a.offsets) == 0) {
			p.fail()
			return nil
		}
		args = append(args, a)
		if len(args) > 256 {
			p.fail()
			return nil
		}
	}
	p.consume("@")
	return args
}

type qualMode uint8

const (
	qmDrop qualMode = iota
	qmMangle
	qmResult
)

func (p *parser) qualifiers() (qual, bool) {
	switch p.pop() {
	case 'Q':
		return 0, true
	case 'R':
		return qConst, true
	case 'S':
		return qVolatile, true
	case 'T':
		return qConst | qVolatile, true
	case 'A':
		return 0, false
	case 'B':
		return qConst, false
	case 'C':
		return qVolatile, false
	case 'D':
		return qConst | qVolatile, false
	}
	p.fail()
	return 0, false
}

func (p *parser) ptrExtQuals() qual {
	var q qual
	if p.consume("E") {
		q |= qPtr64
	}
	if p.consume("I") {
		q |= qRestrict
	}
	if p.consume("F") {
		q |= qUnaligned
	}
	return q
}

func isPointerType(s string) bool {
	if strings.HasPrefix(s, "$$Q") {
		return true
	}
	if len(s) == 0 {
		return false
	}
	switch s[0] {
	case 'A', 'P', 'Q', 'R', 'S':
		return true
	}
	return false
}

// isMemberPointer looks ahead (without consuming) at a pointer type.
func (p *parser) isMemberPointer() bool {
	s := p.s
	switch s[0] {
	case '$', 'A':
		return false
	case 'P', 'Q', 'R', 'S':
	default:
		p.fail()
		return false
	}
	s = s[1:]
	if len(s) > 0 && s[0] >= '0' && s[0] <= '9' {
		if s[0] != '6' && s[0] != '8' {
			p.fail()
			return false
		}
		return s[0] == '8'
	}
	for _, c := range []string{"E", "I", "F"} {
		s = strings.TrimPrefix(s, c)
	}
	if len(s) == 0 {
		p.fail()
		return false
	}
	switch s[0] {
	case 'A', 'B', 'C', 'D':
		return false
	case 'Q', 'R', 'S', 'T':
		return true
	}
	p.fail()
	return false
}

func (p *parser) typ(mode qualMode) *typ {
	if !p.enter() {
		return nil
	}
	defer p.leave()
	var q qual
	switch mode {
	case qmMangle:
		q, _ = p.qualifiers()
	case qmResult:
		if p.consume("?") {
			q, _ = p.qualifiers()
		}
	}
	if p.err || len(p.s) == 0 {
		p.fail()
		return nil
	}
	var t *typ
	switch c := p.s[0]; {
	case c == 'T' || c == 'U' || c == 'V' || c == 'W':
		t = p.tagType()
	case isPointerType(p.s):
		if p.isMemberPointer() {
			t = p.memberPointerType()
		} else if !p.err {
			t = p.pointerType()
		}
	case c == 'Y':
		t = p.arrayType()
	case strings.HasPrefix(p.s, "$$A8@@"):
		p.s = p.s[6:]
		fn := p.functionType(true)
		if fn != nil {
			t = &typ{kind: tFunc, fn: fn}
		}
	case strings.HasPrefix(p.s, "$$A6"):
		p.s = p.s[4:]
		fn := p.functionType(false)
		if fn != nil {
			t = &typ{kind: tFunc, fn: fn}
		}
	case c == '?':
		p.s = p.s[1:]
		id := p.unqualifiedTypeName()
		if p.err || !p.consume("@") {
			p.fail()
			return nil
		}
		t = &typ{kind: tCustom, cust: id}
	default:
		t = p.primitiveType()
	}
	if p.err || t == nil {
		p.fail()
		return nil
	}
	t.quals |= q
	return t
}

var primitives = map[byte]string{
	'X': "void", 'D': "char", 'C': "signed char", 'E': "unsigned char", 'F': "short",
	'G': "unsigned short", 'H': "int", 'I': "unsigned int", 'J': "long",
	'K': "unsigned long", 'M': "float", 'N': "double", 'O': "long double",
}

var underPrimitives = map[byte]string{
	'N': "bool", 'J': "__int64", 'K': "unsigned __int64", 'W': "wchar_t",
	'Q': "char8_t", 'S': "char16_t", 'U': "char32_t",
}

func (p *parser) primitiveType() *typ {
	if p.consume("$$T") {
		return &typ{kind: tPrim, prim: "std::nullptr_t"}
	}
	c := p.pop()
	if s, ok := primitives[c]; ok {
		return &typ{kind: tPrim, prim: s}
	}
	if c == '_' {
		if s, ok := underPrimitives[p.pop()]; ok {
			return &typ{kind: tPrim, prim: s}
		}
	}
	p.fail()
	return nil
}

func (p *parser) tagType() *typ {
	t := &typ{kind: tTag}
	switch p.pop() {
	case 'T':
		t.tag = "union"
	case 'U':
		t.tag = "struct"
	case 'V':
		t.tag = "class"
	case 'W':
		if !p.consume("4") {
			p.fail()
			return nil
		}
		t.tag = "enum"
	}
	t.name = p.fullyQualifiedTypeName()
	if p.err || t.name == nil {
		return nil
	}
	return t
}

func (p *parser) pointerCV() (qual, ptrKind) {
	if p.consume("$$Q") {
		return 0, pkRRef
	}
	if p.consume("$$R") {
		return qVolatile, pkRRef
	}
	switch p.pop() {
	case 'A':
		return 0, pkRef
	case 'B':
		return qVolatile, pkRef
	case 'P':
		return 0, pkPointer
	case 'Q':
		return qConst, pkPointer
	case 'R':
		return qVolatile, pkPointer
	case 'S':
		return qConst | qVolatile, pkPointer
	}
	p.fail()
	return 0, pkPointer
}

func (p *parser) pointerType() *typ {
	t := &typ{kind: tPtr}
	t.quals, t.pk = p.pointerCV()
	if p.consume("6") {
		fn := p.functionType(false)
		if fn == nil {
			return nil
		}
		t.pointee = &typ{kind: tFunc, fn: fn}
		return t
	}
	t.quals |= p.ptrExtQuals()
	t.pointee = p.typ(qmMangle)
	if t.pointee == nil {
		return nil
	}
	return t
}

func (p *parser) memberPointerType() *typ {
	t := &typ{kind: tPtr}
	t.quals, t.pk = p.pointerCV()
	t.quals |= p.ptrExtQuals()
	if p.consume("8") {
		t.memberOf = p.fullyQualifiedTypeName()
		fn := p.functionType(true)
		if p.err || fn == nil {
			return nil
		}
		t.pointee = &typ{kind: tFunc, fn: fn}
		return t
	}
	pq, _ := p.qualifiers()
	t.memberOf = p.fullyQualifiedTypeName()
	t.pointee = p.typ(qmDrop)
	if p.err || t.pointee == nil {
		return nil
	}
	t.pointee.quals = pq
	return t
}

func (p *parser) arrayType() *typ {
	p.consume("Y")
	rank, neg := p.number()
	if p.err || neg || rank == 0 || rank > 64 {
		p.fail()
		return nil
	}
	t := &typ{kind: tArray}
	for i := uint64(0); i < rank; i++ {
		d, neg := p.number()
		if p.err || neg {
			p.fail()
			return nil
		}
		t.dims = append(t.dims, d)
	}
	if p.consume("$$C") {
		q, member := p.qualifiers()
		if member {
			p.fail()
			return nil
		}
		t.quals = q
	}
	t.elem = p.typ(qmDrop)
	if p.err || t.elem == nil {
		return nil
	}
	return t
}

// specialIntrinsic handles the "??_7", "??_R0", "??_C@_" ... forms. It
// returns ok=false when the name is not one of them.
func (p *parser) specialIntrinsic() (*symbol, bool) {
	table := func(prefix, name string) (*symbol, bool) {
		p.s = p.s[len(prefix):]
		q := p.nameScopeChain(&ident{kind: idSimple, text: name})
		if p.err {
			return nil, true
		}
		c := p.pop()
		if c != '6' && c != '7' {
			p.fail()
			return nil, true
		}
		quals, _ := p.qualifiers()
		sym := &symbol{kind: sTable, name: q, quals: quals}
		if !p.consume("@") {
			sym.target = p.fullyQualifiedTypeName()
		}
		return sym, true
	}
	untyped := func(prefix, name string) (*symbol, bool) {
		p.s = p.s[len(prefix):]
		q := p.nameScopeChain(&ident{kind: idSimple, text: name})
		if p.err || !p.consume("8") {
			p.fail()
			return nil, true
		}
		return &symbol{kind: sVar, name: q}, true
	}
	switch {
	case strings.HasPrefix(p.s, "?_7"):
		return table("?_7", "`vftable'")
	case strings.HasPrefix(p.s, "?_8"):
		return table("?_8", "`vbtable'")
	case strings.HasPrefix(p.s, "?_S"):
		return table("?_S", "`local vftable'")
	case strings.HasPrefix(p.s, "?_R4"):
		return table("?_R4", "`RTTI Complete Object Locator'")
	case strings.HasPrefix(p.s, "?_R0"):
		p.s = p.s[4:]
		t := p.typ(qmResult)
		if p.err || !p.consume("@8") || len(p.s) != 0 {
			p.fail()
			return nil, true
		}
		return &symbol{kind: sVar, t: t, name: &qname{parts: []*ident{{kind: idSimple, text: "`RTTI Type Descriptor'"}}}}, true
	case strings.HasPrefix(p.s, "?_R1"):
		p.s = p.s[4:]
		id := &ident{kind: idRTTIBase}
		id.rtti[0] = p.unsigned()
		id.rtti[1] = p.signed()
		id.rtti[2] = p.unsigned()
		id.rtti[3] = p.unsigned()
		if p.err {
			return nil, true
		}
		q := p.nameScopeChain(id)
		if p.err {
			return nil, true
		}
		p.consume("8")
		return &symbol{kind: sVar, name: q}, true
	case strings.HasPrefix(p.s, "?_R2"):
		return untyped("?_R2", "`RTTI Base Class Array'")
	case strings.HasPrefix(p.s, "?_R3"):
		return untyped("?_R3", "`RTTI Class Hierarchy Descriptor'")
	case strings.HasPrefix(p.s, "?_C@_"):
		p.s = p.s[5:]
		return p.stringLiteral(), true
	case strings.HasPrefix(p.s, "?_B"), strings.HasPrefix(p.s, "?__J"):
		thread := strings.HasPrefix(p.s, "?__J")
		if thread {
			p.s = p.s[4:]
		} else {
			p.s = p.s[3:]
		}
		text := "`local static guard'"
		if thread {
			text = "`local static thread guard'"
		}
		id := &ident{kind: idGuard, text: text}
		q := p.nameScopeChain(id)
		if p.err {
			return nil, true
		}
		if !p.consume("4IA") && !p.consume("5") {
			p.fail()
			return nil, true
		}
		if len(p.s) > 0 {
			id.number = p.unsigned()
		}
		return &symbol{kind: sVar, name: q}, true
	case strings.HasPrefix(p.s, "?__E"), strings.HasPrefix(p.s, "?__F"):
		exit := p.s[3] == 'F'
		p.s = p.s[4:]
		return p.initFiniStub(exit), true
	}
	return nil, false
}

func (p *parser) initFiniStub(exit bool) *symbol {
	known := p.consume("?")
	q := p.fullyQualifiedSymbolName()
	if p.err {
		return nil
	}
	inner := p.encodedSymbol(q)
	if p.err || inner == nil {
		return nil
	}
	id := &ident{kind: idDynamic, dynExit: exit, nested: inner}
	if inner.kind == sVar {
		id.isVar = true
		n := 1
		if known {
			n = 2
		}
		for i := 0; i < n; i++ {
			if !p.consume("@") {
				p.fail()
				return nil
			}
		}
		fn := p.functionEncoding()
		if p.err || fn == nil {
			return nil
		}
		return &symbol{kind: sFunc, name: &qname{parts: []*ident{id}}, fn: fn}
	}
	if known {
		p.fail()
		return nil
	}
	id.nested = &symbol{kind: sVar, name: inner.name, storage: 0}
	id.nested.t = nil
	return &symbol{kind: sFunc, name: &qname{parts: []*ident{id}}, fn: inner.fn}
}

package demangle

import (
	"strconv"
	"strings"
)

type style uint8

const (
	// styleLLVM renders as llvm-undname does.
	styleLLVM style = iota
	// styleMS renders as MSVC writes names into PDBs (and WinDbg shows
	// them): no class/struct keywords, "a,b" in argument lists, "> >",
	// spaces around pointer declarators, no calling conventions in types.
	styleMS
)

// maxOutput caps the rendered size: back-references share subtrees, so a
// short hostile name could otherwise expand exponentially.
const maxOutput = 1 << 16

type printer struct {
	style style
	b     strings.Builder
	over  bool
	depth int
}

func (p *printer) String() string { return p.b.String() }

func (p *printer) w(s string) {
	if p.over {
		return
	}
	if p.b.Len()+len(s) > maxOutput {
		p.over = true
		return
	}
	p.b.WriteString(s)
}

func (p *printer) last() byte {
	s := p.b.String()
	if len(s) == 0 {
		return 0
	}
	return s[len(s)-1]
}

func (p *printer) enter() bool {
	p.depth++
	if p.depth > 4*maxDepth {
		p.over = true
	}
	return !p.over
}

func (p *printer) leave() { p.depth-- }

// spaceIfNecessary mirrors llvm's outputSpaceIfNecessary.
func (p *printer) spaceIfNecessary() {
	c := p.last()
	if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '>' {
		p.w(" ")
	}
}

func (p *printer) quals(q qual, spaceBefore bool) {
	for _, x := range []struct {
		q qual
		s string
	}{{qConst, "const"}, {qVolatile, "volatile"}, {qRestrict, "__restrict"}} {
		if q&x.q == 0 {
			continue
		}
		if spaceBefore {
			p.w(" ")
		}
		p.w(x.s)
		spaceBefore = true
	}
}

func (p *printer) qname(q *qname) {
	if q == nil {
		return
	}
	for i, id := range q.parts {
		if i > 0 {
			p.w("::")
		}
		p.ident(id)
	}
}

func (p *printer) targs(id *ident) {
	if !id.hasArgs {
		return
	}
	p.w("<")
	for i, a := range id.args {
		if i > 0 {
			if p.style == styleMS {
				p.w(",")
			} else {
				p.w(", ")
			}
		}
		p.targ(a)
	}
	if p.style == styleMS && p.last() == '>' {
		p.w(" ")
	}
	p.w(">")
}

func (p *printer) targ(a *targ) {
	switch a.kind {
	case taType:
		p.typ(a.t)
	case taInt:
		if a.neg {
			p.w("-")
		}
		p.w(strconv.FormatUint(a.val, 10))
	case taSymbol, taOffsets:
		if len(a.offsets) > 0 {
			p.w("{")
		} else if a.pointer {
			p.w("&")
		}
		if a.sym != nil {
			if p.style == styleMS {
				p.qname(a.sym.name)
			} else {
				p.symbol(a.sym)
			}
			if len(a.offsets) > 0 {
				p.w(", ")
			}
		}
		for i, o := range a.offsets {
			if i > 0 {
				p.w(", ")
			}
			p.w(strconv.FormatInt(o, 10))
		}
		if len(a.offsets) > 0 {
			p.w("}")
		}
	}
}

func (p *printer) ident(id *ident) {
	if id == nil || !p.enter() {
		return
	}
	defer p.leave()
	switch id.kind {
	case idSimple:
		p.w(id.text)
	case idOperator:
		if p.style == styleMS && id.msText != "" {
			p.w(id.msText)
		} else {
			p.w(id.text)
		}
	case idCtor, idDtor:
		if id.kind == idDtor {
			p.w("~")
		}
		p.ident(id.class)
	case idConversion:
		p.w("operator")
		p.targs(id)
		p.w(" ")
		if id.conv != nil {
			p.typ(id.conv)
		}
		return
	case idLiteralOp:
		p.w(`operator ""`)
		p.w(id.text)
	case idLocalScope:
		p.w("`")
		if p.style == styleMS {
			p.symbolName(id.nested)
		} else {
			p.symbol(id.nested)
		}
		p.w("'::`")
		p.w(strconv.FormatInt(id.number, 10))
		p.w("'")
		return
	case idDynamic:
		if id.dynExit {
			p.w("`dynamic atexit destructor for ")
		} else {
			p.w("`dynamic initializer for ")
		}
		if id.isVar && p.style == styleLLVM {
			p.w("`")
		} else {
			p.w("'")
		}
		if p.style == styleMS {
			p.qname(id.nested.name)
		} else {
			p.symbol(id.nested)
		}
		p.w("''")
		return
	case idRTTIBase:
		p.w("`RTTI Base Class Descriptor at (")
		for i, v := range id.rtti {
			if i > 0 {
				p.w(", ")
			}
			p.w(strconv.FormatInt(v, 10))
		}
		p.w(")'")
		return
	case idGuard:
		p.w(id.text)
		if id.number > 0 {
			p.w("{" + strconv.FormatInt(id.number, 10) + "}")
		}
		return
	}
	p.targs(id)
}

func (p *printer) typ(t *typ) {
	p.typePre(t)
	p.typePost(t)
}

func (p *printer) typePre(t *typ) {
	if t == nil || !p.enter() {
		return
	}
	defer p.leave()
	switch t.kind {
	case tPrim:
		p.w(t.prim)
		p.quals(t.quals, true)
	case tTag:
		if p.style == styleLLVM {
			p.w(t.tag + " ")
		}
		p.qname(t.name)
		p.quals(t.quals, true)
	case tCustom:
		if t.cust != nil {
			p.ident(t.cust)
		} else {
			p.qname(t.name)
		}
	case tArray:
		p.typePre(t.elem)
		p.quals(t.quals, true)
	case tFunc:
		p.funcPre(t.fn, false)
	case tPtr:
		pointee := t.pointee
		if pointee.kind == tFunc {
			p.funcPre(pointee.fn, true)
		} else {
			p.typePre(pointee)
		}
		if p.style == styleMS {
			if c := p.last(); c != ' ' && c != '(' && c != 0 {
				p.w(" ")
			}
		} else {
			p.spaceIfNecessary()
		}
		if t.quals&qUnaligned != 0 {
			p.w("__unaligned ")
		}
		switch pointee.kind {
		case tArray:
			p.w("(")
		case tFunc:
			p.w("(")
			if p.style == styleLLVM {
				p.w(pointee.fn.cc)
				p.w(" ")
			}
		}
		if t.memberOf != nil {
			p.qname(t.memberOf)
			p.w("::")
		}
		switch t.pk {
		case pkPointer:
			p.w("*")
		case pkRef:
			p.w("&")
		case pkRRef:
			p.w("&&")
		}
		p.quals(t.quals, p.style == styleMS)
	}
}

func (p *printer) typePost(t *typ) {
	if t == nil || !p.enter() {
		return
	}
	defer p.leave()
	switch t.kind {
	case tArray:
		p.w("[")
		for i, d := range t.dims {
			if i > 0 {
				p.w("][")
			}
			p.w(strconv.FormatUint(d, 10))
		}
		p.w("]")
		p.typePost(t.elem)
	case tFunc:
		p.funcPost(t.fn)
	case tPtr:
		if t.pointee.kind == tArray || t.pointee.kind == tFunc {
			p.w(")")
		}
		p.typePost(t.pointee)
	}
}

func (p *printer) funcPre(fn *funcSig, noCC bool) {
	if fn.thunk {
		p.w("[thunk]: ")
	}
	switch {
	case fn.class&fcPublic != 0:
		p.w("public: ")
	case fn.class&fcProtected != 0:
		p.w("protected: ")
	case fn.class&fcPrivate != 0:
		p.w("private: ")
	}
	if fn.class&fcGlobal == 0 && fn.class&fcStatic != 0 {
		p.w("static ")
	}
	if fn.class&fcVirtual != 0 {
		p.w("virtual ")
	}
	if fn.class&fcExternC != 0 {
		p.w(`extern "C" `)
	}
	if fn.ret != nil {
		p.typePre(fn.ret)
		p.w(" ")
	}
	if !noCC {
		p.w(fn.cc)
	}
}

func (p *printer) funcPost(fn *funcSig) {
	if fn.class&fcStaticThisAdjust != 0 {
		p.w("`adjustor{" + strconv.FormatInt(fn.adjust[0], 10) + "}'")
	} else if fn.class&fcVirtualThisAdjust != 0 {
		if fn.class&fcVirtualThisAdjustEx != 0 {
			p.w("`vtordispex{" + strconv.FormatInt(fn.adjust[2], 10) + ", " + strconv.FormatInt(fn.adjust[3], 10) + ", ")
		} else {
			p.w("`vtordisp{")
		}
		p.w(strconv.FormatInt(fn.adjust[1], 10) + ", " + strconv.FormatInt(fn.adjust[0], 10) + "}'")
	}
	if fn.class&fcNoParams == 0 {
		p.w("(")
		if fn.hasParam {
			for i, t := range fn.params {
				if i > 0 {
					if p.style == styleMS {
						p.w(",")
					} else {
						p.w(", ")
					}
				}
				p.typ(t)
			}
		} else {
			p.w("void")
		}
		if fn.variadic {
			if p.last() != '(' {
				p.w(", ")
			}
			p.w("...")
		}
		p.w(")")
	}
	if fn.quals&qConst != 0 {
		p.w(" const")
	}
	if fn.quals&qVolatile != 0 {
		p.w(" volatile")
	}
	if fn.quals&qRestrict != 0 {
		p.w(" __restrict")
	}
	if fn.quals&qUnaligned != 0 {
		p.w(" __unaligned")
	}
	if fn.noexcept {
		p.w(" noexcept")
	}
	if fn.hasRef {
		if fn.refQual == pkRef {
			p.w(" &")
		} else {
			p.w(" &&")
		}
	}
	if fn.ret != nil {
		p.typePost(fn.ret)
	}
}

// symbol renders a whole symbol (llvm-undname's full output).
func (p *printer) symbol(s *symbol) {
	if s == nil || !p.enter() {
		return
	}
	defer p.leave()
	switch s.kind {
	case sRaw, sString:
		p.w(s.text)
	case sFunc:
		p.funcPre(s.fn, false)
		p.spaceIfNecessary()
		p.qname(s.name)
		p.funcPost(s.fn)
	case sVar:
		switch s.storage {
		case '0':
			p.w("private: static ")
		case '1':
			p.w("protected: static ")
		case '2':
			p.w("public: static ")
		}
		if s.t != nil {
			p.typePre(s.t)
			p.spaceIfNecessary()
		}
		p.qname(s.name)
		if s.t != nil {
			p.typePost(s.t)
		}
	case sTable:
		p.quals(s.quals, false)
		if s.quals != 0 {
			p.w(" ")
		}
		p.qname(s.name)
		if s.target != nil {
			p.w("{for `")
			p.qname(s.target)
			p.w("'}")
		}
	}
}

// symbolName renders only the qualified name of a symbol, the way a stack
// frame shows it.
func (p *printer) symbolName(s *symbol) {
	if s == nil {
		return
	}
	switch s.kind {
	case sRaw:
		p.w(s.text)
	case sString:
		p.w("`string'")
	case sVar:
		if s.name != nil && len(s.name.parts) == 1 && s.t != nil && strings.HasPrefix(s.name.parts[0].text, "`RTTI Type Descriptor") {
			p.typ(s.t)
			p.w(" ")
		}
		p.qname(s.name)
	default:
		p.qname(s.name)
	}
}

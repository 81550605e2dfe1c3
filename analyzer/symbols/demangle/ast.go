package demangle

// The parser builds a small tree (identifiers, qualified names, types,
// symbols); two printers render it: the llvm-undname spelling (MSVC) and the
// spelling MSVC itself writes into PDB procedure names and WinDbg shows
// (MSVCName).

type qual uint8

const (
	qConst qual = 1 << iota
	qVolatile
	qRestrict
	qUnaligned
	qPtr64
)

type identKind uint8

const (
	idSimple     identKind = iota // plain name, or a literal backquoted name
	idOperator                    // operator new, `vftable' ...
	idCtor                        // constructor
	idDtor                        // destructor
	idConversion                  // operator <type>
	idLiteralOp                   // operator ""_x
	idLocalScope                  // `parent'::`N'
	idDynamic                     // `dynamic initializer for 'x''
	idRTTIBase                    // `RTTI Base Class Descriptor at (...)'
	idGuard                       // `local static guard'{N}
)

type ident struct {
	kind    identKind
	text    string // name, operator text (llvm spelling)
	msText  string // operator text in MSVC spelling if different
	hasArgs bool
	args    []*targ
	class   *ident  // ctor/dtor: the class component
	conv    *typ    // conversion operator target
	nested  *symbol // idLocalScope parent symbol; idDynamic target
	number  int64   // idLocalScope index, idGuard scope index
	dynExit bool    // idDynamic: atexit destructor
	isVar   bool    // idDynamic: nested is a variable
	rtti    [4]int64
}

type qname struct {
	parts []*ident // outermost first
}

func (q *qname) last() *ident {
	if q == nil || len(q.parts) == 0 {
		return nil
	}
	return q.parts[len(q.parts)-1]
}

type targKind uint8

const (
	taType targKind = iota
	taInt
	taSymbol // &sym or sym (reference)
	taOffsets
)

type targ struct {
	kind    targKind
	t       *typ
	neg     bool
	val     uint64
	sym     *symbol
	pointer bool
	offsets []int64
}

type typKind uint8

const (
	tPrim typKind = iota
	tTag
	tPtr
	tArray
	tFunc
	tCustom
)

type ptrKind uint8

const (
	pkPointer ptrKind = iota
	pkRef
	pkRRef
)

type typ struct {
	kind  typKind
	quals qual
	// tPrim
	prim string
	// tTag / tCustom
	tag  string
	name *qname
	cust *ident
	// tPtr
	pk       ptrKind
	memberOf *qname
	pointee  *typ
	// tArray
	dims []uint64
	elem *typ
	// tFunc
	fn *funcSig
}

// Function class bits, after the encoding's access letter.
type funcClass uint16

const (
	fcPublic funcClass = 1 << iota
	fcProtected
	fcPrivate
	fcGlobal
	fcStatic
	fcVirtual
	fcFar
	fcExternC
	fcNoParams
	fcStaticThisAdjust
	fcVirtualThisAdjust
	fcVirtualThisAdjustEx
)

type funcSig struct {
	class    funcClass
	cc       string
	ret      *typ // nil: structor or no return type
	params   []*typ
	hasParam bool // false: "(void)"
	variadic bool
	quals    qual // this-qualifiers
	refQual  ptrKind
	hasRef   bool
	noexcept bool
	thunk    bool
	adjust   [4]int64 // static, vtordisp, vbptr, vboffset
}

type symKind uint8

const (
	sFunc symKind = iota
	sVar
	sTable  // vftable etc.
	sString // string literal
	sRaw    // printed as is (MD5 names)
)

type symbol struct {
	kind symKind
	name *qname
	fn   *funcSig
	// variables
	t       *typ
	storage byte // '0'..'4', 0 for synthesized
	// tables
	quals  qual
	target *qname
	// string literals, raw names
	text string
}

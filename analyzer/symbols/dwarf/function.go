package dwarf

import (
	"debug/dwarf"
	"strconv"
	"strings"
)

// Function describes a DW_TAG_subprogram for argument recovery.
type Function struct {
	Name           string
	LowPC, HighPC  uint64 // RVAs of the range containing the looked-up address
	FrameBase      []byte // DW_AT_frame_base expression, raw; see EvalLocation
	Params, Locals []Variable
	cu             dwarf.Offset // the unit DIE, for location lists
}

// Variable is a DW_TAG_formal_parameter or DW_TAG_variable of a function.
type Variable struct {
	Name     string
	TypeName string // C/C++ spelling, e.g. "unsigned long long", "Entry16 *"
	TypeSize int64  // DW_AT_byte_size of the type, -1 if unknown
	// BaseType is TypeName with typedefs resolved and const/volatile
	// dropped at every level ("SIZE_T" is "long long unsigned int",
	// "const char *" is "char *"), for decoding values.
	BaseType string
	// Scope is the RVA ranges of the innermost DW_TAG_lexical_block holding
	// the variable, where it is in scope; nil for the function's own.
	Scope [][2]uint64
	// Location is the DW_AT_location expression (DW_FORM_exprloc), empty if
	// the variable has none or has a location list (LocList is then true).
	Location []byte
	LocList  bool
	locOff   int64 // of the location list in its section; -1 when not readable
}

// Function returns the function containing rva with its parameters and
// local variables (those of nested lexical blocks included, those of inlined
// subroutines excluded).
func (f *File) Function(rva uint64) (fn *Function, ok bool) {
	defer func() {
		if recover() != nil {
			fn, ok = nil, false
		}
	}()
	fr := f.find(rva)
	if fr == nil {
		return nil, false
	}
	r := f.data.Reader()
	r.Seek(fr.die)
	e, err := r.Next()
	if err != nil || e == nil || e.Tag != dwarf.TagSubprogram {
		return nil, false
	}
	fn = &Function{Name: fr.name, LowPC: fr.low, HighPC: fr.high, cu: fr.cu}
	if fb, ok := e.Val(dwarf.AttrFrameBase).([]byte); ok {
		fn.FrameBase = fb
	}
	if !e.Children {
		return fn, true
	}
	depth := 1
	// scopes[d] are the ranges of the lexical block open at depth d+1.
	scopes := [][][2]uint64{nil}
	for depth > 0 {
		c, err := r.Next()
		if err != nil || c == nil {
			break
		}
		if c.Tag == 0 {
			depth--
			scopes = scopes[:max(depth, 1)]
			continue
		}
		scope := scopes[len(scopes)-1]
		switch c.Tag {
		case dwarf.TagFormalParameter:
			if depth == 1 {
				fn.Params = append(fn.Params, f.variable(c))
			}
		case dwarf.TagVariable:
			v := f.variable(c)
			v.Scope = scope
			fn.Locals = append(fn.Locals, v)
		case dwarf.TagLexDwarfBlock:
			if c.Children {
				scope = f.blockRanges(c, scope)
			}
		case dwarf.TagInlinedSubroutine, dwarf.TagSubprogram, dwarf.TagClassType, dwarf.TagStructType,
			dwarf.TagUnionType, dwarf.TagEnumerationType:
			// Their variables belong to another function or are not variables.
			if c.Children {
				r.SkipChildren()
			}
			continue
		}
		if c.Children {
			depth++
			scopes = append(scopes, scope)
		}
	}
	return fn, true
}

// maxScopeRanges bounds the ranges kept for one lexical block.
const maxScopeRanges = 16

// blockRanges returns a DW_TAG_lexical_block's RVA ranges, or outer when
// they cannot be read (a variable is then taken as in scope wherever the
// enclosing scope is).
func (f *File) blockRanges(e *dwarf.Entry, outer [][2]uint64) [][2]uint64 {
	rs, err := f.data.Ranges(e)
	if err != nil || len(rs) == 0 {
		return outer
	}
	var out [][2]uint64
	for _, rg := range rs {
		if rg[1] <= rg[0] || rg[0] < f.imageBase {
			continue
		}
		out = append(out, [2]uint64{rg[0] - f.imageBase, rg[1] - f.imageBase})
		if len(out) == maxScopeRanges {
			break
		}
	}
	if len(out) == 0 {
		return outer
	}
	return out
}

// variable reads a parameter or variable DIE, taking its name and type from
// DW_AT_abstract_origin (or DW_AT_specification) when it has none itself.
func (f *File) variable(e *dwarf.Entry) Variable {
	v := Variable{TypeSize: -1, locOff: -1}
	name, _ := e.Val(dwarf.AttrName).(string)
	typ, hasType := e.Val(dwarf.AttrType).(dwarf.Offset)
	origin := e
	for i := 0; i < 4 && (name == "" || !hasType); i++ {
		ref, ok := origin.Val(dwarf.AttrAbstractOrigin).(dwarf.Offset)
		if !ok {
			ref, ok = origin.Val(dwarf.AttrSpecification).(dwarf.Offset)
		}
		if !ok {
			break
		}
		if origin = f.entry(ref); origin == nil {
			break
		}
		if name == "" {
			name, _ = origin.Val(dwarf.AttrName).(string)
		}
		if !hasType {
			typ, hasType = origin.Val(dwarf.AttrType).(dwarf.Offset)
		}
	}
	v.Name = name
	if hasType {
		ti := f.typeOf(typ)
		v.TypeName, v.TypeSize, v.BaseType = ti.name, ti.size, ti.base
	}
	if fld := e.AttrField(dwarf.AttrLocation); fld != nil {
		switch fld.Class {
		case dwarf.ClassExprLoc, dwarf.ClassBlock:
			v.Location, _ = fld.Val.([]byte)
		case dwarf.ClassLocListPtr:
			v.LocList = true
			v.locOff, _ = fld.Val.(int64)
		case dwarf.ClassLocList: // DW_FORM_loclistx: an index, not read
			v.LocList = true
		}
	}
	return v
}

// entry reads the DIE at off.
func (f *File) entry(off dwarf.Offset) *dwarf.Entry {
	r := f.data.Reader()
	r.Seek(off)
	e, err := r.Next()
	if err != nil {
		return nil
	}
	return e
}

type typeInfo struct {
	name string
	size int64
	base string // typedefs resolved, qualifiers dropped
}

// typeOf names a type DIE the way C and C++ spell it. debug/dwarf's Type
// would print Go syntax ("*T") and does not know reference types.
func (f *File) typeOf(off dwarf.Offset) typeInfo {
	f.mu.Lock()
	ti, ok := f.types[off]
	f.mu.Unlock()
	if ok {
		return ti
	}
	ti = f.describeType(off, 0)
	f.mu.Lock()
	f.types[off] = ti
	f.mu.Unlock()
	return ti
}

func (f *File) describeType(off dwarf.Offset, depth int) typeInfo {
	if depth > 16 {
		return typeInfo{name: "?", size: -1}
	}
	e := f.entry(off)
	if e == nil {
		return typeInfo{name: "?", size: -1}
	}
	size := int64(-1)
	if n, ok := e.Val(dwarf.AttrByteSize).(int64); ok {
		size = n
	}
	name, _ := e.Val(dwarf.AttrName).(string)
	inner := func() typeInfo {
		if t, ok := e.Val(dwarf.AttrType).(dwarf.Offset); ok {
			return f.describeType(t, depth+1)
		}
		return typeInfo{name: "void", size: -1, base: "void"}
	}
	switch e.Tag {
	case dwarf.TagPointerType, dwarf.TagReferenceType, dwarf.TagRvalueReferenceType, dwarf.TagPtrToMemberType:
		if size < 0 {
			size = int64(f.addrSize)
		}
		suffix := map[dwarf.Tag]string{dwarf.TagPointerType: " *", dwarf.TagReferenceType: " &",
			dwarf.TagRvalueReferenceType: " &&", dwarf.TagPtrToMemberType: " ::*"}[e.Tag]
		in := inner()
		if strings.HasSuffix(in.name, "*") || strings.HasSuffix(in.name, "&") {
			return typeInfo{name: in.name + strings.TrimPrefix(suffix, " "), size: size, base: in.base + strings.TrimPrefix(suffix, " ")}
		}
		return typeInfo{name: in.name + suffix, size: size, base: in.base + suffix}
	case dwarf.TagConstType, dwarf.TagVolatileType, dwarf.TagRestrictType, dwarf.TagAtomicType:
		q := map[dwarf.Tag]string{dwarf.TagConstType: "const", dwarf.TagVolatileType: "volatile",
			dwarf.TagRestrictType: "restrict", dwarf.TagAtomicType: "_Atomic"}[e.Tag]
		in := inner()
		if strings.HasSuffix(in.name, "*") || strings.HasSuffix(in.name, "&") {
			return typeInfo{name: in.name + " " + q, size: in.size, base: in.base}
		}
		return typeInfo{name: q + " " + in.name, size: in.size, base: in.base}
	case dwarf.TagTypedef:
		in := inner()
		if name == "" {
			name = in.name
		}
		return typeInfo{name: name, size: in.size, base: in.base}
	case dwarf.TagArrayType:
		in := inner()
		dims := ""
		total := in.size
		r := f.data.Reader()
		r.Seek(off)
		r.Next()
		if e.Children {
			for {
				c, err := r.Next()
				if err != nil || c == nil || c.Tag == 0 {
					break
				}
				if c.Tag != dwarf.TagSubrangeType {
					if c.Children {
						r.SkipChildren()
					}
					continue
				}
				n := int64(-1)
				if cnt, ok := c.Val(dwarf.AttrCount).(int64); ok {
					n = cnt
				} else if ub, ok := c.Val(dwarf.AttrUpperBound).(int64); ok {
					n = ub + 1
				}
				if n >= 0 {
					dims += "[" + strconv.FormatInt(n, 10) + "]"
					if total >= 0 {
						total *= n
					}
				} else {
					dims += "[]"
					total = -1
				}
				if c.Children {
					r.SkipChildren()
				}
			}
		}
		if size < 0 {
			size = total
		}
		return typeInfo{name: in.name + dims, size: size, base: in.base + dims}
	case dwarf.TagSubroutineType:
		return typeInfo{name: "function", size: size, base: "function"}
	case dwarf.TagUnspecifiedType:
		if name == "" {
			name = "void"
		}
		return typeInfo{name: name, size: size, base: name}
	}
	if name == "" {
		name = "?"
		switch e.Tag {
		case dwarf.TagStructType:
			name = "(anonymous struct)"
		case dwarf.TagUnionType:
			name = "(anonymous union)"
		case dwarf.TagClassType:
			name = "(anonymous class)"
		case dwarf.TagEnumerationType:
			name = "(anonymous enum)"
		}
	}
	if e.Tag == dwarf.TagEnumerationType {
		return typeInfo{name: name, size: size, base: "enum " + name}
	}
	return typeInfo{name: name, size: size, base: name}
}

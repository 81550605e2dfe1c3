package pdb

import (
	"strconv"
	"sync"
)

// typeTable indexes a TPI or IPI stream: TpiStreamHeader (HeaderSize,
// TypeIndexBegin, TypeIndexEnd, TypeRecordBytes), then type records.
type typeTable struct {
	b       []byte
	begin   uint32
	offs    []uint32
	udtOnce sync.Once
	udt     map[string]uint32 // complete UDT by name, built on first need
}

// typeWork bounds the work of rendering one type: type graphs in corrupt
// files can be cyclic or explode combinatorially (argument lists of
// argument lists).
type typeWork struct{ budget int }

// Type record kinds (LEAF_ENUM_e).
const (
	lfModifier   = 0x1001
	lfPointer    = 0x1002
	lfProcedure  = 0x1008
	lfMFunction  = 0x1009
	lfArgList    = 0x1201
	lfBitfield   = 0x1205
	lfArray      = 0x1503
	lfClass      = 0x1504
	lfStructure  = 0x1505
	lfUnion      = 0x1506
	lfEnum       = 0x1507
	lfInterface  = 0x1519
	lfFuncID     = 0x1601
	lfMFuncID    = 0x1602
	propFwdRef   = 0x80
	maxTypeDepth = 16
	maxTypeWork  = 512
)

// loadTypes reads and indexes a type stream.
func (f *File) loadTypes(stream int) *typeTable {
	t := &typeTable{}
	b, err := f.msf.stream(stream)
	if err != nil || len(b) < 20 {
		return t
	}
	r := le{b: b}
	hdr := r.u32(4)
	t.begin = r.u32(8)
	end := r.u32(12)
	if hdr < 20 || uint64(hdr) > uint64(len(b)) || end < t.begin || uint64(end-t.begin) > uint64(len(b))/4 {
		return t
	}
	t.b = b
	t.offs = make([]uint32, 0, end-t.begin)
	for off := int(hdr); off+4 <= len(b) && uint32(len(t.offs)) < end-t.begin; {
		n := int(r.u16(off))
		if n < 2 || off+2+n > len(b) {
			break
		}
		t.offs = append(t.offs, uint32(off))
		off += 2 + n
	}
	return t
}

func (f *File) tpi() *typeTable {
	f.typesOnce.Do(func() { f.types = f.loadTypes(streamTPI) })
	return f.types
}

func (f *File) ipi() *typeTable {
	f.idsOnce.Do(func() { f.ids = f.loadTypes(streamIPI) })
	return f.ids
}

// rec returns the kind and data (after the kind field) of type ti.
func (t *typeTable) rec(ti uint32) (uint16, le, bool) {
	if ti < t.begin || ti-t.begin >= uint32(len(t.offs)) {
		return 0, le{}, false
	}
	off := int(t.offs[ti-t.begin])
	r := le{b: t.b}
	n := int(r.u16(off))
	return r.u16(off + 2), le{b: t.b[off+4 : off+2+n]}, true
}

// numeric reads a numeric leaf at off: a value below LF_NUMERIC (0x8000)
// or a typed value that follows its kind.
func numeric(r *le, off int) (uint64, int) {
	v := r.u16(off)
	if v < 0x8000 {
		return uint64(v), off + 2
	}
	switch v {
	case 0x8000: // LF_CHAR
		return uint64(int8(r.u8(off + 2))), off + 3
	case 0x8001: // LF_SHORT
		return uint64(int16(r.u16(off + 2))), off + 4
	case 0x8002: // LF_USHORT
		return uint64(r.u16(off + 2)), off + 4
	case 0x8003: // LF_LONG
		return uint64(int32(r.u32(off + 2))), off + 6
	case 0x8004: // LF_ULONG
		return uint64(r.u32(off + 2)), off + 6
	case 0x8009, 0x800a: // LF_QUADWORD, LF_UQUADWORD
		return uint64(r.u32(off+2)) | uint64(r.u32(off+6))<<32, off + 10
	}
	r.bad = true
	return 0, off + 2
}

type simpleType struct {
	name string
	size uint32
}

var simpleTypes = map[uint32]simpleType{
	0x03: {"void", 0}, 0x08: {"HRESULT", 4},
	0x10: {"signed char", 1}, 0x20: {"unsigned char", 1}, 0x70: {"char", 1},
	0x71: {"wchar_t", 2}, 0x7a: {"char16_t", 2}, 0x7b: {"char32_t", 4}, 0x7c: {"char8_t", 1},
	0x68: {"__int8", 1}, 0x69: {"unsigned __int8", 1},
	0x11: {"short", 2}, 0x21: {"unsigned short", 2}, 0x72: {"short", 2}, 0x73: {"unsigned short", 2},
	0x12: {"long", 4}, 0x22: {"unsigned long", 4}, 0x74: {"int", 4}, 0x75: {"unsigned int", 4},
	0x13: {"__int64", 8}, 0x23: {"unsigned __int64", 8}, 0x76: {"__int64", 8}, 0x77: {"unsigned __int64", 8},
	0x14: {"__int128", 16}, 0x24: {"unsigned __int128", 16}, 0x78: {"__int128", 16}, 0x79: {"unsigned __int128", 16},
	0x40: {"float", 4}, 0x41: {"double", 8}, 0x42: {"long double", 10}, 0x43: {"__float128", 16}, 0x46: {"_Float16", 2},
	0x30: {"bool", 1}, 0x31: {"bool16", 2}, 0x32: {"bool32", 4}, 0x33: {"bool64", 8},
}

// typeInfo returns a display name and the byte size of type ti, "" / 0
// where it cannot tell.
func (f *File) typeInfo(ti uint32, depth int, w *typeWork) (string, uint32) {
	w.budget--
	if depth > maxTypeDepth || w.budget < 0 {
		return "", 0
	}
	if ti < 0x1000 {
		st, ok := simpleTypes[ti&0xff]
		mode := (ti >> 8) & 0xf
		if !ok {
			return "", 0
		}
		switch mode {
		case 0:
			return st.name, st.size
		case 1:
			return st.name + " *", 2
		case 2, 3, 4, 5:
			return st.name + " *", 4
		case 6:
			return st.name + " *", 8
		}
		return "", 0
	}
	t := f.tpi()
	kind, r, ok := t.rec(ti)
	if !ok {
		return "", 0
	}
	switch kind {
	case lfModifier:
		name, size := f.typeInfo(r.u32(0), depth+1, w)
		mods := r.u16(4)
		if name != "" {
			if mods&1 != 0 {
				name += " const"
			}
			if mods&2 != 0 {
				name += " volatile"
			}
		}
		return name, size
	case lfPointer:
		attrs := r.u32(4)
		size := (attrs >> 13) & 0x3f
		mode := (attrs >> 5) & 7
		ref := r.u32(0)
		if k, fr, ok := f.tpi().rec(ref); ok && mode == 0 && (k == lfProcedure || k == lfMFunction) {
			if k == lfProcedure {
				return f.funcTypeName(fr.u32(0), fr.u32(8), "(*)", depth, w), size
			}
			return f.funcTypeName(fr.u32(0), fr.u32(16), "(*)", depth, w), size
		}
		name, _ := f.typeInfo(ref, depth+1, w)
		if name == "" {
			return "", size
		}
		switch mode {
		case 1:
			return name + " &", size
		case 4:
			return name + " &&", size
		case 2, 3:
			return "", size
		}
		return name + " *", size
	case lfClass, lfStructure, lfInterface:
		prop := r.u16(2)
		size, next := numeric(&r, 16)
		name := r.cstr(next)
		if prop&propFwdRef != 0 {
			size = uint64(f.udtSize(name, depth, w))
		}
		return sanitizeName(name), uint32(size)
	case lfUnion:
		prop := r.u16(2)
		size, next := numeric(&r, 8)
		name := r.cstr(next)
		if prop&propFwdRef != 0 {
			size = uint64(f.udtSize(name, depth, w))
		}
		return sanitizeName(name), uint32(size)
	case lfEnum:
		_, size := f.typeInfo(r.u32(4), depth+1, w)
		return sanitizeName(r.cstr(12)), size
	case lfArray:
		elem, esize := f.typeInfo(r.u32(0), depth+1, w)
		size, _ := numeric(&r, 8)
		if elem == "" {
			return "", uint32(size)
		}
		if esize > 0 {
			return elem + "[" + strconv.FormatUint(size/uint64(esize), 10) + "]", uint32(size)
		}
		return elem + "[]", uint32(size)
	case lfBitfield:
		return f.typeInfo(r.u32(0), depth+1, w)
	case lfProcedure:
		return f.funcTypeName(r.u32(0), r.u32(8), "", depth, w), 0
	case lfMFunction:
		return f.funcTypeName(r.u32(0), r.u32(16), "", depth, w), 0
	}
	return "", 0
}

func (f *File) funcTypeName(ret, argList uint32, declarator string, depth int, w *typeWork) string {
	rn, _ := f.typeInfo(ret, depth+1, w)
	s := rn + " " + declarator + "("
	kind, r, ok := f.tpi().rec(argList)
	if ok && kind == lfArgList {
		n := int(r.u32(0))
		for i := 0; i < n && !r.bad && i < 64; i++ {
			an, _ := f.typeInfo(r.u32(4+4*i), depth+1, w)
			if r.bad {
				break
			}
			if i > 0 {
				s += ","
			}
			s += an
		}
	}
	return s + ")"
}

// udtSize resolves a forward reference to the size of the complete type of
// the same name.
func (f *File) udtSize(name string, depth int, w *typeWork) uint32 {
	t := f.tpi()
	t.udtOnce.Do(func() {
		t.udt = map[string]uint32{}
		for i := range t.offs {
			ti := t.begin + uint32(i)
			kind, r, _ := t.rec(ti)
			var nameOff int
			switch kind {
			case lfClass, lfStructure, lfInterface:
				_, nameOff = numeric(&r, 16)
			case lfUnion:
				_, nameOff = numeric(&r, 8)
			default:
				continue
			}
			if r.u16(2)&propFwdRef != 0 || r.bad {
				continue
			}
			t.udt[r.cstr(nameOff)] = ti
		}
	})
	ti, ok := t.udt[name]
	if !ok {
		return 0
	}
	_, size := f.typeInfo(ti, depth+1, w)
	return size
}

// paramCount returns the number of parameters of a procedure's type,
// counting an implicit this; ok=false when the type is unknown. For the
// _ID procedure kinds the type index points into the IPI stream.
func (f *File) paramCount(ti uint32, isID bool) (int, bool) {
	if isID {
		kind, r, ok := f.ipi().rec(ti)
		if !ok {
			return 0, false
		}
		switch kind {
		case lfFuncID, lfMFuncID:
			ti = r.u32(4)
		default:
			return 0, false
		}
	}
	kind, r, ok := f.tpi().rec(ti)
	if !ok {
		return 0, false
	}
	switch kind {
	case lfProcedure:
		return int(r.u16(6)), !r.bad
	case lfMFunction:
		n := int(r.u16(14))
		if r.u32(8) != 0 { // this type
			n++
		}
		return n, !r.bad
	}
	return 0, false
}

package dwarf

import (
	"debug/dwarf"
	"debug/pe"
	"encoding/binary"
)

// Location lists (DW_AT_location of class loclistptr): where optimized code
// keeps a variable changes with the pc. DWARF 4 lists are in .debug_loc,
// DWARF 5 lists in .debug_loclists; GCC 12 writes DWARF 5 for MinGW's CRT
// even when the program itself is built with -gdwarf-4, so one image can
// have both.

// maxLocSection bounds the location-list sections kept in memory.
const maxLocSection = 64 << 20

// maxLocEntries bounds the entries walked in one list.
const maxLocEntries = 4096

// locSections are the raw location-list sections and the DWARF version of
// each unit, by the offset of its unit DIE.
type locSections struct {
	loc, loclists []byte
	version       map[dwarf.Offset]int
}

// readLocSections keeps .debug_loc and .debug_loclists (uncompressed only)
// and reads each unit header's version from .debug_info.
func readLocSections(pf *pe.File) *locSections {
	ls := &locSections{version: map[dwarf.Offset]int{}}
	for _, s := range pf.Sections {
		if s.Size > maxLocSection {
			continue
		}
		switch s.Name {
		case ".debug_loc":
			ls.loc, _ = s.Data()
		case ".debug_loclists":
			ls.loclists, _ = s.Data()
		case ".debug_info":
			// unit_length (4), version (2); the unit DIE follows the
			// header: 11 bytes in DWARF 2-4, 12 in DWARF 5.
			var hdr [6]byte
			for off := uint64(0); off+11 <= uint64(s.Size) && len(ls.version) < 1<<20; {
				if _, err := s.ReadAt(hdr[:], int64(off)); err != nil {
					break
				}
				n := uint64(binary.LittleEndian.Uint32(hdr[:]))
				v := int(binary.LittleEndian.Uint16(hdr[4:]))
				if n >= 0xfffffff0 || n < 7 { // 64-bit DWARF or reserved: stop
					break
				}
				die := off + 11
				if v >= 5 {
					die = off + 12
				}
				ls.version[dwarf.Offset(die)] = v
				off += 4 + n
			}
		}
	}
	return ls
}

// LocEntry is one entry of a location list: the expression that holds over
// [Low, High) (RVAs).
type LocEntry struct {
	Low, High uint64
	Expr      []byte
}

// LocList decodes the location list at off for a unit of the given
// version, whose base address (DW_AT_low_pc of the unit, a VA) is base.
// Addresses are returned as RVAs of an image at imageBase. ok is false for
// what it does not read: DW_LLE_*x entries (which index .debug_addr), lists
// outside the section, malformed entries.
func LocList(sec []byte, version int, off uint64, base uint64, addrSize int, imageBase uint64) (out []LocEntry, ok bool) {
	if off >= uint64(len(sec)) || (addrSize != 4 && addrSize != 8) {
		return nil, false
	}
	b := sec[off:]
	p := 0
	addr := func() (uint64, bool) {
		if p+addrSize > len(b) {
			return 0, false
		}
		var v uint64
		if addrSize == 8 {
			v = binary.LittleEndian.Uint64(b[p:])
		} else {
			v = uint64(binary.LittleEndian.Uint32(b[p:]))
		}
		p += addrSize
		return v, true
	}
	uleb := func() (uint64, bool) {
		v, n := uleb128(b[p:])
		p += n
		return v, n > 0
	}
	expr := func(n uint64) ([]byte, bool) {
		if n > uint64(len(b)-p) {
			return nil, false
		}
		e := b[p : p+int(n)]
		p += int(n)
		return e, true
	}
	add := func(lo, hi uint64, e []byte) {
		if hi > lo && lo >= imageBase {
			out = append(out, LocEntry{Low: lo - imageBase, High: hi - imageBase, Expr: e})
		}
	}
	maxAddr := uint64(1)<<(8*uint(addrSize)) - 1
	if addrSize == 8 {
		maxAddr = ^uint64(0)
	}
	for range maxLocEntries {
		if version < 5 {
			lo, ok1 := addr()
			hi, ok2 := addr()
			if !ok1 || !ok2 {
				return nil, false
			}
			switch {
			case lo == 0 && hi == 0:
				return out, true
			case lo == maxAddr:
				base = hi
				continue
			}
			if p+2 > len(b) {
				return nil, false
			}
			n := uint64(binary.LittleEndian.Uint16(b[p:]))
			p += 2
			e, ok := expr(n)
			if !ok {
				return nil, false
			}
			add(base+lo, base+hi, e)
			continue
		}
		if p >= len(b) {
			return nil, false
		}
		kind := b[p]
		p++
		switch kind {
		case 0x00: // DW_LLE_end_of_list
			return out, true
		case 0x04: // DW_LLE_offset_pair
			lo, ok1 := uleb()
			hi, ok2 := uleb()
			n, ok3 := uleb()
			e, ok4 := expr(n)
			if !ok1 || !ok2 || !ok3 || !ok4 {
				return nil, false
			}
			add(base+lo, base+hi, e)
		case 0x05: // DW_LLE_default_location
			n, ok1 := uleb()
			if _, ok2 := expr(n); !ok1 || !ok2 {
				return nil, false
			}
		case 0x06: // DW_LLE_base_address
			v, ok := addr()
			if !ok {
				return nil, false
			}
			base = v
		case 0x07: // DW_LLE_start_end
			lo, ok1 := addr()
			hi, ok2 := addr()
			n, ok3 := uleb()
			e, ok4 := expr(n)
			if !ok1 || !ok2 || !ok3 || !ok4 {
				return nil, false
			}
			add(lo, hi, e)
		case 0x08: // DW_LLE_start_length
			lo, ok1 := addr()
			l, ok2 := uleb()
			n, ok3 := uleb()
			e, ok4 := expr(n)
			if !ok1 || !ok2 || !ok3 || !ok4 {
				return nil, false
			}
			add(lo, lo+l, e)
		default: // DW_LLE_base_addressx, startx_endx, startx_length: .debug_addr
			return nil, false
		}
	}
	return nil, false
}

// LocationAt returns the expression of v's location list that holds at
// rva. live is false when the list was read and no entry covers rva; ok is
// false when the list could not be read.
func (f *File) LocationAt(fn *Function, v Variable, rva uint64) (expr []byte, live, ok bool) {
	defer func() {
		if recover() != nil {
			expr, live, ok = nil, false, false
		}
	}()
	if !v.LocList || f.locs == nil || v.locOff < 0 {
		return nil, false, false
	}
	version, known := f.locs.version[fn.cu]
	if !known {
		return nil, false, false
	}
	sec := f.locs.loc
	if version >= 5 {
		sec = f.locs.loclists
	}
	var base uint64
	if cu := f.entry(fn.cu); cu != nil {
		if lo, ok := cu.Val(dwarf.AttrLowpc).(uint64); ok {
			base = lo
		}
	}
	list, ok := LocList(sec, version, uint64(v.locOff), base, f.addrSize, f.imageBase)
	if !ok {
		return nil, false, false
	}
	for _, e := range list {
		if rva >= e.Low && rva < e.High {
			return e.Expr, true, true
		}
	}
	return nil, false, true
}

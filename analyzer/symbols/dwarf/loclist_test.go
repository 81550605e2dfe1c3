package dwarf

import (
	"bytes"
	"encoding/binary"
	"testing"
)

func TestLocList(t *testing.T) {
	const image = 0x140000000
	le64 := func(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	// DWARF 4 (.debug_loc): pairs relative to the unit's base, a base
	// address selection entry, then the end.
	v4 := cat(le64(0x10), le64(0x20), []byte{1, 0, opReg0},
		le64(^uint64(0)), le64(image+0x2000),
		le64(0x4), le64(0x8), []byte{2, 0, opLit0, opStackValue},
		le64(0), le64(0))
	// DWARF 5 (.debug_loclists): offset_pair on the unit base, base_address,
	// offset_pair, start_length, start_end, default_location, end.
	v5 := cat([]byte{0x04, 0x10, 0x20, 1, opReg0 + 6},
		[]byte{0x06}, le64(image+0x3000),
		[]byte{0x04, 0x0, 0x4, 2, opLit0 + 1, opStackValue},
		[]byte{0x08}, le64(image+0x5000), []byte{0x10, 1, opReg0 + 3},
		[]byte{0x07}, le64(image+0x6000), le64(image+0x6008), []byte{2, opFbreg, 8},
		[]byte{0x05, 1, opReg0},
		[]byte{0x00})
	for _, tt := range []struct {
		name    string
		sec     []byte
		version int
		want    []LocEntry
		ok      bool
	}{
		{"dwarf 4", v4, 4, []LocEntry{{0x1010, 0x1020, []byte{opReg0}}, {0x2004, 0x2008, []byte{opLit0, opStackValue}}}, true},
		{"dwarf 5", v5, 5, []LocEntry{{0x1010, 0x1020, []byte{opReg0 + 6}}, {0x3000, 0x3004, []byte{opLit0 + 1, opStackValue}},
			{0x5000, 0x5010, []byte{opReg0 + 3}}, {0x6000, 0x6008, []byte{opFbreg, 8}}}, true},
		{"dwarf 5 startx_length", []byte{0x03, 0, 4, 1, opReg0, 0}, 5, nil, false},
		{"dwarf 4 truncated", v4[:40], 4, nil, false},
		{"dwarf 5 truncated", v5[:len(v5)-1], 5, nil, false},
		{"dwarf 5 expression past the end", []byte{0x04, 0, 4, 9, opReg0}, 5, nil, false},
		{"empty", nil, 5, nil, false},
	} {
		got, ok := LocList(tt.sec, tt.version, 0, image+0x1000, 8, image)
		if ok != tt.ok || len(got) != len(tt.want) {
			t.Errorf("%s: %+v, %v; want %+v, %v", tt.name, got, ok, tt.want, tt.ok)
			continue
		}
		for i := range got {
			if got[i].Low != tt.want[i].Low || got[i].High != tt.want[i].High || !bytes.Equal(got[i].Expr, tt.want[i].Expr) {
				t.Errorf("%s: entry %d = %+v, want %+v", tt.name, i, got[i], tt.want[i])
			}
		}
	}
}

// TestLocationAt: in MinGW's CRT (DWARF 5 location lists beside the
// program's DWARF 4), mainCRTStartup's ret is 0xff (DW_OP_const1u 0xff,
// DW_OP_stack_value) over [0x1400014d4, 0x1400014e6), then in rax, as
// llvm-dwarfdump lists it.
func TestLocationAt(t *testing.T) {
	f := openExe(t, "heap_nomem_x64_mingw.exe")
	fn, ok := f.Function(0x1400014e5 - f.ImageBase())
	if !ok || fn.Name != "mainCRTStartup" {
		t.Fatalf("Function = %+v", fn)
	}
	var ret *Variable
	for i := range fn.Locals {
		if fn.Locals[i].Name == "ret" {
			ret = &fn.Locals[i]
		}
	}
	if ret == nil || !ret.LocList {
		t.Fatalf("ret = %+v", ret)
	}
	for _, tt := range []struct {
		va   uint64
		want []byte
		live bool
	}{
		{0x1400014d4, []byte{opConst1u, 0xff, opStackValue}, true},
		{0x1400014e5, []byte{opConst1u, 0xff, opStackValue}, true},
		{0x1400014e6, []byte{opReg0}, true},
		{0x1400014ed, nil, false},
		{0x1400014d3, nil, false},
	} {
		expr, live, ok := f.LocationAt(fn, *ret, tt.va-f.ImageBase())
		if !ok || live != tt.live || !bytes.Equal(expr, tt.want) {
			t.Errorf("LocationAt(%#x) = % x, %v, %v; want % x, %v", tt.va, expr, live, ok, tt.want, tt.live)
		}
	}
}

// FuzzLocList: any bytes decode without panic into entries inside the
// section.
func FuzzLocList(f *testing.F) {
	f.Add([]byte{0x04, 0x10, 0x20, 1, opReg0, 0x00}, 5)
	f.Add(append(make([]byte, 16), 1, 0, opReg0), 4)
	f.Add([]byte{0x08, 0, 0, 0, 0x40, 1, 0, 0, 0, 0x10, 1, opReg0, 0}, 5)
	f.Fuzz(func(t *testing.T, sec []byte, version int) {
		list, ok := LocList(sec, version, 0, 0x140001000, 8, 0x140000000)
		if !ok && list != nil {
			t.Fatal("entries without ok")
		}
		if len(list) > maxLocEntries {
			t.Fatalf("%d entries", len(list))
		}
		for _, e := range list {
			if e.High <= e.Low || len(e.Expr) > len(sec) {
				t.Fatalf("entry %+v", e)
			}
		}
	})
}

package dwarf

import (
	"encoding/binary"
	"errors"
	"testing"
)

func TestEvalLocation(t *testing.T) {
	regs := map[int]uint64{RegRBP: 0x1000, RegRSP: 0x800, RegRAX: 7, 20: 0x3000}
	mem := map[uint64]uint64{0x1010: 0x5000, 0x2000: 0xabcd}
	getReg := func(n int) (uint64, bool) { v, ok := regs[n]; return v, ok }
	read := func(a uint64, size int) ([]byte, bool) {
		v, ok := mem[a]
		b := make([]byte, 8)
		binary.LittleEndian.PutUint64(b, v)
		return b[:size], ok
	}
	const fb = 0x2000
	tests := []struct {
		name string
		expr []byte
		addr uint64
		reg  int
		err  error
	}{
		{"fbreg +8", []byte{opFbreg, 8}, fb + 8, -1, nil},
		{"fbreg -24", []byte{opFbreg, 0x68}, fb - 24, -1, nil},
		{"fbreg -88 (2-byte sleb)", []byte{opFbreg, 0xa8, 0x7f}, fb - 88, -1, nil},
		{"call_frame_cfa", []byte{opCallFrameCFA}, fb, -1, nil},
		{"breg6 rbp+16", []byte{opBreg0 + RegRBP, 16}, 0x1010, -1, nil},
		{"breg7 rsp-8", []byte{opBreg0 + RegRSP, 0x78}, 0x7f8, -1, nil},
		{"bregx 20 +1", []byte{opBregx, 20, 1}, 0x3001, -1, nil},
		{"reg0", []byte{opReg0}, 0, RegRAX, nil},
		{"reg3", []byte{opReg0 + RegRBX}, 0, RegRBX, nil},
		{"regx 17", []byte{opRegx, 17}, 0, 17, nil},
		{"addr", []byte{opAddr, 0x10, 0x20, 0x00, 0x40, 0x01, 0, 0, 0}, 0x140002010, -1, nil},
		{"breg deref plus_uconst", []byte{opBreg0 + RegRBP, 16, opDeref, opPlusUconst, 4}, 0x5004, -1, nil},
		{"deref_size 1", []byte{opFbreg, 0, opDerefSize, 1}, 0xcd, -1, nil},
		{"lit and plus", []byte{opLit0 + 5, opLit0 + 3, opPlus}, 8, -1, nil},
		{"const1s minus", []byte{opConst1u, 10, opConst1s, 0xfe, opMinus}, 12, -1, nil},
		{"constu consts", []byte{opConstu, 0x80, 0x01, opConsts, 0x7f, opPlus}, 127, -1, nil},
		{"piece stops", []byte{opFbreg, 8, opPiece, 8, opFbreg, 16, opPiece, 8}, fb + 8, -1, nil},
		{"empty", nil, 0, -1, ErrBadExpr},
		{"underflow", []byte{opPlus}, 0, -1, ErrBadExpr},
		{"truncated sleb", []byte{opFbreg, 0x80}, 0, -1, ErrBadExpr},
		{"truncated addr", []byte{opAddr, 1, 2}, 0, -1, ErrBadExpr},
		{"unknown register", []byte{opBreg0 + 12, 0}, 0, -1, ErrNoRegister},
		{"unreadable memory", []byte{opLit0, opDeref}, 0, -1, ErrNoMemory},
		{"stack_value unsupported", []byte{opLit0, 0x9f}, 0, -1, ErrUnsupportedOp},
		{"entry_value unsupported", []byte{0xa3, 1, 0x55}, 0, -1, ErrUnsupportedOp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, reg, err := EvalLocation(tt.expr, fb, getReg, read)
			if !errors.Is(err, tt.err) || (err == nil && (addr != tt.addr || reg != tt.reg)) {
				t.Errorf("EvalLocation(%x) = %#x, %d, %v; want %#x, %d, %v", tt.expr, addr, reg, err, tt.addr, tt.reg, tt.err)
			}
		})
	}
	// 32-bit addresses wrap.
	if a, _, err := EvalLocationAddr([]byte{opAddr, 0xf0, 0xff, 0xff, 0xff, opPlusUconst, 0x20}, 4, 0, nil, nil); err != nil || a != 0x10 {
		t.Errorf("32-bit wrap = %#x, %v", a, err)
	}
}

func TestSimpleLocation(t *testing.T) {
	for _, tt := range []struct {
		name string
		expr []byte
		want Simple
		ok   bool
	}{
		{"fbreg +8", []byte{opFbreg, 8}, Simple{Op: "fbreg", Offset: 8}, true},
		{"fbreg -1056", []byte{opFbreg, 0xe0, 0x77}, Simple{Op: "fbreg", Offset: -1056}, true},
		{"breg6 +16", []byte{opBreg0 + 6, 16}, Simple{Op: "breg", Reg: 6, Offset: 16}, true},
		{"bregx 7 -8", []byte{opBregx, 7, 0x78}, Simple{Op: "breg", Reg: 7, Offset: -8}, true},
		{"reg2", []byte{opReg0 + 2}, Simple{Op: "reg", Reg: 2}, true},
		{"regx 17", []byte{opRegx, 17}, Simple{Op: "reg", Reg: 17}, true},
		{"call_frame_cfa", []byte{opCallFrameCFA}, Simple{Op: "cfa"}, true},
		{"addr", []byte{opAddr, 0x10, 0x20, 0, 0x40, 1, 0, 0, 0}, Simple{Op: "addr", Addr: 0x140002010}, true},
		{"empty", nil, Simple{}, false},
		{"two operations", []byte{opBreg0 + 6, 16, opDeref}, Simple{}, false},
		{"truncated sleb", []byte{opFbreg, 0x80}, Simple{}, false},
		{"truncated addr", []byte{opAddr, 1, 2}, Simple{}, false},
		{"huge regx", []byte{opRegx, 0xff, 0xff, 0xff, 0x7f}, Simple{}, false},
		{"deref alone", []byte{opDeref}, Simple{}, false},
	} {
		got, ok := SimpleLocation(tt.expr, 8)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s: SimpleLocation(% x) = %+v, %v; want %+v, %v", tt.name, tt.expr, got, ok, tt.want, tt.ok)
		}
	}
}

// FuzzSimpleLocation: SimpleLocation never panics and agrees with
// EvalLocationAddr on the address of what it decodes.
func FuzzSimpleLocation(f *testing.F) {
	for _, e := range [][]byte{{opFbreg, 8}, {opBreg0 + 6, 0x70}, {opRegx, 3}, {opAddr, 1, 2, 3, 4, 5, 6, 7, 8}, {opBregx, 1, 2}} {
		f.Add(e)
	}
	f.Fuzz(func(t *testing.T, expr []byte) {
		s, ok := SimpleLocation(expr, 8)
		if !ok {
			return
		}
		const fb, rv = 0x10000, 0x5000
		addr, reg, err := EvalLocationAddr(expr, 8, fb, func(int) (uint64, bool) { return rv, true }, nil)
		switch s.Op {
		case "reg":
			if err != nil || reg != s.Reg {
				t.Fatalf("%+v: Eval gave reg %d, %v", s, reg, err)
			}
		case "breg":
			if err != nil || addr != rv+uint64(s.Offset) {
				t.Fatalf("%+v: Eval gave %#x, %v", s, addr, err)
			}
		case "fbreg":
			if err != nil || addr != fb+uint64(s.Offset) {
				t.Fatalf("%+v: Eval gave %#x, %v", s, addr, err)
			}
		}
	})
}

func TestSimpleValue(t *testing.T) {
	for _, tt := range []struct {
		expr []byte
		want uint64
		ok   bool
	}{
		{[]byte{opLit0 + 5, opStackValue}, 5, true},
		{[]byte{opConst1u, 0xff, opStackValue}, 0xff, true},
		{[]byte{opConst1s, 0xff, opStackValue}, ^uint64(0), true},
		{[]byte{opConst2u, 0x34, 0x12, opStackValue}, 0x1234, true},
		{[]byte{opConstu, 0xe5, 0x8e, 0x26, opStackValue}, 624485, true},
		{[]byte{opConsts, 0x7f, opStackValue}, ^uint64(0), true},
		{[]byte{opConst2u, 0x34, opStackValue}, 0, false},
		{[]byte{opBreg0, 8, opStackValue}, 0, false},
		{[]byte{opStackValue}, 0, false},
	} {
		s, ok := SimpleLocation(tt.expr, 8)
		if ok != tt.ok || ok && (s.Op != "value" || s.Addr != tt.want) {
			t.Errorf("SimpleLocation(% x) = %+v, %v", tt.expr, s, ok)
		}
	}
}

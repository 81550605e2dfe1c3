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

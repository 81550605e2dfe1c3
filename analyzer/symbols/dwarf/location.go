package dwarf

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Errors returned by EvalLocation, to be tested with errors.Is.
var (
	ErrUnsupportedOp = errors.New("dwarf: unsupported location operation")
	ErrBadExpr       = errors.New("dwarf: malformed location expression")
	ErrNoRegister    = errors.New("dwarf: register value unavailable")
	ErrNoMemory      = errors.New("dwarf: memory unavailable")
)

// DWARF expression opcodes used by EvalLocation (DWARF 5 section 7.7.1).
const (
	opAddr         = 0x03
	opDeref        = 0x06
	opConst1u      = 0x08
	opConst1s      = 0x09
	opConst2u      = 0x0a
	opConst2s      = 0x0b
	opConst4u      = 0x0c
	opConst4s      = 0x0d
	opConst8u      = 0x0e
	opConst8s      = 0x0f
	opConstu       = 0x10
	opConsts       = 0x11
	opDup          = 0x12
	opDrop         = 0x13
	opOver         = 0x14
	opSwap         = 0x16
	opAnd          = 0x1a
	opMinus        = 0x1c
	opOr           = 0x21
	opPlus         = 0x22
	opPlusUconst   = 0x23
	opLit0         = 0x30
	opLit31        = 0x4f
	opReg0         = 0x50
	opReg31        = 0x6f
	opBreg0        = 0x70
	opBreg31       = 0x8f
	opRegx         = 0x90
	opFbreg        = 0x91
	opBregx        = 0x92
	opPiece        = 0x93
	opDerefSize    = 0x94
	opNop          = 0x96
	opCallFrameCFA = 0x9c
	opStackValue   = 0x9f
)

// x86-64 DWARF register numbers (System V psABI, also used by MinGW-w64).
const (
	RegRAX = 0
	RegRDX = 1
	RegRCX = 2
	RegRBX = 3
	RegRSI = 4
	RegRDI = 5
	RegRBP = 6
	RegRSP = 7
	RegR8  = 8 // R8..R15 are 8..15
	RegRIP = 16
)

// EvalLocation evaluates a DWARF location expression with 8-byte addresses
// (x86-64). See EvalLocationAddr.
func EvalLocation(expr []byte, frameBase uint64, regs func(dwarfReg int) (uint64, bool), read func(addr uint64, size int) ([]byte, bool)) (addr uint64, inRegister int, err error) {
	return EvalLocationAddr(expr, 8, frameBase, regs, read)
}

// EvalLocationAddr evaluates a DWARF location expression (DW_AT_location or
// DW_AT_frame_base) for a frame. It returns either the address of the
// variable in memory with inRegister = -1, or, for DW_OP_reg*/DW_OP_regx, the
// DWARF register number holding it (addr is then 0).
//
// frameBase is what DW_OP_fbreg adds its offset to, and also what
// DW_OP_call_frame_cfa pushes. GCC's functions have DW_AT_frame_base =
// DW_OP_call_frame_cfa, so for them pass the frame's CFA (the caller's stack
// pointer after return: the address just above the return address) and
// evaluate the variable's expression directly. For a function whose frame
// base is another expression (e.g. DW_OP_breg6 rbp+16 from clang), first
// compute the frame base with EvalLocationAddr(fn.FrameBase, addrSize, cfa,
// ...), then pass that result as frameBase for the variables.
//
// regs returns a register of the frame by DWARF number (x86-64: 0 rax, 1 rdx,
// 2 rcx, 3 rbx, 4 rsi, 5 rdi, 6 rbp, 7 rsp, 8-15 r8-r15, 16 rip); read
// returns size bytes of the target's memory. Supported: DW_OP_addr, deref,
// deref_size, lit*, const*, dup, drop, over, swap, and, or, plus, minus,
// plus_uconst, reg*, regx, breg*, bregx, fbreg, call_frame_cfa, nop; only the
// first DW_OP_piece is evaluated.
func EvalLocationAddr(expr []byte, addrSize int, frameBase uint64, regs func(dwarfReg int) (uint64, bool), read func(addr uint64, size int) ([]byte, bool)) (addr uint64, inRegister int, err error) {
	if addrSize != 4 && addrSize != 8 {
		return 0, -1, fmt.Errorf("%w: address size %d", ErrBadExpr, addrSize)
	}
	if len(expr) == 0 {
		return 0, -1, fmt.Errorf("%w: empty", ErrBadExpr)
	}
	var stack []uint64
	pop := func() (uint64, error) {
		if len(stack) == 0 {
			return 0, fmt.Errorf("%w: stack underflow", ErrBadExpr)
		}
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		return v, nil
	}
	reg := func(n uint64) (uint64, error) {
		if regs == nil || n > 1<<16 {
			return 0, fmt.Errorf("%w: %d", ErrNoRegister, n)
		}
		v, ok := regs(int(n))
		if !ok {
			return 0, fmt.Errorf("%w: %d", ErrNoRegister, n)
		}
		return v, nil
	}
	deref := func(a uint64, size int) (uint64, error) {
		if read == nil {
			return 0, fmt.Errorf("%w: at %#x", ErrNoMemory, a)
		}
		b, ok := read(a, size)
		if !ok || len(b) < size {
			return 0, fmt.Errorf("%w: at %#x", ErrNoMemory, a)
		}
		var buf [8]byte
		copy(buf[:], b[:size])
		return binary.LittleEndian.Uint64(buf[:]), nil
	}
	p := 0
	fixed := func(n int) (uint64, error) {
		if p+n > len(expr) {
			return 0, fmt.Errorf("%w: truncated operand", ErrBadExpr)
		}
		var buf [8]byte
		copy(buf[:], expr[p:p+n])
		p += n
		return binary.LittleEndian.Uint64(buf[:]), nil
	}
	uleb := func() (uint64, error) {
		var v uint64
		for shift := uint(0); p < len(expr); shift += 7 {
			b := expr[p]
			p++
			if shift < 64 {
				v |= uint64(b&0x7f) << shift
			}
			if b&0x80 == 0 {
				return v, nil
			}
		}
		return 0, fmt.Errorf("%w: truncated LEB128", ErrBadExpr)
	}
	sleb := func() (int64, error) {
		var v int64
		var shift uint
		for p < len(expr) {
			b := expr[p]
			p++
			if shift < 64 {
				v |= int64(b&0x7f) << shift
			}
			shift += 7
			if b&0x80 == 0 {
				if shift < 64 && b&0x40 != 0 {
					v |= -1 << shift
				}
				return v, nil
			}
		}
		return 0, fmt.Errorf("%w: truncated LEB128", ErrBadExpr)
	}
	signExtend := func(v uint64, bytes int) uint64 {
		s := uint(64 - 8*bytes)
		return uint64(int64(v<<s) >> s)
	}
	for p < len(expr) {
		if len(stack) > 64 {
			return 0, -1, fmt.Errorf("%w: stack too deep", ErrBadExpr)
		}
		op := expr[p]
		p++
		var v uint64
		var err error
		switch {
		case op >= opLit0 && op <= opLit31:
			stack = append(stack, uint64(op-opLit0))
			continue
		case op >= opReg0 && op <= opReg31:
			return 0, int(op - opReg0), nil
		case op >= opBreg0 && op <= opBreg31:
			var off int64
			if off, err = sleb(); err == nil {
				if v, err = reg(uint64(op - opBreg0)); err == nil {
					stack = append(stack, v+uint64(off))
				}
			}
		default:
			switch op {
			case opAddr:
				if v, err = fixed(addrSize); err == nil {
					stack = append(stack, v)
				}
			case opConst1u, opConst2u, opConst4u, opConst8u:
				n := map[byte]int{opConst1u: 1, opConst2u: 2, opConst4u: 4, opConst8u: 8}[op]
				if v, err = fixed(n); err == nil {
					stack = append(stack, v)
				}
			case opConst1s, opConst2s, opConst4s, opConst8s:
				n := map[byte]int{opConst1s: 1, opConst2s: 2, opConst4s: 4, opConst8s: 8}[op]
				if v, err = fixed(n); err == nil {
					stack = append(stack, signExtend(v, n))
				}
			case opConstu:
				if v, err = uleb(); err == nil {
					stack = append(stack, v)
				}
			case opConsts:
				var s int64
				if s, err = sleb(); err == nil {
					stack = append(stack, uint64(s))
				}
			case opDup:
				if len(stack) == 0 {
					err = fmt.Errorf("%w: stack underflow", ErrBadExpr)
				} else {
					stack = append(stack, stack[len(stack)-1])
				}
			case opOver:
				if len(stack) < 2 {
					err = fmt.Errorf("%w: stack underflow", ErrBadExpr)
				} else {
					stack = append(stack, stack[len(stack)-2])
				}
			case opDrop:
				_, err = pop()
			case opSwap:
				if len(stack) < 2 {
					err = fmt.Errorf("%w: stack underflow", ErrBadExpr)
				} else {
					n := len(stack)
					stack[n-1], stack[n-2] = stack[n-2], stack[n-1]
				}
			case opPlus, opMinus, opAnd, opOr:
				var a, b uint64
				if b, err = pop(); err == nil {
					if a, err = pop(); err == nil {
						switch op {
						case opPlus:
							stack = append(stack, a+b)
						case opMinus:
							stack = append(stack, a-b)
						case opAnd:
							stack = append(stack, a&b)
						case opOr:
							stack = append(stack, a|b)
						}
					}
				}
			case opPlusUconst:
				var a uint64
				if v, err = uleb(); err == nil {
					if a, err = pop(); err == nil {
						stack = append(stack, a+v)
					}
				}
			case opDeref:
				var a uint64
				if a, err = pop(); err == nil {
					if v, err = deref(a, addrSize); err == nil {
						stack = append(stack, v)
					}
				}
			case opDerefSize:
				var a uint64
				if p >= len(expr) {
					err = fmt.Errorf("%w: truncated operand", ErrBadExpr)
				} else if n := int(expr[p]); n < 1 || n > 8 {
					err = fmt.Errorf("%w: deref_size %d", ErrBadExpr, n)
				} else {
					p++
					if a, err = pop(); err == nil {
						if v, err = deref(a, n); err == nil {
							stack = append(stack, v)
						}
					}
				}
			case opRegx:
				if v, err = uleb(); err == nil {
					if v > 1<<16 {
						return 0, -1, fmt.Errorf("%w: register %d", ErrBadExpr, v)
					}
					return 0, int(v), nil
				}
			case opBregx:
				var r uint64
				var off int64
				if r, err = uleb(); err == nil {
					if off, err = sleb(); err == nil {
						if v, err = reg(r); err == nil {
							stack = append(stack, v+uint64(off))
						}
					}
				}
			case opFbreg:
				var off int64
				if off, err = sleb(); err == nil {
					stack = append(stack, frameBase+uint64(off))
				}
			case opCallFrameCFA:
				stack = append(stack, frameBase)
			case opNop:
			case opPiece:
				// Only the first piece of a composite location is used.
				p = len(expr)
			default:
				err = fmt.Errorf("%w: %#x", ErrUnsupportedOp, op)
			}
		}
		if err != nil {
			return 0, -1, err
		}
	}
	if len(stack) == 0 {
		return 0, -1, fmt.Errorf("%w: no result", ErrBadExpr)
	}
	addr = stack[len(stack)-1]
	if addrSize == 4 {
		addr &= 1<<32 - 1
	}
	return addr, -1, nil
}

// Simple is a location expression of a single operation, the common case
// debuggers print as a register and offset.
type Simple struct {
	// Op is "fbreg" (frame base + Offset), "breg" (register Reg + Offset),
	// "reg" (in register Reg), "cfa" (DW_OP_call_frame_cfa, as a frame base),
	// "addr" (a static address, Addr) or "value" (DW_OP_lit*/constu/consts
	// then DW_OP_stack_value: the variable's value is Addr).
	Op     string
	Reg    int
	Offset int64
	Addr   uint64
}

// SimpleLocation decodes expr when it is one DW_OP_fbreg, DW_OP_breg*,
// DW_OP_bregx, DW_OP_reg*, DW_OP_regx, DW_OP_call_frame_cfa or DW_OP_addr
// (addrSize 4 or 8) and nothing else.
func SimpleLocation(expr []byte, addrSize int) (Simple, bool) {
	if len(expr) == 0 {
		return Simple{}, false
	}
	op, rest := expr[0], expr[1:]
	var s Simple
	var n int
	switch {
	case op >= opReg0 && op <= opReg31:
		s = Simple{Op: "reg", Reg: int(op - opReg0)}
	case op >= opBreg0 && op <= opBreg31:
		s = Simple{Op: "breg", Reg: int(op - opBreg0)}
		s.Offset, n = sleb128(rest)
		rest = rest[n:]
		if n == 0 {
			return Simple{}, false
		}
	case op == opFbreg:
		s = Simple{Op: "fbreg"}
		s.Offset, n = sleb128(rest)
		rest = rest[n:]
		if n == 0 {
			return Simple{}, false
		}
	case op == opRegx, op == opBregx:
		var r uint64
		if r, n = uleb128(rest); n == 0 || r > 1<<16 {
			return Simple{}, false
		}
		rest = rest[n:]
		s = Simple{Op: "reg", Reg: int(r)}
		if op == opBregx {
			s.Op = "breg"
			if s.Offset, n = sleb128(rest); n == 0 {
				return Simple{}, false
			}
			rest = rest[n:]
		}
	case op == opCallFrameCFA:
		s = Simple{Op: "cfa"}
	case expr[len(expr)-1] == opStackValue:
		// An implicit value: the variable is the constant.
		c, ok := constant(expr[:len(expr)-1])
		if !ok {
			return Simple{}, false
		}
		return Simple{Op: "value", Addr: c}, true
	case op == opAddr:
		if (addrSize != 4 && addrSize != 8) || len(rest) < addrSize {
			return Simple{}, false
		}
		var buf [8]byte
		copy(buf[:], rest[:addrSize])
		s = Simple{Op: "addr", Addr: binary.LittleEndian.Uint64(buf[:])}
		rest = rest[addrSize:]
	default:
		return Simple{}, false
	}
	if len(rest) != 0 {
		return Simple{}, false
	}
	return s, true
}

// constant decodes an expression of one constant operation (DW_OP_lit*,
// DW_OP_const*).
func constant(e []byte) (uint64, bool) {
	if len(e) == 0 {
		return 0, false
	}
	op, rest := e[0], e[1:]
	fixed := func(n int, signed bool) (uint64, bool) {
		if len(rest) != n {
			return 0, false
		}
		var buf [8]byte
		copy(buf[:], rest)
		v := binary.LittleEndian.Uint64(buf[:])
		if signed {
			sh := uint(64 - 8*n)
			v = uint64(int64(v<<sh) >> sh)
		}
		return v, true
	}
	switch op {
	case opConst1u:
		return fixed(1, false)
	case opConst2u:
		return fixed(2, false)
	case opConst4u:
		return fixed(4, false)
	case opConst8u:
		return fixed(8, false)
	case opConst1s:
		return fixed(1, true)
	case opConst2s:
		return fixed(2, true)
	case opConst4s:
		return fixed(4, true)
	case opConst8s:
		return fixed(8, true)
	case opConstu:
		v, n := uleb128(rest)
		return v, n > 0 && n == len(rest)
	case opConsts:
		v, n := sleb128(rest)
		return uint64(v), n > 0 && n == len(rest)
	}
	if op >= opLit0 && op <= opLit31 && len(rest) == 0 {
		return uint64(op - opLit0), true
	}
	return 0, false
}

// uleb128 decodes an unsigned LEB128 at the start of b; n = 0 when it is
// truncated.
func uleb128(b []byte) (v uint64, n int) {
	for shift := uint(0); n < len(b); shift += 7 {
		c := b[n]
		n++
		if shift < 64 {
			v |= uint64(c&0x7f) << shift
		}
		if c&0x80 == 0 {
			return v, n
		}
	}
	return 0, 0
}

// sleb128 decodes a signed LEB128 at the start of b; n = 0 when it is
// truncated.
func sleb128(b []byte) (v int64, n int) {
	var shift uint
	for n < len(b) {
		c := b[n]
		n++
		if shift < 64 {
			v |= int64(c&0x7f) << shift
		}
		shift += 7
		if c&0x80 == 0 {
			if shift < 64 && c&0x40 != 0 {
				v |= -1 << shift
			}
			return v, n
		}
	}
	return 0, 0
}

// Package callsite recovers the value an argument register held when a call
// was made, the way an expert does it in WinDbg: disassemble the caller up
// to the call, follow the register back through the instructions that set
// it, and evaluate them with the registers and stack memory the unwinder
// recovered for that frame.
package callsite

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/arch/x86/x86asm"

	"github.com/dumptriage/dumptriage/analyzer/minidump"
)

// Memory reads process memory (captured stack and data, or image bytes).
type Memory interface {
	ReadMemory(addr uint64, p []byte) (int, error)
}

// Frame is what is known about the calling frame at the call: its stack
// pointer just before the call instruction and the registers the unwinder
// recovered (non-volatile ones), indexed in x64 order (rax=0 .. r15=15).
type Frame struct {
	Regs  [16]uint64
	Valid [16]bool
}

// Result is an evaluated argument.
type Result struct {
	Value uint64
	// Expr spells the computation, e.g. "[rbp+0x18] << 4".
	Expr string
	// Count and ElementSize are set when Value = Count * ElementSize (+ a
	// constant), i.e. the caller scaled an element count.
	Count       *uint64
	ElementSize *uint64
	// Steps are the instructions used, innermost last.
	Steps []string
	// Incoming is set instead of Value when the register came unchanged
	// from the caller's own caller (an incoming argument register): the
	// caller should continue in the next frame with that register.
	Incoming   int // register index, or -1
	Confidence string
}

// ErrUnknown means the value could not be recovered.
var ErrUnknown = errors.New("argument value not recoverable")

// Register indexes in x64 (UNWIND_CODE) order, as the minidump reader numbers them.
const (
	RAX = minidump.RAX
	RCX = minidump.RCX
	RDX = minidump.RDX
	RBX = minidump.RBX
	RSP = minidump.RSP
	RBP = minidump.RBP
	RSI = minidump.RSI
	RDI = minidump.RDI
	R8  = minidump.R8
	R9  = minidump.R9
	R11 = minidump.R11
)

// ArgRegsWin64 are the registers of the first four integer arguments in
// the Windows x64 calling convention.
var ArgRegsWin64 = [4]int{RCX, RDX, R8, R9}

var regNames = minidump.AMD64RegNames

// RegName names a register index.
func RegName(r int) string {
	if r >= 0 && r < 16 {
		return regNames[r]
	}
	return fmt.Sprintf("r?%d", r)
}

func volatile(r int) bool {
	return r == RAX || r == RCX || r == RDX || (r >= R8 && r <= R11)
}

// maxFunctionBytes bounds the code decoded before a call.
const maxFunctionBytes = 64 << 10

type inst struct {
	addr uint64
	x86asm.Inst
}

// decodeTo decodes [start, end) linearly and checks that the last
// instruction is a call ending exactly at end (the return address).
func decodeTo(code Memory, start, end uint64) ([]inst, error) {
	if end <= start || end-start > maxFunctionBytes {
		return nil, fmt.Errorf("function start %#x is not within %d bytes before %#x", start, maxFunctionBytes, end)
	}
	buf := make([]byte, end-start+15)
	n, _ := code.ReadMemory(start, buf)
	if uint64(n) < end-start {
		return nil, fmt.Errorf("code at %#x..%#x is not available", start, end)
	}
	buf = buf[:n]
	var out []inst
	for off := uint64(0); start+off < end; {
		in, err := x86asm.Decode(buf[off:], 64)
		if err != nil {
			// Padding or data: skip a byte, as a linear sweep must.
			off++
			out = nil
			continue
		}
		out = append(out, inst{addr: start + off, Inst: in})
		off += uint64(in.Len)
	}
	if len(out) == 0 {
		return nil, errors.New("no instructions decoded")
	}
	last := out[len(out)-1]
	if last.addr+uint64(last.Len) != end || last.Op != x86asm.CALL {
		return nil, fmt.Errorf("no call instruction ends at %#x", end)
	}
	return out, nil
}

// ArgAMD64 evaluates register reg as it was at the call instruction that
// ends at retAddr, in a function that starts at funcStart. f holds what
// the unwinder recovered for this frame; RSP in f is the stack pointer at
// the call (the value after the callee returned).
func ArgAMD64(code, mem Memory, funcStart, retAddr uint64, reg int, f Frame) (*Result, error) {
	insts, err := decodeTo(code, funcStart, retAddr)
	if err != nil {
		return nil, err
	}
	e := &evaluator{insts: insts, mem: mem, f: f}
	v, err := e.reg(reg, len(insts)-1, 0)
	if err != nil {
		return nil, err
	}
	// Steps were collected tracing backwards; show them in program order.
	for i, j := 0, len(e.steps)-1; i < j; i, j = i+1, j-1 {
		e.steps[i], e.steps[j] = e.steps[j], e.steps[i]
	}
	res := &Result{Value: v.val, Expr: v.expr, Steps: e.steps, Incoming: -1, Confidence: "high"}
	if v.incoming >= 0 {
		res.Incoming = v.incoming
		res.Confidence = "medium"
	}
	if v.count != nil {
		c, s := *v.count, v.scale
		res.Count, res.ElementSize = &c, &s
	}
	if e.crossedBranch {
		res.Confidence = "medium"
	}
	return res, nil
}

// value is an evaluated expression.
type value struct {
	val      uint64
	expr     string
	incoming int // >= 0 when the value is an incoming register, not known here
	// count * scale (+ a constant) structure, kept for element counts.
	count *uint64
	scale uint64
}

type evaluator struct {
	insts         []inst
	mem           Memory
	f             Frame
	steps         []string
	crossedBranch bool
}

const maxDepth = 24

func (e *evaluator) note(in inst) {
	e.steps = append(e.steps, fmt.Sprintf("%#x: %s", in.addr, strings.ToLower(x86asm.IntelSyntax(in.Inst, in.addr, nil))))
}

// reg64 maps a register operand to its 64-bit index and operand width.
func reg64(r x86asm.Reg) (idx int, bits int, ok bool) {
	switch {
	case r >= x86asm.RAX && r <= x86asm.R15:
		return int(r - x86asm.RAX), 64, true
	case r >= x86asm.EAX && r <= x86asm.R15L:
		return int(r - x86asm.EAX), 32, true
	case r >= x86asm.AX && r <= x86asm.R15W:
		return int(r - x86asm.AX), 16, true
	}
	return 0, 0, false
}

// writes reports whether instruction in writes register idx, and how.
func writesReg(in inst, idx int) bool {
	switch in.Op {
	case x86asm.CALL:
		return volatile(idx)
	case x86asm.PUSH, x86asm.CMP, x86asm.TEST, x86asm.JMP, x86asm.RET, x86asm.NOP:
		return idx == RSP && in.Op == x86asm.PUSH
	}
	if in.Op >= x86asm.JA && in.Op <= x86asm.JS && in.Op != x86asm.JMP {
		return false
	}
	if r, ok := in.Args[0].(x86asm.Reg); ok {
		if i, _, ok := reg64(r); ok && i == idx {
			return true
		}
		// 8-bit writes (al, ah, ...) touch part of the register.
		if r >= x86asm.AL && r <= x86asm.R15B && lowByteIndex(r) == idx {
			return true
		}
	}
	if in.Op == x86asm.XCHG {
		if r, ok := in.Args[1].(x86asm.Reg); ok {
			if i, _, ok := reg64(r); ok && i == idx {
				return true
			}
		}
	}
	if (in.Op == x86asm.MUL || in.Op == x86asm.DIV || in.Op == x86asm.IDIV || in.Op == x86asm.CQO || in.Op == x86asm.CDQ) && (idx == RAX || idx == RDX) {
		return true
	}
	return false
}

func lowByteIndex(r x86asm.Reg) int {
	switch r {
	case x86asm.AL, x86asm.AH:
		return RAX
	case x86asm.CL, x86asm.CH:
		return RCX
	case x86asm.DL, x86asm.DH:
		return RDX
	case x86asm.BL, x86asm.BH:
		return RBX
	case x86asm.SPB:
		return RSP
	case x86asm.BPB:
		return RBP
	case x86asm.SIB:
		return RSI
	case x86asm.DIB:
		return RDI
	}
	return int(r-x86asm.R8B) + R8
}

func isBranchTarget(insts []inst, from, to int) bool {
	// A jump into (from, to] from elsewhere means the straight-line
	// assumption may not hold.
	lo, hi := insts[from].addr, insts[to].addr
	for _, in := range insts {
		if rel, ok := in.Args[0].(x86asm.Rel); ok && in.Op != x86asm.CALL {
			target := in.addr + uint64(in.Len) + uint64(int64(rel))
			if target > lo && target <= hi {
				return true
			}
		}
	}
	return false
}

// reg evaluates register idx as it is just before instruction at.
func (e *evaluator) reg(idx, at, depth int) (value, error) {
	if depth > maxDepth {
		return value{}, fmt.Errorf("%w: expression too deep", ErrUnknown)
	}
	if idx == RSP {
		return e.stackReg(RSP, at, depth)
	}
	// A register the unwinder recovered for this frame holds the same
	// value at `at` as at the call, unless something between writes it.
	if !volatile(idx) && e.f.Valid[idx] && !e.writtenBetween(idx, at, len(e.insts)-1) {
		return value{val: e.f.Regs[idx], expr: regNames[idx], incoming: -1}, nil
	}
	for i := at - 1; i >= 0; i-- {
		in := e.insts[i]
		if !writesReg(in, idx) {
			continue
		}
		if isBranchTarget(e.insts, i, at) {
			e.crossedBranch = true
		}
		return e.def(in, i, idx, depth)
	}
	// Not set in this function before the call.
	if idx == RSP || !volatile(idx) {
		if e.f.Valid[idx] {
			return value{val: e.f.Regs[idx], expr: regNames[idx], incoming: -1}, nil
		}
		return value{}, fmt.Errorf("%w: %s not recovered for this frame", ErrUnknown, regNames[idx])
	}
	return value{expr: "incoming " + regNames[idx], incoming: idx}, nil
}

// writtenBetween reports whether an instruction in [from, to) writes idx.
func (e *evaluator) writtenBetween(idx, from, to int) bool {
	for j := from; j < to; j++ {
		if writesReg(e.insts[j], idx) {
			return true
		}
	}
	return false
}

// def evaluates the value instruction in (at index i) leaves in idx.
func (e *evaluator) def(in inst, i, idx, depth int) (value, error) {
	e.note(in)
	op := in.Op
	switch op {
	case x86asm.CALL:
		return value{}, fmt.Errorf("%w: %s was clobbered by the call at %#x", ErrUnknown, regNames[idx], in.addr)
	case x86asm.XOR, x86asm.SUB:
		if a, ok := in.Args[0].(x86asm.Reg); ok {
			if b, ok := in.Args[1].(x86asm.Reg); ok && a == b {
				return value{val: 0, expr: "0", incoming: -1}, nil
			}
		}
	}
	_, bits, _ := regOperand(in.Args[0])
	src := func(k int) (value, error) { return e.operand(in, i, k, depth) }
	var v value
	var err error
	switch op {
	case x86asm.MOV, x86asm.MOVZX:
		v, err = src(1)
	case x86asm.MOVSXD, x86asm.MOVSX:
		v, err = src(1)
		if err == nil {
			v.val = signExtend(v.val, in.MemBytes*8, operandBits(in.Args[1], in.MemBytes))
		}
	case x86asm.LEA:
		m, ok := in.Args[1].(x86asm.Mem)
		if !ok {
			return value{}, ErrUnknown
		}
		v, err = e.address(m, in, i, depth)
	case x86asm.ADD, x86asm.SUB, x86asm.AND, x86asm.OR, x86asm.XOR, x86asm.SHL, x86asm.SHR, x86asm.SAR:
		var a, b value
		if a, err = e.reg(idx, i, depth+1); err != nil {
			return value{}, err
		}
		if b, err = src(1); err != nil {
			return value{}, err
		}
		v = binop(op, a, b)
	case x86asm.IMUL:
		var a, b value
		switch {
		case in.Args[2] != nil:
			if a, err = src(1); err != nil {
				return value{}, err
			}
			if b, err = src(2); err != nil {
				return value{}, err
			}
		case in.Args[1] != nil:
			if a, err = e.reg(idx, i, depth+1); err != nil {
				return value{}, err
			}
			if b, err = src(1); err != nil {
				return value{}, err
			}
		default:
			return value{}, fmt.Errorf("%w: one-operand imul", ErrUnknown)
		}
		v = binop(x86asm.IMUL, a, b)
	case x86asm.INC, x86asm.DEC, x86asm.NEG, x86asm.NOT:
		var a value
		if a, err = e.reg(idx, i, depth+1); err != nil {
			return value{}, err
		}
		v = unop(op, a)
	default:
		return value{}, fmt.Errorf("%w: %s at %#x", ErrUnknown, strings.ToLower(op.String()), in.addr)
	}
	if err != nil {
		return value{}, err
	}
	if bits == 32 {
		v.val &= 0xffffffff // a 32-bit write zero-extends
	}
	return v, nil
}

func regOperand(a x86asm.Arg) (int, int, bool) {
	r, ok := a.(x86asm.Reg)
	if !ok {
		return 0, 0, false
	}
	return reg64(r)
}

func operandBits(a x86asm.Arg, memBytes int) int {
	if _, bits, ok := regOperand(a); ok {
		return bits
	}
	if r, ok := a.(x86asm.Reg); ok && r >= x86asm.AL && r <= x86asm.R15B {
		return 8
	}
	return memBytes * 8
}

func signExtend(v uint64, _ int, from int) uint64 {
	if from <= 0 || from >= 64 {
		return v
	}
	shift := uint(64 - from)
	return uint64(int64(v<<shift) >> shift)
}

// operand evaluates argument k of instruction in (index i).
func (e *evaluator) operand(in inst, i, k, depth int) (value, error) {
	switch a := in.Args[k].(type) {
	case x86asm.Imm:
		return value{val: uint64(int64(a)), expr: fmt.Sprintf("%#x", uint64(int64(a))), incoming: -1}, nil
	case x86asm.Reg:
		idx, bits, ok := reg64(a)
		if !ok {
			if a >= x86asm.AL && a <= x86asm.R15B {
				v, err := e.reg(lowByteIndex(a), i, depth+1)
				v.val &= 0xff
				return v, err
			}
			return value{}, fmt.Errorf("%w: register %v", ErrUnknown, a)
		}
		v, err := e.reg(idx, i, depth+1)
		if err == nil && v.incoming < 0 {
			switch bits {
			case 32:
				v.val &= 0xffffffff
			case 16:
				v.val &= 0xffff
			}
		}
		return v, err
	case x86asm.Mem:
		addr, err := e.address(a, in, i, depth)
		if err != nil {
			return value{}, err
		}
		if addr.incoming >= 0 {
			return value{}, fmt.Errorf("%w: address depends on an incoming register", ErrUnknown)
		}
		size := in.MemBytes
		if size <= 0 || size > 8 {
			size = 8
		}
		// A store to the same slot between the load and the call would
		// make the memory read stale; the load reads what is there now,
		// which is right unless the slot was written after it.
		var buf [8]byte
		if n, _ := e.mem.ReadMemory(addr.val, buf[:size]); n < size {
			return value{}, fmt.Errorf("%w: memory at %#x (%s) not captured", ErrUnknown, addr.val, addr.expr)
		}
		v := binary.LittleEndian.Uint64(buf[:])
		return value{val: v, expr: "[" + addr.expr + "]", incoming: -1}, nil
	}
	return value{}, fmt.Errorf("%w: operand %v", ErrUnknown, in.Args[k])
}

// address evaluates a memory operand's effective address.
func (e *evaluator) address(m x86asm.Mem, in inst, i, depth int) (value, error) {
	var parts []string
	var addr uint64
	if m.Base == x86asm.RIP {
		addr = in.addr + uint64(in.Len) + uint64(m.Disp)
		return value{val: addr, expr: fmt.Sprintf("%#x", addr), incoming: -1}, nil
	}
	if m.Segment != 0 {
		return value{}, fmt.Errorf("%w: segment-relative address", ErrUnknown)
	}
	if m.Base != 0 {
		idx, _, ok := reg64(m.Base)
		if !ok {
			return value{}, ErrUnknown
		}
		b, err := e.stackReg(idx, i, depth)
		if err != nil {
			return value{}, err
		}
		if b.incoming >= 0 {
			return b, nil
		}
		addr += b.val
		parts = append(parts, regNames[idx])
	}
	if m.Index != 0 {
		idx, _, ok := reg64(m.Index)
		if !ok {
			return value{}, ErrUnknown
		}
		x, err := e.reg(idx, i, depth+1)
		if err != nil {
			return value{}, err
		}
		if x.incoming >= 0 {
			return x, nil
		}
		addr += x.val * uint64(m.Scale)
		parts = append(parts, fmt.Sprintf("%s*%d", x.expr, m.Scale))
	}
	if m.Disp != 0 || len(parts) == 0 {
		addr += uint64(m.Disp)
		if m.Disp < 0 {
			parts = append(parts, fmt.Sprintf("-%#x", -m.Disp))
		} else {
			parts = append(parts, fmt.Sprintf("%#x", m.Disp))
		}
	}
	return value{val: addr, expr: strings.Replace(strings.Join(parts, "+"), "+-", "-", -1), incoming: -1}, nil
}

// stackReg evaluates rsp/rbp-style base registers. Between the instruction
// and the call, rsp may move by pushes, pops and rsp arithmetic; those are
// undone from the rsp known at the call.
func (e *evaluator) stackReg(idx, i, depth int) (value, error) {
	if idx != RSP {
		return e.reg(idx, i, depth+1)
	}
	// rsp before instruction i: undo the stack moves of i .. the call.
	if !e.f.Valid[RSP] {
		return value{}, fmt.Errorf("%w: rsp not known for this frame", ErrUnknown)
	}
	sp := e.f.Regs[RSP]
	for j := len(e.insts) - 2; j >= i && j >= 0; j-- {
		in := e.insts[j]
		switch in.Op {
		case x86asm.PUSH:
			sp += 8
		case x86asm.POP:
			sp -= 8
		case x86asm.SUB, x86asm.ADD:
			if r, ok := in.Args[0].(x86asm.Reg); ok && r == x86asm.RSP {
				imm, ok := in.Args[1].(x86asm.Imm)
				if !ok {
					return value{}, fmt.Errorf("%w: rsp changed by a register at %#x", ErrUnknown, in.addr)
				}
				if in.Op == x86asm.SUB {
					sp += uint64(int64(imm))
				} else {
					sp -= uint64(int64(imm))
				}
			}
		case x86asm.CALL:
			// Balanced: the callee returned, and in x64 code the caller
			// does not pop arguments.
		}
	}
	return value{val: sp, expr: "rsp", incoming: -1}, nil
}

func binop(op x86asm.Op, a, b value) value {
	v := value{incoming: -1}
	switch op {
	case x86asm.ADD:
		v.val, v.expr = a.val+b.val, a.expr+" + "+b.expr
		v.count, v.scale = a.count, a.scale // count*size + constant keeps its count
	case x86asm.SUB:
		v.val, v.expr = a.val-b.val, a.expr+" - "+b.expr
		v.count, v.scale = a.count, a.scale
	case x86asm.AND:
		v.val, v.expr = a.val&b.val, a.expr+" & "+b.expr
		v.count, v.scale = a.count, a.scale // alignment masks
	case x86asm.OR:
		v.val, v.expr = a.val|b.val, a.expr+" | "+b.expr
	case x86asm.XOR:
		v.val, v.expr = a.val^b.val, a.expr+" ^ "+b.expr
	case x86asm.SHL:
		v.val, v.expr = a.val<<(b.val&63), a.expr+" << "+b.expr
		c := a.val
		v.count, v.scale = &c, uint64(1)<<(b.val&63)
	case x86asm.SHR:
		v.val, v.expr = a.val>>(b.val&63), a.expr+" >> "+b.expr
	case x86asm.SAR:
		v.val, v.expr = uint64(int64(a.val)>>(b.val&63)), a.expr+" >> "+b.expr
	case x86asm.IMUL:
		v.val, v.expr = a.val*b.val, a.expr+" * "+b.expr
		// The constant side is the element size.
		if strings.HasPrefix(b.expr, "0x") {
			c := a.val
			v.count, v.scale = &c, b.val
		} else if strings.HasPrefix(a.expr, "0x") {
			c := b.val
			v.count, v.scale = &c, a.val
		}
	}
	return v
}

func unop(op x86asm.Op, a value) value {
	v := value{incoming: -1}
	switch op {
	case x86asm.INC:
		v.val, v.expr = a.val+1, a.expr+" + 1"
	case x86asm.DEC:
		v.val, v.expr = a.val-1, a.expr+" - 1"
	case x86asm.NEG:
		v.val, v.expr = -a.val, "-("+a.expr+")"
	case x86asm.NOT:
		v.val, v.expr = ^a.val, "~("+a.expr+")"
	}
	return v
}

package unwind

import "golang.org/x/arch/x86/x86asm"

// maxForwardCode bounds the code examined after a PC, and maxForwardInsts
// the instructions executed, when looking for the function's return.
const (
	maxForwardCode  = 512
	maxForwardInsts = 200
)

// emuRegIndex maps a decoded register to its Regs index and reports
// whether it names the whole register (so a write defines its value).
func emuRegIndex(r x86asm.Reg, mode int) (idx int, full bool) {
	switch {
	case r >= x86asm.RAX && r <= x86asm.R15:
		return int(r - x86asm.RAX), mode == 64
	case r >= x86asm.EAX && r <= x86asm.R15L:
		return int(r - x86asm.EAX), mode == 32
	case r >= x86asm.AX && r <= x86asm.R15W:
		return int(r - x86asm.AX), false
	case r >= x86asm.AL && r <= x86asm.R15B:
		i := int(r - x86asm.AL)
		if i >= 4 && i < 8 && r < x86asm.SPB {
			return -1, false // AH..BH alias registers 0..3
		}
		return i, false
	}
	return -1, false
}

// forwardUnwind finds the caller of a function that has no unwind data by
// executing its code from pc to the return: register restores from the
// stack, RSP/ESP adjustments (add, sub, lea, mov from a register, leave),
// pops, and finally ret, or a jmp out of the code at an epilogue (a tail
// call). Conditional branches are assumed not taken and only forward jumps
// are followed, so the walk ends. It fails on anything it cannot follow:
// a push, an unknown write to the stack pointer, or a trap. Compilers keep
// the stack pointer fixed in a function body on x64 (and restore it from
// the frame pointer on x86), which makes the first return reached a sound
// way out. regs is updated in place; code holds the bytes at pc.
func forwardUnwind(regs *Regs, code []byte, pc uint64, mode int, read func(uint64) (uint64, bool)) bool {
	word := uint64(mode / 8)
	spIdx, ipIdx := int(x86asm.RSP-x86asm.RAX), RegRIP
	if mode == 32 {
		ipIdx = RegEIP
	}
	sp, ok := regs.Get(spIdx)
	if !ok {
		return false
	}
	mask := ^uint64(0)
	if mode == 32 {
		mask = 0xffffffff
	}
	get := func(a x86asm.Arg) (uint64, bool) {
		switch a := a.(type) {
		case x86asm.Reg:
			i, full := emuRegIndex(a, mode)
			if i < 0 || !full {
				return 0, false
			}
			if i == spIdx {
				return sp, true
			}
			return regs.Get(i)
		case x86asm.Imm:
			return uint64(int64(a)) & mask, true
		}
		return 0, false
	}
	// addr evaluates a [base + disp] operand without index.
	addr := func(m x86asm.Mem) (uint64, bool) {
		if m.Index != 0 || m.Base == 0 || m.Segment != 0 {
			return 0, false
		}
		b, ok := get(m.Base)
		return (b + uint64(m.Disp)) & mask, ok
	}
	set := func(a x86asm.Arg, v uint64, known bool) bool {
		r, ok := a.(x86asm.Reg)
		if !ok {
			return true // a memory write: not tracked
		}
		i, full := emuRegIndex(r, mode)
		if i < 0 {
			return true
		}
		if i == spIdx {
			if !known || !full {
				return false
			}
			sp = v & mask
			return true
		}
		if known && full {
			regs.Set(i, v&mask)
		} else {
			regs.Clear(i)
		}
		return true
	}
	epilogue := false // an instruction that unwinds the frame has run
	off := 0
	for n := 0; n < maxForwardInsts && off < len(code); n++ {
		inst, err := x86asm.Decode(code[off:], mode)
		if err != nil || inst.Len == 0 || off+inst.Len > len(code) {
			return false
		}
		next := off + inst.Len
		switch inst.Op {
		case x86asm.RET:
			ra, ok := read(sp)
			if !ok {
				return false
			}
			sp += word
			if imm, ok := inst.Args[0].(x86asm.Imm); ok {
				sp += uint64(imm)
			}
			regs.Set(ipIdx, ra)
			regs.Set(spIdx, sp&mask)
			return true
		case x86asm.POP:
			v, ok := read(sp)
			if !ok {
				return false
			}
			sp += word
			if !set(inst.Args[0], v, true) {
				return false
			}
			epilogue = true
		case x86asm.LEAVE:
			bp, ok := regs.Get(int(x86asm.RBP - x86asm.RAX))
			if !ok {
				return false
			}
			v, ok := read(bp)
			if !ok {
				return false
			}
			regs.Set(int(x86asm.RBP-x86asm.RAX), v)
			sp = (bp + word) & mask
			epilogue = true
		case x86asm.ADD, x86asm.SUB:
			if r, ok := inst.Args[0].(x86asm.Reg); ok {
				if i, _ := emuRegIndex(r, mode); i == spIdx {
					imm, ok := inst.Args[1].(x86asm.Imm)
					if !ok {
						return false
					}
					if inst.Op == x86asm.ADD {
						sp += uint64(imm)
						epilogue = true
					} else {
						sp -= uint64(imm)
					}
					sp &= mask
					break
				}
			}
			if !set(inst.Args[0], 0, false) {
				return false
			}
		case x86asm.LEA:
			m, ok := inst.Args[1].(x86asm.Mem)
			v, known := uint64(0), false
			if ok {
				v, known = addr(m)
			}
			if r, ok := inst.Args[0].(x86asm.Reg); ok {
				if i, _ := emuRegIndex(r, mode); i == spIdx {
					epilogue = true
				}
			}
			if !set(inst.Args[0], v, known) {
				return false
			}
		case x86asm.MOV:
			var v uint64
			known := false
			switch src := inst.Args[1].(type) {
			case x86asm.Mem:
				// A restore from the stack (or through a known pointer).
				if a, ok := addr(src); ok && inst.MemBytes == int(word) {
					v, known = read(a)
				}
			default:
				v, known = get(src)
			}
			if r, ok := inst.Args[0].(x86asm.Reg); ok {
				if i, _ := emuRegIndex(r, mode); i == spIdx {
					epilogue = true
				}
			}
			if !set(inst.Args[0], v, known) {
				return false
			}
		case x86asm.JMP:
			rel, ok := inst.Args[0].(x86asm.Rel)
			if ok && rel > 0 && next+int(rel) < len(code) {
				off = next + int(rel)
				continue
			}
			if !epilogue || (ok && rel <= 0) {
				return false
			}
			// A tail call: the callee returns to our return address.
			ra, ok := read(sp)
			if !ok {
				return false
			}
			regs.Set(ipIdx, ra)
			regs.Set(spIdx, (sp+word)&mask)
			return true
		case x86asm.CALL:
			// The callee returns with the stack as it was and may clobber
			// the volatile registers.
			for _, r := range [...]int{0, 1, 2, 8, 9, 10, 11} {
				if mode == 32 && r >= 8 {
					continue
				}
				regs.Clear(r)
			}
		case x86asm.PUSH, x86asm.PUSHF, x86asm.PUSHFQ, x86asm.PUSHFD, x86asm.POPF, x86asm.POPFD, x86asm.POPFQ,
			x86asm.INT, x86asm.UD2, x86asm.HLT, x86asm.IRET, x86asm.IRETD, x86asm.IRETQ, x86asm.SYSCALL,
			x86asm.SYSENTER, x86asm.ENTER, x86asm.XCHG, x86asm.CMPXCHG, x86asm.XADD, x86asm.PUSHA, x86asm.PUSHAD,
			x86asm.POPA, x86asm.POPAD:
			return false
		default:
			if noRegWrite[inst.Op] {
				break // conditional branches are not taken
			}
			// Any other write to a register makes it unknown; a write to
			// the stack pointer ends the attempt.
			if r, ok := inst.Args[0].(x86asm.Reg); ok {
				if !set(r, 0, false) {
					return false
				}
			}
		}
		off = next
	}
	return false
}

// noRegWrite are instructions whose first operand is not written.
var noRegWrite = map[x86asm.Op]bool{
	x86asm.JA: true, x86asm.JAE: true, x86asm.JB: true, x86asm.JBE: true, x86asm.JCXZ: true, x86asm.JE: true,
	x86asm.JECXZ: true, x86asm.JG: true, x86asm.JGE: true, x86asm.JL: true, x86asm.JLE: true, x86asm.JNE: true,
	x86asm.JNO: true, x86asm.JNP: true, x86asm.JNS: true, x86asm.JO: true, x86asm.JP: true, x86asm.JRCXZ: true,
	x86asm.JS: true, x86asm.LOOP: true, x86asm.LOOPE: true, x86asm.LOOPNE: true,
	x86asm.CMP: true, x86asm.TEST: true, x86asm.BT: true, x86asm.NOP: true, x86asm.COMISS: true,
	x86asm.COMISD: true, x86asm.UCOMISS: true, x86asm.UCOMISD: true, x86asm.PTEST: true,
	x86asm.PREFETCHNTA: true, x86asm.PREFETCHT0: true, x86asm.PREFETCHT1: true, x86asm.PREFETCHT2: true,
	x86asm.PREFETCHW: true, x86asm.LFENCE: true, x86asm.MFENCE: true, x86asm.SFENCE: true, x86asm.PAUSE: true,
}

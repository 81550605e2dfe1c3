package unwind

import (
	"errors"

	"github.com/dumptriage/dumptriage/analyzer/minidump"
	"github.com/dumptriage/dumptriage/analyzer/report"
)

// amd64Volatile are the registers a call may clobber (Windows x64 ABI), so
// a caller's values for them are unknown.
var amd64Volatile = [...]int{minidump.RAX, minidump.RCX, minidump.RDX, minidump.R8, minidump.R9, minidump.R10, minidump.R11}

type amd64Walker struct {
	mem  *memReader
	code codeReader
	mods Modules
	// inPrologue says the callee being stepped stopped at a call in its
	// prologue, so it has no home area yet.
	inPrologue bool
}

// WalkAMD64 walks a thread's stack from its CONTEXT. Each caller is found,
// in order of preference, from the callee's .pdata/.xdata unwind data (or
// the leaf-function rule when the callee's image has no RUNTIME_FUNCTION
// for it), then the RBP chain, then a stack scan for a return address that
// follows a call instruction. The walk stops at a zero return address, a
// stack pointer that does not increase or leaves the stack, or MaxFrames.
func WalkAMD64(ctx *minidump.ContextAMD64, mem Memory, mods Modules, opts Options) []Frame {
	if ctx == nil {
		return nil
	}
	var regs Regs
	for i, v := range ctx.R {
		regs.Set(i, v)
	}
	regs.Set(RegRIP, ctx.Rip)
	sp := ctx.R[minidump.RSP]
	mr := newMemReader(mem, opts, sp, 8)
	w := &amd64Walker{mem: mr, code: codeReader{mem: mr, mods: mods}, mods: mods}
	frames := append(frameBuf(opts), Frame{PC: ctx.Rip, SP: sp, FP: ctx.R[minidump.RBP], Trust: TrustContext, Regs: regs, exact: true})
	for len(frames) < opts.maxFrames() {
		callee := &frames[len(frames)-1]
		w.inPrologue = opts.StackProbeAtContext && len(frames) == 2
		caller, ok := w.step(callee)
		if !ok || !acceptCaller(mr, callee, &caller, 8) {
			break
		}
		frames = append(frames, caller)
	}
	return frames
}

// acceptCaller applies the stop conditions shared by both walkers.
func acceptCaller(mr *memReader, callee, caller *Frame, ptrSize int) bool {
	if caller.PC == 0 || caller.PC < 0x1000 {
		return false
	}
	if ptrSize == 8 && caller.PC >= 0x0000800000000000 && caller.PC < 0xffff800000000000 {
		return false // non-canonical
	}
	if caller.SP <= callee.SP || !mr.inStack(caller.SP) {
		return false
	}
	return true
}

// step finds the caller of callee.
func (w *amd64Walker) step(callee *Frame) (Frame, bool) {
	pc := callee.PC
	// A return address may be just past the function's last byte (a call to
	// a noreturn function), so callers are looked up at the call itself.
	lookup := pc
	if !callee.exact {
		lookup--
	}
	var m Module
	if w.mods != nil {
		m = w.mods.ModuleAt(lookup)
	}
	if m != nil && lookup >= m.Base() && lookup-m.Base() < m.Size() && lookup-m.Base() <= 0xffffffff {
		rf, info, err := LookupFunctionAMD64(m, uint32(lookup-m.Base()))
		switch {
		case err == nil:
			if _, jit := m.(FunctionLookup); jit && callee.Trust == TrustScan && usesFramePointer(info) {
				// A scanned JIT frame's RBP is a guess from the native
				// code below it; its own frame record says where it is.
				if rbp, ok := w.findFrameRecord(callee); ok {
					c := *callee
					c.Regs.Set(minidump.RBP, rbp)
					if caller, ok := w.unwindInfo(&c, m, rf, info); ok {
						caller.Note = "JIT unwind data; frame record found on the stack"
						return caller, true
					}
				}
			}
			if caller, ok := w.unwindInfo(callee, m, rf, info); ok {
				return caller, true
			}
		case errors.Is(err, ErrNoFunction):
			if caller, ok := w.leaf(callee); ok {
				return caller, true
			}
		}
	}
	if caller, ok := w.forward(callee, m); ok {
		return caller, true
	}
	return w.fallback(callee)
}

// forward unwinds a function without usable unwind data by executing its
// code from the PC to its return (see forwardUnwind), when the image or the
// dump holds that code. The return address must still look like one.
func (w *amd64Walker) forward(callee *Frame, m Module) (Frame, bool) {
	code := w.code.codeAt(m, callee.PC, maxForwardCode)
	if len(code) == 0 {
		return Frame{}, false
	}
	caller := Frame{Regs: callee.Regs}
	if !forwardUnwind(&caller.Regs, code, callee.PC, 64, w.mem.u64) {
		return Frame{}, false
	}
	ra, _ := caller.Regs.Get(RegRIP)
	if w.code.checkReturnAddress(ra, 8) == raInvalid {
		return Frame{}, false
	}
	for _, r := range amd64Volatile {
		caller.Regs.Clear(r)
	}
	caller.finish(TrustEmulation, "no unwind data: executed the code after the pc to its return")
	return caller, true
}

// leaf unwinds a function that has no RUNTIME_FUNCTION: by the x64 ABI it
// allocates no stack and saves no register, so [rsp] is the return address.
// Code that breaks the rule (mingw's ___chkstk_ms pushes two registers) is
// caught by checking that the address follows a call.
func (w *amd64Walker) leaf(callee *Frame) (Frame, bool) {
	rsp, ok := callee.Regs.Get(minidump.RSP)
	if !ok {
		return Frame{}, false
	}
	ra, ok := w.mem.u64(rsp)
	if !ok || w.code.checkReturnAddress(ra, 8) != raVerified {
		return Frame{}, false
	}
	caller := callerRegs(callee)
	caller.Regs.Set(minidump.RSP, rsp+8)
	caller.Regs.Set(RegRIP, ra)
	caller.finish(TrustLeaf, "unwound from a leaf function")
	return caller, true
}

// callerRegs starts a caller frame from the callee's registers, forgetting
// the volatile ones.
func callerRegs(callee *Frame) Frame {
	f := Frame{Regs: callee.Regs}
	for _, r := range amd64Volatile {
		f.Regs.Clear(r)
	}
	return f
}

// finish fills PC/SP/FP from the registers.
func (f *Frame) finish(trust report.Trust, note string) {
	f.Trust, f.Note = trust, note
	if f.Regs.X86 {
		f.PC, _ = f.Regs.Get(RegEIP)
		f.SP, _ = f.Regs.Get(RegESP)
		f.FP, _ = f.Regs.Get(RegEBP)
		return
	}
	f.PC, _ = f.Regs.Get(RegRIP)
	f.SP, _ = f.Regs.Get(minidump.RSP)
	f.FP, _ = f.Regs.Get(minidump.RBP)
}

// unwindInfo applies the function's unwind data as RtlVirtualUnwind does:
// emulate the epilogue when the context stopped inside one, else undo the
// prologue operations that have executed (all of them once past the
// prologue), follow chained entries, and pop the return address unless a
// machine frame supplied RIP and RSP.
func (w *amd64Walker) unwindInfo(callee *Frame, m Module, rf *RuntimeFunction, info *UnwindInfo) (Frame, bool) {
	// Volatile registers are cleared once the frame is unwound: a machine
	// frame keeps them (the interrupted code's values).
	caller := Frame{Regs: callee.Regs}
	pc := callee.PC
	rva := uint32(pc - m.Base())
	off := rva - rf.BeginAddress
	if callee.exact && off >= uint32(info.SizeOfProlog) && rva < rf.EndAddress {
		if w.emulateEpilogue(&caller.Regs, m, rf, info, pc) {
			for _, r := range amd64Volatile {
				caller.Regs.Clear(r)
			}
			caller.finish(TrustCFI, "unwound from an epilogue")
			caller.exact = false
			return caller, true
		}
	}
	var notes []string
	mach := false
	cur := info
	prolog := off
	for depth := 0; ; depth++ {
		skipped, machHere, ok := w.applyCodes(&caller.Regs, cur, prolog)
		if !ok {
			return Frame{}, false
		}
		if skipped && depth == 0 {
			notes = append(notes, "callee prologue partially executed")
		}
		if machHere {
			mach = true
			notes = append(notes, "unwound through a machine frame")
		}
		if cur.Chained == nil {
			break
		}
		if cur.ChainedInfo == nil || depth >= maxChain {
			return Frame{}, false
		}
		if depth == 0 {
			notes = append(notes, "chained unwind info")
		}
		cur = cur.ChainedInfo
		// A chained parent's prologue has run in full.
		prolog = ^uint32(0)
	}
	if !mach {
		rsp, ok := caller.Regs.Get(minidump.RSP)
		if !ok {
			return Frame{}, false
		}
		ra, ok := w.mem.u64(rsp)
		if !ok {
			return Frame{}, false
		}
		caller.Regs.Set(RegRIP, ra)
		caller.Regs.Set(minidump.RSP, rsp+8)
		for _, r := range amd64Volatile {
			caller.Regs.Clear(r)
		}
	}
	caller.exact = mach
	caller.finish(TrustCFI, joinNotes(notes))
	return caller, true
}

func joinNotes(n []string) string {
	s := ""
	for i, x := range n {
		if i > 0 {
			s += "; "
		}
		s += x
	}
	return s
}

// applyCodes undoes one UNWIND_INFO's prologue operations whose CodeOffset
// is at or below prolog (the offset of the PC in the function). SAVE_*
// offsets are relative to the establisher frame: the frame register minus
// its offset once SET_FPREG has run, else RSP on entry to this step.
func (w *amd64Walker) applyCodes(regs *Regs, u *UnwindInfo, prolog uint32) (skipped, mach, ok bool) {
	rsp, ok := regs.Get(minidump.RSP)
	if !ok {
		return false, false, false
	}
	frame := rsp
	if u.FrameRegister != 0 {
		setFP, hasSetFP := false, false
		for _, c := range u.Codes {
			if c.Op == UwopSetFPReg {
				hasSetFP = true
				setFP = prolog >= uint32(c.CodeOffset)
			}
		}
		if setFP || !hasSetFP {
			fp, ok := regs.Get(int(u.FrameRegister))
			if !ok {
				return false, false, false
			}
			frame = fp - uint64(u.FrameOffsetBytes())
		}
	}
	for _, c := range u.Codes {
		if prolog < uint32(c.CodeOffset) {
			skipped = true
			continue
		}
		switch c.Op {
		case UwopPushNonvol:
			v, ok := w.mem.u64(rsp)
			if !ok {
				return false, false, false
			}
			regs.Set(int(c.OpInfo), v)
			rsp += 8
		case UwopAllocLarge, UwopAllocSmall:
			rsp += uint64(c.Value)
		case UwopSetFPReg:
			fp, ok := regs.Get(int(u.FrameRegister))
			if !ok {
				return false, false, false
			}
			rsp = fp - uint64(u.FrameOffsetBytes())
		case UwopSaveNonvol, UwopSaveNonvolFar:
			v, ok := w.mem.u64(frame + uint64(c.Value))
			if !ok {
				return false, false, false
			}
			regs.Set(int(c.OpInfo), v)
		case UwopPushMachFrame:
			// The CPU pushed SS, RSP, EFLAGS, CS, RIP (and an error code).
			if c.OpInfo != 0 {
				rsp += 8
			}
			rip, ok1 := w.mem.u64(rsp)
			sp, ok2 := w.mem.u64(rsp + 24)
			if !ok1 || !ok2 {
				return false, false, false
			}
			regs.Set(RegRIP, rip)
			rsp = sp
			mach = true
		}
		// SAVE_XMM128(_FAR) restore XMM registers, which are not tracked;
		// EPILOG and SPARE (version 2) describe epilogues only.
		regs.Set(minidump.RSP, rsp)
	}
	regs.Set(minidump.RSP, rsp)
	return skipped, mach, true
}

// epilogue instruction kinds.
const (
	epAddRSP = iota
	epLeaRSP
	epPop
	epRet
)

type epOp struct {
	kind int
	reg  int
	imm  int64
}

// maxEpilogue bounds the bytes examined: an epilogue is at most an add or
// lea, ten pops and a ret or jmp.
const maxEpilogue = 48

// emulateEpilogue recognises the x64 epilogue forms at pc (the sequence
// RtlVirtualUnwind checks: an optional "add rsp, imm" or "lea rsp,
// [frame reg + disp]", then pops, then ret, or a jmp out of the function
// for a tail call) and, if pc is in one, executes the rest of it.
func (w *amd64Walker) emulateEpilogue(regs *Regs, m Module, rf *RuntimeFunction, info *UnwindInfo, pc uint64) bool {
	rva := uint32(pc - m.Base())
	n := min(uint32(maxEpilogue), rf.EndAddress-rva)
	var buf [maxEpilogue]byte
	b := buf[:n]
	if !w.code.readCode(m, pc, b) {
		return false
	}
	ops, ok := decodeEpilogue(b, rva, rf, info)
	if !ok {
		return false
	}
	rsp, ok := regs.Get(minidump.RSP)
	if !ok {
		return false
	}
	for _, op := range ops {
		switch op.kind {
		case epAddRSP:
			rsp += uint64(op.imm)
		case epLeaRSP:
			base, ok := regs.Get(op.reg)
			if !ok {
				return false
			}
			rsp = base + uint64(op.imm)
		case epPop:
			v, ok := w.mem.u64(rsp)
			if !ok {
				return false
			}
			regs.Set(op.reg, v)
			rsp += 8
		case epRet:
			v, ok := w.mem.u64(rsp)
			if !ok {
				return false
			}
			regs.Set(RegRIP, v)
			rsp += 8 + uint64(op.imm)
		}
	}
	regs.Set(minidump.RSP, rsp)
	return true
}

// decodeEpilogue parses b (code at rva) as the remainder of an epilogue.
func decodeEpilogue(b []byte, rva uint32, rf *RuntimeFunction, info *UnwindInfo) ([]epOp, bool) {
	var ops []epOp
	i := 0
	at := func(k int) (byte, bool) {
		if k < len(b) {
			return b[k], true
		}
		return 0, false
	}
	// add rsp, imm8 / imm32 and lea rsp, [reg+disp] need REX.W.
	if len(b) >= 4 && b[0] == 0x48 && b[1] == 0x83 && b[2] == 0xC4 {
		ops = append(ops, epOp{kind: epAddRSP, imm: int64(int8(b[3]))})
		i = 4
	} else if len(b) >= 7 && b[0] == 0x48 && b[1] == 0x81 && b[2] == 0xC4 {
		ops = append(ops, epOp{kind: epAddRSP, imm: int64(int32(le.Uint32(b[3:])))})
		i = 7
	} else if len(b) >= 4 && (b[0] == 0x48 || b[0] == 0x49) && b[1] == 0x8D {
		modrm := b[2]
		mod, reg, rm := modrm>>6, (modrm>>3)&7, modrm&7
		base := int(rm) | int(b[0]&1)<<3
		if reg != 4 || rm == 4 || info.FrameRegister == 0 || base != int(info.FrameRegister) {
			return nil, false
		}
		switch {
		case mod == 1:
			ops = append(ops, epOp{kind: epLeaRSP, reg: base, imm: int64(int8(b[3]))})
			i = 4
		case mod == 2 && len(b) >= 7:
			ops = append(ops, epOp{kind: epLeaRSP, reg: base, imm: int64(int32(le.Uint32(b[3:])))})
			i = 7
		default:
			return nil, false
		}
	}
	for pops := 0; pops <= 16; pops++ {
		c, ok := at(i)
		if !ok {
			return nil, false
		}
		rex := byte(0)
		if c&0xF0 == 0x40 {
			rex = c
			i++
			if c, ok = at(i); !ok {
				return nil, false
			}
		}
		switch {
		case c >= 0x58 && c <= 0x5F:
			ops = append(ops, epOp{kind: epPop, reg: int(c-0x58) | int(rex&1)<<3})
			i++
			continue
		case c == 0xC3:
			return append(ops, epOp{kind: epRet}), true
		case c == 0xF3 && rex == 0:
			if d, ok := at(i + 1); ok && d == 0xC3 {
				return append(ops, epOp{kind: epRet}), true
			}
		case c == 0xC2 && rex == 0:
			if i+3 <= len(b) {
				return append(ops, epOp{kind: epRet, imm: int64(le.Uint16(b[i+1:]))}), true
			}
		case c == 0xE9 || c == 0xEB:
			// A jmp out of the function is a tail call; into it, a branch.
			var rel int64
			l := 2
			if c == 0xE9 {
				if i+5 > len(b) {
					return nil, false
				}
				rel, l = int64(int32(le.Uint32(b[i+1:]))), 5
			} else {
				if i+2 > len(b) {
					return nil, false
				}
				rel = int64(int8(b[i+1]))
			}
			target := int64(rva) + int64(i+l) + rel
			if target >= int64(rf.BeginAddress) && target < int64(rf.EndAddress) {
				return nil, false
			}
			return append(ops, epOp{kind: epRet}), true
		case c == 0xFF:
			// jmp [rip+disp32], or any FF /4 with REX.W, which compilers
			// emit to mark an indirect tail jump as part of an epilogue.
			d, ok := at(i + 1)
			if !ok || (d>>3)&7 != 4 {
				return nil, false
			}
			if d == 0x25 || rex&0x48 == 0x48 {
				return append(ops, epOp{kind: epRet}), true
			}
		}
		return nil, false
	}
	return nil, false
}

// fallback finds the caller without unwind data: the RBP chain when it
// yields a return address that follows a call, else a stack scan, else an
// RBP-chain result that could not be verified. Windows x64 code rarely
// keeps an RBP chain (MSVC and clang set RBP, if at all, anywhere in the
// frame), so an unverified chain would skip frames where the scan finds
// them; Breakpad's amd64 walker never follows RBP on Windows for the same
// reason.
func (w *amd64Walker) fallback(callee *Frame) (Frame, bool) {
	fp, fpClass := w.framePointer(callee)
	if fpClass == raVerified {
		return fp, true
	}
	if sc, ok := w.scan(callee); ok {
		return sc, true
	}
	if fpClass == raUnverified {
		return fp, true
	}
	return Frame{}, false
}

// framePointer follows the RBP chain: [rbp] is the caller's RBP and
// [rbp+8] the return address, as "push rbp; mov rbp, rsp" leaves them.
func (w *amd64Walker) framePointer(callee *Frame) (Frame, int) {
	rbp, ok1 := callee.Regs.Get(minidump.RBP)
	rsp, ok2 := callee.Regs.Get(minidump.RSP)
	if !ok1 || !ok2 || rbp&7 != 0 || rbp < rsp || !w.mem.inStack(rbp) || rbp+16 < rbp {
		return Frame{}, raInvalid
	}
	ra, ok1 := w.mem.u64(rbp + 8)
	next, ok2 := w.mem.u64(rbp)
	if !ok1 || !ok2 {
		return Frame{}, raInvalid
	}
	// The caller's RBP is either above this one on the stack or not a frame
	// pointer at all (0 at the outermost frame).
	if next != 0 && (next <= rbp || !w.mem.inStack(next)) {
		return Frame{}, raInvalid
	}
	class := w.code.checkReturnAddress(ra, 8)
	if class == raInvalid {
		return Frame{}, raInvalid
	}
	var f Frame
	f.Regs.Set(RegRIP, ra)
	f.Regs.Set(minidump.RSP, rbp+16)
	f.Regs.Set(minidump.RBP, next)
	f.finish(TrustFramePointer, "")
	return f, class
}

// homeSpace is the register parameter area a Windows x64 caller reserves
// below its outgoing return address.
const homeSpace = 32

// scan searches the stack above the callee's RSP for a return address.
func (w *amd64Walker) scan(callee *Frame) (Frame, bool) {
	rsp, ok := callee.Regs.Get(minidump.RSP)
	if !ok {
		return Frame{}, false
	}
	start := rsp
	if !callee.exact && callee.Trust != TrustScan && !w.inPrologue {
		// The callee made a call, so by the x64 ABI the bottom of its frame
		// is the 32-byte home area of the function it called, which
		// holds no return address of its own. A scanned callee may be a
		// stale address, though: skipping above it could skip the real
		// caller (Breakpad, which never skips, finds it).
		start += homeSpace
	}
	found, ok := w.code.scan(start, scanWindow(callee.Trust == TrustContext), 8, contextPC(callee))
	if !ok && start != rsp {
		// A caller stopped in its prologue (at the call to a stack probe
		// such as ___chkstk_ms, before it allocates its frame) has no home
		// area yet: its own return address sits right above the callee's.
		found, ok = w.code.scan(rsp, homeSpace/8, 8, contextPC(callee))
	}
	if !ok {
		return Frame{}, false
	}
	var f Frame
	f.verified = found.verified
	f.Regs.Set(RegRIP, found.ra)
	f.Regs.Set(minidump.RSP, found.loc+8)
	// Keep a plausible RBP for the frames above: the slot just below the
	// return address when the callee's RBP points at it ("push rbp; mov
	// rbp, rsp"), else the callee's own RBP if it is above the new RSP
	// (the callee did not touch it).
	if rbp, ok := callee.Regs.Get(minidump.RBP); ok {
		if rbp == found.loc-8 {
			if v, ok := w.mem.u64(rbp); ok {
				f.Regs.Set(minidump.RBP, v)
			}
		} else if rbp >= found.loc+8 {
			f.Regs.Set(minidump.RBP, rbp)
		}
	}
	note := ""
	if !found.verified {
		note = "return address not verified: no code bytes"
	}
	f.finish(TrustScan, note)
	return f, true
}

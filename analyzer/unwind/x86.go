package unwind

import (
	"strings"

	"github.com/dumptriage/dumptriage/analyzer/minidump"
	"github.com/dumptriage/dumptriage/analyzer/symbols/breakpad"
)

type x86Walker struct {
	mem  *memReader
	code codeReader
	mods Modules
}

// x86Vars are the registers a Breakpad program may read, by Regs index.
var x86Vars = [...]struct {
	name string
	reg  int
}{{"$eip", RegEIP}, {"$esp", RegESP}, {"$ebp", RegEBP}, {"$ebx", RegEBX}, {"$esi", RegESI}, {"$edi", RegEDI},
	{"$eax", RegEAX}, {"$ecx", RegECX}, {"$edx", RegEDX}}

// maxSavedRegSearch bounds the saved-register area searched for EBP; real
// functions save a few registers.
const maxSavedRegSearch = 4096

// x86CalleeSaved survive a call (cdecl, stdcall, fastcall, thiscall).
var x86CalleeSaved = [...]int{RegEBX, RegESI, RegEDI, RegEBP}

// WalkX86 walks an x86 thread's stack from its CONTEXT, following
// Breakpad's stackwalker_x86 rules: the callee's STACK WIN record (a type 4
// FrameData program, or type 0 FPO sizes), else its STACK CFI rules, else the
// EBP chain, else a stack scan for a return address that follows a call.
func WalkX86(ctx *minidump.ContextX86, mem Memory, mods Modules, opts Options) []Frame {
	if ctx == nil {
		return nil
	}
	regs := Regs{X86: true}
	regs.Set(RegEAX, uint64(ctx.Eax))
	regs.Set(RegECX, uint64(ctx.Ecx))
	regs.Set(RegEDX, uint64(ctx.Edx))
	regs.Set(RegEBX, uint64(ctx.Ebx))
	regs.Set(RegESP, uint64(ctx.Esp))
	regs.Set(RegEBP, uint64(ctx.Ebp))
	regs.Set(RegESI, uint64(ctx.Esi))
	regs.Set(RegEDI, uint64(ctx.Edi))
	regs.Set(RegEIP, uint64(ctx.Eip))
	mr := newMemReader(mem, opts, uint64(ctx.Esp), 4)
	w := &x86Walker{mem: mr, code: codeReader{mem: mr, mods: mods}, mods: mods}
	frames := append(frameBuf(opts), Frame{PC: uint64(ctx.Eip), SP: uint64(ctx.Esp), FP: uint64(ctx.Ebp), Trust: TrustContext, Regs: regs, exact: true})
	for len(frames) < opts.maxFrames() {
		caller, ok := w.step(frames)
		if !ok || !acceptCaller(mr, &frames[len(frames)-1], &caller, 4) {
			break
		}
		frames = append(frames, caller)
	}
	return frames
}

func (w *x86Walker) read32(addr uint64) (uint64, bool) {
	return w.mem.u32(addr & 0xffffffff)
}

// step finds the caller of the last frame. It records on that frame the
// parameter size of its STACK WIN record, which the next step needs.
func (w *x86Walker) step(frames []Frame) (Frame, bool) {
	callee := &frames[len(frames)-1]
	lookup := callee.PC
	if !callee.exact {
		lookup--
	}
	var m Module
	if w.mods != nil {
		m = w.mods.ModuleAt(lookup)
	}
	if m != nil && lookup >= m.Base() {
		if bp := m.Breakpad(); bp != nil {
			rva := lookup - m.Base()
			var calleeParams uint64
			if len(frames) >= 2 {
				calleeParams = frames[len(frames)-2].winParams
			}
			if win, ok := bp.FindWin(rva); ok {
				callee.winParams = win.ParamSize
				if caller, ok := w.stackWin(callee, win, calleeParams); ok {
					return caller, true
				}
			} else if rules, ok := bp.FindCFI(rva); ok {
				if caller, ok := w.stackCFI(callee, rules); ok {
					return caller, true
				}
			}
		}
	}
	if caller, ok := w.forward(callee, m); ok {
		return caller, true
	}
	return w.fallback(callee)
}

// forward executes the code after the PC to the function's return, when the
// image or the dump holds it (see forwardUnwind).
func (w *x86Walker) forward(callee *Frame, m Module) (Frame, bool) {
	code := w.code.codeAt(m, callee.PC, maxForwardCode)
	if len(code) == 0 {
		return Frame{}, false
	}
	caller := Frame{Regs: callee.Regs}
	if !forwardUnwind(&caller.Regs, code, callee.PC, 32, w.read32) {
		return Frame{}, false
	}
	ra, _ := caller.Regs.Get(RegEIP)
	if w.code.checkReturnAddress(ra, 4) == raInvalid {
		return Frame{}, false
	}
	for _, r := range [...]int{RegEAX, RegECX, RegEDX} {
		caller.Regs.Clear(r)
	}
	caller.finish(TrustEmulation, "no unwind data: executed the code after the pc to its return")
	return caller, true
}

// x86RegVars returns the callee's known registers as Breakpad variables.
func x86RegVars(r *Regs) map[string]uint64 {
	vars := make(map[string]uint64, 16)
	for _, v := range x86Vars {
		if x, ok := r.Get(v.reg); ok {
			vars[v.name] = x
		}
	}
	return vars
}

// stackWin recovers the caller from a STACK WIN record, as Breakpad's
// GetCallerByWindowsFrameInfo does: a FrameData program when there is one,
// else the FPO rule derived from the frame sizes, then a scan when the
// return address it finds is not in a module, and a search of the saved
// register area for EBP when the result's EBP is not usable.
func (w *x86Walker) stackWin(callee *Frame, win *breakpad.StackWin, calleeParams uint64) (Frame, bool) {
	esp, ok := callee.Regs.Get(RegESP)
	if !ok {
		return Frame{}, false
	}
	vars := x86RegVars(&callee.Regs)
	vars[".cbCalleeParams"] = calleeParams
	vars[".cbSavedRegs"] = win.SavedRegSize
	vars[".cbLocals"] = win.LocalSize
	vars[".cbParams"] = win.ParamSize
	raSearchStart := (esp + calleeParams + win.LocalSize + win.SavedRegSize) & 0xffffffff
	// The stack may have been aligned by up to three words.
	if loc, ra, ok := w.scanX86(raSearchStart, 3); ok {
		if callee.Trust == TrustContext && win.Type == breakpad.WinFPO && loc == raSearchStart && ra == callee.PC {
			// An FPO system call stub whose callee already returned: the
			// word on top is the current EIP; the real return address is
			// further up.
			if loc2, _, ok := w.scanX86(raSearchStart+4, 3); ok {
				raSearchStart = loc2
			} else {
				raSearchStart += 4
			}
		} else {
			raSearchStart = loc
		}
	}
	program := win.Program
	recoverEBP := true
	switch {
	case win.HasProgram:
	case win.AllocatesBasePointer:
		// EBP was saved in the saved-register area, below the locals.
		program = "$eip .raSearchStart ^ = $ebp $esp .cbCalleeParams + .cbSavedRegs + 8 - ^ = $esp .raSearchStart 4 + ="
	default:
		// EBP is not used: it still holds the caller's value.
		program = "$eip .raSearchStart ^ = $esp .raSearchStart 4 + ="
		recoverEBP = false
	}
	if strings.Contains(program, "@") {
		// The callee aligned ESP, so only EBP leads to the caller.
		if ebp, ok := callee.Regs.Get(RegEBP); ok {
			raSearchStart = (ebp + 4) & 0xffffffff
		}
	}
	vars[".raSearchStart"] = raSearchStart
	vars[".raSearch"] = raSearchStart
	trust := TrustCFI
	note := "STACK WIN"
	out, err := breakpad.EvalProgram(program, vars, w.read32, 4)
	eip, okIP := out["$eip"]
	newESP, okSP := out["$esp"]
	if err != nil || !okIP || !okSP {
		loc, ra, ok := w.scanX86(esp, scanWindow(callee.Trust == TrustContext))
		if !ok {
			return Frame{}, false
		}
		out = map[string]uint64{}
		eip, newESP = ra, loc+4
		trust, note = TrustScan, "STACK WIN program failed"
	}
	ebp, ok := out["$ebp"]
	if !ok {
		ebp, _ = callee.Regs.Get(RegEBP)
	}
	if eip != 0 || ebp != 0 {
		offset := uint64(0)
		if w.code.checkReturnAddress(eip, 4) == raInvalid {
			start := (raSearchStart + 4) & 0xffffffff
			if loc, ra, ok := w.scanX86(start, scanWindow(false)); ok {
				eip, newESP = ra, loc+4
				offset = loc - start
				trust, note = TrustCFIScan, "STACK WIN, return address found by scanning"
			}
		}
		if recoverEBP {
			_, readable := w.read32(ebp)
			skipped := trust != TrustCFI && ebp <= raSearchStart+offset
			if skipped || !readable {
				// Search the saved-register area, highest first, for a
				// word that points into readable memory.
				lo := (esp + calleeParams) & 0xffffffff
				top := lo + min(win.SavedRegSize+offset, maxSavedRegSearch)
				for loc := top; loc >= lo && loc <= top; loc -= 4 {
					v, ok := w.read32(loc)
					if !ok {
						break
					}
					if _, ok := w.read32(v); ok {
						ebp = v
						break
					}
					if loc < 4 {
						break
					}
				}
			}
		}
	}
	caller := Frame{Regs: Regs{X86: true}}
	caller.Regs.Set(RegEIP, eip)
	caller.Regs.Set(RegESP, newESP)
	caller.Regs.Set(RegEBP, ebp)
	for _, r := range [...]struct {
		name string
		reg  int
	}{{"$ebx", RegEBX}, {"$esi", RegESI}, {"$edi", RegEDI}} {
		if v, ok := out[r.name]; ok {
			caller.Regs.Set(r.reg, v)
		}
	}
	caller.finish(trust, note)
	return caller, true
}

// stackCFI recovers the caller from STACK CFI rules: .cfa first, then .ra
// and the register rules with .cfa known. Callee-saved registers without a
// rule keep their values.
func (w *x86Walker) stackCFI(callee *Frame, rules breakpad.CFIRules) (Frame, bool) {
	vars := x86RegVars(&callee.Regs)
	cfaRule, ok1 := rules[".cfa"]
	raRule, ok2 := rules[".ra"]
	if !ok1 || !ok2 {
		return Frame{}, false
	}
	cfa, err := breakpad.EvalExpr(cfaRule, vars, w.read32, 4)
	if err != nil {
		return Frame{}, false
	}
	vars[".cfa"] = cfa
	ra, err := breakpad.EvalExpr(raRule, vars, w.read32, 4)
	if err != nil {
		return Frame{}, false
	}
	caller := Frame{Regs: Regs{X86: true}}
	for _, r := range x86CalleeSaved {
		if v, ok := callee.Regs.Get(r); ok {
			caller.Regs.Set(r, v)
		}
	}
	for _, v := range x86Vars {
		rule, ok := rules[v.name]
		if !ok {
			continue
		}
		if x, err := breakpad.EvalExpr(rule, vars, w.read32, 4); err == nil {
			caller.Regs.Set(v.reg, x)
		} else {
			caller.Regs.Clear(v.reg)
		}
	}
	caller.Regs.Set(RegEIP, ra)
	caller.Regs.Set(RegESP, cfa)
	caller.finish(TrustCFI, "STACK CFI")
	return caller, true
}

// scanX86 scans words from start for a return address.
func (w *x86Walker) scanX86(start uint64, words int) (loc, ra uint64, ok bool) {
	f, ok := w.code.scan(start, words, 4, 0)
	return f.loc, f.ra, ok
}

// fallback uses the EBP chain, then a scan, preferring verified return
// addresses, as amd64Walker.fallback does.
func (w *x86Walker) fallback(callee *Frame) (Frame, bool) {
	if w.chainEnds(callee) {
		return Frame{}, false
	}
	fp, fpClass := w.framePointer(callee)
	if fpClass == raVerified {
		return fp, true
	}
	sc, ok := w.scan(callee)
	if ok && (sc.verified || fpClass == raInvalid) {
		return sc, true
	}
	if fpClass == raUnverified {
		return fp, true
	}
	return Frame{}, false
}

// chainEnds reports the outermost frame of an EBP chain: thread start
// code leaves a zero saved EBP and return address at [ebp].
func (w *x86Walker) chainEnds(callee *Frame) bool {
	ebp, ok := callee.Regs.Get(RegEBP)
	if !ok || ebp == 0 || !w.mem.inStack(ebp) {
		return false
	}
	next, ok1 := w.read32(ebp)
	ra, ok2 := w.read32(ebp + 4)
	return ok1 && ok2 && next == 0 && ra == 0
}

// framePointer follows "push ebp; mov ebp, esp": [ebp] is the caller's EBP
// and [ebp+4] the return address.
func (w *x86Walker) framePointer(callee *Frame) (Frame, int) {
	ebp, ok1 := callee.Regs.Get(RegEBP)
	esp, ok2 := callee.Regs.Get(RegESP)
	if !ok1 || !ok2 || ebp&3 != 0 || ebp < esp || !w.mem.inStack(ebp) || ebp+8 > 0xffffffff {
		return Frame{}, raInvalid
	}
	ra, ok1 := w.read32(ebp + 4)
	next, ok2 := w.read32(ebp)
	if !ok1 || !ok2 {
		return Frame{}, raInvalid
	}
	if next != 0 && (next <= ebp || !w.mem.inStack(next)) {
		return Frame{}, raInvalid
	}
	class := w.code.checkReturnAddress(ra, 4)
	if class == raInvalid {
		return Frame{}, raInvalid
	}
	f := Frame{Regs: Regs{X86: true}}
	f.Regs.Set(RegEIP, ra)
	f.Regs.Set(RegESP, ebp+8)
	f.Regs.Set(RegEBP, next)
	f.finish(TrustFramePointer, "")
	return f, class
}

// scan searches above ESP for a return address. The caller's EBP is taken
// from the slot below the return address when the callee's EBP points at
// it, else kept when it lies above the new ESP.
func (w *x86Walker) scan(callee *Frame) (Frame, bool) {
	esp, ok := callee.Regs.Get(RegESP)
	if !ok {
		return Frame{}, false
	}
	found, ok := w.code.scan(esp, scanWindow(callee.Trust == TrustContext), 4, contextPC(callee))
	if !ok {
		return Frame{}, false
	}
	f := Frame{Regs: Regs{X86: true}, verified: found.verified}
	f.Regs.Set(RegEIP, found.ra)
	f.Regs.Set(RegESP, found.loc+4)
	if ebp, ok := callee.Regs.Get(RegEBP); ok {
		if ebp == found.loc-4 {
			if v, ok := w.read32(ebp); ok {
				f.Regs.Set(RegEBP, v)
			}
		} else if ebp >= found.loc+4 {
			f.Regs.Set(RegEBP, ebp)
		}
	}
	note := ""
	if !found.verified {
		note = "return address not verified: no code bytes"
	}
	f.finish(TrustScan, note)
	return f, true
}

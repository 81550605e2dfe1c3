package analyzer

import (
	"encoding/hex"
	"fmt"
	"math"
	"path"
	"strings"

	"github.com/dumptriage/dumptriage/analyzer/disasm"
	"github.com/dumptriage/dumptriage/analyzer/ntstatus"
	"github.com/dumptriage/dumptriage/analyzer/report"
	"github.com/dumptriage/dumptriage/analyzer/stackoverflow"
)

// Bounds of the crash view: it stays a few hundred KB whatever the dump.
const (
	// crashViewCallers is how many callers of the crashing frame get a
	// disassembly window.
	crashViewCallers = 32
	// Instructions shown before and from the crash address, and before
	// and from a return address (the call is the last one before it).
	crashBefore, crashAfter   = 8, 8
	callerBefore, callerAfter = 8, 3
	// hexViewBytes is the size of a memory window, centred on the address.
	hexViewBytes = 256
	// maxOperandName bounds a symbol name written into an operand.
	maxOperandName = 160
)

// Recursion folding: a cycle is folded on the page when it repeats at least
// minFoldRepeats times over at least minFoldFrames frames; less saves
// nothing worth a click.
const (
	minFoldRepeats = 3
	minFoldFrames  = 6
)

// describeCrashView fills crash_view: the code around the crashing
// thread's instruction pointer and its callers' return addresses, and the
// captured memory around the exception and accessed addresses.
func (a *analysis) describeCrashView() {
	c := a.crashIndex
	if c < 0 || c >= len(a.rep.Threads) {
		return
	}
	mode := 0
	switch a.d.Arch().String() {
	case "amd64":
		mode = 64
	case "x86":
		mode = 32
	default:
		return
	}
	cv := &report.CrashView{Disassembly: []report.Disassembly{}, Memory: []report.MemoryView{}}
	frames := a.rep.Threads[c].Frames
	seen := map[uint64]int{} // address -> the frame whose window shows it
	for k := 0; k < len(frames) && k <= crashViewCallers; k++ {
		if err := a.ctx.Err(); err != nil {
			break
		}
		f := frames[k]
		addr, ret := uint64(f.Offset), k > 0
		if ret {
			addr++ // a caller's offset is its return address - 1
		}
		if addr <= 1 {
			continue
		}
		if j, ok := seen[addr]; ok {
			// A recursion returns to one address many times: show it once.
			cv.Disassembly = append(cv.Disassembly, report.Disassembly{Frame: k, Address: report.Addr(addr), Start: report.Addr(addr),
				SameAs: &j, Instructions: []report.Instruction{}})
			continue
		}
		seen[addr] = k
		req := disasm.Request{Mode: mode, Address: addr, Return: ret, Before: crashBefore, After: crashAfter, Symbol: a.operandName}
		if ret {
			req.Before, req.After = callerBefore, callerAfter
		}
		req.FunctionStart, req.HasFunctionStart = a.codeStart(f, mode)
		w := disasm.Window(a.memory(), req)
		w.Frame = k
		w.Source = a.codeSource(w.Instructions)
		cv.Disassembly = append(cv.Disassembly, w)
	}
	if e := a.d.Exception; e != nil {
		cv.Memory = append(cv.Memory, a.memoryView("exception address", e.Address))
		platform := uint32(2)
		if a.d.SystemInfo != nil {
			platform = a.d.SystemInfo.PlatformID
		}
		if (accessFault(platform, e.Code) || e.Code == ntstatus.StackOverflow) && len(e.Parameters) >= 2 && e.Parameters[1] != e.Address {
			cv.Memory = append(cv.Memory, a.memoryView("accessed address", e.Parameters[1]))
		}
	}
	a.rep.CrashView = cv
}

// codeStart is the start of a frame's function, from its symbol (not a
// nearest export) or, on amd64 only, its RUNTIME_FUNCTION.
func (a *analysis) codeStart(f report.Frame, mode int) (uint64, bool) {
	if mode != 64 && (f.Function == "" || f.SymbolSource == "exports") {
		return 0, false
	}
	return a.functionStart(f)
}

// operandName names an address in an operand as WinDbg does
// (module!function+0x10) when a symbol covers it; other addresses in a
// module are written in hex, so that a rip-relative operand shows the
// address it reads. The name carries its own offset: x86asm would write
// it in decimal.
func (a *analysis) operandName(addr uint64) (string, uint64) {
	m := a.d.ModuleAt(addr)
	if m == nil {
		return "", 0
	}
	rva := addr - m.Base
	sym, ok := a.lookupSymbol(m, rva)
	if !ok || (sym.Source == "exports" && sym.RVA != rva) {
		return fmt.Sprintf("%#x", addr), addr
	}
	mod := strings.TrimSuffix(m.FileName(), path.Ext(m.FileName()))
	name := truncate(mod, maxOperandName) + "!" + truncate(sym.Name, maxOperandName)
	if off := rva - sym.RVA; off != 0 {
		name += fmt.Sprintf("+%#x", off)
	}
	return name, addr
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// codeSource says where a window's bytes came from: captured memory, the
// module image, or both.
func (a *analysis) codeSource(ins []report.Instruction) string {
	dump, image := false, false
	for _, in := range ins {
		if a.d.HasMemory(uint64(in.Address), uint64(len(in.Bytes)/2)) {
			dump = true
		} else {
			image = true
		}
	}
	switch {
	case dump && image:
		return "dump+image"
	case image:
		return "image"
	case dump:
		return "dump"
	}
	return ""
}

// memoryView is the hexViewBytes of captured memory around addr, 16-aligned.
func (a *analysis) memoryView(what string, addr uint64) report.MemoryView {
	start := addr &^ 15
	start -= min(start, hexViewBytes/2)
	start = min(start, math.MaxUint64-hexViewBytes+1)
	buf := make([]byte, hexViewBytes)
	have := make([]bool, hexViewBytes)
	captured := 0
	for off := 0; off < hexViewBytes; {
		n, _ := a.d.ReadMemory(start+uint64(off), buf[off:])
		if n <= 0 {
			off++
			continue
		}
		for i := off; i < off+n; i++ {
			have[i] = true
		}
		captured += n
		off += n
	}
	v := report.MemoryView{What: what, Address: report.Addr(addr), Start: report.Addr(start), Size: hexViewBytes, Captured: captured}
	if captured == 0 {
		return v
	}
	var b strings.Builder
	b.Grow(2 * hexViewBytes)
	for i, ok := range have {
		if ok {
			b.WriteString(hex.EncodeToString(buf[i : i+1]))
		} else {
			b.WriteString("??")
		}
	}
	v.Bytes = b.String()
	return v
}

// foldRecursion finds, on every thread, the cycle of frames that repeats
// most, for the page to fold it.
func (a *analysis) foldRecursion() {
	for i := range a.rep.Threads {
		t := &a.rep.Threads[i]
		t.Recursion = foldable(t.Frames)
	}
}

// foldable is the frames' longest-covering cycle when it is worth folding.
func foldable(frames []report.Frame) *report.Recursion {
	if len(frames) < minFoldFrames {
		return nil
	}
	r := stackoverflow.FindRecursion(frames)
	if r == nil || r.Repeats < minFoldRepeats || r.Repeats*len(r.Frames) < minFoldFrames {
		return nil
	}
	for k, name := range r.Frames {
		r.Frames[k] = truncate(name, maxFoldName)
	}
	return r
}

// maxFoldName bounds a frame name kept in a thread's recursion.
const maxFoldName = 512

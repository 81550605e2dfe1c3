package analyzer

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/dumptriage/dumptriage/analyzer/callsite"
	"github.com/dumptriage/dumptriage/analyzer/ntstatus"
	"github.com/dumptriage/dumptriage/analyzer/oom"
	"github.com/dumptriage/dumptriage/analyzer/report"
	"github.com/dumptriage/dumptriage/analyzer/unwind"
)

// maxPassThrough bounds how many frames an argument register is followed
// through when callers pass it along unchanged.
const maxPassThrough = 4

func (a *analysis) analyzeAllocationFailure() {
	e := a.d.Exception
	if e == nil || a.crashIndex < 0 {
		return
	}
	frames := a.rep.Threads[a.crashIndex].Frames
	thrown := ""
	if a.rep.Exception != nil {
		thrown = a.rep.Exception.ThrownType
	}
	unreal := map[string]string{}
	for k, v := range a.rep.Annotations {
		if strings.HasPrefix(k, "unreal:") {
			unreal[strings.TrimPrefix(k, "unreal:")] = v
		}
	}
	why, ok := oom.Recognize(e.Code, thrown, frames, unreal)
	if !ok {
		return
	}
	af := &report.AllocationFailure{Recognized: why, Confidence: report.ConfidenceLow, Verdict: "unknown"}
	a.rep.AllocationFailure = af
	a.recoverSize(af, frames)
	if v := unreal["OOMAllocationSize"]; v != "" && af.RequestedBytes == nil {
		if n, err := strconv.ParseUint(v, 10, 64); err == nil && n > 0 {
			af.RequestedBytes = &n
			af.Method = "the application's crash context (Unreal MemoryStats.OOMAllocationSize)"
			af.Confidence = report.ConfidenceHigh
		}
	}
	if e.Code == ntstatus.NoMemory && len(e.Parameters) > 0 {
		n := e.Parameters[0]
		note := fmt.Sprintf("ExceptionInformation[0] of STATUS_NO_MEMORY is %d (Windows' heap puts the requested size there)", n)
		af.Evidence = append(af.Evidence, note)
		if af.RequestedBytes == nil && n > 0 {
			af.RequestedBytes = &n
			af.Method = "ExceptionInformation[0] of STATUS_NO_MEMORY"
			af.Confidence = report.ConfidenceMedium
		} else if af.RequestedBytes != nil && *af.RequestedBytes != n {
			af.Evidence = append(af.Evidence, "it disagrees with the size recovered from the code")
		}
	} else if e.Code == ntstatus.NoMemory {
		af.Evidence = append(af.Evidence, "STATUS_NO_MEMORY was raised with no parameters (Wine does this), so the size must come from the stack")
	}
	if af.RequestedBytes == nil && af.Method == "" {
		af.Method = "not recovered"
	}
	if af.RequestedBytes == nil {
		a.warn("allocation_failure: requested_bytes is null: %s", af.Method)
	}
	facts := oom.Facts{Is64: a.d.PointerSize() == 8, ExceptionCode: e.Code}
	if s := a.rep.MemorySummary; s != nil {
		facts.AddressSpaceBytes = s.AddressSpaceBytes
		lf := s.LargestFreeBytes
		facts.LargestFree = &lf
	} else if facts.Is64 {
		facts.AddressSpaceBytes = 128 << 40
	} else {
		facts.AddressSpaceBytes = 4 << 30
	}
	p := a.rep.Process
	facts.CommitTotal, facts.CommitLimit, facts.ProcessPrivate = p.CommitTotalBytes, p.CommitLimitBytes, p.PrivateBytes
	oom.Verdict(af, facts)
}

// recoverSize finds the innermost allocator frame and evaluates its size
// argument at the call in its caller, following pass-through arguments.
func (a *analysis) recoverSize(af *report.AllocationFailure, frames []report.Frame) {
	k, alloc := -1, (*oom.Allocator)(nil)
	for i, f := range frames {
		if al, ok := oom.Match(f.Function); ok && al.Kind != oom.KindCount {
			k, alloc = i, al
			break
		}
	}
	if k < 0 {
		// Only a container's allocate(n) is on the stack.
		for i, f := range frames {
			if al, ok := oom.Match(f.Function); ok {
				k, alloc = i, al
				break
			}
		}
	}
	if k < 0 || k+1 >= len(frames) {
		af.Method = "no allocator frame on the crashing stack"
		return
	}
	af.Allocator = oom.StripTemplates(frames[k].Function)
	switch a.d.Arch().String() {
	case "amd64":
		a.recoverSizeAMD64(af, frames, k, alloc)
	case "x86":
		a.recoverSizeX86(af, frames, k, alloc)
	}
	a.crossCheckDebugInfo(af, frames, k)
}

func (a *analysis) recoverSizeAMD64(af *report.AllocationFailure, frames []report.Frame, k int, alloc *oom.Allocator) {
	if alloc.Arg >= 4 {
		af.Method = fmt.Sprintf("argument %d of %s is passed on the stack; not evaluated", alloc.Arg, af.Allocator)
		return
	}
	reg := callsite.ArgRegsWin64[alloc.Arg]
	walk := a.walks[a.crashIndex]
	var steps []string
	for hop := 0; hop < maxPassThrough && k+1+hop < len(frames) && k+1+hop < len(walk); hop++ {
		ci := k + 1 + hop // the calling frame
		caller := frames[ci]
		start, ok := a.functionStart(caller)
		if !ok {
			af.Method = fmt.Sprintf("the start of %s is unknown, so its code cannot be followed", frameName(caller))
			return
		}
		f := callsite.Frame{}
		for r := 0; r < 16; r++ {
			if v, ok := walk[ci].Regs.Get(r); ok {
				f.Regs[r], f.Valid[r] = v, true
			}
		}
		f.Regs[callsite.RSP], f.Valid[callsite.RSP] = walk[ci].SP, true
		res, err := callsite.ArgAMD64(a.memory(), a.memory(), start, walk[ci].PC, reg, f)
		if err != nil {
			af.Method = fmt.Sprintf("%s at the call in %s: %v", callsite.RegName(reg), frameName(caller), err)
			return
		}
		steps = append(steps, res.Steps...)
		if res.Incoming >= 0 {
			// Passed through from the caller's caller: continue there.
			reg = res.Incoming
			continue
		}
		v := res.Value
		if alloc.Kind == oom.KindSizePtr {
			p, ok := a.memory().ReadU64(v)
			if !ok {
				af.Method = fmt.Sprintf("the size pointer %#x is not captured", v)
				return
			}
			v = p
		}
		af.RequestedBytes = &v
		if res.Count != nil {
			af.ElementCount, af.ElementSize = res.Count, res.ElementSize
		}
		if alloc.Kind == oom.KindCount {
			n := v
			af.ElementCount, af.RequestedBytes = &n, nil
		}
		af.Method = fmt.Sprintf("%s at the call to %s in %s = %s, evaluated with the frame's recovered registers (%s)",
			callsite.RegName(reg), af.Allocator, frameName(caller), res.Expr, strings.Join(steps, "; "))
		af.Confidence = res.Confidence
		if hop > 0 {
			af.Method += fmt.Sprintf("; the value was passed through %d frame(s)", hop)
		}
		return
	}
	af.Method = "the size register was passed through more frames than were followed"
}

func (a *analysis) recoverSizeX86(af *report.AllocationFailure, frames []report.Frame, k int, alloc *oom.Allocator) {
	// The caller pushed the arguments before the call: argument n sits at
	// the caller's stack pointer (after the return) plus 4n.
	sp := uint64(frames[k+1].SP)
	v, ok := a.memory().ReadU32(sp + 4*uint64(alloc.Arg))
	if !ok {
		af.Method = fmt.Sprintf("argument %d of %s at %#x is not captured", alloc.Arg, af.Allocator, sp+4*uint64(alloc.Arg))
		return
	}
	n := uint64(v)
	if alloc.Kind == oom.KindCalloc {
		if w, ok := a.memory().ReadU32(sp + 4*uint64(alloc.Arg+1)); ok {
			n *= uint64(w)
		}
	}
	af.RequestedBytes = &n
	af.Method = fmt.Sprintf("stack argument %d of %s at [esp+%#x] of %s", alloc.Arg, af.Allocator, 4*alloc.Arg, frameName(frames[k+1]))
	af.Confidence = report.ConfidenceMedium // the callee may have changed its argument slot
}

// functionStart is the address of the function containing a frame: from
// its symbol, else from its RUNTIME_FUNCTION.
func (a *analysis) functionStart(f report.Frame) (uint64, bool) {
	if f.Function != "" && f.SymbolSource != "exports" {
		return uint64(f.Offset) - uint64(f.FunctionOffset), true
	}
	m := a.unwindModules().ModuleAt(uint64(f.Offset))
	if m == nil {
		return 0, false
	}
	rf, _, err := unwind.LookupFunctionAMD64(m, uint32(uint64(f.Offset)-m.Base()))
	if err != nil || rf == nil {
		return 0, false
	}
	return m.Base() + uint64(rf.BeginAddress), true
}

func frameName(f report.Frame) string {
	s := report.FrameText(f)
	if i := strings.Index(s, " ["); i > 0 {
		s = s[:i]
	}
	return s
}

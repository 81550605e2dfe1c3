package analyzer

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/dumptriage/dumptriage/analyzer/memmap"
	"github.com/dumptriage/dumptriage/analyzer/minidump"
	"github.com/dumptriage/dumptriage/analyzer/ntstatus"
	"github.com/dumptriage/dumptriage/analyzer/report"
	"github.com/dumptriage/dumptriage/analyzer/stackoverflow"
)

// nearLimitPages: a thread within this many pages of the end of its stack
// reservation is reported as (about to) overflow even without 0xC00000FD.
const nearLimitPages = 3

const (
	pageGuard = 0x100
	memFree   = 0x10000
)

// tebStack reads StackBase, StackLimit and DeallocationStack from a TEB.
func (a *analysis) tebStack(teb uint64) (base, limit, dealloc uint64, ok bool) {
	if teb == 0 {
		return 0, 0, 0, false
	}
	mem, tl := a.memory(), a.teb()
	b, ok1 := mem.ReadPointer(teb + tl.stackBase)
	l, ok2 := mem.ReadPointer(teb + tl.stackLimit)
	dl, ok3 := mem.ReadPointer(teb + tl.deallocationStack)
	if !ok1 || !ok2 || b == 0 || l > b {
		return 0, 0, 0, false
	}
	if !ok3 || dl > l {
		dl = 0
	}
	return b, l, dl, true
}

// overflowThread picks the thread to report: the crashing thread for
// EXCEPTION_STACK_OVERFLOW, else any thread within a few pages of its limit.
func (a *analysis) overflowThread() int {
	if e := a.d.Exception; e != nil && e.Code == ntstatus.StackOverflow && a.crashIndex >= 0 {
		return a.crashIndex
	}
	for i := range a.d.Threads {
		ctx, _ := a.threadContext(i)
		_, _, dl, ok := a.tebStack(a.d.Threads[i].Teb)
		if ctx == nil || !ok || dl == 0 {
			continue
		}
		if sp := ctx.SP(); sp >= dl && sp-dl < nearLimitPages*0x1000 {
			return i
		}
	}
	return -1
}

func (a *analysis) analyzeStackOverflow() {
	i := a.overflowThread()
	if i < 0 {
		return
	}
	t := &a.d.Threads[i]
	ctx, _ := a.threadContext(i)
	in := stackoverflow.Input{ThreadID: t.ID, PageSize: 0x1000, Frames: a.rep.Threads[i].Frames}
	if ctx != nil {
		in.SP = ctx.SP()
	}
	if sm := a.d.SystemMemory; sm != nil && sm.PageSize != 0 {
		in.PageSize = uint64(sm.PageSize)
	}
	if b, l, dl, ok := a.tebStack(t.Teb); ok {
		in.HaveBounds, in.BoundsSource = true, stackoverflow.SourceTEB
		in.StackBase, in.StackLimit, in.DeallocationStack = b, l, dl
	} else if rs, ok := regionStack(a.d.MemoryInfo, in.SP); ok {
		in.HaveBounds, in.BoundsSource = true, stackoverflow.SourceMemoryRegions
		in.StackBase, in.StackLimit, in.DeallocationStack = rs.base, rs.limit, rs.dealloc
	} else if t.Stack.DataSize > 0 {
		in.CapturedStackEnd = t.Stack.Start + uint64(t.Stack.DataSize)
	}
	if len(a.d.Modules) > 0 {
		if im := a.files(&a.d.Modules[0]).image; im != nil {
			r, c := im.SizeOfStackReserve(), im.SizeOfStackCommit()
			in.Reserve, in.Commit = &r, &c
			in.ReserveSource = "PE optional header of " + a.d.Modules[0].FileName()
		}
	}
	if in.HaveBounds {
		in.Guard, in.GuardConfidence, in.GuardNote = guardRegion(a.d.MemoryInfo, in.DeallocationStack, in.StackLimit, in.StackBase)
	}
	if w, note, ok := a.dumpWriter(); ok {
		in.WriterThreadID, in.WriterNote = &w, note
	}
	so := stackoverflow.Analyze(in)
	a.rep.StackOverflow = so
	if so.StackReserveBytes == nil {
		a.warn("stack_overflow: stack reserve and commit are null: the main module's image was not found (add its folder to the symbol path)")
	}
	if so.StackLimit == nil {
		a.warn("stack_overflow: stack_limit, deallocation_stack and remaining_bytes are null: the thread's TEB was not captured and no MemoryInfoList region holds its stack pointer")
	}
}

// pageNoAccess is PAGE_NOACCESS (MEMORY_BASIC_INFORMATION.Protect);
// memCommit is declared with the other protection constants.
const pageNoAccess = 0x01

// regionBounds are a thread's stack bounds read from MemoryInfoList.
type regionBounds struct{ base, limit, dealloc uint64 }

// maxStackRegions bounds the regions one stack allocation may have; a
// stack has a handful (reserved, guard, committed).
const maxStackRegions = 4096

// regionStack reads a thread's stack bounds from the MINIDUMP_MEMORY_INFO
// regions when its TEB was not captured. A thread stack is one
// reservation: DeallocationStack is the AllocationBase of the region that
// holds sp, StackBase the end of the last region of that allocation, and
// StackLimit the lowest address of the committed, accessible (not
// PAGE_GUARD, not PAGE_NOACCESS) regions that run up to sp without a gap.
func regionStack(regions []minidump.MemoryInfo, sp uint64) (regionBounds, bool) {
	if sp == 0 {
		return regionBounds{}, false
	}
	var alloc uint64
	found := false
	for _, m := range regions {
		if sp >= m.BaseAddress && sp-m.BaseAddress < m.RegionSize {
			alloc, found = m.AllocationBase, m.State == memCommit
			break
		}
	}
	if !found || alloc == 0 || alloc > sp {
		return regionBounds{}, false
	}
	var own []minidump.MemoryInfo
	for _, m := range regions {
		if m.AllocationBase == alloc && m.State != memFree && m.RegionSize != 0 {
			if len(own) == maxStackRegions {
				return regionBounds{}, false
			}
			own = append(own, m)
		}
	}
	slices.SortFunc(own, func(x, y minidump.MemoryInfo) int { return cmp.Compare(x.BaseAddress, y.BaseAddress) })
	// The allocation's regions must run without a gap from its base to
	// past sp; StackBase is where the run ends.
	b := regionBounds{dealloc: alloc, base: alloc}
	k := -1
	for i, m := range own {
		if m.BaseAddress != b.base {
			break
		}
		if sp >= m.BaseAddress && sp-m.BaseAddress < m.RegionSize {
			k = i
		}
		b.base = m.BaseAddress + m.RegionSize
	}
	if k < 0 {
		return regionBounds{}, false
	}
	for i := k; i >= 0; i-- {
		m := own[i]
		if m.State != memCommit || m.Protect == 0 || m.Protect&(pageGuard|pageNoAccess) != 0 {
			break
		}
		b.limit = m.BaseAddress
	}
	if b.limit == 0 {
		return regionBounds{}, false
	}
	return b, true
}

// guardRegion finds the stack's guard region in MemoryInfoList: a
// PAGE_GUARD region inside [dealloc, base), else the committed region just
// below StackLimit, which after an overflow is what is left of the guard
// pages (Wine keeps a PAGE_NOACCESS page at the bottom of every stack;
// Windows leaves the last page reserved).
func guardRegion(regions []minidump.MemoryInfo, dealloc, limit, base uint64) (*report.GuardPage, string, string) {
	if len(regions) == 0 {
		return nil, "", ""
	}
	for _, m := range regions {
		if m.Protect&pageGuard != 0 && m.BaseAddress >= dealloc && m.BaseAddress < base {
			return &report.GuardPage{Base: report.Addr(m.BaseAddress), Size: m.RegionSize,
				State: memmap.StateName(m.State), Protect: memmap.ProtectName(m.Protect)}, report.ConfidenceHigh, ""
		}
	}
	for _, m := range regions {
		if m.BaseAddress >= dealloc && m.BaseAddress < limit && m.BaseAddress+m.RegionSize == limit && m.State == memCommit {
			return &report.GuardPage{Base: report.Addr(m.BaseAddress), Size: m.RegionSize,
					State: memmap.StateName(m.State), Protect: memmap.ProtectName(m.Protect)}, report.ConfidenceMedium,
				fmt.Sprintf("no PAGE_GUARD region is left in the stack: the guard pages were used up by the overflow; the committed %s region below StackLimit is where the stack ended", memmap.ProtectName(m.Protect))
		}
	}
	return nil, "", ""
}

// dumpWriter finds the thread that wrote the dump: Breakpad says so; Wine
// gives the writer's thread entry the exception context; otherwise the
// thread whose stack is inside MiniDumpWriteDump.
func (a *analysis) dumpWriter() (uint32, string, bool) {
	d := a.d
	if b := d.BreakpadInfo; b != nil && b.HasDumpThreadID {
		return b.DumpThreadID, "the Breakpad info stream names it", true
	}
	if e := d.Exception; e != nil && e.Context != nil {
		for i := range d.Threads {
			t := &d.Threads[i]
			if t.ID != e.ThreadID && t.Context != nil && sameContext(t.Context, e.Context) {
				return t.ID, fmt.Sprintf("thread %#x's context in the thread list is the exception context (Wine writes the dump writer's entry this way)", t.ID), true
			}
		}
	}
	for i, th := range a.rep.Threads {
		for _, f := range th.Frames {
			if f.Function == "MiniDumpWriteDump" || (f.Module == "dbghelp.dll" && i >= 0 && f.Function != "") {
				return th.ThreadID, fmt.Sprintf("thread %#x is inside %s!%s", th.ThreadID, f.Module, f.Function), true
			}
		}
	}
	return 0, "", false
}

func sameContext(x, y *minidump.Context) bool {
	return x.PC() == y.PC() && x.SP() == y.SP() && x.PC() != 0
}

package memmap

import (
	"fmt"
	"sort"

	"github.com/dumptriage/dumptriage/analyzer/minidump"
)

// Ranks of allocation usages: an allocation claimed by several keeps the
// lowest.
const (
	rankStack = iota
	rankHeap
	rankOther
)

// tebLayout holds the offsets of the TEB and PEB fields read here, for one
// pointer size. The PEB fields are those the Windows 7 to 11 layouts share.
type tebLayout struct {
	ptr                                 uint64 // pointer size
	tebSize                             uint64 // pages WinDbg counts as TEB
	stackBase, stackLimit, deallocStack uint64 // NT_TIB.StackBase, NT_TIB.StackLimit, TEB.DeallocationStack
	peb                                 uint64 // TEB.ProcessEnvironmentBlock
	processHeap, numberOfHeaps, heaps   uint64 // PEB.ProcessHeap, PEB.NumberOfHeaps, PEB.ProcessHeaps
	other                               []pebField
}

type pebField struct {
	off  uint64
	name string
}

var layout64 = tebLayout{ptr: 8, tebSize: 0x2000, stackBase: 0x8, stackLimit: 0x10, deallocStack: 0x1478, peb: 0x60,
	processHeap: 0x30, numberOfHeaps: 0xE8, heaps: 0xF0,
	other: []pebField{
		{0x68, "API set map (PEB.ApiSetMap)"},
		{0x88, "Read-only shared memory (PEB.ReadOnlySharedMemoryBase)"},
		{0xA0, "NLS tables (PEB.AnsiCodePageData)"},
		{0xA8, "NLS tables (PEB.OemCodePageData)"},
		{0xB0, "NLS tables (PEB.UnicodeCaseTableData)"},
		{0xF8, "GDI shared handle table (PEB.GdiSharedHandleTable)"},
		{0x2D8, "Shim data (PEB.pShimData)"},
		{0x2F8, "Activation context data (PEB.ActivationContextData)"},
		{0x308, "System default activation context data (PEB.SystemDefaultActivationContextData)"},
	}}

var layout32 = tebLayout{ptr: 4, tebSize: 0x1000, stackBase: 0x4, stackLimit: 0x8, deallocStack: 0xE0C, peb: 0x30,
	processHeap: 0x18, numberOfHeaps: 0x88, heaps: 0x90,
	other: []pebField{
		{0x38, "API set map (PEB.ApiSetMap)"},
		{0x4C, "Read-only shared memory (PEB.ReadOnlySharedMemoryBase)"},
		{0x58, "NLS tables (PEB.AnsiCodePageData)"},
		{0x5C, "NLS tables (PEB.OemCodePageData)"},
		{0x60, "NLS tables (PEB.UnicodeCaseTableData)"},
		{0x94, "GDI shared handle table (PEB.GdiSharedHandleTable)"},
		{0x1E8, "Shim data (PEB.pShimData)"},
		{0x1F8, "Activation context data (PEB.ActivationContextData)"},
		{0x200, "System default activation context data (PEB.SystemDefaultActivationContextData)"},
	}}

// kuserSharedData is KUSER_SHARED_DATA's fixed user-mode address on x86 and x64.
const kuserSharedData = 0x7FFE0000

// maxHeaps bounds PEB.NumberOfHeaps; real processes have a few dozen.
const maxHeaps = 4096

func (b *builder) readPtr(l *tebLayout, addr uint64) (uint64, bool) {
	if l.ptr == 4 {
		v, ok := b.d.ReadU32(addr)
		return uint64(v), ok
	}
	return b.d.ReadU64(addr)
}

// threadTEB is one TEB to read: the thread's own, or the 32-bit TEB of a
// WOW64 thread in a 64-bit dump.
type threadTEB struct {
	th     *minidump.Thread
	teb    uint64
	l      *tebLayout
	suffix string // "" or " (32-bit)"
}

// classify finds the usage of allocations (stacks, heaps, other) and the
// TEB and PEB ranges.
func (b *builder) classify() {
	d := b.d
	b.modules = append([]minidump.Module(nil), d.Modules...)
	sort.Slice(b.modules, func(i, j int) bool { return b.modules[i].Base < b.modules[j].Base })

	l := &layout64
	if b.ps == 4 {
		l = &layout32
	}
	var tebs []threadTEB
	for i := range d.Threads {
		th := &d.Threads[i]
		if th.Teb == 0 {
			continue
		}
		tebs = append(tebs, threadTEB{th: th, teb: th.Teb, l: l})
		// WOW64 in a 64-bit dump: TEB64.WowTebOffset (+0x180C) gives the
		// 32-bit TEB, which describes the thread's 32-bit stack.
		if l.ptr == 8 {
			if off, ok := d.ReadU32(th.Teb + 0x180C); ok && off != 0 && int32(off) > 0 && off < 0x10000 {
				tebs = append(tebs, threadTEB{th: th, teb: th.Teb + uint64(off), l: &layout32, suffix: " (32-bit)"})
			}
		}
	}

	// Stacks: first what the TEBs say, then the captured stack memory, then,
	// for threads with neither, the stack pointer. The stack pointer comes
	// last because a writer may give a thread another thread's context (Wine
	// does, for the thread that writes the dump).
	tebRead := 0
	claimed := map[uint32]bool{}
	for _, t := range tebs {
		name := fmt.Sprintf("Thread 0x%x stack%s", t.th.ID, t.suffix)
		base, ok1 := b.readPtr(t.l, t.teb+t.l.stackBase)
		limit, ok2 := b.readPtr(t.l, t.teb+t.l.stackLimit)
		dealloc, ok3 := b.readPtr(t.l, t.teb+t.l.deallocStack)
		if ok1 || ok2 || ok3 {
			tebRead++
		}
		if ok3 && dealloc != 0 && b.markAlloc(dealloc, uStack, name, rankStack) {
			claimed[t.th.ID] = true
		}
		if ok2 && limit != 0 && b.markAlloc(limit, uStack, name, rankStack) {
			claimed[t.th.ID] = true
		}
		if ok1 && base > 0 && (!ok2 || base > limit) && b.markAlloc(base-1, uStack, name, rankStack) {
			claimed[t.th.ID] = true
		}
	}
	for i := range d.Threads {
		th := &d.Threads[i]
		if th.Stack.DataSize > 0 && b.markAlloc(th.Stack.Start, uStack, fmt.Sprintf("Thread 0x%x stack", th.ID), rankStack) {
			claimed[th.ID] = true
		}
	}
	for i := range d.Threads {
		th := &d.Threads[i]
		if claimed[th.ID] || th.Context == nil {
			continue
		}
		if sp := th.Context.SP(); sp != 0 {
			b.markAlloc(sp, uStack, fmt.Sprintf("Thread 0x%x stack", th.ID), rankStack)
		}
	}

	// TEBs, then the PEB from the first TEB that has it.
	var peb uint64
	var pebLayout *tebLayout
	for _, t := range tebs {
		b.carveRange(t.teb, t.l.tebSize, uTEB, fmt.Sprintf("TEB of thread 0x%x%s", t.th.ID, t.suffix))
	}
	pebs := map[uint64]bool{}
	for _, t := range tebs {
		p, ok := b.readPtr(t.l, t.teb+t.l.peb)
		if !ok || p == 0 || pebs[p] {
			continue
		}
		pebs[p] = true
		detail := "PEB" + t.suffix
		if b.carveRange(p, 0x1000, uPEB, detail) && (peb == 0 || t.suffix == "") {
			peb, pebLayout = p, t.l
		}
	}

	switch {
	case len(tebs) == 0:
		b.note("the dump has no thread list with TEB addresses: stacks, TEBs, the PEB and heaps cannot be found")
	case tebRead == 0:
		b.note("TEB memory was not captured: stacks come from the thread list's stack memory only, and without the PEB the heaps stay <unknown>")
	case peb == 0:
		b.note("no captured TEB gives the PEB: heap regions stay <unknown>")
	}
	if peb != 0 {
		b.heaps(pebLayout, peb)
		b.pebOther(pebLayout, peb)
	}
	if i := b.find(kuserSharedData); i >= 0 && b.spans[i].busy() && b.spans[i].allocKey() == kuserSharedData {
		b.markAlloc(kuserSharedData, uOther, "Shared user data (KUSER_SHARED_DATA)", rankOther)
	}

	sort.Slice(b.carves, func(i, j int) bool { return b.carves[i].base < b.carves[j].base })
	out := b.carves[:0]
	var end uint64
	for i, c := range b.carves {
		if i > 0 && c.base < end {
			continue
		}
		out = append(out, c)
		end = c.end
	}
	b.carves = out
}

// heaps marks the allocations of PEB.ProcessHeap and of each entry of
// PEB.ProcessHeaps[PEB.NumberOfHeaps].
func (b *builder) heaps(l *tebLayout, peb uint64) {
	ph, okPH := b.readPtr(l, peb+l.processHeap)
	if okPH && ph != 0 {
		b.markAlloc(ph, uHeap, fmt.Sprintf("Process heap 0x%x", ph), rankHeap)
	}
	n, okN := b.d.ReadU32(peb + l.numberOfHeaps)
	arr, okA := b.readPtr(l, peb+l.heaps)
	if !okN || !okA || n == 0 || arr == 0 {
		if !okPH || ph == 0 {
			b.note("the PEB's heap fields were not captured: heap regions stay <unknown>")
		}
		return
	}
	if n > maxHeaps {
		b.note(fmt.Sprintf("PEB.NumberOfHeaps is %d, which is implausible; heaps other than the process heap stay <unknown>", n))
		return
	}
	read := 0
	for i := uint32(0); i < n; i++ {
		h, ok := b.readPtr(l, arr+uint64(i)*l.ptr)
		if !ok {
			continue
		}
		read++
		if h == 0 {
			continue
		}
		detail := fmt.Sprintf("Heap 0x%x", h)
		if h == ph {
			detail = fmt.Sprintf("Process heap 0x%x", h)
		}
		b.markAlloc(h, uHeap, detail, rankHeap)
	}
	if read < int(n) {
		what := "only the default process heap (PEB.ProcessHeap) is classified as Heap"
		if !okPH || ph == 0 {
			what = "no heap could be classified"
		}
		b.note(fmt.Sprintf("PEB.ProcessHeaps (%d heaps at 0x%x) was not captured: %s; the other heaps' regions stay <unknown>", n, arr, what))
	}
}

// pebOther marks the shared sections the PEB points at, which WinDbg counts
// as Other. A pointer is used only if it is the start of an allocation.
func (b *builder) pebOther(l *tebLayout, peb uint64) {
	for _, f := range l.other {
		p, ok := b.readPtr(l, peb+f.off)
		if ok && b.isAllocStart(p) {
			b.markAlloc(p, uOther, f.name, rankOther)
		}
	}
}

// moduleAt returns the module whose image contains addr.
func (b *builder) moduleAt(addr uint64) *minidump.Module {
	i := sort.Search(len(b.modules), func(i int) bool { return b.modules[i].Base > addr }) - 1
	if i >= 0 && b.modules[i].Contains(addr) {
		return &b.modules[i]
	}
	return nil
}

// usageOf classifies one piece of a span.
func (b *builder) usageOf(s *span, c *carve) (int, string) {
	if !s.busy() {
		if !s.listed {
			return uFree, "not in the MemoryInfoList"
		}
		return uFree, ""
	}
	if c != nil {
		return c.usage, c.detail
	}
	if s.typ == memImage {
		if m := b.moduleAt(s.base); m != nil {
			return uImage, m.FileName()
		}
		return uImage, "image not in the module list"
	}
	if m := b.moduleAt(s.base); m != nil {
		return uImage, m.FileName()
	}
	if mk, ok := b.allocs[s.allocKey()]; ok {
		detail := mk.detail
		if mk.usage == uStack {
			switch {
			case s.protect&pageGuard != 0:
				detail += ", guard page"
			case s.state == memReserve:
				detail += ", reserved"
			}
		}
		return mk.usage, detail
	}
	if s.typ == memMapped {
		return uMapped, ""
	}
	return uUnknown, ""
}

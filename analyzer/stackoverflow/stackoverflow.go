// Package stackoverflow explains a thread that ran out of stack: how big
// its stack could grow (PE header), where it stood (TEB, or the memory
// regions when the TEB was not captured), the guard page,
// the recursion that used it up and the frames that used the most.
package stackoverflow

import (
	"fmt"
	"sort"
	"strings"

	"github.com/dumptriage/dumptriage/analyzer/report"
)

// Sources of a derived fact (report.FactSource.Source).
const (
	SourceTEB           = "teb"            // NT_TIB.StackBase/StackLimit, TEB.DeallocationStack
	SourceMemoryRegions = "memory_regions" // MemoryInfoList: the allocation that holds the stack pointer
	SourcePEHeader      = "pe_header"      // the main module's SizeOfStackReserve/SizeOfStackCommit
	SourceCapturedStack = "captured_stack" // the end of the thread's captured stack memory
	SourceStackWalk     = "stack_walk"     // the walked frames of the thread
)

// Input is what the analyzer knows about the overflowing thread.
type Input struct {
	ThreadID uint32
	SP       uint64 // stack pointer at the fault
	PageSize uint64

	// The thread's stack bounds, when known, and where they came from: the
	// TEB (NT_TIB.StackBase/StackLimit, TEB.DeallocationStack), or, when it
	// was not captured, the MemoryInfoList allocation that holds SP
	// (BoundsSource SourceTEB or SourceMemoryRegions).
	HaveBounds                               bool
	BoundsSource                             string
	StackBase, StackLimit, DeallocationStack uint64
	// CapturedStackEnd is the end of the thread's captured stack memory, a
	// stand-in for StackBase when neither the TEB nor the regions are there.
	CapturedStackEnd uint64

	// From the main module's PE optional header, when the image was found.
	Reserve, Commit *uint64
	ReserveSource   string

	// Guard is the stack's guard region from MemoryInfoList: a PAGE_GUARD
	// region inside the stack, or the region just below StackLimit.
	// GuardNote says which, and how sure that is.
	Guard           *report.GuardPage
	GuardConfidence string
	GuardNote       string

	Frames []report.Frame

	// Writer is the thread that wrote the dump, when known, and how that was found.
	WriterThreadID *uint32
	WriterNote     string
}

// Analyze builds the report's stack_overflow section.
func Analyze(in Input) *report.StackOverflow {
	so := &report.StackOverflow{ThreadID: in.ThreadID, Confidence: report.ConfidenceHigh, Sources: []report.FactSource{}}
	note := func(format string, args ...any) { so.Notes = append(so.Notes, fmt.Sprintf(format, args...)) }
	source := func(fact, src, conf, format string, args ...any) {
		so.Sources = append(so.Sources, report.FactSource{Fact: fact, Source: src, Confidence: conf, Detail: fmt.Sprintf(format, args...)})
	}
	page := in.PageSize
	if page == 0 {
		page = 0x1000
	}
	so.StackReserveBytes, so.StackCommitBytes, so.ReserveSource = in.Reserve, in.Commit, in.ReserveSource
	if in.Reserve == nil {
		note("stack reserve unknown: the main module's image was not found (configure a symbol path holding it)")
	} else {
		note("stack reserve and commit come from the PE header (SizeOfStackReserve/SizeOfStackCommit); CreateThread can override them per thread")
		source("stack_reserve_bytes", SourcePEHeader, report.ConfidenceHigh, "%s: what the image asks for, not necessarily what this thread got", in.ReserveSource)
		source("stack_commit_bytes", SourcePEHeader, report.ConfidenceHigh, "%s", in.ReserveSource)
	}
	base, baseSource := in.StackBase, in.BoundsSource
	switch {
	case in.HaveBounds:
		so.StackBase, so.StackLimit, so.DeallocationStack = report.AddrPtr(in.StackBase), report.AddrPtr(in.StackLimit), report.AddrPtr(in.DeallocationStack)
		conf, limitConf, how := report.ConfidenceHigh, report.ConfidenceHigh, map[string]string{
			"stack_base":         "NT_TIB.StackBase",
			"stack_limit":        "NT_TIB.StackLimit",
			"deallocation_stack": "TEB.DeallocationStack",
		}
		if in.BoundsSource == SourceMemoryRegions {
			// DeallocationStack is the reservation's AllocationBase by
			// definition; StackLimit is only where the committed part
			// starts, which the TEB may record differently.
			limitConf = report.ConfidenceMedium
			how = map[string]string{
				"stack_base":         "the end of the allocation that holds the stack pointer",
				"stack_limit":        "the lowest address of the committed, accessible regions that run up to the stack pointer",
				"deallocation_stack": "the AllocationBase of the region that holds the stack pointer",
			}
			so.Confidence = report.ConfidenceMedium
			note("the TEB was not captured: StackBase, StackLimit and DeallocationStack come from the MemoryInfoList allocation that holds the stack pointer")
		}
		source("stack_base", in.BoundsSource, conf, "%s", how["stack_base"])
		source("stack_limit", in.BoundsSource, limitConf, "%s", how["stack_limit"])
		source("deallocation_stack", in.BoundsSource, conf, "%s", how["deallocation_stack"])
		if in.DeallocationStack != 0 && in.StackBase > in.DeallocationStack {
			reserved := in.StackBase - in.DeallocationStack
			so.ThreadReserveBytes = &reserved
			source("thread_reserve_bytes", in.BoundsSource, conf, "StackBase - DeallocationStack")
			if in.Reserve != nil && reserved != *in.Reserve {
				differs := true
				so.ReserveDiffers = &differs
				note("the thread's reservation (StackBase - DeallocationStack = %#x) differs from the PE header's %#x: CreateThread asked for another size, or the loader rounded it (Wine rounds reserves below 1 MiB up to 1 MiB)", reserved, *in.Reserve)
			} else if in.Reserve != nil {
				differs := false
				so.ReserveDiffers = &differs
			}
		}
	case in.CapturedStackEnd != 0:
		base, baseSource = in.CapturedStackEnd, SourceCapturedStack
		so.StackBase = report.AddrPtr(base)
		so.Confidence = report.ConfidenceMedium
		note("the TEB was not captured and the dump has no MemoryInfoList: StackBase is taken as the end of the captured stack memory; StackLimit and DeallocationStack are unknown")
		source("stack_base", SourceCapturedStack, report.ConfidenceMedium, "the end of the thread's captured stack memory (MINIDUMP_THREAD.Stack)")
	}
	switch {
	case in.Guard != nil:
		so.GuardPage = in.Guard
		source("guard_page", SourceMemoryRegions, or(in.GuardConfidence, report.ConfidenceHigh), "%s", or(in.GuardNote, "a PAGE_GUARD region inside the stack"))
		if in.GuardNote != "" {
			note("guard page: %s", in.GuardNote)
		}
	case in.HaveBounds && in.StackLimit > page:
		// The guard page sits just below the committed part of the stack.
		so.GuardPage = &report.GuardPage{Base: report.Addr(in.StackLimit - page), Size: page}
		note("guard page inferred as the page below StackLimit (no MemoryInfoList to confirm it)")
		source("guard_page", in.BoundsSource, report.ConfidenceLow, "the page below StackLimit, not confirmed by MemoryInfoList")
	}
	if base != 0 && in.SP != 0 && in.SP <= base {
		used := base - in.SP
		so.UsedBytes = &used
		source("used_bytes", baseSource, sourceConfidence(so, "stack_base"), "StackBase - SP")
	}
	if in.HaveBounds && in.DeallocationStack != 0 && in.SP >= in.DeallocationStack {
		remaining := in.SP - in.DeallocationStack
		so.RemainingBytes = &remaining
		source("remaining_bytes", in.BoundsSource, sourceConfidence(so, "deallocation_stack"), "SP - DeallocationStack")
	}
	so.Recursion = FindRecursion(in.Frames)
	if r := so.Recursion; r != nil {
		// As sure as the frames it repeats: a cycle of scanned frames may be
		// stale return addresses.
		conf := report.ConfidenceHigh
		for _, f := range in.Frames[r.FirstFrame:min(len(in.Frames), r.FirstFrame+len(r.Frames)*r.Repeats)] {
			if f.Trust == report.TrustScan {
				conf = report.ConfidenceMedium
				break
			}
		}
		source("recursion", SourceStackWalk, conf, "the repeating cycle of the walked frames")
	}
	so.LargestFrames = LargestFrames(in.Frames, 5)
	if in.WriterThreadID != nil {
		other := *in.WriterThreadID != in.ThreadID
		so.DumpedFromOther = &other
		if in.WriterNote != "" {
			note("dump writer: %s", in.WriterNote)
		}
	}
	so.Explanation = explain(so)
	return so
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// sourceConfidence is the confidence recorded for fact, or low.
func sourceConfidence(so *report.StackOverflow, fact string) string {
	for _, s := range so.Sources {
		if s.Fact == fact {
			return s.Confidence
		}
	}
	return report.ConfidenceLow
}

func explain(so *report.StackOverflow) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Thread %#x ran out of stack", so.ThreadID)
	if so.UsedBytes != nil {
		fmt.Fprintf(&b, " after using %s", human(*so.UsedBytes))
	}
	switch {
	case so.ThreadReserveBytes != nil && so.ReserveDiffers != nil && *so.ReserveDiffers:
		fmt.Fprintf(&b, " of a %s reservation, though the PE header asks for %s (the loader rounded it up, as Wine does below 1 MiB, or CreateThread asked for another size)",
			human(*so.ThreadReserveBytes), human(*so.StackReserveBytes))
	case so.ThreadReserveBytes != nil:
		fmt.Fprintf(&b, " of a %s reservation", human(*so.ThreadReserveBytes))
	case so.StackReserveBytes != nil:
		fmt.Fprintf(&b, " of a %s reserve", human(*so.StackReserveBytes))
	}
	b.WriteString(".")
	if so.RemainingBytes != nil {
		fmt.Fprintf(&b, " %s were left at the fault.", human(*so.RemainingBytes))
	}
	if r := so.Recursion; r != nil {
		if len(r.Frames) == 1 {
			fmt.Fprintf(&b, " %s calls itself: %d repeats in the walked stack.", r.Frames[0], r.Repeats)
		} else {
			fmt.Fprintf(&b, " A cycle of %d functions (%s) repeats %d times.", len(r.Frames), strings.Join(r.Frames, " -> "), r.Repeats)
		}
	}
	if len(so.LargestFrames) > 0 && so.UsedBytes != nil && *so.UsedBytes > 0 {
		f := so.LargestFrames[0]
		fmt.Fprintf(&b, " The largest frame, %s, takes %s.", f.Function, human(f.Bytes))
	}
	if so.DumpedFromOther != nil && *so.DumpedFromOther {
		b.WriteString(" The dump was written from another thread, as it should be: the overflowing thread has no stack left to run the dump writer.")
	}
	return b.String()
}

func human(n uint64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// frameKey names a frame for cycle detection: its function, or its module
// offset when it has no symbol.
func frameKey(f report.Frame) string {
	switch {
	case f.Function != "":
		return f.Function
	case f.Module != "":
		return fmt.Sprintf("%s+%#x", f.Module, uint64(f.ModuleOffset))
	}
	return fmt.Sprintf("%#x", uint64(f.Offset))
}

// maxCycle bounds the cycle length searched.
const maxCycle = 32

// FindRecursion finds the repeating cycle of frames that covers the most
// of the stack; nil when nothing repeats.
func FindRecursion(frames []report.Frame) *report.Recursion {
	keys := make([]string, len(frames))
	for i, f := range frames {
		keys[i] = frameKey(f)
	}
	best := (*report.Recursion)(nil)
	bestCover := 0
	for p := 1; p <= maxCycle && 2*p <= len(keys); p++ {
		for start := 0; start+2*p <= len(keys); {
			run := 0
			for start+run+p < len(keys) && keys[start+run] == keys[start+run+p] {
				run++
			}
			if run >= p {
				cover := run + p
				if cover > bestCover {
					bestCover = cover
					best = &report.Recursion{Frames: append([]string(nil), keys[start:start+p]...), Repeats: cover / p, FirstFrame: start}
				}
				start += run + 1
			} else {
				start++
			}
		}
	}
	return best
}

// LargestFrames ranks frames by the stack they use, from consecutive
// stack pointers (what WinDbg's kf shows).
func LargestFrames(frames []report.Frame, n int) []report.FrameSize {
	var out []report.FrameSize
	for i := 0; i+1 < len(frames); i++ {
		a, b := uint64(frames[i].SP), uint64(frames[i+1].SP)
		if a == 0 || b <= a || b-a > 64<<20 {
			continue
		}
		out = append(out, report.FrameSize{Frame: i, Function: frameKey(frames[i]), Bytes: b - a})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Bytes > out[j].Bytes })
	// Collapse the recursion: one entry per function.
	seen := map[string]bool{}
	var uniq []report.FrameSize
	for _, f := range out {
		if !seen[f.Function] {
			seen[f.Function] = true
			uniq = append(uniq, f)
		}
	}
	if len(uniq) > n {
		uniq = uniq[:n]
	}
	return uniq
}

package analyzer

import "github.com/dumptriage/dumptriage/analyzer/report"

// Bounds on what one report lists in full, so that a few KB of hostile dump
// cannot make a report of gigabytes. Counts stay exact; Report.Truncated
// and a warning say what was cut. The minidump package bounds the lists it
// keeps (minidump.MaxThreads, MaxModules, ...) the same way.
const (
	// maxOtherThreadFrames bounds the walk of each thread but the crashing
	// one, which gets Options.MaxFrames (1024) so that a stack overflow's
	// recursion is seen whole; 256 frames are more than a sane stack has
	// outside a recursion.
	maxOtherThreadFrames = 256
	// maxReportFrames bounds the frames of all threads together.
	maxReportFrames = 32768
	// maxListedRegions bounds memory_summary.regions; the summary tables
	// still count every region.
	maxListedRegions = 16384
)

// describeCuts says what the dump holds beyond what the report lists.
func (a *analysis) describeCuts() {
	d := a.d
	cut := func(what string, count, listed int) {
		if count <= listed {
			return
		}
		a.rep.Truncated = append(a.rep.Truncated, report.Truncation{What: what, Count: count, Listed: listed})
		a.warn("the dump lists %d %s; the report lists %d in full", count, what, listed)
	}
	cut("threads", d.ThreadCount, len(d.Threads))
	cut("modules", d.ModuleCount, len(d.Modules))
	cut("unloaded modules", d.UnloadedModuleCount, len(d.UnloadedModules))
	cut("handles", d.HandleCount, len(d.Handles))
	cut("memory regions (MemoryInfoList)", d.MemoryInfoCount, len(d.MemoryInfo))
}

// cutRegions bounds the regions the memory summary lists.
func (a *analysis) cutRegions(s *report.MemorySummary) {
	if n := len(s.Regions); n > maxListedRegions {
		s.Regions = s.Regions[:maxListedRegions:maxListedRegions]
		a.rep.Truncated = append(a.rep.Truncated, report.Truncation{What: "memory summary regions", Count: n, Listed: maxListedRegions})
		a.warn("the address space has %d regions; the report lists the first %d (the summary counts them all)", n, maxListedRegions)
	}
}

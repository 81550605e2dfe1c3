package analyzer

import "github.com/dumptriage/dumptriage/analyzer/report"

// Bounds on what one report lists in full, so that a few KB of hostile dump
// cannot make a report of gigabytes. Counts stay exact; Report.Truncated
// and a warning say what was cut. The minidump package bounds the lists it
// keeps (minidump.MaxThreads, MaxModules, ...) the same way.
const (
	// maxReportFrames bounds the frames of all threads together; each
	// thread's walk stops at Options.MaxFrames (1024, so that a stack
	// overflow's recursion is seen whole).
	maxReportFrames = 32768
	// maxListedRegions bounds memory_summary.regions; the summary tables
	// still count every region.
	maxListedRegions = 16384
	// maxThreadName bounds a thread's name in the report, in bytes.
	maxThreadName = 256
)

// reportBudget bounds the JSON of a report's long lists (report.Fit), so
// that with everything else a report stays well under 64 MB whatever the
// names in the dump. Real reports are far below it.
var reportBudget = report.Budget{Threads: 16 << 20, Modules: 4 << 20, Unloaded: 1 << 20, Handles: 6 << 20, Regions: 6 << 20}

// fit applies reportBudget and says what it cut.
func (a *analysis) fit() {
	before := len(a.rep.Truncated)
	frames := a.rep.Fit(reportBudget)
	if frames > 0 {
		a.warn("%d frames were cut to keep the report's size bounded", frames)
	}
	for _, t := range a.rep.Truncated[before:] {
		if t.What != "frames" {
			a.warn("the report lists %d of %d %s to keep its size bounded", t.Listed, t.Count, t.What)
		}
	}
}

// describeCuts says what the dump holds beyond what the report lists.
func (a *analysis) describeCuts() {
	d := a.d
	cut := func(what string, count, listed int) {
		if count <= listed {
			return
		}
		a.rep.Cut(what, count, listed)
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
		a.rep.Cut("memory summary regions", n, maxListedRegions)
		a.warn("the address space has %d regions; the report lists the first %d (the summary counts them all)", n, maxListedRegions)
	}
}

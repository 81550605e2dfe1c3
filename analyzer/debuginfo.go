package analyzer

import "github.com/dumptriage/dumptriage/analyzer/report"

// crossCheckDebugInfo reads the allocator's size (or count) argument from
// debug information where it describes it, and compares.
func (a *analysis) crossCheckDebugInfo(af *report.AllocationFailure, frames []report.Frame, k int) {}

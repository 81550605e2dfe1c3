package analyzer

import (
	"strings"

	"github.com/dumptriage/dumptriage/analyzer/report"
	"github.com/dumptriage/dumptriage/analyzer/reporterlog"
)

// compareReporterStack reads the crash reporter's own stack (the log given
// in Options, else Unreal's crash context in the dump) and matches its
// frames to the crashing thread's, in order: by address (the return
// address or the call before it), else by function name.
func (a *analysis) compareReporterStack() {
	var st *reporterlog.Stack
	if len(a.opts.ReporterLog) > 0 {
		st = reporterlog.Parse(a.opts.ReporterLog)
	}
	if st == nil && a.d.UnrealCrashContext != "" {
		st = reporterlog.Parse([]byte(a.d.UnrealCrashContext))
	}
	if st == nil || a.crashIndex < 0 {
		return
	}
	ours := a.rep.Threads[a.crashIndex].Frames
	rs := &report.ReporterStack{Source: st.Source, How: st.How, Frames: make([]report.ReporterFrame, 0, len(st.Frames))}
	// Names can be compared only with symbols for our frames.
	named := false
	for i := range ours {
		named = named || ours[i].Function != ""
	}
	k := 0
	for _, f := range st.Frames {
		rf := report.ReporterFrame{Module: f.Module, Function: f.Function}
		if f.HasAddress {
			rf.Address = report.AddrPtr(f.Address)
		}
		for j := k; j < len(ours); j++ {
			if sameFrame(&ours[j], f) {
				idx := j
				rf.OurFrame, k = &idx, j+1
				break
			}
		}
		if rf.OurFrame == nil && (f.HasAddress || named) {
			rs.Disagreements++
		}
		rs.Frames = append(rs.Frames, rf)
	}
	a.rep.ReporterStack = rs
	if rs.Disagreements > 0 {
		a.warn("the crash reporter's own stack (%s) has %d of %d frames that ours does not", st.Source, rs.Disagreements, len(st.Frames))
	}
}

// sameFrame reports whether our frame is the logged one.
func sameFrame(o *report.Frame, f reporterlog.Frame) bool {
	if f.HasAddress {
		a := uint64(o.Offset)
		return a == f.Address || a+1 == f.Address
	}
	if o.Function == "" || f.Function == "" {
		return false
	}
	name := strings.TrimSuffix(f.Function, "()")
	return strings.Contains(o.Function, name)
}

package components

import "github.com/dumptriage/dumptriage/analyzer/report"

// NeededModules names the modules some walked frame lies in: only their
// missing symbols or images cost the report anything (unnamed frames, a
// walk by scanning). A module no frame touched needed neither.
func NeededModules(r *report.Report) map[string]bool {
	need := map[string]bool{}
	add := func(fs []report.Frame) {
		for _, f := range fs {
			if f.Module != "" {
				need[f.Module] = true
			}
		}
	}
	for _, t := range r.Threads {
		add(t.Frames)
	}
	if r.CrashingThread != nil {
		add(r.CrashingThread.Frames)
	}
	return need
}

package components

import "github.com/dumptriage/dumptriage/analyzer/report"

// firstWithLocals is the index of the first frame with arguments or locals,
// or -1.
func firstWithLocals(frames []report.Frame) int {
	for i := range frames {
		if len(frames[i].Locals) > 0 {
			return i
		}
	}
	return -1
}

// LocalsCount says how many arguments and locals a frame has.
func LocalsCount(ls []report.Local) string {
	params := 0
	for _, l := range ls {
		if l.Kind == report.VarParameter {
			params++
		}
	}
	n := len(ls) - params
	return plural(params, "argument") + ", " + plural(n, "local")
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return Itoa(n) + " " + what + "s"
}

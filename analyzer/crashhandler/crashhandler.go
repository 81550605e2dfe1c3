// Package crashhandler finds the frames of the code that handled a crash
// and wrote the dump (an assert handler, a crash handler, RaiseException)
// at the top of the crashing stack, above the fault. Its rules are the
// embedded rules.txt.
package crashhandler

import (
	_ "embed"
	"strings"

	"github.com/dumptriage/dumptriage/analyzer/report"
)

//go:embed rules.txt
var rulesText string

var rules = parse(rulesText)

func parse(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// Match returns the rule a frame matches, or "".
func Match(f *report.Frame) string {
	if f.Function == "" {
		return ""
	}
	name := f.Module + "!" + f.Function
	for _, r := range rules {
		if strings.Contains(name, r) {
			return r
		}
	}
	return ""
}

// softwareRaised reports whether an exception code is one software raises
// with RaiseException rather than a fault: the code's severity is not
// "error" (0xC...) or it is Unreal's assert code 1. C++ exceptions
// (0xE06D7363) are thrown by the faulting code itself and are not counted.
func softwareRaised(code uint32) bool {
	return code != 0 && code < 0x80000000
}

// systemRaiser reports whether a module is where RaiseException lives.
func systemRaiser(module string) bool {
	m := strings.ToLower(module)
	return m == "kernelbase.dll" || m == "ntdll.dll" || m == "kernel32.dll"
}

// Count returns how many innermost frames belong to the handler: frames
// matching a rule, and frame 0 in the system's RaiseException when the
// exception code is one software raises and the frame has no name.
// reporter, when given, is the crash reporter's own stack as function
// names, innermost first; its leading frames that match a rule name the
// handler frames of our first frames in the same module, in order, when
// ours have no names. The count never covers the whole stack.
func Count(frames []report.Frame, code uint32, reporter []string) int {
	n := 0
	for n < len(frames) && handlerFrame(&frames[n], n, code) {
		n++
	}
	for _, r := range reporter {
		if !matchName(r) || n >= len(frames) {
			break
		}
		mod, _, ok := strings.Cut(r, "!")
		f := &frames[n]
		if !ok || f.Function != "" || !sameModule(f.Module, mod) {
			break
		}
		n++
	}
	if n >= len(frames) {
		return 0
	}
	return n
}

func handlerFrame(f *report.Frame, i int, code uint32) bool {
	return Match(f) != "" || i == 0 && f.Function == "" && softwareRaised(code) && systemRaiser(f.Module)
}

func matchName(s string) bool {
	if _, fn, ok := strings.Cut(s, "!"); ok {
		s = "!" + fn
	}
	for _, r := range rules {
		if strings.Contains(s, r) {
			return true
		}
	}
	return false
}

// sameModule compares a module file name with a reporter's module name,
// which often lacks the extension.
func sameModule(file, name string) bool {
	file, name = strings.ToLower(file), strings.ToLower(name)
	return file == name || strings.TrimSuffix(file, ".exe") == name || strings.TrimSuffix(file, ".dll") == name
}

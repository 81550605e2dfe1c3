package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// FrameText writes a frame as WinDbg's k does: module!function+0xoff [file @ line].
// The JSON's offsets of callers point inside the call instruction (return
// address - 1, as minidump-stackwalk writes them); WinDbg and Breakpad's
// text output show the return address itself, and so does this.
func FrameText(f Frame) string {
	var b strings.Builder
	adj := uint64(0)
	if f.Frame > 0 {
		adj = 1
	}
	switch {
	case f.Module != "" && f.Function != "":
		fmt.Fprintf(&b, "%s!%s+%#x", f.Module, f.Function, uint64(f.FunctionOffset)+adj)
	case f.Module != "":
		fmt.Fprintf(&b, "%s+%#x", f.Module, uint64(f.ModuleOffset)+adj)
	default:
		fmt.Fprintf(&b, "%#x", uint64(f.Offset)+adj)
	}
	if f.File != "" {
		fmt.Fprintf(&b, " [%s @ %d]", f.File, f.Line)
	}
	return b.String()
}

// WriteText writes the report for a terminal, laid out like
// minidump-stackwalk's human output with WinDbg's frame spelling.
func WriteText(w io.Writer, r *Report) error {
	ew := &errWriter{w: w}
	p := ew.printf
	si := r.SystemInfo
	p("Operating system: %s\n                  %s\n", si.OS, si.OSVer)
	p("CPU: %s\n     %s\n     %d CPU%s\n\n", si.CPUArch, si.CPUInfo, si.CPUCount, plural(si.CPUCount))
	if r.Process.Name != "" {
		p("Process: %s", r.Process.Name)
		if r.PID != nil {
			p(" (pid %d)", *r.PID)
		}
		if r.Process.Version != "" {
			p(" version %s", r.Process.Version)
		}
		p("\n")
	}
	p("Dump: %d bytes, flags %s (%s)\n", r.Dump.Size, r.Dump.Flags, strings.Join(r.Dump.FlagNames, "|"))
	if t := r.Dump.Truncated; t != nil {
		p("DAMAGED: truncated, %d of at least %d bytes present", t.PresentBytes, t.NeededBytes)
		if len(t.LostStreams) > 0 {
			p("; lost %s", strings.Join(t.LostStreams, ", "))
		}
		if len(t.CutStreams) > 0 {
			p("; cut short %s", strings.Join(t.CutStreams, ", "))
		}
		p("\n")
		if r.CrashInfo.Type == "" {
			p("No crash recorded in what survived\n")
		}
	}
	if r.CrashInfo.Type != "" {
		p("Crash reason:  %s\n", r.CrashInfo.Type)
		if r.CrashInfo.Address != nil {
			p("Crash address: %s\n", r.CrashInfo.Address)
		}
		if r.CrashInfo.Description != "" {
			p("               %s\n", r.CrashInfo.Description)
		}
	} else if r.Dump.Truncated == nil {
		p("No crash (the dump has no exception record)\n")
	}
	if r.CrashInfo.Assertion != nil {
		p("Assertion: %s\n", *r.CrashInfo.Assertion)
	}
	if r.Signature != "" {
		p("Signature: %s\n", r.Signature)
	}
	if af := r.AllocationFailure; af != nil {
		p("\nOut of memory: %s\n", af.Explanation)
		if af.RequestedBytes != nil {
			p("  requested %d bytes (%s, confidence %s)\n", *af.RequestedBytes, af.Method, af.Confidence)
		}
	}
	if so := r.StackOverflow; so != nil {
		p("\nStack overflow: %s\n", so.Explanation)
	}
	if cv := r.CrashView; cv != nil && len(cv.Disassembly) > 0 && cv.Disassembly[0].Frame == 0 && len(cv.Disassembly[0].Instructions) > 0 {
		// WinDbg's u at the crash; the JSON has the callers' too.
		p("\nCode at the crash:\n")
		for _, in := range cv.Disassembly[0].Instructions {
			mark := " "
			if in.Marked {
				mark = ">"
			}
			p("%s %s  %-20s %s\n", mark, in.Address, in.Bytes, in.Text)
		}
		if n := cv.Disassembly[0].Note; n != "" {
			p("  (%s)\n", n)
		}
	}
	p("\n")
	order := make([]int, 0, len(r.Threads))
	if r.CrashingThread != nil {
		order = append(order, r.CrashingThread.ThreadsIndex)
	}
	for i := range r.Threads {
		if r.CrashingThread == nil || i != r.CrashingThread.ThreadsIndex {
			order = append(order, i)
		}
	}
	for _, i := range order {
		t := r.Threads[i]
		p("Thread %d (id 0x%x)", i, t.ThreadID)
		if r.CrashingThread != nil && i == r.CrashingThread.ThreadsIndex {
			p(" (crashed)")
		}
		if t.ThreadName != nil {
			p(" %q", *t.ThreadName)
		}
		p("\n")
		for _, f := range t.Frames {
			// As WinDbg does, inlined calls come first, innermost on top,
			// under their physical frame's number.
			for k := len(f.Inlines) - 1; k >= 0; k-- {
				p(" %2d  (Inline Function) %s\n     Found by: %s\n", f.Frame, InlineText(f.Module, f.Inlines[k]), TrustInline)
			}
			p(" %2d  %s\n     Found by: %s\n", f.Frame, FrameText(f), f.Trust)
		}
		if t.WalkNote != "" {
			p("     (%s)\n", t.WalkNote)
		}
		p("\n")
	}
	p("Loaded modules:\n")
	tw := tabwriter.NewWriter(ew, 0, 2, 2, ' ', 0)
	fmt.Fprintf(tw, "base\tend\tname\tversion\tdebug id\tsymbols\n")
	for _, m := range r.Modules {
		sym := "missing"
		if m.LoadedSymbols {
			sym = "loaded"
			if m.Symbols != nil && m.Symbols.Kind != "" {
				sym += " (" + m.Symbols.Kind + ")"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", m.BaseAddr, m.EndAddr, m.Filename, m.Version, m.DebugID, sym)
	}
	tw.Flush()
	if len(r.Warnings) > 0 {
		p("\nWarnings:\n")
		for _, w := range r.Warnings {
			p("  %s\n", w)
		}
	}
	return ew.err
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(b []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(b)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) { fmt.Fprintf(e, format, args...) }

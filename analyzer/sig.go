package analyzer

import (
	"fmt"

	"github.com/dumptriage/dumptriage/analyzer/crashhandler"
	"github.com/dumptriage/dumptriage/analyzer/signature"
)

func (a *analysis) makeSignature() {
	in := signature.Input{CrashType: a.rep.CrashInfo.Type}
	if a.crashIndex >= 0 {
		// The signature starts at the fault, below the crash handler.
		in.Frames = a.rep.Threads[a.crashIndex].Frames[a.handlerFrames:]
	} else if len(a.rep.Threads) > 0 {
		in.Frames = a.rep.Threads[0].Frames
	}
	if af := a.rep.AllocationFailure; af != nil {
		in.OOM, _ = signature.OOMClass(af.RequestedBytes)
	}
	if so := a.rep.StackOverflow; so != nil {
		in.StackOverflow = true
		if so.Recursion != nil {
			in.Recursion = so.Recursion.Frames
		}
	}
	a.rep.Signature, a.rep.SignatureNotes = signature.Generate(in)
	if t := a.rep.Dump.Truncated; t != nil {
		notes := []string{fmt.Sprintf("damaged: %s; damaged dumps group under their own signature. From what survived, the frames give %q",
			truncationText(t), a.rep.Signature)}
		a.rep.Signature, a.rep.SignatureNotes = signature.Corrupt("truncated"), append(notes, a.rep.SignatureNotes...)
	}
}

// markHandlerFrames counts the crash handler's frames at the top of the
// crashing thread, with the reporter's own stack as further evidence.
func (a *analysis) markHandlerFrames() {
	if a.crashIndex < 0 || a.d.Exception == nil {
		return
	}
	frames := a.rep.Threads[a.crashIndex].Frames
	var names []string
	if rs := a.rep.ReporterStack; rs != nil {
		for _, f := range rs.Frames {
			if f.Function != "" {
				names = append(names, f.Module+"!"+f.Function)
			}
		}
	}
	a.handlerFrames = crashhandler.Count(frames, a.d.Exception.Code, names)
	a.syncCrashingThread()
}

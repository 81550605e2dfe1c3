package analyzer

import (
	"fmt"

	"github.com/dumptriage/dumptriage/analyzer/signature"
)

func (a *analysis) makeSignature() {
	in := signature.Input{CrashType: a.rep.CrashInfo.Type}
	if a.crashIndex >= 0 {
		in.Frames = a.rep.Threads[a.crashIndex].Frames
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

package analyzer

import "github.com/dumptriage/dumptriage/analyzer/signature"

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
}

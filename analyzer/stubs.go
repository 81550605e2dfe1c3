package analyzer

// Steps filled in by later packages.

func (a *analysis) analyzeAllocationFailure() {}
func (a *analysis) analyzeStackOverflow()     {}
func (a *analysis) makeSignature()            {}

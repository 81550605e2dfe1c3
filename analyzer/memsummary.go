package analyzer

import "github.com/dumptriage/dumptriage/analyzer/memmap"

// summarizeMemory builds the !address summary when the dump has a MemoryInfoList.
func (a *analysis) summarizeMemory() {
	if !a.d.HasMemoryInfo {
		return
	}
	var opts memmap.Options
	if len(a.d.Modules) > 0 {
		if im := a.files(&a.d.Modules[0]).image; im != nil {
			laa := im.LargeAddressAware()
			opts.LargeAddressAware = &laa
		}
	}
	s, err := memmap.Summarize(a.d, opts)
	if err != nil {
		a.warn("memory summary: %v", err)
		return
	}
	a.cutRegions(s)
	a.rep.MemorySummary = s
}

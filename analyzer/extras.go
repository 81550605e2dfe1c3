package analyzer

import (
	"regexp"
	"strings"
	"sync"

	"github.com/dumptriage/dumptriage/analyzer/report"
)

// unrealField matches the fields unrealFields keeps. Unreal writes some
// with a group prefix (<MemoryStats.bIsOOM>). It is compiled on first use:
// only Unreal dumps carry a crash context.
var unrealField = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`<(?:[A-Za-z]+\.)?(ErrorMessage|CrashType|OOMAllocationSize|OOMAllocationAlignment|TotalPhysical|TotalVirtual|AvailablePhysical|AvailableVirtual|UsedPhysical|PeakUsedPhysical|UsedVirtual|PeakUsedVirtual|bIsOOM|GameName|EngineVersion|BuildVersion|PlatformName|CrashGUID|CallStack)>([^<]*)</`)
})

// unrealFields picks the fields worth showing out of an Unreal crash context.
func unrealFields(xml string) map[string]string {
	if xml == "" {
		return nil
	}
	// The fields sit near the start of a real context; the regexp costs
	// about 250 ns a byte on hostile text, so at most 1 MB is searched.
	if len(xml) > 1<<20 {
		xml = xml[:1<<20]
	}
	out := map[string]string{}
	for _, m := range unrealField().FindAllStringSubmatch(xml, -1) {
		v := strings.TrimSpace(m[2])
		if v != "" {
			if len(v) > 4096 {
				v = v[:4096]
			}
			out[m[1]] = v
		}
	}
	return out
}

// describeMissing says what this dump cannot answer, and the dump flags that
// would make the next one answer it.
func (a *analysis) describeMissing() {
	d := a.d
	add := func(what, fix string) {
		a.rep.Dump.Missing = append(a.rep.Dump.Missing, report.MissingData{What: what, Fix: fix})
	}
	if !d.HasMemoryInfo {
		add("the !address memory summary (no MemoryInfoList stream)", "MiniDumpWithFullMemoryInfo")
	}
	if len(d.ThreadInfos) == 0 {
		add("thread start addresses and times (no ThreadInfoList stream)", "MiniDumpWithThreadInfo")
	}
	if d.Exception == nil {
		add("the exception and crashing thread (no Exception stream)", "pass MINIDUMP_EXCEPTION_INFORMATION to MiniDumpWriteDump")
	}
	if len(d.Handles) == 0 {
		add("open handles (no HandleData stream)", "MiniDumpWithHandleData")
	}
	if !d.FullMemory {
		add("heap contents and data outside the stacks (no Memory64List)", "MiniDumpWithFullMemory, or MiniDumpWithIndirectlyReferencedMemory|MiniDumpWithPrivateReadWriteMemory for less")
	}
	if d.SystemMemory == nil {
		add("system commit total and limit (no SystemMemoryInfo stream)", "a dbghelp from Windows 10 or later writes it")
	}
}

package analyzer

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/dumptriage/dumptriage/analyzer/minidump"
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

// truncationText says in a sentence what a truncated dump lost.
func truncationText(t *report.Truncation) string {
	var b strings.Builder
	fmt.Fprintf(&b, "the dump is truncated: %d of the at least %d bytes its directory needs are present", t.PresentBytes, t.NeededBytes)
	if len(t.LostStreams) > 0 {
		fmt.Fprintf(&b, "; lost: %s", strings.Join(t.LostStreams, ", "))
	}
	if len(t.CutStreams) > 0 {
		fmt.Fprintf(&b, "; cut short: %s", strings.Join(t.CutStreams, ", "))
	}
	if t.MissingDirectoryEntries > 0 {
		fmt.Fprintf(&b, "; %d stream directory entries are past the end of the file", t.MissingDirectoryEntries)
	}
	b.WriteString(". Whatever those held is missing from this report")
	return b.String()
}

// streamDamage says why a stream that the directory lists could not be
// used: it lies past the end of a truncated file, or it is damaged. It is ""
// when the directory does not list the stream.
func (a *analysis) streamDamage(t minidump.StreamType) string {
	s, ok := a.d.Stream(t)
	if !ok {
		if tr := a.d.Truncation; tr != nil && tr.MissingEntries > 0 {
			return fmt.Sprintf("the %s stream may have been in the part of the stream directory that the truncation cut off", t)
		}
		return ""
	}
	end := uint64(s.Rva) + uint64(s.Size)
	switch size := uint64(a.d.Size()); {
	case uint64(s.Rva) >= size:
		return fmt.Sprintf("the %s stream lies past the end of the truncated file", t)
	case end > size:
		return fmt.Sprintf("the %s stream is cut off by the end of the truncated file", t)
	}
	return fmt.Sprintf("the %s stream is damaged; see the warnings", t)
}

// damageFix is the advice for data a damaged dump lost: not a dump flag,
// since the writer did ask for it.
func (a *analysis) damageFix() string {
	if t := a.rep.Dump.Truncated; t != nil {
		return fmt.Sprintf("upload the whole dump: this copy holds %d of the at least %d bytes its directory needs", t.PresentBytes, t.NeededBytes)
	}
	return "upload the original file: this copy is damaged"
}

// describeMissing says what this dump cannot answer, and the dump flags that
// would make the next one answer it, or, when the dump's directory lists
// the stream that would answer it, the damage that lost it.
func (a *analysis) describeMissing() {
	d := a.d
	add := func(what string, t minidump.StreamType, why, fix string) {
		if damage := a.streamDamage(t); damage != "" {
			a.rep.Dump.Missing = append(a.rep.Dump.Missing, report.MissingData{What: what + " (" + damage + ")", Fix: a.damageFix()})
			return
		}
		a.rep.Dump.Missing = append(a.rep.Dump.Missing, report.MissingData{What: what + " (" + why + ")", Fix: fix})
	}
	if !d.HasMemoryInfo {
		add("the !address memory summary", minidump.MemoryInfoListStream, "no MemoryInfoList stream", "MiniDumpWithFullMemoryInfo")
	}
	if len(d.ThreadInfos) == 0 {
		add("thread start addresses and times", minidump.ThreadInfoListStream, "no ThreadInfoList stream", "MiniDumpWithThreadInfo")
	}
	if d.Exception == nil {
		add("the exception and crashing thread", minidump.ExceptionStream, "no Exception stream", "pass MINIDUMP_EXCEPTION_INFORMATION to MiniDumpWriteDump")
	}
	if len(d.Handles) == 0 {
		add("open handles", minidump.HandleDataStream, "no HandleData stream", "MiniDumpWithHandleData")
	}
	if !d.FullMemory {
		add("heap contents and data outside the stacks", minidump.Memory64ListStream, "no Memory64List", "MiniDumpWithFullMemory, or MiniDumpWithIndirectlyReferencedMemory|MiniDumpWithPrivateReadWriteMemory for less")
	}
	if d.SystemMemory == nil {
		add("system commit total and limit", minidump.SystemMemoryInfoStream, "no SystemMemoryInfo stream", "a dbghelp from Windows 10 or later writes it")
	}
	if t := a.rep.Dump.Truncated; t != nil {
		unnamed := 0
		for i := range d.Modules {
			if d.Modules[i].Name == "" {
				unnamed++
			}
		}
		if unnamed > 0 {
			a.rep.Dump.Missing = append(a.rep.Dump.Missing, report.MissingData{
				What: fmt.Sprintf("the names of %d of %d modules (stored past the end of the truncated file)", unnamed, len(d.Modules)), Fix: a.damageFix()})
		}
		for _, name := range []string{minidump.ThreadListStream.String(), minidump.ModuleListStream.String()} {
			if slices.Contains(t.LostStreams, name) || slices.Contains(t.CutStreams, name) {
				a.rep.Dump.Missing = append(a.rep.Dump.Missing, report.MissingData{
					What: fmt.Sprintf("some or all of the %s (the stream is past the end of the truncated file)", name), Fix: a.damageFix()})
			}
		}
	}
}

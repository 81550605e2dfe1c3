package minidump

import "fmt"

// StreamType is MINIDUMP_DIRECTORY.StreamType.
type StreamType uint32

// Stream types from minidumpapiset.h, plus the Breakpad, Crashpad, Mozilla,
// Chromium and Wine vendor streams seen in the wild.
const (
	UnusedStream              StreamType = 0
	ThreadListStream          StreamType = 3
	ModuleListStream          StreamType = 4
	MemoryListStream          StreamType = 5
	ExceptionStream           StreamType = 6
	SystemInfoStream          StreamType = 7
	ThreadExListStream        StreamType = 8
	Memory64ListStream        StreamType = 9
	CommentStreamA            StreamType = 10
	CommentStreamW            StreamType = 11
	HandleDataStream          StreamType = 12
	FunctionTableStream       StreamType = 13
	UnloadedModuleListStream  StreamType = 14
	MiscInfoStream            StreamType = 15
	MemoryInfoListStream      StreamType = 16
	ThreadInfoListStream      StreamType = 17
	HandleOperationListStream StreamType = 18
	TokenStream               StreamType = 19
	JavaScriptDataStream      StreamType = 20
	SystemMemoryInfoStream    StreamType = 21
	ProcessVmCountersStream   StreamType = 22
	IptTraceStream            StreamType = 23
	ThreadNamesStream         StreamType = 24

	BreakpadInfoStream    StreamType = 0x47670001
	AssertionInfoStream   StreamType = 0x47670002
	LinuxCPUInfoStream    StreamType = 0x47670003
	LinuxProcStatusStream StreamType = 0x47670004
	LinuxLsbReleaseStream StreamType = 0x47670005
	LinuxCmdLineStream    StreamType = 0x47670006
	LinuxEnvironStream    StreamType = 0x47670007
	LinuxAuxvStream       StreamType = 0x47670008
	LinuxMapsStream       StreamType = 0x47670009
	LinuxDsoDebugStream   StreamType = 0x4767000A
	CrashpadInfoStream    StreamType = 0x43500001
	StabilityReportStream StreamType = 0x4B6B0002
	MozMacosCrashInfo     StreamType = 0x4D7A0001
	MozMacosBootargs      StreamType = 0x4D7A0002
	MozLinuxLimits        StreamType = 0x4D7A0003
	MozSoftErrors         StreamType = 0x4D7A0004
	// UnrealCrashContextStream is the user stream in which Unreal Engine puts a
	// UTF-16 copy of CrashContext.runtime-xml.
	UnrealCrashContextStream StreamType = 0x00010000
	// WineHostModulesStream is Wine's private list of host ELF modules, in
	// ModuleList layout.
	WineHostModulesStream StreamType = 0xFFF0
)

var streamNames = map[StreamType]string{
	UnusedStream: "Unused", 1: "Reserved0", 2: "Reserved1",
	ThreadListStream: "ThreadList", ModuleListStream: "ModuleList", MemoryListStream: "MemoryList",
	ExceptionStream: "Exception", SystemInfoStream: "SystemInfo", ThreadExListStream: "ThreadExList",
	Memory64ListStream: "Memory64List", CommentStreamA: "CommentA", CommentStreamW: "CommentW",
	HandleDataStream: "HandleData", FunctionTableStream: "FunctionTable",
	UnloadedModuleListStream: "UnloadedModuleList", MiscInfoStream: "MiscInfo",
	MemoryInfoListStream: "MemoryInfoList", ThreadInfoListStream: "ThreadInfoList",
	HandleOperationListStream: "HandleOperationList", TokenStream: "Token",
	JavaScriptDataStream: "JavaScriptData", SystemMemoryInfoStream: "SystemMemoryInfo",
	ProcessVmCountersStream: "ProcessVmCounters", IptTraceStream: "IptTrace", ThreadNamesStream: "ThreadNames",
	BreakpadInfoStream: "BreakpadInfo", AssertionInfoStream: "AssertionInfo",
	LinuxCPUInfoStream: "LinuxCpuInfo", LinuxProcStatusStream: "LinuxProcStatus",
	LinuxLsbReleaseStream: "LinuxLsbRelease", LinuxCmdLineStream: "LinuxCmdLine",
	LinuxEnvironStream: "LinuxEnviron", LinuxAuxvStream: "LinuxAuxv", LinuxMapsStream: "LinuxMaps",
	LinuxDsoDebugStream: "LinuxDsoDebug", CrashpadInfoStream: "CrashpadInfo",
	StabilityReportStream: "StabilityReport", MozMacosCrashInfo: "MozMacosCrashInfo",
	MozMacosBootargs: "MozMacosBootargs", MozLinuxLimits: "MozLinuxLimits", MozSoftErrors: "MozSoftErrors",
	UnrealCrashContextStream: "UnrealCrashContext", WineHostModulesStream: "WineHostModules",
}

// String names the stream type as WinDbg's .dumpdebug and Breakpad do; an
// unknown type is shown in hex.
func (t StreamType) String() string {
	if n, ok := streamNames[t]; ok {
		return n
	}
	return fmt.Sprintf("0x%08x", uint32(t))
}

// Known reports whether the reader understands this stream type.
func (t StreamType) Known() bool { _, ok := streamNames[t]; return ok }

// DumpFlags names the MINIDUMP_TYPE bits in a header's Flags field.
func DumpFlags(flags uint64) []string {
	names := []string{
		"MiniDumpWithDataSegs", "MiniDumpWithFullMemory", "MiniDumpWithHandleData",
		"MiniDumpFilterMemory", "MiniDumpScanMemory", "MiniDumpWithUnloadedModules",
		"MiniDumpWithIndirectlyReferencedMemory", "MiniDumpFilterModulePaths",
		"MiniDumpWithProcessThreadData", "MiniDumpWithPrivateReadWriteMemory",
		"MiniDumpWithoutOptionalData", "MiniDumpWithFullMemoryInfo", "MiniDumpWithThreadInfo",
		"MiniDumpWithCodeSegs", "MiniDumpWithoutAuxiliaryState", "MiniDumpWithFullAuxiliaryState",
		"MiniDumpWithPrivateWriteCopyMemory", "MiniDumpIgnoreInaccessibleMemory",
		"MiniDumpWithTokenInformation", "MiniDumpWithModuleHeaders", "MiniDumpFilterTriage",
		"MiniDumpWithAvxXStateContext", "MiniDumpWithIptTrace", "MiniDumpScanInaccessiblePartialPages",
		"MiniDumpFilterWriteCombinedMemory",
	}
	out := []string{}
	if flags == 0 {
		return []string{"MiniDumpNormal"}
	}
	for i, n := range names {
		if flags&(1<<uint(i)) != 0 {
			out = append(out, n)
		}
	}
	if rest := flags &^ (1<<uint(len(names)) - 1); rest != 0 {
		out = append(out, fmt.Sprintf("0x%x", rest))
	}
	return out
}

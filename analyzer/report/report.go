// Package report defines the one Report type that every part of dumptriage
// produces, stores and shows. Its JSON keeps the field names of
// rust-minidump's `minidump-stackwalk --json` (the schema Socorro and Sentry
// tooling read) and adds dumptriage's own keys beside them.
package report

// Report is the analysis of one dump.
type Report struct {
	Status        string     `json:"status"` // "OK", or what stopped the analysis early
	PID           *uint32    `json:"pid"`
	ProcessUptime *uint64    `json:"process_uptime"` // seconds from process creation to the dump
	SystemInfo    SystemInfo `json:"system_info"`
	CrashInfo     CrashInfo  `json:"crash_info"`
	// CrashingThread is a copy of the crashing thread with its frames, as
	// minidump-stackwalk writes it; nil when the dump names no crashing thread.
	CrashingThread *CrashingThread `json:"crashing_thread"`
	ThreadCount    int             `json:"thread_count"`
	Threads        []Thread        `json:"threads"`
	MainModule     *int            `json:"main_module"`
	// ModulesContainsCertInfo says whether any module's cert_subject was
	// looked up (its image's Authenticode signature read).
	ModulesContainsCertInfo bool             `json:"modules_contains_cert_info"`
	Modules                 []Module         `json:"modules"`
	UnloadedModules         []UnloadedModule `json:"unloaded_modules"`
	// Handles are the process's open handles (HandleDataStream), as WinDbg's
	// !handle lists them; null when the dump has no handle data.
	Handles []Handle `json:"handles"`
	// Linux and macOS streams minidump-stackwalk reads (Breakpad's and
	// Mozilla's writers add them); null in Windows dumps.
	LinuxMemoryMapCount *int          `json:"linux_memory_map_count"` // lines of LinuxMaps (/proc/PID/maps)
	LSBRelease          *LSBRelease   `json:"lsb_release"`            // LinuxLsbRelease (/etc/lsb-release)
	ProcLimits          *ProcLimits   `json:"proc_limits"`            // MozLinuxLimits (/proc/PID/limits)
	MacCrashInfo        *MacCrashInfo `json:"mac_crash_info"`         // MozMacosCrashInfoStream: not decoded, always null
	MacBootArgs         *string       `json:"mac_boot_args"`          // MozMacosBootargsStream
	// SoftErrors are the errors the dump writer met and kept going
	// (MozSoftErrors, a JSON array), as written.
	SoftErrors RawJSON `json:"soft_errors"`

	// dumptriage's own keys.
	Dump              DumpInfo           `json:"dump"`
	Process           ProcessInfo        `json:"process"`
	Exception         *ExceptionRecord   `json:"exception"`
	Warnings          []string           `json:"warnings"`
	MemorySummary     *MemorySummary     `json:"memory_summary"`
	AllocationFailure *AllocationFailure `json:"allocation_failure"`
	StackOverflow     *StackOverflow     `json:"stack_overflow"`
	// CrashView is the code and memory around the crash; nil without an
	// x86 or amd64 crashing thread.
	CrashView *CrashView `json:"crash_view"`
	Signature string     `json:"signature"`
	// SignatureNotes says which frames the signature skipped or kept and why.
	SignatureNotes []string          `json:"signature_notes,omitempty"`
	Annotations    map[string]string `json:"annotations,omitempty"` // Crashpad/Breakpad key-values, Unreal context fields
	// ReporterStack is the crashing stack as the program's own crash
	// reporter logged it (Unity's Player.log, Unreal's CallStack), held
	// against ours; nil when no such log came with the dump.
	ReporterStack *ReporterStack `json:"reporter_stack,omitempty"`
	Comments      []string       `json:"comments,omitempty"`
	// Truncated says which lists the report cut, with their real counts.
	Truncated       []ListCut `json:"truncated,omitempty"`
	AnalyzerVersion string    `json:"analyzer_version"`
}

// ListCut is one list the report holds only in part: a hostile dump can
// state millions of entries.
type ListCut struct {
	What   string `json:"what"`   // e.g. "threads"
	Count  int    `json:"count"`  // as many as the dump has
	Listed int    `json:"listed"` // as many as the report lists
}

// RawJSON is JSON kept as written (null when empty).
type RawJSON []byte

// MarshalJSON writes the bytes, or null.
func (r RawJSON) MarshalJSON() ([]byte, error) {
	if len(r) == 0 {
		return []byte("null"), nil
	}
	return r, nil
}

// UnmarshalJSON keeps a copy; null gives an empty value.
func (r *RawJSON) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*r = nil
		return nil
	}
	*r = append((*r)[:0], b...)
	return nil
}

// LSBRelease is /etc/lsb-release (or os-release) as a Linux dump records it.
type LSBRelease struct {
	ID          string `json:"id"`          // DISTRIB_ID or ID
	Release     string `json:"release"`     // DISTRIB_RELEASE or VERSION_ID
	Codename    string `json:"codename"`    // DISTRIB_CODENAME or VERSION_CODENAME
	Description string `json:"description"` // DISTRIB_DESCRIPTION or PRETTY_NAME
}

// ProcLimits is the process's resource limits (/proc/PID/limits).
type ProcLimits struct {
	Limits []ProcLimit `json:"limits"`
}

// ProcLimit is one row of /proc/PID/limits.
type ProcLimit struct {
	Name string `json:"name"`
	Soft string `json:"soft"`
	Hard string `json:"hard"`
	Unit string `json:"unit"`
}

// MacCrashInfo is minidump-stackwalk's mac_crash_info (the __crash_info
// records of a macOS process).
type MacCrashInfo struct {
	NumRecords int              `json:"num_records"`
	Records    []MacCrashRecord `json:"records"`
}

// MacCrashRecord is one __DATA,__crash_info record.
type MacCrashRecord struct {
	Thread          *Addr   `json:"thread"`
	DialogMode      *Addr   `json:"dialog_mode"`
	AbortCause      *Addr   `json:"abort_cause"`
	Module          *string `json:"module"`
	Message         *string `json:"message"`
	SignatureString *string `json:"signature_string"`
	Backtrace       *string `json:"backtrace"`
	Message2        *string `json:"message2"`
}

// SystemInfo is minidump-stackwalk's system_info.
type SystemInfo struct {
	OS       string `json:"os"`
	OSVer    string `json:"os_ver"`
	CPUArch  string `json:"cpu_arch"`
	CPUInfo  string `json:"cpu_info"`
	CPUCount int    `json:"cpu_count"`
	// CPUMicrocodeVersion is the microcode revision, when the dump records
	// it (Linux dumps' /proc/cpuinfo); Windows minidumps do not.
	CPUMicrocodeVersion *string `json:"cpu_microcode_version"`
}

// CrashInfo is minidump-stackwalk's crash_info, plus the decoded exception.
type CrashInfo struct {
	Type    string `json:"type"`    // e.g. EXCEPTION_ACCESS_VIOLATION_READ; "" without an exception
	Address *Addr  `json:"address"` // the accessed address for access violations, else the exception address
	// AdjustedAddress is a more useful address than Address, found by
	// decoding the crashing instruction: the real target of a non-canonical
	// access, or the offset from a null base pointer.
	AdjustedAddress *AdjustedAddress `json:"adjusted_address"`
	// Instruction is the crashing instruction, disassembled (Intel syntax).
	Instruction *string `json:"instruction"`
	// MemoryAccesses are the memory operands of the crashing instruction,
	// with the addresses the registers give them.
	MemoryAccesses []MemoryAccess `json:"memory_accesses"`
	// InstructionPointerUpdate is where the crashing instruction sends the
	// instruction pointer (a call, jmp or ret), when it does.
	InstructionPointerUpdate *InstructionPointerUpdate `json:"instruction_pointer_update"`
	// PossibleBitFlips are addresses one flipped bit away from a bad
	// address that would have been valid: a hardware fault, not a bug.
	PossibleBitFlips []BitFlip `json:"possible_bit_flips"`
	// CrashInconsistencies are contradictions between the exception record
	// and what the instruction and memory say; [] when none, null without
	// an exception.
	CrashInconsistencies []string `json:"crash_inconsistencies"`
	CrashingThread       *int     `json:"crashing_thread"`
	Assertion            *string  `json:"assertion"`
	// Description says in words what happened, e.g. "read of address 0x0".
	Description string `json:"description,omitempty"`
}

// AdjustedAddress is crash_info.adjusted_address.
type AdjustedAddress struct {
	Kind    string `json:"kind"`              // "non-canonical" or "null-pointer"
	Address *Addr  `json:"address,omitempty"` // non-canonical: the address the instruction meant
	Offset  *Addr  `json:"offset,omitempty"`  // null-pointer: the offset from the null base
}

// MemoryAccess is one memory operand of the crashing instruction.
type MemoryAccess struct {
	Address Addr   `json:"address"`
	Size    uint32 `json:"size"`
	// IsLikelyGuardPage: the address lies in a PAGE_GUARD or PAGE_NOACCESS
	// page next to committed memory (MemoryInfoList), as allocators place
	// them around blocks: an overrun.
	IsLikelyGuardPage bool   `json:"is_likely_guard_page,omitempty"`
	AccessType        string `json:"access_type,omitempty"` // read, write or readwrite
}

// InstructionPointerUpdate is where a control transfer was going.
type InstructionPointerUpdate struct {
	Address           Addr `json:"address"`
	IsLikelyGuardPage bool `json:"is_likely_guard_page,omitempty"`
}

// BitFlip is an address one bit away from a bad one that is valid memory.
type BitFlip struct {
	Address    Addr           `json:"address"`
	Details    BitFlipDetails `json:"details"`
	Confidence float64        `json:"confidence"` // 0..1
	// SourceRegister is the register the bad address came from, or null
	// for the crash address itself.
	SourceRegister *string `json:"source_register"`
}

// BitFlipDetails are what the confidence of a bit flip rests on.
type BitFlipDetails struct {
	WasNonCanonical bool   `json:"was_non_canonical"` // the bad address was non-canonical
	IsNull          bool   `json:"is_null"`           // the corrected address is 0
	WasLow          bool   `json:"was_low"`           // is_null, and the bad address was small anyway
	PoisonRegisters bool   `json:"poison_registers"`  // some register holds an allocator poison pattern
	NearbyRegisters uint32 `json:"nearby_registers"`  // registers holding values near the corrected address
}

// ExceptionRecord is the raw MINIDUMP_EXCEPTION, for the report page.
type ExceptionRecord struct {
	ThreadID   uint32 `json:"thread_id"`
	Code       Hex32  `json:"code"`
	Name       string `json:"name"`
	Flags      Hex32  `json:"flags"`
	Record     Addr   `json:"record"`
	Address    Addr   `json:"address"`
	Parameters []Addr `json:"parameters"`
	// ThrownType is the C++ type for an MSVC C++ exception, from its ThrowInfo.
	ThrownType string `json:"thrown_type,omitempty"`
	// ThrownTypes lists every catchable type of the thrown object, most derived first.
	ThrownTypes []string `json:"thrown_types,omitempty"`
	// Module is the module containing the exception address.
	Module string `json:"module,omitempty"`
}

// CrashingThread is minidump-stackwalk's crashing_thread.
type CrashingThread struct {
	ThreadID       uint32  `json:"thread_id"`
	ThreadName     *string `json:"thread_name"`
	LastErrorValue *string `json:"last_error_value"`
	ThreadsIndex   int     `json:"threads_index"`
	FrameCount     int     `json:"frame_count"`
	Frames         []Frame `json:"frames"`
	// Reason says why the crash's frames are not on the stack of the thread
	// the Exception stream names (the dump was written from a reporting
	// thread), or is empty.
	Reason string `json:"reason,omitempty"`
	// CrashedThreadID and CrashedThreadsIndex name the thread whose stack
	// the exception context's stack pointer lies in, when that is not the
	// thread the Exception stream names (ThreadID); nil otherwise.
	CrashedThreadID     *uint32 `json:"crashed_thread_id,omitempty"`
	CrashedThreadsIndex *int    `json:"crashed_threads_index,omitempty"`
	// HandlerFrames is how many innermost frames belong to the code that
	// handled the crash and wrote the dump (an assert handler, a crash
	// handler, RaiseException), above the fault. The signature starts
	// after them.
	HandlerFrames int `json:"handler_frames,omitempty"`
}

// Thread is one thread with its walked stack.
type Thread struct {
	ThreadID       uint32  `json:"thread_id"`
	ThreadName     *string `json:"thread_name"`
	LastErrorValue *string `json:"last_error_value"`
	FrameCount     int     `json:"frame_count"`
	Frames         []Frame `json:"frames"`

	Teb        *Addr `json:"teb,omitempty"`
	StackStart *Addr `json:"stack_start,omitempty"` // lowest captured stack address
	StackEnd   *Addr `json:"stack_end,omitempty"`
	// Registers of frame 0 (the thread's own context), by name.
	Registers map[string]Addr `json:"registers,omitempty"`
	// UsesExceptionContext is true when frame 0 comes from the exception
	// record rather than the thread list (the crashing thread).
	UsesExceptionContext bool `json:"uses_exception_context,omitempty"`
	// WalkNote says why a walk stopped early, when it did.
	WalkNote string `json:"walk_note,omitempty"`
	// Recursion is the cycle of frames that repeats most on this stack,
	// for the page to fold; nil when no cycle repeats often enough.
	Recursion *Recursion `json:"recursion,omitempty"`
	// From ThreadInfoList, when the dump has it.
	StartAddress *Addr   `json:"start_address,omitempty"`
	StartModule  string  `json:"start_module,omitempty"`
	CreateTime   string  `json:"create_time,omitempty"`
	UserTimeMS   *uint64 `json:"user_time_ms,omitempty"`
	KernelTimeMS *uint64 `json:"kernel_time_ms,omitempty"`
}

// Handle is one open handle.
type Handle struct {
	Handle        uint64 `json:"handle"`
	Type          string `json:"type_name"`
	Name          string `json:"object_name"`
	GrantedAccess Hex32  `json:"granted_access"`
	HandleCount   uint32 `json:"handle_count"`
	PointerCount  uint32 `json:"pointer_count"`
}

// Module is one loaded module.
type Module struct {
	BaseAddr       Addr   `json:"base_addr"`
	EndAddr        Addr   `json:"end_addr"`
	Filename       string `json:"filename"`
	CodeID         string `json:"code_id"`
	DebugFile      string `json:"debug_file"`
	DebugID        string `json:"debug_id"`
	Version        string `json:"version"`
	MissingSymbols bool   `json:"missing_symbols"`
	LoadedSymbols  bool   `json:"loaded_symbols"`
	// CorruptSymbols: a symbol file was found but could not be read.
	CorruptSymbols bool `json:"corrupt_symbols"`
	// SymbolURL is where the symbol file was downloaded from (a SymSrv
	// server), null when it came from disk or was not found.
	SymbolURL *string `json:"symbol_url"`
	// CertSubject is who signed the module; dumptriage does not read
	// Authenticode signatures, so it is null (modules_contains_cert_info false).
	CertSubject *string `json:"cert_subject"`

	Path string `json:"path"` // full name as recorded in the dump
	// Image and Symbols say whether the module's PE image and symbols were
	// found, where, and if not, why.
	Image   *FileStatus `json:"image,omitempty"`
	Symbols *FileStatus `json:"symbols,omitempty"`
}

// FileStatus reports the search for a module's image or symbol file.
type FileStatus struct {
	Found  bool   `json:"found"`
	Kind   string `json:"kind,omitempty"`   // pdb, breakpad, dwarf, exports, dump-memory, file
	Source string `json:"source,omitempty"` // where it came from
	Why    string `json:"why,omitempty"`    // why not, when not found
	URL    string `json:"url,omitempty"`    // the server address it was downloaded from
	// Corrupt: the file was found but could not be read.
	Corrupt bool `json:"corrupt,omitempty"`
}

// UnloadedModule is one module the process had unloaded.
type UnloadedModule struct {
	BaseAddr Addr   `json:"base_addr"`
	EndAddr  Addr   `json:"end_addr"`
	Filename string `json:"filename"`
	CodeID   string `json:"code_id"`
	// CertSubject: see Module.CertSubject.
	CertSubject *string `json:"cert_subject"`
}

// DumpInfo describes the dump file itself.
type DumpInfo struct {
	SHA256    string       `json:"sha256,omitempty"`
	Size      int64        `json:"size"`
	Flags     Hex64        `json:"flags"`
	FlagNames []string     `json:"flag_names"`
	Time      string       `json:"time,omitempty"` // when the dump was written, RFC 3339 UTC
	Streams   []StreamInfo `json:"streams"`
	// Missing lists what this dump cannot answer and the dump flags that would fix it.
	Missing []MissingData `json:"missing,omitempty"`
	// WriterThreadID is the thread that wrote the dump, when known
	// (BreakpadInfo, or inferred).
	WriterThreadID *uint32 `json:"writer_thread_id,omitempty"`
	// Truncated is set when the file was cut short: its directory places
	// streams or memory past its end.
	Truncated *Truncation `json:"truncated,omitempty"`
}

// Truncation says how much of a truncated dump is present and what was lost.
type Truncation struct {
	PresentBytes int64  `json:"present_bytes"` // the file's size
	NeededBytes  uint64 `json:"needed_bytes"`  // the size the directory needs
	// LostStreams start at or past the end of the file; CutStreams start
	// inside it and end past it ("Memory64List memory" when only the
	// memory data it describes is cut).
	LostStreams []string `json:"lost_streams"`
	CutStreams  []string `json:"cut_streams"`
	// MissingDirectoryEntries counts stream directory entries past the end
	// of the file: streams of unknown type, lost as well.
	MissingDirectoryEntries uint32 `json:"missing_directory_entries,omitempty"`
}

// StreamInfo is one stream directory entry.
type StreamInfo struct {
	Type uint32 `json:"type"`
	Name string `json:"name"`
	Size uint32 `json:"size"`
	Rva  Hex32  `json:"rva"`
	// Known is false for streams the analyzer only lists.
	Known bool `json:"known"`
}

// MissingData is something the dump cannot answer because a stream or
// memory is absent.
type MissingData struct {
	What string `json:"what"`
	Fix  string `json:"fix"` // e.g. "write the dump with MiniDumpWithFullMemoryInfo"
}

// ProcessInfo describes the dumped process.
type ProcessInfo struct {
	Name        string `json:"name,omitempty"` // main module file name
	Path        string `json:"path,omitempty"`
	Version     string `json:"version,omitempty"`
	CreateTime  string `json:"create_time,omitempty"`
	BuildString string `json:"build_string,omitempty"`
	// From MiscInfo, when recorded.
	ProcessorMaxMHz uint32 `json:"processor_max_mhz,omitempty"`
	TimeZone        string `json:"time_zone,omitempty"`
	IntegrityLevel  string `json:"integrity_level,omitempty"`
	// Commit figures, in bytes, when the dump carries them.
	PrivateBytes     *uint64 `json:"private_bytes,omitempty"`
	CommitTotalBytes *uint64 `json:"commit_total_bytes,omitempty"`
	CommitLimitBytes *uint64 `json:"commit_limit_bytes,omitempty"`
	CommitPeakBytes  *uint64 `json:"commit_peak_bytes,omitempty"`
	PhysicalBytes    *uint64 `json:"physical_bytes,omitempty"`
}

// ReporterStack is a crash reporter's own record of the crashing stack, a
// second opinion on ours.
type ReporterStack struct {
	// Source names the log and the reporter ("Unity Player.log").
	Source string `json:"source"`
	// How says how the stack was found and how far it can be trusted.
	How    string          `json:"how"`
	Frames []ReporterFrame `json:"frames"`
	// Disagreements counts the frames none of ours matches, among those
	// that could be compared (a logged name needs our frames' symbols).
	Disagreements int `json:"disagreements"`
}

// ReporterFrame is one frame of a reporter's stack and ours that matches
// it, in order.
type ReporterFrame struct {
	Address  *Addr  `json:"address"` // return address (instruction pointer for the first), when logged
	Module   string `json:"module,omitempty"`
	Function string `json:"function,omitempty"`
	// OurFrame is the index of our crashing-thread frame that matches
	// (same address, or the call just before it; or the same function),
	// nil when none does: the two stacks disagree there.
	OurFrame *int `json:"our_frame"`
}

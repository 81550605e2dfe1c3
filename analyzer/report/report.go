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
	CrashingThread  *CrashingThread  `json:"crashing_thread"`
	ThreadCount     int              `json:"thread_count"`
	Threads         []Thread         `json:"threads"`
	MainModule      *int             `json:"main_module"`
	Modules         []Module         `json:"modules"`
	UnloadedModules []UnloadedModule `json:"unloaded_modules"`

	// dumptriage's own keys.
	Dump              DumpInfo           `json:"dump"`
	Process           ProcessInfo        `json:"process"`
	Exception         *ExceptionRecord   `json:"exception"`
	Warnings          []string           `json:"warnings"`
	MemorySummary     *MemorySummary     `json:"memory_summary"`
	AllocationFailure *AllocationFailure `json:"allocation_failure"`
	StackOverflow     *StackOverflow     `json:"stack_overflow"`
	Signature         string             `json:"signature"`
	// SignatureNotes says which frames the signature skipped or kept and why.
	SignatureNotes []string          `json:"signature_notes,omitempty"`
	Annotations    map[string]string `json:"annotations,omitempty"` // Crashpad/Breakpad key-values, Unreal context fields
	// Handles are the process's open handles (HandleData), as WinDbg's !handle lists them.
	Handles         []Handle `json:"handles,omitempty"`
	Comments        []string `json:"comments,omitempty"`
	AnalyzerVersion string   `json:"analyzer_version"`
}

// SystemInfo is minidump-stackwalk's system_info.
type SystemInfo struct {
	OS       string `json:"os"`
	OSVer    string `json:"os_ver"`
	CPUArch  string `json:"cpu_arch"`
	CPUInfo  string `json:"cpu_info"`
	CPUCount int    `json:"cpu_count"`
}

// CrashInfo is minidump-stackwalk's crash_info, plus the decoded exception.
type CrashInfo struct {
	Type           string  `json:"type"`    // e.g. EXCEPTION_ACCESS_VIOLATION_READ; "" without an exception
	Address        *Addr   `json:"address"` // the accessed address for access violations, else the exception address
	CrashingThread *int    `json:"crashing_thread"`
	Assertion      *string `json:"assertion"`
	// Description says in words what happened, e.g. "read of address 0x0".
	Description string `json:"description,omitempty"`
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
	ThreadID     uint32  `json:"thread_id"`
	ThreadsIndex int     `json:"threads_index"`
	FrameCount   int     `json:"frame_count"`
	Frames       []Frame `json:"frames"`
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
	// From ThreadInfoList, when the dump has it.
	StartAddress *Addr   `json:"start_address,omitempty"`
	StartModule  string  `json:"start_module,omitempty"`
	CreateTime   string  `json:"create_time,omitempty"`
	UserTimeMS   *uint64 `json:"user_time_ms,omitempty"`
	KernelTimeMS *uint64 `json:"kernel_time_ms,omitempty"`
}

// Handle is one open handle.
type Handle struct {
	Handle        Addr   `json:"handle"`
	Type          string `json:"type"`
	Name          string `json:"name,omitempty"`
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
}

// UnloadedModule is one module the process had unloaded.
type UnloadedModule struct {
	BaseAddr Addr   `json:"base_addr"`
	EndAddr  Addr   `json:"end_addr"`
	Filename string `json:"filename"`
	CodeID   string `json:"code_id"`
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

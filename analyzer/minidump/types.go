package minidump

import (
	"fmt"
	"strings"
)

// Header is MINIDUMP_HEADER.
type Header struct {
	Signature          uint32
	Version            uint32 // low word MINIDUMP_VERSION (0xA793), high word implementation-specific
	NumberOfStreams    uint32
	StreamDirectoryRva uint32
	CheckSum           uint32
	TimeDateStamp      uint32 // when the dump was written, seconds since 1970 UTC
	Flags              uint64 // MINIDUMP_TYPE
}

// StreamInfo is one MINIDUMP_DIRECTORY entry.
type StreamInfo struct {
	Type StreamType
	Size uint32
	Rva  uint32
}

// Arch is a CPU architecture, as MINIDUMP_SYSTEM_INFO.ProcessorArchitecture.
type Arch uint16

const (
	ArchX86        Arch = 0
	ArchARM        Arch = 5
	ArchIA64       Arch = 6
	ArchAMD64      Arch = 9
	ArchARM64      Arch = 12
	ArchARM64Old   Arch = 0x8003 // Breakpad/Crashpad's pre-standard arm64 value
	ArchUnknown    Arch = 0xFFFF
	archX86OnWin64 Arch = 10
)

func (a Arch) String() string {
	switch a {
	case ArchX86, archX86OnWin64:
		return "x86"
	case ArchAMD64:
		return "amd64"
	case ArchARM64, ArchARM64Old:
		return "arm64"
	case ArchARM:
		return "arm"
	case ArchIA64:
		return "ia64"
	}
	return fmt.Sprintf("unknown(0x%x)", uint16(a))
}

// PointerSize is 4 for 32-bit architectures and 8 otherwise.
func (a Arch) PointerSize() int {
	if a == ArchX86 || a == archX86OnWin64 || a == ArchARM {
		return 4
	}
	return 8
}

// SystemInfo is MINIDUMP_SYSTEM_INFO.
type SystemInfo struct {
	ProcessorArchitecture Arch
	ProcessorLevel        uint16
	ProcessorRevision     uint16
	NumberOfProcessors    uint8
	ProductType           uint8
	MajorVersion          uint32
	MinorVersion          uint32
	BuildNumber           uint32
	PlatformID            uint32
	CSDVersion            string
	SuiteMask             uint16
	VendorID              string // x86/amd64 CPU_INFORMATION.X86CpuInfo.VendorId
	CPUVersionInfo        uint32
	CPUFeatureInfo        uint32
	ProcessorFeatures     [2]uint64 // non-x86 CPU_INFORMATION
}

// OS names the platform as minidump-stackwalk does ("Windows NT", "Linux", "Mac OS X").
func (s *SystemInfo) OS() string {
	switch s.PlatformID {
	case 0:
		return "Windows 3.1"
	case 1:
		return "Windows 9x"
	case 2:
		return "Windows NT"
	case 3:
		return "Windows CE"
	case 0x8000:
		return "Unix"
	case 0x8101:
		return "Mac OS X"
	case 0x8102:
		return "iOS"
	case 0x8201:
		return "Linux"
	case 0x8202:
		return "Solaris"
	case 0x8203:
		return "Android"
	case 0x8204:
		return "PS3"
	case 0x8205:
		return "NaCl"
	case 0x8206:
		return "Fuchsia"
	}
	return fmt.Sprintf("unknown(0x%x)", s.PlatformID)
}

// IsWindows reports whether the dump comes from a Windows NT process.
func (s *SystemInfo) IsWindows() bool { return s.PlatformID == 2 }

// OSVersion is "major.minor.build" followed by the CSD version, as
// minidump-stackwalk writes os_ver.
func (s *SystemInfo) OSVersion() string {
	v := fmt.Sprintf("%d.%d.%d", s.MajorVersion, s.MinorVersion, s.BuildNumber)
	if csd := strings.TrimSpace(s.CSDVersion); csd != "" {
		v += " " + csd
	}
	return v
}

// CPUInfo is "GenuineIntel family 6 model 13 stepping 8", as minidump-stackwalk writes it.
func (s *SystemInfo) CPUInfo() string {
	switch s.ProcessorArchitecture {
	case ArchX86, ArchAMD64, archX86OnWin64:
		info := s.VendorID
		if info != "" {
			info += " "
		}
		return fmt.Sprintf("%sfamily %d model %d stepping %d", info, s.ProcessorLevel,
			s.ProcessorRevision>>8, s.ProcessorRevision&0xff)
	}
	return ""
}

// MiscInfo is MINIDUMP_MISC_INFO through MINIDUMP_MISC_INFO_5; fields are
// valid only when their Flags1 bit is set.
type MiscInfo struct {
	SizeOfInfo                uint32
	Flags1                    uint32
	ProcessID                 uint32
	ProcessCreateTime         uint32
	ProcessUserTime           uint32
	ProcessKernelTime         uint32
	ProcessorMaxMhz           uint32
	ProcessorCurrentMhz       uint32
	ProcessorMhzLimit         uint32
	ProcessorMaxIdleState     uint32
	ProcessorCurrentIdleState uint32
	ProcessIntegrityLevel     uint32
	ProcessExecuteFlags       uint32
	ProtectedProcess          uint32
	TimeZoneID                uint32
	TimeZoneBias              int32
	TimeZoneStandardName      string
	TimeZoneDaylightName      string
	BuildString               string
	DbgBldStr                 string
	XStateEnabledFeatures     uint64
	XStateContextSize         uint32
	ProcessCookie             uint32
}

// MINIDUMP_MISC_INFO Flags1 bits.
const (
	MiscProcessID          = 0x1
	MiscProcessTimes       = 0x2
	MiscProcessorPowerInfo = 0x4
	MiscProcessIntegrity   = 0x10
	MiscProcessExecFlags   = 0x20
	MiscTimezone           = 0x40
	MiscProtectedProcess   = 0x80
	MiscBuildString        = 0x100
	MiscProcessCookie      = 0x200
)

// MemoryDescriptor is MINIDUMP_MEMORY_DESCRIPTOR: captured memory and where
// its bytes are in the file.
type MemoryDescriptor struct {
	Start    uint64
	DataSize uint32
	Rva      uint32
}

// Thread is MINIDUMP_THREAD (or MINIDUMP_THREAD_EX), with its context decoded.
type Thread struct {
	ID            uint32
	SuspendCount  uint32
	PriorityClass uint32
	Priority      uint32
	Teb           uint64
	Stack         MemoryDescriptor
	ContextLoc    Location
	Context       *Context // nil when it could not be read; see ContextErr
	ContextErr    error
	BackingStore  *MemoryDescriptor // ThreadExList only
}

// Location is MINIDUMP_LOCATION_DESCRIPTOR.
type Location struct {
	DataSize uint32
	Rva      uint32
}

// ThreadInfo is MINIDUMP_THREAD_INFO.
type ThreadInfo struct {
	ThreadID     uint32
	DumpFlags    uint32
	DumpError    uint32
	ExitStatus   uint32
	CreateTime   uint64 // FILETIME
	ExitTime     uint64
	KernelTime   uint64
	UserTime     uint64
	StartAddress uint64
	Affinity     uint64
}

// FixedFileInfo is VS_FIXEDFILEINFO.
type FixedFileInfo struct {
	Signature        uint32
	StrucVersion     uint32
	FileVersionMS    uint32
	FileVersionLS    uint32
	ProductVersionMS uint32
	ProductVersionLS uint32
	FileFlagsMask    uint32
	FileFlags        uint32
	FileOS           uint32
	FileType         uint32
	FileSubtype      uint32
	FileDateMS       uint32
	FileDateLS       uint32
}

// FileVersion is "a.b.c.d", or "" when the structure is absent (signature not 0xFEEF04BD).
func (v FixedFileInfo) FileVersion() string {
	if v.Signature != 0xFEEF04BD {
		return ""
	}
	return fmt.Sprintf("%d.%d.%d.%d", v.FileVersionMS>>16, v.FileVersionMS&0xffff, v.FileVersionLS>>16, v.FileVersionLS&0xffff)
}

// CodeView is the module's CodeView record: RSDS (PDB 7.0) or NB10 (PDB 2.0).
type CodeView struct {
	Signature string // "RSDS" or "NB10"
	GUID      [16]byte
	NB10Sig   uint32
	Age       uint32
	PDBName   string
}

// DebugID spells the PDB identity as symbol stores and Breakpad do: GUID
// (Data1-3 as numbers, then Data4 bytes) in uppercase hex followed by the age
// in hex, e.g. 5A9832E5287241C1838ED98914E9B7FF1. NB10 uses the signature.
func (cv *CodeView) DebugID() string {
	if cv == nil {
		return ""
	}
	if cv.Signature == "NB10" {
		return fmt.Sprintf("%08X%X", cv.NB10Sig, cv.Age)
	}
	return GUIDString(cv.GUID) + fmt.Sprintf("%X", cv.Age)
}

// GUIDString writes a GUID in its bare uppercase symbol-store form.
func GUIDString(g [16]byte) string {
	return fmt.Sprintf("%08X%04X%04X%X", le.Uint32(g[0:]), le.Uint16(g[4:]), le.Uint16(g[6:]), g[8:16])
}

// Module is MINIDUMP_MODULE.
type Module struct {
	Base          uint64
	Size          uint32
	CheckSum      uint32
	TimeDateStamp uint32
	Name          string // full path as recorded
	Version       FixedFileInfo
	CvRecord      Location
	MiscRecord    Location
	CodeView      *CodeView // nil when there is no (readable) CodeView record
}

// End is the first address past the module.
func (m *Module) End() uint64 { return m.Base + uint64(m.Size) }

// Contains reports whether addr is inside the module image.
func (m *Module) Contains(addr uint64) bool { return addr >= m.Base && addr-m.Base < uint64(m.Size) }

// FileName is the last path element, split on both separators.
func (m *Module) FileName() string { return baseName(m.Name) }

// CodeID is the image's symbol-store key: TimeDateStamp as %08X then SizeOfImage as %x.
func (m *Module) CodeID() string {
	if m.TimeDateStamp == 0 && m.Size == 0 {
		return ""
	}
	return fmt.Sprintf("%08X%x", m.TimeDateStamp, m.Size)
}

// DebugFile is the PDB file name from the CodeView record (its last path element).
func (m *Module) DebugFile() string {
	if m.CodeView == nil {
		return ""
	}
	return baseName(m.CodeView.PDBName)
}

// DebugID is the CodeView debug identifier, or "" without a CodeView record.
func (m *Module) DebugID() string { return m.CodeView.DebugID() }

// baseName is the last element of p, with backslashes as slashes, without
// allocating: it is asked for every frame. Unlike path.Base it returns ""
// for a name that is empty or all separators (a module name the dump lost),
// never "." or "/".
func baseName(p string) string {
	for len(p) > 0 && (p[len(p)-1] == '/' || p[len(p)-1] == '\\') {
		p = p[:len(p)-1]
	}
	if p == "" {
		return ""
	}
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		p = p[i+1:]
	}
	return p
}

// UnloadedModule is MINIDUMP_UNLOADED_MODULE.
type UnloadedModule struct {
	Base          uint64
	Size          uint32
	CheckSum      uint32
	TimeDateStamp uint32
	Name          string
}

// Exception is MINIDUMP_EXCEPTION_STREAM with its MINIDUMP_EXCEPTION record.
type Exception struct {
	ThreadID      uint32
	Code          uint32
	Flags         uint32
	Record        uint64 // address of a chained EXCEPTION_RECORD
	Address       uint64
	Parameters    []uint64 // ExceptionInformation[0:NumberParameters]
	NumParameters uint32   // as recorded, may exceed 15 in a damaged dump
	ContextLoc    Location
	Context       *Context
	ContextErr    error
}

// MemoryInfo is MINIDUMP_MEMORY_INFO: one region of the address space.
type MemoryInfo struct {
	BaseAddress       uint64
	AllocationBase    uint64
	AllocationProtect uint32
	RegionSize        uint64
	State             uint32
	Protect           uint32
	Type              uint32
}

// Handle is MINIDUMP_HANDLE_DESCRIPTOR(_2).
type Handle struct {
	Handle        uint64
	TypeName      string
	ObjectName    string
	Attributes    uint32
	GrantedAccess uint32
	HandleCount   uint32
	PointerCount  uint32
}

// FunctionTable is one MINIDUMP_FUNCTION_TABLE_DESCRIPTOR with its entries
// (dynamic function tables registered with RtlAddFunctionTable, e.g. by JITs).
type FunctionTable struct {
	MinimumAddress uint64
	MaximumAddress uint64
	BaseAddress    uint64
	EntryCount     uint32
	Entries        []byte // raw entries: RUNTIME_FUNCTION (12 bytes each) on amd64
	EntrySize      uint32
	// Callback is DYNAMIC_FUNCTION_TABLE.Callback from the native
	// descriptor: the registering runtime's function for callback tables,
	// unrelated data for others (0 when the descriptor is too short).
	Callback uint64
}

// SystemMemoryInfo holds what the OOM analysis needs from
// MINIDUMP_SYSTEM_MEMORY_INFO_1, converted to bytes.
type SystemMemoryInfo struct {
	Revision               uint16
	Flags                  uint16
	PageSize               uint32
	NumberOfPhysicalPages  uint32
	AllocationGranularity  uint32
	MinimumUserModeAddress uint64
	MaximumUserModeAddress uint64
	// MINIDUMP_SYSTEM_BASIC_PERFORMANCE_INFORMATION, in bytes (pages * PageSize).
	AvailableBytes      uint64
	CommittedBytes      uint64
	CommitLimitBytes    uint64
	PeakCommitmentBytes uint64
}

// ProcessVmCounters is MINIDUMP_PROCESS_VM_COUNTERS_1/_2.
type ProcessVmCounters struct {
	Revision                   uint16
	PageFaultCount             uint32
	PeakWorkingSetSize         uint64
	WorkingSetSize             uint64
	QuotaPeakPagedPoolUsage    uint64
	QuotaPagedPoolUsage        uint64
	QuotaPeakNonPagedPoolUsage uint64
	QuotaNonPagedPoolUsage     uint64
	PagefileUsage              uint64
	PeakPagefileUsage          uint64
	PrivateUsage               uint64
	PrivateWorkingSetSize      uint64 // revision 2
	SharedCommitUsage          uint64
	JobSharedCommitUsage       uint64
	JobPrivateCommitUsage      uint64
	JobPeakPrivateCommitUsage  uint64
	JobPrivateCommitLimit      uint64
	JobTotalCommitLimit        uint64
}

// BreakpadInfo is MDRawBreakpadInfo: which thread wrote the dump and which asked for it.
type BreakpadInfo struct {
	Validity              uint32
	DumpThreadID          uint32
	RequestingThreadID    uint32
	HasDumpThreadID       bool
	HasRequestingThreadID bool
}

// AssertionInfo is MDRawAssertionInfo (e.g. an invalid-parameter handler's report).
type AssertionInfo struct {
	Expression string
	Function   string
	File       string
	Line       uint32
	Type       uint32 // 1 invalid parameter, 2 pure virtual call
}

// CrashpadInfo is MinidumpCrashpadInfo with its annotations.
type CrashpadInfo struct {
	Version           uint32
	ReportID          [16]byte
	ClientID          [16]byte
	SimpleAnnotations map[string]string
	ModuleAnnotations []ModuleAnnotations
}

// ModuleAnnotations are the Crashpad annotations attached to one module.
type ModuleAnnotations struct {
	ModuleIndex       uint32
	ListAnnotations   []string
	SimpleAnnotations map[string]string
}

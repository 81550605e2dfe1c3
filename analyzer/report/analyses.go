package report

// MemorySummary is WinDbg's `!address -summary`, computed from MemoryInfoList.
type MemorySummary struct {
	AddressSpaceBytes uint64         `json:"address_space_bytes"`
	Usage             []SummaryEntry `json:"usage"`
	Type              []SummaryEntry `json:"type"`
	State             []SummaryEntry `json:"state"`
	Protect           []SummaryEntry `json:"protect"`
	Largest           []LargestEntry `json:"largest"`
	LargestFreeBytes  uint64         `json:"largest_free_bytes"`
	Text              string         `json:"text"` // laid out as WinDbg lays it out
	Regions           []Region       `json:"regions"`
	// Source says where the regions came from (MemoryInfoList, or only
	// MemoryList ranges) and Notes what could not be classified and why.
	Source string   `json:"source"`
	Notes  []string `json:"notes,omitempty"`
	// PointerSize is the dumped process's pointer size (4 or 8), which
	// decides how addresses are written (8 digits, or split by a backtick).
	PointerSize int `json:"pointer_size,omitempty"`
}

// SummaryEntry is one row of a summary table.
type SummaryEntry struct {
	Name     string  `json:"name"`
	Regions  int     `json:"regions"`
	Bytes    uint64  `json:"bytes"`
	PctBusy  float64 `json:"pct_busy"`
	PctTotal float64 `json:"pct_total"`
}

// LargestEntry is one row of "Largest Region by Usage".
type LargestEntry struct {
	Usage string `json:"usage"`
	Base  Addr   `json:"base"`
	Bytes uint64 `json:"bytes"`
}

// Region is one address-space region with its classification.
type Region struct {
	Base           Addr   `json:"base"`
	End            Addr   `json:"end"`
	Size           uint64 `json:"size"`
	State          string `json:"state"`
	Protect        string `json:"protect"`
	Type           string `json:"type"`
	Usage          string `json:"usage"`
	Detail         string `json:"detail,omitempty"` // e.g. "Thread 0x1f00 stack", module name
	AllocationBase Addr   `json:"allocation_base"`
	// AllocationProtect is the protection the allocation was created with
	// (MEMORY_BASIC_INFORMATION.AllocationProtect).
	AllocationProtect string `json:"allocation_protect,omitempty"`
	// PointerSize is copied from the summary by memmap.Lookup so that a
	// region can be rendered on its own; it is not serialised.
	PointerSize int `json:"-"`
}

// Confidence levels for derived facts.
const (
	ConfidenceHigh   = "high"
	ConfidenceMedium = "medium"
	ConfidenceLow    = "low"
)

// AllocationFailure explains an out-of-memory crash.
type AllocationFailure struct {
	RequestedBytes *uint64 `json:"requested_bytes"`
	ElementCount   *uint64 `json:"element_count"`
	ElementSize    *uint64 `json:"element_size"`
	Allocator      string  `json:"allocator"` // e.g. "operator new", "RtlAllocateHeap"
	// How the size was found: which frame, instruction and stack slot.
	Method     string `json:"method"`
	Confidence string `json:"confidence"`
	// Evidence lists each source consulted and what it said, e.g. the
	// disassembly and the debug information, when both were available.
	Evidence []string `json:"evidence,omitempty"`
	// Verdict: commit_limit, address_space, absurd_request or unknown.
	Verdict     string `json:"verdict"`
	Explanation string `json:"explanation"`
	Recognized  string `json:"recognized"` // what made this an out-of-memory crash

	CommitTotalBytes    *uint64 `json:"commit_total_bytes"`
	CommitLimitBytes    *uint64 `json:"commit_limit_bytes"`
	ProcessPrivateBytes *uint64 `json:"process_private_bytes"`
	LargestFreeBytes    *uint64 `json:"largest_free_bytes"`
}

// StackOverflow describes a thread that ran out of stack.
type StackOverflow struct {
	ThreadID          uint32  `json:"thread_id"`
	StackReserveBytes *uint64 `json:"stack_reserve_bytes"`
	StackCommitBytes  *uint64 `json:"stack_commit_bytes"`
	ReserveSource     string  `json:"reserve_source,omitempty"`
	// ThreadReserveBytes is the reservation the thread really got
	// (StackBase - DeallocationStack), and ReserveDiffers says whether it
	// differs from StackReserveBytes, the PE header's request.
	ThreadReserveBytes *uint64     `json:"thread_reserve_bytes"`
	ReserveDiffers     *bool       `json:"reserve_differs"`
	StackBase          *Addr       `json:"stack_base"`
	StackLimit         *Addr       `json:"stack_limit"`
	DeallocationStack  *Addr       `json:"deallocation_stack"`
	GuardPage          *GuardPage  `json:"guard_page"`
	UsedBytes          *uint64     `json:"used_bytes"`
	RemainingBytes     *uint64     `json:"remaining_bytes"`
	Recursion          *Recursion  `json:"recursion"`
	LargestFrames      []FrameSize `json:"largest_frames"`
	DumpedFromOther    *bool       `json:"dumped_from_other_thread"`
	Explanation        string      `json:"explanation"`
	Confidence         string      `json:"confidence"`
	Notes              []string    `json:"notes,omitempty"`
	// Sources says how each derived fact was found and how sure we are.
	Sources []FactSource `json:"sources"`
}

// FactSource says where one derived fact came from.
type FactSource struct {
	Fact       string `json:"fact"`   // the field it is about, e.g. "stack_limit"
	Source     string `json:"source"` // teb, memory_regions, pe_header, captured_stack or stack_walk
	Confidence string `json:"confidence"`
	Detail     string `json:"detail,omitempty"`
}

// GuardPage is the stack's guard region.
type GuardPage struct {
	Base Addr   `json:"base"`
	Size uint64 `json:"size"`
	// State and Protect are the region's, when MemoryInfoList has it: after
	// an overflow the guard page is often used up (PAGE_NOACCESS under Wine).
	State   string `json:"state,omitempty"`
	Protect string `json:"protect,omitempty"`
}

// Recursion is a repeating cycle of frames.
type Recursion struct {
	Frames  []string `json:"frames"`
	Repeats int      `json:"repeats"`
	// FirstFrame is the index of the innermost frame of the cycle.
	FirstFrame int `json:"first_frame"`
}

// FrameSize is one frame's stack use, from consecutive stack pointers (WinDbg's kf).
type FrameSize struct {
	Frame    int    `json:"frame"`
	Function string `json:"function"`
	Bytes    uint64 `json:"bytes"`
}

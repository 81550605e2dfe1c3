package report

// Trust says how a frame was found. The unwinder and the report share it;
// the values rust-minidump defines (FrameTrust) keep its names, so readers of
// minidump-stackwalk's JSON read ours.
type Trust string

// Trust values, from the most to the least certain.
const (
	// TrustContext: frame 0, from the thread's CPU context.
	TrustContext Trust = "context"
	// TrustCFI: from the module's unwind information (.pdata/.xdata,
	// Breakpad STACK CFI or STACK WIN).
	TrustCFI Trust = "cfi"
	// TrustEmulation (ours): the function has no unwind information; the
	// unwinder executed the code after the pc up to its return and checked
	// that the return address follows a call.
	TrustEmulation Trust = "emulation"
	// TrustLeaf (ours): a function without unwind information taken as an
	// x64 leaf (no stack of its own, so [rsp] is the return address), and the
	// address checked to follow a call.
	TrustLeaf Trust = "leaf"
	// TrustFramePointer: from the frame-pointer chain (RBP/EBP).
	TrustFramePointer Trust = "frame_pointer"
	// TrustCFIScan: unwind information located the frame, but its return
	// address was found by scanning the stack (Breakpad's STACK WIN fallback).
	TrustCFIScan Trust = "cfi_scan"
	// TrustScan: a return address found by scanning the stack; may be wrong.
	TrustScan Trust = "scan"
	// TrustInline: a call the compiler inlined, from the symbols' inline records.
	TrustInline Trust = "inline"
	TrustNone   Trust = "none"
)

// Describe says in words how a frame with this trust was found.
func (t Trust) Describe() string {
	switch t {
	case TrustContext:
		return "from the thread's CPU context"
	case TrustCFI:
		return "from unwind information (.pdata/.xdata, STACK CFI, STACK WIN)"
	case TrustEmulation:
		return "no unwind information: found by executing the function's code to its return"
	case TrustLeaf:
		return "no unwind information: taken as a leaf function whose return address is on top of the stack"
	case TrustFramePointer:
		return "from the frame-pointer chain"
	case TrustCFIScan:
		return "unwind information, with the return address found by scanning the stack: may be wrong"
	case TrustScan:
		return "a return address found by scanning the stack: may be wrong"
	case TrustInline:
		return "an inlined call, from the symbols' inline records"
	}
	return "how this frame was found is unknown"
}

// Frame is one stack frame, with minidump-stackwalk's keys. Absent values
// are written as null, as minidump-stackwalk writes them.
type Frame struct {
	Frame int   `json:"frame"`
	Trust Trust `json:"trust"`
	// Offset is the instruction pointer for frame 0 and, for callers, the
	// return address - 1 (inside the call instruction, so the symbol and
	// line are the call's), as minidump-stackwalk writes it.
	Offset         Addr   `json:"offset"`
	Module         string `json:"module" dt:"null"`
	ModuleOffset   Addr   `json:"module_offset" dt:"nullunless=Module"`
	Function       string `json:"function" dt:"null"`
	FunctionOffset Addr   `json:"function_offset" dt:"nullunless=Function"`
	File           string `json:"file" dt:"null"`
	Line           int    `json:"line" dt:"null"`
	// Inlines are the calls inlined at this address, outermost first, as
	// minidump-stackwalk lists them: each names the inlined function and
	// the place inside it (the next call, or the address itself for the
	// innermost). Function, File and Line above stay the physical
	// function's, at the outermost call. Nil (null) when nothing is inlined.
	Inlines        []InlineFrame `json:"inlines"`
	MissingSymbols bool          `json:"missing_symbols"`
	// SymbolSource says where the name came from: pdb, breakpad, dwarf, or
	// exports (the nearest exported name, which may not be the real function).
	SymbolSource string `json:"symbol_source" dt:"null"`
	// SP is the frame's stack pointer after unwinding to it.
	SP Addr `json:"sp"`
	// Registers are the registers known in this frame, by name: all of the
	// context's for the crashing thread's frame 0, the ones the unwinder
	// recovered (non-volatile) for its callers.
	Registers map[string]Addr `json:"registers,omitempty"`
	// UnloadedModules are, for a frame in no loaded module, the unloaded
	// modules whose range held its address (MINIDUMP_UNLOADED_MODULE), sorted
	// by name: code that ran from a DLL after it was unloaded.
	UnloadedModules []FrameUnloadedModule `json:"unloaded_modules"`
	// Note is the unwinder's note on how it found the frame when that was
	// not plain ("unwound from an epilogue", "chained unwind info", ...).
	Note string `json:"note,omitempty"`
	// Locals (ours) are the parameters and locals the function's debug
	// information describes, with their values, for the crashing thread's
	// frames.
	Locals []Local `json:"locals,omitempty"`
}

// FrameUnloadedModule is one unloaded module a frame's address falls in,
// with the address's offset in each range it was loaded at.
type FrameUnloadedModule struct {
	Module  string `json:"module"`
	Offsets []Addr `json:"offsets"`
}

// VarKind says whether a variable is a parameter or a local.
type VarKind string

// VarKind values.
const (
	VarParameter VarKind = "parameter"
	VarLocal     VarKind = "local"
)

// Local is a parameter or local variable of a frame's function, where the
// module's debug information (PDB or DWARF) describes it, with its value as
// the dump holds it (WinDbg's `dv /t /v`).
type Local struct {
	Name string  `json:"name"`
	Kind VarKind `json:"kind"`
	Type string  `json:"type"`
	Size int     `json:"size"` // bytes; 0 when the type's size is unknown
	// Location is where the debug information puts the variable at the
	// frame's pc, as text: "rsp+0x24", "rbp-0x18", "cfa+0x8", "rcx".
	Location string `json:"location"`
	// Address is the variable's address when it lives in memory.
	Address *Addr `json:"address"`
	// Bytes are the bytes read, in hex, at most the first 32.
	Bytes string `json:"bytes,omitempty"`
	// Value decodes Bytes for integers, pointers, bool, floats and enums;
	// a pointer to a captured string (or a char array) shows the text.
	Value string `json:"value,omitempty"`
	// Source is where the description came from: pdb or dwarf.
	Source string `json:"source"`
	// Confidence is how sure the value is: high, medium, or low (the frame
	// or the register it is relative to may be wrong); "" when there is no
	// value.
	Confidence string `json:"confidence,omitempty"`
	// Note says how the value was found or why there is none.
	Note string `json:"note,omitempty"`
}

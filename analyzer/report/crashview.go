package report

// CrashView is what a triage engineer asks WinDbg for next at the crash:
// the code around the crash address and around each caller's return
// address (u, ub), and the captured memory around the faulting addresses
// (db). The registers are frames[].registers.
type CrashView struct {
	// Disassembly holds one window for the crashing thread's frame 0 (at
	// the instruction pointer) and one for each of its first callers (at
	// the return address), innermost first.
	Disassembly []Disassembly `json:"disassembly"`
	Memory      []MemoryView  `json:"memory"`
}

// How a disassembly window's start was chosen (Disassembly.StartFrom).
const (
	// StartFunction: decoded from the function's start (its symbol or
	// RUNTIME_FUNCTION), which decoded cleanly onto the address.
	StartFunction = "function_start"
	// StartAligned: x86 cannot be decoded backwards, so every start in
	// the bytes before the address was tried; the one chosen decodes
	// cleanly onto the address and agrees most with the others. The
	// instructions before the address may still be wrong.
	StartAligned = "aligned"
	// StartAddress: nothing before the address decoded onto it, or no bytes
	// before it are available; the window starts at the address.
	StartAddress = "address"
)

// Disassembly is a window of instructions around one address.
type Disassembly struct {
	Frame int `json:"frame"`
	// Address is the instruction pointer (frame 0) or the return address
	// (callers).
	Address Addr `json:"address"`
	// Start is where decoding began; StartFrom says how it was chosen
	// (function_start, aligned or address), and BeforeCertain whether the
	// instructions before Address are known to be aligned (only from a
	// function start).
	Start         Addr   `json:"start"`
	StartFrom     string `json:"start_from"`
	BeforeCertain bool   `json:"before_certain"`
	// Source says where the bytes came from: "dump" (captured memory),
	// "image" (the module's file) or "dump+image".
	Source       string        `json:"source"`
	Instructions []Instruction `json:"instructions"`
	// SameAs is the frame whose window shows the same address (a
	// recursion returns to one address many times); this window is then
	// left empty.
	SameAs *int   `json:"same_as,omitempty"`
	Note   string `json:"note,omitempty"`
}

// Instruction is one decoded instruction.
type Instruction struct {
	Address Addr   `json:"address"`
	Bytes   string `json:"bytes"` // the encoding, in hex
	Text    string `json:"text"`  // Intel syntax, "(bad)" for bytes that do not decode
	// Marked is the faulting instruction in frame 0's window, the call
	// before the return address in a caller's.
	Marked bool `json:"marked,omitempty"`
}

// MemoryView is a window of the dump's captured memory around one
// address, as WinDbg's db shows it.
type MemoryView struct {
	// What names the address: "exception address" or "accessed address".
	What    string `json:"what"`
	Address Addr   `json:"address"`
	Start   Addr   `json:"start"` // the window's first byte, 16-aligned
	// Bytes is the window in hex, two digits a byte and "??" for a byte
	// the dump did not capture; empty when it captured none of them.
	Bytes    string `json:"bytes"`
	Size     int    `json:"size"`     // bytes in the window
	Captured int    `json:"captured"` // of which the dump holds this many
}

// Package unwind walks thread stacks in minidumps: amd64 from the PE
// exception directory (.pdata RUNTIME_FUNCTION and .xdata UNWIND_INFO), x86
// from Breakpad STACK WIN / STACK CFI records, and both through the frame
// pointer chain and a stack scan with call-site verification when the
// unwind data is missing. Every frame says how it was found (Trust).
//
// The walkers read everything through the small interfaces below, so images
// and symbols may come from files, a symbol store or the dump's own memory.
// See README.md for the design and the sources of each rule.
package unwind

import (
	"github.com/dumptriage/dumptriage/analyzer/minidump"
	"github.com/dumptriage/dumptriage/analyzer/report"
	"github.com/dumptriage/dumptriage/analyzer/symbols/breakpad"
)

// The trust values the walkers give, from report.Trust.
const (
	TrustContext      = report.TrustContext
	TrustCFI          = report.TrustCFI
	TrustCFIScan      = report.TrustCFIScan
	TrustEmulation    = report.TrustEmulation
	TrustLeaf         = report.TrustLeaf
	TrustFramePointer = report.TrustFramePointer
	TrustScan         = report.TrustScan
)

// Memory is the process memory captured in the dump.
type Memory interface {
	// ReadMemory reads captured memory at addr; a short count means the rest
	// was not captured.
	ReadMemory(addr uint64, p []byte) (int, error)
}

// RangeLender is a Memory that can lend the captured range holding an
// address (its start and bytes) without copying; walks read through it
// when the memory has it. The bytes must not be changed.
type RangeLender interface {
	RangeAt(addr uint64) (start uint64, b []byte)
}

// Module is one loaded module with whatever is known of its image.
type Module interface {
	Base() uint64
	Size() uint64
	Name() string
	// ReadRVA reads image bytes (code, .pdata, .xdata) as mapped. Any read
	// may fail or come back short: images rebuilt from dump memory have holes.
	ReadRVA(rva uint32, p []byte) (int, error)
	// HasImage reports that the section table is known, so IsExecutableRVA
	// is meaningful. Without it every address inside the module counts as
	// possible code.
	HasImage() bool
	// ExceptionDirectory is IMAGE_DIRECTORY_ENTRY_EXCEPTION (the amd64 .pdata
	// RUNTIME_FUNCTION table), or zeros when unknown.
	ExceptionDirectory() (rva, size uint32)
	IsExecutableRVA(rva uint32) bool
	// Breakpad returns the module's STACK WIN / STACK CFI records, or nil.
	Breakpad() BreakpadRecords
}

// BreakpadRecords is the part of a Breakpad .sym file the walkers use;
// *breakpad.File implements it.
type BreakpadRecords interface {
	FindWin(rva uint64) (*breakpad.StackWin, bool)
	FindCFI(rva uint64) (breakpad.CFIRules, bool)
}

// Modules finds the module containing an address.
type Modules interface {
	ModuleAt(addr uint64) Module // nil if none
}

// Options bound a walk.
type Options struct {
	// MaxFrames stops the walk; 0 means DefaultMaxFrames.
	MaxFrames int
	// StackLimits returns the bounds [lo, hi) of the stack containing sp,
	// typically the thread's captured stack range or its TEB limits. Without
	// it the walker accepts any stack pointer that increases and scans at
	// most a fixed window.
	StackLimits func(sp uint64) (lo, hi uint64, ok bool)
	// StackProbeAtContext says the context frame is a stack probe
	// (__chkstk, ___chkstk_ms) that faulted: its caller stopped at the
	// probe's call inside its prologue, before allocating its frame, so
	// the scan above it does not skip a home area it has not got.
	StackProbeAtContext bool
	// Frames, when set, is reused for the result: the walk appends to
	// Frames[:0]. It saves allocating for callers that keep few walks.
	Frames []Frame
}

// DefaultMaxFrames bounds a walk when Options.MaxFrames is 0. Stack
// overflows recurse hundreds of levels deep, so the bound is generous.
const DefaultMaxFrames = 1024

// Frame is one frame of a walk, innermost first.
type Frame struct {
	// PC is the instruction pointer for frame 0 and the return address for
	// callers. Symbolize a caller at PC-1 so the call instruction is found.
	PC uint64
	// SP is the stack pointer in this frame (the caller's RSP/ESP after the
	// callee returned); FP is its frame pointer register (RBP/EBP) when known.
	SP, FP uint64
	Trust  report.Trust
	// Regs are the registers known in this frame: all of them for frame 0,
	// the non-volatile ones the unwinder recovered for callers.
	Regs Regs
	// Note says how the frame was unwound when it was not plain: "leaf
	// function", "in epilogue", "chained unwind info", "machine frame",
	// "prologue partially executed", "STACK WIN", "STACK CFI" ...
	Note string

	exact    bool // PC is an exact instruction pointer, not a return address
	verified bool // a scanned return address was checked against a call
	// winParams is the parameter size of the STACK WIN record this frame
	// was unwound with; its caller's unwind needs it (.cbCalleeParams).
	winParams uint64
}

// Register numbers in Regs. amd64 uses the UNWIND_CODE numbering
// (minidump.RAX..minidump.R15) plus RegRIP; x86 uses the ModRM numbering
// below plus RegEIP.
const (
	RegRIP = 16

	RegEAX = 0
	RegECX = 1
	RegEDX = 2
	RegEBX = 3
	RegESP = 4
	RegEBP = 5
	RegESI = 6
	RegEDI = 7
	RegEIP = 8
)

var x86RegNames = [9]string{"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi", "eip"}

// Regs is a register file with a validity mask.
type Regs struct {
	V     [17]uint64
	Valid uint32
	X86   bool // registers are numbered as x86's
}

// Get returns register i and whether it is known.
func (r *Regs) Get(i int) (uint64, bool) {
	if i < 0 || i >= len(r.V) || r.Valid&(1<<i) == 0 {
		return 0, false
	}
	return r.V[i], true
}

// Set records register i.
func (r *Regs) Set(i int, v uint64) {
	if i < 0 || i >= len(r.V) {
		return
	}
	if r.X86 {
		v &= 0xffffffff
	}
	r.V[i] = v
	r.Valid |= 1 << i
}

// Clear forgets register i.
func (r *Regs) Clear(i int) {
	if i >= 0 && i < len(r.V) {
		r.Valid &^= 1 << i
		r.V[i] = 0
	}
}

// Name is register i's name ("rbx", "esi", "rip").
func (r *Regs) Name(i int) string {
	if r.X86 {
		if i >= 0 && i < len(x86RegNames) {
			return x86RegNames[i]
		}
		return ""
	}
	if i == RegRIP {
		return "rip"
	}
	if i >= 0 && i < 16 {
		return minidump.AMD64RegNames[i]
	}
	return ""
}

// frameBuf is the slice a walk appends to: Options.Frames, or room for a
// typical stack, so that most walks allocate once.
func frameBuf(o Options) []Frame {
	if cap(o.Frames) > 0 {
		return o.Frames[:0]
	}
	return make([]Frame, 0, 32)
}

func (o Options) maxFrames() int {
	if o.MaxFrames <= 0 {
		return DefaultMaxFrames
	}
	return o.MaxFrames
}

// Walk walks a thread from its CONTEXT with the walker of its architecture;
// it returns nil for architectures without one (ARM64).
func Walk(ctx *minidump.Context, mem Memory, mods Modules, opts Options) []Frame {
	switch {
	case ctx == nil:
		return nil
	case ctx.AMD64 != nil:
		return WalkAMD64(ctx.AMD64, mem, mods, opts)
	case ctx.X86 != nil:
		return WalkX86(ctx.X86, mem, mods, opts)
	}
	return nil
}

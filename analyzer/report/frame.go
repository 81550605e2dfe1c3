package report

import (
	"encoding/json"
	"strconv"
)

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

// Frame is one stack frame. Empty strings are written as JSON null, as
// minidump-stackwalk writes absent values.
type Frame struct {
	Frame int   `json:"frame"`
	Trust Trust `json:"trust"`
	// Offset is the instruction pointer for frame 0 and, for callers, the
	// return address - 1 (inside the call instruction, so the symbol and
	// line are the call's), as minidump-stackwalk writes it.
	Offset         Addr
	Module         string
	ModuleOffset   Addr
	Function       string
	FunctionOffset Addr
	File           string
	Line           int
	MissingSymbols bool
	// Inlines are the calls inlined at this address, outermost first, as
	// minidump-stackwalk lists them: each names the inlined function and
	// the place inside it (the next call, or the address itself for the
	// innermost). Function, File and Line above stay the physical
	// function's, at the outermost call. Nil when nothing is inlined here.
	Inlines []InlineFrame
	// SymbolSource says where the name came from: pdb, breakpad, dwarf, or
	// exports (the nearest exported name, which may not be the real function).
	SymbolSource string
	// SP and FP are the frame's stack and frame pointer after unwinding to it.
	SP Addr
	// Registers are the registers recovered for this frame (non-volatile
	// ones for callers), by name.
	Registers map[string]Addr
	// Note is the unwinder's note on how it found the frame when that was
	// not plain ("unwound from an epilogue", "chained unwind info", ...).
	Note string
}

type frameJSON struct {
	Frame          int             `json:"frame"`
	Trust          Trust           `json:"trust"`
	Offset         Addr            `json:"offset"`
	Module         *string         `json:"module"`
	ModuleOffset   *Addr           `json:"module_offset"`
	Function       *string         `json:"function"`
	FunctionOffset *Addr           `json:"function_offset"`
	File           *string         `json:"file"`
	Line           *int            `json:"line"`
	Inlines        []InlineFrame   `json:"inlines"`
	MissingSymbols bool            `json:"missing_symbols"`
	SymbolSource   *string         `json:"symbol_source"`
	SP             Addr            `json:"sp"`
	Registers      map[string]Addr `json:"registers,omitempty"`
	Note           string          `json:"note,omitempty"`
}

// MarshalJSON writes absent fields as null.
func (f Frame) MarshalJSON() ([]byte, error) { return f.appendJSON(make([]byte, 0, 320)), nil }

func (f *Frame) appendJSON(b []byte) []byte {
	b = append(b, `{"frame":`...)
	b = strconv.AppendInt(b, int64(f.Frame), 10)
	b = append(b, `,"trust":`...)
	b = appendJSONString(b, string(f.Trust))
	b = append(b, `,"offset":`...)
	b = appendHex(b, uint64(f.Offset))
	b = append(b, `,"module":`...)
	b = appendNullString(b, f.Module)
	b = append(b, `,"module_offset":`...)
	if f.Module != "" {
		b = appendHex(b, uint64(f.ModuleOffset))
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"function":`...)
	b = appendNullString(b, f.Function)
	b = append(b, `,"function_offset":`...)
	if f.Function != "" {
		b = appendHex(b, uint64(f.FunctionOffset))
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"file":`...)
	b = appendNullString(b, f.File)
	b = append(b, `,"line":`...)
	if f.Line > 0 {
		b = strconv.AppendInt(b, int64(f.Line), 10)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"inlines":`...)
	b = appendInlines(b, f.Inlines)
	b = append(b, `,"missing_symbols":`...)
	b = strconv.AppendBool(b, f.MissingSymbols)
	b = append(b, `,"symbol_source":`...)
	b = appendNullString(b, f.SymbolSource)
	b = append(b, `,"sp":`...)
	b = appendHex(b, uint64(f.SP))
	if len(f.Registers) > 0 {
		b = append(b, `,"registers":`...)
		b = appendAddrMap(b, f.Registers)
	}
	if f.Note != "" {
		b = append(b, `,"note":`...)
		b = appendJSONString(b, f.Note)
	}
	return append(b, '}')
}

func appendHex(b []byte, v uint64) []byte {
	b = append(b, `"0x`...)
	b = strconv.AppendUint(b, v, 16)
	return append(b, '"')
}

func appendNullString(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return appendJSONString(b, s)
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (f *Frame) UnmarshalJSON(b []byte) error {
	var j frameJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*f = Frame{Frame: j.Frame, Trust: j.Trust, Offset: j.Offset, MissingSymbols: j.MissingSymbols, SP: j.SP, Registers: j.Registers, Note: j.Note, Inlines: j.Inlines}
	if j.Module != nil {
		f.Module = *j.Module
	}
	if j.ModuleOffset != nil {
		f.ModuleOffset = *j.ModuleOffset
	}
	if j.Function != nil {
		f.Function = *j.Function
	}
	if j.FunctionOffset != nil {
		f.FunctionOffset = *j.FunctionOffset
	}
	if j.File != nil {
		f.File = *j.File
	}
	if j.Line != nil {
		f.Line = *j.Line
	}
	if j.SymbolSource != nil {
		f.SymbolSource = *j.SymbolSource
	}
	return nil
}

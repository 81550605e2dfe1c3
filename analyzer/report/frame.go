package report

import (
	"encoding/json"
	"strconv"
)

// Trust levels, as rust-minidump names them: how a frame was found.
const (
	TrustContext      = "context"       // from the thread's CPU context
	TrustCFI          = "cfi"           // unwind information (.pdata/.xdata, STACK CFI, STACK WIN)
	TrustFramePointer = "frame_pointer" // the frame-pointer chain
	TrustScan         = "scan"          // a return address found by scanning the stack
	TrustNone         = "none"
)

// Frame is one stack frame. Empty strings are written as JSON null, as
// minidump-stackwalk writes absent values.
type Frame struct {
	Frame int    `json:"frame"`
	Trust string `json:"trust"`
	// Offset is the instruction pointer for frame 0 and the return address
	// for callers, as minidump-stackwalk writes it.
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
}

type frameJSON struct {
	Frame          int             `json:"frame"`
	Trust          string          `json:"trust"`
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
}

// MarshalJSON writes absent fields as null.
func (f Frame) MarshalJSON() ([]byte, error) { return f.appendJSON(make([]byte, 0, 320)), nil }

func (f *Frame) appendJSON(b []byte) []byte {
	b = append(b, `{"frame":`...)
	b = strconv.AppendInt(b, int64(f.Frame), 10)
	b = append(b, `,"trust":`...)
	b = appendJSONString(b, f.Trust)
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
	*f = Frame{Frame: j.Frame, Trust: j.Trust, Offset: j.Offset, MissingSymbols: j.MissingSymbols, SP: j.SP, Registers: j.Registers, Inlines: j.Inlines}
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

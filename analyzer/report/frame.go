package report

import "encoding/json"

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
	MissingSymbols bool            `json:"missing_symbols"`
	SymbolSource   *string         `json:"symbol_source"`
	SP             Addr            `json:"sp"`
	Registers      map[string]Addr `json:"registers,omitempty"`
}

func strp(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// MarshalJSON writes absent fields as null.
func (f Frame) MarshalJSON() ([]byte, error) {
	j := frameJSON{Frame: f.Frame, Trust: f.Trust, Offset: f.Offset, Module: strp(f.Module), File: strp(f.File),
		Function: strp(f.Function), MissingSymbols: f.MissingSymbols, SymbolSource: strp(f.SymbolSource), SP: f.SP,
		Registers: f.Registers}
	if f.Module != "" {
		mo := f.ModuleOffset
		j.ModuleOffset = &mo
	}
	if f.Function != "" {
		fo := f.FunctionOffset
		j.FunctionOffset = &fo
	}
	if f.Line > 0 {
		l := f.Line
		j.Line = &l
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (f *Frame) UnmarshalJSON(b []byte) error {
	var j frameJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*f = Frame{Frame: j.Frame, Trust: j.Trust, Offset: j.Offset, MissingSymbols: j.MissingSymbols, SP: j.SP, Registers: j.Registers}
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

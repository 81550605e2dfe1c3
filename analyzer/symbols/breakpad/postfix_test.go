package breakpad

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// memory is a sparse little-endian word store for the evaluator's "^".
type memory map[uint64]uint64

func (m memory) read(addr uint64) (uint64, bool) {
	v, ok := m[addr]
	return v, ok
}

const (
	// test_app.sym's FrameData program for CrashFunction, main and
	// __tmainCRTStartup (cbParams relative to $T0 + 8 in this build).
	progStd8 = "$T0 $ebp = $eip $T0 4 + ^ = $ebp $T0 ^ = $esp $T0 8 + = $L $T0 .cbSavedRegs - = $P $T0 8 + .cbParams + ="
	// kernel32.sym's program for BaseProcessStart.
	progStd4 = "$T0 $ebp = $eip $T0 4 + ^ = $ebp $T0 ^ = $esp $T0 8 + = $L $T0 .cbSavedRegs - = $P $T0 4 + .cbParams + ="
	// kernel32.sym 0x17826 and test_app.sym 0x42ae: a frame without ebp,
	// found by searching for the return address.
	progRaSearchStart = "$T2 $esp .cbLocals + .cbSavedRegs + = $T0 .raSearchStart = $eip $T0 ^ = $esp $T0 4 + ="
	// kernel32.sym 0x558b4: ebp kept, return address from the search.
	progRaSearchEbp = "$T0 $ebp = $T2 $esp = $T1 .raSearchStart = $eip $T1 ^ = $ebp $ebp = $esp $T1 4 + = $L $T0 .cbSavedRegs - = $P $T0 4 + .cbParams + ="
	// test_app.sym 0x16f82: restores ebx from the frame as well.
	progEbx = "$T0 $ebp 112 + = $eip $T0 4 + ^ = $ebp $T0 ^ = $esp $T0 8 + = $L $T0 .cbSavedRegs - = $P $T0 8 + .cbParams + = $ebx $T0 212 - ^ ="
)

func TestEvalProgram(t *testing.T) {
	// The stack of Breakpad's minidump2 (test_app.exe on XP), with the saved
	// ebp/return address pairs that minidump2.stackwalk.out's frames imply.
	stack := memory{
		0x12fe88: 0x12ff70, 0x12fe8c: 0x404200, // CrashFunction's frame
		0x12ff70: 0x12ffc0, 0x12ff74: 0x4053ec, // main's frame
		0x12ffc0: 0x12fff0, 0x12ffc4: 0x7c816fd7, // __tmainCRTStartup's frame
	}
	tests := []struct {
		name    string
		program string
		vars    map[string]uint64
		mem     memory
		want    map[string]uint64
	}{
		{"CrashFunction to main", progStd8,
			map[string]uint64{"$eip": 0x40429e, "$esp": 0x12fe84, "$ebp": 0x12fe88, ".cbSavedRegs": 0, ".cbParams": 0},
			stack, map[string]uint64{"$T0": 0x12fe88, "$eip": 0x404200, "$ebp": 0x12ff70, "$esp": 0x12fe90, "$L": 0x12fe88, "$P": 0x12fe90}},
		{"main to __tmainCRTStartup", progStd8,
			map[string]uint64{"$eip": 0x404200, "$esp": 0x12fe90, "$ebp": 0x12ff70, ".cbSavedRegs": 0, ".cbParams": 8},
			stack, map[string]uint64{"$T0": 0x12ff70, "$eip": 0x4053ec, "$ebp": 0x12ffc0, "$esp": 0x12ff78, "$L": 0x12ff70, "$P": 0x12ff80}},
		{"__tmainCRTStartup to kernel32", progStd8,
			map[string]uint64{"$eip": 0x4053ec, "$esp": 0x12ff78, "$ebp": 0x12ffc0, ".cbSavedRegs": 0xc, ".cbParams": 0},
			stack, map[string]uint64{"$T0": 0x12ffc0, "$eip": 0x7c816fd7, "$ebp": 0x12fff0, "$esp": 0x12ffc8, "$L": 0x12ffb4, "$P": 0x12ffc8}},
		{"BaseProcessStart", progStd4,
			map[string]uint64{"$eip": 0x7c816fd7, "$esp": 0x12ffc8, "$ebp": 0x12fff0, ".cbSavedRegs": 8, ".cbParams": 4},
			memory{0x12fff0: 0, 0x12fff4: 0}, map[string]uint64{"$T0": 0x12fff0, "$eip": 0, "$ebp": 0, "$esp": 0x12fff8, "$L": 0x12ffe8, "$P": 0x12fff8}},
		{"raSearchStart", progRaSearchStart,
			map[string]uint64{"$eip": 0x7c817826, "$esp": 0x1000, "$ebp": 0x2000, ".cbLocals": 0x10, ".cbSavedRegs": 4, ".raSearchStart": 0x1014},
			memory{0x1014: 0x401000}, map[string]uint64{"$T2": 0x1014, "$T0": 0x1014, "$eip": 0x401000, "$esp": 0x1018}},
		{"raSearchStart keeps ebp", progRaSearchEbp,
			map[string]uint64{"$eip": 0x7c8558b4, "$esp": 0x1000, "$ebp": 0x2000, ".cbSavedRegs": 8, ".cbParams": 0x10, ".raSearchStart": 0x1050},
			memory{0x1050: 0x401000}, map[string]uint64{"$T0": 0x2000, "$T2": 0x1000, "$T1": 0x1050, "$eip": 0x401000, "$ebp": 0x2000,
				"$esp": 0x1054, "$L": 0x1ff8, "$P": 0x2014}},
		{".raSearch spelling", "$T0 .raSearch = $eip $T0 ^ = $esp $T0 4 + =",
			map[string]uint64{".raSearch": 0x100}, memory{0x100: 0x777}, map[string]uint64{"$T0": 0x100, "$eip": 0x777, "$esp": 0x104}},
		{"restores ebx", progEbx,
			map[string]uint64{"$ebp": 0x1000, ".cbSavedRegs": 4, ".cbParams": 8},
			memory{0x1070: 0x3000, 0x1074: 0x402000, 0x1070 - 212: 0xbbbb},
			map[string]uint64{"$T0": 0x1070, "$eip": 0x402000, "$ebp": 0x3000, "$esp": 0x1078, "$L": 0x106c, "$P": 0x1080, "$ebx": 0xbbbb}},
		{"= glued to next token (MSVC 2010 LTO)", "$T0 $ebp 128 + =$eip $T0 4 + ^ = $ebp $T0 ^ =",
			map[string]uint64{"$ebp": 0x100}, memory{0x180: 0x200, 0x184: 0x401234},
			map[string]uint64{"$T0": 0x180, "$eip": 0x401234, "$ebp": 0x200}},
		{"32-bit wrap", "$T0 $esp 8 - = $T1 0 4 - = $T2 -4 =",
			map[string]uint64{"$esp": 4}, nil, map[string]uint64{"$T0": 0xfffffffc, "$T1": 0xfffffffc, "$T2": 0xfffffffc}},
		{"operators", "$a 7 3 % = $b 7 3 / = $c 7 3 * = $d 0x1237 = $e 4660 16 @ =",
			map[string]uint64{"0x1237": 5}, nil, map[string]uint64{"$a": 1, "$b": 2, "$c": 21, "$d": 5, "$e": 0x1230}},
		{"empty program", "", nil, nil, map[string]uint64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EvalProgram(tt.program, tt.vars, tt.mem.read, 4)
			if err != nil {
				t.Fatalf("EvalProgram: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEvalProgramErrors(t *testing.T) {
	vars := map[string]uint64{"$ebp": 0x100, "$esp": 0x200}
	mem := memory{0x104: 1}
	tests := []struct {
		name, program string
		want          error
	}{
		{"underflow binary", "$ebp + =", ErrStackUnderflow},
		{"underflow deref", "^", ErrStackUnderflow},
		{"underflow assign", "=", ErrStackUnderflow},
		{"assign without name", "$ebp =", ErrStackUnderflow},
		{"unknown variable", "$T0 $ebx = ", ErrUnknownVariable},
		{"unknown pseudo variable", "$T0 .raSearchStart =", ErrUnknownVariable},
		{"assign to number", "5 $ebp =", ErrBadAssignment},
		{"assign to dot variable", ".cfa $ebp =", ErrBadAssignment},
		{"leftover", "$T0 $ebp = $ebp", ErrLeftover},
		{"bad read", "$eip $esp ^ =", ErrMemoryRead},
		{"divide by zero", "$x 1 0 / =", ErrDivideByZero},
		{"modulo by zero", "$x 1 0 % =", ErrDivideByZero},
		{"typo number", "$x 12a =", ErrUnknownVariable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := EvalProgram(tt.program, vars, mem.read, 4)
			if !errors.Is(err, tt.want) {
				t.Errorf("EvalProgram(%q) error = %v, want %v", tt.program, err, tt.want)
			}
		})
	}
	if _, err := EvalProgram("$x 1 =", nil, nil, 2); !errors.Is(err, ErrWordSize) {
		t.Errorf("word size 2: error = %v", err)
	}
}

func TestEvalExpr(t *testing.T) {
	mem := memory{0x7ff0: 0x401000, 0x7fe8: 0x9000, 0xfffffff0: 0xdead}
	regs := map[string]uint64{"$rsp": 0x7fe0, "$esp": 0xfffffff0, ".cfa": 0x7ff8}
	tests := []struct {
		expr     string
		wordSize int
		want     uint64
		err      error
	}{
		{"$rsp 8 +", 8, 0x7fe8, nil},
		{".cfa -8 + ^", 8, 0x401000, nil},
		{".cfa 16 - ^", 8, 0x9000, nil},
		{"$esp 4 +", 4, 0xfffffff4, nil},
		{"$esp 16 +", 4, 0, nil}, // wraps at 32 bits
		{"$esp ^", 4, 0xdead, nil},
		{"$T0 $rsp = $T0 8 +", 8, 0x7fe8, nil},
		{"12345", 8, 12345, nil},
		{"", 8, 0, ErrStackUnderflow},
		{"$rsp 8", 8, 0, ErrLeftover},
		{"$rsp +", 8, 0, ErrStackUnderflow},
		{"$rbx 8 +", 8, 0, ErrUnknownVariable},
		{".cfa 8 + ^", 8, 0, ErrMemoryRead},
	}
	for _, tt := range tests {
		got, err := EvalExpr(tt.expr, regs, mem.read, tt.wordSize)
		if !errors.Is(err, tt.err) || (err == nil && got != tt.want) {
			t.Errorf("EvalExpr(%q) = %#x, %v; want %#x, %v", tt.expr, got, err, tt.want, tt.err)
		}
	}
}

// TestCFIRoundTrip evaluates the rules FindCFI returns the way a stack
// walker does: .cfa first from the callee registers, then the rest with .cfa.
func TestCFIRoundTrip(t *testing.T) {
	f := parseFile(t, mustAbs(t, "testdata/synthetic.sym"))
	rules, ok := f.FindCFI(0x4010)
	if !ok {
		t.Fatal("no CFI at 0x4010")
	}
	regs := map[string]uint64{"$rsp": 0x1000, "$rbp": 0x2000}
	mem := memory{0x2008: 0x401000, 0x2000: 0x3000, 0x1ff8: 0xb}
	cfa, err := EvalExpr(rules[".cfa"], regs, mem.read, 8)
	if err != nil || cfa != 0x2010 {
		t.Fatalf(".cfa = %#x, %v", cfa, err)
	}
	regs[".cfa"] = cfa
	want := map[string]uint64{".ra": 0x401000, "$rbp": 0x3000, "$rbx": 0xb}
	for reg, w := range want {
		got, err := EvalExpr(rules[reg], regs, mem.read, 8)
		if err != nil || got != w {
			t.Errorf("%s = %#x, %v; want %#x", reg, got, err, w)
		}
	}
}

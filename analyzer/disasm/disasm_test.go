package disasm

import (
	"strings"
	"testing"

	"github.com/dumptriage/dumptriage/analyzer/report"
)

// memory is captured ranges of code.
type memory map[uint64][]byte

func (m memory) ReadMemory(addr uint64, p []byte) (int, error) {
	for base, b := range m {
		if addr >= base && addr < base+uint64(len(b)) {
			return copy(p, b[addr-base:]), nil
		}
	}
	return 0, nil
}

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

var (
	pushRBP    = []byte{0x55}                               // push rbp
	movRBPRSP  = []byte{0x48, 0x89, 0xe5}                   // mov rbp, rsp
	subRSP     = []byte{0x48, 0x83, 0xec, 0x20}             // sub rsp, 0x20
	movRCX     = []byte{0x48, 0x8b, 0x4d, 0x10}             // mov rcx, qword ptr [rbp+0x10]
	callRel    = []byte{0xe8, 0x10, 0x00, 0x00, 0x00}       // call rel32
	movEAX     = []byte{0x8b, 0x41, 0x10}                   // mov eax, dword ptr [rcx+0x10]
	leave      = []byte{0xc9}                               // leave
	ret        = []byte{0xc3}                               // ret
	movRAXImm  = []byte{0x48, 0xb8}                         // mov rax, imm64 (8 bytes follow)
	callInImm  = []byte{0x00, 0x00, 0xe8, 0x01, 0x02, 0x03} // padding, then what looks like a call
	callInImm2 = []byte{0x04, 0x00}
)

// TestWindow checks how the start of a window is chosen and what is marked.
func TestWindow(t *testing.T) {
	const base = 0x140001000
	fn := cat(pushRBP, movRBPRSP, subRSP, movRCX, callRel, movEAX, leave, ret)
	retAddr := uint64(base + len(pushRBP) + len(movRBPRSP) + len(subRSP) + len(movRCX) + len(callRel))
	fault := retAddr // the mov after the call faults
	// An immediate holding e8 xx xx xx xx: a start inside it decodes a
	// call ending 8 bytes into the next instruction's... only the real
	// call ends at the return address.
	trap := cat(movRAXImm, callInImm, callInImm2, fn)
	trapRet := retAddr + uint64(len(movRAXImm)+len(callInImm)+len(callInImm2))

	cases := []struct {
		name       string
		mem        memory
		req        Request
		from       string
		certain    bool
		markedAt   uint64
		markedText string
		first      uint64 // the window's first instruction
		count      int
		note       string
	}{
		{name: "return address from the function start",
			mem:  memory{base: fn},
			req:  Request{Address: retAddr, Return: true, FunctionStart: base, HasFunctionStart: true, Before: 8, After: 2},
			from: report.StartFunction, certain: true, markedAt: retAddr - 5, markedText: "call 0x", first: base, count: 5 + 2},
		{name: "fault from the function start, window cut to Before",
			mem:  memory{base: fn},
			req:  Request{Address: fault, FunctionStart: base, HasFunctionStart: true, Before: 2, After: 3},
			from: report.StartFunction, certain: true, markedAt: fault, markedText: "mov eax, dword ptr [rcx+0x10]", first: retAddr - 9, count: 5},
		{name: "no function start: aligned, and a return address needs a call",
			mem:  memory{base: trap},
			req:  Request{Address: trapRet, Return: true, Before: 4, After: 1},
			from: report.StartAligned, markedAt: trapRet - 5, markedText: "call 0x", count: 5, note: "cannot be decoded backwards"},
		{name: "function start that does not land falls back to aligned",
			mem:  memory{base: fn},
			req:  Request{Address: fault, FunctionStart: base + 14, HasFunctionStart: true, Before: 3, After: 1},
			from: report.StartAligned, markedAt: fault, markedText: "mov eax", count: 4, note: "does not land"},
		{name: "nothing before the address captured",
			mem:  memory{fault: fn[fault-base:]},
			req:  Request{Address: fault, Before: 8, After: 2},
			from: report.StartAddress, markedAt: fault, markedText: "mov eax", first: fault, count: 2, note: "no code before"},
		{name: "only part of the bytes before captured",
			mem:  memory{base + 4: fn[4:]},
			req:  Request{Address: fault, Before: 8, After: 1},
			from: report.StartAligned, markedAt: fault, markedText: "mov eax", first: base + 4, count: 4},
		{name: "no code at all",
			mem:  memory{},
			req:  Request{Address: fault, Before: 8, After: 8},
			from: report.StartAddress, count: 0, note: "no code around the address"},
		{name: "bytes that do not decode",
			mem:  memory{base: {0x0f, 0x0b, 0x06, 0xc3, 0x90, 0x90}},
			req:  Request{Address: base + 2, After: 2},
			from: report.StartAddress, markedAt: base + 2, markedText: "(bad)", first: base + 2, count: 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := Window(c.mem, c.req)
			if w.StartFrom != c.from || w.BeforeCertain != c.certain {
				t.Errorf("start_from %s certain %v, want %s %v (note %q)", w.StartFrom, w.BeforeCertain, c.from, c.certain, w.Note)
			}
			if len(w.Instructions) != c.count {
				t.Errorf("%d instructions, want %d: %+v", len(w.Instructions), c.count, w.Instructions)
			}
			marked := 0
			for _, in := range w.Instructions {
				if in.Marked {
					marked++
					if uint64(in.Address) != c.markedAt || !strings.HasPrefix(in.Text, c.markedText) {
						t.Errorf("marked %s %q, want %#x %q", in.Address, in.Text, c.markedAt, c.markedText)
					}
				}
			}
			if want := min(c.count, 1); marked != want {
				t.Errorf("%d marked instructions, want %d", marked, want)
			}
			if c.first != 0 && len(w.Instructions) > 0 && uint64(w.Instructions[0].Address) != c.first {
				t.Errorf("first instruction at %s, want %#x", w.Instructions[0].Address, c.first)
			}
			if !strings.Contains(w.Note, c.note) {
				t.Errorf("note %q, want %q", w.Note, c.note)
			}
			// The instructions are contiguous.
			for i := 1; i < len(w.Instructions); i++ {
				prev := w.Instructions[i-1]
				if uint64(prev.Address)+uint64(len(prev.Bytes)/2) != uint64(w.Instructions[i].Address) {
					t.Errorf("gap after %s", prev.Address)
				}
			}
		})
	}
}

// FuzzWindow: any bytes around any address decode without a panic into
// a bounded, contiguous window.
func FuzzWindow(f *testing.F) {
	f.Add([]byte{0x55, 0x48, 0x89, 0xe5, 0xe8, 0, 0, 0, 0, 0xc3}, uint16(9), uint16(0), true, false)
	f.Add([]byte{0x0f, 0x0b, 0xff, 0xff, 0xff}, uint16(2), uint16(1), false, true)
	f.Fuzz(func(t *testing.T, code []byte, at, start uint16, ret, x86 bool) {
		const base = 0x10000
		mode := 64
		if x86 {
			mode = 32
		}
		req := Request{Mode: mode, Address: base + uint64(at), Return: ret, FunctionStart: base + uint64(start),
			HasFunctionStart: start != 0, Before: 8, After: 8}
		w := Window(memory{base: code}, req)
		if len(w.Instructions) > 16 {
			t.Fatalf("%d instructions", len(w.Instructions))
		}
	})
}

func TestTidy32(t *testing.T) {
	for in, want := range map[string]string{
		"lea ecx, ptr [ebp+0xffffff14]":       "lea ecx, ptr [ebp-0xec]",
		"mov dword ptr [ebp+0xfffffe48], 0x0": "mov dword ptr [ebp-0x1b8], 0x0",
		"mov eax, dword ptr [ebp+0x7ffffff0]": "mov eax, dword ptr [ebp+0x7ffffff0]",
		"push $0x911908":                      "push 0x911908",
		"call m!f$g":                          "call m!f$g",
	} {
		if got := tidy32(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

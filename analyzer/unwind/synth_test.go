package unwind

import (
	"encoding/binary"
	"testing"

	"github.com/dumptriage/dumptriage/analyzer/minidump"
)

// synthModule is an image built in the test: code, .pdata and .xdata at
// fixed RVAs, everything below codeEnd executable.
type synthModule struct {
	base       uint64
	img        []byte
	pdata      uint32
	pdataCount int
	codeEnd    uint32
}

func (m *synthModule) Base() uint64   { return m.base }
func (m *synthModule) Size() uint64   { return uint64(len(m.img)) }
func (m *synthModule) Name() string   { return "synth.dll" }
func (m *synthModule) HasImage() bool { return true }
func (m *synthModule) ReadRVA(rva uint32, p []byte) (int, error) {
	if uint64(rva) >= uint64(len(m.img)) {
		return 0, errShort
	}
	n := copy(p, m.img[rva:])
	if n < len(p) {
		return n, errShort
	}
	return n, nil
}
func (m *synthModule) ExceptionDirectory() (uint32, uint32) {
	return m.pdata, uint32(12 * m.pdataCount)
}
func (m *synthModule) IsExecutableRVA(rva uint32) bool { return rva >= 0x1000 && rva < m.codeEnd }
func (m *synthModule) Breakpad() BreakpadRecords       { return nil }
func (m *synthModule) ModuleAt(addr uint64) Module {
	if addr >= m.base && addr-m.base < uint64(len(m.img)) {
		return m
	}
	return nil
}

type shortErr struct{}

func (shortErr) Error() string { return "short read" }

var errShort = shortErr{}

// addFunction appends a RUNTIME_FUNCTION (entries must be added in order).
func (m *synthModule) addFunction(begin, end, unwind uint32) {
	o := m.pdata + uint32(12*m.pdataCount)
	binary.LittleEndian.PutUint32(m.img[o:], begin)
	binary.LittleEndian.PutUint32(m.img[o+4:], end)
	binary.LittleEndian.PutUint32(m.img[o+8:], unwind)
	m.pdataCount++
}

// unwindInfo encodes an UNWIND_INFO; codes are (offset, op|info<<4) pairs
// or raw operand slots.
func unwindInfoBytes(version, flags, prolog, frameReg, frameOff byte, slots []uint16, tail []byte) []byte {
	b := []byte{version | flags<<3, prolog, byte(len(slots)), frameReg | frameOff<<4}
	for _, s := range slots {
		b = binary.LittleEndian.AppendUint16(b, s)
	}
	if len(slots)%2 == 1 {
		b = append(b, 0, 0)
	}
	return append(b, tail...)
}

func code(off, op, info byte) uint16 { return uint16(off) | uint16(op|info<<4)<<8 }

// stackMem is a flat memory region.
type stackMem struct {
	base uint64
	b    []byte
}

func (s *stackMem) ReadMemory(addr uint64, p []byte) (int, error) {
	if addr < s.base || addr-s.base >= uint64(len(s.b)) {
		return 0, errShort
	}
	n := copy(p, s.b[addr-s.base:])
	if n < len(p) {
		return n, errShort
	}
	return n, nil
}

func (s *stackMem) put(addr, v uint64) { binary.LittleEndian.PutUint64(s.b[addr-s.base:], v) }

const (
	synthBase = 0x180000000
	stackBase = 0x10000
	entrySP   = 0x10f00 // RSP on entry to func1, holding the return address
	rbp0      = 0x10fa0 // the caller's RBP, RBX, RSI, R12
	rbx0      = 0xb0b0
	rsi0      = 0x5151
	r12_0     = 0x1212
)

// newSynth builds func1 (0x1000-0x1040) with a full prologue:
//
//	0x00 push rbp; 0x01 push rbx; 0x02 sub rsp,0x28; 0x06 lea rbp,[rsp+0x20];
//	0x0b mov [rsp+0x40],rsi; ... 0x20 call 0x2000; ... 0x2b mov rsi,[rsp+0x40];
//	0x30 lea rsp,[rbp+8]; 0x34 pop rbx; 0x35 pop rbp; 0x36 ret
//
// a leaf at 0x2000 (no RUNTIME_FUNCTION), func2 (0x1100) chained to func1,
// func3 (0x1200) with a machine frame, and func4 (0x1300) ending in a tail
// jump. The return address RA (0x1025) follows the call in func1.
func newSynth() (*synthModule, *stackMem) {
	m := &synthModule{base: synthBase, img: make([]byte, 0x5000), pdata: 0x3000, codeEnd: 0x3000}
	copy(m.img[0x1000:], []byte{0x55, 0x53, 0x48, 0x83, 0xEC, 0x28, 0x48, 0x8D, 0x6C, 0x24, 0x20,
		0x48, 0x89, 0x74, 0x24, 0x40})
	copy(m.img[0x1020:], []byte{0xE8, 0xDB, 0x0F, 0x00, 0x00}) // call 0x2000
	copy(m.img[0x102b:], []byte{0x48, 0x8B, 0x74, 0x24, 0x40, 0x48, 0x8D, 0x65, 0x08, 0x5B, 0x5D, 0xC3})
	info1 := unwindInfoBytes(1, 0, 0x10, minidump.RBP, 2, []uint16{
		code(0x10, UwopSaveNonvol, minidump.RSI), 8,
		code(0x0b, UwopSetFPReg, 0),
		code(0x06, UwopAllocSmall, 4),
		code(0x02, UwopPushNonvol, minidump.RBX),
		code(0x01, UwopPushNonvol, minidump.RBP),
	}, nil)
	copy(m.img[0x4000:], info1)
	m.addFunction(0x1000, 0x1040, 0x4000)
	// func2: push r12 then body, chained to func1.
	copy(m.img[0x1100:], []byte{0x41, 0x54, 0x90, 0x90})
	parent := make([]byte, 12)
	binary.LittleEndian.PutUint32(parent, 0x1000)
	binary.LittleEndian.PutUint32(parent[4:], 0x1040)
	binary.LittleEndian.PutUint32(parent[8:], 0x4000)
	copy(m.img[0x4100:], unwindInfoBytes(1, UnwFlagChainInfo, 2, 0, 0, []uint16{code(2, UwopPushNonvol, minidump.R12)}, parent))
	m.addFunction(0x1100, 0x1140, 0x4100)
	// func3: a machine frame below a 0x20-byte allocation.
	copy(m.img[0x4200:], unwindInfoBytes(1, 0, 0, 0, 0, []uint16{code(0, UwopAllocSmall, 3), code(0, UwopPushMachFrame, 0)}, nil))
	m.addFunction(0x1200, 0x1240, 0x4200)
	// func4: push rbx; sub rsp,0x20; body; add rsp,0x20; pop rbx; jmp 0x2000.
	copy(m.img[0x1300:], []byte{0x53, 0x48, 0x83, 0xEC, 0x20, 0x90, 0x48, 0x83, 0xC4, 0x20, 0x5B, 0xE9, 0xF0, 0x0C, 0x00, 0x00})
	copy(m.img[0x4300:], unwindInfoBytes(1, 0, 5, 0, 0, []uint16{code(5, UwopAllocSmall, 3), code(1, UwopPushNonvol, minidump.RBX)}, nil))
	m.addFunction(0x1300, 0x1310, 0x4300)
	copy(m.img[0x2000:], []byte{0xC3}) // the leaf

	s := &stackMem{base: stackBase, b: make([]byte, 0x1000)}
	s.put(entrySP, synthBase+0x1025) // RA into func1 (after its call)
	s.put(entrySP+8, rsi0)           // func1's home slot for RSI
	s.put(entrySP-8, rbp0)
	s.put(entrySP-16, rbx0)
	// The caller of func1 returns to 0 (end of stack) from its frame.
	return m, s
}

func ctxAt(pc, rsp, rbp uint64) *minidump.ContextAMD64 {
	c := &minidump.ContextAMD64{Rip: pc}
	for i := range c.R {
		c.R[i] = 0xdead0000 + uint64(i)
	}
	c.R[minidump.RSP], c.R[minidump.RBP] = rsp, rbp
	return c
}

func TestSynthAMD64(t *testing.T) {
	const body = entrySP - 0x38 // RSP in func1's body
	const fp = entrySP - 0x18   // RBP in func1's body
	type regWant map[int]uint64
	full := regWant{RegRIP: synthBase + 0x1025, minidump.RSP: entrySP + 8, minidump.RBP: rbp0, minidump.RBX: rbx0, minidump.RSI: rsi0}
	cases := []struct {
		name     string
		setup    func(s *stackMem)
		pc, rsp  uint64
		rbp      uint64
		want     regWant
		note     string
		unknown  []int // registers that must be unknown in frame 1
		frames   int   // expected frame count, 0: unchecked
		trustOne string
	}{
		{name: "body", pc: synthBase + 0x1010, rsp: body, rbp: fp, want: full, unknown: []int{minidump.RAX, minidump.R11}},
		{name: "entry", pc: synthBase + 0x1000, rsp: entrySP, rbp: rbp0,
			want: regWant{RegRIP: synthBase + 0x1025, minidump.RSP: entrySP + 8}, note: "callee prologue partially executed"},
		{name: "after push rbp", pc: synthBase + 0x1001, rsp: entrySP - 8, rbp: 0x77,
			want: regWant{RegRIP: synthBase + 0x1025, minidump.RSP: entrySP + 8, minidump.RBP: rbp0}, note: "callee prologue partially executed"},
		{name: "after sub rsp", pc: synthBase + 0x1006, rsp: body, rbp: 0x77,
			want: regWant{RegRIP: synthBase + 0x1025, minidump.RSP: entrySP + 8, minidump.RBP: rbp0, minidump.RBX: rbx0}, note: "callee prologue partially executed"},
		// RSI was restored by the mov before the epilogue: it keeps the
		// context's value.
		{name: "epilogue lea", pc: synthBase + 0x1030, rsp: body, rbp: fp, note: "unwound from an epilogue",
			want: regWant{RegRIP: synthBase + 0x1025, minidump.RSP: entrySP + 8, minidump.RBP: rbp0, minidump.RBX: rbx0, minidump.RSI: 0xdead0006}},
		{name: "epilogue pop", pc: synthBase + 0x1034, rsp: entrySP - 16, rbp: fp,
			want: regWant{RegRIP: synthBase + 0x1025, minidump.RSP: entrySP + 8, minidump.RBP: rbp0, minidump.RBX: rbx0}, note: "unwound from an epilogue"},
		{name: "epilogue ret", pc: synthBase + 0x1036, rsp: entrySP, rbp: rbp0,
			want: regWant{RegRIP: synthBase + 0x1025, minidump.RSP: entrySP + 8, minidump.RBP: rbp0}, note: "unwound from an epilogue"},
		{name: "leaf", pc: synthBase + 0x2000, rsp: entrySP, rbp: rbp0,
			want: regWant{RegRIP: synthBase + 0x1025, minidump.RSP: entrySP + 8}, note: "unwound from a leaf function"},
		{name: "chained", pc: synthBase + 0x1102, rsp: body - 8, rbp: fp,
			setup: func(s *stackMem) { s.put(body-8, r12_0) },
			want:  regWant{RegRIP: synthBase + 0x1025, minidump.RSP: entrySP + 8, minidump.RBP: rbp0, minidump.RBX: rbx0, minidump.RSI: rsi0, minidump.R12: r12_0},
			note:  "chained unwind info"},
		{name: "machine frame", pc: synthBase + 0x1210, rsp: 0x10400, rbp: fp,
			setup: func(s *stackMem) {
				s.put(0x10420, synthBase+0x1010) // RIP, CS, EFLAGS, RSP, SS
				s.put(0x10438, body)
			},
			want: regWant{RegRIP: synthBase + 0x1010, minidump.RSP: body, minidump.RBP: fp, minidump.RAX: 0xdead0000},
			note: "unwound through a machine frame"},
		{name: "tail jump epilogue", pc: synthBase + 0x1306, rsp: entrySP - 0x28, rbp: rbp0,
			setup: func(s *stackMem) { s.put(entrySP-8, rbx0) },
			want:  regWant{RegRIP: synthBase + 0x1025, minidump.RSP: entrySP + 8, minidump.RBX: rbx0}, note: "unwound from an epilogue"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, s := newSynth()
			if c.setup != nil {
				c.setup(s)
			}
			frames := WalkAMD64(ctxAt(c.pc, c.rsp, c.rbp), s, m, Options{MaxFrames: 2})
			if len(frames) < 2 {
				t.Fatalf("%d frames", len(frames))
			}
			f := frames[1]
			want := TrustCFI
			if c.name == "leaf" {
				want = TrustLeaf // no RUNTIME_FUNCTION: the ABI's rule, not unwind data
			}
			if f.Trust != want || f.Note != c.note {
				t.Errorf("trust %q note %q, want %s %q", f.Trust, f.Note, want, c.note)
			}
			for r, v := range c.want {
				if got, ok := f.Regs.Get(r); !ok || got != v {
					t.Errorf("%s = %#x (known %v), want %#x", f.Regs.Name(r), got, ok, v)
				}
			}
			for _, r := range c.unknown {
				if _, ok := f.Regs.Get(r); ok {
					t.Errorf("%s known in the caller", f.Regs.Name(r))
				}
			}
		})
	}
}

// TestMachineFrameContinues checks that the frame below a machine frame is
// unwound from its exact PC (no -1), and that the walk ends when the
// outermost return address is 0.
func TestMachineFrameContinues(t *testing.T) {
	m, s := newSynth()
	s.put(0x10420, synthBase+0x1010)
	s.put(0x10438, entrySP-0x38)
	frames := WalkAMD64(ctxAt(synthBase+0x1210, 0x10400, entrySP-0x18), s, m, Options{})
	var pcs []uint64
	for _, f := range frames {
		pcs = append(pcs, f.PC)
	}
	want := []uint64{synthBase + 0x1210, synthBase + 0x1010, synthBase + 0x1025}
	if len(pcs) < 3 || pcs[0] != want[0] || pcs[1] != want[1] || pcs[2] != want[2] {
		t.Errorf("pcs %#x, want %#x...", pcs, want)
	}
}

func TestDecodeUnwindInfoCodes(t *testing.T) {
	cases := []struct {
		name  string
		b     []byte
		codes []UnwindCode
		err   bool
	}{
		{name: "alloc large 16-bit scaled", b: unwindInfoBytes(1, 0, 7, 0, 0, []uint16{code(7, UwopAllocLarge, 0), 0x2d}, nil),
			codes: []UnwindCode{{CodeOffset: 7, Op: UwopAllocLarge, Value: 0x168, Slots: 2}}},
		{name: "alloc large 32-bit", b: unwindInfoBytes(1, 0, 9, 0, 0, []uint16{code(9, UwopAllocLarge, 1), 0x0000, 0x0010}, nil),
			codes: []UnwindCode{{CodeOffset: 9, Op: UwopAllocLarge, OpInfo: 1, Value: 0x100000, Slots: 3}}},
		{name: "save nonvol far and xmm", b: unwindInfoBytes(1, 0, 20, 0, 0, []uint16{
			code(20, UwopSaveNonvolFar, minidump.R15), 0x1234, 0x0001,
			code(12, UwopSaveXMM128, 6), 3,
			code(8, UwopSaveXMM128Far, 7), 0x0010, 0x0000}, nil),
			codes: []UnwindCode{
				{CodeOffset: 20, Op: UwopSaveNonvolFar, OpInfo: minidump.R15, Value: 0x11234, Slots: 3},
				{CodeOffset: 12, Op: UwopSaveXMM128, OpInfo: 6, Value: 0x30, Slots: 2},
				{CodeOffset: 8, Op: UwopSaveXMM128Far, OpInfo: 7, Value: 0x10, Slots: 3}}},
		{name: "version 2 epilog codes skipped", b: unwindInfoBytes(2, 0, 4, 0, 0, []uint16{
			code(1, UwopEpilog, 1), code(4, UwopEpilog, 0), code(4, UwopAllocSmall, 3), code(1, UwopPushNonvol, 3)}, nil),
			codes: []UnwindCode{
				{CodeOffset: 1, Op: UwopEpilog, OpInfo: 1, Slots: 2},
				{CodeOffset: 4, Op: UwopAllocSmall, OpInfo: 3, Value: 32, Slots: 1},
				{CodeOffset: 1, Op: UwopPushNonvol, OpInfo: 3, Slots: 1}}},
		{name: "alloc large past the end", b: unwindInfoBytes(1, 0, 7, 0, 0, []uint16{code(7, UwopAllocLarge, 1), 0}, nil), err: true},
		{name: "bad version", b: unwindInfoBytes(3, 0, 0, 0, 0, nil, nil), err: true},
		{name: "unknown op", b: unwindInfoBytes(1, 0, 0, 0, 0, []uint16{code(0, 11, 0)}, nil), err: true},
		{name: "handler missing", b: unwindInfoBytes(1, UnwFlagEHandler, 0, 0, 0, nil, nil), err: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u, err := DecodeUnwindInfo(c.b)
			if c.err {
				if err == nil {
					t.Fatalf("no error for %x", c.b)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(u.Codes) != len(c.codes) {
				t.Fatalf("codes %+v, want %+v", u.Codes, c.codes)
			}
			for i := range c.codes {
				if u.Codes[i] != c.codes[i] {
					t.Errorf("code %d: %+v, want %+v", i, u.Codes[i], c.codes[i])
				}
			}
		})
	}
}

func TestLookupChainAndSizes(t *testing.T) {
	m, _ := newSynth()
	rf, u, err := LookupFunctionAMD64(m, 0x1120)
	if err != nil {
		t.Fatal(err)
	}
	if rf.BeginAddress != 0x1100 || u.Chained == nil || u.Chained.BeginAddress != 0x1000 || u.ChainedInfo == nil {
		t.Fatalf("chain not followed: %+v %+v", rf, u)
	}
	if got := u.FrameSize(); got != 8+0x28+16 {
		t.Errorf("FrameSize %#x, want %#x", got, 8+0x28+16)
	}
	if got := u.FixedAllocation(); got != 0x28 {
		t.Errorf("FixedAllocation %#x", got)
	}
	if _, _, err := LookupFunctionAMD64(m, 0x2000); err != ErrNoFunction {
		t.Errorf("leaf lookup: %v", err)
	}
	if _, _, err := LookupFunctionAMD64(m, 0x0fff); err != ErrNoFunction {
		t.Errorf("lookup below the table: %v", err)
	}
}

package unwind

import (
	"bytes"
	"encoding/binary"
	"path/filepath"
	"testing"

	"github.com/dumptriage/dumptriage/analyzer/minidump"
	"github.com/dumptriage/dumptriage/analyzer/symbols/breakpad"
)

// FuzzDecodeUnwindInfo decodes arbitrary UNWIND_INFO bytes, seeded with
// every distinct UNWIND_INFO of Wine's ntdll.
func FuzzDecodeUnwindInfo(f *testing.F) {
	f.Add(unwindInfoBytes(1, 0, 7, 0, 0, []uint16{code(7, UwopAllocLarge, 1), 0, 1}, nil))
	f.Add(unwindInfoBytes(1, UnwFlagChainInfo, 2, 0, 0, []uint16{code(2, UwopPushNonvol, 12)}, make([]byte, 12)))
	if td := sharedTestdataOpt(); td != "" {
		if im := openImage(f, filepath.Join(td, "wine", "dumps", "_wine_dlls", "x64", "ntdll.dll")); im != nil {
			m := &testModule{BaseAddr: im.ImageBase(), SizeOfImage: uint64(im.SizeOfImage()), Image: im}
			table, _ := FunctionTableAMD64(m)
			for i, rf := range table {
				if i%8 != 0 {
					continue
				}
				b := make([]byte, 64)
				n, _ := m.ReadRVA(rf.UnwindData, b)
				f.Add(b[:n])
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		u, err := DecodeUnwindInfo(b)
		if err != nil {
			return
		}
		slots := 0
		for _, c := range u.Codes {
			slots += c.Slots
		}
		if slots != int(u.CountOfCodes) {
			t.Fatalf("codes use %d slots of %d", slots, u.CountOfCodes)
		}
		u.FrameSize()
	})
}

// sharedTestdataOpt is sharedTestdata without a testing.TB: "" when absent.
func sharedTestdataOpt() string {
	var p string
	func() {
		defer func() { recover() }()
		p = sharedTestdata(&silentTB{})
	}()
	return p
}

type silentTB struct{ testing.TB }

func (*silentTB) Helper()              {}
func (*silentTB) Skip(...any)          { panic("skip") }
func (*silentTB) Skipf(string, ...any) { panic("skip") }
func (*silentTB) Fatal(...any)         { panic("fatal") }

// fuzzModule splits fuzz input into an image (with .pdata at 0x3000 and
// .xdata wherever its entries point), a stack, and registers.
func fuzzSetup(data []byte) (*synthModule, *stackMem, []uint64) {
	m := &synthModule{base: synthBase, img: make([]byte, 0x5000), pdata: 0x3000, codeEnd: 0x3000}
	s := &stackMem{base: stackBase, b: make([]byte, 0x1000)}
	third := len(data) / 3
	copy(m.img[0x1000:0x3000], data[:third])
	copy(m.img[0x3000:], data[third:2*third])
	m.pdataCount = min(third/12, 64)
	copy(s.b, data[2*third:])
	var regs []uint64
	for i := 0; i+8 <= len(data) && len(regs) < 18; i += 8 {
		regs = append(regs, binary.LittleEndian.Uint64(data[len(data)-8-i:]))
	}
	return m, s, regs
}

func checkWalk(t *testing.T, frames []Frame, maxFrames int) {
	if len(frames) > maxFrames {
		t.Fatalf("%d frames, max %d", len(frames), maxFrames)
	}
	for i := 1; i < len(frames); i++ {
		if frames[i].SP <= frames[i-1].SP {
			t.Fatalf("frame %d: sp %#x not above %#x", i, frames[i].SP, frames[i-1].SP)
		}
		if frames[i].PC == 0 {
			t.Fatalf("frame %d: pc 0", i)
		}
	}
}

// FuzzWalkAMD64 walks random stacks through random unwind data and code.
func FuzzWalkAMD64(f *testing.F) {
	m, s := newSynth()
	seed := append(append(append([]byte{}, m.img[0x1000:0x3000]...), m.img[0x3000:0x5000]...), s.b...)
	f.Add(seed)
	f.Add(bytes.Repeat([]byte{0xc3, 0x10, 0x00, 0x00}, 1024))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, s, regs := fuzzSetup(data)
		ctx := ctxAt(synthBase+0x1000+uint64(len(data))%0x2000, stackBase+uint64(len(data))%0x800, stackBase+0x800)
		for i := 0; i < len(regs) && i < 16; i++ {
			if i != minidump.RSP {
				ctx.R[i] = regs[i]
			}
		}
		opts := Options{MaxFrames: 64, StackLimits: func(uint64) (uint64, uint64, bool) { return stackBase, stackBase + 0x1000, true }}
		checkWalk(t, WalkAMD64(ctx, s, m, opts), 64)
		checkWalk(t, WalkAMD64(ctx, s, m, Options{MaxFrames: 64}), 64)
	})
}

// fuzzSym is a module whose .sym text comes from the fuzzer.
type fuzzSym struct {
	*synthModule
	bp *breakpad.File
}

func (m *fuzzSym) Breakpad() BreakpadRecords {
	if m.bp == nil {
		return nil
	}
	return m.bp
}
func (m *fuzzSym) ModuleAt(addr uint64) Module {
	if m.synthModule.ModuleAt(addr) != nil {
		return m
	}
	return nil
}

// FuzzWalkX86 walks random x86 stacks with random STACK WIN / STACK CFI
// records and code.
func FuzzWalkX86(f *testing.F) {
	f.Add([]byte("STACK WIN 4 1000 100 0 0 4 0 0 0 1 $T0 $ebp = $eip $T0 4 + ^ = $ebp $T0 ^ = $esp $T0 8 + =\n"), make([]byte, 256))
	f.Add([]byte("STACK CFI INIT 1000 100 .cfa: $esp 4 + .ra: .cfa 4 - ^\nSTACK WIN 0 1010 10 0 0 0 4 8 0 0 1\n"), make([]byte, 256))
	f.Add([]byte("STACK WIN 4 1000 100 0 0 4 0 0 0 1 $T0 .raSearchStart = $eip $T0 ^ = $esp $T0 4 + = $T1 $ebp 8 @ =\n"), bytes.Repeat([]byte{0x10, 0x10, 0, 0x80}, 64))
	f.Fuzz(func(t *testing.T, sym, data []byte) {
		m, s, regs := fuzzSetup(data)
		bp, _ := breakpad.Parse(bytes.NewReader(append([]byte("MODULE windows x86 0 a.pdb\n"), sym...)))
		fm := &fuzzSym{synthModule: m, bp: bp}
		m.base = 0x400000
		ctx := &minidump.ContextX86{Eip: 0x401000 + uint32(len(data))%0x2000, Esp: stackBase + uint32(len(sym))%0x800, Ebp: stackBase + 0x800}
		if len(regs) > 3 {
			ctx.Ebx, ctx.Esi, ctx.Edi = uint32(regs[0]), uint32(regs[1]), uint32(regs[2])
			ctx.Ebp = uint32(regs[3])
		}
		opts := Options{MaxFrames: 64, StackLimits: func(uint64) (uint64, uint64, bool) { return stackBase, stackBase + 0x1000, true }}
		checkWalk(t, WalkX86(ctx, s, fm, opts), 64)
	})
}

// FuzzForwardUnwind executes random code to its return.
func FuzzForwardUnwind(f *testing.F) {
	f.Add([]byte{0x4c, 0x8d, 0x9c, 0x24, 0xe0, 0x01, 0x00, 0x00, 0x49, 0x8b, 0xe3, 0x41, 0x5f, 0x5b, 0x5d, 0xc3}, true)
	f.Add([]byte{0x8b, 0xe5, 0x5d, 0xc2, 0x08, 0x00}, false)
	f.Fuzz(func(t *testing.T, code []byte, is64 bool) {
		mode := 32
		if is64 {
			mode = 64
		}
		var r Regs
		r.X86 = !is64
		for i := 0; i < 16; i++ {
			r.Set(i, stackBase+0x100)
		}
		read := func(a uint64) (uint64, bool) { return a ^ 0x5a5a, a >= stackBase && a < stackBase+0x1000 }
		forwardUnwind(&r, code, 0x1000, mode, read)
	})
}

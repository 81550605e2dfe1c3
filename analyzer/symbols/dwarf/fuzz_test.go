package dwarf

import (
	"bytes"
	"encoding/binary"
	"os"
	"testing"
)

// FuzzOpen opens mutated MinGW exes and looks a few addresses up, seeded
// with two real exes whole and truncated (headers only, first half).
func FuzzOpen(f *testing.F) {
	for _, name := range []string{"stack_overflow_x86_mingw.exe", "va_commit_x64_mingw.exe"} {
		data, err := os.ReadFile(exePath(f, name))
		if err != nil {
			continue
		}
		f.Add(data)
		f.Add(data[:0x1000])
		f.Add(data[:len(data)/2])
	}
	// The -O2 inline fixture: small, with nested DW_TAG_inlined_subroutine.
	if data, err := os.ReadFile("../../testdata/inline/inline_mingw.exe"); err == nil {
		f.Add(data)
	} else {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		df, err := Open(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, rva := range []uint64{0, 0x1000, 0x1015, 0x1043, 0x1500, 0x3000, 0x10000} {
			df.Lookup(rva)
			if fn, ok := df.Function(rva); ok {
				for _, v := range append(fn.Params, fn.Locals...) {
					EvalLocation(v.Location, 0x1000, func(int) (uint64, bool) { return 0x2000, true },
						func(a uint64, n int) ([]byte, bool) { return make([]byte, n), true })
				}
			}
		}
	})
}

func FuzzEvalLocation(f *testing.F) {
	for _, e := range [][]byte{{opFbreg, 8}, {opCallFrameCFA}, {opBreg0 + 6, 16, opDeref, opPlusUconst, 4},
		{opAddr, 1, 2, 3, 4, 5, 6, 7, 8}, {opRegx, 17}, {opConst8s, 1, 2, 3, 4, 5, 6, 7, 8, opDerefSize, 4}} {
		f.Add(e, uint8(8))
	}
	f.Fuzz(func(t *testing.T, expr []byte, as uint8) {
		read := func(a uint64, n int) ([]byte, bool) {
			b := make([]byte, 8)
			binary.LittleEndian.PutUint64(b, a*3)
			return b[:n], a%5 != 0
		}
		regs := func(n int) (uint64, bool) { return uint64(n) * 0x100, n < 17 }
		addr, reg, err := EvalLocationAddr(expr, int(as), 0x7000, regs, read)
		if err == nil && reg >= 0 && addr != 0 {
			t.Fatalf("register result with address %#x", addr)
		}
		if err == nil && as == 4 && addr > 1<<32-1 {
			t.Fatalf("32-bit address %#x", addr)
		}
	})
}

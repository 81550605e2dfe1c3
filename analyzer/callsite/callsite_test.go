package callsite

import (
	"encoding/binary"
	"errors"
	"testing"
)

// mem is a sparse test memory: code and stack bytes at addresses.
type mem map[uint64][]byte

func (m mem) ReadMemory(addr uint64, p []byte) (int, error) {
	for base, b := range m {
		if addr >= base && addr < base+uint64(len(b)) {
			return copy(p, b[addr-base:]), nil
		}
	}
	return 0, errors.New("unmapped")
}

func u64(v uint64) []byte { b := make([]byte, 8); binary.LittleEndian.PutUint64(b, v); return b }

func code(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return append(out, 0xe8, 0, 0, 0, 0) // call rel32
}

func TestArgAMD64(t *testing.T) {
	const codeAt, stack = 0x1000, 0x8000
	slot := func(off uint64, v uint64) mem { return mem{stack + off: u64(v)} }
	cases := []struct {
		name     string
		code     []byte
		stack    mem
		regs     map[int]uint64
		reg      int
		want     uint64
		count    uint64 // 0: no count expected
		size     uint64
		incoming int
	}{
		{
			// gcc -O0 __new_allocator::allocate: operator new(__n * 16)
			name: "count shifted", reg: RCX, want: 0x40000000, count: 67108864, size: 16, incoming: -1,
			code:  code([]byte{0x48, 0x8b, 0x45, 0x18}, []byte{0x48, 0xc1, 0xe0, 0x04}, []byte{0x48, 0x89, 0xc1}),
			stack: slot(0x18, 67108864), regs: map[int]uint64{RBP: stack},
		},
		{
			// MSVC _Allocate: operator new(count*16 + 0x27) with count at [rsp+0x78]
			name: "count scaled plus alignment", reg: RCX, want: 60540697*16 + 0x27, count: 60540697, size: 16, incoming: -1,
			code:  code([]byte{0x48, 0x8b, 0x4c, 0x24, 0x78}, []byte{0x48, 0xc1, 0xe1, 0x04}, []byte{0x48, 0x83, 0xc1, 0x27}),
			stack: slot(0x78, 60540697), regs: map[int]uint64{RSP: stack},
		},
		{
			// imul with a constant element size
			name: "imul", reg: R8, want: 968651152, count: 60540697, size: 16, incoming: -1,
			code:  code([]byte{0x48, 0x8b, 0x43, 0x08}, []byte{0x4c, 0x6b, 0xc0, 0x10}),
			stack: slot(0x08, 60540697), regs: map[int]uint64{RBX: stack},
		},
		{
			// an argument passed straight through from the caller's caller
			name: "incoming", reg: R8, incoming: RDX,
			code: code([]byte{0x49, 0x89, 0xd0}),
		},
		{
			name: "immediate", reg: RDX, want: 0xc, incoming: -1,
			code: code([]byte{0xba, 0x0c, 0, 0, 0}),
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := mem{codeAt: c.code}
			for k, v := range c.stack {
				m[k] = v
			}
			var f Frame
			for r, v := range c.regs {
				f.Regs[r], f.Valid[r] = v, true
			}
			ret := uint64(codeAt + len(c.code))
			res, err := ArgAMD64(m, m, codeAt, ret, c.reg, f)
			if err != nil {
				t.Fatal(err)
			}
			if res.Incoming != c.incoming {
				t.Fatalf("incoming %d, want %d (%+v)", res.Incoming, c.incoming, res)
			}
			if c.incoming >= 0 {
				return
			}
			if res.Value != c.want {
				t.Errorf("value %#x, want %#x (%s)", res.Value, c.want, res.Expr)
			}
			if c.count != 0 && (res.Count == nil || *res.Count != c.count || *res.ElementSize != c.size) {
				t.Errorf("count/size %v/%v, want %d/%d (%s)", res.Count, res.ElementSize, c.count, c.size, res.Expr)
			}
		})
	}
}

func TestClobberedByCall(t *testing.T) {
	c := append(code([]byte{0xb9, 1, 0, 0, 0}), 0xe8, 0, 0, 0, 0) // mov ecx,1; call; call
	m := mem{0x1000: c}
	if _, err := ArgAMD64(m, m, 0x1000, uint64(0x1000+len(c)), RCX, Frame{}); !errors.Is(err, ErrUnknown) {
		t.Errorf("err %v, want ErrUnknown", err)
	}
}

func FuzzArgAMD64(f *testing.F) {
	f.Add([]byte{0x48, 0x8b, 0x45, 0x18, 0x48, 0xc1, 0xe0, 0x04, 0x48, 0x89, 0xc1, 0xe8, 0, 0, 0, 0}, uint8(1))
	f.Fuzz(func(t *testing.T, b []byte, reg uint8) {
		m := mem{0x1000: b, 0x8000: make([]byte, 256)}
		var fr Frame
		for i := range fr.Regs {
			fr.Regs[i], fr.Valid[i] = 0x8000, true
		}
		ArgAMD64(m, m, 0x1000, uint64(0x1000+len(b)), int(reg%16), fr)
	})
}

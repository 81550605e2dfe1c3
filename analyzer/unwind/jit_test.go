package unwind

import (
	"encoding/binary"
	"testing"
)

func rfBytes(fs ...RuntimeFunction) []byte {
	b := make([]byte, 0, 12*len(fs))
	for _, f := range fs {
		b = binary.LittleEndian.AppendUint32(b, f.BeginAddress)
		b = binary.LittleEndian.AppendUint32(b, f.EndAddress)
		b = binary.LittleEndian.AppendUint32(b, f.UnwindData)
	}
	return b
}

// TestJITTable: entries of an unsorted table are found; empty entries and
// entries past the table's range are dropped; the code is what the entries
// cover, and nothing else of the range.
func TestJITTable(t *testing.T) {
	entries := rfBytes(
		RuntimeFunction{0x300, 0x380, 0x380},
		RuntimeFunction{0x100, 0x180, 0x180},
		RuntimeFunction{0x200, 0x200, 0x210},   // empty
		RuntimeFunction{0xff00, 0x10100, 0x10}, // past the range
	)
	tab := NewJITTable(0x21e00000000, 0x21e00010000, entries, 12, "Mono JIT code", nil)
	if tab.Functions() != 2 || tab.Size() != 0x10000 || tab.Name() != "Mono JIT code" {
		t.Fatalf("%d functions, size %#x", tab.Functions(), tab.Size())
	}
	for _, c := range []struct {
		rva   uint32
		begin uint32
		ok    bool
	}{{0x100, 0x100, true}, {0x17f, 0x100, true}, {0x180, 0, false}, {0x340, 0x300, true}, {0x200, 0, false}, {0xff80, 0, false}} {
		f, ok := tab.LookupRuntimeFunction(c.rva)
		if ok != c.ok || ok && f.BeginAddress != c.begin {
			t.Errorf("rva %#x: %+v %v", c.rva, f, ok)
		}
		if tab.IsExecutableRVA(c.rva) != c.ok {
			t.Errorf("rva %#x: executable %v", c.rva, !c.ok)
		}
	}
	// The walker's lookup goes through FunctionLookup.
	if _, err := findRuntimeFunction(tab, 0x120); err != nil {
		t.Error(err)
	}
	if _, err := findRuntimeFunction(tab, 0x190); err != ErrNoFunction {
		t.Errorf("uncovered rva: %v", err)
	}
	// Entries of another size, or none, give an empty table.
	if n := NewJITTable(0x1000, 0x2000, entries, 8, "", nil).Functions(); n != 0 {
		t.Errorf("%d functions from 8-byte entries", n)
	}
}

// FuzzJITTable: any entry bytes and sizes build a table whose lookups stay
// in it.
func FuzzJITTable(f *testing.F) {
	f.Add(rfBytes(RuntimeFunction{0x10, 0x20, 0x30}), uint64(0x1000), uint64(0x2000), 12, uint32(0x15))
	f.Fuzz(func(t *testing.T, b []byte, base, end uint64, size int, rva uint32) {
		tab := NewJITTable(base, end, b, size, "x", nil)
		if f, ok := tab.LookupRuntimeFunction(rva); ok && (!f.Contains(rva) || uint64(f.EndAddress) > end-base) {
			t.Fatalf("%+v for %#x", f, rva)
		}
	})
}

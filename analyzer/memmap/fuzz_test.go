package memmap

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/dumptriage/dumptriage/analyzer/minidump"
	"github.com/dumptriage/dumptriage/analyzer/report"
)

// checkSummary asserts what must hold for any input: tables that add up to
// the address space, contiguous regions, lookups that work, no panic.
func checkSummary(t *testing.T, s *report.MemorySummary) {
	var sum uint64
	for _, e := range s.State {
		sum += e.Bytes
	}
	if sum != s.AddressSpaceBytes {
		t.Fatalf("states sum to 0x%x, address space 0x%x", sum, s.AddressSpaceBytes)
	}
	sum = 0
	for _, e := range s.Usage {
		sum += e.Bytes
	}
	if sum != s.AddressSpaceBytes {
		t.Fatalf("usages sum to 0x%x, address space 0x%x", sum, s.AddressSpaceBytes)
	}
	var next uint64
	for i, r := range s.Regions {
		if uint64(r.Base) != next || r.End <= r.Base {
			t.Fatalf("region %d [%v,%v) after 0x%x", i, r.Base, r.End, next)
		}
		next = uint64(r.End)
		if i%97 == 0 {
			got, ok := Lookup(s, uint64(r.Base))
			if !ok || got.Base != r.Base {
				t.Fatalf("lookup of 0x%x: %+v", uint64(r.Base), got)
			}
			_ = FormatLookup(got, uint64(r.Base))
		}
	}
	if next != s.AddressSpaceBytes {
		t.Fatalf("regions end at 0x%x of 0x%x", next, s.AddressSpaceBytes)
	}
	if Render(s) != s.Text {
		t.Fatal("Render is not deterministic")
	}
}

// FuzzSummarizeDump runs whole minidump files through Open and Summarize,
// seeded with synthetic dumps and the smallest real one with a
// MemoryInfoList. (The fuzzer crawls on seeds of hundreds of kB, so the
// larger real dumps are left to the tests.)
func FuzzSummarizeDump(f *testing.F) {
	f.Add(x86Synth().bytes())
	f.Add(wow64Synth().bytes())
	if b, err := os.ReadFile(filepath.Join(testdataDir(f), "public/google__breakpad/src/processor/testdata/tiny-exe-with-cet-xsave.dmp")); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := minidump.Open(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		s, err := Summarize(d, Options{})
		if err != nil {
			return
		}
		checkSummary(t, s)
	})
}

// FuzzSummarizeRegions feeds arbitrary region lists, threads and modules
// straight into Summarize: one byte picks the architecture, then 44-byte
// records are regions (base, allocation base, size, state, protect, type)
// or, when the state's low byte is 0xEE, a thread (TEB, stack) and a module.
func FuzzSummarizeRegions(f *testing.F) {
	seed := func(arch byte, recs ...[6]uint64) []byte {
		b := []byte{arch}
		for _, r := range recs {
			b = binary.LittleEndian.AppendUint64(b, r[0])
			b = binary.LittleEndian.AppendUint64(b, r[1])
			b = binary.LittleEndian.AppendUint64(b, r[2])
			b = binary.LittleEndian.AppendUint32(b, uint32(r[3]))
			b = binary.LittleEndian.AppendUint32(b, uint32(r[4]))
			b = binary.LittleEndian.AppendUint64(b, r[5])
		}
		return b
	}
	f.Add(seed(9, [6]uint64{0x10000, 0x10000, 0x20000, memCommit, pageReadWrite, memPrivate},
		[6]uint64{0x30000, 0x30000, 0x1000, memCommit, pageReadWrite | pageGuard, memPrivate},
		[6]uint64{0x31000, 0x30000, 0x1000, 0xEE, 0, 0x31000}))
	f.Add(seed(0, [6]uint64{0x7ffe0000, 0x7ffe0000, 0x1000, memCommit, pageReadOnly, memPrivate},
		[6]uint64{0xffff0000, 0, 0x20000, memReserve, 0, memMapped}))
	f.Add(seed(10, [6]uint64{^uint64(0) - 0xfff, 1, 0x2000, memFree, 0, 0}))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		arch := minidump.Arch(data[0])
		d := &minidump.Dump{HasMemoryInfo: true, SystemInfo: &minidump.SystemInfo{ProcessorArchitecture: arch, PlatformID: 2}}
		le := binary.LittleEndian
		for b := data[1:]; len(b) >= 44; b = b[44:] {
			base, alloc, size := le.Uint64(b), le.Uint64(b[8:]), le.Uint64(b[16:])
			state, protect, typ := le.Uint32(b[24:]), le.Uint32(b[28:]), uint32(le.Uint64(b[32:]))
			if state&0xff == 0xEE {
				d.Threads = append(d.Threads, minidump.Thread{ID: uint32(len(d.Threads)), Teb: base,
					Stack: minidump.MemoryDescriptor{Start: alloc, DataSize: uint32(size)}})
				d.Modules = append(d.Modules, minidump.Module{Base: le.Uint64(b[36:]), Size: uint32(size), Name: "m.dll"})
				continue
			}
			d.MemoryInfo = append(d.MemoryInfo, minidump.MemoryInfo{BaseAddress: base, AllocationBase: alloc, RegionSize: size,
				State: state, Protect: protect, Type: typ, AllocationProtect: protect})
		}
		laa := len(data)%2 == 0
		s, err := Summarize(d, Options{LargeAddressAware: &laa})
		if err != nil {
			if len(d.MemoryInfo) != 0 {
				t.Fatalf("error with %d regions: %v", len(d.MemoryInfo), err)
			}
			return
		}
		checkSummary(t, s)
	})
}

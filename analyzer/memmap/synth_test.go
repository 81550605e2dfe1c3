package memmap

import (
	"bytes"
	"encoding/binary"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/dumptriage/dumptriage/analyzer/minidump"
)

// synth writes a small minidump: SystemInfo, ThreadList, ModuleList,
// MemoryList and MemoryInfoList, in the documented layouts.
type synth struct {
	arch    uint16
	threads []synthThread
	mem     map[uint64][]byte // captured memory by address
	info    []minidump.MemoryInfo
	modules []synthModule
}

type synthThread struct {
	id       uint32
	teb      uint64
	stackLo  uint64
	stackLen uint32
}

type synthModule struct {
	base uint64
	size uint32
	name string
}

// put stores a little-endian value of n bytes in captured memory at addr,
// in the page-sized block that holds it.
func (s *synth) put(addr uint64, n int, v uint64) {
	page := addr &^ 0xfff
	b := s.mem[page]
	if b == nil {
		b = make([]byte, 0x1000)
		s.mem[page] = b
	}
	off := addr - page
	for i := 0; i < n; i++ {
		b[off+uint64(i)] = byte(v >> (8 * i))
	}
}

func (s *synth) bytes() []byte {
	var buf bytes.Buffer
	le := binary.LittleEndian
	w := func(vs ...any) {
		for _, v := range vs {
			binary.Write(&buf, le, v)
		}
	}
	type dirEntry struct{ typ, size, rva uint32 }
	var dir []dirEntry
	const nStreams = 5
	w([]byte("MDMP"), uint32(0xA793), uint32(nStreams), uint32(32), uint32(0), uint32(0), uint64(0))
	buf.Write(make([]byte, 12*nStreams))
	stream := func(typ uint32, body func()) {
		rva := buf.Len()
		body()
		dir = append(dir, dirEntry{typ, uint32(buf.Len() - rva), uint32(rva)})
	}
	stream(7, func() { // MINIDUMP_SYSTEM_INFO
		w(s.arch, uint16(6), uint16(0), uint8(1), uint8(1), uint32(10), uint32(0), uint32(19041), uint32(2), uint32(0), uint16(0), uint16(0))
		buf.Write(make([]byte, 24))
	})
	// Captured memory first, so descriptors can point at it.
	type desc struct {
		start uint64
		size  uint32
		rva   uint32
	}
	var descs []desc
	for addr, b := range s.mem {
		descs = append(descs, desc{addr, uint32(len(b)), uint32(buf.Len())})
		buf.Write(b)
	}
	stacks := map[uint32]desc{}
	for _, t := range s.threads {
		if t.stackLen > 0 {
			stacks[t.id] = desc{t.stackLo, t.stackLen, uint32(buf.Len())}
			buf.Write(make([]byte, t.stackLen))
		}
	}
	stream(3, func() { // MINIDUMP_THREAD_LIST
		w(uint32(len(s.threads)))
		for _, t := range s.threads {
			st := stacks[t.id]
			w(t.id, uint32(0), uint32(0), uint32(0), t.teb, st.start, st.size, st.rva, uint32(0), uint32(0))
		}
	})
	names := map[int]uint32{}
	for i, m := range s.modules {
		names[i] = uint32(buf.Len())
		u := utf16.Encode([]rune(m.name))
		w(uint32(2 * len(u)))
		w(u)
		w(uint16(0))
	}
	stream(4, func() { // MINIDUMP_MODULE_LIST
		w(uint32(len(s.modules)))
		for i, m := range s.modules {
			w(m.base, m.size, uint32(0), uint32(0), names[i])
			buf.Write(make([]byte, 52+16+16)) // VS_FIXEDFILEINFO, CvRecord, MiscRecord, Reserved0/1
		}
	})
	stream(5, func() { // MINIDUMP_MEMORY_LIST
		w(uint32(len(descs)))
		for _, d := range descs {
			w(d.start, d.size, d.rva)
		}
	})
	stream(16, func() { // MINIDUMP_MEMORY_INFO_LIST
		w(uint32(16), uint32(48), uint64(len(s.info)))
		for _, m := range s.info {
			w(m.BaseAddress, m.AllocationBase, m.AllocationProtect, uint32(0), m.RegionSize, m.State, m.Protect, m.Type, uint32(0))
		}
	})
	out := buf.Bytes()
	for i, d := range dir {
		le.PutUint32(out[32+12*i:], d.typ)
		le.PutUint32(out[36+12*i:], d.size)
		le.PutUint32(out[40+12*i:], d.rva)
	}
	return out
}

// regionList turns [base, size, state, protect, type, allocBase] rows into
// MemoryInfo, filling the gaps up to end with free regions.
func regionList(end uint64, rows [][6]uint64) []minidump.MemoryInfo {
	var out []minidump.MemoryInfo
	var cursor uint64
	for _, r := range rows {
		if r[0] > cursor {
			out = append(out, minidump.MemoryInfo{BaseAddress: cursor, RegionSize: r[0] - cursor, State: memFree, Protect: pageNoAccess})
		}
		ap := uint32(r[3])
		if ap == 0 || ap&pageGuard != 0 {
			ap = pageReadWrite
		}
		out = append(out, minidump.MemoryInfo{BaseAddress: r[0], RegionSize: r[1], State: uint32(r[2]), Protect: uint32(r[3]),
			Type: uint32(r[4]), AllocationBase: r[5], AllocationProtect: ap})
		cursor = r[0] + r[1]
	}
	if cursor < end {
		out = append(out, minidump.MemoryInfo{BaseAddress: cursor, RegionSize: end - cursor, State: memFree, Protect: pageNoAccess})
	}
	return out
}

func openBytes(t *testing.T, b []byte) *minidump.Dump {
	t.Helper()
	d, err := minidump.Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range d.Warnings {
		t.Logf("warning: %v", w)
	}
	return d
}

// x86Synth is a 32-bit process with its TEB, PEB and PEB.ProcessHeaps
// captured: every usage WinDbg shows has something to find.
func x86Synth() *synth {
	const (
		teb  = 0x7ffdf000
		peb  = 0x7ffd8000
		heap = 0x140000
		h2   = 0x250000
		arr  = 0x7ff00000
	)
	s := &synth{arch: 0, mem: map[uint64][]byte{}}
	s.threads = []synthThread{{id: 0x1f00, teb: teb, stackLo: 0x12f000, stackLen: 0x1000}}
	s.put(teb+0x4, 4, 0x130000)    // NT_TIB.StackBase
	s.put(teb+0x8, 4, 0x12e000)    // NT_TIB.StackLimit
	s.put(teb+0xE0C, 4, 0x30000)   // TEB.DeallocationStack
	s.put(teb+0x30, 4, peb)        // TEB.ProcessEnvironmentBlock
	s.put(peb+0x18, 4, heap)       // PEB.ProcessHeap
	s.put(peb+0x88, 4, 2)          // PEB.NumberOfHeaps
	s.put(peb+0x90, 4, arr)        // PEB.ProcessHeaps
	s.put(peb+0x94, 4, 0x500000)   // PEB.GdiSharedHandleTable
	s.put(peb+0x38, 4, 0x12345678) // PEB.ApiSetMap: not an allocation start, ignored
	s.put(arr, 4, heap)
	s.put(arr+4, 4, h2)
	s.modules = []synthModule{{base: 0x400000, size: 0x3000, name: `C:\app\app.exe`}}
	s.info = regionList(space32, [][6]uint64{
		{0x30000, 0xfd000, memReserve, 0, memPrivate, 0x30000},
		{0x12d000, 0x1000, memCommit, pageReadWrite | pageGuard, memPrivate, 0x30000},
		{0x12e000, 0x2000, memCommit, pageReadWrite, memPrivate, 0x30000},
		{heap, 0x10000, memCommit, pageReadWrite, memPrivate, heap},
		{heap + 0x10000, 0xf0000, memReserve, 0, memPrivate, heap},
		{h2, 0x8000, memCommit, pageReadWrite, memPrivate, h2},
		{0x3a0000, 0x1000, memCommit, pageReadWrite | pageNoCache, memPrivate, 0x3a0000},
		{0x400000, 0x1000, memCommit, pageReadOnly, memImage, 0x400000},
		{0x401000, 0x1000, memCommit, pageExecuteRead, memImage, 0x400000},
		{0x402000, 0x1000, memCommit, pageWriteCopy, memImage, 0x400000},
		{0x500000, 0x20000, memCommit, pageReadOnly, memMapped, 0x500000},
		{0x600000, 0x10000, memCommit, pageReadOnly, memMapped, 0x600000},
		{arr, 0x1000, memCommit, pageReadWrite, memPrivate, arr},
		{peb, 0x1000, memCommit, pageReadWrite, memPrivate, peb},
		{teb, 0x1000, memCommit, pageReadWrite, memPrivate, teb},
		{kuserSharedData, 0x1000, memCommit, pageReadOnly, memPrivate, kuserSharedData},
	})
	return s
}

func TestSyntheticX86(t *testing.T) {
	d := openBytes(t, x86Synth().bytes())
	s, err := Summarize(d, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.AddressSpaceBytes != space32 || s.PointerSize != 4 {
		t.Errorf("address space 0x%x, pointer size %d", s.AddressSpaceBytes, s.PointerSize)
	}
	for _, c := range []struct {
		addr          uint64
		usage, detail string
	}{
		{0x30000, UsageStack, "Thread 0x1f00 stack, reserved"},
		{0x12d000, UsageStack, "Thread 0x1f00 stack, guard page"},
		{0x12f000, UsageStack, "Thread 0x1f00 stack"},
		{0x150000, UsageHeap, "Process heap 0x140000"},
		{0x250000, UsageHeap, "Heap 0x250000"},
		{0x3a0000, UsageUnknown, ""},
		{0x401000, UsageImage, "app.exe"},
		{0x500000, UsageOther, "GDI shared handle table (PEB.GdiSharedHandleTable)"},
		{0x600000, UsageMappedFile, ""},
		{0x7ffd8000, UsagePEB, "PEB"},
		{0x7ffdf000, UsageTEB, "TEB of thread 0x1f00"},
		{kuserSharedData, UsageOther, "Shared user data (KUSER_SHARED_DATA)"},
		{0x10000000, UsageFree, ""},
	} {
		r, ok := Lookup(s, c.addr)
		if !ok || r.Usage != c.usage || r.Detail != c.detail {
			t.Errorf("0x%x: %q %q, want %q %q", c.addr, r.Usage, r.Detail, c.usage, c.detail)
		}
	}
	if len(s.Notes) != 0 {
		t.Errorf("notes: %q", s.Notes)
	}
	p := entries(s.Protect)
	if p["PAGE_READWRITE|PAGE_NOCACHE"].Bytes != 0x1000 || p["PAGE_READWRITE|PAGE_GUARD"].Bytes != 0x1000 {
		t.Errorf("protect flags lost: %+v", s.Protect)
	}
	checkGolden(t, filepath.Join("testdata", "golden", "synthetic_x86.txt"), s.Text)
	r, _ := Lookup(s, 0x12d800)
	checkGolden(t, filepath.Join("testdata", "golden", "synthetic_x86_lookup.txt"), FormatLookup(r, 0x12d800))
}

// TestSyntheticHeapsMissing: without the ProcessHeaps array only the
// process heap is found, and the notes say so.
func TestSyntheticHeapsMissing(t *testing.T) {
	sy := x86Synth()
	delete(sy.mem, 0x7ff00000)
	s, err := Summarize(openBytes(t, sy.bytes()), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := Lookup(s, 0x250000); r.Usage != UsageUnknown {
		t.Errorf("second heap: %q", r.Usage)
	}
	if r, _ := Lookup(s, 0x140000); r.Usage != UsageHeap {
		t.Errorf("process heap: %q", r.Usage)
	}
	if len(s.Notes) != 1 || !strings.Contains(s.Notes[0], "PEB.ProcessHeaps (2 heaps at 0x7ff00000) was not captured") {
		t.Errorf("notes: %q", s.Notes)
	}
	// Without the TEB there is no PEB, so no heap at all.
	sy = x86Synth()
	sy.mem = map[uint64][]byte{}
	s, _ = Summarize(openBytes(t, sy.bytes()), Options{})
	if r, _ := Lookup(s, 0x140000); r.Usage != UsageUnknown {
		t.Errorf("heap without PEB: %q", r.Usage)
	}
	if r, _ := Lookup(s, 0x30000); r.Usage != UsageStack {
		t.Errorf("stack from the thread's stack memory: %q", r.Usage)
	}
	if len(s.Notes) != 1 || !strings.Contains(s.Notes[0], "TEB memory was not captured") {
		t.Errorf("notes: %q", s.Notes)
	}
}

const wowTEB = 0x7ffde000

// wow64Synth is a 64-bit dump of a WOW64 thread: TEB64.WowTebOffset leads to
// the 32-bit TEB and its stack.
func wow64Synth() *synth {
	const teb = wowTEB
	s := &synth{arch: 9, mem: map[uint64][]byte{}}
	s.threads = []synthThread{{id: 0x44, teb: teb, stackLo: 0x20f000, stackLen: 0x1000}}
	s.put(teb+0x180C, 4, 0x2000)         // TEB64.WowTebOffset
	s.put(teb+0x2000+0x4, 4, 0x500000)   // TEB32 NT_TIB.StackBase
	s.put(teb+0x2000+0x8, 4, 0x4fe000)   // TEB32 NT_TIB.StackLimit
	s.put(teb+0x2000+0xE0C, 4, 0x400000) // TEB32.DeallocationStack
	s.info = regionList(space64, [][6]uint64{
		{0x100000, 0x10e000, memReserve, 0, memPrivate, 0x100000},
		{0x20e000, 0x2000, memCommit, pageReadWrite, memPrivate, 0x100000},
		{0x400000, 0xfe000, memReserve, 0, memPrivate, 0x400000},
		{0x4fe000, 0x2000, memCommit, pageReadWrite, memPrivate, 0x400000},
		{teb, 0x3000, memCommit, pageReadWrite, memPrivate, teb},
	})
	return s
}

func TestSyntheticWow64(t *testing.T) {
	sum, err := Summarize(openBytes(t, wow64Synth().bytes()), Options{})
	if err != nil {
		t.Fatal(err)
	}
	const teb = wowTEB
	for _, c := range []struct {
		addr          uint64
		usage, detail string
	}{
		{0x100000, UsageStack, "Thread 0x44 stack, reserved"},
		{0x4fe000, UsageStack, "Thread 0x44 stack (32-bit)"},
		{teb, UsageTEB, "TEB of thread 0x44"},
		{teb + 0x2000, UsageTEB, "TEB of thread 0x44 (32-bit)"},
	} {
		r, ok := Lookup(sum, c.addr)
		if !ok || r.Usage != c.usage || r.Detail != c.detail {
			t.Errorf("0x%x: %q %q, want %q %q", c.addr, r.Usage, r.Detail, c.usage, c.detail)
		}
	}
	if n := entries(sum.Usage)[UsageTEB].Regions; n != 2 {
		t.Errorf("%d TEB regions", n)
	}
}

// TestAddressSpace32 covers how the size of a 32-bit address space is chosen.
func TestAddressSpace32(t *testing.T) {
	yes, no := true, false
	for _, c := range []struct {
		name string
		arch minidump.Arch
		mod  string
		last uint64
		laa  *bool
		want uint64
	}{
		{"list ends at 2 GB", 0, "", space32, nil, space32},
		{"list ends at 3 GB", 0, "", space32LA, nil, space32LA},
		{"list ends at 4 GB", 0, "", space32W, nil, space32W},
		{"short list", 0, "", 0x7ff00000, nil, space32},
		{"short list, not LAA", 0, "", 0x7ff00000, &no, space32},
		{"short list, LAA native", 0, "", 0x7ff00000, &yes, space32},
		{"short list, LAA WOW64 module", 0, "wow64.dll", 0x7ff00000, &yes, space32W},
		{"short list, LAA IA32_ON_WIN64", 10, "", 0x7ff00000, &yes, space32W},
		{"above 2 GB native", 0, "", 0x90000000, nil, space32LA},
		{"above 2 GB WOW64", 0, "wow64cpu.dll", 0x90000000, nil, space32W},
		{"above 3 GB", 0, "", 0xd0000000, nil, space32W},
		{"LAA native above 2 GB", 0, "", 0x90000000, &yes, space32LA},
		{"past 4 GB", 0, "", 0x1_2000_0000, nil, 0x1_2000_0000},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := &minidump.Dump{HasMemoryInfo: true, SystemInfo: &minidump.SystemInfo{ProcessorArchitecture: c.arch}}
			d.MemoryInfo = []minidump.MemoryInfo{{BaseAddress: 0x10000, RegionSize: c.last - 0x10000, State: memCommit, Protect: pageReadWrite, Type: memPrivate, AllocationBase: 0x10000}}
			if c.mod != "" {
				d.Modules = []minidump.Module{{Base: 0x7000_0000_0000, Size: 0x1000, Name: `C:\Windows\System32\` + c.mod}}
			}
			s, err := Summarize(d, Options{LargeAddressAware: c.laa})
			if err != nil {
				t.Fatal(err)
			}
			if s.AddressSpaceBytes != c.want {
				t.Errorf("address space 0x%x, want 0x%x", s.AddressSpaceBytes, c.want)
			}
		})
	}
}

// TestMalformedList: unsorted, overlapping, empty and wrapping entries are
// repaired, noted, and still give a consistent summary.
func TestMalformedList(t *testing.T) {
	d := &minidump.Dump{HasMemoryInfo: true, SystemInfo: &minidump.SystemInfo{ProcessorArchitecture: minidump.ArchAMD64}}
	d.MemoryInfo = []minidump.MemoryInfo{
		{BaseAddress: 0x20000, RegionSize: 0x10000, State: memCommit, Protect: pageReadWrite, Type: memPrivate},
		{BaseAddress: 0x10000, RegionSize: 0x18000, State: memReserve, Type: memPrivate}, // overlaps the next
		{BaseAddress: 0x50000, RegionSize: 0, State: memCommit},
		{BaseAddress: 0x24000, RegionSize: 0x1000, State: memCommit, Protect: pageReadOnly, Type: memMapped}, // inside another
		{BaseAddress: 0xffff_ffff_ffff_0000, RegionSize: 0x20000, State: memCommit, Protect: pageReadOnly, Type: memPrivate},
	}
	s, err := Summarize(d, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.AddressSpaceBytes != ^uint64(0) {
		t.Errorf("address space 0x%x", s.AddressSpaceBytes)
	}
	var sum uint64
	for _, e := range s.State {
		sum += e.Bytes
	}
	if sum != s.AddressSpaceBytes {
		t.Errorf("states sum to 0x%x", sum)
	}
	for _, want := range []string{"not in address order", "size 0", "past the end of the 64-bit", "overlap", "past the usual end"} {
		if !strings.Contains(strings.Join(s.Notes, "\n"), want) {
			t.Errorf("no note about %q in %q", want, s.Notes)
		}
	}
	var next uint64
	for _, r := range s.Regions {
		if uint64(r.Base) != next {
			t.Fatalf("regions not contiguous at %v", r.Base)
		}
		next = uint64(r.End)
	}
	if r, ok := Lookup(s, 0x29000); !ok || r.Protect != "PAGE_READWRITE" || uint64(r.Base) != 0x28000 {
		t.Errorf("clipped region: %+v", r)
	}
}

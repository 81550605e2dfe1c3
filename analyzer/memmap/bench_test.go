package memmap

import (
	"testing"

	"github.com/dumptriage/dumptriage/analyzer/minidump"
)

// synthDump builds an x64 dump of n regions in memory: allocations of four
// regions each (committed, guard, committed, reserved) separated by free
// gaps, with every 50th allocation an image in the module list and every
// 100th a thread's stack.
func synthDump(n int) *minidump.Dump {
	d := &minidump.Dump{HasMemoryInfo: true, SystemInfo: &minidump.SystemInfo{ProcessorArchitecture: minidump.ArchAMD64, PlatformID: 2}}
	d.MemoryInfo = make([]minidump.MemoryInfo, 0, n)
	addr := uint64(0x10000)
	for k := 0; len(d.MemoryInfo) < n; k++ {
		alloc := addr
		typ := uint32(memPrivate)
		switch {
		case k%50 == 0:
			typ = memImage
			d.Modules = append(d.Modules, minidump.Module{Base: alloc, Size: 0x10000, Name: `C:\Windows\System32\mod.dll`})
		case k%7 == 0:
			typ = memMapped
		case k%100 == 1:
			d.Threads = append(d.Threads, minidump.Thread{ID: uint32(k), Teb: 0x7ff000000000 + uint64(k)*0x2000,
				Stack: minidump.MemoryDescriptor{Start: alloc + 0x3000, DataSize: 0x1000}})
		}
		for j, r := range []struct {
			size           uint64
			state, protect uint32
		}{{0x1000, memCommit, pageReadOnly}, {0x1000, memCommit, pageReadWrite | pageGuard}, {0x2000, memCommit, pageReadWrite}, {0xc000, memReserve, 0}} {
			if len(d.MemoryInfo) == n {
				break
			}
			_ = j
			d.MemoryInfo = append(d.MemoryInfo, minidump.MemoryInfo{BaseAddress: addr, AllocationBase: alloc, AllocationProtect: pageReadWrite,
				RegionSize: r.size, State: r.state, Protect: r.protect, Type: typ})
			addr += r.size
		}
		addr += 0x10000 // a free gap, left out of the list
	}
	return d
}

func BenchmarkSummarize100k(b *testing.B) {
	d := synthDump(100_000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Summarize(d, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

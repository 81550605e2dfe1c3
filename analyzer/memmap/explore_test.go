package memmap

import (
	"fmt"
	"os"
	"testing"

	"github.com/dumptriage/dumptriage/analyzer/minidump"
)

func TestExplore(t *testing.T) {
	p := os.Getenv("DUMP")
	if p == "" {
		t.Skip()
	}
	f, _ := os.Open(p)
	st, _ := f.Stat()
	d, err := minidump.Open(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("arch", d.Arch(), d.SystemInfo.ProcessorArchitecture, "mem ranges", len(d.MemoryRanges()), "sysmem", d.SystemMemory != nil)
	if d.SystemMemory != nil {
		fmt.Printf("maxuser %#x\n", d.SystemMemory.MaximumUserModeAddress)
	}
	for _, th := range d.Threads {
		sb, ok1 := d.ReadPointer(th.Teb + 8)
		sl, _ := d.ReadPointer(th.Teb + 16)
		ds, ok2 := d.ReadPointer(th.Teb + 0x1478)
		peb, ok3 := d.ReadPointer(th.Teb + 0x60)
		fmt.Printf("thread %d teb %#x stack %#x+%#x | sb %#x sl %#x ds %#x (%v %v) peb %#x %v\n", th.ID, th.Teb, th.Stack.Start, th.Stack.DataSize, sb, sl, ds, ok1, ok2, peb, ok3)
		if ok3 {
			n, okn := d.ReadU32(peb + 0xE8)
			hp, okh := d.ReadPointer(peb + 0xF0)
			ph, _ := d.ReadPointer(peb + 0x30)
			fmt.Printf("  peb heaps n=%d %v heaps@%#x %v processheap %#x\n", n, okn, hp, okh, ph)
			for i := uint64(0); i < uint64(n) && i < 16; i++ {
				h, ok := d.ReadPointer(hp + 8*i)
				fmt.Printf("   heap[%d]=%#x %v\n", i, h, ok)
			}
			for _, off := range []uint64{0x20, 0x68, 0x88, 0x90, 0xa0, 0xa8, 0xb0, 0xf8, 0x2d8, 0x2f8, 0x300, 0x308, 0x310} {
				v, ok := d.ReadPointer(peb + off)
				fmt.Printf("   peb+%#x=%#x %v\n", off, v, ok)
			}
		}
	}
	for _, m := range d.Modules {
		fmt.Printf("mod %#x %#x %s\n", m.Base, m.Size, m.FileName())
	}
	for _, r := range d.MemoryInfo {
		if r.State == 0x10000 {
			continue
		}
		fmt.Printf("%#14x %#14x %#12x st=%#x pr=%#x ap=%#x ty=%#x\n", r.BaseAddress, r.AllocationBase, r.RegionSize, r.State, r.Protect, r.AllocationProtect, r.Type)
	}
}

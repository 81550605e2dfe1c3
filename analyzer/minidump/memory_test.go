package minidump

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSortRanges checks the hand-written sort against slices.SortFunc on
// sorted, reversed, random and duplicate-heavy inputs of many lengths.
func TestSortRanges(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cmpRanges := func(x, y MemoryRange) int {
		switch {
		case rangeLess(&x, &y):
			return -1
		case rangeLess(&y, &x):
			return 1
		}
		return 0
	}
	for _, n := range []int{0, 1, 2, 3, 12, 13, 100, 1000, 8000} {
		for shape := 0; shape < 5; shape++ {
			rs := make([]MemoryRange, n)
			for i := range rs {
				switch shape {
				case 0: // sorted
					rs[i] = MemoryRange{Start: uint64(i) * 0x1000, Offset: int64(i)}
				case 1: // reversed
					rs[i] = MemoryRange{Start: uint64(n-i) * 0x1000, Offset: int64(i)}
				case 2: // random
					rs[i] = MemoryRange{Start: rng.Uint64(), Offset: rng.Int64()}
				case 3: // few distinct addresses
					rs[i] = MemoryRange{Start: uint64(rng.IntN(4)), Offset: int64(rng.IntN(1000))}
				case 4: // sorted runs, as memory lists come
					rs[i] = MemoryRange{Start: uint64(i%97) * 0x1000, Offset: int64(i)}
				}
			}
			want := slices.Clone(rs)
			slices.SortFunc(want, cmpRanges)
			sortRanges(rs)
			if !slices.Equal(rs, want) {
				t.Errorf("n=%d shape %d: not sorted as slices.SortFunc sorts", n, shape)
			}
		}
	}
	// The heapsort fallback, directly.
	rs := make([]MemoryRange, 500)
	for i := range rs {
		rs[i] = MemoryRange{Start: rng.Uint64() % 50, Offset: int64(i)}
	}
	want := slices.Clone(rs)
	slices.SortFunc(want, cmpRanges)
	heapSortRanges(rs)
	if !slices.Equal(rs, want) {
		t.Error("heapSortRanges does not sort")
	}
}

// TestModuleAtIndex: the binary search answers as the linear scan does,
// with and without overlapping images.
func TestModuleAtIndex(t *testing.T) {
	for _, overlap := range []bool{false, true} {
		d := &Dump{}
		for i := range 100 {
			base := uint64(0x10000000 + (99-i)*0x20000)
			size := uint32(0x10000 + i%3*0x8000)
			if i%7 == 0 {
				size = 0
			}
			d.Modules = append(d.Modules, Module{Base: base, Size: size})
		}
		if overlap {
			d.Modules[10].Size = 0x80000
		}
		d.indexModules()
		if d.overlap != overlap {
			t.Fatalf("overlap %v, want %v", d.overlap, overlap)
		}
		for addr := uint64(0x0fff0000); addr < 0x10d00000; addr += 0x1000 {
			if got, want := d.ModuleAt(addr), d.moduleAtLinear(addr); got != want {
				t.Fatalf("overlap %v: ModuleAt(%#x) = %v, want %v", overlap, addr, got, want)
			}
		}
	}
}

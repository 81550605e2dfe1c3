package minidump

import (
	"errors"
	"math/bits"
	"sort"
)

// MemoryRange is captured process memory: Size bytes at virtual address
// Start, stored at file offset Offset.
type MemoryRange struct {
	Start  uint64
	Size   uint64
	Offset int64
}

// End is the first address past the range.
func (m MemoryRange) End() uint64 { return m.Start + m.Size }

// ErrNoMemory means the address was not captured in the dump.
var ErrNoMemory = errors.New("memory not captured in the dump")

// buildMemoryIndex sorts ranges by address and drops those that overlap an
// earlier one, so lookups can binary search.
func buildMemoryIndex(ranges []MemoryRange) []MemoryRange {
	sortRanges(ranges)
	out := ranges[:0]
	var end uint64
	for i, r := range ranges {
		if r.Size == 0 {
			continue
		}
		if i > 0 && len(out) > 0 && r.Start < end {
			continue
		}
		out = append(out, r)
		end = r.End()
		if end < r.Start { // wrapped
			end = ^uint64(0)
		}
	}
	return out
}

// rangeLess orders ranges by address, then file offset, so that the choice
// among duplicates is deterministic.
func rangeLess(x, y *MemoryRange) bool {
	return x.Start < y.Start || x.Start == y.Start && x.Offset < y.Offset
}

// sortRanges sorts by rangeLess. It is slices.SortFunc written out for this
// one type: the generic version's indirect comparisons were a tenth of the
// analysis of a dump with 8,000 ranges. Already sorted input costs one pass.
func sortRanges(rs []MemoryRange) {
	sorted := true
	for i := 1; i < len(rs); i++ {
		if rangeLess(&rs[i], &rs[i-1]) {
			sorted = false
			break
		}
	}
	if !sorted {
		quickSortRanges(rs, 2*bits.Len(uint(len(rs))))
	}
}

// quickSortRanges is introsort: quicksort with a median-of-three pivot,
// insertion sort for short runs, and heapsort when depth runs out.
func quickSortRanges(rs []MemoryRange, depth int) {
	for len(rs) > 12 {
		if depth == 0 {
			heapSortRanges(rs)
			return
		}
		depth--
		m := len(rs) / 2
		last := len(rs) - 1
		if rangeLess(&rs[m], &rs[0]) {
			rs[m], rs[0] = rs[0], rs[m]
		}
		if rangeLess(&rs[last], &rs[0]) {
			rs[last], rs[0] = rs[0], rs[last]
		}
		if rangeLess(&rs[last], &rs[m]) {
			rs[last], rs[m] = rs[m], rs[last]
		}
		pivot := rs[m]
		i, j := 0, last
		for i <= j {
			for rangeLess(&rs[i], &pivot) {
				i++
			}
			for rangeLess(&pivot, &rs[j]) {
				j--
			}
			if i <= j {
				rs[i], rs[j] = rs[j], rs[i]
				i++
				j--
			}
		}
		// Recurse into the smaller side, loop on the larger.
		if j+1 < len(rs)-i {
			quickSortRanges(rs[:j+1], depth)
			rs = rs[i:]
		} else {
			quickSortRanges(rs[i:], depth)
			rs = rs[:j+1]
		}
	}
	for i := 1; i < len(rs); i++ {
		for k := i; k > 0 && rangeLess(&rs[k], &rs[k-1]); k-- {
			rs[k], rs[k-1] = rs[k-1], rs[k]
		}
	}
}

func heapSortRanges(rs []MemoryRange) {
	down := func(root, n int) {
		for {
			child := 2*root + 1
			if child >= n {
				return
			}
			if child+1 < n && rangeLess(&rs[child], &rs[child+1]) {
				child++
			}
			if !rangeLess(&rs[root], &rs[child]) {
				return
			}
			rs[root], rs[child] = rs[child], rs[root]
			root = child
		}
	}
	for i := len(rs)/2 - 1; i >= 0; i-- {
		down(i, len(rs))
	}
	for n := len(rs) - 1; n > 0; n-- {
		rs[0], rs[n] = rs[n], rs[0]
		down(0, n)
	}
}

// findRange returns the index of the range containing addr, or -1.
func findRange(ranges []MemoryRange, addr uint64) int {
	i := sort.Search(len(ranges), func(i int) bool { return ranges[i].Start > addr }) - 1
	if i < 0 || addr-ranges[i].Start >= ranges[i].Size {
		return -1
	}
	return i
}

// MemoryRanges returns every captured range, sorted by address.
func (d *Dump) MemoryRanges() []MemoryRange { return d.memory }

// ReadMemory reads captured memory at addr into p, continuing across adjacent
// ranges. It returns the number of bytes read; fewer than len(p) comes with
// ErrNoMemory.
func (d *Dump) ReadMemory(addr uint64, p []byte) (int, error) {
	n := 0
	for n < len(p) {
		i := findRange(d.memory, addr+uint64(n))
		if i < 0 {
			return n, ErrNoMemory
		}
		r := d.memory[i]
		off := addr + uint64(n) - r.Start
		chunk := r.Size - off
		if chunk > uint64(len(p)-n) {
			chunk = uint64(len(p) - n)
		}
		fo := r.Offset + int64(off)
		if fo < 0 || fo > d.f.size || int64(chunk) > d.f.size-fo {
			return n, ErrNoMemory
		}
		if d.f.mem != nil {
			n += copy(p[n:n+int(chunk)], d.f.mem[fo:])
			continue
		}
		m, err := d.f.r.ReadAt(p[n:n+int(chunk)], fo)
		n += m
		if m < int(chunk) {
			if err == nil {
				err = ErrNoMemory
			}
			return n, err
		}
	}
	return n, nil
}

// Lends reports whether LendRange can lend bytes (the dump is Mapped).
func (d *Dump) Lends() bool { return d.f.mem != nil }

// LendRange lends the captured range holding addr: its start address and
// its bytes, without copying. It needs a Mapped dump; otherwise, or when
// addr was not captured or its range is cut short by the end of the file,
// it returns nil.
func (d *Dump) LendRange(addr uint64) (start uint64, b []byte) {
	if d.f.mem == nil {
		return 0, nil
	}
	i := findRange(d.memory, addr)
	if i < 0 {
		return 0, nil
	}
	r := d.memory[i]
	if r.Offset < 0 || r.Offset > d.f.size || r.Size > uint64(d.f.size-r.Offset) {
		return 0, nil
	}
	return r.Start, d.f.mem[r.Offset : r.Offset+int64(r.Size) : r.Offset+int64(r.Size)]
}

// ReadU64 reads a little-endian 64-bit value from captured memory.
func (d *Dump) ReadU64(addr uint64) (uint64, bool) {
	var b [8]byte
	if n, _ := d.ReadMemory(addr, b[:]); n < 8 {
		return 0, false
	}
	return le.Uint64(b[:]), true
}

// ReadU32 reads a little-endian 32-bit value from captured memory.
func (d *Dump) ReadU32(addr uint64) (uint32, bool) {
	var b [4]byte
	if n, _ := d.ReadMemory(addr, b[:]); n < 4 {
		return 0, false
	}
	return le.Uint32(b[:]), true
}

// ReadPointer reads a pointer of the dump's pointer size.
func (d *Dump) ReadPointer(addr uint64) (uint64, bool) {
	if d.PointerSize() == 4 {
		v, ok := d.ReadU32(addr)
		return uint64(v), ok
	}
	return d.ReadU64(addr)
}

// HasMemory reports whether size bytes at addr were all captured.
func (d *Dump) HasMemory(addr, size uint64) bool {
	for size > 0 {
		i := findRange(d.memory, addr)
		if i < 0 {
			return false
		}
		r := d.memory[i]
		avail := r.End() - addr
		if avail >= size {
			return true
		}
		addr += avail
		size -= avail
	}
	return true
}

package minidump

import (
	"cmp"
	"errors"
	"slices"
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
	slices.SortFunc(ranges, func(x, y MemoryRange) int {
		if c := cmp.Compare(x.Start, y.Start); c != 0 {
			return c
		}
		return cmp.Compare(x.Offset, y.Offset) // deterministic among duplicates
	})
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

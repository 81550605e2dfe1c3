package analyzer

import (
	"encoding/binary"

	"github.com/dumptriage/dumptriage/analyzer/minidump"
	"github.com/dumptriage/dumptriage/analyzer/unwind"
)

// processMemory reads the dumped process's memory: first what the dump
// captured, then the bytes of module images found on disk, which hold code,
// unwind data and read-only data that minidumps usually leave out.
type processMemory struct {
	d      *minidump.Dump
	images func(addr uint64) (read func(rva uint32, p []byte) (int, error), base uint64, ok bool)
}

func (a *analysis) memory() *processMemory {
	if a.mem == nil {
		a.mem = &processMemory{d: a.d, images: a.imageReader}
	}
	return a.mem
}

// ReadMemory fills p from addr; it returns how many bytes it could read.
func (m *processMemory) ReadMemory(addr uint64, p []byte) (int, error) {
	n, err := m.d.ReadMemory(addr, p)
	if n == len(p) {
		return n, nil
	}
	for n < len(p) && m.images != nil {
		read, base, ok := m.images(addr + uint64(n))
		if !ok {
			break
		}
		k, _ := read(uint32(addr+uint64(n)-base), p[n:])
		if k <= 0 {
			break
		}
		n += k
		if n < len(p) {
			// Captured memory may continue where the image data ends.
			k2, _ := m.d.ReadMemory(addr+uint64(n), p[n:])
			n += k2
		}
	}
	if n < len(p) {
		return n, minidump.ErrNoMemory
	}
	return n, err
}

// lendingMemory is processMemory for a Mapped dump: walks read captured
// ranges in place (unwind.RangeLender). Image bytes are never lent.
type lendingMemory struct{ *processMemory }

func (m lendingMemory) RangeAt(addr uint64) (uint64, []byte) { return m.d.LendRange(addr) }

// walkMemory is the memory stack walks read: lending when the dump can.
func (a *analysis) walkMemory() unwind.Memory {
	if a.d.Lends() {
		return lendingMemory{a.memory()}
	}
	return a.memory()
}

func (m *processMemory) ReadU32(addr uint64) (uint32, bool) {
	var b [4]byte
	if n, _ := m.ReadMemory(addr, b[:]); n < 4 {
		return 0, false
	}
	return binary.LittleEndian.Uint32(b[:]), true
}

func (m *processMemory) ReadU64(addr uint64) (uint64, bool) {
	var b [8]byte
	if n, _ := m.ReadMemory(addr, b[:]); n < 8 {
		return 0, false
	}
	return binary.LittleEndian.Uint64(b[:]), true
}

// ReadPointer reads a pointer of the process's size.
func (m *processMemory) ReadPointer(addr uint64) (uint64, bool) {
	if m.d.PointerSize() == 4 {
		v, ok := m.ReadU32(addr)
		return uint64(v), ok
	}
	return m.ReadU64(addr)
}

package unwind

import (
	"errors"
	"sort"

	"github.com/dumptriage/dumptriage/analyzer/minidump"
	"github.com/dumptriage/dumptriage/analyzer/pe"
	"github.com/dumptriage/dumptriage/analyzer/symbols/breakpad"
)

// ErrNotInImage is returned by ImageModule.ReadRVA for bytes it does not
// have: no image, or a page OpenMapped could not read.
var ErrNotInImage = errors.New("unwind: bytes not in the image")

// ImageModule is a ready Module: a loaded module with, optionally, its PE
// image (from a file, or rebuilt from dump memory by pe.OpenMapped) and its
// Breakpad symbols.
type ImageModule struct {
	BaseAddr    uint64
	SizeOfImage uint64
	ModuleName  string
	Image       *pe.Image      // nil when no image was found
	Sym         *breakpad.File // nil when no .sym was found
}

func (m *ImageModule) Base() uint64   { return m.BaseAddr }
func (m *ImageModule) Size() uint64   { return m.SizeOfImage }
func (m *ImageModule) Name() string   { return m.ModuleName }
func (m *ImageModule) HasImage() bool { return m.Image != nil }

// ReadRVA reads mapped image bytes. The pages OpenMapped could not read
// (Image.Missing) end the read short instead of reading as zeros, which
// would decode as code and unwind data.
func (m *ImageModule) ReadRVA(rva uint32, p []byte) (int, error) {
	if m.Image == nil {
		return 0, ErrNotInImage
	}
	end := uint64(rva) + uint64(len(p))
	for _, r := range m.Image.Missing {
		rs, re := uint64(r.RVA), uint64(r.RVA)+uint64(r.Size)
		if uint64(rva) < re && end > rs {
			if uint64(rva) >= rs {
				return 0, ErrNotInImage
			}
			n, _ := m.Image.ReadRVA(rva, p[:rs-uint64(rva)])
			return n, ErrNotInImage
		}
	}
	return m.Image.ReadRVA(rva, p)
}

// ExceptionDirectory is IMAGE_DIRECTORY_ENTRY_EXCEPTION of the image.
func (m *ImageModule) ExceptionDirectory() (rva, size uint32) {
	if m.Image == nil {
		return 0, 0
	}
	return m.Image.DataDirectory(3)
}

func (m *ImageModule) IsExecutableRVA(rva uint32) bool {
	return m.Image != nil && m.Image.IsExecutableRVA(rva)
}

// Breakpad returns the .sym records, or nil (a true nil interface).
func (m *ImageModule) Breakpad() BreakpadRecords {
	if m.Sym == nil {
		return nil
	}
	return m.Sym
}

// ModuleList is a Modules over modules sorted by base address.
type ModuleList []Module

// NewModuleList sorts mods by base address.
func NewModuleList(mods []Module) ModuleList {
	l := append(ModuleList(nil), mods...)
	sort.Slice(l, func(i, j int) bool { return l[i].Base() < l[j].Base() })
	return l
}

// ModuleAt finds the module whose [Base, Base+Size) holds addr.
func (l ModuleList) ModuleAt(addr uint64) Module {
	i := sort.Search(len(l), func(i int) bool { return l[i].Base() > addr }) - 1
	if i >= 0 && addr-l[i].Base() < l[i].Size() {
		return l[i]
	}
	return nil
}

// DumpStackLimits bounds walks by the dump: the captured stack
// (MINIDUMP_THREAD.Stack) of the thread whose stack holds sp, else the
// captured memory range holding sp (a dump written from another thread may
// carry the crashing thread's stack only in its memory list).
func DumpStackLimits(d *minidump.Dump) func(sp uint64) (lo, hi uint64, ok bool) {
	return func(sp uint64) (uint64, uint64, bool) {
		for i := range d.Threads {
			s := d.Threads[i].Stack
			if sp >= s.Start && sp-s.Start <= uint64(s.DataSize) {
				return s.Start, s.Start + uint64(s.DataSize), true
			}
		}
		rs := d.MemoryRanges()
		i := sort.Search(len(rs), func(i int) bool { return rs[i].Start > sp }) - 1
		if i < 0 || sp > rs[i].End() {
			return 0, 0, false
		}
		// Writers split large regions into adjacent ranges.
		lo, hi := rs[i].Start, rs[i].End()
		for j := i + 1; j < len(rs) && rs[j].Start == hi; j++ {
			hi = rs[j].End()
		}
		for j := i - 1; j >= 0 && rs[j].End() == lo; j-- {
			lo = rs[j].Start
		}
		return lo, hi, true
	}
}

// Package memmap builds WinDbg's `!address -summary` and `!address ADDR`
// from a minidump's MemoryInfoList (MINIDUMP_MEMORY_INFO_LIST): every region
// of the address space with its state, type and protection, classified by
// usage (Image, Stack, TEB, PEB, Heap, Other, MappedFile, <unknown>, Free)
// from the module list, the thread list and the TEB and PEB when the dump
// captured them. See README.md for how each usage is found.
package memmap

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/dumptriage/dumptriage/analyzer/minidump"
	"github.com/dumptriage/dumptriage/analyzer/report"
)

// Usage names, as WinDbg's !address writes them.
const (
	UsageFree       = "Free"
	UsageUnknown    = "<unknown>"
	UsageImage      = "Image"
	UsageHeap       = "Heap"
	UsageStack      = "Stack"
	UsageTEB        = "TEB"
	UsagePEB        = "PEB"
	UsageOther      = "Other"
	UsageMappedFile = "MappedFile"
)

// usage ids, in the order WinDbg lists rows of equal size.
const (
	uFree = iota
	uUnknown
	uImage
	uHeap
	uStack
	uOther
	uTEB
	uPEB
	uMapped
	nUsage
)

var usageNames = [nUsage]string{UsageFree, UsageUnknown, UsageImage, UsageHeap, UsageStack, UsageOther, UsageTEB, UsagePEB, UsageMappedFile}

// ErrNoMemoryInfo means the dump has no MemoryInfoList, so there is nothing
// to summarise.
var ErrNoMemoryInfo = errors.New("memmap: the dump has no MemoryInfoList stream")

// Address-space sizes as WinDbg computes them: from 0 to the highest user
// address plus one (MM_HIGHEST_USER_ADDRESS + 1).
const (
	space64   = 0x7FFFFFFF0000 // x64: 128 TB less 64 kB
	space32   = 0x7FFF0000     // x86: 2 GB
	space32LA = 0xBFFF0000     // x86 large-address-aware on a /3GB system: 3 GB
	space32W  = 0xFFFF0000     // x86 large-address-aware under WOW64: 4 GB
)

// Options are facts the caller may know from outside the dump.
type Options struct {
	// LargeAddressAware is IMAGE_FILE_LARGE_ADDRESS_AWARE from the main
	// module's PE header, when the caller has it; nil means unknown.
	LargeAddressAware *bool
}

// span is one region of the address space: a MINIDUMP_MEMORY_INFO entry, a
// gap the list does not cover (free), or a piece of an entry carved out for
// a TEB or PEB.
type span struct {
	base, end    uint64
	allocBase    uint64
	state        uint32
	protect      uint32
	typ          uint32
	allocProtect uint32
	listed       bool
}

func (s *span) busy() bool { return s.state != memFree }

// allocKey groups regions into allocations. Writers that leave
// AllocationBase empty or inconsistent get one allocation per region.
func (s *span) allocKey() uint64 {
	if s.allocBase != 0 && s.allocBase <= s.base {
		return s.allocBase
	}
	return s.base
}

// mark is a usage found for an allocation or a carved range; lower rank wins.
type mark struct {
	usage  int
	detail string
	rank   int
}

type carve struct {
	base, end uint64
	usage     int
	detail    string
}

type builder struct {
	d     *minidump.Dump
	opts  Options
	ps    int
	spans []span // sorted, disjoint, covering [0, total)
	total uint64
	notes []string

	allocs  map[uint64]mark
	carves  []carve
	modules []minidump.Module // sorted by base
}

// Summarize builds the !address summary of the dump from its MemoryInfoList.
// It fails only when the dump has no MemoryInfoList; what it cannot classify
// stays <unknown>, and Notes says why.
func Summarize(d *minidump.Dump, opts Options) (*report.MemorySummary, error) {
	if d == nil || !d.HasMemoryInfo || len(d.MemoryInfo) == 0 {
		return nil, ErrNoMemoryInfo
	}
	b := &builder{d: d, opts: opts, ps: d.PointerSize(), allocs: map[uint64]mark{}}
	b.layout()
	b.classify()
	s := b.summarize()
	s.Text = Render(s)
	return s, nil
}

// layout copies the MemoryInfoList into sorted, disjoint spans, decides the
// size of the address space and fills what the list leaves out with free
// spans.
func (b *builder) layout() {
	in := b.d.MemoryInfo
	for i := 1; i < len(in); i++ {
		if in[i].BaseAddress < in[i-1].BaseAddress {
			in = append([]minidump.MemoryInfo(nil), in...)
			sort.SliceStable(in, func(i, j int) bool { return in[i].BaseAddress < in[j].BaseAddress })
			b.note("MemoryInfoList entries are not in address order; they were sorted")
			break
		}
	}
	// One pass: drop empty entries, cut entries that wrap, clip overlaps
	// and fill the gaps with free spans.
	n := len(in) + 2
	for i := 1; i < len(in); i++ {
		if in[i].BaseAddress > in[i-1].BaseAddress+in[i-1].RegionSize {
			n++ // a gap
		}
	}
	full := make([]span, 0, n)
	var cursor uint64
	var zero, wrapped, overlaps, gaps int
	for _, m := range in {
		if m.RegionSize == 0 {
			zero++
			continue
		}
		s := span{base: m.BaseAddress, end: m.BaseAddress + m.RegionSize, allocBase: m.AllocationBase, state: m.State,
			protect: m.Protect, typ: m.Type, allocProtect: m.AllocationProtect, listed: true}
		if s.end < s.base {
			s.end = ^uint64(0)
			wrapped++
		}
		if s.base < cursor {
			overlaps++
			if s.end <= cursor {
				continue
			}
			s.base = cursor
		}
		if s.base > cursor {
			full = append(full, span{base: cursor, end: s.base, state: memFree, protect: pageNoAccess})
			gaps++
		}
		full = append(full, s)
		cursor = s.end
	}
	if zero > 0 {
		b.note(fmt.Sprintf("%d MemoryInfoList entries of size 0 were ignored", zero))
	}
	if wrapped > 0 {
		b.note(fmt.Sprintf("%d MemoryInfoList entries run past the end of the 64-bit address space and were cut there", wrapped))
	}
	if overlaps > 0 {
		b.note(fmt.Sprintf("%d MemoryInfoList entries overlap earlier ones and were clipped", overlaps))
	}
	b.total = b.addressSpace(cursor)
	if cursor < b.total {
		full = append(full, span{base: cursor, end: b.total, state: memFree, protect: pageNoAccess})
		gaps++
	}
	if gaps > 0 {
		b.note(fmt.Sprintf("%d ranges of the address space are not in the MemoryInfoList; they are counted as free", gaps))
	}
	b.spans = full
}

// addressSpace is the size of the user address space: what the end of the
// MemoryInfoList says when it ends on a known boundary (dbghelp lists up to
// the highest user address), otherwise what the architecture, WOW64 and the
// large-address-aware flag imply.
func (b *builder) addressSpace(last uint64) uint64 {
	var total uint64
	if b.ps == 8 {
		total = space64
	} else {
		switch last {
		case space32, space32LA, space32W:
			total = last
		default:
			total = b.space32(last)
		}
	}
	if last > total {
		b.note(fmt.Sprintf("the MemoryInfoList reaches 0x%x, past the usual end of the user address space (0x%x); the address space is taken to end there", last, total))
		total = last
	}
	return total
}

func (b *builder) space32(last uint64) uint64 {
	wow := b.wow64()
	laa := b.opts.LargeAddressAware
	switch {
	case laa != nil && !*laa:
		return space32
	case laa != nil && *laa && wow:
		return space32W
	case laa != nil && *laa:
		if last > space32 {
			return space32LA
		}
		// Large-address-aware on a 32-bit system without /3GB still gets 2 GB.
		return space32
	case last > space32LA:
		return space32W
	case last > space32:
		if wow {
			return space32W
		}
		return space32LA
	}
	return space32
}

// wow64 reports signs that a 32-bit dump comes from a WOW64 process:
// PROCESSOR_ARCHITECTURE_IA32_ON_WIN64, WOW64 modules, or a 32-bit TEB whose
// WowTebOffset (TEB32+0xFDC) points at its 64-bit TEB.
func (b *builder) wow64() bool {
	d := b.d
	if d.SystemInfo != nil && d.SystemInfo.ProcessorArchitecture == 10 {
		return true
	}
	for i := range d.Modules {
		switch strings.ToLower(d.Modules[i].FileName()) {
		case "wow64.dll", "wow64cpu.dll", "wow64win.dll":
			return true
		}
	}
	for i := range d.Threads {
		if v, ok := d.ReadU32(d.Threads[i].Teb + 0xFDC); ok && v == 0xFFFFE000 {
			return true
		}
	}
	return false
}

func (b *builder) note(s string) { b.notes = append(b.notes, s) }

// find returns the index of the span containing addr, or -1.
func (b *builder) find(addr uint64) int {
	i := sort.Search(len(b.spans), func(i int) bool { return b.spans[i].end > addr })
	if i < len(b.spans) && b.spans[i].base <= addr {
		return i
	}
	return -1
}

// markAlloc gives the allocation containing addr a usage. Free memory and
// images are left alone; a better-ranked usage is kept.
func (b *builder) markAlloc(addr uint64, usage int, detail string, rank int) bool {
	i := b.find(addr)
	if i < 0 || !b.spans[i].busy() || b.spans[i].typ == memImage {
		return false
	}
	k := b.spans[i].allocKey()
	if old, ok := b.allocs[k]; ok && old.rank <= rank {
		return old.usage == usage
	}
	b.allocs[k] = mark{usage: usage, detail: detail, rank: rank}
	return true
}

// isAllocStart reports whether addr is the start of a busy, non-image
// allocation: the check a pointer read from the PEB must pass before it is
// trusted, since PEB layouts differ between Windows versions.
func (b *builder) isAllocStart(addr uint64) bool {
	i := b.find(addr)
	if i < 0 || addr == 0 {
		return false
	}
	s := &b.spans[i]
	return s.busy() && s.typ != memImage && s.allocKey() == addr
}

// carveRange marks [addr, addr+size) as usage, within the span holding addr.
func (b *builder) carveRange(addr, size uint64, usage int, detail string) bool {
	i := b.find(addr)
	if i < 0 || !b.spans[i].busy() || b.spans[i].typ == memImage {
		return false
	}
	end := addr + size
	if end < addr || end > b.spans[i].end {
		end = b.spans[i].end
	}
	b.carves = append(b.carves, carve{base: addr, end: end, usage: usage, detail: detail})
	return true
}

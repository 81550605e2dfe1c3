package memmap

import (
	"math"
	"sort"

	"github.com/dumptriage/dumptriage/analyzer/report"
)

type tally struct {
	regions int
	bytes   uint64
	// the largest region
	lbase, lsize uint64
}

func (t *tally) add(base, size uint64) {
	t.regions++
	t.bytes += size
	if size > t.lsize {
		t.lbase, t.lsize = base, size
	}
}

// summarize splits spans at the carved TEB and PEB ranges, classifies each
// piece and adds up the tables.
func (b *builder) summarize() *report.MemorySummary {
	s := &report.MemorySummary{AddressSpaceBytes: b.total, Source: "MemoryInfoList", PointerSize: b.ps}
	var usage [nUsage]tally
	states := map[uint32]*tally{}
	types := map[uint32]*tally{}
	protects := map[uint32]*tally{}
	names := map[uint32]string{} // ProtectName cache
	protName := func(p uint32) string {
		n, ok := names[p]
		if !ok {
			n = ProtectName(p)
			names[p] = n
		}
		return n
	}
	get := func(m map[uint32]*tally, k uint32) *tally {
		t := m[k]
		if t == nil {
			t = &tally{}
			m[k] = t
		}
		return t
	}

	regions := make([]report.Region, 0, len(b.spans)+2*len(b.carves))
	emit := func(sp *span, base, end uint64, c *carve) {
		size := end - base
		u, detail := b.usageOf(sp, c)
		usage[u].add(base, size)
		get(states, sp.state).add(base, size)
		r := report.Region{Base: report.Addr(base), End: report.Addr(end), Size: size, State: StateName(sp.state),
			Protect: protName(sp.protect), Usage: usageNames[u], Detail: detail, PointerSize: b.ps}
		if sp.busy() {
			get(types, sp.typ).add(base, size)
			r.Type = TypeName(sp.typ)
			r.AllocationBase = report.Addr(sp.allocBase)
			r.AllocationProtect = protName(sp.allocProtect)
			if sp.state == memCommit {
				get(protects, sp.protect).add(base, size)
			}
		}
		regions = append(regions, r)
	}
	ci := 0
	for i := range b.spans {
		sp := &b.spans[i]
		for ci < len(b.carves) && b.carves[ci].end <= sp.base {
			ci++
		}
		cur := sp.base
		for j := ci; j < len(b.carves) && b.carves[j].base < sp.end; j++ {
			c := &b.carves[j]
			lo, hi := max(c.base, cur), min(c.end, sp.end)
			if lo >= hi {
				continue
			}
			if lo > cur {
				emit(sp, cur, lo, nil)
			}
			emit(sp, lo, hi, c)
			cur = hi
		}
		if cur < sp.end {
			emit(sp, cur, sp.end, nil)
		}
	}
	s.Regions = regions

	free := usage[uFree].bytes
	busy := b.total - free
	if free > b.total { // cannot happen: spans lie within [0, total)
		busy = 0
	}
	s.LargestFreeBytes = usage[uFree].lsize
	entry := func(name string, t *tally, isFree bool) report.SummaryEntry {
		e := report.SummaryEntry{Name: name, Regions: t.regions, Bytes: t.bytes, PctTotal: pct(t.bytes, b.total)}
		if !isFree {
			e.PctBusy = pct(t.bytes, busy)
		}
		return e
	}

	var order []int
	for u := 0; u < nUsage; u++ {
		if usage[u].regions > 0 {
			order = append(order, u)
		}
	}
	sort.SliceStable(order, func(i, j int) bool { return usage[order[i]].bytes > usage[order[j]].bytes })
	for _, u := range order {
		s.Usage = append(s.Usage, entry(usageNames[u], &usage[u], u == uFree))
		s.Largest = append(s.Largest, report.LargestEntry{Usage: usageNames[u], Base: report.Addr(usage[u].lbase), Bytes: usage[u].lsize})
	}
	s.Type = table(types, TypeName, func(k uint32) bool { return false }, entry)
	s.State = table(states, StateName, func(k uint32) bool { return k == memFree }, entry)
	s.Protect = table(protects, protName, func(k uint32) bool { return false }, entry)
	s.Notes = b.notes
	return s
}

// table turns tallies into summary rows, largest first; rows of equal size
// are ordered by name.
func table(m map[uint32]*tally, name func(uint32) string, isFree func(uint32) bool,
	entry func(string, *tally, bool) report.SummaryEntry) []report.SummaryEntry {
	out := make([]report.SummaryEntry, 0, len(m))
	for k, t := range m {
		out = append(out, entry(name(k), t, isFree(k)))
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Bytes != out[j].Bytes {
			return out[i].Bytes > out[j].Bytes
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// pct is part/whole in percent, rounded to the two decimals WinDbg shows.
func pct(part, whole uint64) float64 {
	if whole == 0 {
		return 0
	}
	return math.Round(float64(part)/float64(whole)*10000) / 100
}

package breakpad

import (
	"cmp"
	"math"
	"slices"
	"sort"
)

// Breakpad stores records in range maps one by one, in file order, and a
// store fails when it conflicts with a range already stored. Which records
// survive therefore depends on file order, and STACK WIN records in Windows
// symbol files are often not address-sorted (kernel32.sym has hundreds of
// partial overlaps). The helpers below reproduce that greedy file-order
// choice exactly in O(n log n), using segment trees over the ranges sorted
// by start and by end instead of a dynamic tree.

// span is an inclusive address range [start, last].
type span struct{ start, last uint64 }

// segTree is an iterative segment tree over n positions holding uint64
// values combined by max (or by min, through complemented values).
type segTree struct {
	n int
	t []uint64
}

func newSegTree(n int) *segTree { return &segTree{n: n, t: make([]uint64, 2*n)} }

// raise sets position i to max(current, v).
func (s *segTree) raise(i int, v uint64) {
	for i += s.n; i > 0; i >>= 1 {
		if s.t[i] >= v {
			return
		}
		s.t[i] = v
	}
}

// max returns the maximum over positions [lo, hi), 0 when empty.
func (s *segTree) max(lo, hi int) uint64 {
	var r uint64
	for lo, hi = lo+s.n, hi+s.n; lo < hi; lo, hi = lo>>1, hi>>1 {
		if lo&1 == 1 {
			r = max(r, s.t[lo])
			lo++
		}
		if hi&1 == 1 {
			hi--
			r = max(r, s.t[hi])
		}
	}
	return r
}

// sortedBy returns the indices of spans sorted by key, and the keys in that
// order for binary searches.
func sortedBy(spans []span, key func(span) uint64) (order []int32, keys []uint64) {
	order = make([]int32, len(spans))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return cmp.Compare(key(spans[a]), key(spans[b])) })
	keys = make([]uint64, len(spans))
	pos := make([]int32, len(spans))
	for p, i := range order {
		keys[p] = key(spans[i])
		pos[i] = int32(p)
	}
	return pos, keys
}

// acceptExclusive decides, in file order, which spans a Breakpad RangeMap
// keeps: a span is refused if it overlaps any span kept before it.
func acceptExclusive(spans []span) []bool {
	keep := make([]bool, len(spans))
	if len(spans) == 0 {
		return keep
	}
	pos, starts := sortedBy(spans, func(s span) uint64 { return s.start })
	// Kept spans are disjoint, so an overlap exists iff the greatest end
	// among kept spans starting at or before last reaches start.
	ends := newSegTree(len(spans))
	for i, s := range spans {
		hi := sort.Search(len(starts), func(p int) bool { return starts[p] > s.last })
		if m := ends.max(0, hi); m != 0 && m-1 >= s.start {
			continue
		}
		keep[i] = true
		ends.raise(int(pos[i]), s.last+1)
	}
	return keep
}

// acceptLaminar decides, in file order, which spans a Breakpad
// ContainedRangeMap keeps: a span is refused if a span kept before it equals
// it or partially overlaps it (overlaps without one containing the other).
func acceptLaminar(spans []span) []bool {
	keep := make([]bool, len(spans))
	if len(spans) == 0 {
		return keep
	}
	startPos, starts := sortedBy(spans, func(s span) uint64 { return s.start })
	endPos, ends := sortedBy(spans, func(s span) uint64 { return s.last })
	// maxEndByStart: kept spans' last+1 by start position.
	// minStartByEnd: kept spans' start, complemented so that max finds the
	// minimum, by end position.
	maxEndByStart := newSegTree(len(spans))
	minStartByEnd := newSegTree(len(spans))
	// Equal spans are refused after the first kept one: number the groups of
	// equal spans and remember which groups have a kept member.
	group := make([]int32, len(spans))
	{
		order := make([]int32, len(spans))
		for i := range order {
			order[i] = int32(i)
		}
		slices.SortFunc(order, func(a, b int32) int {
			x, y := spans[a], spans[b]
			return cmp.Or(cmp.Compare(x.start, y.start), cmp.Compare(x.last, y.last))
		})
		g := int32(0)
		for p, i := range order {
			if p > 0 && spans[order[p-1]] != spans[i] {
				g++
			}
			group[i] = g
		}
	}
	groupKept := make([]bool, len(spans))
	for i, s := range spans {
		if groupKept[group[i]] {
			continue
		}
		// A kept span I with I.start < s.start <= I.last < s.last.
		lo := sort.Search(len(ends), func(p int) bool { return ends[p] >= s.start })
		hi := sort.Search(len(ends), func(p int) bool { return ends[p] >= s.last })
		if m := minStartByEnd.max(lo, hi); m != 0 && math.MaxUint64-m < s.start {
			continue
		}
		// A kept span I with s.start < I.start <= s.last < I.last.
		lo = sort.Search(len(starts), func(p int) bool { return starts[p] > s.start })
		hi = sort.Search(len(starts), func(p int) bool { return starts[p] > s.last })
		if m := maxEndByStart.max(lo, hi); m != 0 && m-1 > s.last {
			continue
		}
		keep[i] = true
		groupKept[group[i]] = true
		maxEndByStart.raise(int(startPos[i]), s.last+1)
		minStartByEnd.raise(int(endPos[i]), math.MaxUint64-s.start)
	}
	return keep
}

// choose returns which of n records a Breakpad range map keeps, given each
// record's rva and size, and how many it refuses. Empty ranges and ranges
// reaching the top of the address space are refused first.
func choose(n int, rng func(i int) (rva, size uint64), laminar bool) (keep []bool, dropped int) {
	spans := make([]span, 0, n)
	idx := make([]int32, 0, n)
	for i := 0; i < n; i++ {
		rva, size := rng(i)
		if !validRange(rva, size) {
			continue
		}
		spans = append(spans, span{rva, rva + size - 1})
		idx = append(idx, int32(i))
	}
	// Fast path: address-sorted disjoint ranges, the usual case for FUNC,
	// line and CFI records, are all kept whatever the map's kind.
	disjoint := true
	for j := 1; j < len(spans) && disjoint; j++ {
		disjoint = spans[j].start > spans[j-1].last
	}
	var k []bool
	if disjoint {
		keep = make([]bool, n)
		for _, i := range idx {
			keep[i] = true
		}
		return keep, n - len(idx)
	}
	if laminar {
		k = acceptLaminar(spans)
	} else {
		k = acceptExclusive(spans)
	}
	keep = make([]bool, n)
	kept := 0
	for j, ok := range k {
		if ok {
			keep[idx[j]] = true
			kept++
		}
	}
	return keep, n - kept
}

// validRange reports whether a range map accepts [rva, rva+size): Breakpad
// refuses empty and wrapping ranges. A range ending at the very top of the
// address space is refused too, which no real module has.
func validRange(rva, size uint64) bool {
	return size > 0 && rva+size > rva
}

package store

import (
	"context"
	"database/sql"
	"errors"
	"sort"
	"strings"
	"time"
)

// Filtered trends and groups read the rollups of migration 00013
// (filter_rollup, filter_sig_rollup, filter_groups) summed over the keys a
// search filter matched, so their cost follows the number of keys and days,
// not of matching crashes. They answer one filter that is not broad, and
// trends on the crash clock; two filters (an intersection), a broad one or
// the upload clock read the crashes (trendsScan, crashGroupsScan), which
// stay as the reference the tests compare with.

// rollupFilter is the one filter the rollups answer, if q has exactly one.
func rollupFilter(ms []matched) (matched, bool) {
	if len(ms) != 1 || ms[0].broad || len(ms[0].keys) == 0 {
		return matched{}, false
	}
	return ms[0], true
}

// ownRollup says whether crash_rollup holds a filter dimension's totals.
func ownRollup(fdim string) bool {
	return fdim == DimSignature || fdim == DimModule || fdim == DimVersion
}

// filterDays calls fn for each (key of dim, day) in [from, until) with
// crashes that match m on clock c. dim is "all" (key ""), DimType,
// DimModule, DimOS, DimVersion or the filter's own dimension; not
// DimSignature for another filter (filter_sig_rollup: sigDays).
func (s *SQLite) filterDays(ctx context.Context, c Clock, m matched, dim string, from, until int64,
	fn func(key string, day int64, n int)) error {
	fdim := fieldDims[m.Field].dim
	for _, k := range m.keys {
		var rows *sql.Rows
		var err error
		switch {
		case dim == fdim || (dim == "all" && ownRollup(fdim)):
			rows, err = s.r.QueryContext(ctx, `SELECT key, day, n FROM crash_rollup WHERE dim = ? AND key = ?
				AND day >= ? AND day < ?`, rollupDim(c, fdim), k, from, until)
		default:
			rows, err = s.r.QueryContext(ctx, `SELECT key, day, n FROM filter_rollup WHERE fdim = ? AND fkey = ?
				AND dim = ? AND day >= ? AND day < ?`, rollupDim(c, fdim), k, dim, from, until)
		}
		if err != nil {
			return err
		}
		for rows.Next() {
			var key string
			var d int64
			var n int
			if err := rows.Scan(&key, &d, &n); err != nil {
				rows.Close()
				return err
			}
			if dim == "all" {
				key = ""
			}
			fn(key, d, n)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// sigDays calls fn for each day in [from, until) with crashes of signature
// sig that match m on clock c.
func (s *SQLite) sigDays(ctx context.Context, c Clock, m matched, sig string, from, until int64, fn func(day int64, n int)) error {
	fdim := fieldDims[m.Field].dim
	var queries [][]any
	if fdim == DimSignature {
		// The filter's own keys: the signature's crash_rollup rows.
		queries = append(queries, []any{`SELECT day, n FROM crash_rollup WHERE dim = ? AND key = ? AND day >= ? AND day < ?`,
			rollupDim(c, fdim), sig, from, until})
	} else {
		for _, k := range m.keys {
			queries = append(queries, []any{`SELECT day, n FROM filter_sig_rollup WHERE fdim = ? AND fkey = ? AND sig = ?
				AND day >= ? AND day < ?`, rollupDim(c, fdim), k, sig, from, until})
		}
	}
	for _, q := range queries {
		rows, err := s.r.QueryContext(ctx, q[0].(string), q[1:]...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var d int64
			var n int
			if err := rows.Scan(&d, &n); err != nil {
				rows.Close()
				return err
			}
			fn(d, n)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// candidate is a key with a bound on its count in any period: its count
// of all time.
type candidate struct {
	key   string
	bound int
}

// sigCandidates lists the signatures of the crashes m matches with their
// all-time counts, most first: the filter's own keys (crash_groups), one
// key's filter_groups rows as topBounded reads them, or several keys'
// rows summed.
func (s *SQLite) sigCandidates(ctx context.Context, m matched) (func() (candidate, bool, error), error) {
	fdim := fieldDims[m.Field].dim
	if fdim != DimSignature && len(m.keys) == 1 {
		return s.pagedCandidates(ctx, `SELECT key, n FROM filter_groups INDEXED BY filter_groups_by_count
			WHERE fdim = ? AND fkey = ? AND dim = ? ORDER BY n DESC, key`, fdim, m.keys[0], DimSignature), nil
	}
	var out []candidate
	if fdim == DimSignature {
		for _, k := range m.keys {
			g, err := s.group(ctx, DimSignature, k)
			if err != nil {
				return nil, err
			}
			out = append(out, candidate{k, g.Count})
		}
	} else {
		sum := map[string]int{}
		for _, k := range m.keys {
			rows, err := s.r.QueryContext(ctx, `SELECT key, n FROM filter_groups WHERE fdim = ? AND fkey = ? AND dim = ?`,
				fdim, k, DimSignature)
			if err != nil {
				return nil, err
			}
			for rows.Next() {
				var key string
				var n int
				if err := rows.Scan(&key, &n); err != nil {
					rows.Close()
					return nil, err
				}
				sum[key] += n
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return nil, err
			}
		}
		for k, n := range sum {
			out = append(out, candidate{k, n})
		}
	}
	sortCandidates(out)
	return sliceCandidates(out), nil
}

func sortCandidates(cs []candidate) {
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].bound != cs[j].bound {
			return cs[i].bound > cs[j].bound
		}
		return cs[i].key < cs[j].key
	})
}

// topBounded returns the n keys with the most crashes in a period from
// candidates in the order of a bound on that count (their all-time count):
// it counts candidates until the next one's bound is below the n-th count,
// so a period's top signatures cost a few dozen keys' days rather than
// every signature's. count gives a key's count in the period with damaged
// crashes taken off (adj) and without (raw). The order is adj, then, when
// byRaw, raw (as topKeysWithout), then key.
func topBounded(next func() (candidate, bool, error), n int, byRaw bool,
	count func(key string) (adj, raw int, err error)) ([]Group, error) {
	type counted struct {
		Group
		raw int
	}
	var top []counted
	for {
		c, ok, err := next()
		if err != nil {
			return nil, err
		}
		if !ok || len(top) >= n && c.bound < top[n-1].Count {
			break
		}
		adj, raw, err := count(c.key)
		if err != nil {
			return nil, err
		}
		if adj <= 0 {
			continue
		}
		top = append(top, counted{Group{Key: c.key, Count: adj}, raw})
		sort.SliceStable(top, func(i, j int) bool {
			if top[i].Count != top[j].Count {
				return top[i].Count > top[j].Count
			}
			if byRaw && top[i].raw != top[j].raw {
				return top[i].raw > top[j].raw
			}
			return top[i].Key < top[j].Key
		})
		top = top[:min(len(top), n)]
	}
	out := make([]Group, len(top))
	for i, c := range top {
		out[i] = c.Group
	}
	return out, nil
}

// sliceCandidates iterates over cs.
func sliceCandidates(cs []candidate) func() (candidate, bool, error) {
	return func() (candidate, bool, error) {
		if len(cs) == 0 {
			return candidate{}, false, nil
		}
		c := cs[0]
		cs = cs[1:]
		return c, true, nil
	}
}

// damagedMatching counts the damaged crashes that match m in [from, until)
// days on clock c: by day ("all", the day as a decimal key), and by the
// other dimensions, each split into the period before mid and from it.
type damagedSplit struct {
	prev, cur damagedCounts
	prevTotal int
	byDay     map[int64]int
}

func (s *SQLite) damagedMatching(ctx context.Context, c Clock, m matched, from, mid, until int64) (damagedSplit, error) {
	out := damagedSplit{prev: damagedCounts{}, cur: damagedCounts{}, byDay: map[int64]int{}}
	for dim := range damagedCols {
		out.prev[dim], out.cur[dim] = map[string]int{}, map[string]int{}
	}
	index, dayCol := "crashes_damaged", "day"
	if c == ClockCrash {
		index, dayCol = "crashes_damaged_by_crash_at", "crash_day"
	}
	cond, args := m.cond()
	rows, err := s.r.QueryContext(ctx, `SELECT c.`+dayCol+`, c.signature, c.crash_type, c.module, c.os, c.version
		FROM crashes c INDEXED BY `+index+` WHERE c.damaged AND c.`+atCol(c)+` >= ? AND c.`+atCol(c)+` < ? AND `+cond,
		append([]any{from * dayMS, until * dayMS}, args...)...)
	if err != nil {
		return out, err
	}
	defer rows.Close()
	for rows.Next() {
		var day int64
		var k [5]string
		if err := rows.Scan(&day, &k[0], &k[1], &k[2], &k[3], &k[4]); err != nil {
			return out, err
		}
		dc := out.cur
		if day < mid {
			dc = out.prev
			out.prevTotal++
		} else {
			out.byDay[day]++
		}
		for i, dim := range []string{DimSignature, DimType, DimModule, DimOS, DimVersion} {
			dc[dim][k[i]]++
		}
	}
	return out, rows.Err()
}

// trendsRollup is Trends over the crashes one filter matches, summed from
// the rollups over its keys: the same answer as trendsScan.
func (s *SQLite) trendsRollup(ctx context.Context, q TrendQuery, t Trends, m matched, from, until int64) (Trends, error) {
	t.DamagedIncluded = q.IncludeDamaged
	prevFrom := from - int64(q.Days)
	dmg, err := s.damagedMatching(ctx, q.Clock, m, prevFrom, from, until)
	if err != nil {
		return t, err
	}
	for _, n := range dmg.byDay {
		t.Damaged += n
	}
	if q.IncludeDamaged {
		dmg = damagedSplit{prev: damagedCounts{}, cur: damagedCounts{}, byDay: map[int64]int{}}
	}
	if err := s.filterDays(ctx, q.Clock, m, "all", prevFrom, until, func(_ string, d int64, n int) {
		if d < from {
			t.PrevTotal += n
		} else {
			t.Daily[d-from] += n
			t.Total += n
		}
	}); err != nil {
		return t, err
	}
	t.PrevTotal -= dmg.prevTotal
	for d, n := range dmg.byDay {
		t.Daily[d-from] -= n
		t.Total -= n
	}
	// Top signatures: each candidate's days of both periods, kept for the
	// chart and the previous counts.
	cands, err := s.sigCandidates(ctx, m)
	if err != nil {
		return t, err
	}
	days, prev := map[string][]int{}, map[string]int{}
	top, err := topBounded(cands, max(q.Top, 15), false, func(sig string) (int, int, error) {
		cur := make([]int, q.Days)
		total, p := 0, 0
		err := s.sigDays(ctx, q.Clock, m, sig, prevFrom, until, func(d int64, n int) {
			if d < from {
				p += n
			} else {
				cur[d-from] += n
				total += n
			}
		})
		days[sig], prev[sig] = cur, p-dmg.prev[DimSignature][sig]
		return total - dmg.cur[DimSignature][sig], total, err
	})
	if err != nil {
		return t, err
	}
	for _, g := range top {
		t.TopCrashers = append(t.TopCrashers, Crasher{Key: g.Key, Count: g.Count, Prev: prev[g.Key]})
	}
	if len(top) > 0 {
		// Damaged crashes by signature and day, to take off the chart.
		sigDmg := map[string]map[int64]int{}
		if len(dmg.cur[DimSignature]) > 0 {
			cond, args := m.cond()
			index, dayCol := "crashes_damaged", "day"
			if q.Clock == ClockCrash {
				index, dayCol = "crashes_damaged_by_crash_at", "crash_day"
			}
			rows, err := s.r.QueryContext(ctx, `SELECT c.`+dayCol+`, c.signature FROM crashes c INDEXED BY `+index+`
				WHERE c.damaged AND c.`+atCol(q.Clock)+` >= ? AND c.`+atCol(q.Clock)+` < ? AND `+cond,
				append([]any{from * dayMS, until * dayMS}, args...)...)
			if err != nil {
				return t, err
			}
			for rows.Next() {
				var d int64
				var sig string
				if err := rows.Scan(&d, &sig); err != nil {
					rows.Close()
					return t, err
				}
				if sigDmg[sig] == nil {
					sigDmg[sig] = map[int64]int{}
				}
				sigDmg[sig][d]++
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return t, err
			}
		}
		other := Series{Key: "other", Counts: append([]int(nil), t.Daily...), Total: t.Total}
		for _, g := range top[:min(q.Top, len(top))] {
			counts := days[g.Key]
			for d, n := range sigDmg[g.Key] {
				counts[d-from] -= n
			}
			t.Stacked = append(t.Stacked, Series{Key: g.Key, Counts: counts, Total: g.Count})
			for i, n := range counts {
				other.Counts[i] -= n
			}
			other.Total -= g.Count
		}
		if other.Total > 0 {
			t.Stacked = append(t.Stacked, other)
		}
	}
	for _, b := range []struct {
		dim string
		dst *[]Group
	}{{DimType, &t.ByType}, {DimModule, &t.ByModule}, {DimOS, &t.ByOS}, {DimVersion, &t.ByVersion}} {
		counts := map[string]int{}
		if err := s.filterDays(ctx, q.Clock, m, b.dim, from, until, func(k string, _ int64, n int) {
			counts[k] += n
		}); err != nil {
			return t, err
		}
		for k, n := range dmg.cur[b.dim] {
			counts[k] -= n
		}
		for k, n := range counts {
			if n <= 0 {
				delete(counts, k)
			}
		}
		*b.dst = topOf(counts, 10)
	}
	return s.oomMatching(ctx, q, t, m, from, until)
}

// oomMatching fills in the period's out-of-memory points that match m
// (oomPoints), counted from filter_rollup's 'oom' days less the damaged
// ones. Only trendsRollup calls it: the crash clock.
func (s *SQLite) oomMatching(ctx context.Context, q TrendQuery, t Trends, m matched, from, until int64) (Trends, error) {
	t.OOMCount = 0
	if err := s.filterDays(ctx, q.Clock, m, "oom", from, until, func(_ string, _ int64, n int) { t.OOMCount += n }); err != nil {
		return t, err
	}
	mc, margs := m.cond()
	if !q.IncludeDamaged {
		var dmg int
		if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM crashes c INDEXED BY crashes_damaged_by_crash_at
			WHERE c.damaged AND c.oom AND c.crash_at >= ? AND c.crash_at < ? AND `+mc,
			append([]any{from * dayMS, until * dayMS}, margs...)...).Scan(&dmg); err != nil {
			return t, err
		}
		t.OOMCount -= dmg
	}
	var err error
	t.OOM, err = s.oomPoints(ctx, q.Clock, `(? != 0 OR NOT c.damaged) AND `+mc, append([]any{q.IncludeDamaged}, margs...),
		from, until, t.OOMCount)
	return t, err
}

// groupsRollup is crashGroupsScan for signatures or faulting modules of the
// crashes one filter matches, from filter_groups.
func (s *SQLite) groupsRollup(ctx context.Context, q GroupQuery, m matched, limit int) (GroupPage, error) {
	fdim := fieldDims[m.Field].dim
	cond, args := `fdim = ? AND dim = ?`, []any{fdim, q.Dim}
	if q.Search != "" {
		cond += ` AND key LIKE ? ESCAPE '\'`
		args = append(args, likeEscape(q.Search))
	}
	if len(m.keys) == 1 {
		c := cond + ` AND fkey = ?`
		a := append(append([]any(nil), args...), m.keys[0])
		var page GroupPage
		if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM filter_groups WHERE `+c, a...).Scan(&page.Total); err != nil {
			return page, err
		}
		var err error
		page.Groups, err = scanGroups(s.r.QueryContext(ctx, `SELECT key, n, first_at, last_at FROM filter_groups
			INDEXED BY filter_groups_by_count WHERE `+c+` ORDER BY n DESC, key LIMIT ? OFFSET ?`,
			append(a, limit, max(q.Offset, 0))...))
		if page.Groups == nil && page.Total > 0 {
			page.Groups = []Group{} // as crashGroupsScan past the last page
		}
		page.More = q.Offset+len(page.Groups) < page.Total
		return page, err
	}
	byKey := map[string]*Group{}
	for _, k := range m.keys {
		gs, err := scanGroups(s.r.QueryContext(ctx, `SELECT key, n, first_at, last_at FROM filter_groups WHERE `+cond+
			` AND fkey = ?`, append(append([]any(nil), args...), k)...))
		if err != nil {
			return GroupPage{}, err
		}
		for _, g := range gs {
			if a := byKey[g.Key]; a != nil {
				a.Count += g.Count
				a.FirstSeen = minTime(a.FirstSeen, g.FirstSeen)
				a.LastSeen = maxTime(a.LastSeen, g.LastSeen)
			} else {
				g := g
				byKey[g.Key] = &g
			}
		}
	}
	var all []Group
	for _, g := range byKey {
		all = append(all, *g)
	}
	return pageGroups(all, q.Offset, limit), nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// pageGroups sorts groups by count then key and returns one page.
func pageGroups(all []Group, offset, limit int) GroupPage {
	sort.Slice(all, func(i, j int) bool {
		if all[i].Count != all[j].Count {
			return all[i].Count > all[j].Count
		}
		return all[i].Key < all[j].Key
	})
	page := GroupPage{Total: len(all)}
	off := min(max(offset, 0), len(all))
	page.Groups = all[off:min(off+limit, len(all))]
	page.More = off+len(page.Groups) < page.Total
	return page
}

// rollupGroupDims are the dimensions filter_groups counts.
func rollupGroupDim(dim string) bool { return dim == DimSignature || dim == DimModule }

// candidatePage is how many candidates pagedCandidates reads at a time.
const candidatePage = 64

// pagedCandidates reads the candidates (key, bound) that query (ordered by
// bound, most first, then key) selects with args, a page at a time as
// topBounded asks for them: the top few rarely need more than one page.
// No query stays open while another runs (the reader pool may be one
// connection).
func (s *SQLite) pagedCandidates(ctx context.Context, query string, args ...any) func() (candidate, bool, error) {
	var page []candidate
	offset := 0
	return func() (candidate, bool, error) {
		if len(page) == 0 {
			rows, err := s.r.QueryContext(ctx, query+` LIMIT ? OFFSET ?`, append(args, candidatePage, offset)...)
			if err != nil {
				return candidate{}, false, err
			}
			for rows.Next() {
				var c candidate
				if err := rows.Scan(&c.key, &c.bound); err != nil {
					rows.Close()
					return c, false, err
				}
				page = append(page, c)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return candidate{}, false, err
			}
			offset += len(page)
		}
		if len(page) == 0 {
			return candidate{}, false, nil
		}
		c := page[0]
		page = page[1:]
		return c, true, nil
	}
}

// topSigs is topKeysWithout for signatures: the candidates are
// crash_groups' signatures, most crashes of all time first, each counted
// from its crash_rollup days (topBounded).
func (s *SQLite) topSigs(ctx context.Context, dim string, from, until int64, limit int, dmg map[string]int) ([]Group, error) {
	next := s.pagedCandidates(ctx, `SELECT key, n FROM crash_groups INDEXED BY crash_groups_by_count
		WHERE dim = ? ORDER BY n DESC, key`, DimSignature)
	return topBounded(next, limit, true, func(sig string) (int, int, error) {
		var raw int
		err := s.r.QueryRowContext(ctx, `SELECT coalesce(sum(n), 0) FROM crash_rollup WHERE dim = ? AND key = ?
			AND day >= ? AND day < ?`, dim, sig, from, until).Scan(&raw)
		return raw - dmg[sig], raw, err
	})
}

// maxDisjointKeys bounds the keys of a filter disjoint looks up.
const maxDisjointKeys = 20

// disjoint says whether two of the filters select no crash in common, by the
// filter rollups' pairs of all time: two filters that exclude each other
// (a version of one product and another product's process) would otherwise
// walk every crash of the narrower one and keep none.
func (s *SQLite) disjoint(ctx context.Context, ms []matched) (bool, error) {
	if s.scanOnly {
		return false, nil
	}
	for _, a := range ms {
		for _, b := range ms {
			fa, fb := fieldDims[a.Field].dim, fieldDims[b.Field].dim
			if fa == fb || a.broad || b.broad || len(a.keys) > maxDisjointKeys || len(b.keys) > maxDisjointKeys {
				continue
			}
			var query, fdim string
			switch fb {
			case DimModule, DimVersion:
				query, fdim = `SELECT 1 FROM filter_rollup WHERE fdim = ? AND fkey = ? AND dim = ? AND key IN (`, "crash:"+fa
			case DimSignature:
				query, fdim = `SELECT 1 FROM filter_groups WHERE fdim = ? AND fkey = ? AND dim = ? AND key IN (`, fa
			default:
				continue
			}
			query += strings.TrimSuffix(strings.Repeat("?, ", len(b.keys)), ", ") + `) LIMIT 1`
			found := false
			for _, k := range a.keys {
				args := []any{fdim, k, fb}
				for _, bk := range b.keys {
					args = append(args, bk)
				}
				var one int
				err := s.r.QueryRowContext(ctx, query, args...).Scan(&one)
				if err == nil {
					found = true
					break
				}
				if !errors.Is(err, sql.ErrNoRows) {
					return false, err
				}
			}
			if !found {
				return true, nil
			}
		}
	}
	return false, nil
}

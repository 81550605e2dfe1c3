package store

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// A module's history by version reads module_versions, module_rollup and
// module_dumps (migrations/00011_module_history.sql), which triggers keep
// in step with crashes and frames.

// How a module took part in a crash (module_dumps.kind).
const (
	KindFaulting = "faulting" // the exception's module
	KindStack    = "stack"    // on the crashing thread's stack
)

// ModuleVersion is one version of a module and its crashes.
type ModuleVersion struct {
	Version   string // "" when the dump had none
	Faulting  int
	OnStack   int
	FirstSeen time.Time
	LastSeen  time.Time
}

// ModuleInfoQuery selects what a module page shows.
type ModuleInfoQuery struct {
	Name    string
	Days    int    // chart period in days, default 90, at most MaxModuleDays
	Chart   string // KindStack or KindFaulting; default stack, or faulting when never on a stack
	Top     int    // versions charted by name, default 6; the rest is "other"
	Version string // only dumps of this version in the lists
	Limit   int    // dumps per list, default 20, at most 100
	// Offsets of the two dump lists, at most MaxModuleOffset.
	FaultingOffset, StackOffset int
}

// Bounds of a ModuleInfoQuery.
const (
	MaxModuleDays     = 366
	MaxModuleOffset   = 10_000
	maxModuleVersions = 200 // versions listed on a module page
	listedVersions    = 3   // versions listed per module on the modules page
	maxChartVersions  = 8   // series a chart's colours tell apart, besides "other"
)

// ModuleChart is a module's crashes per version per day.
type ModuleChart struct {
	Kind   string      // what it counts: KindStack or KindFaulting
	Days   []time.Time // whole UTC days, oldest first
	Series []Series    // the top versions, then "other"
	Daily  []int       // all versions
}

// ModuleDump is a dump and the module's version in it.
type ModuleDump struct {
	Dump
	ModuleVersion string
}

// ModuleDumps is one page of the dumps a module faulted in or was on the
// stack of, newest first.
type ModuleDumps struct {
	Dumps  []ModuleDump
	Offset int
	More   bool
}

// ModuleInfo is one module's crash history.
type ModuleInfo struct {
	ModuleStat    // Versions: every version, most crashes first, at most maxModuleVersions
	FirstSeen     time.Time
	Signatures    []Group // signatures of the crashes it was the faulting module of
	Chart         ModuleChart
	Query         ModuleInfoQuery // as run, defaults filled in
	FaultingDumps ModuleDumps
	StackDumps    ModuleDumps
}

func (q *ModuleInfoQuery) check() error {
	if err := checkSearch(q.Name); err != nil {
		return err
	}
	if err := checkSearch(q.Version); err != nil {
		return err
	}
	switch q.Chart {
	case "", KindStack, KindFaulting:
	default:
		return fmt.Errorf("%w: chart %q is not stack or faulting", ErrBadRequest, q.Chart)
	}
	if q.Days < 0 || q.Days > MaxModuleDays {
		return fmt.Errorf("%w: days %d is not 1 to %d", ErrBadRequest, q.Days, MaxModuleDays)
	}
	for _, o := range []int{q.FaultingOffset, q.StackOffset} {
		if o < 0 || o > MaxModuleOffset {
			return fmt.Errorf("%w: offset %d is not 0 to %d", ErrBadRequest, o, MaxModuleOffset)
		}
	}
	if q.Days == 0 {
		q.Days = 90
	}
	if q.Top <= 0 {
		q.Top = 6
	}
	q.Top = min(q.Top, maxChartVersions)
	if q.Limit <= 0 {
		q.Limit = 20
	}
	q.Limit = min(q.Limit, 100)
	q.Name = strings.ToLower(q.Name)
	return nil
}

// ModuleInfo implements Dashboard.
func (s *SQLite) ModuleInfo(ctx context.Context, q ModuleInfoQuery) (_ ModuleInfo, err error) {
	defer wrap(&err, "ModuleInfo(%q)", q.Name)
	if err := q.check(); err != nil {
		return ModuleInfo{}, err
	}
	mi := ModuleInfo{ModuleStat: ModuleStat{Name: q.Name}}
	var first, last, nv, fault, stack int64
	if err := s.r.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(faulting), 0), coalesce(sum(stack), 0),
		coalesce(min(first_at), 0), coalesce(max(last_at), 0) FROM module_versions WHERE module = ?`, q.Name).
		Scan(&nv, &fault, &stack, &first, &last); err != nil {
		return mi, err
	}
	if nv == 0 {
		return mi, ErrNotFound
	}
	mi.VersionCount, mi.Faulting, mi.OnStack = int(nv), int(fault), int(stack)
	mi.FirstSeen, mi.LastSeen = fromMS(first), fromMS(last)
	if q.Chart == "" {
		q.Chart = KindStack
		if mi.OnStack == 0 {
			q.Chart = KindFaulting
		}
	}
	mi.Query = q
	vs, err := s.moduleVersions(ctx, []string{q.Name}, maxModuleVersions)
	if err != nil {
		return mi, err
	}
	mi.Versions = vs[q.Name]
	if mi.Signatures, err = s.pairs(ctx, "mod.sig", q.Name, 30); err != nil {
		return mi, err
	}
	if mi.Chart, err = s.moduleChart(ctx, q); err != nil {
		return mi, err
	}
	if mi.FaultingDumps, err = s.moduleDumps(ctx, q, KindFaulting, q.FaultingOffset); err != nil {
		return mi, err
	}
	mi.StackDumps, err = s.moduleDumps(ctx, q, KindStack, q.StackOffset)
	return mi, err
}

// moduleVersions returns up to limit versions of each module, most crashes
// first, and sets nothing for modules without any.
func (s *SQLite) moduleVersions(ctx context.Context, modules []string, limit int) (map[string][]ModuleVersion, error) {
	out := map[string][]ModuleVersion{}
	if len(modules) == 0 {
		return out, nil
	}
	args := make([]any, 0, len(modules)+1)
	for _, m := range modules {
		args = append(args, m)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT module, version, faulting, stack, first_at, last_at FROM (
		SELECT module, version, faulting, stack, first_at, last_at,
			row_number() OVER (PARTITION BY module ORDER BY stack DESC, faulting DESC, version) AS r
		FROM module_versions WHERE module IN (?`+strings.Repeat(", ?", len(modules)-1)+`)) x
		WHERE r <= ? ORDER BY module, r`, append(args, limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var m string
		var v ModuleVersion
		var first, last int64
		if err := rows.Scan(&m, &v.Version, &v.Faulting, &v.OnStack, &first, &last); err != nil {
			return nil, err
		}
		v.FirstSeen, v.LastSeen = fromMS(first), fromMS(last)
		out[m] = append(out[m], v)
	}
	return out, rows.Err()
}

// versionCounts returns how many versions each module has.
func (s *SQLite) versionCounts(ctx context.Context, modules []string) (map[string]int, error) {
	out := map[string]int{}
	if len(modules) == 0 {
		return out, nil
	}
	args := make([]any, len(modules))
	for i, m := range modules {
		args[i] = m
	}
	rows, err := s.r.QueryContext(ctx, `SELECT module, count(*) FROM module_versions
		WHERE module IN (?`+strings.Repeat(", ?", len(modules)-1)+`) GROUP BY module`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var m string
		var n int
		if err := rows.Scan(&m, &n); err != nil {
			return nil, err
		}
		out[m] = n
	}
	return out, rows.Err()
}

// addVersions fills in the top versions of each module of a page.
func (s *SQLite) addVersions(ctx context.Context, mods []ModuleStat) error {
	names := make([]string, len(mods))
	for i, m := range mods {
		names[i] = m.Name
	}
	vs, err := s.moduleVersions(ctx, names, listedVersions)
	if err != nil {
		return err
	}
	ns, err := s.versionCounts(ctx, names)
	if err != nil {
		return err
	}
	for i := range mods {
		mods[i].Versions, mods[i].VersionCount = vs[mods[i].Name], ns[mods[i].Name]
	}
	return nil
}

// moduleChart reads the module's rollup rows of the period: versions times
// days at most.
func (s *SQLite) moduleChart(ctx context.Context, q ModuleInfoQuery) (ModuleChart, error) {
	until := dayOf(s.now()) + 1
	from := until - int64(q.Days)
	c := ModuleChart{Kind: q.Chart, Daily: make([]int, q.Days)}
	for d := from; d < until; d++ {
		c.Days = append(c.Days, dayTime(d))
	}
	rows, err := s.r.QueryContext(ctx, `SELECT day, version, `+q.Chart+` FROM module_rollup
		WHERE module = ? AND day >= ? AND day < ? AND `+q.Chart+` > 0`, q.Name, from, until)
	if err != nil {
		return c, err
	}
	defer rows.Close()
	byVersion := map[string][]int{}
	totals := map[string]int{}
	for rows.Next() {
		var day int64
		var v string
		var n int
		if err := rows.Scan(&day, &v, &n); err != nil {
			return c, err
		}
		counts := byVersion[v]
		if counts == nil {
			counts = make([]int, q.Days)
			byVersion[v] = counts
		}
		counts[day-from] += n
		c.Daily[day-from] += n
		totals[v] += n
	}
	if err := rows.Err(); err != nil {
		return c, err
	}
	versions := make([]string, 0, len(totals))
	for v := range totals {
		versions = append(versions, v)
	}
	sort.Slice(versions, func(i, j int) bool {
		if totals[versions[i]] != totals[versions[j]] {
			return totals[versions[i]] > totals[versions[j]]
		}
		return versions[i] > versions[j] // newer-looking versions first among equals
	})
	// With one version more than the top, that version is its own series
	// rather than an "other" of one.
	top := q.Top
	if len(versions) == top+1 {
		top++
	}
	other := Series{Key: "other", Counts: make([]int, q.Days)}
	for i, v := range versions {
		if i < top {
			c.Series = append(c.Series, Series{Key: v, Counts: byVersion[v], Total: totals[v]})
			continue
		}
		for d, n := range byVersion[v] {
			other.Counts[d] += n
		}
		other.Total += totals[v]
	}
	if other.Total > 0 {
		c.Series = append(c.Series, other)
	}
	return c, nil
}

// moduleDumps lists a page of the dumps the module took part in as kind,
// newest first, through module_dumps' (module, kind[, version], at) indexes.
func (s *SQLite) moduleDumps(ctx context.Context, q ModuleInfoQuery, kind string, offset int) (ModuleDumps, error) {
	page := ModuleDumps{Offset: offset}
	cond, args := `md.module = ? AND md.kind = ?`, []any{q.Name, kind}
	if q.Version != "" {
		cond += ` AND md.version = ?`
		args = append(args, q.Version)
	}
	// The offset is walked in the index alone: a joined row skipped by
	// OFFSET is still read, and an analyses row's columns sit past its report.
	rows, err := s.r.QueryContext(ctx, `SELECT `+dumpCols+`, v.version FROM (SELECT md.dump_id, md.at FROM module_dumps md
		WHERE `+cond+` ORDER BY md.at DESC, md.dump_id DESC LIMIT ? OFFSET ?) p
		JOIN module_dumps v ON v.module = ? AND v.kind = ? AND v.dump_id = p.dump_id
		JOIN dumps d ON d.id = p.dump_id LEFT JOIN analyses a ON a.dump_id = p.dump_id
		ORDER BY p.at DESC, p.dump_id DESC`, append(args, q.Limit+1, offset, q.Name, kind)...)
	if err != nil {
		return page, err
	}
	defer rows.Close()
	for rows.Next() {
		var md ModuleDump
		if md.Dump, err = scanDump(rows, nil, &md.ModuleVersion); err != nil {
			return page, err
		}
		page.Dumps = append(page.Dumps, md)
	}
	if len(page.Dumps) > q.Limit {
		page.Dumps, page.More = page.Dumps[:q.Limit], true
	}
	return page, rows.Err()
}

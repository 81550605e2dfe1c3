package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The dashboard's queries read the crashes, crash_rollup and crash_groups
// tables (migrations/00002_dashboard.sql), which triggers keep in step with
// analyses, so each page reads a few hundred rows at most.

// Dashboard is what the dashboard pages read beyond the Index.
type Dashboard interface {
	// SearchDumps lists dumps newest first, like ListDumps, with the
	// product version filter.
	SearchDumps(ctx context.Context, q SearchQuery) (DumpPage, error)
	// Groups lists the keys of one dimension by crash count.
	Groups(ctx context.Context, q GroupQuery) (GroupPage, error)
	SignatureInfo(ctx context.Context, signature string) (SignatureInfo, error)
	ModuleStats(ctx context.Context, q ModuleQuery) (ModulePage, error)
	ModuleInfo(ctx context.Context, q ModuleInfoQuery) (ModuleInfo, error)
	Trends(ctx context.Context, q TrendQuery) (Trends, error)
	// History is one key's crashes per day on a clock.
	History(ctx context.Context, q HistoryQuery) ([]DayCount, error)
	// Facets lists the most common values of each filter, for suggestions.
	Facets(ctx context.Context) (Facets, error)
}

// DashboardIndex is an Index with the dashboard's queries.
type DashboardIndex interface {
	Index
	Dashboard
}

// Dimensions of crash_groups and crash_rollup.
const (
	DimSignature = "sig"
	DimType      = "type"
	DimModule    = "module" // faulting module, lower case
	DimOS        = "os"
	DimVersion   = "version" // the process's version
	DimProcess   = "process"
	DimStack     = "stack" // a module anywhere on the crashing stack
	DimProduct   = "product"
)

// Clock is the time a crash counts at in trends and histories.
type Clock string

const (
	// ClockCrash is the dump's own clock (the minidump header's
	// TimeDateStamp) when plausible, else the upload time: the default.
	ClockCrash Clock = "crash"
	// ClockUpload is when the dump reached us.
	ClockUpload Clock = "upload"
)

// ParseClock reads a clock name; "" is ClockCrash.
func ParseClock(s string) (Clock, error) {
	switch Clock(s) {
	case "", ClockCrash:
		return ClockCrash, nil
	case ClockUpload:
		return ClockUpload, nil
	}
	return "", fmt.Errorf("%w: clock %q is not crash or upload", ErrBadRequest, s)
}

// rollupDim is dim's name in crash_rollup on clock c: the crash clock's
// rows are the same dimensions prefixed "crash:" (migration 00010).
func rollupDim(c Clock, dim string) string {
	if c == ClockUpload {
		return dim
	}
	return "crash:" + dim
}

// atCol is the crashes column of clock c, in Unix ms.
func atCol(c Clock) string {
	if c == ClockUpload {
		return "at"
	}
	return "crash_at"
}

// keySep joins the two values of a pair dimension (sig.version ...).
const keySep = "\x1f"

// Group is one key of a dimension and its crashes.
type Group struct {
	Key       string
	Count     int
	FirstSeen time.Time
	LastSeen  time.Time
}

// DayCount is the number of crashes on one UTC day.
type DayCount struct {
	Day   time.Time
	Count int
}

// SearchQuery is a ListQuery plus the filters only the dashboard has.
type SearchQuery struct {
	ListQuery
	Version string // the process's version
	// Matches are text filters (substring, prefix or exact), all of which
	// must match; they read the analysed dumps' crashes.
	Matches []FieldMatch
}

// GroupQuery selects keys of a dimension, most crashes first.
type GroupQuery struct {
	Dim    string
	Search string // substring of the key, ignoring case
	// Matches are text filters. One on the dimension's own field filters
	// its keys; one on another field counts the matching crashes instead.
	Matches []FieldMatch
	Limit   int // default 50, at most 500
	Offset  int
}

// GroupPage is one page of groups; Total counts every matching key.
type GroupPage struct {
	Groups []Group
	Total  int
	More   bool
}

// SignatureInfo is a crash group.
type SignatureInfo struct {
	Group
	Versions []Group // affected process versions
	OSes     []Group
	Daily    []DayCount // the last 90 days, on the crash clock
	Examples []Dump     // the newest dumps
}

// HistoryQuery selects one key's crashes per day.
type HistoryQuery struct {
	Dim   string // DimSignature, DimModule, DimType, DimOS, DimVersion or "all"
	Key   string
	Clock Clock
	Days  int // ending today; default 90, at most 3660
}

// ModuleStat is a module's crash counts.
type ModuleStat struct {
	Name     string
	Faulting int // crashes whose faulting module it is
	OnStack  int // crashes with it anywhere on the crashing stack
	LastSeen time.Time
	// Versions are its most seen versions (modules.go), VersionCount all
	// of them.
	Versions     []ModuleVersion
	VersionCount int
}

// ModuleQuery selects modules.
type ModuleQuery struct {
	Search string
	// Matches are text filters: one on FieldModule filters the names; one on
	// another field lists the faulting modules of the crashes that match,
	// Faulting counting those crashes (OnStack stays all-time).
	Matches []FieldMatch
	Sort    string // "stack" (default), "faulting" or "name"
	Limit   int
	Offset  int
}

// ModulePage is one page of modules.
type ModulePage struct {
	Modules []ModuleStat
	Total   int
	More    bool
}

// TrendQuery selects the trend period.
type TrendQuery struct {
	Days int       // period length, default 30
	Now  time.Time // default time.Now(); the period ends with its day
	Top  int       // signatures stacked in the daily chart, default 8
	// IncludeDamaged counts damaged dumps (files cut short) too; by default
	// trends leave them out, since what they say may be wrong.
	IncludeDamaged bool
	Clock          Clock // default ClockCrash
	// Matches are text filters: with any, the trends count the crashes
	// that match, read through the filters' indexes instead of the rollups.
	Matches []FieldMatch
}

// Series is one key's crashes per day, aligned with Trends.Days.
type Series struct {
	Key    string
	Counts []int
	Total  int
}

// Crasher is a top signature with its count in the previous period.
type Crasher struct {
	Key   string
	Count int
	Prev  int
}

// OOMPoint is one out-of-memory crash: what it asked for and what was left.
type OOMPoint struct {
	At          time.Time
	DumpID      string
	Signature   string
	Requested   *uint64
	LargestFree *uint64
}

// Trends is the trends page.
type Trends struct {
	From, Until time.Time // [From, Until), whole UTC days
	Days        []time.Time
	Total       int
	PrevTotal   int
	Daily       []int    // all crashes per day
	Stacked     []Series // the top signatures per day, then "other"
	TopCrashers []Crasher
	ByType      []Group
	ByModule    []Group
	ByOS        []Group
	ByVersion   []Group
	OOM         []OOMPoint
	OOMCount    int
	// Damaged counts the period's damaged dumps, left out unless the query
	// asked for them (DamagedIncluded).
	Damaged         int
	DamagedIncluded bool
	Clock           Clock
}

// Facets are the most common values of each filter.
type Facets struct {
	Types, Modules, OSes, Versions, Processes []string
}

const dayMS = 24 * 60 * 60 * 1000

func dayOf(t time.Time) int64 { return t.UnixMilli() / dayMS }

func dayTime(d int64) time.Time { return time.UnixMilli(d * dayMS).UTC() }

// SearchDumps implements Dashboard. With a filter on the analysis it walks
// the crashes table by that filter's (key, at) index, which is already in
// list order; otherwise the dumps table by upload time.
func (s *SQLite) SearchDumps(ctx context.Context, q SearchQuery) (_ DumpPage, err error) {
	defer wrap(&err, "SearchDumps")
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 500)
	var where []string
	var args []any
	add := func(cond string, a ...any) {
		where = append(where, cond)
		args = append(args, a...)
	}
	fms, none, err := s.resolveAll(ctx, q.Matches)
	if err == nil && !none {
		none, err = s.disjoint(ctx, fms)
	}
	if err != nil || none {
		return DumpPage{}, err
	}
	byCrash := q.Signature != "" || q.CrashType != "" || q.Module != "" || q.ModuleVersion != "" || q.Version != "" ||
		q.Process != "" || q.OS != "" || q.Arch != "" || q.StackOverflow != nil || len(fms) > 0
	at, id, hint := "d.uploaded_at", "d.id", ""
	from := ` FROM dumps d LEFT JOIN analyses a ON a.dump_id = d.id `
	sorts := false
	if byCrash {
		at, id = "c.at", "c.dump_id"
		hint, sorts = s.drivingIndex(ctx, q, fms)
		from = ` FROM crashes c` + hint + ` JOIN dumps d ON d.id = c.dump_id JOIN analyses a ON a.dump_id = c.dump_id `
	}
	for _, m := range fms {
		c, a := m.cond()
		add(c, a...)
	}
	if q.Cursor != "" {
		cat, cid, ok := parseCursor(q.Cursor)
		if !ok {
			return DumpPage{}, fmt.Errorf("bad cursor %q: %w", q.Cursor, ErrBadRequest)
		}
		add(`(`+at+` < ? OR (`+at+` = ? AND `+id+` < ?))`, cat, cat, cid)
	}
	if q.Status != "" {
		add(`d.status = ?`, string(q.Status))
	}
	if q.SHA256 != "" {
		add(`d.sha256 = ?`, strings.ToLower(q.SHA256))
	}
	if q.Signature != "" {
		add(`c.signature = ?`, q.Signature)
	}
	if q.CrashType != "" {
		add(`c.crash_type = ?`, q.CrashType)
	}
	if q.Module != "" {
		add(`c.module = ?`, strings.ToLower(q.Module))
	}
	if q.ModuleVersion != "" {
		add(`c.module_version = ?`, q.ModuleVersion)
	}
	if q.Version != "" {
		add(`c.version = ?`, q.Version)
	}
	if q.Process != "" {
		add(`c.process_name = ? COLLATE NOCASE`, q.Process)
	}
	if q.OS != "" {
		add(`c.os = ?`, q.OS)
	}
	if q.Arch != "" {
		add(`a.arch = ?`, q.Arch)
	}
	if q.StackOverflow != nil {
		add(`a.stack_overflow = ?`, *q.StackOverflow)
	}
	if q.HasModule != "" {
		add(`d.id IN (SELECT dump_id FROM modules WHERE name = ? COLLATE NOCASE)`, q.HasModule)
	}
	if q.Product != "" {
		add(`d.product = ?`, q.Product)
	}
	for _, kv := range q.Annotations {
		add(`d.id IN (SELECT dump_id FROM annotations WHERE key = ? AND value = ?)`, kv.Key, kv.Value)
	}
	if !q.Since.IsZero() {
		add(at+` >= ?`, ms(q.Since))
	}
	if !q.Until.IsZero() {
		add(at+` < ?`, ms(q.Until))
	}
	query := `SELECT ` + dumpCols + from
	if len(where) > 0 {
		query += `WHERE ` + strings.Join(where, ` AND `)
	}
	// The page's order as written in ORDER BY.
	orderAt := at
	if sorts && s.pg {
		// PostgreSQL has no INDEXED BY. Given few crashes of several keys,
		// its estimate can favour walking crashes_by_at newest first,
		// filtering out all but a few: 44,515 rows for 51 at 388,000 dumps
		// (85 ms). An order it can't read from that index keeps it on the
		// keys' index.
		orderAt = "(" + at + " + 0)"
	}
	query += ` ORDER BY ` + orderAt + ` DESC, ` + id + ` DESC LIMIT ?`
	onCrashes := byCrash && q.Status == "" && q.SHA256 == "" && q.Arch == "" && q.StackOverflow == nil &&
		q.HasModule == "" && q.Product == "" && len(q.Annotations) == 0
	if onCrashes && len(where) > 0 {
		// Every condition is on crashes: select and sort the page's crashes
		// first and join the dumps and analyses of those alone, rather than
		// of every candidate the sort or the filters read.
		query = `SELECT ` + dumpCols + ` FROM (SELECT c.dump_id, c.at FROM crashes c` + hint +
			` WHERE ` + strings.Join(where, ` AND `) + ` ORDER BY ` + orderAt + ` DESC, c.dump_id DESC LIMIT ?) c
			JOIN dumps d ON d.id = c.dump_id JOIN analyses a ON a.dump_id = c.dump_id ORDER BY c.at DESC, c.dump_id DESC`
	}
	args = append(args, limit+1)
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return DumpPage{}, err
	}
	defer rows.Close()
	var page DumpPage
	var lastID int64
	for rows.Next() {
		var rid int64
		d, err := scanDump(rows, &rid)
		if err != nil {
			return DumpPage{}, err
		}
		if len(page.Dumps) == limit {
			page.Next = fmt.Sprintf("%d.%d", ms(page.Dumps[limit-1].UploadedAt), lastID)
			break
		}
		page.Dumps = append(page.Dumps, d)
		lastID = rid
	}
	return page, rows.Err()
}

// drivingIndex picks the index of the filter that matches the fewest
// crashes, by the counts in crash_groups: without table statistics SQLite
// may walk a common value's index and filter out nearly every row. A text
// filter that matched several keys reads each key's rows and sorts them, so
// past sortRows it is cheaper to walk all crashes newest first and stop at
// the page's end. sorts says the index read is several keys' rows, sorted
// after.
func (s *SQLite) drivingIndex(ctx context.Context, q SearchQuery, ms []matched) (hint string, sorts bool) {
	best, bestN := "", -1
	for _, m := range ms {
		if m.broad {
			continue
		}
		idx := fieldDims[m.Field].index
		if len(m.keys) > 1 && m.total > sortRows {
			idx = "crashes_by_at"
		}
		if bestN < 0 || m.total < bestN {
			sorts = len(m.keys) > 1 && idx != "crashes_by_at"
			best, bestN = idx, m.total
		}
	}
	for _, f := range []struct{ dim, key, index string }{
		{DimSignature, q.Signature, "crashes_by_signature"},
		{DimType, q.CrashType, "crashes_by_type"},
		{DimModule, strings.ToLower(q.Module), "crashes_by_module"},
		{DimVersion, q.Version, "crashes_by_version"},
		{DimOS, q.OS, "crashes_by_os"},
		{DimProcess, q.Process, "crashes_by_process"},
	} {
		if f.key == "" {
			continue
		}
		var n int
		err := s.r.QueryRowContext(ctx, `SELECT n FROM crash_groups WHERE dim = ? AND key = ?`, f.dim, f.key).Scan(&n)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return "", false
		}
		if bestN < 0 || n < bestN {
			best, bestN, sorts = f.index, n, false
		}
	}
	if best == "" {
		return "", false
	}
	return ` INDEXED BY ` + best, sorts
}

func scanGroups(rows *sql.Rows, err error) ([]Group, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Group
	for rows.Next() {
		var g Group
		var first, last int64
		if err := rows.Scan(&g.Key, &g.Count, &first, &last); err != nil {
			return nil, err
		}
		g.FirstSeen, g.LastSeen = fromMS(first), fromMS(last)
		out = append(out, g)
	}
	return out, rows.Err()
}

// sortRows is how many crashes a search sorts at most rather than walking
// the crashes in time order.
const sortRows = 5000

// MaxSearchBytes bounds a search string. SQLite refuses LIKE patterns past
// 50,000 bytes, and no signature or module name is near this long.
const MaxSearchBytes = 1024

// checkSearch refuses a search too long to be one.
func checkSearch(s string) error {
	if len(s) > MaxSearchBytes {
		return fmt.Errorf("%w: the search is %d bytes long; at most %d", ErrBadRequest, len(s), MaxSearchBytes)
	}
	return nil
}

// likeEscape makes s a LIKE substring pattern (ESCAPE '\').
func likeEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}

// Groups implements Dashboard.
func (s *SQLite) Groups(ctx context.Context, q GroupQuery) (_ GroupPage, err error) {
	defer wrap(&err, "Groups(%s)", q.Dim)
	if err := checkSearch(q.Search); err != nil {
		return GroupPage{}, err
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 500)
	cond, args := `dim = ?`, []any{q.Dim}
	if q.Search != "" {
		cond += ` AND key LIKE ? ESCAPE '\'`
		args = append(args, likeEscape(q.Search))
	}
	for _, m := range q.Matches {
		if fieldDims[m.Field].dim != q.Dim {
			return s.crashGroups(ctx, q, limit)
		}
		if err := checkSearch(m.Text); err != nil {
			return GroupPage{}, err
		}
		if m.Mode == Exact {
			cond += ` AND key = ?`
			args = append(args, m.Text)
		} else {
			cond += ` AND lower(key) LIKE ? ESCAPE '\'`
			args = append(args, m.likePattern())
		}
	}
	var page GroupPage
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM crash_groups WHERE `+cond, args...).Scan(&page.Total); err != nil {
		return page, err
	}
	page.Groups, err = scanGroups(s.r.QueryContext(ctx, `SELECT key, n, first_at, last_at FROM crash_groups WHERE `+cond+
		` ORDER BY n DESC, key LIMIT ? OFFSET ?`, append(args, limit, max(q.Offset, 0))...))
	page.More = q.Offset+len(page.Groups) < page.Total
	return page, err
}

// groupCols are the crashes columns of the dimensions.
var groupCols = map[string]string{DimSignature: "signature", DimType: "crash_type", DimModule: "module", DimOS: "os",
	DimVersion: "version", DimProcess: "process_name", DimProduct: "product"}

// crashGroups counts the crashes that match q.Matches by q.Dim: from
// filter_groups for signatures and faulting modules with one filter
// (groupsRollup), else from the rows (crashGroupsScan).
func (s *SQLite) crashGroups(ctx context.Context, q GroupQuery, limit int) (GroupPage, error) {
	if rollupGroupDim(q.Dim) && !s.scanOnly {
		if err := checkSearch(q.Search); err != nil {
			return GroupPage{}, err
		}
		ms, none, err := s.resolveAll(ctx, q.Matches)
		if err != nil || none {
			return GroupPage{}, err
		}
		if m, ok := rollupFilter(ms); ok && fieldDims[m.Field].dim != q.Dim {
			return s.groupsRollup(ctx, q, m, limit)
		}
	}
	return s.crashGroupsScan(ctx, q, limit)
}

// crashGroupsScan counts the crashes that match q.Matches by q.Dim: the rows the
// filters select, read through the index of the one that selects fewest.
func (s *SQLite) crashGroupsScan(ctx context.Context, q GroupQuery, limit int) (GroupPage, error) {
	col, ok := groupCols[q.Dim]
	if !ok {
		return GroupPage{}, fmt.Errorf("%w: no search by %q", ErrBadRequest, q.Dim)
	}
	where, args, best, none, err := s.matchConds(ctx, q.Matches)
	if err != nil || none {
		return GroupPage{}, err
	}
	if q.Search != "" {
		where = append(where, `c.`+col+` LIKE ? ESCAPE '\'`)
		args = append(args, likeEscape(q.Search))
	}
	from := ` FROM crashes c`
	if best != "" {
		from += ` INDEXED BY ` + best
	}
	from += ` WHERE ` + strings.Join(where, ` AND `)
	// One pass: every group (at most the dimension's keys), paged here.
	all, err := scanGroups(s.r.QueryContext(ctx, `SELECT c.`+col+`, count(*), min(c.at), max(c.at)`+from+
		` GROUP BY c.`+col, args...))
	if err != nil {
		return GroupPage{}, err
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].Count != all[j].Count {
			return all[i].Count > all[j].Count
		}
		return all[i].Key < all[j].Key
	})
	page := GroupPage{Total: len(all)}
	off := min(max(q.Offset, 0), len(all))
	page.Groups = all[off:min(off+limit, len(all))]
	page.More = off+len(page.Groups) < page.Total
	return page, nil
}

// matchConds turns search filters into WHERE conditions on crashes c, and
// names the index of the narrowest filter that is not broad; none is true
// when a filter matches nothing.
func (s *SQLite) matchConds(ctx context.Context, ms []FieldMatch) (where []string, args []any, best string, none bool, err error) {
	fms, none, err := s.resolveAll(ctx, ms)
	if err == nil && !none {
		none, err = s.disjoint(ctx, fms)
	}
	if err != nil || none {
		return nil, nil, "", none, err
	}
	bestN := -1
	for _, m := range fms {
		c, a := m.cond()
		where = append(where, c)
		args = append(args, a...)
		if !m.broad && (bestN < 0 || m.total < bestN) {
			best, bestN = fieldDims[m.Field].index, m.total
		}
	}
	return where, args, best, false, nil
}

// pairs returns the second halves of a pair dimension's keys starting with first.
func (s *SQLite) pairs(ctx context.Context, dim, first string, limit int) ([]Group, error) {
	lo := first + keySep
	hi := first + "\x20" // keySep + 1
	gs, err := scanGroups(s.r.QueryContext(ctx, `SELECT key, n, first_at, last_at FROM crash_groups
		WHERE dim = ? AND key >= ? AND key < ? ORDER BY n DESC LIMIT ?`, dim, lo, hi, limit))
	for i := range gs {
		gs[i].Key = strings.TrimPrefix(gs[i].Key, lo)
	}
	return gs, err
}

func (s *SQLite) group(ctx context.Context, dim, key string) (Group, error) {
	gs, err := scanGroups(s.r.QueryContext(ctx, `SELECT key, n, first_at, last_at FROM crash_groups
		WHERE dim = ? AND key = ?`, dim, key))
	if err != nil {
		return Group{}, err
	}
	if len(gs) == 0 {
		return Group{}, ErrNotFound
	}
	return gs[0], nil
}

// daily returns a key's crashes per day over the n days ending today,
// zeros included.
func (s *SQLite) daily(ctx context.Context, dim, key string, from, until int64) ([]DayCount, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT day, n FROM crash_rollup WHERE dim = ? AND key = ? AND day >= ? AND day < ?`,
		dim, key, from, until)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]DayCount, until-from)
	for i := range out {
		out[i].Day = dayTime(from + int64(i))
	}
	for rows.Next() {
		var d int64
		var n int
		if err := rows.Scan(&d, &n); err != nil {
			return nil, err
		}
		out[d-from].Count = n
	}
	return out, rows.Err()
}

// crashDumps returns the newest dumps whose crashes column col equals v.
func (s *SQLite) crashDumps(ctx context.Context, col, v string, limit int) ([]Dump, error) {
	return s.queryDumps(ctx, `SELECT `+dumpCols+` FROM crashes c JOIN dumps d ON d.id = c.dump_id
		JOIN analyses a ON a.dump_id = c.dump_id WHERE c.`+col+` = ? ORDER BY c.at DESC, c.dump_id DESC LIMIT ?`, v, limit)
}

// SignatureInfo implements Dashboard.
func (s *SQLite) SignatureInfo(ctx context.Context, sig string) (_ SignatureInfo, err error) {
	defer wrap(&err, "SignatureInfo(%q)", sig)
	var si SignatureInfo
	if si.Group, err = s.group(ctx, DimSignature, sig); err != nil {
		return si, err
	}
	if si.Versions, err = s.pairs(ctx, "sig.version", sig, 100); err != nil {
		return si, err
	}
	if si.OSes, err = s.pairs(ctx, "sig.os", sig, 30); err != nil {
		return si, err
	}
	today := dayOf(s.now()) + 1
	if si.Daily, err = s.daily(ctx, rollupDim(ClockCrash, DimSignature), sig, today-90, today); err != nil {
		return si, err
	}
	si.Examples, err = s.crashDumps(ctx, "signature", sig, 20)
	return si, err
}

// ModuleStats implements Dashboard.
func (s *SQLite) ModuleStats(ctx context.Context, q ModuleQuery) (_ ModulePage, err error) {
	defer wrap(&err, "ModuleStats")
	if err := checkSearch(q.Search); err != nil {
		return ModulePage{}, err
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 500)
	cond, args := `st.dim = 'stack'`, []any{}
	if q.Search != "" {
		cond += ` AND st.key LIKE ? ESCAPE '\'`
		args = append(args, likeEscape(strings.ToLower(q.Search)))
	}
	for _, m := range q.Matches {
		if m.Field != FieldModule {
			return s.faultingModules(ctx, q, limit)
		}
		if err := checkSearch(m.Text); err != nil {
			return ModulePage{}, err
		}
		if m.Mode == Exact {
			cond += ` AND st.key = ?`
			args = append(args, strings.ToLower(m.Text))
		} else {
			cond += ` AND st.key LIKE ? ESCAPE '\'`
			args = append(args, m.likePattern())
		}
	}
	order := `st.n DESC, st.key`
	switch q.Sort {
	case "faulting":
		order = `coalesce(f.n, 0) DESC, st.n DESC, st.key`
	case "name":
		order = `st.key`
	}
	var page ModulePage
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM crash_groups st WHERE `+cond, args...).Scan(&page.Total); err != nil {
		return page, err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT st.key, st.n, coalesce(f.n, 0), max(st.last_at, coalesce(f.last_at, 0))
		FROM crash_groups st LEFT JOIN crash_groups f ON f.dim = 'module' AND f.key = st.key
		WHERE `+cond+` ORDER BY `+order+` LIMIT ? OFFSET ?`, append(args, limit, max(q.Offset, 0))...)
	if err != nil {
		return page, err
	}
	defer rows.Close()
	for rows.Next() {
		var m ModuleStat
		var last int64
		if err := rows.Scan(&m.Name, &m.OnStack, &m.Faulting, &last); err != nil {
			return page, err
		}
		m.LastSeen = fromMS(last)
		page.Modules = append(page.Modules, m)
	}
	if err := rows.Err(); err != nil {
		return page, err
	}
	page.More = q.Offset+len(page.Modules) < page.Total
	return page, s.addVersions(ctx, page.Modules)
}

// faultingModules lists the faulting modules of the crashes q.Matches
// selects, by how many of them each faulted in.
func (s *SQLite) faultingModules(ctx context.Context, q ModuleQuery, limit int) (ModulePage, error) {
	g, err := s.crashGroups(ctx, GroupQuery{Dim: DimModule, Search: strings.ToLower(q.Search), Matches: q.Matches,
		Offset: q.Offset}, limit)
	if err != nil {
		return ModulePage{}, err
	}
	page := ModulePage{Total: g.Total, More: g.More}
	for _, f := range g.Groups {
		m := ModuleStat{Name: f.Key, Faulting: f.Count, LastSeen: f.LastSeen}
		st, err := s.group(ctx, DimStack, f.Key)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return page, err
		}
		m.OnStack = st.Count
		page.Modules = append(page.Modules, m)
	}
	return page, s.addVersions(ctx, page.Modules)
}

// topKeys sums a dimension over the days [from, until), most crashes first.
func (s *SQLite) topKeys(ctx context.Context, dim string, from, until int64, limit int) ([]Group, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT key, sum(n) AS total FROM crash_rollup INDEXED BY crash_rollup_by_day
		WHERE dim = ? AND day >= ? AND day < ? GROUP BY key ORDER BY total DESC, key LIMIT ?`, dim, from, until, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Group
	for rows.Next() {
		var g Group
		if err := rows.Scan(&g.Key, &g.Count); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// damagedCounts counts the damaged crashes in [from, until) days by the
// crashes column of each dimension ("all" by day), read through the partial
// index crashes_damaged: damaged dumps are few.
type damagedCounts map[string]map[string]int

var damagedCols = map[string]string{"all": "day", DimSignature: "signature", DimType: "crash_type", DimModule: "module",
	DimOS: "os", DimVersion: "version"}

func (s *SQLite) damaged(ctx context.Context, c Clock, from, until int64) (damagedCounts, error) {
	out := damagedCounts{}
	index := "crashes_damaged"
	if c == ClockCrash {
		index = "crashes_damaged_by_crash_at"
	}
	for dim, col := range damagedCols {
		if dim == "all" && c == ClockCrash {
			col = "crash_day"
		}
		rows, err := s.r.QueryContext(ctx, `SELECT `+col+`, count(*) FROM crashes INDEXED BY `+index+`
			WHERE damaged AND `+atCol(c)+` >= ? AND `+atCol(c)+` < ? GROUP BY `+col, from*dayMS, until*dayMS)
		if err != nil {
			return nil, err
		}
		m := map[string]int{}
		for rows.Next() {
			var k string
			var n int
			if err := rows.Scan(&k, &n); err != nil {
				rows.Close()
				return nil, err
			}
			m[k] = n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		out[dim] = m
	}
	return out, nil
}

// topKeysWithout is topKeys less the damaged crashes counted in dmg.
func (s *SQLite) topKeysWithout(ctx context.Context, dim string, from, until int64, limit int, dmg map[string]int) ([]Group, error) {
	gs, err := s.topKeys(ctx, dim, from, until, limit+len(dmg))
	if err != nil || len(dmg) == 0 {
		return gs, err
	}
	out := gs[:0]
	for _, g := range gs {
		g.Count -= dmg[g.Key]
		if g.Count > 0 {
			out = append(out, g)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Count > out[j].Count })
	return out[:min(len(out), limit)], nil
}

// keyDays calls fn for each day in [from, until) with crashes of the given
// keys, reading the rollup's (dim, key, day) primary key.
func (s *SQLite) keyDays(ctx context.Context, dim string, keys []string, from, until int64, fn func(key string, day int64, n int)) error {
	for _, k := range keys {
		rows, err := s.r.QueryContext(ctx, `SELECT day, n FROM crash_rollup WHERE dim = ? AND key = ? AND day >= ? AND day < ?`,
			dim, k, from, until)
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
			fn(k, d, n)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// maxOOMPoints bounds the out-of-memory chart: more points say nothing more.
const maxOOMPoints = 800

// maxOOMPoints is the store's bound on the out-of-memory chart.
func (s *SQLite) maxOOMPoints() int {
	if s.oomPointsLimit > 0 {
		return s.oomPointsLimit
	}
	return maxOOMPoints
}

// Trends implements Dashboard.
func (s *SQLite) Trends(ctx context.Context, q TrendQuery) (_ Trends, err error) {
	defer wrap(&err, "Trends")
	if q.Days <= 0 {
		q.Days = 30
	}
	q.Days = min(q.Days, 3660)
	if q.Now.IsZero() {
		q.Now = s.now()
	}
	if q.Top <= 0 {
		q.Top = 8
	}
	if q.Clock == "" {
		q.Clock = ClockCrash
	}
	rd := func(dim string) string { return rollupDim(q.Clock, dim) }
	until := dayOf(q.Now) + 1
	from := until - int64(q.Days)
	t := Trends{From: dayTime(from), Until: dayTime(until), Daily: make([]int, q.Days), Clock: q.Clock}
	for d := from; d < until; d++ {
		t.Days = append(t.Days, dayTime(d))
	}
	if len(q.Matches) > 0 {
		return s.trendsFiltered(ctx, q, t, from, until)
	}
	all, err := s.daily(ctx, rd("all"), "", from-int64(q.Days), until)
	if err != nil {
		return t, err
	}
	dmg, err := s.damaged(ctx, q.Clock, from-int64(q.Days), until)
	if err != nil {
		return t, err
	}
	for d, n := range dmg["all"] {
		if day, err := strconv.ParseInt(d, 10, 64); err == nil && day >= from {
			t.Damaged += n
		}
	}
	t.DamagedIncluded = q.IncludeDamaged
	if q.IncludeDamaged {
		dmg = damagedCounts{}
	}
	for i := range all {
		all[i].Count -= dmg["all"][strconv.FormatInt(dayOf(all[i].Day), 10)]
	}
	cur := damagedCounts{}
	if !q.IncludeDamaged && t.Damaged > 0 {
		// The per-key counts of the period itself, without the period before.
		if cur, err = s.damaged(ctx, q.Clock, from, until); err != nil {
			return t, err
		}
	}
	for i, dc := range all {
		if i < q.Days {
			t.PrevTotal += dc.Count
		} else {
			t.Daily[i-q.Days] = dc.Count
			t.Total += dc.Count
		}
	}
	top := s.topSigs
	if s.scanOnly {
		top = s.topKeysWithout
	}
	topSigs, err := top(ctx, rd(DimSignature), from, until, max(q.Top, 15), cur[DimSignature])
	if err != nil {
		return t, err
	}
	keys := make([]string, len(topSigs))
	for i, g := range topSigs {
		keys[i] = g.Key
	}
	prev := map[string]int{}
	if err := s.keyDays(ctx, rd(DimSignature), keys, from-int64(q.Days), from, func(k string, _ int64, n int) {
		prev[k] += n
	}); err != nil {
		return t, err
	}
	for _, g := range topSigs {
		t.TopCrashers = append(t.TopCrashers, Crasher{Key: g.Key, Count: g.Count, Prev: prev[g.Key]})
	}
	if len(topSigs) > 0 {
		stacked := keys[:min(q.Top, len(keys))]
		idx := map[string]int{}
		for i, k := range stacked {
			idx[k] = i
			t.Stacked = append(t.Stacked, Series{Key: k, Counts: make([]int, q.Days), Total: topSigs[i].Count})
		}
		other := Series{Key: "other", Counts: append([]int(nil), t.Daily...), Total: t.Total}
		if err := s.keyDays(ctx, rd(DimSignature), stacked, from, until, func(k string, d int64, n int) {
			t.Stacked[idx[k]].Counts[d-from] = n
			other.Counts[d-from] -= n
			other.Total -= n
		}); err != nil {
			return t, err
		}
		if other.Total > 0 {
			t.Stacked = append(t.Stacked, other)
		}
	}
	for _, b := range []struct {
		dim string
		dst *[]Group
	}{{DimType, &t.ByType}, {DimModule, &t.ByModule}, {DimOS, &t.ByOS}, {DimVersion, &t.ByVersion}} {
		if *b.dst, err = s.topKeysWithout(ctx, rd(b.dim), from, until, 10, cur[b.dim]); err != nil {
			return t, err
		}
	}
	// Damaged dumps have their own signature (signature.CorruptPrefix),
	// which the OOM index holds.
	notDamaged := `(? != 0 OR substr(c.signature, 1, 15) != 'corrupt dump | ')`
	if !s.scanOnly {
		var dmg int
		if t.OOMCount, dmg, err = s.oomCount(ctx, q.Clock, from, until, q.IncludeDamaged); err != nil {
			return t, err
		}
		cond, args := notDamaged, []any{q.IncludeDamaged}
		if dmg == 0 {
			cond, args = "", nil
		}
		t.OOM, err = s.oomPoints(ctx, q.Clock, cond, args, from, until, t.OOMCount)
		return t, err
	}
	// The reference: count the index entries, number them all.
	oomIndex, at := oomIndex(q.Clock)
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM crashes c INDEXED BY `+oomIndex+` WHERE oom AND `+at+` >= ? AND `+at+` < ? AND `+notDamaged,
		from*dayMS, until*dayMS, q.IncludeDamaged).Scan(&t.OOMCount); err != nil {
		return t, err
	}
	// All of the period's OOM crashes, or the first of each slice (oomSlice):
	// with one slice per crash, each is the first of its own.
	slice := `dump_id`
	if t.OOMCount > s.maxOOMPoints() {
		slice = s.oomSliceSQL(at, from, until)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT c.at, d.uid, c.signature, c.alloc_bytes, c.largest_free
		FROM (SELECT `+at+` AS at, signature, alloc_bytes, largest_free, dump_id,
				row_number() OVER (PARTITION BY `+slice+` ORDER BY `+at+`, dump_id) AS i
			FROM crashes c INDEXED BY `+oomIndex+` WHERE oom AND `+at+` >= ? AND `+at+` < ? AND `+notDamaged+`) c
		JOIN dumps d ON d.id = c.dump_id WHERE c.i = 1 ORDER BY c.at, c.dump_id`, from*dayMS, until*dayMS, q.IncludeDamaged)
	if err != nil {
		return t, err
	}
	defer rows.Close()
	for rows.Next() {
		var p OOMPoint
		var at int64
		var req, free sql.NullInt64
		if err := rows.Scan(&at, &p.DumpID, &p.Signature, &req, &free); err != nil {
			return t, err
		}
		p.At = fromMS(at)
		if req.Valid {
			v := uint64(req.Int64)
			p.Requested = &v
		}
		if free.Valid {
			v := uint64(free.Int64)
			p.LargestFree = &v
		}
		t.OOM = append(t.OOM, p)
	}
	return t, rows.Err()
}

// History implements Dashboard.
func (s *SQLite) History(ctx context.Context, q HistoryQuery) (_ []DayCount, err error) {
	defer wrap(&err, "History(%s, %q)", q.Dim, q.Key)
	if q.Days <= 0 {
		q.Days = 90
	}
	q.Days = min(q.Days, 3660)
	if q.Clock == "" {
		q.Clock = ClockCrash
	}
	if q.Dim == DimModule {
		q.Key = strings.ToLower(q.Key)
	}
	today := dayOf(s.now()) + 1
	return s.daily(ctx, rollupDim(q.Clock, q.Dim), q.Key, today-int64(q.Days), today)
}

// Facets implements Dashboard.
func (s *SQLite) Facets(ctx context.Context) (_ Facets, err error) {
	defer wrap(&err, "Facets")
	var f Facets
	for _, b := range []struct {
		dim string
		dst *[]string
	}{{DimType, &f.Types}, {DimModule, &f.Modules}, {DimOS, &f.OSes}, {DimVersion, &f.Versions}, {DimProcess, &f.Processes}} {
		gs, err := scanGroups(s.r.QueryContext(ctx, `SELECT key, n, first_at, last_at FROM crash_groups WHERE dim = ?
			ORDER BY n DESC LIMIT 100`, b.dim))
		if err != nil {
			return f, err
		}
		for _, g := range gs {
			if g.Key != "" {
				*b.dst = append(*b.dst, g.Key)
			}
		}
		sort.Strings(*b.dst)
	}
	return f, nil
}

func (s *Store) dashboard() (Dashboard, error) {
	d, ok := s.Index.(Dashboard)
	if !ok {
		return nil, fmt.Errorf("the index has no dashboard queries")
	}
	return d, nil
}

// SearchDumps lists dumps newest first with the dashboard's filters.
func (s *Store) SearchDumps(ctx context.Context, q SearchQuery) (DumpPage, error) {
	d, err := s.dashboard()
	if err != nil {
		return DumpPage{}, err
	}
	return d.SearchDumps(ctx, q)
}

// Groups lists one dimension's keys by crash count.
func (s *Store) Groups(ctx context.Context, q GroupQuery) (GroupPage, error) {
	d, err := s.dashboard()
	if err != nil {
		return GroupPage{}, err
	}
	return d.Groups(ctx, q)
}

// SignatureInfo returns a crash group.
func (s *Store) SignatureInfo(ctx context.Context, sig string) (SignatureInfo, error) {
	d, err := s.dashboard()
	if err != nil {
		return SignatureInfo{}, err
	}
	return d.SignatureInfo(ctx, sig)
}

// ModuleStats lists modules with their crash counts.
func (s *Store) ModuleStats(ctx context.Context, q ModuleQuery) (ModulePage, error) {
	d, err := s.dashboard()
	if err != nil {
		return ModulePage{}, err
	}
	return d.ModuleStats(ctx, q)
}

// ModuleInfo returns a module's crash history.
func (s *Store) ModuleInfo(ctx context.Context, q ModuleInfoQuery) (ModuleInfo, error) {
	d, err := s.dashboard()
	if err != nil {
		return ModuleInfo{}, err
	}
	return d.ModuleInfo(ctx, q)
}

// Trends returns the trends of a period.
func (s *Store) Trends(ctx context.Context, q TrendQuery) (Trends, error) {
	d, err := s.dashboard()
	if err != nil {
		return Trends{}, err
	}
	return d.Trends(ctx, q)
}

// History returns one key's crashes per day.
func (s *Store) History(ctx context.Context, q HistoryQuery) ([]DayCount, error) {
	d, err := s.dashboard()
	if err != nil {
		return nil, err
	}
	return d.History(ctx, q)
}

// Facets returns the common values of each filter.
func (s *Store) Facets(ctx context.Context) (Facets, error) {
	d, err := s.dashboard()
	if err != nil {
		return Facets{}, err
	}
	return d.Facets(ctx)
}

// trendsFiltered is Trends over the crashes that match q.Matches: summed
// from the rollups for one filter (trendsRollup), else counted from the
// rows (trendsScan).
func (s *SQLite) trendsFiltered(ctx context.Context, q TrendQuery, t Trends, from, until int64) (Trends, error) {
	ms, none, err := s.resolveAll(ctx, q.Matches)
	if err != nil || none {
		t.DamagedIncluded = q.IncludeDamaged
		return t, err
	}
	if m, ok := rollupFilter(ms); ok && q.Clock == ClockCrash && !s.scanOnly {
		return s.trendsRollup(ctx, q, t, m, from, until)
	}
	return s.trendsScan(ctx, q, t, from, until)
}

// trendsScan is Trends over the crashes that match q.Matches, counted
// from those rows in the period and the one before: the matched keys' index
// selects them, so the cost follows the number of matching crashes.
func (s *SQLite) trendsScan(ctx context.Context, q TrendQuery, t Trends, from, until int64) (Trends, error) {
	t.DamagedIncluded = q.IncludeDamaged
	where, args, best, none, err := s.matchConds(ctx, q.Matches)
	if err != nil {
		return t, err
	}
	if none {
		// Filters that exclude each other (trendsFiltered has seen that
		// each matches): the lists of a scan that kept no row.
		t.ByType, t.ByModule, t.ByOS, t.ByVersion = []Group{}, []Group{}, []Group{}, []Group{}
		return t, nil
	}
	at, dayCol := atCol(q.Clock), "day"
	if q.Clock == ClockCrash {
		dayCol = "crash_day"
	}
	where = append(where, `c.`+at+` >= ? AND c.`+at+` < ?`)
	args = append(args, (from-int64(q.Days))*dayMS, until*dayMS)
	query := `SELECT c.` + dayCol + `, c.signature, c.crash_type, c.module, c.os, c.version,
		CASE WHEN c.damaged THEN 1 ELSE 0 END, CASE WHEN c.oom THEN 1 ELSE 0 END, c.alloc_bytes, c.largest_free, c.` + at + `, c.dump_id
		FROM crashes c`
	if best != "" {
		query += ` INDEXED BY ` + best
	}
	rows, err := s.r.QueryContext(ctx, query+` WHERE `+strings.Join(where, ` AND `), args...)
	if err != nil {
		return t, err
	}
	defer rows.Close()
	sigs, prev, sigDays := map[string]int{}, map[string]int{}, map[string][]int{}
	by := map[string]map[string]int{DimType: {}, DimModule: {}, DimOS: {}, DimVersion: {}}
	type oomRow struct {
		at, id    int64
		sig       string
		req, free sql.NullInt64
	}
	var ooms []oomRow
	for rows.Next() {
		var day, cat, id int64
		var sig, typ, mod, osv, ver string
		var damaged, oom int
		var req, free sql.NullInt64
		if err := rows.Scan(&day, &sig, &typ, &mod, &osv, &ver, &damaged, &oom, &req, &free, &cat, &id); err != nil {
			return t, err
		}
		if day < from {
			if damaged == 0 || q.IncludeDamaged {
				t.PrevTotal++
				prev[sig]++
			}
			continue
		}
		if damaged != 0 {
			t.Damaged++
			if !q.IncludeDamaged {
				continue
			}
		}
		t.Total++
		t.Daily[day-from]++
		sigs[sig]++
		if sigDays[sig] == nil {
			sigDays[sig] = make([]int, q.Days)
		}
		sigDays[sig][day-from]++
		by[DimType][typ]++
		by[DimModule][mod]++
		by[DimOS][osv]++
		by[DimVersion][ver]++
		if oom != 0 {
			ooms = append(ooms, oomRow{cat, id, sig, req, free})
		}
	}
	if err := rows.Err(); err != nil {
		return t, err
	}
	top := topOf(sigs, max(q.Top, 15))
	for _, g := range top {
		t.TopCrashers = append(t.TopCrashers, Crasher{Key: g.Key, Count: g.Count, Prev: prev[g.Key]})
	}
	if len(top) > 0 {
		other := Series{Key: "other", Counts: append([]int(nil), t.Daily...), Total: t.Total}
		for _, g := range top[:min(q.Top, len(top))] {
			t.Stacked = append(t.Stacked, Series{Key: g.Key, Counts: sigDays[g.Key], Total: g.Count})
			for i, n := range sigDays[g.Key] {
				other.Counts[i] -= n
			}
			other.Total -= g.Count
		}
		if other.Total > 0 {
			t.Stacked = append(t.Stacked, other)
		}
	}
	t.ByType, t.ByModule, t.ByOS, t.ByVersion = topOf(by[DimType], 10), topOf(by[DimModule], 10), topOf(by[DimOS], 10),
		topOf(by[DimVersion], 10)
	sort.Slice(ooms, func(i, j int) bool {
		if ooms[i].at != ooms[j].at {
			return ooms[i].at < ooms[j].at
		}
		return ooms[i].id < ooms[j].id
	})
	t.OOMCount = len(ooms)
	lastSlice := int64(-1)
	for _, o := range ooms {
		// All of them, or the first of each slice (oomSlice).
		if len(ooms) > s.maxOOMPoints() {
			slice := s.oomSlice(o.at, from, until)
			if slice == lastSlice {
				continue
			}
			lastSlice = slice
		}
		p := OOMPoint{At: fromMS(o.at), Signature: o.sig}
		if err := s.r.QueryRowContext(ctx, `SELECT uid FROM dumps WHERE id = ?`, o.id).Scan(&p.DumpID); err != nil {
			return t, err
		}
		if o.req.Valid {
			v := uint64(o.req.Int64)
			p.Requested = &v
		}
		if o.free.Valid {
			v := uint64(o.free.Int64)
			p.LargestFree = &v
		}
		t.OOM = append(t.OOM, p)
	}
	return t, nil
}

// topOf is counts' n largest, by count then key.
func topOf(counts map[string]int, n int) []Group {
	out := make([]Group, 0, len(counts))
	for k, c := range counts {
		out = append(out, Group{Key: k, Count: c})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Key < out[j].Key
	})
	return out[:min(n, len(out))]
}

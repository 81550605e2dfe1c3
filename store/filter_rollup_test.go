package store

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dumptriage/dumptriage/internal/seed"
	"github.com/google/go-cmp/cmp"
)

// filterPairs are the (filter, output) column pairs of migration 00013.
var filterPairs = func() (out [][4]string) {
	fs := [][2]string{{"sig", "signature"}, {"module", "module"}, {"version", "version"}, {"process", "process_name"}, {"product", "product"}}
	os := [][2]string{{"all", "''"}, {"type", "crash_type"}, {"module", "module"}, {"os", "os"}, {"version", "version"}}
	for _, f := range fs {
		for _, o := range os {
			if o[0] == f[0] || (o[0] == "all" && ownRollup(f[0])) {
				continue
			}
			out = append(out, [4]string{f[0], f[1], o[0], o[1]})
		}
	}
	return out
}()

// checkFilterRollups recomputes the filter rollups (00013) from crashes
// and compares.
func checkFilterRollups(t *testing.T, s *SQLite) {
	t.Helper()
	type check struct{ name, sql string }
	var checks []check
	for _, clock := range [][2]string{{"crash:", "crash_day"}} {
		for _, p := range filterPairs {
			checks = append(checks, check{clock[0] + p[0] + "/" + p[2], differ(
				fmt.Sprintf(`SELECT %s, %s, %s, count(*) FROM crashes GROUP BY 1, 2, 3`, p[1], p[3], clock[1]),
				fmt.Sprintf(`SELECT fkey, key, day, n FROM filter_rollup WHERE fdim = '%s%s' AND dim = '%s'`, clock[0], p[0], p[2]))})
		}
		for _, f := range [][2]string{{"module", "module"}, {"version", "version"}, {"process", "process_name"}, {"product", "product"}} {
			checks = append(checks, check{clock[0] + f[0] + "/sig", differ(
				fmt.Sprintf(`SELECT %s, signature, %s, count(*) FROM crashes GROUP BY 1, 2, 3`, f[1], clock[1]),
				fmt.Sprintf(`SELECT fkey, sig, day, n FROM filter_sig_rollup WHERE fdim = '%s%s'`, clock[0], f[0]))})
		}
	}
	for _, f := range [][2]string{{"sig", "signature"}, {"module", "module"}, {"version", "version"}, {"process", "process_name"}, {"product", "product"}} {
		for _, o := range [][2]string{{"sig", "signature"}, {"module", "module"}} {
			if o[0] == f[0] {
				continue
			}
			checks = append(checks, check{"groups " + f[0] + "/" + o[0], differ(
				fmt.Sprintf(`SELECT %s, %s, count(*) FROM crashes GROUP BY 1, 2`, f[1], o[1]),
				fmt.Sprintf(`SELECT fkey, key, n FROM filter_groups WHERE fdim = '%s' AND dim = '%s'`, f[0], o[0]))})
			checks = append(checks, check{"groups seen " + f[0] + "/" + o[0], fmt.Sprintf(`SELECT count(*) FROM
				(SELECT %[1]s AS fkey, %[2]s AS key, min(at) AS first_at, max(at) AS last_at FROM crashes GROUP BY 1, 2) x
				JOIN filter_groups g ON g.fdim = '%[3]s' AND g.dim = '%[4]s' AND g.fkey = x.fkey AND g.key = x.key
				WHERE g.first_at > x.first_at OR g.last_at < x.last_at`, f[1], o[1], f[0], o[0])})
		}
	}
	for _, f := range [][2]string{{"sig", "signature"}, {"module", "module"}, {"version", "version"}, {"process", "process_name"}, {"product", "product"}} {
		checks = append(checks, check{f[0] + "/oom", differ(
			fmt.Sprintf(`SELECT %s, crash_day, count(*) FROM crashes WHERE oom GROUP BY 1, 2`, f[1]),
			fmt.Sprintf(`SELECT fkey, day, n FROM filter_rollup WHERE fdim = 'crash:%s' AND dim = 'oom' AND key = ''`, f[0]))})
	}
	checks = append(checks, check{"oom", differ(`SELECT 'oom', day, count(*) FROM crashes WHERE oom GROUP BY 2`,
		`SELECT dim, day, n FROM crash_rollup WHERE dim = 'oom'`)}, check{"crash:oom",
		differ(`SELECT 'crash:oom', crash_day, count(*) FROM crashes WHERE oom GROUP BY 2`,
			`SELECT dim, day, n FROM crash_rollup WHERE dim = 'crash:oom'`)})
	for _, c := range checks {
		q := c.sql
		if s.pg {
			q = strings.ReplaceAll(q, " IS NOT ", " IS DISTINCT FROM ")
		}
		var bad int
		if err := s.r.QueryRowContext(context.Background(), q).Scan(&bad); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if bad != 0 {
			t.Errorf("filter rollup %s: %d rows differ", c.name, bad)
		}
	}
}

// filterCases are search filters on every field and mode, matching one key,
// several or none.
func filterCases(t *testing.T, s *SQLite) [][]FieldMatch {
	t.Helper()
	ctx := context.Background()
	sigs, err := s.Groups(ctx, GroupQuery{Dim: DimSignature, Limit: 500})
	if err != nil || len(sigs.Groups) < 3 {
		t.Fatalf("signatures: %v", err)
	}
	top, rare := sigs.Groups[0].Key, sigs.Groups[len(sigs.Groups)-1].Key
	vers, err := s.Groups(ctx, GroupQuery{Dim: DimVersion, Limit: 1})
	if err != nil || len(vers.Groups) == 0 {
		t.Fatalf("versions: %v", err)
	}
	f := func(field Field, mode MatchMode, text string) []FieldMatch {
		return []FieldMatch{{Field: field, Match: Match{Text: text, Mode: mode}}}
	}
	return [][]FieldMatch{
		f(FieldProcess, Substring, "player"),
		f(FieldProcess, Exact, "STUDIO.EXE"),
		f(FieldProcess, Prefix, "s"),
		f(FieldSignature, Exact, top),
		f(FieldSignature, Substring, "render"),
		f(FieldSignature, Substring, rare[len(rare)/2:]),
		f(FieldModule, Substring, "kernel"),
		f(FieldModule, Prefix, "nv"),
		f(FieldModule, Exact, "NTDLL.dll"),
		f(FieldVersion, Exact, vers.Groups[0].Key),
		f(FieldVersion, Substring, "2"),
		f(FieldProduct, Substring, ""),
		f(FieldProduct, Exact, "nothing"),
		f(FieldVersion, Prefix, "no such version"),
		// Two filters: read from the crashes, the same either way.
		append(f(FieldProcess, Substring, "player"), f(FieldSignature, Substring, "render")...),
		// Two that exclude each other (studio's versions start with 3.).
		append(f(FieldProcess, Exact, "player.exe"), f(FieldVersion, Prefix, "3.")...),
		append(f(FieldVersion, Prefix, "3."), f(FieldSignature, Exact, top)...),
		append(f(FieldProcess, Exact, "studio.exe"), f(FieldVersion, Prefix, "3.")...),
	}
}

// TestFilterRollupsMatchScan: trends and groups summed from the rollups are
// the answers the scan of the matching crashes gives, on both clocks, with
// and without damaged dumps, after a re-analysis and deletes.
func TestFilterRollupsMatchScan(t *testing.T) {
	forBackends(t, func(t *testing.T, open func(testing.TB, Config) *Store) {
		s := open(t, Config{}).Index.(*SQLite)
		s.now = func() time.Time { return seedNow }
		n := 2000
		if s.pg {
			n = 600 // seeding PostgreSQL row by row is slow
		}
		if err := s.Seed(context.Background(), seed.Config{Dumps: n, Now: seedNow, Seed: 7}); err != nil {
			t.Fatal(err)
		}
		filterRollupsMatchScan(t, s)
	})
}

// rollupAndScan returns what f reads through the rollups, then by scans.
func rollupAndScan[T any](t *testing.T, s *SQLite, f func() (T, error)) (got, want T) {
	t.Helper()
	got, err := f()
	if err != nil {
		t.Fatal(err)
	}
	s.scanOnly = true
	defer func() { s.scanOnly = false }()
	if want, err = f(); err != nil {
		t.Fatal(err)
	}
	return got, want
}

func filterRollupsMatchScan(t *testing.T, s *SQLite) {
	ctx := context.Background()
	checkFilterRollups(t, s)
	compare := func(t *testing.T, exactTimes bool) {
		t.Helper()
		for _, ms := range filterCases(t, s) {
			q := SearchQuery{Matches: ms, ListQuery: ListQuery{Limit: 20}}
			got, want := rollupAndScan(t, s, func() (DumpPage, error) { return s.SearchDumps(ctx, q) })
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("SearchDumps(%v) (-scan +rollups):\n%s", ms, d)
			}
			for _, dim := range []string{DimSignature, DimModule} {
				for _, q := range []GroupQuery{{Dim: dim, Matches: ms}, {Dim: dim, Matches: ms, Offset: 7, Limit: 5},
					{Dim: dim, Matches: ms, Search: "a"}} {
					got, want := rollupAndScan(t, s, func() (GroupPage, error) { return s.Groups(ctx, q) })
					if !exactTimes {
						// First and last seen only widen in the rollups (as in
						// crash_groups) when a re-analysis moves a crash.
						for _, p := range []*GroupPage{&got, &want} {
							for i := range p.Groups {
								p.Groups[i].FirstSeen, p.Groups[i].LastSeen = seedNow, seedNow
							}
						}
					}
					if d := cmp.Diff(want, got); d != "" {
						t.Errorf("Groups(%+v) rollup vs scan (-want +got):\n%s", q, d)
					}
				}
			}
			for _, q := range []TrendQuery{{Days: 30, Matches: ms}, {Days: 365, Matches: ms, Clock: ClockUpload},
				{Days: 90, Matches: ms, IncludeDamaged: true}, {Days: 7, Top: 3, Matches: ms, Clock: ClockUpload, IncludeDamaged: true}} {
				got, want := rollupAndScan(t, s, func() (Trends, error) { return s.Trends(ctx, q) })
				if d := cmp.Diff(want, got); d != "" {
					t.Errorf("Trends(%v, %d days, %s, damaged %v) rollup vs scan (-want +got):\n%s", ms, q.Days, q.Clock, q.IncludeDamaged, d)
				}
			}
		}
		for _, q := range []TrendQuery{{Days: 30}, {Days: 365}, {Days: 1, Clock: ClockUpload}, {Days: 90, IncludeDamaged: true}} {
			got, want := rollupAndScan(t, s, func() (Trends, error) { return s.Trends(ctx, q) })
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("Trends(%d days, %s) bounded top signatures vs the rollup's sums (-want +got):\n%s", q.Days, q.Clock, d)
			}
		}
	}
	t.Run("seeded", func(t *testing.T) { compare(t, true) })
	// Few points: the first crash of each slice of the period.
	s.oomPointsLimit = 7
	// Damaged dumps (the update trigger) and an analysis replaced (the
	// insert trigger), then deleted dumps.
	if _, err := s.w.ExecContext(ctx, `UPDATE analyses SET damaged = 1, signature = 'corrupt dump | truncated'
		WHERE dump_id % 11 = 0`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, `UPDATE analyses SET damaged = 1 WHERE dump_id % 13 = 0`); err != nil {
		t.Fatal(err)
	}
	checkFilterRollups(t, s)
	t.Run("damaged", func(t *testing.T) { compare(t, false) })
	if _, err := s.w.ExecContext(ctx, `DELETE FROM dumps WHERE id % 5 = 0`); err != nil {
		t.Fatal(err)
	}
	checkFilterRollups(t, s)
	t.Run("deleted", func(t *testing.T) { compare(t, false) })
}

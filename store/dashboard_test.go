package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dumptriage/dumptriage/analyzer/report"
	"github.com/dumptriage/dumptriage/internal/seed"
)

var seedNow = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

func seeded(t testing.TB, n int) *SQLite { return seededOn(t, openTest, n, n) }

// seededOn opens a store on a backend (open: openTest, openRemote) and
// seeds n dumps into SQLite or remote into PostgreSQL, where seeding
// through the dashboard's triggers is slower (600 dumps: 14 s, 200: 4 s).
func seededOn(t testing.TB, open func(testing.TB, Config) *Store, n, remote int) *SQLite {
	t.Helper()
	s := open(t, Config{}).Index.(*SQLite)
	s.now = func() time.Time { return seedNow }
	if s.pg {
		n = remote
	}
	if err := s.Seed(context.Background(), seed.Config{Dumps: n, Now: seedNow, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	return s
}

// checkRollups recomputes every dashboard table from analyses, frames and
// dumps and compares.
func checkRollups(t *testing.T, s *SQLite) {
	t.Helper()
	ctx := context.Background()
	for _, q := range []struct{ name, sql string }{
		// Analyses' columns are read through their indexes: past the
		// report, a row's columns are in its overflow pages.
		{"crashes", `SELECT (SELECT count(*) FROM (SELECT dump_id, signature FROM analyses
			EXCEPT SELECT dump_id, signature FROM crashes) x) + (SELECT count(*) FROM (SELECT dump_id, crash_type FROM analyses
			EXCEPT SELECT dump_id, crash_type FROM crashes) y)`},
		{"rollup vs crashes", differ(`SELECT signature, day, count(*) FROM crashes GROUP BY signature, day`,
			`SELECT key, day, n FROM crash_rollup WHERE dim = 'sig'`)},
		{"crash clock rollup vs crashes", differ(`SELECT signature, crash_day, count(*) FROM crashes GROUP BY signature, crash_day`,
			`SELECT key, day, n FROM crash_rollup WHERE dim = 'crash:sig'`)},
		{"crash clock all", `SELECT count(*) FROM (SELECT crash_day AS day, count(*) AS n FROM crashes GROUP BY crash_day) x
			FULL JOIN (SELECT * FROM crash_rollup WHERE dim = 'crash:all') r ON r.day = x.day WHERE r.n IS NOT x.n`},
		{"crash_at", `SELECT count(*) FROM crashes WHERE crash_day != crash_at / 86400000
			OR (clock_implausible = 0 AND crash_at != coalesce(dump_time, at)) OR (clock_implausible != 0 AND crash_at != at)`},
		{"all", `SELECT count(*) FROM crash_groups WHERE dim = 'all' AND n != (SELECT count(*) FROM analyses)`},
		{"groups vs crashes", `SELECT count(*) FROM (SELECT module AS key, count(*) AS n FROM crashes GROUP BY module) x
			FULL JOIN (SELECT * FROM crash_groups WHERE dim = 'module') g ON g.key = x.key WHERE g.n IS NOT x.n`},
		{"pairs", `SELECT count(*) FROM (SELECT signature || char(31) || version AS key, count(*) AS n FROM crashes
			GROUP BY 1) x FULL JOIN (SELECT * FROM crash_groups WHERE dim = 'sig.version') g ON g.key = x.key
			WHERE g.n IS NOT x.n`},
		{"stack", `SELECT count(*) FROM (SELECT lower(module) AS key, count(DISTINCT dump_id) AS n FROM frames
			WHERE module != '' GROUP BY 1) x FULL JOIN (SELECT * FROM crash_groups WHERE dim = 'stack') g
			ON g.key = x.key WHERE g.n IS NOT x.n`},
		{"module faulting", differ(`SELECT dump_id, module, at FROM crashes WHERE module != ''`,
			`SELECT dump_id, module, at FROM module_dumps WHERE kind = 'faulting'`)},
		{"module stack", differ(`SELECT DISTINCT dump_id, lower(module) FROM frames WHERE module != ''`,
			`SELECT dump_id, module FROM module_dumps WHERE kind = 'stack'`)},
		{"module stack version", `SELECT count(*) FROM module_dumps m JOIN analyses a ON a.dump_id = m.dump_id
			JOIN dumps d ON d.id = m.dump_id WHERE m.kind = 'stack' AND m.version IS NOT coalesce(
				CASE WHEN m.module = lower(a.process_name) THEN nullif(d.product_version, '') END,
				(SELECT version FROM modules o WHERE o.dump_id = m.dump_id AND lower(o.name) = m.module ORDER BY idx LIMIT 1), '')`},
		{"module rollup", `SELECT count(*) FROM (SELECT module, at / 86400000 AS day, version, sum(CASE WHEN kind = 'faulting' THEN 1 ELSE 0 END) AS f,
			sum(CASE WHEN kind = 'stack' THEN 1 ELSE 0 END) AS s FROM module_dumps GROUP BY 1, 2, 3) x FULL JOIN module_rollup r
			ON r.module = x.module AND r.day = x.day AND r.version = x.version WHERE r.faulting IS NOT x.f OR r.stack IS NOT x.s`},
		{"module versions", `SELECT count(*) FROM (SELECT module, version, sum(CASE WHEN kind = 'faulting' THEN 1 ELSE 0 END) AS f, sum(CASE WHEN kind = 'stack' THEN 1 ELSE 0 END) AS s,
			min(at) AS first_at, max(at) AS last_at FROM module_dumps GROUP BY 1, 2) x FULL JOIN module_versions v
			ON v.module = x.module AND v.version = x.version
			WHERE v.faulting IS NOT x.f OR v.stack IS NOT x.s OR v.first_at > x.first_at OR v.last_at < x.last_at`},
		{"module versions vs groups", `SELECT count(*) FROM (SELECT module, sum(stack) AS s, sum(faulting) AS f
			FROM module_versions GROUP BY module) v FULL JOIN (SELECT key, n FROM crash_groups WHERE dim = 'stack') g
			ON g.key = v.module WHERE v.s IS NOT g.n AND NOT (g.n IS NULL AND v.s = 0)`},
	} {
		var bad int
		if s.pg {
			q.sql = strings.NewReplacer("char(31)", "chr(31)", " IS NOT ", " IS DISTINCT FROM ").Replace(q.sql)
		}
		if err := s.r.QueryRowContext(ctx, q.sql).Scan(&bad); err != nil {
			t.Fatalf("%s: %v", q.name, err)
		}
		if bad != 0 {
			t.Errorf("%s: %d rows differ", q.name, bad)
		}
	}
}

// differ counts the rows in one of two queries' results and not in the
// other's. SQLite runs a FULL JOIN of two subqueries as nested loops, which
// made checkRollups quadratic: over a minute for 600 dumps under -race.
func differ(a, b string) string {
	return `SELECT count(*) FROM (SELECT * FROM (` + a + ` EXCEPT ` + b + `) x UNION ALL SELECT * FROM (` + b + ` EXCEPT ` + a + `) y) z`
}

func TestDashboardRollups(t *testing.T) {
	forBackends(t, func(t *testing.T, open func(testing.TB, Config) *Store) {
		s := seededOn(t, open, 600, 150)
		checkRollups(t, s)
		ctx := context.Background()
		// A re-analysis replaces the analysis: the dump moves to its new groups.
		var id int64
		if err := s.r.QueryRowContext(ctx, `SELECT dump_id FROM analyses LIMIT 1`).Scan(&id); err != nil {
			t.Fatal(err)
		}
		a, err := NewAnalysis(&report.Report{Signature: "new | signature", CrashInfo: report.CrashInfo{Type: "X"},
			Process: report.ProcessInfo{Name: "p.exe", Version: "9.9"}, Exception: &report.ExceptionRecord{Module: "NEW.dll"},
			CrashingThread: &report.CrashingThread{Frames: []report.Frame{{Module: "NEW.dll"}, {Module: "new.DLL"}, {Module: "b.dll"}}},
		}, seedNow, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		err = s.tx(ctx, func(tx *sqlTx) error {
			if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO analyses (dump_id, analyzer_version, analyzed_at, report,
				crash_type, signature, module, process_name) VALUES (?, 'x', 0, ?, ?, ?, ?, ?)`, id, string(a.Report), a.CrashType,
				a.Signature, a.Module, a.ProcessName); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM frames WHERE dump_id = ?`, id); err != nil {
				return err
			}
			for i, f := range a.Frames {
				if _, err := tx.ExecContext(ctx, `INSERT INTO frames (dump_id, idx, module) VALUES (?, ?, ?)`, id, i, f.Module); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		checkRollups(t, s)
		g, err := s.group(ctx, DimStack, "new.dll")
		if err != nil || g.Count != 1 {
			t.Errorf("stack group of new.dll: %+v %v", g, err)
		}
		if v, err := s.pairs(ctx, "sig.version", "new | signature", 5); err != nil || len(v) != 1 || v[0].Key != "9.9" {
			t.Errorf("versions of the new signature: %+v %v", v, err)
		}
		// Deleting dumps cascades through every table.
		if _, err := s.w.ExecContext(ctx, `DELETE FROM dumps WHERE id % 3 = 0`); err != nil {
			t.Fatal(err)
		}
		checkRollups(t, s)
	})
}

func TestDashboardQueries(t *testing.T) {
	forBackends(t, func(t *testing.T, open func(testing.TB, Config) *Store) {
		s := seededOn(t, open, 1500, 300)
		ctx := context.Background()
		sigs, err := s.Groups(ctx, GroupQuery{Dim: DimSignature, Limit: 10})
		if err != nil || len(sigs.Groups) != 10 || !sigs.More || sigs.Total < 10 {
			t.Fatalf("groups: %+v %v", sigs, err)
		}
		for i := 1; i < len(sigs.Groups); i++ {
			if sigs.Groups[i].Count > sigs.Groups[i-1].Count {
				t.Errorf("groups not by count: %+v", sigs.Groups)
			}
		}
		top := sigs.Groups[0]
		si, err := s.SignatureInfo(ctx, top.Key)
		if err != nil || si.Count != top.Count || len(si.Versions) == 0 || len(si.OSes) == 0 || len(si.Examples) == 0 {
			t.Fatalf("signature: %+v %v", si, err)
		}
		sum := 0
		for _, v := range si.Versions {
			sum += v.Count
		}
		if sum != si.Count {
			t.Errorf("versions add up to %d, want %d", sum, si.Count)
		}
		for _, d := range si.Examples {
			if d.Summary == nil || d.Summary.Signature != top.Key {
				t.Errorf("example %s is not of the signature", d.ID)
			}
		}
		page, err := s.SearchDumps(ctx, SearchQuery{ListQuery: ListQuery{Signature: top.Key, Limit: 5}})
		if err != nil || len(page.Dumps) != min(5, top.Count) {
			t.Fatalf("search by signature: %d %v", len(page.Dumps), err)
		}
		if top.Count > 5 {
			next, err := s.SearchDumps(ctx, SearchQuery{ListQuery: ListQuery{Signature: top.Key, Limit: 5, Cursor: page.Next}})
			if err != nil || len(next.Dumps) == 0 || !next.Dumps[0].UploadedAt.Before(page.Dumps[4].UploadedAt.Add(time.Millisecond)) ||
				next.Dumps[0].ID == page.Dumps[4].ID {
				t.Errorf("second page: %v", err)
			}
		}
		v := si.Versions[0].Key
		byv, err := s.SearchDumps(ctx, SearchQuery{Version: v, ListQuery: ListQuery{Limit: 500}})
		if err != nil || len(byv.Dumps) == 0 {
			t.Fatalf("search by version: %v", err)
		}
		mods, err := s.ModuleStats(ctx, ModuleQuery{Limit: 20})
		if err != nil || len(mods.Modules) == 0 {
			t.Fatalf("modules: %v", err)
		}
		for _, m := range mods.Modules {
			if m.Faulting > m.OnStack {
				t.Errorf("%s faulting %d > on stack %d", m.Name, m.Faulting, m.OnStack)
			}
		}
		mi, err := s.ModuleInfo(ctx, ModuleInfoQuery{Name: mods.Modules[0].Name})
		if err != nil || mi.OnStack != mods.Modules[0].OnStack || len(mi.Chart.Daily) != 90 {
			t.Fatalf("module: %+v %v", mi.ModuleStat, err)
		}
		if _, err := s.ModuleInfo(ctx, ModuleInfoQuery{Name: "nope.dll"}); err != ErrNotFound && !isNotFound(err) {
			t.Errorf("unknown module: %v", err)
		}
		tr, err := s.Trends(ctx, TrendQuery{Days: 30})
		if err != nil || tr.Total == 0 || len(tr.Daily) != 30 || len(tr.Stacked) == 0 || len(tr.ByType) == 0 || len(tr.OOM) == 0 {
			t.Fatalf("trends: total %d, %v", tr.Total, err)
		}
		for d := range tr.Daily {
			sum := 0
			for _, s := range tr.Stacked {
				sum += s.Counts[d]
			}
			if sum != tr.Daily[d] {
				t.Errorf("day %d: stacked %d, total %d", d, sum, tr.Daily[d])
			}
		}
		f, err := s.Facets(ctx)
		if err != nil || len(f.Types) == 0 || len(f.OSes) == 0 || len(f.Versions) == 0 {
			t.Fatalf("facets: %+v %v", f, err)
		}
	})
}

type sqlTx = sql.Tx

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// TestTrendsLeaveOutDamaged: damaged dumps (report.dump.truncated) are left
// out of the trends unless asked for, in every figure the page shows.
func TestTrendsLeaveOutDamaged(t *testing.T) {
	forBackends(t, func(t *testing.T, open func(testing.TB, Config) *Store) {
		s := seededOn(t, open, 200, 200)
		ctx := context.Background()
		const corrupt = "corrupt dump | truncated"
		// Re-analysed as damaged (the update trigger), and one analysis replaced
		// (the insert trigger).
		if _, err := s.w.ExecContext(ctx, `UPDATE analyses SET damaged = 1, signature = ? WHERE dump_id % 7 = 0`, corrupt); err != nil {
			t.Fatal(err)
		}
		if _, err := s.w.ExecContext(ctx, `INSERT OR REPLACE INTO analyses (dump_id, analyzer_version, analyzed_at, report, crash_type,
			signature, module, process_name, damaged) SELECT dump_id, analyzer_version, analyzed_at, report, crash_type, ?, module,
			process_name, 1 FROM analyses WHERE dump_id = (SELECT min(dump_id) FROM analyses WHERE dump_id % 7 != 0)`, corrupt); err != nil {
			t.Fatal(err)
		}
		checkRollups(t, s)
		var flagged, analysed int
		// crashes' flags are booleans in PostgreSQL, analyses' integers in both.
		if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM crashes WHERE damaged`).Scan(&flagged); err != nil {
			t.Fatal(err)
		}
		if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM analyses WHERE damaged != 0`).Scan(&analysed); err != nil {
			t.Fatal(err)
		}
		if flagged == 0 || flagged != analysed {
			t.Fatalf("crashes flagged damaged: %d, analyses: %d", flagged, analysed)
		}
		def, err := s.Trends(ctx, TrendQuery{Days: 90})
		if err != nil {
			t.Fatal(err)
		}
		all, err := s.Trends(ctx, TrendQuery{Days: 90, IncludeDamaged: true})
		if err != nil {
			t.Fatal(err)
		}
		if def.Damaged == 0 || def.DamagedIncluded || !all.DamagedIncluded || all.Damaged != def.Damaged {
			t.Fatalf("damaged %d (included %v), with them %d (included %v)", def.Damaged, def.DamagedIncluded, all.Damaged, all.DamagedIncluded)
		}
		if all.Total-def.Total != def.Damaged {
			t.Errorf("total %d without, %d with, %d damaged", def.Total, all.Total, def.Damaged)
		}
		for d := range def.Daily {
			sum := 0
			for _, s := range def.Stacked {
				sum += s.Counts[d]
			}
			if sum != def.Daily[d] {
				t.Errorf("day %d: stacked %d, total %d", d, sum, def.Daily[d])
			}
		}
		has := func(tr Trends) bool {
			for _, c := range tr.TopCrashers {
				if c.Key == corrupt {
					return true
				}
			}
			return false
		}
		if has(def) || !has(all) {
			t.Errorf("corrupt signature among the top crashers: %v without damaged dumps, %v with", has(def), has(all))
		}
		sumGroups := func(gs []Group) (n int) {
			for _, g := range gs {
				n += g.Count
			}
			return n
		}
		if sumGroups(def.ByOS) >= sumGroups(all.ByOS) || sumGroups(def.ByType) >= sumGroups(all.ByType) {
			t.Errorf("by OS %d vs %d, by type %d vs %d", sumGroups(def.ByOS), sumGroups(all.ByOS), sumGroups(def.ByType), sumGroups(all.ByType))
		}
		var dmgOOM int
		if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM crashes WHERE damaged AND oom AND at >= ?`, def.From.UnixMilli()).Scan(&dmgOOM); err != nil {
			t.Fatal(err)
		}
		if all.OOMCount-def.OOMCount != dmgOOM {
			t.Errorf("OOM %d without, %d with, %d damaged", def.OOMCount, all.OOMCount, dmgOOM)
		}
	})
}

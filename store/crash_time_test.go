package store

import (
	"context"
	"io/fs"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/dumptriage/dumptriage/analyzer/report"
	"github.com/dumptriage/dumptriage/migrations"
)

func TestBuildTime(t *testing.T) {
	analyzed := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	stamp := func(ts time.Time) string { return fmtCodeID(uint32(ts.Unix())) }
	y := func(year int) time.Time { return time.Date(year, 6, 1, 0, 0, 0, 0, time.UTC) }
	zero, one := 0, 1
	for _, c := range []struct {
		name     string
		mods     []report.Module
		main     *int
		faulting string
		want     *time.Time
	}{
		{"faulting module", []report.Module{{Filename: "a.exe", CodeID: stamp(y(2010))}, {Filename: "B.dll", CodeID: stamp(y(2020))}},
			nil, "b.dll", ptr(y(2020))},
		{"the later of main and faulting", []report.Module{{Filename: "a.exe", CodeID: stamp(y(2021))}, {Filename: "b.dll", CodeID: stamp(y(2020))}},
			&zero, "b.dll", ptr(y(2021))},
		{"reproducible-build hash in the future", []report.Module{{Filename: "a.exe", CodeID: "C1A2B3C4" + "1000"}, {Filename: "b.dll", CodeID: stamp(y(2015))}},
			&zero, "b.dll", ptr(y(2015))},
		{"hash before 1990", []report.Module{{Filename: "a.exe", CodeID: stamp(y(1986))}}, &zero, "", nil},
		{"other modules do not count", []report.Module{{Filename: "a.exe", CodeID: stamp(y(2010))}, {Filename: "c.dll", CodeID: stamp(y(2025))}},
			&zero, "", ptr(y(2010))},
		{"no code id", []report.Module{{Filename: "a.exe"}}, &zero, "a.exe", nil},
		{"not hex", []report.Module{{Filename: "a.exe", CodeID: "zzzzzzzz1000"}}, &zero, "a.exe", nil},
		{"main out of range", []report.Module{{Filename: "a.exe", CodeID: stamp(y(2010))}}, &one, "", nil},
	} {
		got := buildTime(&report.Report{Modules: c.mods, MainModule: c.main}, c.faulting, analyzed)
		if (got == nil) != (c.want == nil) || got != nil && !got.Equal(*c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

func fmtCodeID(stamp uint32) string {
	const hexdigits = "0123456789ABCDEF"
	b := make([]byte, 8)
	for i := 7; i >= 0; i-- {
		b[i] = hexdigits[stamp&15]
		stamp >>= 4
	}
	return string(b) + "80000"
}

// TestCrashClock: the crashes row of each analysis has the dump's clock, its
// plausibility and the time it counts at; the crash clock's rollups follow.
func TestCrashClock(t *testing.T) {
	forBackends(t, func(t *testing.T, open func(testing.TB, Config) *Store) {
		st := open(t, Config{})
		s := st.Index.(*SQLite)
		ctx := context.Background()
		up := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
		h := time.Hour
		for i, c := range []struct {
			name     string
			dumpTime *time.Time
			build    *time.Time
			bad      bool
			countsAt time.Time
		}{
			{"no clock", nil, nil, false, up},
			{"two days before upload", ptr(up.Add(-48 * h)), nil, false, up.Add(-48 * h)},
			{"written in 2007, built in 2020", ptr(time.Date(2007, 2, 14, 0, 0, 0, 0, time.UTC)),
				ptr(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)), true, up},
			{"1972", ptr(time.Date(1972, 2, 16, 0, 0, 0, 0, time.UTC)), nil, true, up},
			{"two days after upload", ptr(up.Add(48 * h)), nil, true, up},
			{"two hours after upload (slack)", ptr(up.Add(2 * h)), nil, false, up.Add(2 * h)},
			{"twelve hours before the build (slack)", ptr(up.Add(-10 * 24 * h)), ptr(up.Add(-10*24*h + 12*h)), false,
				up.Add(-10 * 24 * h)},
			{"two days before the build", ptr(up.Add(-10 * 24 * h)), ptr(up.Add(-8 * 24 * h)), true, up},
		} {
			id := addAnalysed(t, s, i, up, c.dumpTime, c.build)
			var bad int
			var at, day int64
			if err := s.r.QueryRowContext(ctx, `SELECT clock_implausible, crash_at, crash_day FROM crashes WHERE dump_id = ?`,
				id).Scan(&bad, &at, &day); err != nil {
				t.Fatal(err)
			}
			if (bad != 0) != c.bad || at != ms(c.countsAt) || day != dayOf(c.countsAt) {
				t.Errorf("%s: implausible %d, counts at %v day %d; want %v at %v", c.name, bad, fromMS(at), day, c.bad, c.countsAt)
			}
			d, err := s.Dump(ctx, uidOf(t, s, id))
			if err != nil || d.Summary == nil || d.Summary.ClockImplausible != c.bad {
				t.Errorf("%s: dump summary %+v %v", c.name, d.Summary, err)
			}
		}
		checkRollups(t, s)
		s.now = func() time.Time { return up }
		crash, err := s.History(ctx, HistoryQuery{Dim: "all", Days: 30})
		if err != nil {
			t.Fatal(err)
		}
		upload, err := s.History(ctx, HistoryQuery{Dim: "all", Clock: ClockUpload, Days: 30})
		if err != nil {
			t.Fatal(err)
		}
		last := len(crash) - 1
		// Upload clock: all eight on the upload day. Crash clock: the
		// plausible ones move (two days before, ten days before).
		if upload[last].Count != 8 || crash[last].Count != 6 || crash[last-2].Count != 1 || crash[last-10].Count != 1 {
			t.Errorf("today: upload %d, crash %d; two days ago %d, ten days ago %d", upload[last].Count, crash[last].Count,
				crash[last-2].Count, crash[last-10].Count)
		}
		tr, err := s.Trends(ctx, TrendQuery{Days: 30, Now: up})
		if err != nil || tr.Clock != ClockCrash || tr.Total != 8 || tr.Daily[29] != 6 {
			t.Errorf("trends on the crash clock: %v total %d today %d", err, tr.Total, tr.Daily[29])
		}
		tu, err := s.Trends(ctx, TrendQuery{Days: 30, Now: up, Clock: ClockUpload})
		if err != nil || tu.Clock != ClockUpload || tu.Total != 8 || tu.Daily[29] != 8 {
			t.Errorf("trends on the upload clock: %v total %d today %d", err, tu.Total, tu.Daily[29])
		}
		// A re-analysis that finds the clock wrong moves the crash.
		if _, err := s.w.ExecContext(ctx, `UPDATE analyses SET build_time = ? WHERE dump_time = ?`,
			ms(up), ms(up.Add(-48*h))); err != nil {
			t.Fatal(err)
		}
		checkRollups(t, s)
		crash, err = s.History(ctx, HistoryQuery{Dim: "all", Days: 30})
		if err != nil || crash[last].Count != 7 || crash[last-2].Count != 0 {
			t.Errorf("after re-analysis: today %d, two days ago %d (%v)", crash[last].Count, crash[last-2].Count, err)
		}
	})
}

func uidOf(t *testing.T, s *SQLite, id int64) string {
	t.Helper()
	var uid string
	if err := s.r.QueryRowContext(context.Background(), `SELECT uid FROM dumps WHERE id = ?`, id).Scan(&uid); err != nil {
		t.Fatal(err)
	}
	return uid
}

// addAnalysed records an analysed dump uploaded at up.
func addAnalysed(t *testing.T, s *SQLite, i int, up time.Time, dumpTime, build *time.Time) int64 {
	t.Helper()
	ctx := context.Background()
	var id int64
	if err := s.w.QueryRowContext(ctx, `INSERT INTO dumps (uid, sha256, size, uploaded_at, last_uploaded_at, status)
		VALUES (?, ?, 1, ?, ?, 'done') RETURNING id`, newUID(), fmtCodeID(uint32(i))+"ab", ms(up), ms(up)).Scan(&id); err != nil {
		t.Fatal(err)
	}
	a := &Analysis{BuildTime: build}
	a.DumpTime = dumpTime
	dt, _, bt := a.nullables()
	if _, err := s.w.ExecContext(ctx, `INSERT INTO analyses (dump_id, analyzer_version, analyzed_at, report, signature,
		module, process_name, dump_time, build_time) VALUES (?, 'x', ?, '{}', 'sig', 'm.dll', 'p.exe', ?, ?)`,
		id, ms(up), dt, bt); err != nil {
		t.Fatal(err)
	}
	return id
}

// migrationsOf is the goose provider of the store's own migrations: the
// SQLite ones, or the PostgreSQL twins on a connection of its own.
func migrationsOf(t *testing.T, s *SQLite) *goose.Provider {
	t.Helper()
	dialect, db, fsys := goose.DialectSQLite3, s.w, fs.FS(migrations.FS)
	if s.pg {
		cfg, err := pgx.ParseConfig(s.pgURL)
		if err != nil {
			t.Fatal(err)
		}
		db = stdlib.OpenDB(*cfg)
		t.Cleanup(func() { db.Close() })
		if fsys, err = fs.Sub(migrations.FS, "postgres"); err != nil {
			t.Fatal(err)
		}
		dialect = goose.DialectPostgres
	}
	p, err := goose.NewProvider(dialect, db, fsys)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestMigrationCrashTime: 00010 fills the crash clock of the dumps analysed
// before it (build times from the modules table), and goes down.
func TestMigrationCrashTime(t *testing.T) {
	forBackends(t, func(t *testing.T, open func(testing.TB, Config) *Store) {
		s := seededOn(t, open, 600, 100)
		ctx := context.Background()
		count := func(q string) int {
			var n int
			if err := s.w.QueryRowContext(ctx, q).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		n := count(`SELECT count(*) FROM analyses`)
		// Clocks from 1972 on a tenth of the dumps: the few seeded dumps
		// make too few implausible clocks of their own.
		if _, err := s.w.ExecContext(ctx, `UPDATE analyses SET dump_time = ? WHERE dump_id % 10 = 0`,
			ms(time.Date(1972, 2, 16, 0, 0, 0, 0, time.UTC))); err != nil {
			t.Fatal(err)
		}
		wantBad := count(`SELECT count(*) FROM crashes WHERE clock_implausible != 0`)
		wantBuilt := count(`SELECT count(*) FROM analyses WHERE build_time IS NOT NULL`)
		if wantBad < 1 || wantBuilt != n {
			t.Fatalf("seed: %d implausible clocks, %d build times", wantBad, wantBuilt)
		}
		p := migrationsOf(t, s)
		if _, err := p.DownTo(ctx, 9); err != nil {
			t.Fatal(err)
		}
		if n := count(`SELECT count(*) FROM crash_rollup WHERE dim LIKE 'crash:%'`); n != 0 {
			t.Errorf("down left %d crash-clock rollup rows", n)
		}
		if _, err := p.Up(ctx); err != nil {
			t.Fatal(err)
		}
		if got := count(`SELECT count(*) FROM analyses WHERE build_time IS NOT NULL`); got != wantBuilt {
			t.Errorf("backfilled %d build times, want %d", got, wantBuilt)
		}
		if got := count(`SELECT count(*) FROM crashes WHERE clock_implausible != 0`); got != wantBad {
			t.Errorf("backfilled %d implausible clocks, want %d", got, wantBad)
		}
		if got := count(`SELECT count(*) FROM crashes WHERE dump_time IS NULL OR crash_at = 0`); got != 0 {
			t.Errorf("%d crashes without their clock after the backfill", got)
		}
		checkRollups(t, s)
	})
}

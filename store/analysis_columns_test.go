package store

import (
	"bytes"
	"context"
	"database/sql"
	"io/fs"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for goose
	"github.com/pressly/goose/v3"

	"github.com/dumptriage/dumptriage/analyzer/report"
	"github.com/dumptriage/dumptriage/migrations"
)

// TestAnalysisColumns: the crashes row made from the columns an analysis
// stores beside its report (00014) is the one made from the report's JSON,
// which rows written before 00014 (oom NULL) still go by.
func TestAnalysisColumns(t *testing.T) {
	forBackends(t, func(t *testing.T, open func(testing.TB, Config) *Store) {
		st := open(t, Config{})
		s := st.Index.(*SQLite)
		ctx := context.Background()
		free := uint64(3 << 30)
		type row struct {
			version string
			oom     bool
			free    sql.NullInt64
		}
		for i, c := range []struct {
			rep  *report.Report
			want row
		}{
			{&report.Report{Signature: "a", Process: report.ProcessInfo{Version: "1.2.3"}}, row{version: "1.2.3"}},
			{&report.Report{Signature: "b"}, row{}},
			{&report.Report{Signature: "c", AllocationFailure: &report.AllocationFailure{LargestFreeBytes: &free}},
				row{oom: true, free: sql.NullInt64{Int64: int64(free), Valid: true}}},
			{&report.Report{Signature: "d", Process: report.ProcessInfo{Version: "7"}, AllocationFailure: &report.AllocationFailure{}},
				row{version: "7", oom: true}},
		} {
			if _, err := st.Ingest(ctx, bytes.NewReader(fakeDump(uint64(100+i), 4096)), Upload{FileName: "x.dmp"}); err != nil {
				t.Fatal(err)
			}
			j, err := st.Queue.Claim(ctx, "test", time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			a, err := NewAnalysis(c.rep, time.Now(), time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if err := st.Queue.Finish(ctx, j, a, ""); err != nil {
				t.Fatal(err)
			}
			read := func() row {
				var r row
				if err := s.r.QueryRowContext(ctx, `SELECT version, oom, largest_free FROM crashes WHERE dump_id = ?`,
					j.dumpRow).Scan(&r.version, &r.oom, &r.free); err != nil {
					t.Fatal(err)
				}
				return r
			}
			if got := read(); got != c.want {
				t.Errorf("%s from the columns: %+v, want %+v", c.rep.Signature, got, c.want)
			}
			// As a row written before 00014: the trigger reads the report.
			if _, err := s.w.ExecContext(ctx, `UPDATE analyses SET process_version = NULL, oom = NULL, largest_free = NULL
				WHERE dump_id = ?`, j.dumpRow); err != nil {
				t.Fatal(err)
			}
			if got := read(); got != c.want {
				t.Errorf("%s from the report: %+v, want %+v", c.rep.Signature, got, c.want)
			}
		}
		checkRollups(t, s)
	})
}

// TestPostgresMigration14DownUp: 00014 goes down and up again on
// PostgreSQL with analyses stored, and the rollups still add up.
func TestPostgresMigration14DownUp(t *testing.T) {
	b := remoteBackends(t)
	ctx := context.Background()
	st, err := OpenBackends(ctx, t.TempDir(), b, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := st.Index.(*SQLite)
	for i := range 3 {
		if _, err := st.Ingest(ctx, bytes.NewReader(fakeDump(uint64(200+i), 4096)), Upload{FileName: "x.dmp"}); err != nil {
			t.Fatal(err)
		}
		j, err := st.Queue.Claim(ctx, "test", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		rep := &report.Report{Signature: "s", Process: report.ProcessInfo{Version: "1"},
			CrashingThread: &report.CrashingThread{Frames: []report.Frame{{Module: "a.dll"}, {Module: "B.dll"}, {Module: "a.dll"}}}}
		a, err := NewAnalysis(rep, time.Now(), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Queue.Finish(ctx, j, a, ""); err != nil {
			t.Fatal(err)
		}
	}
	sub, err := fs.Sub(migrations.FS, "postgres")
	if err != nil {
		t.Fatal(err)
	}
	// goose on the plain driver, as OpenPostgres runs it.
	mdb, err := sql.Open("pgx", b.DB)
	if err != nil {
		t.Fatal(err)
	}
	defer mdb.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, mdb, sub)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(ctx, 12); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, `DELETE FROM frames WHERE dump_id IN (SELECT min(dump_id) FROM frames)`); err != nil {
		t.Fatal(err)
	}
	checkRollups(t, s)
}

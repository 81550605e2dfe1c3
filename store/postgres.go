package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/dumptriage/dumptriage/migrations"
)

// OpenPostgres opens the index, queue and accounts on PostgreSQL and applies
// the postgres-dialect migrations. It is the same SQLite type: most of the
// SQL is common, and the few SQLite-only forms are rewritten on the way to
// the server (see pgRewrite), so both backends run one implementation.
func OpenPostgres(ctx context.Context, url string) (_ *SQLite, err error) {
	defer wrap(&err, "open PostgreSQL index")
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(pgConnector{stdlib.GetConnector(*cfg)})
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, err
	}
	sub, err := fs.Sub(migrations.FS, "postgres")
	if err != nil {
		db.Close()
		return nil, err
	}
	// goose runs on the plain driver: its own SQL is PostgreSQL's already.
	// An advisory lock keeps two nodes starting at once from both migrating.
	mdb := stdlib.OpenDB(*cfg)
	locker, err := lock.NewPostgresSessionLocker()
	var p *goose.Provider
	if err == nil {
		p, err = goose.NewProvider(goose.DialectPostgres, mdb, sub, goose.WithSessionLocker(locker))
	}
	if err == nil {
		_, err = p.Up(ctx)
	}
	mdb.Close()
	if err != nil {
		db.Close()
		return nil, err
	}
	// One pool for reads and writes: PostgreSQL has no single-writer rule,
	// and the queue's claims lock rows (FOR UPDATE SKIP LOCKED).
	return &SQLite{w: db, r: db, pg: true, pgURL: url, now: time.Now, stmts: map[string]*sql.Stmt{}, pending: map[string]bool{}}, nil
}

// pgConnector wraps pgx's database/sql driver with the rewriting of queries
// and arguments.
type pgConnector struct{ c driver.Connector }

func (p pgConnector) Connect(ctx context.Context) (driver.Conn, error) {
	c, err := p.c.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &pgConn{c.(*stdlib.Conn)}, nil
}

func (p pgConnector) Driver() driver.Driver { return p.c.Driver() }

type pgConn struct{ *stdlib.Conn }

func (c *pgConn) Prepare(q string) (driver.Stmt, error) { return c.Conn.Prepare(pgRewrite(q)) }

func (c *pgConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	return c.Conn.PrepareContext(ctx, pgRewrite(q))
}

func (c *pgConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.ExecContext(ctx, pgRewrite(q), args)
}

func (c *pgConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	return c.Conn.QueryContext(ctx, pgRewrite(q), args)
}

// CheckNamedValue stores Go bools as 0/1: the flags are INTEGER columns in
// both dialects, as SQLite has no boolean type.
func (c *pgConn) CheckNamedValue(v *driver.NamedValue) error {
	if b, ok := v.Value.(bool); ok {
		if b {
			v.Value = int64(1)
		} else {
			v.Value = int64(0)
		}
		return nil
	}
	return c.Conn.CheckNamedValue(v)
}

var (
	pgCache sync.Map // query -> rewritten query

	pgIndexedBy = regexp.MustCompile(`\s+INDEXED BY \w+`)

	// SQLite's two-argument min/max and integer-as-boolean forms in upserts.
	pgReplacer = strings.NewReplacer(
		"min(run_after, excluded.run_after)", "least(jobs.run_after, excluded.run_after)",
		"max(priority, excluded.priority)", "greatest(jobs.priority, excluded.priority)",
		"rerun = (rerun OR state = 'running')", "rerun = CASE WHEN jobs.rerun <> 0 OR jobs.state = 'running' THEN 1 ELSE 0 END",
		"CASE WHEN state = 'queued'", "CASE WHEN jobs.state = 'queued'",
		"ELSE run_after END", "ELSE jobs.run_after END",
		"max(st.last_at, coalesce(f.last_at, 0))", "greatest(st.last_at, coalesce(f.last_at, 0))",
	)
)

const analysesUpsert = ` ON CONFLICT (dump_id) DO UPDATE SET analyzer_version = excluded.analyzer_version,
	analyzed_at = excluded.analyzed_at, duration_ms = excluded.duration_ms, report = excluded.report,
	crash_type = excluded.crash_type, crash_address = excluded.crash_address, signature = excluded.signature,
	module = excluded.module, module_version = excluded.module_version, os = excluded.os,
	os_version = excluded.os_version, arch = excluded.arch, process_name = excluded.process_name,
	dump_time = excluded.dump_time, alloc_bytes = excluded.alloc_bytes, stack_overflow = excluded.stack_overflow,
	damaged = excluded.damaged, build_time = excluded.build_time, process_version = excluded.process_version,
	oom = excluded.oom, largest_free = excluded.largest_free`

// pgRewrite turns the project's SQLite SQL into PostgreSQL's: ? and ?N
// placeholders become $N (outside string literals), INSERT OR REPLACE an
// upsert, INDEXED BY hints go, and a few scalar min/max become least/greatest.
func pgRewrite(q string) string {
	if v, ok := pgCache.Load(q); ok {
		return v.(string)
	}
	out := pgReplacer.Replace(q)
	out = pgIndexedBy.ReplaceAllString(out, "")
	if rest, ok := strings.CutPrefix(strings.TrimSpace(out), "INSERT OR REPLACE INTO analyses"); ok {
		out = "INSERT INTO analyses" + rest + analysesUpsert
	}
	if rest, ok := strings.CutPrefix(strings.TrimSpace(out), "INSERT OR IGNORE INTO"); ok {
		out = "INSERT INTO" + rest + " ON CONFLICT DO NOTHING"
	}
	var b strings.Builder
	n := 0
	inStr := false
	for i := 0; i < len(out); i++ {
		ch := out[i]
		switch {
		case ch == '\'':
			inStr = !inStr
			b.WriteByte(ch)
		case ch == '?' && !inStr:
			j := i + 1
			for j < len(out) && out[j] >= '0' && out[j] <= '9' {
				j++
			}
			if j > i+1 {
				b.WriteString("$" + out[i+1:j])
				i = j - 1
			} else {
				n++
				b.WriteString("$" + strconv.Itoa(n))
			}
		default:
			b.WriteByte(ch)
		}
	}
	out = b.String()
	pgCache.Store(q, out)
	return out
}

// pgClaim leases a job on PostgreSQL. FOR UPDATE SKIP LOCKED lets many
// workers on many machines claim at once without waiting on each other or
// taking the same job. It is one statement, so one round trip, whether or
// not there is a job: every queued job wakes idle workers on every node,
// and most of them find nothing.
func (s *SQLite) pgClaim(ctx context.Context, owner string, lease time.Duration) (*Job, error) {
	now := s.now()
	j := &Job{Owner: owner}
	var expired sql.NullInt64
	err := s.w.QueryRowContext(ctx, `WITH next AS (SELECT coalesce(
			(SELECT id FROM jobs WHERE state = 'running' AND lease_until < $1 LIMIT 1 FOR UPDATE SKIP LOCKED),
			(SELECT id FROM jobs WHERE state = 'queued' AND run_after <= $1
				ORDER BY priority DESC, run_after, id LIMIT 1 FOR UPDATE SKIP LOCKED)) AS id),
		claimed AS (UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = $2, lease_until = $3
			FROM next WHERE jobs.id = next.id
			RETURNING jobs.id, jobs.dump_id, jobs.attempts, jobs.last_error)
		UPDATE dumps d SET status = 'analyzing' FROM claimed c WHERE d.id = c.dump_id
		RETURNING c.id, c.dump_id, c.attempts, c.last_error, d.uid, d.sha256, d.size, d.file_expired_at`,
		ms(now), owner, ms(now.Add(lease))).
		Scan(&j.ID, &j.dumpRow, &j.Attempts, &j.LastErr, &j.DumpID, &j.SHA256, &j.Size, &expired)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNoJob
	}
	if err != nil {
		return nil, err
	}
	j.Expired = expired.Valid
	return j, nil
}

// pgNotifyChannel is where new jobs are announced to idle workers.
const pgNotifyChannel = "dumptriage_jobs"

// Notifies says whether Listen hears jobs queued by other processes.
func (s *SQLite) Notifies() bool { return s.pg }

// Listen calls wake whenever a job is queued anywhere (LISTEN/NOTIFY), until
// ctx ends; it reconnects after errors. Only for PostgreSQL.
func (s *SQLite) Listen(ctx context.Context, wake func()) {
	if !s.pg {
		return
	}
	for ctx.Err() == nil {
		// A lost connection is made again; the workers' polling covers the gap.
		_ = s.listenOnce(ctx, wake)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (s *SQLite) listenOnce(ctx context.Context, wake func()) error {
	c, err := pgx.Connect(ctx, s.pgURL)
	if err != nil {
		return err
	}
	defer c.Close(context.WithoutCancel(ctx))
	if _, err := c.Exec(ctx, "LISTEN "+pgNotifyChannel); err != nil {
		return err
	}
	wake() // anything queued while not listening
	for {
		if _, err := c.WaitForNotification(ctx); err != nil {
			return fmt.Errorf("listen: %w", err)
		}
		wake()
	}
}

// notifyJobs announces queued work inside tx; PostgreSQL delivers it at commit.
func (s *SQLite) notifyJobs(ctx context.Context, tx *sql.Tx) error {
	if !s.pg {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SELECT pg_notify('`+pgNotifyChannel+`', '')`)
	return err
}

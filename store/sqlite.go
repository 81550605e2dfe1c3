package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base32"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // the "sqlite" driver

	"github.com/dumptriage/dumptriage/migrations"
)

// SQLite is the embedded Index and Queue. Writes go through one connection
// (SQLite allows one writer; queueing writers in Go instead of in busy
// retries is what keeps "database is locked" away), reads through a pool.
type SQLite struct {
	w   *sql.DB
	r   *sql.DB
	now func() time.Time
	// pg is set when the database is PostgreSQL (OpenPostgres): w and r are
	// then one pool, and queries are rewritten by its driver.
	pg    bool
	pgURL string
	// scanOnly makes the dashboard count filtered trends and groups from
	// the crashes and sum every signature of a period, as before the
	// filter rollups (00013): the reference the tests compare them with.
	scanOnly bool
	// oomPointsLimit replaces maxOOMPoints when set (tests: few points).
	oomPointsLimit int

	// Write statements are prepared once: parsing them was a tenth of the
	// pipeline's CPU. A statement first runs unprepared inside its
	// transaction and is prepared after it, when the one connection is free.
	stmtMu  sync.Mutex
	stmts   map[string]*sql.Stmt
	pending map[string]bool
}

const sqlitePragmas = "_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(ON)"

// OpenSQLite opens (creating if needed) the database at path and applies
// the migrations.
func OpenSQLite(ctx context.Context, path string) (_ *SQLite, err error) {
	defer wrap(&err, "open index %s", path)
	// temp_store(MEMORY): the dashboard's triggers build small temporary
	// results on every stored analysis; keeping them off disk saves the writer time.
	w, err := sql.Open("sqlite", "file:"+path+"?"+sqlitePragmas+"&_pragma=temp_store(MEMORY)&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := migrate(ctx, w); err != nil {
		w.Close()
		return nil, err
	}
	// A 64 MiB page cache per reader keeps dashboard queries off the disk
	// once warm (SQLite's default is 2 MiB).
	r, err := sql.Open("sqlite", "file:"+path+"?"+sqlitePragmas+"&_pragma=query_only(1)&_pragma=cache_size(-65536)")
	if err != nil {
		w.Close()
		return nil, err
	}
	n := max(4, 2*runtime.NumCPU())
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	return &SQLite{w: w, r: r, now: time.Now, stmts: map[string]*sql.Stmt{}, pending: map[string]bool{}}, nil
}

func migrate(ctx context.Context, db *sql.DB) error {
	p, err := goose.NewProvider(goose.DialectSQLite3, db, migrations.FS)
	if err != nil {
		return err
	}
	_, err = p.Up(ctx)
	return err
}

// Close closes both pools.
func (s *SQLite) Close() error {
	s.stmtMu.Lock()
	for _, st := range s.stmts {
		st.Close()
	}
	s.stmtMu.Unlock()
	if s.pg {
		return s.w.Close()
	}
	return errors.Join(s.r.Close(), s.w.Close())
}

func (s *SQLite) cached(q string) *sql.Stmt {
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	st, ok := s.stmts[q]
	if !ok {
		s.pending[q] = true
	}
	return st
}

func (s *SQLite) exec(ctx context.Context, tx *sql.Tx, q string, args ...any) (sql.Result, error) {
	if st := s.cached(q); st != nil {
		return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, q, args...)
}

func (s *SQLite) queryRow(ctx context.Context, tx *sql.Tx, q string, args ...any) *sql.Row {
	if st := s.cached(q); st != nil {
		return tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return tx.QueryRowContext(ctx, q, args...)
}

// preparePending prepares the statements first seen in a transaction.
func (s *SQLite) preparePending(ctx context.Context) {
	s.stmtMu.Lock()
	var qs []string
	for q := range s.pending {
		qs = append(qs, q)
	}
	clear(s.pending)
	s.stmtMu.Unlock()
	for _, q := range qs {
		st, err := s.w.PrepareContext(ctx, q)
		if err != nil {
			continue // it keeps running unprepared
		}
		s.stmtMu.Lock()
		if _, dup := s.stmts[q]; dup {
			st.Close()
		} else {
			s.stmts[q] = st
		}
		s.stmtMu.Unlock()
	}
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// tx runs fn in a write transaction.
func (s *SQLite) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	err = tx.Commit()
	s.stmtMu.Lock()
	pending := len(s.pending) > 0
	s.stmtMu.Unlock()
	if pending {
		s.preparePending(context.WithoutCancel(ctx))
	}
	return err
}

var uidEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newUID returns an opaque 12-character id (60 random bits) of lower-case
// letters and digits, safe in URLs and as a command-line argument.
func newUID() string {
	var b [8]byte
	rand.Read(b[:])
	return uidEncoding.EncodeToString(b[:])[:12]
}

const dumpCols = `d.id, d.uid, d.sha256, d.size, d.file_name, d.wrapper, d.uploaded_at, d.uploaded_by, d.uploaded_from,
	d.upload_count, d.last_uploaded_at, d.status, d.error, d.file_expired_at, d.product, d.product_version,
	a.analyzer_version, a.analyzed_at, a.duration_ms, a.crash_type, a.crash_address, a.signature, a.module,
	a.module_version, a.os, a.os_version, a.arch, a.process_name, a.dump_time, a.alloc_bytes, a.stack_overflow, a.damaged,
	(SELECT x.clock_implausible FROM crashes x WHERE x.dump_id = d.id)`

const dumpFrom = ` FROM dumps d LEFT JOIN analyses a ON a.dump_id = d.id `

type scanner interface{ Scan(dest ...any) error }

func scanDump(sc scanner, rowID *int64, extra ...any) (Dump, error) {
	var (
		d                                                  Dump
		id, uploaded, last                                 int64
		expired, analyzedAt, durMS, dumpTime, alloc, so    sql.NullInt64
		damaged, badClock                                  sql.NullInt64
		ver, ctype, caddr, sig, mod, modVer, osn, osv, arc sql.NullString
		proc                                               sql.NullString
		status                                             string
	)
	dest := append([]any{&id, &d.ID, &d.SHA256, &d.Size, &d.FileName, &d.Wrapper, &uploaded, &d.UploadedBy, &d.UploadedFrom,
		&d.UploadCount, &last, &status, &d.Error, &expired, &d.Product, &d.ProductVersion,
		&ver, &analyzedAt, &durMS, &ctype, &caddr, &sig, &mod, &modVer, &osn, &osv, &arc, &proc, &dumpTime, &alloc, &so, &damaged, &badClock},
		extra...)
	err := sc.Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return d, ErrNotFound
	}
	if err != nil {
		return d, err
	}
	if rowID != nil {
		*rowID = id
	}
	d.Status = Status(status)
	d.UploadedAt, d.LastUploadedAt = fromMS(uploaded), fromMS(last)
	if expired.Valid {
		t := fromMS(expired.Int64)
		d.FileExpiredAt = &t
	}
	if ver.Valid {
		d.Summary = &Summary{AnalyzerVersion: ver.String, AnalyzedAt: fromMS(analyzedAt.Int64),
			Duration: time.Duration(durMS.Int64) * time.Millisecond, CrashType: ctype.String, CrashAddress: caddr.String,
			Signature: sig.String, Module: mod.String, ModuleVersion: modVer.String, OS: osn.String, OSVersion: osv.String,
			Arch: arc.String, ProcessName: proc.String, StackOverflow: so.Int64 != 0, Damaged: damaged.Int64 != 0,
			ClockImplausible: badClock.Int64 != 0}
		if dumpTime.Valid {
			t := fromMS(dumpTime.Int64)
			d.Summary.DumpTime = &t
		}
		if alloc.Valid {
			v := uint64(alloc.Int64)
			d.Summary.AllocBytes = &v
		}
	}
	return d, nil
}

// AddDump implements Index.
func (s *SQLite) AddDump(ctx context.Context, nd NewDump) (d Dump, dup bool, err error) {
	defer wrap(&err, "AddDump(%s)", nd.SHA256)
	d, dup, err = s.addDump(ctx, nd)
	// On PostgreSQL two web nodes may insert the same new dump at once; the
	// loser's transaction is aborted, and run again it finds the winner's row.
	for try := 0; s.pg && err != nil && try < 3 && strings.Contains(err.Error(), "dumps_sha256_key"); try++ {
		d, dup, err = s.addDump(ctx, nd)
	}
	return d, dup, err
}

func (s *SQLite) addDump(ctx context.Context, nd NewDump) (d Dump, dup bool, err error) {
	now := ms(s.now())
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var id int64
		err := s.queryRow(ctx, tx, `SELECT id FROM dumps WHERE sha256 = ?`, nd.SHA256).Scan(&id)
		switch {
		case err == nil:
			dup = true
			// The file was just stored again, so an expired one is back.
			_, err = s.exec(ctx, tx, `UPDATE dumps SET upload_count = upload_count + 1, last_uploaded_at = ?,
				file_expired_at = NULL WHERE id = ?`, now, id)
			if err != nil {
				return err
			}
			if nd.Product != "" || nd.ProductVersion != "" {
				// A later upload that names a product files a dump the first did not.
				if _, err := s.exec(ctx, tx, `UPDATE dumps SET product = ?, product_version = ?
					WHERE id = ? AND product = '' AND product_version = ''`,
					nd.Product, nd.ProductVersion, id); err != nil {
					return err
				}
			}
		case errors.Is(err, sql.ErrNoRows):
			for try := 0; ; try++ {
				err = s.queryRow(ctx, tx, `INSERT INTO dumps (uid, sha256, size, file_name, wrapper, uploaded_at,
					uploaded_by, uploaded_from, last_uploaded_at, product, product_version)
					VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
					newUID(), nd.SHA256, nd.Size, nd.FileName, nd.Wrapper, now, nd.UploadedBy, nd.UploadedFrom, now,
					nd.Product, nd.ProductVersion).Scan(&id)
				if err == nil || try == 3 || !strings.Contains(err.Error(), "dumps.uid") {
					break
				}
			}
			if err != nil {
				return err
			}
			if _, err := s.exec(ctx, tx, `INSERT INTO jobs (dump_id, run_after, created_at) VALUES (?, ?, ?)`,
				id, now, now); err != nil {
				return err
			}
			if err := s.notifyJobs(ctx, tx); err != nil {
				return err
			}
		default:
			return err
		}
		if err := s.addAnnotations(ctx, tx, id, nd.Annotations, nd.Attachments); err != nil {
			return err
		}
		d, err = scanDump(tx.QueryRowContext(ctx, `SELECT `+dumpCols+dumpFrom+`WHERE d.id = ?`, id), nil)
		return err
	})
	return d, dup, err
}

// Dump implements Index.
func (s *SQLite) Dump(ctx context.Context, id string) (Dump, error) {
	d, err := scanDump(s.r.QueryRowContext(ctx, `SELECT `+dumpCols+dumpFrom+`WHERE d.uid = ?`, id), nil)
	if err != nil {
		return d, fmt.Errorf("dump %q: %w", id, err)
	}
	return d, nil
}

// Report implements Index.
func (s *SQLite) Report(ctx context.Context, id string) (Dump, []byte, error) {
	var rep []byte
	d, err := scanDump(s.r.QueryRowContext(ctx, `SELECT `+dumpCols+`, a.report`+dumpFrom+`WHERE d.uid = ?`, id),
		nil, &rep)
	if err != nil {
		return d, nil, fmt.Errorf("dump %q: %w", id, err)
	}
	return d, rep, nil
}

// ListDumps implements Index: the dashboard's search with no dashboard-only
// filter (one query builder for both).
func (s *SQLite) ListDumps(ctx context.Context, q ListQuery) (DumpPage, error) {
	return s.SearchDumps(ctx, SearchQuery{ListQuery: q})
}

func parseCursor(c string) (at, id int64, ok bool) {
	a, b, found := strings.Cut(c, ".")
	if !found {
		return 0, 0, false
	}
	at, err1 := strconv.ParseInt(a, 10, 64)
	id, err2 := strconv.ParseInt(b, 10, 64)
	return at, id, err1 == nil && err2 == nil
}

// enqueue queues dump row id, or marks its running job to run again.
func (s *SQLite) enqueue(ctx context.Context, tx *sql.Tx, id, now int64) error {
	_, err := s.exec(ctx, tx, `INSERT INTO jobs (dump_id, run_after, created_at) VALUES (?, ?, ?)
		ON CONFLICT (dump_id) DO UPDATE SET rerun = (rerun OR state = 'running'),
		run_after = CASE WHEN state = 'queued' THEN min(run_after, excluded.run_after) ELSE run_after END`, id, now, now)
	if err != nil {
		return err
	}
	if err := s.notifyJobs(ctx, tx); err != nil {
		return err
	}
	_, err = s.exec(ctx, tx, `UPDATE dumps SET status = 'queued' WHERE id = ? AND status IN ('done', 'failed')`, id)
	return err
}

// Reanalyze implements Index.
func (s *SQLite) Reanalyze(ctx context.Context, uid string) (err error) {
	defer wrap(&err, "Reanalyze(%s)", uid)
	return s.tx(ctx, func(tx *sql.Tx) error {
		var id int64
		var expired sql.NullInt64
		err := s.queryRow(ctx, tx, `SELECT id, file_expired_at FROM dumps WHERE uid = ?`, uid).Scan(&id, &expired)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if expired.Valid {
			return ErrExpired
		}
		return s.enqueue(ctx, tx, id, ms(s.now()))
	})
}

// ReanalyzeAll implements Index.
func (s *SQLite) ReanalyzeAll(ctx context.Context, skipVersion string) (n int, err error) {
	defer wrap(&err, "ReanalyzeAll")
	now := ms(s.now())
	err = s.tx(ctx, func(tx *sql.Tx) error {
		ids, err := queryIDs(ctx, tx, `SELECT d.id FROM dumps d LEFT JOIN analyses a ON a.dump_id = d.id
			WHERE d.file_expired_at IS NULL AND (? = '' OR a.analyzer_version IS NULL OR a.analyzer_version != ?)`,
			skipVersion, skipVersion)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := s.enqueue(ctx, tx, id, now); err != nil {
				return err
			}
		}
		n = len(ids)
		return nil
	})
	return n, err
}

// ExpiryCandidates implements Index.
func (s *SQLite) ExpiryCandidates(ctx context.Context, before time.Time, limit int) ([]Dump, error) {
	return s.queryDumps(ctx, `SELECT `+dumpCols+dumpFrom+`WHERE d.file_expired_at IS NULL
		AND d.last_uploaded_at < ? AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.dump_id = d.id)
		ORDER BY d.last_uploaded_at, d.id LIMIT ?`, ms(before), limit)
}

// queryDumps runs a query selecting dumpCols on the reader pool.
func (s *SQLite) queryDumps(ctx context.Context, query string, args ...any) ([]Dump, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Dump
	for rows.Next() {
		d, err := scanDump(rows, nil)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// KeptBytes implements Index.
func (s *SQLite) KeptBytes(ctx context.Context) (int64, error) {
	var n int64
	err := s.r.QueryRowContext(ctx, `SELECT COALESCE(SUM(size), 0) FROM dumps WHERE file_expired_at IS NULL`).Scan(&n)
	return n, err
}

// MarkExpired implements Index.
func (s *SQLite) MarkExpired(ctx context.Context, uid string) error {
	_, err := s.w.ExecContext(ctx, `UPDATE dumps SET file_expired_at = ? WHERE uid = ? AND file_expired_at IS NULL`,
		ms(s.now()), uid)
	return err
}

// KeptSHA256 implements Index.
func (s *SQLite) KeptSHA256(ctx context.Context, hashes []string) (map[string]bool, error) {
	out := map[string]bool{}
	for len(hashes) > 0 {
		n := min(len(hashes), 500)
		batch := hashes[:n]
		hashes = hashes[n:]
		args := make([]any, n)
		for i, h := range batch {
			args[i] = h
		}
		rows, err := s.r.QueryContext(ctx, `SELECT sha256 FROM dumps WHERE file_expired_at IS NULL AND sha256 IN (?`+
			strings.Repeat(`, ?`, n-1)+`)`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var h string
			if err := rows.Scan(&h); err != nil {
				rows.Close()
				return nil, err
			}
			out[h] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func wrap(err *error, format string, args ...any) {
	if *err != nil {
		*err = fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), *err)
	}
}

// queryIDs runs a query whose rows are one integer id each.
func queryIDs(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]int64, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

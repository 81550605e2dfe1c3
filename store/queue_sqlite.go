package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// Claim implements Queue. Jobs whose lease ran out come first: they were
// started before anything still queued. Then the highest priority: fresh
// uploads before re-analyses that arriving symbols asked for.
func (s *SQLite) Claim(ctx context.Context, owner string, lease time.Duration) (_ *Job, err error) {
	if s.pg {
		return s.pgClaim(ctx, owner, lease)
	}
	now := s.now()
	var j *Job
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var id int64
		err := s.queryRow(ctx, tx, `SELECT id FROM (SELECT id FROM jobs WHERE state = 'running' AND lease_until < ?1 LIMIT 1)
			UNION ALL SELECT id FROM (SELECT id FROM jobs WHERE state = 'queued' AND run_after <= ?1
				ORDER BY priority DESC, run_after, id LIMIT 1)
			LIMIT 1`, ms(now)).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return errNoJob
		}
		if err != nil {
			return err
		}
		j = &Job{ID: id, Owner: owner}
		var expired sql.NullInt64
		err = s.queryRow(ctx, tx, `UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = ?,
			lease_until = ? WHERE id = ? RETURNING dump_id, attempts, last_error`, owner, ms(now.Add(lease)), id).
			Scan(&j.dumpRow, &j.Attempts, &j.LastErr)
		if err != nil {
			return err
		}
		err = s.queryRow(ctx, tx, `UPDATE dumps SET status = 'analyzing' WHERE id = ?
			RETURNING uid, sha256, size, file_expired_at`, j.dumpRow).Scan(&j.DumpID, &j.SHA256, &j.Size, &expired)
		j.Expired = expired.Valid
		return err
	})
	if err != nil {
		return nil, err
	}
	return j, nil
}

// owned checks that j's lease is still held by j.Owner and returns rerun.
func (s *SQLite) owned(ctx context.Context, tx *sql.Tx, j *Job) (rerun bool, err error) {
	var owner, state string
	err = s.queryRow(ctx, tx, `SELECT lease_owner, state, rerun FROM jobs WHERE id = ?`, j.ID).Scan(&owner, &state, &rerun)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && (owner != j.Owner || state != "running")) {
		return false, fmt.Errorf("job %d: %w", j.ID, ErrLeaseLost)
	}
	return rerun, err
}

// Heartbeat implements Queue.
func (s *SQLite) Heartbeat(ctx context.Context, j *Job, lease time.Duration) error {
	res, err := s.w.ExecContext(ctx, `UPDATE jobs SET lease_until = ? WHERE id = ? AND lease_owner = ? AND state = 'running'`,
		ms(s.now().Add(lease)), j.ID, j.Owner) // every Lease/3 per job: not worth preparing
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("job %d: %w", j.ID, ErrLeaseLost)
	}
	return nil
}

// end closes the job, or queues it again when a re-analysis was asked for
// while it ran.
func (s *SQLite) end(ctx context.Context, tx *sql.Tx, j *Job, rerun bool) error {
	if rerun {
		now := ms(s.now())
		if _, err := s.exec(ctx, tx, `UPDATE jobs SET state = 'queued', rerun = 0, attempts = 0, lease_owner = '',
			lease_until = 0, run_after = ? WHERE id = ?`, now, j.ID); err != nil {
			return err
		}
		_, err := s.exec(ctx, tx, `UPDATE dumps SET status = 'queued' WHERE id = ?`, j.dumpRow)
		return err
	}
	_, err := s.exec(ctx, tx, `DELETE FROM jobs WHERE id = ?`, j.ID)
	return err
}

// Finish implements Queue.
func (s *SQLite) Finish(ctx context.Context, j *Job, a *Analysis, note string) (err error) {
	defer wrap(&err, "Finish(job %d)", j.ID)
	return s.tx(ctx, func(tx *sql.Tx) error {
		// The lease check and whether this is the dump's first analysis
		// (alerts come from first analyses only) in one query.
		var owner, state string
		var rerun, analysed bool
		err := s.queryRow(ctx, tx, `SELECT j.lease_owner, j.state, j.rerun,
			EXISTS (SELECT 1 FROM analyses a WHERE a.dump_id = j.dump_id) FROM jobs j WHERE j.id = ?`, j.ID).
			Scan(&owner, &state, &rerun, &analysed)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && (owner != j.Owner || state != "running")) {
			return fmt.Errorf("job %d: %w", j.ID, ErrLeaseLost)
		}
		if err != nil {
			return err
		}
		// Everything that does not need the analysis row comes first: storing
		// it updates rows every analysis updates (the rollups' totals), whose
		// locks other workers' Finish then wait on until this one commits.
		if analysed {
			// Modules and frames exist only beside an analysis. (Skipping
			// the deletes also skips PostgreSQL's statement triggers.)
			if _, err := s.exec(ctx, tx, `DELETE FROM modules WHERE dump_id = ?`, j.dumpRow); err != nil {
				return err
			}
			if _, err := s.exec(ctx, tx, `DELETE FROM frames WHERE dump_id = ?`, j.dumpRow); err != nil {
				return err
			}
		}
		if err := s.insertModules(ctx, tx, j.dumpRow, a.Modules); err != nil {
			return err
		}
		if _, err := s.exec(ctx, tx, `UPDATE dumps SET status = 'done', error = ? WHERE id = ?`, note, j.dumpRow); err != nil {
			return err
		}
		if err := s.end(ctx, tx, j, rerun); err != nil {
			return err
		}
		// Alerts come from a dump's first analysis, not from re-analyses.
		var alerts *alertInputs
		if !analysed {
			if alerts, err = s.readAlertInputs(ctx, tx, a.Signature); err != nil {
				return err
			}
		}
		dumpTime, alloc, build := a.nullables()
		_, err = s.exec(ctx, tx, `INSERT OR REPLACE INTO analyses (dump_id, analyzer_version, analyzed_at, duration_ms,
			report, crash_type, crash_address, signature, module, module_version, os, os_version, arch, process_name,
			dump_time, alloc_bytes, stack_overflow, damaged, build_time, process_version, oom, largest_free)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			j.dumpRow, a.AnalyzerVersion, ms(a.AnalyzedAt), a.Duration.Milliseconds(), string(a.Report), a.CrashType,
			a.CrashAddress, a.Signature, a.Module, a.ModuleVersion, a.OS, a.OSVersion, a.Arch, a.ProcessName, dumpTime,
			alloc, a.StackOverflow, a.Damaged, build, a.ProcessVersion, a.OOM, a.largestFree())
		if err != nil {
			return err
		}
		// The frames' triggers read the crashes row the analysis made.
		if err := s.insertFrames(ctx, tx, j.dumpRow, a.Frames); err != nil {
			return err
		}
		return s.raiseAlerts(ctx, tx, j.dumpRow, a.Signature, alerts)
	})
}

// insertModules adds a dump's modules: on PostgreSQL in one statement
// (arrays unnested), on SQLite in batches of rows.
func (s *SQLite) insertModules(ctx context.Context, tx *sql.Tx, dumpRow int64, mods []ModuleRow) error {
	if len(mods) == 0 {
		return nil
	}
	if s.pg {
		idx := make([]int64, len(mods))
		var name, version, debugID, debugFile, codeID, symbols []string
		for i, m := range mods {
			idx[i] = int64(i)
			name, version, debugID = append(name, m.Name), append(version, m.Version), append(debugID, m.DebugID)
			debugFile, codeID, symbols = append(debugFile, m.DebugFile), append(codeID, m.CodeID), append(symbols, m.Symbols)
		}
		_, err := s.exec(ctx, tx, `INSERT INTO modules (dump_id, idx, name, version, debug_id, debug_file, code_id, symbols)
			SELECT $1::bigint, * FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])`,
			dumpRow, idx, name, version, debugID, debugFile, codeID, symbols)
		return err
	}
	return s.insertRows(ctx, tx, `INSERT INTO modules (dump_id, idx, name, version, debug_id, debug_file, code_id, symbols) VALUES `,
		8, len(mods), func(i int) []any {
			m := mods[i]
			return []any{dumpRow, i, m.Name, m.Version, m.DebugID, m.DebugFile, m.CodeID, m.Symbols}
		})
}

// insertFrames adds a dump's crashing-thread frames, as insertModules. One
// statement on PostgreSQL also runs its frames statement triggers once.
func (s *SQLite) insertFrames(ctx context.Context, tx *sql.Tx, dumpRow int64, frames []FrameRow) error {
	if len(frames) == 0 {
		return nil
	}
	if s.pg {
		idx := make([]int64, len(frames))
		var module, function, moduleOffset, functionOffset, trust []string
		for i, f := range frames {
			idx[i] = int64(i)
			module, function = append(module, f.Module), append(function, f.Function)
			moduleOffset, functionOffset = append(moduleOffset, f.ModuleOffset), append(functionOffset, f.FunctionOffset)
			trust = append(trust, string(f.Trust))
		}
		_, err := s.exec(ctx, tx, `INSERT INTO frames (dump_id, idx, module, function, module_offset, function_offset, trust)
			SELECT $1::bigint, * FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])`,
			dumpRow, idx, module, function, moduleOffset, functionOffset, trust)
		return err
	}
	return s.insertRows(ctx, tx, `INSERT INTO frames (dump_id, idx, module, function, module_offset, function_offset, trust) VALUES `,
		7, len(frames), func(i int) []any {
			f := frames[i]
			return []any{dumpRow, i, f.Module, f.Function, f.ModuleOffset, f.FunctionOffset, string(f.Trust)}
		})
}

// insertRows inserts n rows of cols values each, in batches of 32, 16, ...
// 1 rows per statement, so that a few prepared statements cover any n.
func (s *SQLite) insertRows(ctx context.Context, tx *sql.Tx, prefix string, cols, n int, row func(i int) []any) error {
	tuple := "(?" + strings.Repeat(", ?", cols-1) + ")"
	for start, batch := 0, 32; start < n; {
		for start+batch > n {
			batch /= 2
		}
		q := prefix + tuple + strings.Repeat(", "+tuple, batch-1)
		args := make([]any, 0, batch*cols)
		for i := start; i < start+batch; i++ {
			args = append(args, row(i)...)
		}
		if _, err := s.exec(ctx, tx, q, args...); err != nil {
			return err
		}
		start += batch
	}
	return nil
}

// Fail implements Queue.
func (s *SQLite) Fail(ctx context.Context, j *Job, msg string) (err error) {
	defer wrap(&err, "Fail(job %d)", j.ID)
	return s.tx(ctx, func(tx *sql.Tx) error {
		rerun, err := s.owned(ctx, tx, j)
		if err != nil {
			return err
		}
		if _, err := s.exec(ctx, tx, `UPDATE dumps SET status = 'failed', error = ? WHERE id = ?`, msg, j.dumpRow); err != nil {
			return err
		}
		return s.end(ctx, tx, j, rerun)
	})
}

// Retry implements Queue.
func (s *SQLite) Retry(ctx context.Context, j *Job, msg string, at time.Time) (err error) {
	defer wrap(&err, "Retry(job %d)", j.ID)
	return s.requeue(ctx, j, msg, at, 0)
}

// Release implements Queue.
func (s *SQLite) Release(ctx context.Context, j *Job) (err error) {
	defer wrap(&err, "Release(job %d)", j.ID)
	return s.requeue(ctx, j, j.LastErr, s.now(), 1)
}

func (s *SQLite) requeue(ctx context.Context, j *Job, msg string, at time.Time, giveBack int) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.owned(ctx, tx, j); err != nil {
			return err
		}
		if _, err := s.exec(ctx, tx, `UPDATE jobs SET state = 'queued', lease_owner = '', lease_until = 0, run_after = ?,
			last_error = ?, attempts = attempts - ? WHERE id = ?`, ms(at), msg, giveBack, j.ID); err != nil {
			return err
		}
		_, err := s.exec(ctx, tx, `UPDATE dumps SET status = 'queued' WHERE id = ?`, j.dumpRow)
		return err
	})
}

// ExpireLeases implements Queue.
func (s *SQLite) ExpireLeases(ctx context.Context, dead func(owner string) bool) (n int, err error) {
	defer wrap(&err, "ExpireLeases")
	err = s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, lease_owner FROM jobs WHERE state = 'running'`)
		if err != nil {
			return err
		}
		var ids []int64
		for rows.Next() {
			var id int64
			var owner string
			if err := rows.Scan(&id, &owner); err != nil {
				rows.Close()
				return err
			}
			if dead(owner) {
				ids = append(ids, id)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, id := range ids {
			if _, err := s.exec(ctx, tx, `UPDATE jobs SET lease_until = 0 WHERE id = ?`, id); err != nil {
				return err
			}
		}
		n = len(ids)
		return nil
	})
	return n, err
}

// Pending implements Queue.
func (s *SQLite) Pending(ctx context.Context) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs`).Scan(&n)
	return n, err
}

// largestFree is the largest_free column: NULL when unknown or past int64.
func (a *Analysis) largestFree() any {
	if a.LargestFree == nil || *a.LargestFree > math.MaxInt64 {
		return nil
	}
	return int64(*a.LargestFree)
}

// nullables are the analysis columns that are NULL when unknown: the dump's
// own time (ms), the failing allocation's size and the modules' build time (ms).
func (a *Analysis) nullables() (dumpTime, alloc, build any) {
	if a.DumpTime != nil {
		dumpTime = ms(*a.DumpTime)
	}
	if a.AllocBytes != nil {
		alloc = int64(*a.AllocBytes)
	}
	if a.BuildTime != nil {
		build = ms(*a.BuildTime)
	}
	return dumpTime, alloc, build
}

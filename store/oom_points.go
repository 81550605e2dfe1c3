package store

import (
	"context"
	"database/sql"
	"errors"
)

// The trends' out-of-memory chart shows every n-th OOM crash of the period
// in time order, at most maxOOMPoints. The count comes from crash_rollup's
// 'oom' days (migration 00013) when unfiltered, and each point is read by
// skipping n-1 entries of the clock's covering partial index from the one
// before: no crash row is read, and nothing is sorted.

// oomIndex is the covering OOM index of clock c and its time column.
func oomIndex(c Clock) (index, at string) {
	if c == ClockCrash {
		return "crashes_oom_by_crash_at", "crash_at"
	}
	return "crashes_oom_cover", "at"
}

// corruptPrefix starts damaged dumps' signatures (signature.CorruptPrefix).
const corruptPrefix = "corrupt dump | "

// oomCount counts the OOM crashes of [from, until) days on clock c, less
// those of damaged dumps unless withDamaged.
func (s *SQLite) oomCount(ctx context.Context, c Clock, from, until int64, withDamaged bool) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT coalesce(sum(n), 0) FROM crash_rollup WHERE dim = ? AND key = ''
		AND day >= ? AND day < ?`, rollupDim(c, "oom"), from, until).Scan(&n); err != nil {
		return 0, err
	}
	if withDamaged {
		return n, nil
	}
	// Damaged dumps are few: their signatures' range of crashes_by_signature.
	_, at := oomIndex(c)
	query := `SELECT count(*) FROM crashes INDEXED BY crashes_by_signature WHERE signature >= ? AND signature < ?
		AND substr(signature, 1, 15) = ? AND oom AND ` + at + ` >= ? AND ` + at + ` < ?`
	args := []any{corruptPrefix, corruptPrefix[:len(corruptPrefix)-1] + "!", corruptPrefix, from * dayMS, until * dayMS}
	if s.pg {
		// Text ranges follow the collation there.
		query = `SELECT count(*) FROM crashes WHERE substr(signature, 1, 15) = ? AND oom AND ` + at + ` >= ? AND ` + at + ` < ?`
		args = args[2:]
	}
	var dmg int
	if err := s.r.QueryRowContext(ctx, query, args...).Scan(&dmg); err != nil {
		return 0, err
	}
	return n - dmg, nil
}

// oomPoints reads every step-th of the count OOM crashes of [from, until)
// days on clock c that meet cond (on crashes c, columns of the OOM index).
func (s *SQLite) oomPoints(ctx context.Context, c Clock, cond string, args []any, from, until int64, count int) ([]OOMPoint, error) {
	index, at := oomIndex(c)
	step := max(1, (count+maxOOMPoints-1)/maxOOMPoints)
	var out []OOMPoint
	var lastAt, lastID int64
	for i := 0; i < count; i += step {
		query := `SELECT c.` + at + `, c.dump_id, c.signature, c.alloc_bytes, c.largest_free FROM crashes c INDEXED BY ` + index +
			` WHERE c.oom AND c.` + at + ` >= ? AND c.` + at + ` < ? AND ` + cond
		a := append([]any{from * dayMS, until * dayMS}, args...)
		offset := 0
		if i > 0 {
			query += ` AND (c.` + at + `, c.dump_id) > (?, ?)`
			a = append(a, lastAt, lastID)
			offset = step - 1
		}
		query += ` ORDER BY c.` + at + `, c.dump_id LIMIT 1 OFFSET ?`
		var p OOMPoint
		var req, free sql.NullInt64
		err := s.r.QueryRowContext(ctx, query, append(a, offset)...).Scan(&lastAt, &lastID, &p.Signature, &req, &free)
		if errors.Is(err, sql.ErrNoRows) {
			break
		}
		if err != nil {
			return nil, err
		}
		if err := s.r.QueryRowContext(ctx, `SELECT uid FROM dumps WHERE id = ?`, lastID).Scan(&p.DumpID); err != nil {
			return nil, err
		}
		p.At = fromMS(lastAt)
		if req.Valid {
			v := uint64(req.Int64)
			p.Requested = &v
		}
		if free.Valid {
			v := uint64(free.Int64)
			p.LargestFree = &v
		}
		out = append(out, p)
	}
	return out, nil
}

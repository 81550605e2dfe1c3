package store

import (
	"context"
	"database/sql"
)

// The trends' out-of-memory chart shows every n-th OOM crash of the period
// in time order, at most maxOOMPoints. The count comes from crash_rollup's
// 'oom' days (migration 00013) when unfiltered, and each point is read by
// skipping n-1 entries of the clock's covering partial index from the one
// before: nothing is numbered or sorted.

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
// damaged is how many of them are damaged (0 when withDamaged).
func (s *SQLite) oomCount(ctx context.Context, c Clock, from, until int64, withDamaged bool) (count, damaged int, err error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT coalesce(sum(n), 0) FROM crash_rollup WHERE dim = ? AND key = ''
		AND day >= ? AND day < ?`, rollupDim(c, "oom"), from, until).Scan(&n); err != nil {
		return 0, 0, err
	}
	if withDamaged {
		return n, 0, nil
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
		return 0, 0, err
	}
	return n - dmg, dmg, nil
}

// oomPoints reads every step-th of the count OOM crashes of [from, until)
// days on clock c that meet cond (on crashes c, columns of the OOM index;
// "" for all),
// in one statement: a recursive query finds each point by skipping step-1
// index entries from the one before (seeking to its time), so the points
// cost index steps inside the database rather than a round trip each.
func (s *SQLite) oomPoints(ctx context.Context, c Clock, cond string, args []any, from, until int64, count int) ([]OOMPoint, error) {
	if count <= 0 {
		return nil, nil
	}
	index, at := oomIndex(c)
	if cond == "" {
		// Nothing to test on the entries: the narrow index.
		index, cond = "crashes_oom_seq", "1 = 1"
		if c == ClockCrash {
			index = "crashes_oom_seq_by_crash_at"
		}
	}
	step := max(1, (count+maxOOMPoints-1)/maxOOMPoints)
	pick := func(lower string) string {
		return `(SELECT c.dump_id FROM crashes c INDEXED BY ` + index + ` WHERE c.oom AND c.` + at + ` >= ` + lower +
			` AND c.` + at + ` < ? AND ` + cond
	}
	prevAt := `(SELECT ` + at + ` FROM crashes WHERE dump_id = p.id)`
	query := `WITH RECURSIVE p(i, id) AS (
		SELECT 0, ` + pick(`?`) + ` ORDER BY c.` + at + `, c.dump_id LIMIT 1)
		UNION ALL
		SELECT p.i + 1, ` + pick(prevAt) + ` AND NOT (c.` + at + ` = ` + prevAt + ` AND c.dump_id <= p.id)
			ORDER BY c.` + at + `, c.dump_id LIMIT 1 OFFSET ?) FROM p WHERE p.id IS NOT NULL AND p.i < ?)
	SELECT c.` + at + `, d.uid, c.signature, c.alloc_bytes, c.largest_free FROM p JOIN crashes c ON c.dump_id = p.id
		JOIN dumps d ON d.id = p.id ORDER BY p.i`
	a := append([]any{from * dayMS, until * dayMS}, args...)
	a = append(append(append(a, until*dayMS), args...), step-1, (count-1)/step)
	rows, err := s.r.QueryContext(ctx, query, a...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []OOMPoint
	for rows.Next() {
		var p OOMPoint
		var t int64
		var req, free sql.NullInt64
		if err := rows.Scan(&t, &p.DumpID, &p.Signature, &req, &free); err != nil {
			return nil, err
		}
		p.At = fromMS(t)
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
	return out, rows.Err()
}

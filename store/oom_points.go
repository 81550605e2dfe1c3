package store

import (
	"context"
	"database/sql"
	"strconv"
)

// The trends' out-of-memory chart shows every OOM crash of the period when
// there are at most maxOOMPoints, and otherwise the first of each of
// maxOOMPoints equal slices of the period: each point is then one seek of
// the clock's covering partial index, so the chart costs the same at a
// million dumps as at a thousand. (Every n-th crash would walk all of them.)
// The count comes from crash_rollup's 'oom' days (migration 00013).

// oomSlice is the slice of [from, until) days that instant at (ms) falls in;
// oomSliceSQL is the same on a column. Slice k starts at oomSliceStartSQL(k):
// the two agree on integers.
func (s *SQLite) oomSlice(at, from, until int64) int64 {
	return (at - from*dayMS) * int64(s.maxOOMPoints()) / ((until - from) * dayMS)
}

func (s *SQLite) oomSliceSQL(col string, from, until int64) string {
	return `(` + col + ` - ` + strconv.FormatInt(from*dayMS, 10) + `) * ` + strconv.Itoa(s.maxOOMPoints()) + ` / ` +
		strconv.FormatInt((until-from)*dayMS, 10)
}

// oomSliceStartSQL is oomSlice's slice k start, as SQL on the column k.
func (s *SQLite) oomSliceStartSQL(k string, from, until int64) string {
	width, m := strconv.FormatInt((until-from)*dayMS, 10), strconv.Itoa(s.maxOOMPoints())
	return `(` + strconv.FormatInt(from*dayMS, 10) + ` + ((` + k + `) * ` + width + ` + ` + m + ` - 1) / ` + m + `)`
}

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
		// Text ranges follow the collation there: the prefix is written out
		// so that the planner can use the partial indexes of 00016.
		query = `SELECT count(*) FROM crashes WHERE substr(signature, 1, 15) = '` + corruptPrefix + `' AND oom AND ` + at + ` >= ? AND ` + at + ` < ?`
		args = []any{from * dayMS, until * dayMS}
	}
	var dmg int
	if err := s.r.QueryRowContext(ctx, query, args...).Scan(&dmg); err != nil {
		return 0, 0, err
	}
	return n - dmg, dmg, nil
}

// oomPoints reads the OOM crashes of [from, until) days on clock c that meet
// cond (on crashes c, columns of the OOM index; "" for all), count of them:
// all of them, or the first of each slice (oomSlice).
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
	details := `SELECT c.` + at + `, d.uid, c.signature, c.alloc_bytes, c.largest_free FROM `
	var query string
	var a []any
	if count <= s.maxOOMPoints() {
		query = details + `crashes c INDEXED BY ` + index + ` JOIN dumps d ON d.id = c.dump_id
			WHERE c.oom AND c.` + at + ` >= ? AND c.` + at + ` < ? AND ` + cond + `
			ORDER BY c.` + at + `, c.dump_id LIMIT ` + strconv.Itoa(s.maxOOMPoints())
		a = append([]any{from * dayMS, until * dayMS}, args...)
	} else {
		query = `WITH RECURSIVE k(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM k WHERE k + 1 < ` + strconv.Itoa(s.maxOOMPoints()) + `),
			p(id) AS (SELECT (SELECT c.dump_id FROM crashes c INDEXED BY ` + index + `
				WHERE c.oom AND c.` + at + ` >= ` + s.oomSliceStartSQL("k", from, until) + ` AND c.` + at + ` < ` + s.oomSliceStartSQL("k + 1", from, until) + `
				AND ` + cond + ` ORDER BY c.` + at + `, c.dump_id LIMIT 1) FROM k)
		` + details + `p JOIN crashes c ON c.dump_id = p.id JOIN dumps d ON d.id = p.id ORDER BY c.` + at + `, c.dump_id`
		a = args
	}
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

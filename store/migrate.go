package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strings"
)

// copyTables are the tables Migrate copies, parents first. The dashboard's
// tables (crashes, crash_rollup, crash_groups) are not among them: the
// destination's triggers rebuild them as analyses and frames arrive.
// keyed says the table has a primary key, so a resumed copy skips rows
// already there; serial names an identity column to move past the copied ids.
var copyTables = []struct {
	name   string
	keyed  bool
	serial string
}{
	{"users", true, "id"},
	{"dumps", true, "id"},
	{"analyses", true, ""},
	{"modules", true, ""},
	{"frames", true, ""},
	{"jobs", true, "id"},
	{"sessions", true, ""},
	{"tokens", true, "id"},
	{"shares", true, "id"},
	{"login_failures", false, ""},
	{"upload_log", false, ""},
	{"audit_log", true, "id"},
	{"symbol_files", true, "id"},
	{"settings", true, ""},
	{"annotations", true, ""},
	{"attachments", true, "id"},
	{"group_status", true, ""},
	{"webhooks", true, "id"},
	{"alerts", true, "id"},
	{"deliveries", true, "id"},
	{"delivery_attempts", true, "id"},
}

// MigrateStats says what Migrate copied.
type MigrateStats struct {
	Rows, Files, SymbolFiles int
	Bytes                    int64
}

// Migrate copies everything of src into dst: the index tables, the dump
// files and the symbol files. It can be run again after an interruption: rows
// and files already in dst are skipped (the tables without a key are copied
// whole, once). dst should not be taking uploads while it runs.
func Migrate(ctx context.Context, src, dst *Store, srcSym, dstSym *Symbols, progress func(string)) (st MigrateStats, err error) {
	defer wrap(&err, "migrate")
	from, ok1 := src.Index.(*SQLite)
	to, ok2 := dst.Index.(*SQLite)
	if !ok1 || !ok2 {
		return st, errors.New("both indexes must be SQLite or PostgreSQL")
	}
	for _, t := range copyTables {
		n, err := copyTable(ctx, from, to, t.name, t.keyed, t.serial)
		if err != nil {
			return st, fmt.Errorf("table %s: %w", t.name, err)
		}
		st.Rows += n
		progress(fmt.Sprintf("table %s: %d rows copied", t.name, n))
	}
	rows, err := from.r.QueryContext(ctx, `SELECT sha256 FROM dumps WHERE file_expired_at IS NULL ORDER BY id`)
	if err != nil {
		return st, err
	}
	var hashes []string
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			rows.Close()
			return st, err
		}
		hashes = append(hashes, h)
	}
	rows.Close()
	for i, h := range hashes {
		n, err := copyBlob(ctx, src.Blobs, dst.Blobs, h)
		if err != nil {
			return st, fmt.Errorf("dump file %s: %w", h, err)
		}
		if n > 0 {
			st.Files++
			st.Bytes += n
		}
		if (i+1)%100 == 0 {
			progress(fmt.Sprintf("dump files: %d/%d", i+1, len(hashes)))
		}
	}
	progress(fmt.Sprintf("dump files: %d copied (%s), %d already there", st.Files, FormatBytes(st.Bytes), len(hashes)-st.Files))
	if srcSym != nil && dstSym != nil {
		prow, err := from.r.QueryContext(ctx, `SELECT path FROM symbol_files ORDER BY id`)
		if err != nil {
			return st, err
		}
		var paths []string
		for prow.Next() {
			var p string
			if err := prow.Scan(&p); err != nil {
				prow.Close()
				return st, err
			}
			paths = append(paths, p)
		}
		prow.Close()
		for _, p := range paths {
			if b, err := dstSym.Files.Open(ctx, p); err == nil {
				b.Close()
				continue
			}
			b, err := srcSym.Files.Open(ctx, p)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return st, err
			}
			err = dstSym.Files.Put(ctx, p, io.NewSectionReader(b, 0, b.Size()))
			b.Close()
			if err != nil {
				return st, err
			}
			st.SymbolFiles++
		}
		progress(fmt.Sprintf("symbol files: %d copied", st.SymbolFiles))
	}
	return st, nil
}

func copyTable(ctx context.Context, from, to *SQLite, table string, keyed bool, serial string) (int, error) {
	if !keyed {
		var n int
		if err := to.r.QueryRowContext(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil {
			return 0, err
		}
		if n > 0 {
			return 0, nil // copied by an earlier run
		}
	}
	rows, err := from.r.QueryContext(ctx, `SELECT * FROM `+table)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	q := `INSERT INTO ` + table + ` (` + strings.Join(cols, ", ") + `) VALUES (?` + strings.Repeat(", ?", len(cols)-1) + `)`
	if keyed {
		q += ` ON CONFLICT DO NOTHING`
	}
	total := 0
	batch := make([][]any, 0, 500)
	flush := func() error {
		err := to.tx(ctx, func(tx *sql.Tx) error {
			for _, v := range batch {
				res, err := tx.ExecContext(ctx, q, v...)
				if err != nil {
					return err
				}
				n, _ := res.RowsAffected()
				total += int(n)
			}
			return nil
		})
		batch = batch[:0]
		return err
	}
	for rows.Next() {
		v := make([]any, len(cols))
		p := make([]any, len(cols))
		for i := range v {
			p[i] = &v[i]
		}
		if err := rows.Scan(p...); err != nil {
			return total, err
		}
		for i, x := range v {
			if b, ok := x.([]byte); ok && !(table == "attachments" && cols[i] == "data") {
				v[i] = string(b) // TEXT both sides
			}
		}
		batch = append(batch, v)
		if len(batch) == cap(batch) {
			if err := flush(); err != nil {
				return total, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return total, err
	}
	if len(batch) > 0 {
		if err := flush(); err != nil {
			return total, err
		}
	}
	if to.pg && serial != "" {
		// Explicit ids do not move an identity column's sequence.
		_, err := to.w.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence('`+table+`', '`+serial+`'),
			GREATEST((SELECT max(`+serial+`) FROM `+table+`), 1))`)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// copyBlob copies one dump file unless dst has it; it returns the bytes copied.
func copyBlob(ctx context.Context, src, dst Blobs, key string) (int64, error) {
	if b, err := dst.Open(ctx, key); err == nil {
		b.Close()
		return 0, nil
	}
	b, err := src.Open(ctx, key)
	if errors.Is(err, ErrNotFound) {
		return 0, nil // gone from the source too; the row stays as it was
	}
	if err != nil {
		return 0, err
	}
	defer b.Close()
	w, err := dst.Create(ctx)
	if err != nil {
		return 0, err
	}
	defer w.Abort()
	n, err := io.Copy(w, io.NewSectionReader(b, 0, b.Size()))
	if err != nil {
		return n, err
	}
	return n, w.Commit(key)
}

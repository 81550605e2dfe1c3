package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/dumptriage/dumptriage/analyzer/symbols/symfile"
)

const symbolCols = `path, kind, name, debug_id, debug_file, code_id, code_file, arch, size, sha1, uploaded_at, uploaded_by, source`

func scanSymbolFile(sc scanner) (SymbolFile, error) {
	var f SymbolFile
	var kind string
	var at int64
	err := sc.Scan(&f.Path, &kind, &f.Name, &f.DebugID, &f.DebugFile, &f.CodeID, &f.CodeFile, &f.Arch, &f.Size, &f.SHA1,
		&at, &f.UploadedBy, &f.Source)
	if errors.Is(err, sql.ErrNoRows) {
		return f, ErrNotFound
	}
	f.Kind, f.UploadedAt = symfile.Kind(kind), fromMS(at)
	return f, err
}

// AddSymbolFile implements SymbolIndex.
func (s *SQLite) AddSymbolFile(ctx context.Context, f SymbolFile) (changed bool, err error) {
	defer wrap(&err, "AddSymbolFile(%s)", f.Path)
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var old string
		err := tx.QueryRowContext(ctx, `SELECT sha1 FROM symbol_files WHERE path = ?`, f.Path).Scan(&old)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		changed = old != f.SHA1
		_, err = tx.ExecContext(ctx, `INSERT INTO symbol_files (`+symbolCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (path) DO UPDATE SET kind = excluded.kind, name = excluded.name, debug_id = excluded.debug_id,
			debug_file = excluded.debug_file, code_id = excluded.code_id, code_file = excluded.code_file, arch = excluded.arch,
			size = excluded.size, sha1 = excluded.sha1, uploaded_at = excluded.uploaded_at, uploaded_by = excluded.uploaded_by,
			source = excluded.source`,
			f.Path, string(f.Kind), f.Name, f.DebugID, f.DebugFile, f.CodeID, f.CodeFile, f.Arch, f.Size, f.SHA1,
			ms(f.UploadedAt), f.UploadedBy, f.Source)
		return err
	})
	return changed, err
}

// SymbolFile implements SymbolIndex.
func (s *SQLite) SymbolFile(ctx context.Context, key string) (SymbolFile, error) {
	return scanSymbolFile(s.r.QueryRowContext(ctx, `SELECT `+symbolCols+` FROM symbol_files WHERE path = ?`, key))
}

// ListSymbolFiles implements SymbolIndex.
func (s *SQLite) ListSymbolFiles(ctx context.Context, limit int) (_ []SymbolFile, total int, err error) {
	defer wrap(&err, "ListSymbolFiles")
	if limit <= 0 || limit > 1000 {
		limit = 200
	}
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM symbol_files`).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+symbolCols+` FROM symbol_files ORDER BY uploaded_at DESC, id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []SymbolFile
	for rows.Next() {
		f, err := scanSymbolFile(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, f)
	}
	return out, total, rows.Err()
}

// symbolPriority is the job priority of re-analyses started by arriving
// symbols: below fresh uploads (0).
const symbolPriority = -10

// QueueForSymbols implements SymbolIndex.
func (s *SQLite) QueueForSymbols(ctx context.Context, f SymbolFile) (n int, err error) {
	defer wrap(&err, "QueueForSymbols(%s)", f.Path)
	now := ms(s.now())
	err = s.tx(ctx, func(tx *sql.Tx) error {
		// A PDB or .sym helps dumps whose module had no PDB yet; an image
		// helps unwinding (and exports) for every dump loading it.
		var q string
		var args []any
		switch {
		case f.Kind == symfile.KindPE:
			q = `SELECT DISTINCT m.dump_id FROM modules m WHERE m.code_id = ? COLLATE NOCASE`
			args = []any{f.CodeID}
		case f.DebugID != "":
			q = `SELECT DISTINCT m.dump_id FROM modules m WHERE m.debug_id = ? AND m.symbols != 'pdb'`
			args = []any{f.DebugID}
		default:
			return nil
		}
		ids, err := queryIDs(ctx, tx, `SELECT d.id FROM dumps d WHERE d.file_expired_at IS NULL AND d.id IN (`+q+`)`, args...)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `INSERT INTO jobs (dump_id, run_after, created_at, priority) VALUES (?, ?, ?, ?)
				ON CONFLICT (dump_id) DO UPDATE SET rerun = (rerun OR state = 'running'), priority = max(priority, excluded.priority)`,
				id, now, now, symbolPriority); err != nil {
				return err
			}
			if err := s.notifyJobs(ctx, tx); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE dumps SET status = CASE WHEN status IN ('done', 'failed') THEN 'queued' ELSE status END,
				symbols_arrived_at = ?, symbols_arrived = ? WHERE id = ?`, now, f.Name, id); err != nil {
				return err
			}
		}
		n = len(ids)
		return nil
	})
	return n, err
}

// MissingSymbols implements SymbolIndex: over the recent most recent
// crashes, the modules with a debug id whose analysis found no debug
// symbols, by how many of those crashes have them on the crashing stack,
// then by how many load them. Modules whose symbols have arrived since are
// left out.
func (s *SQLite) MissingSymbols(ctx context.Context, recent, limit int) (_ []MissingSymbol, err error) {
	defer wrap(&err, "MissingSymbols")
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	// The crashing stacks' modules are gathered once, not probed per module row.
	rows, err := s.r.QueryContext(ctx, `WITH recent AS MATERIALIZED (SELECT dump_id FROM crashes ORDER BY at DESC LIMIT ?),
		stack AS MATERIALIZED (SELECT DISTINCT f.dump_id, lower(f.module) AS module FROM recent r
			JOIN frames f ON f.dump_id = r.dump_id WHERE f.module != '')
		SELECT m.name, m.debug_file, m.debug_id, max(m.code_id), max(m.version), max(m.symbols),
			count(*) AS loaded, count(s.dump_id) AS on_stack
		FROM recent r JOIN modules m ON m.dump_id = r.dump_id
		LEFT JOIN stack s ON s.dump_id = m.dump_id AND s.module = lower(m.name)
		WHERE m.symbols IN ('', 'exports') AND m.debug_id != ''
			AND NOT EXISTS (SELECT 1 FROM symbol_files sf WHERE sf.debug_id = m.debug_id AND sf.kind != 'pe')
		GROUP BY m.debug_id, m.debug_file, m.name
		ORDER BY on_stack DESC, loaded DESC, m.name LIMIT ?`, recent, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []MissingSymbol
	for rows.Next() {
		var m MissingSymbol
		if err := rows.Scan(&m.Name, &m.DebugFile, &m.DebugID, &m.CodeID, &m.Version, &m.Has, &m.Loaded, &m.OnStack); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// SymbolArrival implements SymbolIndex.
func (s *SQLite) SymbolArrival(ctx context.Context, dumpID string) (*SymbolArrival, error) {
	var at sql.NullInt64
	var files string
	err := s.r.QueryRowContext(ctx, `SELECT symbols_arrived_at, symbols_arrived FROM dumps WHERE uid = ?`, dumpID).Scan(&at, &files)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("dump %q: %w", dumpID, ErrNotFound)
	}
	if err != nil || !at.Valid {
		return nil, err
	}
	return &SymbolArrival{At: fromMS(at.Int64), Files: files}, nil
}

// Setting implements SymbolIndex; "" when unset.
func (s *SQLite) Setting(ctx context.Context, key string) (string, error) {
	var v string
	err := s.r.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}

// SetSetting implements SymbolIndex; "" deletes the setting.
func (s *SQLite) SetSetting(ctx context.Context, key, value string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if strings.TrimSpace(value) == "" {
			_, err := tx.ExecContext(ctx, `DELETE FROM settings WHERE key = ?`, key)
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, key, value, ms(s.now()))
		return err
	})
}

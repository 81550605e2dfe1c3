package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/dumptriage/dumptriage/analyzer/report"
	"github.com/dumptriage/dumptriage/internal/seed"
)

// Imported is a dump added with its analysis and without its file: made-up
// data for demos and benchmarks.
type Imported struct {
	SHA256, FileName string
	Size             int64
	UploadedAt       time.Time
	UploadedBy       string
	FileExpiredAt    *time.Time
	Report           *report.Report
	AnalyzedAt       time.Time
	Duration         time.Duration
}

// Import adds n analysed dumps, made by next(i) in order, in batches of
// one transaction each; progress, when set, is called after each batch.
// Durability is relaxed until it returns: it is for bulk data that can be
// made again.
func (s *SQLite) Import(ctx context.Context, n int, next func(i int) (Imported, error), progress func(done int)) (err error) {
	defer wrap(&err, "import")
	if !s.pg {
		if err := s.relaxForImport(ctx); err != nil {
			return err
		}
		defer s.restoreAfterImport(context.WithoutCancel(ctx))
	}
	const batch = 2000
	for done := 0; done < n; {
		k := min(batch, n-done)
		err := s.tx(ctx, func(tx *sql.Tx) error {
			for i := 0; i < k; i++ {
				d, err := next(done + i)
				if err != nil {
					return err
				}
				if err := s.insertImported(ctx, tx, &d); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		done += k
		if progress != nil {
			progress(done)
		}
	}
	return nil
}

// relaxForImport sets SQLite's bulk-load pragmas on the writer connection.
// PostgreSQL needs none: a batch is one transaction either way.
func (s *SQLite) relaxForImport(ctx context.Context) error {
	for _, p := range []string{
		// A big page cache keeps the batch's index pages in memory until commit.
		`PRAGMA cache_size = -262144`,
		// Statement journals (the triggers' upserts need them) stay in memory.
		`PRAGMA temp_store = MEMORY`,
		`PRAGMA synchronous = OFF`,
	} {
		if _, err := s.w.ExecContext(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

func (s *SQLite) restoreAfterImport(ctx context.Context) {
	s.w.ExecContext(ctx, `PRAGMA cache_size = -2000`)
	s.w.ExecContext(ctx, `PRAGMA synchronous = NORMAL`)
}

// Seed fills the index with cfg.Dumps made-up analyses (internal/seed), for
// demos and the dashboard's benchmarks.
func (s *SQLite) Seed(ctx context.Context, cfg seed.Config) error {
	if cfg.Now.IsZero() {
		cfg.Now = s.now()
	}
	g := seed.New(cfg)
	return s.Import(ctx, g.Config().Dumps, func(i int) (Imported, error) {
		d := g.Dump(i)
		return Imported{SHA256: d.SHA256, FileName: d.FileName, Size: d.Size, UploadedAt: d.UploadedAt, UploadedBy: "seed",
			FileExpiredAt: d.FileExpiredAt, Report: d.Report, AnalyzedAt: d.AnalyzedAt, Duration: d.Duration}, nil
	}, cfg.Progress)
}

func (s *SQLite) insertImported(ctx context.Context, tx *sql.Tx, d *Imported) error {
	a, err := NewAnalysis(d.Report, d.AnalyzedAt, d.Duration)
	if err != nil {
		return err
	}
	var expired any
	if d.FileExpiredAt != nil {
		expired = ms(*d.FileExpiredAt)
	}
	var id int64
	err = tx.QueryRowContext(ctx, `INSERT INTO dumps (uid, sha256, size, file_name, uploaded_at, uploaded_by, uploaded_from,
		last_uploaded_at, status, file_expired_at) VALUES (?, ?, ?, ?, ?, ?, '127.0.0.1', ?, 'done', ?) RETURNING id`,
		newUID(), d.SHA256, d.Size, d.FileName, ms(d.UploadedAt), d.UploadedBy, ms(d.UploadedAt), expired).Scan(&id)
	if err != nil {
		return err
	}
	dumpTime, alloc, build := a.nullables()
	if _, err := tx.ExecContext(ctx, `INSERT INTO analyses (dump_id, analyzer_version, analyzed_at, duration_ms,
		report, crash_type, crash_address, signature, module, module_version, os, os_version, arch, process_name,
		dump_time, alloc_bytes, stack_overflow, build_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id, a.AnalyzerVersion, ms(a.AnalyzedAt), a.Duration.Milliseconds(), string(a.Report), a.CrashType,
		a.CrashAddress, a.Signature, a.Module, a.ModuleVersion, a.OS, a.OSVersion, a.Arch, a.ProcessName, dumpTime,
		alloc, a.StackOverflow, build); err != nil {
		return err
	}
	if err := s.insertRows(ctx, tx, `INSERT INTO modules (dump_id, idx, name, version, debug_id, debug_file, code_id) VALUES `,
		7, len(a.Modules), func(i int) []any {
			m := a.Modules[i]
			return []any{id, i, m.Name, m.Version, m.DebugID, m.DebugFile, m.CodeID}
		}); err != nil {
		return err
	}
	return s.insertRows(ctx, tx, `INSERT INTO frames (dump_id, idx, module, function, module_offset, function_offset, trust) VALUES `,
		7, len(a.Frames), func(i int) []any {
			f := a.Frames[i]
			return []any{id, i, f.Module, f.Function, f.ModuleOffset, f.FunctionOffset, string(f.Trust)}
		})
}

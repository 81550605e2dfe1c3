package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Config tunes a Store. Zero values take the defaults.
type Config struct {
	// MaxDumpBytes bounds a dump after decompression (default 64 GiB).
	MaxDumpBytes int64
	// MinFreeBytes is the disk space uploads leave free (default 1 GiB).
	MinFreeBytes int64
	// MaxAge expires dump files not uploaded for this long (0: never).
	MaxAge time.Duration
	// MaxTotalBytes expires the oldest dump files while the kept ones add
	// up to more (0: no limit).
	MaxTotalBytes int64
}

// DefaultMaxDumpBytes is the default bound on a decompressed dump.
const DefaultMaxDumpBytes = 64 << 30

// Store is the dump pipeline's state: index, queue and files.
type Store struct {
	Index Index
	Queue Queue
	Blobs Blobs
	// Auth is the account layer (users, sessions, tokens, shares, audit);
	// its methods are the Store's.
	Auth

	cfg Config
	now func() time.Time
	// commitMu orders committing an upload's file and indexing it (shared)
	// against expiring a file (exclusive), so an expiry never deletes a file
	// that a concurrent duplicate upload just brought back.
	commitMu sync.RWMutex
	wake     chan struct{}
}

// Open opens the store in a data folder: index.db and the dump files.
func Open(ctx context.Context, dir string, cfg Config) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	blobs, err := NewDir(dir)
	if err != nil {
		return nil, err
	}
	idx, err := OpenSQLite(ctx, filepath.Join(dir, "index.db"))
	if err != nil {
		return nil, err
	}
	if cfg.MinFreeBytes > 0 {
		blobs.MinFree = cfg.MinFreeBytes
	}
	return New(idx, idx, blobs, cfg), nil
}

// Backends says where a Store keeps its index and its files; empty
// fields mean the data folder (index.db, dumps/).
type Backends struct {
	DB    string // postgres://... (DUMPTRIAGE_DB)
	Blobs string // s3://BUCKET[/prefix]?endpoint=...&region=... (DUMPTRIAGE_BLOBS)
}

// Remote says whether nothing but caches and spools stays in the data folder.
func (b Backends) Remote() bool { return b.DB != "" && b.Blobs != "" }

// OpenIndex opens the index a Backends names: SQLite in dir, or PostgreSQL.
func OpenIndex(ctx context.Context, dir, db string) (*SQLite, error) {
	switch {
	case db == "":
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		return OpenSQLite(ctx, filepath.Join(dir, "index.db"))
	case strings.HasPrefix(db, "postgres://"), strings.HasPrefix(db, "postgresql://"):
		return OpenPostgres(ctx, db)
	}
	return nil, fmt.Errorf("--db %s: want postgres://... (or nothing for SQLite in the data folder)", redactURL(db))
}

// OpenBlobs opens the file store a Backends names: dir, or an S3 bucket.
func OpenBlobs(ctx context.Context, dir, blobs string, cfg Config) (Blobs, error) {
	switch {
	case blobs == "":
		d, err := NewDir(dir)
		if err != nil {
			return nil, err
		}
		if cfg.MinFreeBytes > 0 {
			d.MinFree = cfg.MinFreeBytes
		}
		return d, nil
	case strings.HasPrefix(blobs, "s3://"):
		return OpenS3(ctx, blobs, filepath.Join(dir, "tmp"))
	}
	return nil, fmt.Errorf("--blobs %s: want s3://BUCKET[/prefix]?endpoint=...&region=... (or nothing for the data folder)", redactURL(blobs))
}

// OpenBackends opens the store on the given backends, with dir for what
// stays local (spools and caches, and the defaults' index and files).
func OpenBackends(ctx context.Context, dir string, b Backends, cfg Config) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	blobs, err := OpenBlobs(ctx, dir, b.Blobs, cfg)
	if err != nil {
		return nil, err
	}
	idx, err := OpenIndex(ctx, dir, b.DB)
	if err != nil {
		return nil, err
	}
	return New(idx, idx, blobs, cfg), nil
}

// New assembles a Store from its parts.
func New(idx Index, q Queue, blobs Blobs, cfg Config) *Store {
	if cfg.MaxDumpBytes <= 0 {
		cfg.MaxDumpBytes = DefaultMaxDumpBytes
	}
	st := &Store{Index: idx, Queue: q, Blobs: blobs, cfg: cfg, now: time.Now, wake: make(chan struct{}, 1)}
	if a, ok := idx.(Auth); ok {
		st.Auth = a
	}
	return st
}

// Close closes the index.
func (s *Store) Close() error { return s.Index.Close() }

// Wake tells idle workers in this process that a job is ready.
func (s *Store) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Dump returns one dump.
func (s *Store) Dump(ctx context.Context, id string) (Dump, error) { return s.Index.Dump(ctx, id) }

// Report returns a dump and its report JSON (nil before the first analysis).
func (s *Store) Report(ctx context.Context, id string) (Dump, []byte, error) {
	return s.Index.Report(ctx, id)
}

// ListDumps lists dumps, newest first.
func (s *Store) ListDumps(ctx context.Context, q ListQuery) (DumpPage, error) {
	return s.Index.ListDumps(ctx, q)
}

// OpenFile opens a dump's file; ErrExpired once retention deleted it.
func (s *Store) OpenFile(ctx context.Context, id string) (Dump, Blob, error) {
	d, err := s.Index.Dump(ctx, id)
	if err != nil {
		return d, nil, err
	}
	if d.FileExpired() {
		return d, nil, fmt.Errorf("dump %s: %w", id, ErrExpired)
	}
	b, err := s.Blobs.Open(ctx, d.SHA256)
	return d, b, err
}

// DeleteDump removes a dump, its analysis, shares and file.
func (s *Store) DeleteDump(ctx context.Context, id string) (Dump, error) {
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	// Index first, as in expire: a crash between the two leaves an orphan
	// file for Recover, never a record without its file.
	d, err := s.Index.DeleteDump(ctx, id)
	if err != nil {
		return d, err
	}
	if d.FileExpired() {
		return d, nil
	}
	if err := s.Blobs.Delete(ctx, d.SHA256); err != nil && !errors.Is(err, ErrNotFound) {
		return d, fmt.Errorf("delete dump %q: %w", id, err)
	}
	return d, nil
}

// Reanalyze queues one dump for analysis.
func (s *Store) Reanalyze(ctx context.Context, id string) error {
	if err := s.Index.Reanalyze(ctx, id); err != nil {
		return err
	}
	s.Wake()
	return nil
}

// ReanalyzeAll queues every dump with a kept file, skipping those analysed
// by skipVersion when it is set.
func (s *Store) ReanalyzeAll(ctx context.Context, skipVersion string) (int, error) {
	n, err := s.Index.ReanalyzeAll(ctx, skipVersion)
	if n > 0 {
		s.Wake()
	}
	return n, err
}

// RecoverStats says what Recover cleaned up.
type RecoverStats struct {
	PartialFiles int // temp files of interrupted uploads
	OrphanFiles  int // committed files never indexed, or expired but not yet deleted
	Leases       int // jobs of dead local workers made runnable
}

// Recover cleans up after a crash: it removes partial uploads and orphan
// files and frees the jobs of dead workers on this machine. Call it at start,
// before accepting uploads, from the one process that takes uploads.
func (s *Store) Recover(ctx context.Context) (st RecoverStats, err error) {
	defer wrap(&err, "recover")
	if st.PartialFiles, err = s.Blobs.Recover(ctx); err != nil {
		return st, err
	}
	var batch []string
	sweep := func() error {
		kept, err := s.Index.KeptSHA256(ctx, batch)
		if err != nil {
			return err
		}
		for _, k := range batch {
			if !kept[k] {
				if err := s.Blobs.Delete(ctx, k); err != nil {
					return err
				}
				st.OrphanFiles++
			}
		}
		batch = batch[:0]
		return nil
	}
	err = s.Blobs.Walk(ctx, func(key string) error {
		batch = append(batch, key)
		if len(batch) == 500 {
			return sweep()
		}
		return nil
	})
	if err == nil && len(batch) > 0 {
		err = sweep()
	}
	if err != nil {
		return st, err
	}
	st.Leases, err = s.Queue.ExpireLeases(ctx, deadLocalOwner)
	return st, err
}

// RetentionStats says what ApplyRetention expired.
type RetentionStats struct {
	Expired int
	Freed   int64
}

// ApplyRetention deletes dump files older than MaxAge, then the oldest
// files while the kept ones exceed MaxTotalBytes. Analyses stay. Dumps with
// a pending job are kept until it ends.
func (s *Store) ApplyRetention(ctx context.Context) (st RetentionStats, err error) {
	defer wrap(&err, "retention")
	if s.cfg.MaxAge > 0 {
		for {
			ds, err := s.Index.ExpiryCandidates(ctx, s.now().Add(-s.cfg.MaxAge), 200)
			if err != nil {
				return st, err
			}
			for _, d := range ds {
				if err := s.expire(ctx, d, &st); err != nil {
					return st, err
				}
			}
			if len(ds) < 200 {
				break
			}
		}
	}
	if s.cfg.MaxTotalBytes > 0 {
		kept, err := s.Index.KeptBytes(ctx)
		if err != nil {
			return st, err
		}
		for kept > s.cfg.MaxTotalBytes {
			ds, err := s.Index.ExpiryCandidates(ctx, s.now().Add(time.Hour), 200)
			if err != nil || len(ds) == 0 {
				return st, err // nothing left that may expire
			}
			for _, d := range ds {
				if kept <= s.cfg.MaxTotalBytes {
					break
				}
				if err := s.expire(ctx, d, &st); err != nil {
					return st, err
				}
				kept -= d.Size
			}
		}
	}
	return st, nil
}

func (s *Store) expire(ctx context.Context, d Dump, st *RetentionStats) error {
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	// Index first: a crash between the two leaves an orphan file, which
	// Recover deletes, never a record pointing at a missing file.
	if err := s.Index.MarkExpired(ctx, d.ID); err != nil {
		return err
	}
	if err := s.Blobs.Delete(ctx, d.SHA256); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	st.Expired++
	st.Freed += d.Size
	return nil
}

// RunRetention applies retention now and then every interval until ctx ends.
func (s *Store) RunRetention(ctx context.Context, every time.Duration, report func(RetentionStats, error)) {
	if s.cfg.MaxAge <= 0 && s.cfg.MaxTotalBytes <= 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		st, err := s.ApplyRetention(ctx)
		if report != nil && (err != nil || st.Expired > 0) {
			report(st, err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RecoverLeases frees the jobs of dead worker processes on this machine.
// Worker-only processes call it at start instead of Recover.
func (s *Store) RecoverLeases(ctx context.Context) (int, error) {
	return s.Queue.ExpireLeases(ctx, deadLocalOwner)
}

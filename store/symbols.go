package store

import (
	"archive/zip"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/dumptriage/dumptriage/analyzer/symbols/symfile"
)

// SymbolFiles keeps symbol files by their symbol-store path (name/ID/name).
// SymbolDir is the embedded implementation; the analyzer reads the files
// through SearchPath.
type SymbolFiles interface {
	// Put stores the file at key, replacing any file there, atomically.
	Put(ctx context.Context, key string, src io.Reader) error
	Open(ctx context.Context, key string) (Blob, error) // ErrNotFound if absent
	// SearchPath is the symbol path element (_NT_SYMBOL_PATH syntax) the
	// analyzer finds the files through.
	SearchPath() string
}

// SymbolDir is a symbol-store directory on the local disk.
type SymbolDir struct {
	root, tmp string
}

// NewSymbolDir creates the directory; tmp is where files are written before
// they are renamed into place.
func NewSymbolDir(root, tmp string) (*SymbolDir, error) {
	for _, d := range []string{root, tmp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	return &SymbolDir{root: root, tmp: tmp}, nil
}

func (d *SymbolDir) path(key string) (string, error) {
	parts := strings.Split(key, "/")
	if len(parts) != 3 {
		return "", fmt.Errorf("bad symbol key %q", key)
	}
	for _, p := range parts {
		if p == "" || p == "." || p == ".." || strings.ContainsAny(p, `\:`) {
			return "", fmt.Errorf("bad symbol key %q", key)
		}
	}
	return filepath.Join(d.root, parts[0], parts[1], parts[2]), nil
}

// Put implements SymbolFiles.
func (d *SymbolDir) Put(ctx context.Context, key string, src io.Reader) (err error) {
	defer wrap(&err, "store symbol file %s", key)
	p, err := d.path(key)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(d.tmp, "symbol-*.part")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := io.Copy(f, src); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), p); err != nil {
		return err
	}
	return syncDir(filepath.Dir(p))
}

// Open implements SymbolFiles.
func (d *SymbolDir) Open(ctx context.Context, key string) (Blob, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	return openFileBlob(p, "symbol file "+key)
}

// SearchPath implements SymbolFiles.
func (d *SymbolDir) SearchPath() string { return d.root }

// SymbolFile is one stored symbol file.
type SymbolFile struct {
	Path       string // in the store: name/ID/name
	Kind       symfile.Kind
	Name       string
	DebugID    string // Breakpad form
	DebugFile  string
	CodeID     string
	CodeFile   string
	Arch       string
	Size       int64
	SHA1       string
	UploadedAt time.Time
	UploadedBy string
	Source     string
}

// SentryDebugID is the debug id as Sentry and sentry-cli print it.
func (f SymbolFile) SentryDebugID() string {
	if f.Kind == symfile.KindPE && f.DebugID == "" {
		return symfile.SentryDebugID("")
	}
	if f.DebugID == "" {
		return ""
	}
	return symfile.SentryDebugID(f.DebugID)
}

// SymbolResult is the outcome of one uploaded file.
type SymbolResult struct {
	Name   string // as uploaded (a zip member's path)
	Status string // stored, duplicate or skipped
	Reason string // why it was skipped
	File   SymbolFile
	// Reanalyses counts the dumps queued for re-analysis because of it.
	Reanalyses int
}

// Symbol upload outcomes.
const (
	SymbolStored    = "stored"
	SymbolDuplicate = "duplicate"
	SymbolSkipped   = "skipped"
)

// MissingSymbol is a module seen in recent crashes without symbols.
type MissingSymbol struct {
	Name, DebugFile, DebugID, CodeID, Version string
	// OnStack counts recent crashes with the module on the crashing
	// thread's stack: the crashes its symbols would improve.
	OnStack int
	// Loaded counts recent crashes that loaded it.
	Loaded int
	// Has says what the analysis had instead: exports, or "" for nothing.
	Has string
}

// SymbolArrival says that symbols for a dump's modules arrived.
type SymbolArrival struct {
	At    time.Time
	Files string // names of the files
}

// SymbolIndex is the index's part for symbols.
type SymbolIndex interface {
	// AddSymbolFile records a stored file; it reports whether the path
	// was new or its content changed.
	AddSymbolFile(ctx context.Context, f SymbolFile) (changed bool, err error)
	SymbolFile(ctx context.Context, key string) (SymbolFile, error)
	ListSymbolFiles(ctx context.Context, limit int) ([]SymbolFile, int, error)
	// QueueForSymbols queues, below fresh uploads, the re-analysis of
	// every kept dump that loads a module matching f, and notes on each
	// that symbols arrived. It returns how many dumps were queued.
	QueueForSymbols(ctx context.Context, f SymbolFile) (int, error)
	MissingSymbols(ctx context.Context, recent, limit int) ([]MissingSymbol, error)
	SymbolArrival(ctx context.Context, dumpID string) (*SymbolArrival, error)
	Setting(ctx context.Context, key string) (string, error)
	SetSetting(ctx context.Context, key, value string) error
}

// SymbolConfig tunes Symbols. Zero values take the defaults.
type SymbolConfig struct {
	// MaxFileBytes bounds one symbol file, also inside a zip (default 4 GiB).
	MaxFileBytes int64
	// MaxZipBytes bounds what a zip's members add up to once
	// decompressed (default 16 GiB).
	MaxZipBytes int64
	// MaxZipFiles bounds a zip's members (default 20,000).
	MaxZipFiles int
	// SymbolPath is the operator's --symbols path, searched after the
	// server's own store.
	SymbolPath string
	// CacheDir keeps files downloaded from the SymSrv upstreams, one
	// directory per upstream.
	CacheDir string
	// ChunkDir keeps the chunks of chunked uploads until assembly.
	ChunkDir string
}

// Symbols is the server's symbol store: files, their index entries, the
// re-analysis of dumps they help, and the upstream symbol server setting.
type Symbols struct {
	Files  SymbolFiles
	Index  SymbolIndex
	st     *Store
	cfg    SymbolConfig
	chunks chunkState

	upstreamMu sync.Mutex // one change of the upstream list at a time

	missingMu    sync.Mutex
	missing      []MissingSymbol
	missingLimit int
	missingAt    time.Time
}

// Setting keys.
const settingSymbolUpstream = "symbols.upstream"

// MicrosoftSymbolServer is the public symbol server of Windows' own modules.
const MicrosoftSymbolServer = "https://msdl.microsoft.com/download/symbols"

// OpenSymbols opens the symbol store in a data folder (symbols/, and
// symcache/ for upstream downloads), indexed by the Store's SQLite index.
func OpenSymbols(st *Store, dataDir string, cfg SymbolConfig) (*Symbols, error) {
	idx, ok := st.Index.(SymbolIndex)
	if !ok {
		return nil, errors.New("the index keeps no symbols")
	}
	local, err := NewSymbolDir(filepath.Join(dataDir, "symbols"), filepath.Join(dataDir, "tmp"))
	if err != nil {
		return nil, err
	}
	var files SymbolFiles = local
	if s3, ok := st.Blobs.(*S3); ok {
		// With dump files in S3, symbol files live there too; the data
		// folder keeps a mirror the analyzer reads.
		files = NewS3SymbolFiles(s3, local)
	}
	if cfg.CacheDir == "" {
		cfg.CacheDir = filepath.Join(dataDir, "symcache")
	}
	if cfg.ChunkDir == "" {
		cfg.ChunkDir = filepath.Join(dataDir, "chunks")
	}
	if err := os.MkdirAll(cfg.ChunkDir, 0o755); err != nil {
		return nil, err
	}
	return NewSymbols(st, files, idx, cfg), nil
}

// NewSymbols assembles Symbols from its parts.
func NewSymbols(st *Store, files SymbolFiles, idx SymbolIndex, cfg SymbolConfig) *Symbols {
	if cfg.MaxFileBytes <= 0 {
		cfg.MaxFileBytes = 4 << 30
	}
	if cfg.MaxZipBytes <= 0 {
		cfg.MaxZipBytes = 16 << 30
	}
	if cfg.MaxZipFiles <= 0 {
		cfg.MaxZipFiles = 20000
	}
	return &Symbols{Files: files, Index: idx, st: st, cfg: cfg, chunks: chunkState{jobs: map[string]*assembly{}}}
}

// MaxFileBytes is the bound on one symbol file.
func (s *Symbols) MaxFileBytes() int64 { return s.cfg.MaxFileBytes }

// Sources lists what analyses search, in order, for display.
type Sources struct {
	Configured string // the --symbols path
	// Upstreams are every symbol server, the enabled ones first in the
	// order they are searched.
	Upstreams []SymbolUpstream
}

// Enabled returns the symbol servers analyses search, in order.
func (src Sources) Enabled() []SymbolUpstream {
	var on []SymbolUpstream
	for _, u := range src.Upstreams {
		if u.Enabled {
			on = append(on, u)
		}
	}
	return on
}

// None says that nothing but uploads can name frames.
func (src Sources) None() bool { return src.Configured == "" && len(src.Enabled()) == 0 }

// Sources returns the configured symbol sources.
func (s *Symbols) Sources(ctx context.Context) (Sources, error) {
	up, err := s.Upstreams(ctx)
	return Sources{Configured: s.cfg.SymbolPath, Upstreams: up}, err
}

// SearchPath is the symbol path of an analysis: the server's own store,
// then the --symbols path, then the enabled upstreams in order, each
// through its own local cache.
func (s *Symbols) SearchPath(ctx context.Context) string {
	if sy, ok := s.Files.(interface{ Sync(context.Context) error }); ok {
		// On failure, analyse with what the mirror has; the next one retries.
		_ = sy.Sync(ctx)
	}
	parts := []string{s.Files.SearchPath()}
	if s.cfg.SymbolPath != "" {
		parts = append(parts, s.cfg.SymbolPath)
	}
	parts = append(parts, s.upstreamPath(ctx)...)
	return strings.Join(parts, ";")
}

// Add stores one symbol file read from r. A file that is not a symbol file
// we keep is skipped with the reason, not an error.
func (s *Symbols) Add(ctx context.Context, r io.Reader, name, by, source string) (res SymbolResult, err error) {
	res.Name = name
	f, err := s.st.Blobs.Scratch()
	if err != nil {
		return res, err
	}
	defer func() {
		f.Close()
		os.Remove(f.Name())
	}()
	h := sha1.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(r, s.cfg.MaxFileBytes+1))
	if err != nil {
		return res, err
	}
	if n > s.cfg.MaxFileBytes {
		return res, fmt.Errorf("%s: %w: over the %s limit of a symbol file", name, ErrTooLarge, FormatBytes(s.cfg.MaxFileBytes))
	}
	return s.addFile(ctx, f, n, hex.EncodeToString(h.Sum(nil)), name, by, source)
}

// AddSpooled stores a symbol file already spooled to f (size bytes), e.g.
// an upload that had to be on disk to be told from a zip.
func (s *Symbols) AddSpooled(ctx context.Context, f *os.File, size int64, name, by, source string) (SymbolResult, error) {
	if size > s.cfg.MaxFileBytes {
		return SymbolResult{Name: name}, fmt.Errorf("%s: %w: over the %s limit of a symbol file", name, ErrTooLarge, FormatBytes(s.cfg.MaxFileBytes))
	}
	h := sha1.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, size)); err != nil {
		return SymbolResult{Name: name}, err
	}
	return s.addFile(ctx, f, size, hex.EncodeToString(h.Sum(nil)), name, by, source)
}

// addFile identifies and stores a spooled file.
func (s *Symbols) addFile(ctx context.Context, f *os.File, size int64, sum, name, by, source string) (SymbolResult, error) {
	res := SymbolResult{Name: name}
	in, err := symfile.Identify(f, size, name)
	if err != nil {
		if errors.Is(err, symfile.ErrUnsupported) {
			res.Status, res.Reason = SymbolSkipped, strings.TrimPrefix(err.Error(), symfile.ErrUnsupported.Error()+": ")
			return res, nil
		}
		return res, err
	}
	key := in.Key.String()
	res.File = SymbolFile{Path: key, Kind: in.Kind, Name: in.Key.Name, DebugID: in.DebugID, DebugFile: in.DebugFile,
		CodeID: in.CodeID, CodeFile: in.CodeFile, Arch: in.Arch, Size: size, SHA1: sum, UploadedAt: time.Now().UTC(),
		UploadedBy: by, Source: source}
	if old, err := s.Index.SymbolFile(ctx, key); err == nil && old.SHA1 == sum {
		res.Status, res.File = SymbolDuplicate, old
		return res, nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return res, err
	}
	if err := s.Files.Put(ctx, key, f); err != nil {
		return res, err
	}
	if _, err := s.Index.AddSymbolFile(ctx, res.File); err != nil {
		return res, err
	}
	res.Status = SymbolStored
	s.forgetMissing()
	n, err := s.Index.QueueForSymbols(ctx, res.File)
	if err != nil {
		return res, err
	}
	res.Reanalyses = n
	if n > 0 {
		s.st.Wake()
	}
	return res, nil
}

// AddZip stores the symbol files in a zip (a build folder). Members are
// bounded in number and in decompressed size, each and together; their
// paths are used for nothing but the report (a file's place in the store
// comes from its ids), so names like ../../x cannot escape.
func (s *Symbols) AddZip(ctx context.Context, r io.ReaderAt, size int64, by, source string) ([]SymbolResult, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("%w: not a readable zip: %v", ErrBadRequest, err)
	}
	if len(zr.File) > s.cfg.MaxZipFiles {
		return nil, fmt.Errorf("%w: the zip has %d members, over the limit of %d", ErrTooLarge, len(zr.File), s.cfg.MaxZipFiles)
	}
	var out []SymbolResult
	var total int64
	for _, zf := range zr.File {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		name := zf.Name
		if zf.FileInfo().IsDir() {
			continue
		}
		skip := func(why string) { out = append(out, SymbolResult{Name: name, Status: SymbolSkipped, Reason: why}) }
		if !symbolCandidate(name) {
			skip("not a symbol file by its name (.pdb, .exe, .dll, .sys, .sym)")
			continue
		}
		if strings.Contains(name, "..") || path.IsAbs(name) || strings.HasPrefix(name, `\`) {
			skip("unsafe path in the zip")
			continue
		}
		if zf.UncompressedSize64 > uint64(s.cfg.MaxFileBytes) {
			skip("over the " + FormatBytes(s.cfg.MaxFileBytes) + " limit of a symbol file")
			continue
		}
		left := s.cfg.MaxZipBytes - total
		if left <= 0 {
			skip("the zip's files add up to more than " + FormatBytes(s.cfg.MaxZipBytes))
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			skip("unreadable zip member: " + err.Error())
			continue
		}
		// The header's size is not trusted: the copy itself is bounded.
		limit := min(s.cfg.MaxFileBytes, left)
		res, n, err := s.addBounded(ctx, rc, limit, name, by, source)
		rc.Close()
		total += n
		if errors.Is(err, ErrTooLarge) {
			skip(fmt.Sprintf("decompresses to more than %s", FormatBytes(limit)))
			continue
		}
		if errors.Is(err, zip.ErrChecksum) || errors.Is(err, zip.ErrFormat) || errors.Is(err, io.ErrUnexpectedEOF) {
			skip("corrupt zip member: " + err.Error())
			continue
		}
		if err != nil {
			return out, err
		}
		out = append(out, res)
	}
	return out, nil
}

func (s *Symbols) addBounded(ctx context.Context, r io.Reader, limit int64, name, by, source string) (SymbolResult, int64, error) {
	f, err := s.st.Blobs.Scratch()
	if err != nil {
		return SymbolResult{}, 0, err
	}
	defer func() {
		f.Close()
		os.Remove(f.Name())
	}()
	h := sha1.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(r, limit+1))
	if err != nil {
		return SymbolResult{}, n, err
	}
	if n > limit {
		return SymbolResult{}, n, ErrTooLarge
	}
	res, err := s.addFile(ctx, f, n, hex.EncodeToString(h.Sum(nil)), name, by, source)
	return res, n, err
}

// symbolCandidate says whether a zip member's name is worth reading: a
// build folder holds much else.
func symbolCandidate(name string) bool {
	switch strings.ToLower(path.Ext(strings.ReplaceAll(name, `\`, "/"))) {
	case ".pdb", ".exe", ".dll", ".sys", ".sym", ".ocx", ".drv", ".cpl", ".scr", ".efi":
		return true
	}
	return false
}

// IsZip says whether a spooled upload is a zip archive.
func IsZip(r io.ReaderAt) bool {
	var b [4]byte
	n, _ := r.ReadAt(b[:], 0)
	return n == 4 && string(b[:]) == "PK\x03\x04"
}

// Scratch creates a temporary file (removed by the caller).
func (s *Symbols) Scratch() (*os.File, error) { return s.st.Blobs.Scratch() }

// List returns the most recently uploaded symbol files and the total count.
func (s *Symbols) List(ctx context.Context, limit int) ([]SymbolFile, int, error) {
	return s.Index.ListSymbolFiles(ctx, limit)
}

// missingRecent is how many of the most recent crashes the missing-symbols
// list looks at, and missingTTL how long a computed list is served.
const (
	missingRecent = 1000
	missingTTL    = time.Minute
)

// Missing lists the modules of the most recent crashes that had no
// symbols, most useful first. The list is computed at most once a minute
// (it reads every module row of a thousand crashes), and again after an
// upload.
func (s *Symbols) Missing(ctx context.Context, limit int) ([]MissingSymbol, error) {
	s.missingMu.Lock()
	defer s.missingMu.Unlock()
	if s.missing != nil && s.missingLimit >= limit && time.Since(s.missingAt) < missingTTL {
		return s.missing[:min(limit, len(s.missing))], nil
	}
	m, err := s.Index.MissingSymbols(ctx, missingRecent, limit)
	if err != nil {
		return nil, err
	}
	if m == nil {
		m = []MissingSymbol{}
	}
	s.missing, s.missingLimit, s.missingAt = m, limit, time.Now()
	return m, nil
}

func (s *Symbols) forgetMissing() {
	s.missingMu.Lock()
	s.missing = nil
	s.missingMu.Unlock()
}

// Arrival says whether symbols for one of a dump's modules arrived, nil if never.
func (s *Symbols) Arrival(ctx context.Context, dumpID string) (*SymbolArrival, error) {
	return s.Index.SymbolArrival(ctx, dumpID)
}

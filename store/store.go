// Package store keeps dumps and what was learnt from them: the dump files
// (content-addressed, see Blobs), the index of dumps and analyses (Index) and
// the analysis job queue (Queue). SQLite and a local folder are the embedded
// implementations; Store ties them together for ingest, workers and retention.
package store

import (
	"context"
	"errors"
	"io"
	"os"
	"time"

	"github.com/dumptriage/dumptriage/analyzer/report"
)

// Sentinel errors; the web layer maps them to HTTP status codes.
var (
	ErrNotFound    = errors.New("not found")
	ErrInvalidDump = errors.New("not a minidump")
	ErrTooLarge    = errors.New("too large")
	ErrExpired     = errors.New("dump file expired")
	ErrNoSpace     = errors.New("not enough disk space")
	ErrBadRequest  = errors.New("bad request")
	ErrLeaseLost   = errors.New("job lease lost")
	errNoJob       = errors.New("no job ready")
)

// Status is where a dump is in the pipeline.
type Status string

// Dump statuses.
const (
	StatusQueued    Status = "queued"
	StatusAnalyzing Status = "analyzing"
	StatusDone      Status = "done"
	StatusFailed    Status = "failed"
)

// Dump is one distinct dump file (by content) and the state of its analysis.
type Dump struct {
	ID             string // opaque id used in URLs
	SHA256         string
	Size           int64
	FileName       string // as uploaded
	Wrapper        string // "", "zip", "gzip" or "zstd"
	UploadedAt     time.Time
	UploadedBy     string
	UploadedFrom   string
	UploadCount    int // duplicates count here
	LastUploadedAt time.Time
	Status         Status
	Error          string
	FileExpiredAt  *time.Time // set once retention deleted the file
	// Product and ProductVersion come from the reporter's annotations.
	Product        string
	ProductVersion string
	// Summary holds the indexed columns of the current analysis, nil before the first one.
	Summary *Summary
}

// FileExpired says whether retention deleted the dump file.
func (d *Dump) FileExpired() bool { return d.FileExpiredAt != nil }

// Summary is the part of an analysis the dashboard lists, filters and groups on.
type Summary struct {
	AnalyzerVersion string
	AnalyzedAt      time.Time
	Duration        time.Duration
	CrashType       string
	CrashAddress    string
	Signature       string
	Module          string // faulting module
	ModuleVersion   string
	OS              string
	OSVersion       string
	Arch            string
	ProcessName     string
	DumpTime        *time.Time
	AllocBytes      *uint64
	StackOverflow   bool
	// Damaged marks a dump cut short (report.dump.truncated): it has its own
	// signature and trends leave it out unless asked.
	Damaged bool
	// ClockImplausible marks a DumpTime before 1990, before the faulting or
	// main module was built, or after the upload: the crash counts at its
	// upload time (crashes.clock_implausible, migration 00010).
	ClockImplausible bool
}

// Analysis is what a finished job stores: the report and its index rows.
type Analysis struct {
	Summary
	// BuildTime is the latest plausible build time of the faulting and main
	// modules (buildTime): a dump written before it has a wrong clock.
	BuildTime *time.Time
	// What the crashes trigger needs from the report, so that it does not
	// parse the JSON: the process's version, whether the crash ran out of
	// memory, and then the largest free block.
	ProcessVersion string
	OOM            bool
	LargestFree    *uint64
	Report         []byte // JSON
	Modules        []ModuleRow
	Frames         []FrameRow
}

// ModuleRow is one loaded module of a dump.
type ModuleRow struct {
	Name, Version, DebugID, DebugFile, CodeID string
	// Symbols is the kind of symbols the analysis found (pdb, breakpad,
	// dwarf, exports), "" for none.
	Symbols string
}

// FrameRow is one frame of the crashing thread.
type FrameRow struct {
	Module, Function, ModuleOffset, FunctionOffset string
	Trust                                          report.Trust
}

// NewDump describes a dump file that was just stored.
type NewDump struct {
	SHA256       string
	Size         int64
	FileName     string
	Wrapper      string
	UploadedBy   string
	UploadedFrom string
	// What a crash reporter sent with the dump; Product and ProductVersion
	// are derived from Annotations (ProductVersion).
	Annotations             map[string]string
	Attachments             []Attachment
	Product, ProductVersion string
}

// ListQuery selects dumps for the list API, newest first.
type ListQuery struct {
	Limit  int    // default 50, at most 500
	Cursor string // from DumpPage.Next
	// Filters; empty matches all. Text filters match exactly (modules and
	// process names ignoring case).
	Status        Status
	CrashType     string
	Signature     string
	Module        string // faulting module
	ModuleVersion string
	Process       string
	OS            string
	Arch          string
	HasModule     string // any loaded module with this name
	Product       string // the reporter's product (annotations)
	// Annotations must all match, as key and value.
	Annotations   []KeyValue
	SHA256        string
	StackOverflow *bool
	Since, Until  time.Time // uploaded in [Since, Until)
}

// KeyValue is one annotation filter.
type KeyValue struct{ Key, Value string }

// DumpPage is one page of a list; Next is empty on the last page.
type DumpPage struct {
	Dumps []Dump
	Next  string
}

// Job is a leased unit of analysis work.
type Job struct {
	ID       int64
	DumpID   string
	SHA256   string
	Size     int64
	Attempts int // including this one
	Owner    string
	Expired  bool // the dump file was deleted by retention
	LastErr  string
	dumpRow  int64
}

// Index is the catalogue of dumps and analyses.
type Index interface {
	// AddDump records a stored dump file and queues its analysis. For a
	// sha256 already known it counts the upload, restores an expired file's
	// record, and returns the first dump with dup set.
	AddDump(ctx context.Context, nd NewDump) (d Dump, dup bool, err error)
	Dump(ctx context.Context, id string) (Dump, error)
	// Report returns the dump and its current report JSON (nil before the first analysis).
	Report(ctx context.Context, id string) (Dump, []byte, error)
	ListDumps(ctx context.Context, q ListQuery) (DumpPage, error)
	// Reanalyze queues a new analysis of one dump.
	Reanalyze(ctx context.Context, id string) error
	// ReanalyzeAll queues every dump whose file is kept, except those whose
	// analysis was made by skipVersion (when not empty). It returns how many.
	ReanalyzeAll(ctx context.Context, skipVersion string) (int, error)
	// ExpiryCandidates lists dumps with kept files and no pending job,
	// least recently uploaded first.
	ExpiryCandidates(ctx context.Context, uploadedBefore time.Time, limit int) ([]Dump, error)
	KeptBytes(ctx context.Context) (int64, error)
	MarkExpired(ctx context.Context, id string) error
	// DeleteDump removes a dump with its analysis, job and shares, and
	// returns it; the caller deletes the file.
	DeleteDump(ctx context.Context, id string) (Dump, error)
	// KeptSHA256 reports which of the given hashes belong to dumps whose file is kept.
	KeptSHA256(ctx context.Context, hashes []string) (map[string]bool, error)
	Close() error
}

// Queue is the analysis job queue. Jobs are leased: a worker that stops
// heartbeating loses its job to another worker.
type Queue interface {
	// Claim leases the next ready job (or one whose lease ran out); it
	// returns errNoJob when there is none.
	Claim(ctx context.Context, owner string, lease time.Duration) (*Job, error)
	Heartbeat(ctx context.Context, j *Job, lease time.Duration) error
	// Finish stores the analysis and ends the job.
	Finish(ctx context.Context, j *Job, a *Analysis, note string) error
	// Fail records a permanent failure and ends the job.
	Fail(ctx context.Context, j *Job, msg string) error
	// Retry puts the job back to run again at the given time.
	Retry(ctx context.Context, j *Job, msg string, at time.Time) error
	// Release gives the job back without counting the attempt (shutdown).
	Release(ctx context.Context, j *Job) error
	// ExpireLeases ends the leases of running jobs whose owner is dead, so
	// they run again at once.
	ExpireLeases(ctx context.Context, dead func(owner string) bool) (int, error)
	// Pending counts queued and running jobs.
	Pending(ctx context.Context) (int, error)
}

// Blob is a stored dump file.
type Blob interface {
	io.ReaderAt
	io.Closer
	Size() int64
}

// BlobWriter writes a new dump file. Commit makes it durable under its key;
// Abort (safe after Commit) discards it.
type BlobWriter interface {
	io.Writer
	Commit(key string) error
	Abort() error
}

// Blobs stores dump files by key (their sha256).
type Blobs interface {
	Create(ctx context.Context) (BlobWriter, error)
	Open(ctx context.Context, key string) (Blob, error) // ErrNotFound if absent
	Delete(ctx context.Context, key string) error
	// Walk calls fn for every stored key.
	Walk(ctx context.Context, fn func(key string) error) error
	// Scratch creates a temporary file for spooling (zip uploads); the
	// caller removes it. Leftovers are removed by Recover.
	Scratch() (*os.File, error)
	// Recover removes partial files left by a crash.
	Recover(ctx context.Context) (int, error)
}

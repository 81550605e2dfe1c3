package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/dumptriage/dumptriage/analyzer/report"
)

// AnalyzeFunc analyses one dump file.
type AnalyzeFunc func(ctx context.Context, r io.ReaderAt, size int64, sha256 string) (*report.Report, error)

// WorkerConfig tunes RunWorkers. Zero values take the defaults.
type WorkerConfig struct {
	Workers     int           // default: one per core
	Timeout     time.Duration // per analysis, default 2 minutes
	Lease       time.Duration // default 30 s; renewed every Lease/3
	MaxAttempts int           // default 3
	Poll        time.Duration // how often idle workers look for jobs, default 1 s
	// MaxReportBytes bounds a stored report's JSON, default 128 MB. The
	// analyzer bounds what a report lists, so real reports stay far below.
	MaxReportBytes int
	Logger         *slog.Logger // default: discard
}

func (c *WorkerConfig) defaults() {
	if c.Workers <= 0 {
		c.Workers = runtime.NumCPU()
	}
	if c.Timeout <= 0 {
		c.Timeout = 2 * time.Minute
	}
	if c.Lease <= 0 {
		c.Lease = 30 * time.Second
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 3
	}
	if c.Poll <= 0 {
		c.Poll = time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.MaxReportBytes <= 0 {
		c.MaxReportBytes = 128 << 20
	}
}

var hostname, _ = os.Hostname()

// ownerID names a worker: host/pid/n. Recover reads it back to tell the
// leases of dead local processes.
func ownerID(n int) string { return fmt.Sprintf("%s/%d/%d", hostname, os.Getpid(), n) }

// deadLocalOwner reports an owner that ran on this host in a process that
// no longer exists.
func deadLocalOwner(owner string) bool {
	parts := strings.Split(owner, "/")
	if len(parts) != 3 || parts[0] != hostname {
		return false
	}
	pid, err := strconv.Atoi(parts[1])
	if err != nil || pid <= 0 {
		return false
	}
	if pid == os.Getpid() {
		return false
	}
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// RunWorkers runs analysis workers until ctx ends; then it gives running
// jobs back to the queue and returns.
func (s *Store) RunWorkers(ctx context.Context, cfg WorkerConfig, analyze AnalyzeFunc) {
	var wg sync.WaitGroup
	if l, ok := s.Queue.(jobListener); ok && l.Notifies() {
		// Jobs queued on other nodes wake the workers; polling only catches
		// leases that ran out.
		if cfg.Poll <= 0 {
			cfg.Poll = 5 * time.Second
		}
		lctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go l.Listen(lctx, s.Wake)
	}
	cfg.defaults()
	for i := range cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &worker{s: s, cfg: cfg, analyze: analyze, owner: ownerID(i)}
			w.loop(ctx)
		}()
	}
	wg.Wait()
}

// sizedOpener is Blobs that open faster when told the size (S3: no HEAD).
type sizedOpener interface {
	OpenSized(ctx context.Context, sum string, size int64) (Blob, error)
}

// jobListener is a Queue that announces new jobs across processes
// (PostgreSQL's LISTEN/NOTIFY).
type jobListener interface {
	Notifies() bool
	Listen(ctx context.Context, wake func())
}

type worker struct {
	s       *Store
	cfg     WorkerConfig
	analyze AnalyzeFunc
	owner   string
}

func (w *worker) loop(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for ctx.Err() == nil {
		j, err := w.s.Queue.Claim(ctx, w.owner, w.cfg.Lease)
		if err == nil {
			// There may be more: let another idle worker look.
			w.s.Wake()
			w.run(ctx, j)
			continue
		}
		if !errors.Is(err, errNoJob) && ctx.Err() == nil {
			w.cfg.Logger.Error("claim job", "err", err)
		}
		t.Reset(w.cfg.Poll)
		select {
		case <-ctx.Done():
		case <-t.C:
		case <-w.s.wake:
		}
	}
}

type outcome struct {
	rep   *report.Report
	err   error
	panic string
}

func (w *worker) run(ctx context.Context, j *Job) {
	log := w.cfg.Logger.With("job", j.ID, "dump", j.DumpID, "attempt", j.Attempts)
	// Writes that end a job must happen even while shutting down, and each
	// gets its own deadline from when it starts: one taken before a long
	// analysis would have run out, the failure would go unrecorded, and the
	// dump would end as "stopped each time" instead of saying why.
	dbctx := func() context.Context {
		c, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		context.AfterFunc(c, cancel)
		return c
	}
	fail := func(msg string) {
		log.Warn("analysis failed", "err", msg)
		if err := w.s.Queue.Fail(dbctx(), j, msg); err != nil {
			log.Error("record failure", "err", err)
		}
	}
	if j.Attempts > w.cfg.MaxAttempts {
		msg := fmt.Sprintf("gave up after %d attempts", j.Attempts-1)
		if j.LastErr != "" {
			msg += ": " + j.LastErr
		} else {
			msg += ": the worker process stopped each time before finishing (killed, crashed or out of memory)"
		}
		fail(msg)
		return
	}
	if j.Expired {
		fail("dump file expired")
		return
	}
	var blob Blob
	var err error
	if o, ok := w.s.Blobs.(sizedOpener); ok {
		blob, err = o.OpenSized(ctx, j.SHA256, j.Size)
	} else {
		blob, err = w.s.Blobs.Open(ctx, j.SHA256)
	}
	if errors.Is(err, ErrNotFound) {
		fail("dump file missing")
		return
	}
	if err != nil {
		w.retry(dbctx(), log, j, err)
		return
	}

	// The lease is renewed until the job is recorded, not only while the
	// analysis runs: storing a large report takes time too.
	hbctx, stopHeartbeat := context.WithCancel(ctx)
	defer stopHeartbeat()
	actx, cancel := context.WithTimeout(hbctx, w.cfg.Timeout)
	defer cancel()
	lost := make(chan struct{})
	go w.heartbeat(hbctx, log, j, cancel, lost)

	start := time.Now()
	done := make(chan outcome, 1)
	go func() {
		defer blob.Close()
		defer func() {
			if p := recover(); p != nil {
				done <- outcome{panic: fmt.Sprintf("%v\n%s", p, debug.Stack())}
			}
		}()
		rep, err := w.analyze(actx, blob, blob.Size(), j.SHA256)
		done <- outcome{rep: rep, err: err}
	}()
	var out outcome
	abandoned := false
	select {
	case out = <-done:
	case <-actx.Done():
		// Give the analyzer a moment to notice.
		select {
		case out = <-done:
		case <-time.After(min(5*time.Second, w.cfg.Timeout)):
			out.err = actx.Err()
			abandoned = true
		}
	}
	if abandoned {
		// An analysis that ignores its context still holds its memory: this
		// worker takes no other job until it ends, so abandoned analyses
		// cannot pile up.
		defer func() {
			log.Warn("the analysis did not stop at its deadline; waiting for it before the next job")
			select {
			case <-done:
			case <-ctx.Done():
			}
		}()
	}
	took := time.Since(start)
	select {
	case <-lost:
		log.Warn("lease lost; another worker has the job")
		return
	default:
	}
	switch {
	case ctx.Err() != nil:
		// Shutting down: the job was not at fault.
		if err := w.s.Queue.Release(dbctx(), j); err != nil {
			log.Error("release job", "err", err)
		}
		return
	case out.panic != "":
		log.Error("analyzer panic", "panic", out.panic)
		fail("analyzer panic: " + firstLine(out.panic))
		return
	case out.err != nil && errors.Is(out.err, context.DeadlineExceeded):
		fail(fmt.Sprintf("analysis timed out after %s", w.cfg.Timeout))
		return
	case out.err != nil && transient(out.err):
		w.retry(dbctx(), log, j, out.err)
		return
	case out.err != nil:
		fail(firstLine(out.err.Error()))
		return
	case out.rep == nil:
		fail("the analyzer returned no report")
		return
	}
	note := ""
	if strings.HasPrefix(out.rep.Status, "incomplete") {
		note = fmt.Sprintf("the report is incomplete: %s (timeout %s)", out.rep.Status, w.cfg.Timeout)
	}
	a, err := NewAnalysis(out.rep, time.Now(), took)
	if err != nil {
		fail("storing the report: " + err.Error())
		return
	}
	out.rep = nil // the encoded report is all that is needed now
	if n := len(a.Report); n > w.cfg.MaxReportBytes {
		fail(fmt.Sprintf("the report is %s, more than the %s the index stores", megabytes(n), megabytes(w.cfg.MaxReportBytes)))
		return
	}
	// Storing gets its own deadline, and a failure to store is recorded
	// with a fresh one, so the dump says why rather than being retried
	// until it "stopped each time".
	sctx, cancelStore := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancelStore()
	if err := w.s.Queue.Finish(sctx, j, a, note); err != nil {
		if errors.Is(err, ErrLeaseLost) {
			log.Warn("lease lost before the report was stored")
			return
		}
		rctx := dbctx()
		if errors.Is(err, context.DeadlineExceeded) || sctx.Err() != nil {
			msg := fmt.Sprintf("storing the %s report took longer than %s", megabytes(len(a.Report)), storeTimeout)
			log.Warn("analysis failed", "err", msg)
			if err := w.s.Queue.Fail(rctx, j, msg); err != nil {
				log.Error("record failure", "err", err)
			}
			return
		}
		w.retry(rctx, log, j, fmt.Errorf("storing the %s report: %w", megabytes(len(a.Report)), err))
		return
	}
	log.Debug("analyzed", "took", took)
}

// storeTimeout bounds writing one analysis into the index.
const storeTimeout = 60 * time.Second

func megabytes(n int) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

// heartbeat renews the lease until ctx ends; when the lease is lost it
// closes lost and cancels the analysis.
func (w *worker) heartbeat(ctx context.Context, log *slog.Logger, j *Job, cancel func(), lost chan struct{}) {
	t := time.NewTicker(w.cfg.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := w.s.Queue.Heartbeat(ctx, j, w.cfg.Lease)
		if errors.Is(err, ErrLeaseLost) {
			close(lost)
			cancel()
			return
		}
		if err != nil && ctx.Err() == nil {
			log.Warn("heartbeat", "err", err)
		}
	}
}

func (w *worker) retry(ctx context.Context, log *slog.Logger, j *Job, cause error) {
	msg := firstLine(cause.Error())
	if j.Attempts >= w.cfg.MaxAttempts {
		log.Warn("analysis failed", "err", msg)
		if err := w.s.Queue.Fail(ctx, j, fmt.Sprintf("gave up after %d attempts: %s", j.Attempts, msg)); err != nil {
			log.Error("record failure", "err", err)
		}
		return
	}
	backoff := time.Duration(1<<(2*j.Attempts)) * time.Second // 4 s, 16 s, ...
	log.Warn("analysis will be retried", "err", msg, "in", backoff)
	if err := w.s.Queue.Retry(ctx, j, msg, time.Now().Add(backoff)); err != nil {
		log.Error("requeue job", "err", err)
	}
}

// transient reports errors worth retrying: I/O trouble reading the file,
// not anything about the dump itself.
func transient(err error) bool {
	var pe *fs.PathError
	var errno syscall.Errno
	return errors.As(err, &pe) || errors.As(err, &errno) || errors.Is(err, ErrTransient)
}

// ErrTransient marks an analyzer error worth retrying.
var ErrTransient = errors.New("transient")

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

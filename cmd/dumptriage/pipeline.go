package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/dumptriage/dumptriage/analyzer"
	"github.com/dumptriage/dumptriage/analyzer/report"
	"github.com/dumptriage/dumptriage/store"
)

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// pipelineFlags are the flags shared by serve, worker and reanalyze.
type pipelineFlags struct {
	data     string
	db       string
	blobs    string
	symbols  string
	workers  int
	timeout  time.Duration
	maxDump  *int64
	maxAge   time.Duration
	maxTotal *int64
	errs     []error
}

func addPipelineFlags(fs *flag.FlagSet) *pipelineFlags {
	p := &pipelineFlags{}
	fs.StringVar(&p.data, "data", envOr("DUMPTRIAGE_DATA", "./data"), "data folder ($DUMPTRIAGE_DATA)")
	fs.StringVar(&p.db, "db", os.Getenv("DUMPTRIAGE_DB"),
		"postgres://... to keep the index, queue and accounts in PostgreSQL; default SQLite in the data folder ($DUMPTRIAGE_DB)")
	fs.StringVar(&p.blobs, "blobs", os.Getenv("DUMPTRIAGE_BLOBS"),
		"s3://BUCKET[/prefix]?endpoint=http://host:port&region=R to keep dump files in S3 (credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY); default the data folder ($DUMPTRIAGE_BLOBS)")
	fs.StringVar(&p.symbols, "symbols", symbolPathFromEnv(), "symbol path (_NT_SYMBOL_PATH syntax); default $DUMPTRIAGE_SYMBOL_PATH")
	fs.IntVar(&p.workers, "workers", p.envInt("DUMPTRIAGE_WORKERS", runtime.NumCPU()), "analysis workers ($DUMPTRIAGE_WORKERS)")
	fs.DurationVar(&p.timeout, "timeout", p.envDuration("DUMPTRIAGE_ANALYSIS_TIMEOUT", 2*time.Minute),
		"time limit of one analysis ($DUMPTRIAGE_ANALYSIS_TIMEOUT)")
	p.maxDump = byteFlag(fs, "max-dump", "DUMPTRIAGE_MAX_DUMP", store.DefaultMaxDumpBytes,
		"size limit of a dump after decompression, e.g. 64G")
	fs.Var(ageValue{&p.maxAge}, "max-age", "delete dump files not uploaded for this long, e.g. 30d or 720h; 0 keeps them ($DUMPTRIAGE_MAX_AGE)")
	if v := os.Getenv("DUMPTRIAGE_MAX_AGE"); v != "" {
		if err := (ageValue{&p.maxAge}).Set(v); err != nil {
			p.errs = append(p.errs, fmt.Errorf("DUMPTRIAGE_MAX_AGE: %w", err))
		}
	}
	p.maxTotal = byteFlag(fs, "max-total", "DUMPTRIAGE_MAX_TOTAL", 0,
		"delete the oldest dump files while all of them add up to more, e.g. 500G; 0 is no limit")
	return p
}

func (p *pipelineFlags) envInt(k string, def int) int {
	v := os.Getenv(k)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		p.errs = append(p.errs, fmt.Errorf("%s: %w", k, err))
	}
	return n
}

func (p *pipelineFlags) envDuration(k string, def time.Duration) time.Duration {
	v := os.Getenv(k)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		p.errs = append(p.errs, fmt.Errorf("%s: %w", k, err))
	}
	return d
}

func (p *pipelineFlags) check() error { return errors.Join(p.errs...) }

// parse parses a command's flags, then reports any bad pipeline flag value.
func (p *pipelineFlags) parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	return p.check()
}

// startDaemon sets up a long-running command: its logger, GC tuning, and a
// context cancelled by SIGINT or SIGTERM.
func startDaemon() (*slog.Logger, context.Context, context.CancelFunc) {
	log := newLogger()
	tuneGC()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	return log, ctx, stop
}

// openStore opens the store on the backends the flags name.
func (p *pipelineFlags) openStore(ctx context.Context) (*store.Store, error) {
	return store.OpenBackends(ctx, p.data, store.Backends{DB: p.db, Blobs: p.blobs}, p.storeConfig())
}

func (p *pipelineFlags) storeConfig() store.Config {
	return store.Config{MaxDumpBytes: *p.maxDump, MaxAge: p.maxAge, MaxTotalBytes: *p.maxTotal}
}

func (p *pipelineFlags) workerCount(off bool) int {
	if off {
		return 0
	}
	if p.workers <= 0 {
		return runtime.NumCPU()
	}
	return p.workers
}

func (p *pipelineFlags) workerConfig(log *slog.Logger) store.WorkerConfig {
	return store.WorkerConfig{Workers: p.workers, Timeout: p.timeout, Logger: log}
}

// openSymbols opens the data folder's symbol store, searched with the
// --symbols path.
func (p *pipelineFlags) openSymbols(st *store.Store) (*store.Symbols, error) {
	return store.OpenSymbols(st, p.data, store.SymbolConfig{SymbolPath: p.symbols})
}

// analyzeFunc runs the analyzer with one symbol cache shared by all jobs.
// Each analysis searches the server's symbol store, then --symbols, then
// the upstream symbol server when one is set (a setting read per analysis,
// so a change applies at once). A crash reporter's log attached to the
// dump (Unreal's crash context, Unity's Player.log) goes with it.
func (p *pipelineFlags) analyzeFunc(st *store.Store, sym *store.Symbols) store.AnalyzeFunc {
	cache := analyzer.NewSymbolCache(0)
	// A test hook: the crash-safety test needs analyses slow enough to kill.
	delay, _ := time.ParseDuration(os.Getenv("DUMPTRIAGE_TEST_ANALYSIS_DELAY"))
	return func(ctx context.Context, r io.ReaderAt, size int64, sha string) (*report.Report, error) {
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		// Without the log the analysis is still whole: a failure to read it
		// only leaves out the comparison.
		rlog, _ := st.ReporterLog(ctx, sha)
		return analyzer.Analyze(ctx, r, size, analyzer.Options{SymbolPath: sym.SearchPath(ctx), Symbols: cache, SHA256: sha, ReporterLog: rlog})
	}
}

// tuneGC trades memory for CPU as the analyze command does: a pipeline
// process allocates reports at a high rate with a small live heap.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
}

func newLogger() *slog.Logger {
	level := slog.LevelInfo
	if v := os.Getenv("DUMPTRIAGE_LOG_LEVEL"); v != "" {
		level.UnmarshalText([]byte(v))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// byteFlag defines a size flag (32G, 512M, 1024) defaulting to $env.
func byteFlag(fs *flag.FlagSet, name, env string, def int64, usage string) *int64 {
	v := def
	if e := os.Getenv(env); e != "" {
		if n, err := parseBytes(e); err == nil {
			v = n
		}
	}
	fs.Var(bytesValue{&v}, name, usage+" ($"+env+")")
	return &v
}

type bytesValue struct{ p *int64 }

func (b bytesValue) String() string {
	if b.p == nil {
		return ""
	}
	return store.FormatBytes(*b.p)
}

func (b bytesValue) Set(s string) error {
	n, err := parseBytes(s)
	if err != nil {
		return err
	}
	*b.p = n
	return nil
}

// parseBytes reads 1024, 512K, 512M, 32G, 2T (binary units; a trailing B
// or iB is allowed).
func parseBytes(s string) (int64, error) {
	t := strings.TrimSuffix(strings.TrimSuffix(strings.ToUpper(strings.TrimSpace(s)), "B"), "I")
	mult := int64(1)
	if t != "" {
		switch t[len(t)-1] {
		case 'K':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		case 'T':
			mult = 1 << 40
		}
		if mult > 1 {
			t = t[:len(t)-1]
		}
	}
	n, err := strconv.ParseFloat(t, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("bad size %q (want e.g. 32G)", s)
	}
	return int64(n * float64(mult)), nil
}

type ageValue struct{ p *time.Duration }

func (a ageValue) String() string {
	if a.p == nil {
		return "0"
	}
	return a.p.String()
}

// Set reads a Go duration or a number of days ("30d").
func (a ageValue) Set(s string) error {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(d, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("bad age %q", s)
		}
		*a.p = time.Duration(n * 24 * float64(time.Hour))
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return fmt.Errorf("bad age %q (want e.g. 30d or 720h)", s)
	}
	*a.p = d
	return nil
}

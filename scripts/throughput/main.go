// Command throughput measures end-to-end corpus throughput: uploads through
// the HTTP API until every dump is analysed, on SQLite and a data folder in
// one process, and on PostgreSQL + MinIO with a web node and 1, 2 and 4
// worker processes, in one run on one machine.
//
//	scripts/services start && . /tmp/dumptriage-services/env
//	go run ./scripts/throughput -copies 5
//
// The corpus is every minidump under ../shared/testdata (below -max-size),
// uploaded -copies times; each copy differs in the header's unused CheckSum
// field so that deduplication does not skip it. Besides the wall time it
// reports the CPU seconds each kind of process used, which says where the
// time went.
package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

type setup struct {
	name    string
	db      string // postgres URL, "" for SQLite
	blobs   string // s3 URL, "" for the data folder
	workers int    // worker processes beside a --workers 0 web node; 0: one process that analyses
}

type result struct {
	setup
	dumps int
	wall  time.Duration
	cpu   map[string]float64 // CPU seconds by process kind
	// Per dump on PostgreSQL + MinIO: statements the server ran at top
	// level (each a round trip), transactions, and S3 requests by API.
	stmts, xacts float64
	s3           map[string]float64
	topStmts     []stmtCost
	failed       int
	started      time.Time
}

func main() {
	corpus := flag.String("corpus", "../shared/testdata", "folder searched for minidumps")
	copies := flag.Int("copies", 5, "how many times the corpus is uploaded")
	maxSize := flag.Int64("max-size", 64<<20, "skip dumps larger than this many bytes")
	procs := flag.String("workers", "1,2,4", "worker process counts to measure on PostgreSQL + S3")
	withSQLite := flag.Bool("sqlite", true, "measure SQLite too (the percentages need it)")
	binary := flag.String("bin", "", "a dumptriage binary to run (default: build ./cmd/dumptriage), e.g. to profile it with perf")
	flag.Parse()
	if err := run(*corpus, *copies, *maxSize, *procs, *withSQLite, *binary); err != nil {
		fmt.Fprintln(os.Stderr, "throughput:", err)
		os.Exit(1)
	}
}

func run(corpus string, copies int, maxSize int64, procs string, withSQLite bool, binary string) error {
	dumps, total, err := findDumps(corpus, maxSize)
	if err != nil {
		return err
	}
	fmt.Printf("corpus: %d minidumps, %.1f MB, uploaded %d times (%d analyses per setup)\n",
		len(dumps), float64(total)/1e6, copies, len(dumps)*copies)
	tmp, err := os.MkdirTemp("", "dt-throughput-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := binary
	if bin == "" {
		bin = filepath.Join(tmp, "dumptriage")
		if out, err := exec.Command("go", "build", "-o", bin, "./cmd/dumptriage").CombinedOutput(); err != nil {
			return fmt.Errorf("go build: %v\n%s", err, out)
		}
	}
	var setups []setup
	if withSQLite {
		setups = append(setups, setup{name: "SQLite + data folder, one process"})
	}
	db, blobs := os.Getenv("DUMPTRIAGE_TEST_DB"), os.Getenv("DUMPTRIAGE_TEST_BLOBS")
	if db == "" || blobs == "" {
		fmt.Println("DUMPTRIAGE_TEST_DB / DUMPTRIAGE_TEST_BLOBS unset (scripts/services start): SQLite only")
	} else {
		run := time.Now().Unix()
		for i, f := range strings.Split(procs, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				return fmt.Errorf("-workers: %q is not a positive count", f)
			}
			pg, err := freshDatabase(db, fmt.Sprintf("throughput_%d_%d", run, i))
			if err != nil {
				return err
			}
			s3, err := withPrefix(blobs, fmt.Sprintf("throughput-%d-%d", run, i))
			if err != nil {
				return err
			}
			setups = append(setups, setup{name: fmt.Sprintf("PostgreSQL + MinIO, web node + %d worker process(es)", n), db: pg, blobs: s3, workers: n})
		}
	}
	var results []result
	for i, s := range setups {
		r, err := measure(bin, filepath.Join(tmp, strconv.Itoa(i)), s, dumps, copies)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		results = append(results, r)
		printResult(r, results[0], withSQLite)
	}
	return nil
}

func printResult(r, base result, withSQLite bool) {
	rate := float64(r.dumps) / r.wall.Seconds()
	baseRate := float64(base.dumps) / base.wall.Seconds()
	fmt.Printf("\n%s\n  %d dumps in %.1f s: %.1f dumps/s", r.name, r.dumps, r.wall.Seconds(), rate)
	if withSQLite {
		fmt.Printf(", %.0f%% of SQLite", 100*rate/baseRate)
	}
	if r.failed > 0 {
		fmt.Printf(" (%d failed)", r.failed)
	}
	fmt.Printf("\n  CPU seconds:")
	for _, k := range []string{"web", "workers", "postgres", "minio"} {
		if v, ok := r.cpu[k]; ok {
			fmt.Printf(" %s %.1f", k, v)
		}
	}
	fmt.Println()
	if r.stmts > 0 {
		fmt.Printf("  per dump: %.1f PostgreSQL round trips (statements), %.1f transactions\n", r.stmts, r.xacts)
	}
	if len(r.s3) > 0 {
		var keys []string
		total := 0.0
		for k, v := range r.s3 {
			keys = append(keys, k)
			total += v
		}
		sort.Strings(keys)
		fmt.Printf("  per dump: %.1f S3 requests:", total)
		for _, k := range keys {
			fmt.Printf(" %s %.2f", k, r.s3[k])
		}
		fmt.Println()
	}
	for _, st := range r.topStmts {
		fmt.Printf("    %6.2f calls %6.2f ms/dump  %s\n", st.calls, st.ms, st.query)
	}
}

// findDumps lists the minidumps under dir, by their MDMP signature.
func findDumps(dir string, maxSize int64) ([]string, int64, error) {
	var out []string
	var total int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil || info.Size() > maxSize || info.Size() < 32 {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		var sig [4]byte
		if _, err := io.ReadFull(f, sig[:]); err == nil && string(sig[:]) == "MDMP" {
			out = append(out, p)
			total += info.Size()
		}
		return nil
	})
	if len(out) == 0 && err == nil {
		err = fmt.Errorf("no minidumps under %s", dir)
	}
	return out, total, err
}

func freshDatabase(base, name string) (string, error) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", fmt.Errorf("postgres: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("postgres: create database: %w", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

func withPrefix(blobs, prefix string) (string, error) {
	u, err := url.Parse(blobs)
	if err != nil {
		return "", err
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/" + prefix
	return u.String(), nil
}

func measure(bin, data string, s setup, dumps []string, copies int) (result, error) {
	env := os.Environ()
	if s.db != "" {
		env = append(env, "DUMPTRIAGE_DB="+s.db, "DUMPTRIAGE_BLOBS="+s.blobs)
	}
	cmd := func(args ...string) *exec.Cmd {
		c := exec.Command(bin, args...)
		c.Env = env
		return c
	}
	add := cmd("user", "add", "bench", "--role", "admin", "--data", data)
	add.Stdin = strings.NewReader("throughput-password\n")
	if out, err := add.CombinedOutput(); err != nil {
		return result{}, fmt.Errorf("user add: %v: %s", err, out)
	}
	out, err := cmd("token", "create", "--user", "bench", "--scope", "upload,read", "--data", data).Output()
	if err != nil {
		return result{}, fmt.Errorf("token create: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	token := strings.TrimSpace(lines[len(lines)-1])

	addr, err := freeAddr()
	if err != nil {
		return result{}, err
	}
	serveArgs := []string{"serve", "--addr", addr, "--data", data, "--upload-rate", "0", "--upload-quota", "0"}
	if s.workers > 0 {
		serveArgs = append(serveArgs, "--workers", "0")
	}
	running := map[string][]*exec.Cmd{"web": {cmd(serveArgs...)}}
	for i := range s.workers {
		running["workers"] = append(running["workers"], cmd("worker", "--data", filepath.Join(data, "worker-"+strconv.Itoa(i))))
	}
	if s.workers == 0 {
		running["workers"] = nil // the web process analyses; its CPU counts under web
	}
	for _, cs := range running {
		for _, c := range cs {
			if err := c.Start(); err != nil {
				return result{}, err
			}
			defer func() { c.Process.Kill(); c.Wait() }()
		}
	}
	base := "http://" + addr
	if err := waitUp(base); err != nil {
		return result{}, err
	}
	var svc services
	if s.db != "" {
		if svc, err = findServices(s.db, s.blobs); err != nil {
			return result{}, err
		}
	}
	s3Before := svc.s3Requests()
	before := cpuByKind(running, svc)
	pgBefore := svc.pgStats()

	r := result{setup: s, started: time.Now()}
	client := &http.Client{Timeout: 5 * time.Minute}
	jobs := make(chan []byte)
	errs := make(chan error, 4)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for body := range jobs {
				if err := upload(client, base, token, body); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		})
	}
	for c := range copies {
		for _, p := range dumps {
			b, err := os.ReadFile(p)
			if err != nil {
				return r, err
			}
			binary.LittleEndian.PutUint32(b[16:], uint32(c+1)) // MINIDUMP_HEADER.CheckSum: makes each copy distinct
			jobs <- b
		}
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errs:
		return r, err
	default:
	}
	if err := waitIdle(client, base, token); err != nil {
		return r, err
	}
	r.wall = time.Since(r.started)
	r.dumps = len(dumps) * copies
	r.failed, _ = count(client, base, token, "failed")
	after := cpuByKind(running, svc) // before the S3 counts, which wait
	r.cpu = map[string]float64{}
	for k, v := range after {
		r.cpu[k] = v - before[k]
	}
	n := float64(r.dumps)
	if pgAfter := svc.pgStats(); pgAfter.ok && pgBefore.ok {
		r.stmts = (pgAfter.calls - pgBefore.calls) / n
		r.xacts = (pgAfter.xacts - pgBefore.xacts) / n
		r.topStmts = topStatements(pgBefore.byQuery, pgAfter.byQuery, n)
	}
	if s3After := svc.s3Requests(); s3After != nil && s3Before != nil {
		r.s3 = map[string]float64{}
		for k, v := range s3After {
			if d := v - s3Before[k]; d > 0 {
				r.s3[k] = d / n
			}
		}
	}
	return r, nil
}

func upload(c *http.Client, base, token string, body []byte) error {
	req, _ := http.NewRequest(http.MethodPost, base+"/api/dumps", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		return fmt.Errorf("upload: %s: %s", resp.Status, b)
	}
	return nil
}

// waitIdle waits until no dump is queued or being analysed.
func waitIdle(c *http.Client, base, token string) error {
	deadline := time.Now().Add(30 * time.Minute)
	for time.Now().Before(deadline) {
		q, err := count(c, base, token, "queued")
		if err != nil {
			return err
		}
		a, err := count(c, base, token, "analyzing")
		if err != nil {
			return err
		}
		if q+a == 0 {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("analyses did not finish within 30 minutes")
}

// count says whether any dump has the status: 0 or 1 (a page of one).
func count(c *http.Client, base, token, status string) (int, error) {
	req, _ := http.NewRequest(http.MethodGet, base+"/api/dumps?limit=1&status="+status, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var page struct {
		Dumps []json.RawMessage `json:"dumps"`
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("list %s: %s", status, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		return 0, err
	}
	return len(page.Dumps), nil
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func waitUp(base string) error {
	for range 300 {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("server did not come up")
}

// cpuByKind sums the CPU seconds of our processes by kind, and of this
// run's PostgreSQL cluster and MinIO server only (other clusters may be
// busy on the same machine).
func cpuByKind(running map[string][]*exec.Cmd, svc services) map[string]float64 {
	out := map[string]float64{}
	for kind, cs := range running {
		for _, c := range cs {
			out[kind] += cpuSeconds(c.Process.Pid)
		}
	}
	if svc.postmaster > 0 {
		// The postmaster's children time holds the backends that exited;
		// the live ones are its children now.
		out["postgres"] = cpuSeconds(svc.postmaster)
		for _, pid := range childrenOf(svc.postmaster) {
			out["postgres"] += cpuSeconds(pid)
		}
	}
	if svc.minio > 0 {
		out["minio"] = cpuSeconds(svc.minio)
	}
	return out
}

// cpuSeconds is a process's user + system CPU time, children included.
func cpuSeconds(pid int) float64 {
	f := statFields(pid)
	if len(f) < 15 {
		return 0
	}
	var ticks float64
	for _, s := range f[11:15] { // utime, stime, cutime, cstime
		v, _ := strconv.ParseFloat(s, 64)
		ticks += v
	}
	return ticks / 100 // USER_HZ
}

// services are the PostgreSQL cluster and MinIO server of a run.
type services struct {
	db         string
	postmaster int
	minio      int
	metrics    string // MinIO's Prometheus endpoint, when it answers without auth
}

func findServices(db, blobs string) (services, error) {
	svc := services{db: db}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		return svc, err
	}
	defer conn.Close(ctx)
	var backend int
	if err := conn.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&backend); err != nil {
		return svc, err
	}
	svc.postmaster = parentOf(backend)
	// pg_stat_statements counts statements when the cluster preloads it.
	if _, err := conn.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"); err == nil {
		if _, err := conn.Exec(ctx, "SELECT 1 FROM pg_stat_statements LIMIT 1"); err != nil {
			fmt.Println("  (pg_stat_statements not preloaded: no statement counts)")
		}
	}
	u, err := url.Parse(blobs)
	if err != nil {
		return svc, err
	}
	if e, err := url.Parse(u.Query().Get("endpoint")); err == nil && e.Host != "" {
		svc.minio = listenerOf("minio", e.Host)
		svc.metrics = e.Scheme + "://" + e.Host + "/minio/v2/metrics/cluster"
	}
	return svc, nil
}

type pgStats struct {
	ok           bool
	calls, xacts float64
	byQuery      map[string]stmtCost
}

type stmtCost struct {
	query     string
	calls, ms float64
}

// pgStats reads this database's statement and transaction counters.
func (svc services) pgStats() pgStats {
	var st pgStats
	if svc.db == "" {
		return st
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, svc.db)
	if err != nil {
		return st
	}
	defer conn.Close(ctx)
	db := `(SELECT oid FROM pg_database WHERE datname = current_database())`
	if err := conn.QueryRow(ctx, `SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datid = `+db).Scan(&st.xacts); err != nil {
		return st
	}
	rows, err := conn.Query(ctx, `SELECT query, toplevel, calls, total_exec_time FROM pg_stat_statements WHERE dbid = `+db)
	if err != nil {
		return st
	}
	defer rows.Close()
	st.byQuery = map[string]stmtCost{}
	for rows.Next() {
		var q string
		var top bool
		var calls int64
		var ms float64
		if rows.Scan(&q, &top, &calls, &ms) != nil {
			return st
		}
		if top {
			st.calls += float64(calls)
		} else {
			q = "(nested) " + q
		}
		q = strings.Join(strings.Fields(q), " ")
		c := st.byQuery[q]
		c.query, c.calls, c.ms = q, c.calls+float64(calls), c.ms+ms
		st.byQuery[q] = c
	}
	st.ok = rows.Err() == nil
	return st
}

// topStatements lists the statements that took most server time between
// two readings, per dump, when DUMPTRIAGE_THROUGHPUT_STATEMENTS is set.
func topStatements(before, after map[string]stmtCost, n float64) []stmtCost {
	if os.Getenv("DUMPTRIAGE_THROUGHPUT_STATEMENTS") == "" {
		return nil
	}
	var out []stmtCost
	for q, a := range after {
		b := before[q]
		if d := (stmtCost{query: q, calls: (a.calls - b.calls) / n, ms: (a.ms - b.ms) / n}); d.calls > 0 {
			if len(d.query) > 110 {
				d.query = d.query[:110]
			}
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ms > out[j].ms })
	return out[:min(len(out), 25)]
}

// s3Requests reads MinIO's request counters by API, when its metrics are
// public (MINIO_PROMETHEUS_AUTH_TYPE=public) and DUMPTRIAGE_THROUGHPUT_STATEMENTS
// asks for the details.
func (svc services) s3Requests() map[string]float64 {
	if svc.metrics == "" || os.Getenv("DUMPTRIAGE_THROUGHPUT_STATEMENTS") == "" {
		return nil
	}
	// MinIO serves its cluster metrics from a cache of about ten seconds.
	time.Sleep(11 * time.Second)
	resp, err := http.Get(svc.metrics)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, "minio_s3_requests_total{")
		if !ok {
			continue
		}
		labels, val, ok := strings.Cut(rest, "} ")
		if !ok {
			continue
		}
		for _, l := range strings.Split(labels, ",") {
			if api, ok := strings.CutPrefix(l, `api="`); ok {
				v, _ := strconv.ParseFloat(strings.TrimSpace(val), 64)
				out[strings.TrimSuffix(api, `"`)] += v
			}
		}
	}
	return out
}

// parentOf is a process's parent pid.
func parentOf(pid int) int {
	f := statFields(pid)
	if len(f) < 2 {
		return 0
	}
	p, _ := strconv.Atoi(f[1])
	return p
}

// childrenOf lists the live children of a process.
func childrenOf(ppid int) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil && parentOf(pid) == ppid {
			pids = append(pids, pid)
		}
	}
	return pids
}

// listenerOf finds the process named name whose command line holds addr.
func listenerOf(name, addr string) int {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, _ := os.ReadFile("/proc/" + e.Name() + "/comm")
		cmdline, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if strings.TrimSpace(string(comm)) == name && bytes.Contains(cmdline, []byte(addr)) {
			return pid
		}
	}
	return 0
}

// statFields are the fields of /proc/pid/stat after the command name: [0]
// is the state, [1] the parent pid.
func statFields(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	// The command is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(b[i+1:]))
}

package store

import (
	"bytes"
	"context"
	"crypto/sha1"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/minio/minio-go/v7"

	"github.com/dumptriage/dumptriage/analyzer/report"
)

// The store's tests run on both backends: SQLite with a data folder, and
// PostgreSQL with S3 (scripts/services start; DUMPTRIAGE_TEST_DB and
// DUMPTRIAGE_TEST_BLOBS), through forBackends or backends(). Without those
// the remote cases skip, except under CI (CI set), where they fail: CI must
// test what production runs. The few tests that run on one backend only say
// why where they are.

type backend struct {
	name string
	open func(t testing.TB, cfg Config) *Store
}

func backends() []backend {
	return []backend{{"sqlite", openTest}, {"postgres+s3", openRemote}}
}

var remoteSeq atomic.Int64

// openRemote opens a store in a fresh PostgreSQL database and S3 prefix.
func openRemote(t testing.TB, cfg Config) *Store {
	t.Helper()
	b := remoteBackends(t)
	st, err := OpenBackends(context.Background(), t.TempDir(), b, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// pgTest is what the remote cases share in one test process: a connection
// to the server's own database for creating and dropping, and a database
// migrated once that each test's database is copied from. Migrating a
// fresh schema per test took 1-1.5 s (3-6 s under -race); a copy of the
// template takes a tenth of that.
var pgTest struct {
	once     sync.Once
	admin    *sql.DB
	template string
	err      error
}

// pgDatabaseURL is url with its database replaced.
func pgDatabaseURL(raw, name string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

func pgTestSetup(db string) error {
	pgTest.once.Do(func() {
		ctx := context.Background()
		cfg, err := pgx.ParseConfig(db)
		if err != nil {
			pgTest.err = err
			return
		}
		pgTest.admin = stdlib.OpenDB(*cfg)
		name := fmt.Sprintf("dt%d_%d_tmpl", time.Now().UnixNano()%1e9, os.Getpid())
		if _, err := pgTest.admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
			pgTest.err = err
			return
		}
		pgTest.template = name
		u, err := pgDatabaseURL(db, name)
		if err != nil {
			pgTest.err = err
			return
		}
		idx, err := OpenPostgres(ctx, u)
		if err != nil {
			pgTest.err = err
			return
		}
		idx.Close()
	})
	return pgTest.err
}

// pgTestTeardown drops the template when the test process ends.
func pgTestTeardown() {
	if pgTest.admin == nil {
		return
	}
	if pgTest.template != "" {
		pgTest.admin.Exec("DROP DATABASE IF EXISTS " + pgTest.template + " WITH (FORCE)")
	}
	pgTest.admin.Close()
}

func TestMain(m *testing.M) {
	code := m.Run()
	pgTestTeardown()
	os.Exit(code)
}

// remoteBackends makes a fresh PostgreSQL database (a copy of the migrated
// template) and S3 prefix; the database is dropped when the test ends.
func remoteBackends(t testing.TB) Backends {
	t.Helper()
	db, blobs := os.Getenv("DUMPTRIAGE_TEST_DB"), os.Getenv("DUMPTRIAGE_TEST_BLOBS")
	if db == "" || blobs == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CI: DUMPTRIAGE_TEST_DB and DUMPTRIAGE_TEST_BLOBS are unset (scripts/services start)")
		}
		t.Skip("DUMPTRIAGE_TEST_DB and DUMPTRIAGE_TEST_BLOBS unset: run scripts/services start and source its env")
	}
	if err := pgTestSetup(db); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	name := fmt.Sprintf("t%d_%d_%d", time.Now().UnixNano()%1e9, os.Getpid(), remoteSeq.Add(1))
	if _, err := pgTest.admin.ExecContext(ctx, "CREATE DATABASE "+name+" TEMPLATE "+pgTest.template); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pgTest.admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	dbURL, err := pgDatabaseURL(db, name)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(blobs)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return Backends{DB: dbURL, Blobs: u.String()}
}

// forBackends runs fn once per backend, as parallel subtests named by the
// backend: the PostgreSQL case mostly waits on the server, so the two
// overlap.
func forBackends(t *testing.T, fn func(t *testing.T, open func(t testing.TB, cfg Config) *Store)) {
	t.Helper()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			fn(t, b.open)
		})
	}
}

func TestBackendsIngestDedupAndRead(t *testing.T) {
	// 3 MiB fits in one part (one PUT on S3); 20 MiB streams as a multipart upload.
	// The uploads are made once for both backends: compressing them was
	// a fifth of the test's time under -race.
	sizes := []int{3 << 20, 20 << 20}
	uploads := map[int][][]byte{}
	for _, size := range sizes {
		raw := fakeDump(11, size)
		uploads[size] = [][]byte{raw, gz(raw), zipOf("a.dmp", raw)}
	}
	forBackends(t, func(t *testing.T, open func(testing.TB, Config) *Store) {
		for _, size := range sizes {
			t.Run(strconv.Itoa(size>>20)+"MiB", func(t *testing.T) { ingestDedupAndRead(t, open(t, Config{}), uploads[size]) })
		}
	})
}

// ingestDedupAndRead uploads a dump raw, gzipped and zipped (bodies), and
// reads it back.
func ingestDedupAndRead(t *testing.T, st *Store, bodies [][]byte) {
	ctx := context.Background()
	raw := bodies[0]
	for i, body := range bodies {
		res, err := st.Ingest(ctx, bytes.NewReader(body), Upload{FileName: "x.dmp"})
		if err != nil {
			t.Fatal(err)
		}
		if res.Duplicate != (i > 0) || res.Dump.SHA256 != sum(raw) || res.Dump.Size != int64(len(raw)) {
			t.Fatalf("upload %d: %+v", i, res)
		}
	}
	d, b, err := st.OpenFile(ctx, (func() string {
		p, _ := st.ListDumps(ctx, ListQuery{})
		return p.Dumps[0].ID
	})())
	if err != nil {
		t.Fatal(err)
	}
	if d.UploadCount != 3 || b.Size() != int64(len(raw)) {
		t.Fatalf("count %d size %d", d.UploadCount, b.Size())
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		off := r.Int64N(int64(len(raw)))
		n := 1 + r.IntN(700<<10)
		got := make([]byte, n)
		k, err := b.ReadAt(got, off)
		want := raw[off:min(off+int64(n), int64(len(raw)))]
		if k != len(want) || !bytes.Equal(got[:k], want) || (k < n && err == nil) {
			t.Fatalf("ReadAt(%d, %d): %d bytes, %v", n, off, k, err)
		}
	}
	b.Close()
	if _, err := st.DeleteDump(ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Blobs.Open(ctx, d.SHA256); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if _, err := st.Ingest(ctx, strings.NewReader("not a dump at all, longer than 32 bytes"), Upload{}); !errors.Is(err, ErrInvalidDump) {
		t.Fatalf("non-dump: %v", err)
	}
}

// TestBackendsQueue: concurrent claimers take each job once; a lease that
// runs out passes the job on and the old owner can no longer finish it.
func TestBackendsQueue(t *testing.T) {
	forBackends(t, func(t *testing.T, open func(testing.TB, Config) *Store) {
		st := open(t, Config{})
		ctx := context.Background()
		const n = 12
		for i := range n {
			if _, err := st.Ingest(ctx, bytes.NewReader(fakeDump(uint64(100+i), 4096)), Upload{}); err != nil {
				t.Fatal(err)
			}
		}
		var mu sync.Mutex
		seen := map[int64]int{}
		var jobs []*Job
		var wg sync.WaitGroup
		for w := range 6 {
			wg.Go(func() {
				for {
					j, err := st.Queue.Claim(ctx, fmt.Sprintf("test/1/%d", w), time.Minute)
					if errors.Is(err, errNoJob) {
						return
					}
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					seen[j.ID]++
					jobs = append(jobs, j)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(seen) != n || len(jobs) != n {
			t.Fatalf("%d distinct jobs in %d claims, want %d", len(seen), len(jobs), n)
		}
		for i, j := range jobs {
			rep := &report.Report{Signature: fmt.Sprintf("sig%d", i%3), AnalyzerVersion: "test"}
			rep.Modules = []report.Module{{Filename: "a.dll"}}
			a, _ := NewAnalysis(rep, time.Now(), time.Millisecond)
			a.Frames = []FrameRow{{Module: "a.dll"}, {Module: "A.dll"}, {Module: "b.dll"}}
			if i == 0 {
				if err := st.Queue.Fail(ctx, j, "boom"); err != nil {
					t.Fatal(err)
				}
				continue
			}
			if err := st.Queue.Finish(ctx, j, a, ""); err != nil {
				t.Fatal(err)
			}
		}
		idx := st.Index.(*SQLite)
		var all, stackA, stackB int
		if err := idx.r.QueryRowContext(ctx, `SELECT n FROM crash_groups WHERE dim = 'all'`).Scan(&all); err != nil {
			t.Fatal(err)
		}
		idx.r.QueryRowContext(ctx, `SELECT n FROM crash_groups WHERE dim = 'stack' AND key = 'a.dll'`).Scan(&stackA)
		idx.r.QueryRowContext(ctx, `SELECT n FROM crash_groups WHERE dim = 'stack' AND key = 'b.dll'`).Scan(&stackB)
		if all != n-1 || stackA != n-1 || stackB != n-1 {
			t.Fatalf("rollups: all %d, stack a.dll %d, b.dll %d; want %d each", all, stackA, stackB, n-1)
		}
		// A re-analysis moves the dump's counts, not adds to them.
		if err := st.Reanalyze(ctx, jobs[1].DumpID); err != nil {
			t.Fatal(err)
		}
		j, err := st.Queue.Claim(ctx, "test/1/a", time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		j2, err := st.Queue.Claim(ctx, "test/1/b", time.Minute)
		if err != nil || j2.ID != j.ID || j2.Attempts != 2 {
			t.Fatalf("expired lease not passed on: %+v %v", j2, err)
		}
		a, _ := NewAnalysis(&report.Report{Signature: "sig0"}, time.Now(), 0)
		if err := st.Queue.Finish(ctx, j, a, ""); !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("old owner finished: %v", err)
		}
		if err := st.Queue.Finish(ctx, j2, a, ""); err != nil {
			t.Fatal(err)
		}
		idx.r.QueryRowContext(ctx, `SELECT n FROM crash_groups WHERE dim = 'stack' AND key = 'a.dll'`).Scan(&stackA)
		idx.r.QueryRowContext(ctx, `SELECT n FROM crash_groups WHERE dim = 'all'`).Scan(&all)
		if all != n-1 || stackA != n-2 {
			t.Fatalf("after re-analysis: all %d, stack a.dll %d", all, stackA)
		}
		d, _ := st.Dump(ctx, jobs[0].DumpID)
		if d.Status != StatusFailed || d.Error != "boom" {
			t.Fatalf("failed dump: %+v", d)
		}
	})
}

func TestBackendsAccounts(t *testing.T) {
	forBackends(t, func(t *testing.T, open func(testing.TB, Config) *Store) {
		st := open(t, Config{})
		ctx := context.Background()
		if _, err := st.AddUser(ctx, "alice", RoleAdmin, "correct horse"); err != nil {
			t.Fatal(err)
		}
		if _, err := st.AddUser(ctx, "ALICE", RoleViewer, "correct horse"); !errors.Is(err, ErrExists) {
			t.Fatalf("names ignore case: %v", err)
		}
		raw, _, err := st.CreateToken(ctx, "Alice", "ci", ScopeUpload|ScopeRead, 0)
		if err != nil {
			t.Fatal(err)
		}
		p, err := st.AuthenticateToken(ctx, raw)
		if err != nil || p.Name != "alice" {
			t.Fatalf("token: %+v %v", p, err)
		}
		if _, err := st.AuthenticateToken(ctx, raw+"x"); err == nil {
			t.Fatal("a wrong token authenticated")
		}
	})
}

// TestS3BadCredentials: the message says what is wrong.
func TestS3BadCredentials(t *testing.T) {
	blobs := os.Getenv("DUMPTRIAGE_TEST_BLOBS")
	if blobs == "" {
		openRemote(t, Config{}) // skips, or fails under CI
		return
	}
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret")
	_, err := OpenS3(context.Background(), blobs, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "credentials") {
		t.Fatalf("wrong secret: %v", err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	_, err = OpenS3(context.Background(), blobs, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "AWS_ACCESS_KEY_ID") {
		t.Fatalf("no credentials: %v", err)
	}
}

// BenchmarkClaim measures one claim (and its release) with 10,000 queued
// jobs: go test -run '^$' -bench Claim ./store/
func BenchmarkClaim(b *testing.B) {
	for _, be := range backends() {
		b.Run(be.name, func(b *testing.B) {
			st := be.open(b, Config{})
			idx := st.Index.(*SQLite)
			ctx := context.Background()
			now := ms(time.Now())
			err := idx.tx(ctx, func(tx *sql.Tx) error {
				for i := range 10000 {
					var id int64
					if err := tx.QueryRowContext(ctx, `INSERT INTO dumps (uid, sha256, size, uploaded_at, last_uploaded_at)
						VALUES (?, ?, 1, ?, ?) RETURNING id`, fmt.Sprint("u", i), fmt.Sprint("s", i), now, now).Scan(&id); err != nil {
						return err
					}
					if _, err := tx.ExecContext(ctx, `INSERT INTO jobs (dump_id, run_after, created_at) VALUES (?, ?, ?)`,
						id, now-int64(i), now); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				j, err := st.Queue.Claim(ctx, "bench/1/0", time.Minute)
				if err != nil {
					b.Fatal(err)
				}
				if err := st.Queue.Release(ctx, j); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestS3SymbolsAcrossNodes: a PDB uploaded to one node is in the bucket and
// reaches another node's mirror, which its analyses search.
func TestS3SymbolsAcrossNodes(t *testing.T) {
	b := remoteBackends(t)
	ctx := context.Background()
	node := func() (*Store, *Symbols, string) {
		dir := t.TempDir()
		st, err := OpenBackends(ctx, dir, b, Config{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		sym, err := OpenSymbols(st, dir, SymbolConfig{})
		if err != nil {
			t.Fatal(err)
		}
		return st, sym, dir
	}
	_, symA, _ := node()
	stB, symB, dirB := node()
	up, err := symA.Add(ctx, bytes.NewReader(symbolicFixture(t, "crash.pdb")), "crash.pdb", "ci", "api")
	if err != nil || up.Status != SymbolStored {
		t.Fatalf("upload: %+v %v", up, err)
	}
	s3 := stB.Blobs.(*S3)
	if _, err := s3.c.StatObject(ctx, s3.bucket, s3.prefix+"symbols/"+up.File.Path, minio.StatObjectOptions{}); err != nil {
		t.Fatalf("not in the bucket: %v", err)
	}
	mirrored := filepath.Join(dirB, "symbols", filepath.FromSlash(up.File.Path))
	if _, err := os.Stat(mirrored); err == nil {
		t.Fatal("node B had the file before syncing")
	}
	path := symB.SearchPath(ctx)
	if !strings.HasPrefix(path, filepath.Join(dirB, "symbols")) {
		t.Fatalf("search path %q", path)
	}
	got, err := os.ReadFile(mirrored)
	if err != nil || !bytes.Equal(got, symbolicFixture(t, "crash.pdb")) {
		t.Fatalf("node B's mirror: %d bytes, %v", len(got), err)
	}
}

// TestS3ChunksAcrossNodes: sentry-cli's chunks sent to one node are
// assembled by another, and a third answers the poll.
func TestS3ChunksAcrossNodes(t *testing.T) {
	b := remoteBackends(t)
	ctx := context.Background()
	node := func() *Symbols {
		dir := t.TempDir()
		st, err := OpenBackends(ctx, dir, b, Config{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		sym, err := OpenSymbols(st, dir, SymbolConfig{})
		if err != nil {
			t.Fatal(err)
		}
		return sym
	}
	a, bb, c := node(), node(), node()
	pdb := symbolicFixture(t, "crash.pdb")
	half := len(pdb) / 2
	var sums []string
	for _, part := range [][]byte{pdb[:half], pdb[half:]} {
		s, err := a.PutChunk(ctx, bytes.NewReader(part), "")
		if err != nil {
			t.Fatal(err)
		}
		sums = append(sums, s)
	}
	h := sha1.Sum(pdb)
	whole := hex.EncodeToString(h[:])
	st := bb.Assemble(ctx, whole, "crash.pdb", sums, "ci")
	if st.State != AssembleOK || st.Result == nil || st.Result.Status != SymbolStored {
		t.Fatalf("assembly on another node: %+v", st)
	}
	if st := c.Assemble(ctx, whole, "crash.pdb", sums, "ci"); st.State != AssembleOK {
		t.Fatalf("poll on a third node: %+v", st)
	}
}

// TestMigrateRoundTrip: a data folder copied to PostgreSQL + S3 and back
// keeps its accounts, dumps, analyses (and the dashboard built from them)
// and files; a second run copies nothing again.
func TestMigrateRoundTrip(t *testing.T) {
	ctx := context.Background()
	src := openTest(t, Config{})
	if _, err := src.AddUser(ctx, "alice", RoleAdmin, "correct horse"); err != nil {
		t.Fatal(err)
	}
	var raws [][]byte
	for i := range 3 {
		raw := fakeDump(uint64(300+i), 200<<10)
		raws = append(raws, raw)
		if _, err := src.Ingest(ctx, bytes.NewReader(raw), Upload{}); err != nil {
			t.Fatal(err)
		}
	}
	j, err := src.Queue.Claim(ctx, "test/1/0", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := NewAnalysis(&report.Report{Signature: "moved"}, time.Now(), 0)
	a.Frames = []FrameRow{{Module: "x.dll"}}
	if err := src.Queue.Finish(ctx, j, a, ""); err != nil {
		t.Fatal(err)
	}
	remote := openRemote(t, Config{})
	back := openTest(t, Config{})
	for _, step := range []struct {
		from, to *Store
	}{{src, remote}, {remote, back}} {
		st, err := Migrate(ctx, step.from, step.to, nil, nil, func(string) {})
		if err != nil {
			t.Fatal(err)
		}
		if st.Files != 3 || st.Rows < 7 {
			t.Fatalf("first run: %+v", st)
		}
		again, err := Migrate(ctx, step.from, step.to, nil, nil, func(string) {})
		if err != nil || again.Files != 0 || again.Rows != 0 {
			t.Fatalf("second run copied again: %+v %v", again, err)
		}
		to := step.to
		if _, err := to.AddUser(ctx, "bob", RoleViewer, "another pass"); err != nil {
			t.Fatalf("ids after migrate: %v", err) // the identity sequence moved past copied ids
		}
		page, _ := to.ListDumps(ctx, ListQuery{})
		if len(page.Dumps) != 3 {
			t.Fatalf("%d dumps", len(page.Dumps))
		}
		for _, raw := range raws {
			if got := readBlob(t, to, sum(raw)); !bytes.Equal(got, raw) {
				t.Fatal("file differs")
			}
		}
		var n int
		to.Index.(*SQLite).r.QueryRowContext(ctx, `SELECT n FROM crash_groups WHERE dim = 'stack' AND key = 'x.dll'`).Scan(&n)
		if n != 1 {
			t.Fatalf("dashboard not rebuilt: stack x.dll %d", n)
		}
		if mi, err := to.ModuleInfo(ctx, ModuleInfoQuery{Name: "x.dll"}); err != nil || mi.OnStack != 1 || len(mi.StackDumps.Dumps) != 1 {
			t.Fatalf("module history not rebuilt: %+v %v", mi.ModuleStat, err)
		}
		to.Index.(*SQLite).w.ExecContext(ctx, `DELETE FROM users WHERE name = 'bob'`)
	}
}

// TestBackendsConcurrentSameDump: the same new dump uploaded at once (as
// through two web nodes) is stored once and counted each time.
func TestBackendsConcurrentSameDump(t *testing.T) {
	forBackends(t, func(t *testing.T, open func(testing.TB, Config) *Store) {
		st := open(t, Config{})
		ctx := context.Background()
		raw := fakeDump(77, 64<<10)
		var wg sync.WaitGroup
		var dups atomic.Int64
		for range 6 {
			wg.Go(func() {
				res, err := st.Ingest(ctx, bytes.NewReader(raw), Upload{})
				if err != nil {
					t.Error(err)
					return
				}
				if res.Duplicate {
					dups.Add(1)
				}
			})
		}
		wg.Wait()
		page, _ := st.ListDumps(ctx, ListQuery{})
		if len(page.Dumps) != 1 || page.Dumps[0].UploadCount != 6 || dups.Load() != 5 {
			t.Fatalf("%d dumps, count %v, %d duplicates", len(page.Dumps), page.Dumps, dups.Load())
		}
	})
}

// TestBackendsReporterData: a crash reporter's annotations and attachments,
// and alerts to a webhook, are kept on both backends.
func TestBackendsReporterData(t *testing.T) {
	forBackends(t, func(t *testing.T, open func(testing.TB, Config) *Store) {
		st := open(t, Config{})
		idx := st.Index.(*SQLite)
		ctx := context.Background()
		if _, err := idx.AddWebhook(ctx, Webhook{URL: "https://hooks.example.com/x", Format: FormatJSON,
			Events: []AlertKind{AlertNew}}); err != nil {
			t.Fatal(err)
		}
		log := []byte{0, 1, 2, 0xff, 'l', 'o', 'g'}
		up := Upload{Annotations: map[string]string{"prod": "Game", "ver": "1.2"},
			Attachments: []Attachment{{Field: "log", FileName: "a.log", Size: int64(len(log)), Data: log}}}
		res, err := st.Ingest(ctx, bytes.NewReader(fakeDump(500, 8192)), up)
		if err != nil {
			t.Fatal(err)
		}
		ann, err := idx.Annotations(ctx, res.Dump.ID)
		if err != nil || ann["prod"] != "Game" || ann["ver"] != "1.2" {
			t.Fatalf("annotations %v %v", ann, err)
		}
		atts, err := idx.Attachments(ctx, res.Dump.ID)
		if err != nil || len(atts) != 1 {
			t.Fatalf("attachments %v %v", atts, err)
		}
		a, err := idx.Attachment(ctx, res.Dump.ID, atts[0].ID)
		if err != nil || !bytes.Equal(a.Data, log) {
			t.Fatalf("attachment data %v %v", a.Data, err)
		}
		j, err := st.Queue.Claim(ctx, "test/1/0", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		an, _ := NewAnalysis(&report.Report{Signature: "brand-new"}, time.Now(), 0)
		if err := st.Queue.Finish(ctx, j, an, ""); err != nil {
			t.Fatal(err)
		}
		due, err := idx.DueDeliveries(ctx, time.Now().Add(time.Hour), 10)
		if err != nil || len(due) != 1 {
			t.Fatalf("deliveries of the new signature's alert: %d, %v", len(due), err)
		}
		var version string
		idx.r.QueryRowContext(ctx, `SELECT version FROM crashes`).Scan(&version)
		if version != "1.2" {
			t.Fatalf("crash version %q: the reporter's version comes first", version)
		}
	})
}

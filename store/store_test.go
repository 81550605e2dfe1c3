package store

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/minio/minio-go/v7"

	"github.com/dumptriage/dumptriage/analyzer/report"
	"github.com/dumptriage/dumptriage/internal/testdata"
)

// sharedTestdata is ../shared/testdata beside the repository root; the test
// fails when it is missing.
func sharedTestdata(t testing.TB) string { return testdata.Dir(t) }

// fakeDump makes bytes that start like a minidump: MINIDUMP_HEADER then
// seeded noise, with a run of zero blocks to exercise sparse writes.
func fakeDump(seed uint64, size int) []byte {
	b := make([]byte, size+7)
	r := rand.New(rand.NewPCG(seed, 1))
	// Eight bytes a draw: a byte a draw made the 20 MiB dumps of the
	// backends' tests take seconds under -race.
	for i := 0; i < size; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], r.Uint64())
	}
	b = b[:size:size]
	copy(b, "MDMP")
	binary.LittleEndian.PutUint32(b[4:], 0xa793)
	if size > 300<<10 {
		clear(b[100<<10 : 300<<10])
	}
	return b
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func openTest(t testing.TB, cfg Config) *Store {
	t.Helper()
	st, err := Open(context.Background(), t.TempDir(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func zst(b []byte) []byte {
	w, _ := zstd.NewWriter(nil)
	return w.EncodeAll(b, nil)
}

func zipOf(members ...any) []byte {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for i := 0; i < len(members); i += 2 {
		f, _ := w.Create(members[i].(string))
		f.Write(members[i+1].([]byte))
	}
	w.Close()
	return buf.Bytes()
}

func readBlob(t *testing.T, st *Store, key string) []byte {
	t.Helper()
	b, err := st.Blobs.Open(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	out := make([]byte, b.Size())
	if _, err := b.ReadAt(out, 0); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	return out
}

func TestIngestWrappers(t *testing.T) {
	same := func(b []byte) []byte { return b }
	fixed := func(body []byte) func([]byte) []byte { return func([]byte) []byte { return body } }
	tests := []struct {
		name    string
		wrap    func(dump []byte) []byte
		wrapper string
		err     error
	}{
		{"raw", same, "", nil},
		{"gzip", gz, "gzip", nil},
		{"zstd", zst, "zstd", nil},
		{"zip", func(d []byte) []byte { return zipOf("readme.txt", []byte("hello"), "dir/crash.dmp", d) }, "zip", nil},
		{"zip of gzip", func(d []byte) []byte { return zipOf("crash.dmp.gz", gz(d)) }, "zip+gzip", nil},
		{"text", fixed([]byte("this is not a dump at all")), "", ErrInvalidDump},
		{"empty", fixed(nil), "", ErrInvalidDump},
		{"short", fixed([]byte("MDMP\x93\xa7")), "", ErrInvalidDump},
		{"gzip of text", fixed(gz([]byte("hello hello hello"))), "", ErrInvalidDump},
		{"zip without dump", fixed(zipOf("a.txt", []byte("a"), "b.bin", []byte{1, 2, 3, 4, 5})), "", ErrInvalidDump},
		{"truncated gzip", func(d []byte) []byte { return gz(d)[:5000] }, "", ErrInvalidDump},
		{"damaged zip", func(d []byte) []byte { return zipOf("crash.dmp", d)[:3000] }, "", ErrInvalidDump},
	}
	forBackends(t, func(t *testing.T, open func(testing.TB, Config) *Store) {
		// One store for all cases: each case has a dump of its own.
		st := open(t, Config{})
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				dump := fakeDump(uint64(1+i), 1<<20+123)
				res, err := st.Ingest(context.Background(), bytes.NewReader(tt.wrap(dump)), Upload{FileName: "x"})
				if tt.err != nil {
					if !errors.Is(err, tt.err) {
						t.Fatalf("err = %v, want %v", err, tt.err)
					}
					// Said once: "not a minidump: not a minidump (...)" was.
					if n := strings.Count(err.Error(), "not a minidump"); n > 1 {
						t.Errorf("err = %q says it %d times", err, n)
					}
					if tt.name == "empty" && !strings.Contains(err.Error(), "empty") {
						t.Errorf("err = %q does not say the file is empty", err)
					}
					assertNoTemp(t, st)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if res.Duplicate || res.Dump.SHA256 != sum(dump) || res.Dump.Size != int64(len(dump)) ||
					res.Dump.Wrapper != tt.wrapper || res.Dump.Status != StatusQueued {
					t.Fatalf("got %+v", res)
				}
				if got := readBlob(t, st, res.Dump.SHA256); !bytes.Equal(got, dump) {
					t.Fatal("stored file differs from the dump")
				}
				assertNoTemp(t, st)
			})
		}
	})
}

// assertNoTemp checks that no upload left a temporary file: in the data
// folder's tmp/, or in S3's local scratch folder and its tmp/ objects.
func assertNoTemp(t *testing.T, st *Store) {
	t.Helper()
	var left []string
	switch b := st.Blobs.(type) {
	case *Dir:
		ents, _ := os.ReadDir(filepath.Join(b.root, "tmp"))
		for _, e := range ents {
			left = append(left, e.Name())
		}
	case *S3:
		ents, _ := os.ReadDir(b.scratch)
		for _, e := range ents {
			left = append(left, e.Name())
		}
		for o := range b.c.ListObjectsIter(context.Background(), b.bucket, minio.ListObjectsOptions{Prefix: b.prefix + "tmp/", Recursive: true}) {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
			left = append(left, o.Key)
		}
	default:
		t.Fatalf("blobs %T", st.Blobs)
	}
	if len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestIngestBombLimit(t *testing.T) {
	big := make([]byte, 8<<20)
	copy(big, "MDMP")
	bodies := [][]byte{gz(big), zst(big), zipOf("a.dmp", big)}
	forBackends(t, func(t *testing.T, open func(testing.TB, Config) *Store) {
		st := open(t, Config{MaxDumpBytes: 4 << 20})
		for _, body := range bodies {
			_, err := st.Ingest(context.Background(), bytes.NewReader(body), Upload{})
			if !errors.Is(err, ErrTooLarge) {
				t.Errorf("err = %v, want ErrTooLarge", err)
			}
			assertNoTemp(t, st)
		}
	})
}

func TestIngestDuplicate(t *testing.T) {
	forBackends(t, func(t *testing.T, open func(testing.TB, Config) *Store) {
		st := open(t, Config{})
		ctx := context.Background()
		dump := fakeDump(2, 5000)
		first, err := st.Ingest(ctx, bytes.NewReader(dump), Upload{FileName: "a.dmp"})
		if err != nil {
			t.Fatal(err)
		}
		second, err := st.Ingest(ctx, bytes.NewReader(gz(dump)), Upload{FileName: "b.dmp.gz"})
		if err != nil {
			t.Fatal(err)
		}
		if !second.Duplicate || second.Dump.ID != first.Dump.ID || second.Dump.UploadCount != 2 ||
			second.Dump.FileName != "a.dmp" {
			t.Fatalf("second upload = %+v, first = %+v", second, first)
		}
		if n, _ := st.Queue.Pending(ctx); n != 1 {
			t.Errorf("%d jobs, want 1", n)
		}
	})
}

func TestIngestRealDumps(t *testing.T) {
	forBackends(t, func(t *testing.T, open func(testing.TB, Config) *Store) {
		root := sharedTestdata(t)
		st := open(t, Config{})
		ctx := context.Background()
		files := []string{"public/google__breakpad/src/processor/testdata/minidump2.dmp"}
		if !testing.Short() {
			files = append(files, "wine/dumps/av_threads/av_threads_x64_mingw_full.dmp.zst") // 90 MB unpacked
		}
		for _, rel := range files {
			f, err := os.Open(filepath.Join(root, rel))
			if err != nil {
				t.Fatal(err)
			}
			res, err := st.Ingest(ctx, f, Upload{FileName: filepath.Base(rel)})
			f.Close()
			if err != nil {
				t.Fatalf("%s: %v", rel, err)
			}
			got := readBlob(t, st, res.Dump.SHA256)
			if string(got[:4]) != "MDMP" || sum(got) != res.Dump.SHA256 {
				t.Errorf("%s: stored file is not the dump", rel)
			}
		}
	})
}

// TestSparseWriter: the data folder's holes; S3 has no sparse files.
func TestSparseWriter(t *testing.T) {
	d, err := NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// Zero runs at, across and off block boundaries, and at the end.
	data := fakeDump(3, 1<<20)
	clear(data[holeBlock : 3*holeBlock])
	clear(data[5*holeBlock+100 : 7*holeBlock+7])
	data = append(data, make([]byte, 3*holeBlock)...)
	for _, chunk := range []int{1000, 4096, 70000, 1 << 20} {
		w, _ := d.Create(context.Background())
		for p := data; len(p) > 0; {
			n := min(chunk, len(p))
			if _, err := w.Write(p[:n]); err != nil {
				t.Fatal(err)
			}
			p = p[n:]
		}
		key := sum(data)
		if err := w.Commit(key); err != nil {
			t.Fatal(err)
		}
		b, _ := d.Open(context.Background(), key)
		got := make([]byte, b.Size())
		b.ReadAt(got, 0)
		b.Close()
		if !bytes.Equal(got, data) {
			t.Fatalf("chunk %d: file differs", chunk)
		}
		d.Delete(context.Background(), key)
	}
}

// fakeReport is what the fake analyzer returns.
func fakeReport(sha string) *report.Report {
	addr := report.Addr(0x45)
	ver := "1.2.3.4"
	return &report.Report{Status: "OK", AnalyzerVersion: "test", CrashInfo: report.CrashInfo{Type: "EXCEPTION_ACCESS_VIOLATION_WRITE", Address: &addr},
		SystemInfo: report.SystemInfo{OS: "Windows NT", OSVer: "10.0.19045", CPUArch: "amd64"},
		Exception:  &report.ExceptionRecord{Module: "app.exe"},
		Modules:    []report.Module{{Filename: "app.exe", Version: ver, DebugID: "ABC1"}, {Filename: "ntdll.dll", Version: "10.0"}},
		Process:    report.ProcessInfo{Name: "app.exe"}, Dump: report.DumpInfo{SHA256: sha, Time: "2024-05-01T10:00:00Z"},
		CrashingThread: &report.CrashingThread{Frames: []report.Frame{{Module: "app.exe", Function: "crash", ModuleOffset: 0x10}}},
		StackOverflow:  &report.StackOverflow{}, Signature: "crash"}
}

func okAnalyzer(ctx context.Context, r io.ReaderAt, size int64, sha string) (*report.Report, error) {
	return fakeReport(sha), nil
}

// runUntilIdle runs workers until no job is pending.
func runUntilIdle(t *testing.T, st *Store, cfg WorkerConfig, fn AnalyzeFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	cfg.Poll = 10 * time.Millisecond
	go func() { st.RunWorkers(ctx, cfg, fn); close(done) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		n, err := st.Queue.Pending(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d jobs still pending", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
}

func ingest(t *testing.T, st *Store, seed uint64) Dump {
	t.Helper()
	res, err := st.Ingest(context.Background(), bytes.NewReader(fakeDump(seed, 4000)), Upload{})
	if err != nil {
		t.Fatal(err)
	}
	return res.Dump
}

func TestWorkerOutcomes(t *testing.T) {
	forBackends(t, func(t *testing.T, open func(testing.TB, Config) *Store) {
		var calls atomic.Int32
		tests := []struct {
			name    string
			fn      AnalyzeFunc
			status  Status
			errText string
		}{
			{"ok", okAnalyzer, StatusDone, ""},
			{"invalid", func(context.Context, io.ReaderAt, int64, string) (*report.Report, error) {
				return nil, errors.New("invalid dump: bad header")
			}, StatusFailed, "invalid dump: bad header"},
			{"panic", func(context.Context, io.ReaderAt, int64, string) (*report.Report, error) {
				panic("boom")
			}, StatusFailed, "analyzer panic: boom"},
			{"timeout ignored", func(ctx context.Context, _ io.ReaderAt, _ int64, sha string) (*report.Report, error) {
				time.Sleep(2 * time.Second)
				return fakeReport(sha), nil
			}, StatusFailed, "analysis timed out after 100ms"},
			{"timeout noticed", func(ctx context.Context, _ io.ReaderAt, _ int64, sha string) (*report.Report, error) {
				<-ctx.Done()
				r := fakeReport(sha)
				r.Status = "incomplete: " + ctx.Err().Error()
				return r, nil
			}, StatusDone, "the report is incomplete: incomplete: context deadline exceeded (timeout 100ms)"},
			{"transient then ok", func(ctx context.Context, _ io.ReaderAt, _ int64, sha string) (*report.Report, error) {
				if calls.Add(1) == 1 {
					return nil, &os.PathError{Op: "read", Path: "x", Err: errors.New("i/o error")}
				}
				return fakeReport(sha), nil
			}, StatusDone, ""},
			{"transient always", func(ctx context.Context, _ io.ReaderAt, _ int64, sha string) (*report.Report, error) {
				return nil, ErrTransient
			}, StatusFailed, "gave up after 2 attempts: transient"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				st := open(t, Config{})
				d := ingest(t, st, 10)
				// The retry backoff is seconds; the queue's clock runs ahead to skip it.
				st.Index.(*SQLite).now = func() time.Time { return time.Now().Add(time.Hour) }
				runUntilIdle(t, st, WorkerConfig{Workers: 2, Timeout: 100 * time.Millisecond, MaxAttempts: 2}, tt.fn)
				got, rep, err := st.Report(context.Background(), d.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.Status != tt.status || got.Error != tt.errText {
					t.Fatalf("status %q error %q, want %q %q", got.Status, got.Error, tt.status, tt.errText)
				}
				if (tt.status == StatusDone) != (rep != nil) {
					t.Fatalf("report %q", rep)
				}
			})
		}
	})
}

func TestAnalysisIndexed(t *testing.T) {
	forBackends(t, func(t *testing.T, open func(testing.TB, Config) *Store) {
		st := open(t, Config{})
		ctx := context.Background()
		d := ingest(t, st, 20)
		ingest(t, st, 21)
		runUntilIdle(t, st, WorkerConfig{Workers: 1}, okAnalyzer)
		got, err := st.Dump(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		s := got.Summary
		if s == nil || s.CrashType != "EXCEPTION_ACCESS_VIOLATION_WRITE" || s.CrashAddress != "0x45" || s.Module != "app.exe" ||
			s.ModuleVersion != "1.2.3.4" || s.Arch != "amd64" || !s.StackOverflow || s.DumpTime == nil || s.Signature != "crash" {
			t.Fatalf("summary %+v", s)
		}
		so := true
		for _, q := range []ListQuery{{}, {HasModule: "NTDLL.DLL"}, {Module: "app.exe"}, {StackOverflow: &so}, {Status: StatusDone}} {
			page, err := st.ListDumps(ctx, q)
			if err != nil || len(page.Dumps) != 2 {
				t.Errorf("%+v: %d dumps, %v", q, len(page.Dumps), err)
			}
		}
		page, _ := st.ListDumps(ctx, ListQuery{HasModule: "kernel32.dll"})
		if len(page.Dumps) != 0 {
			t.Errorf("has_module kernel32: %d dumps", len(page.Dumps))
		}
		// Pagination: one per page, newest first, no repeats.
		p1, _ := st.ListDumps(ctx, ListQuery{Limit: 1})
		p2, _ := st.ListDumps(ctx, ListQuery{Limit: 1, Cursor: p1.Next})
		if len(p1.Dumps) != 1 || len(p2.Dumps) != 1 || p2.Next != "" || p1.Dumps[0].ID == p2.Dumps[0].ID || p2.Dumps[0].ID != d.ID {
			t.Errorf("pages %+v %+v", p1, p2)
		}
	})
}

func TestLeaseExpiryAndRerun(t *testing.T) {
	forBackends(t, func(t *testing.T, open func(testing.TB, Config) *Store) {
		st := open(t, Config{})
		ctx := context.Background()
		d := ingest(t, st, 30)
		q := st.Queue
		j, err := q.Claim(ctx, "a", time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
		// a's lease ran out: b takes the job, and a can no longer finish it.
		j2, err := q.Claim(ctx, "b", time.Minute)
		if err != nil || j2.ID != j.ID || j2.Attempts != 2 {
			t.Fatalf("reclaim: %+v %v", j2, err)
		}
		if err := q.Heartbeat(ctx, j, time.Minute); !errors.Is(err, ErrLeaseLost) {
			t.Errorf("heartbeat of lost lease: %v", err)
		}
		a, _ := NewAnalysis(fakeReport(d.SHA256), time.Now(), 0)
		if err := q.Finish(ctx, j, a, ""); !errors.Is(err, ErrLeaseLost) {
			t.Errorf("finish of lost lease: %v", err)
		}
		// A re-analysis asked for while b runs queues the job again after it.
		if err := st.Reanalyze(ctx, d.ID); err != nil {
			t.Fatal(err)
		}
		if err := q.Finish(ctx, j2, a, ""); err != nil {
			t.Fatal(err)
		}
		got, _ := st.Dump(ctx, d.ID)
		if n, _ := q.Pending(ctx); n != 1 || got.Status != StatusQueued || got.Summary == nil {
			t.Fatalf("after rerun: %d pending, %+v", n, got)
		}
		if _, err := q.Claim(ctx, "c", time.Minute); err != nil {
			t.Fatal(err)
		}
		if _, err := q.Claim(ctx, "d", time.Minute); !errors.Is(err, errNoJob) {
			t.Errorf("second claim: %v", err)
		}
	})
}

func TestGiveUpAfterRepeatedDeaths(t *testing.T) {
	forBackends(t, func(t *testing.T, open func(testing.TB, Config) *Store) {
		st := open(t, Config{})
		ctx := context.Background()
		d := ingest(t, st, 40)
		for range 2 {
			if _, err := st.Queue.Claim(ctx, "dead", -time.Second); err != nil {
				t.Fatal(err)
			}
		}
		runUntilIdle(t, st, WorkerConfig{Workers: 1, MaxAttempts: 2}, okAnalyzer)
		got, _ := st.Dump(ctx, d.ID)
		if got.Status != StatusFailed || got.Error != "gave up after 2 attempts: the worker process stopped each time before finishing (killed, crashed or out of memory)" {
			t.Fatalf("%+v", got)
		}
		// The dump stays and can be analysed again.
		if err := st.Reanalyze(ctx, d.ID); err != nil {
			t.Fatal(err)
		}
		runUntilIdle(t, st, WorkerConfig{Workers: 1}, okAnalyzer)
		if got, _ := st.Dump(ctx, d.ID); got.Status != StatusDone || got.Error != "" {
			t.Fatalf("after reanalyze: %+v", got)
		}
	})
}

// TestRecover: a restart removes partial uploads and unindexed files and
// ends the leases of dead local workers. In S3 a file younger than an hour
// stays: another node may be indexing it now (S3.Walk).
func TestRecover(t *testing.T) {
	forBackends(t, func(t *testing.T, open func(testing.TB, Config) *Store) {
		st := open(t, Config{})
		ctx := context.Background()
		d := ingest(t, st, 50)
		// A partial spool, and a committed file that was never indexed.
		f, err := st.Blobs.Scratch()
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString("MDMP partial")
		f.Close()
		orphan := fakeDump(51, 100)
		w, _ := st.Blobs.Create(ctx)
		w.Write(orphan)
		if err := w.Commit(sum(orphan)); err != nil {
			t.Fatal(err)
		}
		// A job leased by a process that is gone.
		if _, err := st.Queue.Claim(ctx, hostname+"/999999999/0", time.Hour); err != nil {
			t.Fatal(err)
		}
		rs, err := st.Recover(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_, remote := st.Blobs.(*S3)
		want := RecoverStats{PartialFiles: 1, OrphanFiles: 1, Leases: 1}
		if remote {
			want.OrphanFiles = 0
		}
		if rs != want {
			t.Fatalf("recover: %+v, want %+v", rs, want)
		}
		if b, err := st.Blobs.Open(ctx, sum(orphan)); remote != (err == nil) {
			t.Errorf("unindexed file: %v", err)
		} else if err == nil {
			b.Close()
		}
		if _, err := st.Queue.Claim(ctx, "x", time.Minute); err != nil {
			t.Fatalf("job not resumed: %v", err)
		}
		if b, err := st.Blobs.Open(ctx, d.SHA256); err != nil {
			t.Fatal("indexed file removed")
		} else {
			b.Close()
		}
		assertNoTemp(t, st)
	})
}

func TestRetention(t *testing.T) {
	forBackends(t, func(t *testing.T, open func(testing.TB, Config) *Store) {
		st := open(t, Config{MaxTotalBytes: 10000})
		ctx := context.Background()
		var ds []Dump
		for i := range 4 {
			ds = append(ds, ingest(t, st, uint64(60+i))) // 4000 bytes each
			time.Sleep(2 * time.Millisecond)
		}
		runUntilIdle(t, st, WorkerConfig{Workers: 1}, okAnalyzer)
		rs, err := st.ApplyRetention(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if rs.Expired != 2 || rs.Freed != 8000 {
			t.Fatalf("retention: %+v", rs)
		}
		for i, d := range ds {
			got, rep, err := st.Report(ctx, d.ID)
			if err != nil || rep == nil {
				t.Fatalf("analysis of %d lost: %v", i, err)
			}
			if got.FileExpired() != (i < 2) {
				t.Errorf("dump %d expired = %v", i, got.FileExpired())
			}
			_, _, err = st.OpenFile(ctx, d.ID)
			if (i < 2) != errors.Is(err, ErrExpired) {
				t.Errorf("dump %d: open: %v", i, err)
			}
		}
		if _, err := st.Blobs.Open(ctx, ds[0].SHA256); !errors.Is(err, ErrNotFound) {
			t.Errorf("expired file still stored: %v", err)
		}
		if err := st.Reanalyze(ctx, ds[0].ID); !errors.Is(err, ErrExpired) {
			t.Errorf("reanalyze expired: %v", err)
		}
		// Uploading the same bytes again brings the file back.
		res, err := st.Ingest(ctx, bytes.NewReader(fakeDump(60, 4000)), Upload{})
		if err != nil || !res.Duplicate || res.Dump.ID != ds[0].ID || res.Dump.FileExpired() {
			t.Fatalf("re-upload: %+v %v", res, err)
		}
		if _, b, err := st.OpenFile(ctx, ds[0].ID); err != nil {
			t.Fatal(err)
		} else {
			b.Close()
		}

		// Max age.
		st2 := open(t, Config{MaxAge: time.Hour})
		d := ingest(t, st2, 70)
		runUntilIdle(t, st2, WorkerConfig{Workers: 1}, okAnalyzer)
		if rs, _ := st2.ApplyRetention(ctx); rs.Expired != 0 {
			t.Fatalf("fresh dump expired")
		}
		st2.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
		if rs, _ := st2.ApplyRetention(ctx); rs.Expired != 1 {
			t.Fatalf("old dump kept: %+v", rs)
		}
		if got, _ := st2.Dump(ctx, d.ID); !got.FileExpired() || got.Summary == nil {
			t.Fatalf("%+v", got)
		}
	})
}

func TestConcurrentIngest(t *testing.T) {
	forBackends(t, func(t *testing.T, open func(testing.TB, Config) *Store) {
		st := open(t, Config{})
		ctx := context.Background()
		errs := make(chan error, 100)
		for i := range 100 {
			go func() {
				// Every fifth upload repeats another's bytes.
				seed := uint64(100 + i)
				if i%5 == 0 {
					seed = 100
				}
				_, err := st.Ingest(ctx, bytes.NewReader(fakeDump(seed, 20000)), Upload{})
				errs <- err
			}()
		}
		for range 100 {
			if err := <-errs; err != nil {
				t.Error(err)
			}
		}
		page, err := st.ListDumps(ctx, ListQuery{Limit: 500})
		if err != nil || len(page.Dumps) != 81 {
			t.Fatalf("%d dumps, %v", len(page.Dumps), err)
		}
	})
}

// TestLockUploads: serve.lock is the data folder's, whatever the backends.
func TestLockUploads(t *testing.T) {
	dir := t.TempDir()
	l, err := LockUploads(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LockUploads(dir); !errors.Is(err, ErrLocked) {
		t.Fatalf("second lock: %v", err)
	}
	l.Close()
	l2, err := LockUploads(dir)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	l2.Close()
}

// TestAbandonedAnalysis: an analysis that ignores its deadline fails the
// job on time, but its worker takes no other job until it ends, so
// abandoned analyses cannot pile up holding memory.
func TestAbandonedAnalysis(t *testing.T) {
	forBackends(t, func(t *testing.T, open func(testing.TB, Config) *Store) {
		st := open(t, Config{})
		first, second := ingest(t, st, 30), ingest(t, st, 31)
		var running, peak atomic.Int32
		fn := func(ctx context.Context, _ io.ReaderAt, _ int64, sha string) (*report.Report, error) {
			n := running.Add(1)
			defer running.Add(-1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			time.Sleep(time.Second) // deaf to ctx
			return fakeReport(sha), nil
		}
		runUntilIdle(t, st, WorkerConfig{Workers: 1, Timeout: 100 * time.Millisecond, MaxAttempts: 1}, fn)
		if p := peak.Load(); p != 1 {
			t.Errorf("%d analyses ran at once on one worker", p)
		}
		for _, d := range []Dump{first, second} {
			got, _ := st.Dump(context.Background(), d.ID)
			if got.Status != StatusFailed || got.Error != "analysis timed out after 100ms" {
				t.Errorf("%s: %q %q", d.ID, got.Status, got.Error)
			}
		}
	})
}

// TestReportTooLarge: a report over the limit fails with its size, not as
// a worker that "stopped each time".
func TestReportTooLarge(t *testing.T) {
	forBackends(t, func(t *testing.T, open func(testing.TB, Config) *Store) {
		st := open(t, Config{})
		d := ingest(t, st, 40)
		runUntilIdle(t, st, WorkerConfig{Workers: 1, MaxReportBytes: 100}, okAnalyzer)
		got, _ := st.Dump(context.Background(), d.ID)
		if got.Status != StatusFailed || !strings.HasPrefix(got.Error, "the report is ") || !strings.Contains(got.Error, "more than the 0.0 MB") {
			t.Errorf("%q %q", got.Status, got.Error)
		}
	})
}

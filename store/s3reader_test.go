package store

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/dumptriage/dumptriage/analyzer"
)

// TestS3ReaderBigDump analyses truth.py bigdump's 20 GiB sparse full dump
// through the S3 reader's block cache and read-ahead, with each ranged GET
// served from the local file, and reports what would cross the network.
// (Putting 20 GiB into MinIO is too slow for a test; the reader is the same.)
func TestS3ReaderBigDump(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	tool := filepath.Join(sharedTestdata(t), "..", "tools", "make_bigdump.py")
	if _, err := os.Stat(tool); err != nil {
		t.Skip("no make_bigdump.py:", err)
	}
	path := filepath.Join(t.TempDir(), "big20.dmp")
	if out, err := exec.Command("python3", tool, path, "20").CombinedOutput(); err != nil {
		t.Fatalf("make_bigdump: %v\n%s", err, out)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	var fetched atomic.Int64
	r := newBlockReader(st.Size(), &fetched, func(start, end int64) ([]byte, error) {
		buf := make([]byte, end-start)
		_, err := f.ReadAt(buf, start)
		return buf, err
	})
	rep, err := analyzer.Analyze(context.Background(), r, st.Size(), analyzer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, th := range rep.Threads {
		found = found || th.ThreadID == 0x1f00
	}
	if !found {
		t.Fatal("thread 0x1f00 missing from the report")
	}
	t.Logf("20 GiB dump (%d bytes): %d bytes fetched in %d ranged GETs", st.Size(), fetched.Load(), r.gets)
	if fetched.Load() > 64<<20 {
		t.Fatalf("fetched %d bytes: more than 64 MiB of a 20 GiB dump", fetched.Load())
	}
}

// TestS3ReaderFetchCount: a small object is fetched whole by the first
// read; a large one by blocks with read-ahead, never past its end.
func TestS3ReaderFetchCount(t *testing.T) {
	for _, tc := range []struct {
		size     int64
		wantGets int
	}{
		{1, 1},
		{s3WholeObject, 1},
		{s3WholeObject + 1, 4}, // four scattered reads, one block each
	} {
		data := make([]byte, tc.size)
		for i := range data {
			data[i] = byte(i * 7)
		}
		var fetched atomic.Int64
		r := newBlockReader(tc.size, &fetched, func(start, end int64) ([]byte, error) {
			if start < 0 || end > tc.size || start >= end {
				t.Fatalf("fetch [%d, %d) of %d bytes", start, end, tc.size)
			}
			return append([]byte(nil), data[start:end]...), nil
		})
		for _, off := range []int64{0, tc.size - 1, tc.size / 2, tc.size / 4} {
			var b [1]byte
			if _, err := r.ReadAt(b[:], off); err != nil || b[0] != data[off] {
				t.Fatalf("size %d: ReadAt(%d) = %d, %v; want %d", tc.size, off, b[0], err, data[off])
			}
		}
		if r.gets != tc.wantGets {
			t.Errorf("size %d: %d GETs, want %d", tc.size, r.gets, tc.wantGets)
		}
	}
}

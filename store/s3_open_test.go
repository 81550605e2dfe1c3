package store

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

// TestS3OpenSized: the worker's way in (no HEAD) reads the same bytes as
// Open, and says ErrNotFound for a missing object, as Open does; a
// duplicate single-part upload (one PUT, no HEAD) leaves the object whole.
func TestS3OpenSized(t *testing.T) {
	st := openRemote(t, Config{})
	o, ok := st.Blobs.(sizedOpener)
	if !ok {
		t.Fatalf("%T does not open by size", st.Blobs)
	}
	ctx := context.Background()
	for _, size := range []int{100 << 10, 5 << 20} { // fetched whole; fetched by blocks
		raw := fakeDump(uint64(size), size)
		for range 2 {
			if _, err := st.Ingest(ctx, bytes.NewReader(raw), Upload{FileName: "x.dmp"}); err != nil {
				t.Fatal(err)
			}
		}
		b, err := o.OpenSized(ctx, sum(raw), int64(len(raw)))
		if err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(raw))
		if n, err := b.ReadAt(got, 0); n != len(raw) || err != nil || !bytes.Equal(got, raw) {
			t.Fatalf("%d bytes: read %d, %v", size, n, err)
		}
		b.Close()
	}
	missing := sum([]byte("never uploaded"))
	if _, err := o.OpenSized(ctx, missing, 1234); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing object: %v", err)
	}
}

// TestS3Chunks: an upload's first part, written in pieces of any size into
// pooled chunks, reads back whole, and released chunks come back empty.
func TestS3Chunks(t *testing.T) {
	for _, size := range []int{0, 1, s3ChunkSize - 1, s3ChunkSize, s3ChunkSize + 1, 3*s3ChunkSize + s3ChunkSize/2} {
		for _, piece := range []int{1 << 10, 64<<10 + 7, s3ChunkSize + 3} {
			raw := make([]byte, size)
			for i := range raw {
				raw[i] = byte(i*7 + i>>12)
			}
			var c s3Chunks
			for p := raw; len(p) > 0; {
				k := min(piece, len(p))
				c.write(p[:k])
				p = p[k:]
			}
			got := new(bytes.Buffer)
			if _, err := c.reader().WriteTo(got); err != nil || c.n != size || !bytes.Equal(got.Bytes(), raw) {
				t.Fatalf("size %d in pieces of %d: %d bytes back, n %d, %v", size, piece, got.Len(), c.n, err)
			}
			c.release()
			if c.n != 0 || len(c.chunks) != 0 {
				t.Fatalf("release left %d bytes", c.n)
			}
		}
	}
}

package store

import (
	"archive/zip"
	"bufio"
	"compress/flate"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/dumptriage/dumptriage/internal/dumpfile"
)

// Upload describes where an upload came from and what a crash reporter
// sent with it.
type Upload struct {
	FileName     string
	UploadedBy   string
	UploadedFrom string
	Annotations  map[string]string
	Attachments  []Attachment
}

// IngestResult is the stored dump; Duplicate says the same bytes were
// already known, and Dump is then the first upload's.
type IngestResult struct {
	Dump      Dump
	Duplicate bool
}

// Ingest stores one uploaded dump: it unwraps zip, gzip or zstd while
// streaming, checks for the MDMP signature, writes the dump to a temp file
// while hashing it, makes it durable under its sha256 and records it in the
// index with a queued analysis. The dump is never held in memory.
func (s *Store) Ingest(ctx context.Context, body io.Reader, up Upload) (res IngestResult, err error) {
	st, err := s.Stage(ctx, body)
	if err != nil {
		return res, err
	}
	defer st.Abort()
	return st.Commit(ctx, up)
}

// Staged is a dump written to a temporary file and hashed, not yet stored:
// crash reporters send form fields after the dump, and the dump is recorded
// with all of them. Commit or Abort it.
type Staged struct {
	s       *Store
	w       BlobWriter
	sum     string
	n       int64
	wrapper string
}

// Stage streams a dump to a temporary file (unwrapping zip, gzip or zstd)
// and hashes it. The caller must Commit or Abort the result.
func (s *Store) Stage(ctx context.Context, body io.Reader) (_ *Staged, err error) {
	br := bufio.NewReaderSize(body, 64<<10)
	src, wrapper, cleanup, err := unwrap(br, s.Blobs.Scratch)
	defer cleanup()
	if err != nil {
		return nil, err
	}
	w, err := s.Blobs.Create(ctx)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	n, err := copyDump(w, h, src, s.cfg.MaxDumpBytes)
	if err == nil && n < 32 {
		err = fmt.Errorf("%w: %d bytes is shorter than a minidump header", ErrInvalidDump, n)
	}
	if err != nil {
		w.Abort()
		return nil, err
	}
	return &Staged{s: s, w: w, sum: hex.EncodeToString(h.Sum(nil)), n: n, wrapper: wrapper}, nil
}

// Size is the dump's size after unwrapping.
func (st *Staged) Size() int64 { return st.n }

// Abort discards a staged dump; it is safe after Commit.
func (st *Staged) Abort() { st.w.Abort() }

// Commit makes the staged dump durable under its sha256 and records it,
// with the upload's annotations and attachments, with a queued analysis.
func (st *Staged) Commit(ctx context.Context, up Upload) (res IngestResult, err error) {
	s := st.s
	s.commitMu.RLock()
	defer s.commitMu.RUnlock()
	if err := st.w.Commit(st.sum); err != nil {
		return res, err
	}
	// Once committed the file outlives a failure to index it; Recover sweeps
	// such orphans at the next start.
	product, version := ProductVersion(up.Annotations)
	d, dup, err := s.Index.AddDump(ctx, NewDump{SHA256: st.sum, Size: st.n, FileName: up.FileName, Wrapper: st.wrapper,
		UploadedBy: up.UploadedBy, UploadedFrom: up.UploadedFrom, Annotations: up.Annotations,
		Attachments: up.Attachments, Product: product, ProductVersion: version})
	if err != nil {
		return res, err
	}
	if !dup {
		s.Wake()
	}
	return IngestResult{Dump: d, Duplicate: dup}, nil
}

// unwrap recognises the upload by its content and returns a reader of the
// dump inside it; a non-dump is ErrInvalidDump.
func unwrap(r io.Reader, scratch func() (*os.File, error)) (io.Reader, string, func(), error) {
	src, wrapper, cleanup, err := dumpfile.Unwrap(r, scratch)
	if errors.Is(err, dumpfile.ErrNotDump) {
		err = invalidDump{err}
	}
	return src, wrapper, cleanup, err
}

// invalidDump is ErrInvalidDump with the reason the unwrapper gave, in its
// words only: they already say "not a minidump", and a prefix of
// ErrInvalidDump's text would say it twice.
type invalidDump struct{ err error }

func (e invalidDump) Error() string   { return e.err.Error() }
func (e invalidDump) Unwrap() []error { return []error{ErrInvalidDump, e.err} }

// copyDump copies src to w and h, failing with ErrTooLarge past limit
// bytes (the guard against decompression bombs). A goroutine reads ahead
// while this one hashes and writes, so network and sha256 overlap.
func copyDump(w, h io.Writer, src io.Reader, limit int64) (int64, error) {
	type chunk struct {
		buf *[]byte
		n   int
		err error
	}
	const nbuf = 4
	free := make(chan *[]byte, nbuf)
	for range nbuf {
		free <- chunkPool.Get().(*[]byte)
	}
	full := make(chan chunk, nbuf)
	stop := make(chan struct{})
	go func() {
		defer close(full)
		for {
			var buf *[]byte
			select {
			case buf = <-free:
			case <-stop:
				return
			}
			k, err := fill(src, *buf)
			select {
			case full <- chunk{buf, k, err}:
			case <-stop:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	defer func() {
		// The reader must be done with src before the caller moves on.
		close(stop)
		for c := range full {
			chunkPool.Put(c.buf)
		}
		for len(free) > 0 {
			chunkPool.Put(<-free)
		}
	}()
	var n int64
	for c := range full {
		if c.n > 0 {
			if n+int64(c.n) > limit {
				return n, fmt.Errorf("%w: the dump is larger than the %s limit", ErrTooLarge, FormatBytes(limit))
			}
			b := (*c.buf)[:c.n]
			h.Write(b)
			if _, err := w.Write(b); err != nil {
				return n, err
			}
			n += int64(c.n)
		}
		free <- c.buf
		if c.err == io.EOF {
			return n, nil
		}
		if c.err != nil {
			return n, classifyReadErr(c.err)
		}
	}
	return n, nil
}

// chunkPool holds *[]byte: a pointer fits the interface without an allocation.
var chunkPool = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// fill reads until buf is full or src fails; io.EOF means the end.
func fill(src io.Reader, buf []byte) (int, error) {
	k := 0
	for k < len(buf) {
		m, err := src.Read(buf[k:])
		k += m
		if err != nil {
			return k, err
		}
	}
	return k, nil
}

// classifyReadErr turns damaged or truncated input into client errors; the
// body reader's other errors (size limit, connection) pass through.
func classifyReadErr(err error) error {
	switch {
	case errors.Is(err, dumpfile.ErrExpansion):
		return fmt.Errorf("%w: %v", ErrTooLarge, err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: the upload or its compressed data ended early", ErrInvalidDump)
	case errors.Is(err, gzip.ErrChecksum), errors.Is(err, gzip.ErrHeader),
		errors.Is(err, zstd.ErrMagicMismatch), errors.Is(err, zstd.ErrCRCMismatch),
		errors.Is(err, zstd.ErrWindowSizeExceeded), errors.Is(err, zstd.ErrReservedBlockType),
		errors.Is(err, zstd.ErrBlockTooSmall), errors.Is(err, zstd.ErrUnexpectedBlockSize),
		errors.Is(err, zip.ErrChecksum), errors.Is(err, zip.ErrFormat), errors.Is(err, zip.ErrAlgorithm):
		return fmt.Errorf("%w: damaged compressed data: %v", ErrInvalidDump, err)
	}
	var ce flate.CorruptInputError
	if errors.As(err, &ce) {
		return fmt.Errorf("%w: damaged compressed data: %v", ErrInvalidDump, err)
	}
	return err
}

// FormatBytes writes a byte count the way limits are configured (32G, 512M).
func FormatBytes(n int64) string {
	units := []string{"", "K", "M", "G", "T"}
	i := 0
	for n >= 1024 && n%1024 == 0 && i < len(units)-1 {
		n /= 1024
		i++
	}
	return fmt.Sprintf("%d%sB", n, units[i])
}

// Package dumpfile recognises a minidump by its content and unwraps the
// compressed containers dumps travel in (.gz, .zst, .zip), streaming, with
// limits against decompression bombs.
package dumpfile

import (
	"archive/zip"
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"github.com/klauspost/compress/gzip"
	"io"
	"os"

	"github.com/klauspost/compress/zstd"
)

// Wrapper names what held the dump: "" (a bare .dmp), "gzip", "zstd", "zip", "zip+gzip"...
type Wrapper = string

var (
	magicMDMP = []byte("MDMP")
	magicGzip = []byte{0x1f, 0x8b}
	magicZstd = []byte{0x28, 0xb5, 0x2f, 0xfd}
	magicZip  = []byte("PK\x03\x04")
)

// ErrNotDump means the content is neither a minidump nor a container holding one.
var ErrNotDump = errors.New("not a minidump (no MDMP signature); accepted: .dmp, or .zip, .gz, .zst holding one")

// ErrEmpty is an upload of no bytes; it is also ErrNotDump.
var ErrEmpty = emptyErr{}

type emptyErr struct{}

func (emptyErr) Error() string { return "the file is empty (0 bytes)" }
func (emptyErr) Unwrap() error { return ErrNotDump }

// zstdMaxWindow bounds the zstd decoder's memory.
const zstdMaxWindow = 128 << 20

// maxZipMembers bounds the members inspected in a zip.
const maxZipMembers = 1000

// IsMinidump reports whether head starts with the MDMP signature.
func IsMinidump(head []byte) bool { return bytes.HasPrefix(head, magicMDMP) }

// Unwrap returns a reader of the minidump inside r. zipScratch, when not
// nil, gives a file to spool a zip into (zip needs random access); without
// it zips are refused. The returned cleanup must be called.
func Unwrap(r io.Reader, zipScratch func() (*os.File, error)) (io.Reader, Wrapper, func(), error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(4)
	if len(head) == 0 {
		if err == io.EOF {
			return nil, "", func() {}, ErrEmpty
		}
		return nil, "", func() {}, err
	}
	switch {
	case IsMinidump(head):
		return br, "", func() {}, nil
	case bytes.HasPrefix(head, magicGzip), bytes.HasPrefix(head, magicZstd):
		return decompressed(br, head, "")
	case bytes.HasPrefix(head, magicZip):
		if zipScratch == nil {
			return nil, "zip", func() {}, fmt.Errorf("%w: zip files are not accepted here", ErrNotDump)
		}
		return unzip(br, zipScratch)
	}
	return nil, "", func() {}, ErrNotDump
}

// MaxExpansion bounds the bytes of non-zero dump data that one compressed
// byte may give. Real dumps compress 3:1 to 20:1 where they hold data (the
// runs of zero pages of a full dump compress without limit, so zeros are
// not counted); a stream that expands further is made to amplify.
const MaxExpansion = 1000

// expansionFloor is how much non-zero data any upload may expand to before
// MaxExpansion applies, so small dumps are never refused.
const expansionFloor = 16 << 20

// ErrExpansion means compressed data expands absurdly for a dump.
var ErrExpansion = errors.New("the compressed data expands absurdly for a dump")

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// expansionGuard fails a decompressed stream once its non-zero bytes pass
// MaxExpansion times the compressed bytes read (and expansionFloor).
type expansionGuard struct {
	r       io.Reader
	in      func() int64
	nonZero int64
	err     error
}

func (g *expansionGuard) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	n, err := g.r.Read(p)
	g.nonZero += nonZeroBytes(p[:n])
	if in := g.in(); g.nonZero > expansionFloor && g.nonZero/MaxExpansion > in {
		g.err = fmt.Errorf("%w: %d compressed bytes gave more than %d bytes of non-zero data (more than %d:1)",
			ErrExpansion, in, g.nonZero, MaxExpansion)
		return n, g.err
	}
	return n, err
}

var zeroBlock [64]byte

// nonZeroBytes counts the bytes of b in 64-byte blocks that are not all zero.
func nonZeroBytes(b []byte) int64 {
	var n int64
	for len(b) >= len(zeroBlock) {
		if !bytes.Equal(b[:len(zeroBlock)], zeroBlock[:]) {
			n += int64(len(zeroBlock))
		}
		b = b[len(zeroBlock):]
	}
	if len(b) > 0 && !bytes.Equal(b, zeroBlock[:len(b)]) {
		n += int64(len(b))
	}
	return n
}

func decompressed(r io.Reader, head []byte, prefix string) (io.Reader, Wrapper, func(), error) {
	cr := &countingReader{r: r}
	return decompressedCounted(cr, head, prefix, func() int64 { return cr.n })
}

// decompressedCounted decompresses r; in says how many compressed bytes
// have been read so far, for the expansion guard.
func decompressedCounted(r io.Reader, head []byte, prefix string, in func() int64) (io.Reader, Wrapper, func(), error) {
	var dr io.Reader
	var closer func()
	name := prefix + "zstd"
	if bytes.HasPrefix(head, magicGzip) {
		name = prefix + "gzip"
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, name, func() {}, fmt.Errorf("%w: bad gzip data: %v", ErrNotDump, err)
		}
		dr, closer = zr, func() { zr.Close() }
	} else {
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(zstdMaxWindow), zstd.WithDecoderLowmem(true))
		if err != nil {
			return nil, name, func() {}, fmt.Errorf("%w: bad zstd data: %v", ErrNotDump, err)
		}
		dr, closer = zr, zr.Close
	}
	br := bufio.NewReaderSize(&expansionGuard{r: dr, in: in}, 64<<10)
	h, err := br.Peek(4)
	if !IsMinidump(h) {
		closer()
		if err != nil && err != io.EOF {
			return nil, name, func() {}, fmt.Errorf("%w: bad %s data: %v", ErrNotDump, name, err)
		}
		return nil, name, func() {}, fmt.Errorf("%w: the %s data does not hold a minidump", ErrNotDump, name)
	}
	return br, name, closer, nil
}

func unzip(r io.Reader, scratch func() (*os.File, error)) (io.Reader, Wrapper, func(), error) {
	f, err := scratch()
	if err != nil {
		return nil, "zip", func() {}, err
	}
	var closers []func()
	cleanup := func() {
		for _, c := range closers {
			c()
		}
		f.Close()
		os.Remove(f.Name())
	}
	size, err := io.Copy(f, r)
	if err != nil {
		return nil, "zip", cleanup, err
	}
	zr, err := zip.NewReader(f, size)
	if err != nil {
		return nil, "zip", cleanup, fmt.Errorf("%w: bad zip file: %v", ErrNotDump, err)
	}
	for i, m := range zr.File {
		if i == maxZipMembers {
			break
		}
		if m.FileInfo().IsDir() {
			continue
		}
		rc, err := m.Open()
		if err != nil {
			continue
		}
		// A member's expansion is judged against the size of the whole zip.
		zipSize := func() int64 { return size }
		mr := bufio.NewReaderSize(&expansionGuard{r: rc, in: zipSize}, 64<<10)
		head, _ := mr.Peek(4)
		switch {
		case IsMinidump(head):
			closers = append(closers, func() { rc.Close() })
			return mr, "zip", cleanup, nil
		case bytes.HasPrefix(head, magicGzip), bytes.HasPrefix(head, magicZstd):
			inner, name, c, err := decompressedCounted(mr, head, "zip+", zipSize)
			if err == nil {
				closers = append(closers, c, func() { rc.Close() })
				return inner, name, cleanup, nil
			}
		}
		rc.Close()
	}
	return nil, "zip", cleanup, fmt.Errorf("%w: no member of the zip is a minidump", ErrNotDump)
}

// ErrTooLarge means the unwrapped dump exceeds the limit.
var ErrTooLarge = errors.New("dump exceeds the size limit")

// CopyLimited copies at most limit bytes, failing with ErrTooLarge beyond,
// which stops a decompression bomb at the limit.
func CopyLimited(dst io.Writer, src io.Reader, limit int64) (int64, error) {
	n, err := io.Copy(dst, io.LimitReader(src, limit+1))
	if err != nil {
		return n, err
	}
	if n > limit {
		return n, fmt.Errorf("%w (%d bytes)", ErrTooLarge, limit)
	}
	return n, nil
}

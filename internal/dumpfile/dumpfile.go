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
			return nil, "", func() {}, fmt.Errorf("%w: the file is empty", ErrNotDump)
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

func decompressed(r io.Reader, head []byte, prefix string) (io.Reader, Wrapper, func(), error) {
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
	br := bufio.NewReaderSize(dr, 64<<10)
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
		mr := bufio.NewReaderSize(rc, 64<<10)
		head, _ := mr.Peek(4)
		switch {
		case IsMinidump(head):
			closers = append(closers, func() { rc.Close() })
			return mr, "zip", cleanup, nil
		case bytes.HasPrefix(head, magicGzip), bytes.HasPrefix(head, magicZstd):
			inner, name, c, err := decompressed(mr, head, "zip+")
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

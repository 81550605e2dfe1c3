// Package ue4crash reads the compressed crash report Unreal Engine's
// CrashReportClient uploads (a ".ue4crash" file): one zlib stream holding
// a header, the report's files, and the header again.
//
// The layout, all little-endian:
//
//	FCompressedHeader  DirectoryName FString, FileName FString,
//	                   UncompressedSize int32, FileCount int32
//	                   (a placeholder: the sizes are not filled in)
//	FileCount times:   FileIndex int32, FileName FString,
//	                   FileData TArray<uint8> (int32 length, bytes)
//	FCompressedHeader  again, with UncompressedSize (the offset of this
//	                   trailer) and FileCount filled in
//
// An FString is an int32 length counting its NUL, then that many bytes;
// a negative length means as many UTF-16 code units.
//
// The reader streams: the container is never held whole, and every length
// it declares is checked against the bytes it may still hold before it is
// trusted. A container without the trailing header (older writers) ends
// after its last file.
package ue4crash

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"

	"github.com/klauspost/compress/zlib"
)

// Errors. ErrMalformed covers every container that does not parse,
// including declared sizes the container cannot hold; ErrTooLarge is a
// stream that decompresses past the caller's limit.
var (
	ErrMalformed = errors.New("malformed Unreal crash report")
	ErrTooLarge  = errors.New("the Unreal crash report decompresses past the size limit")
)

// Bounds on what a container may declare.
const (
	// MaxNameUnits bounds an FString (Unreal writes names of at most 260).
	MaxNameUnits = 1024
	// MaxFiles bounds the files of one container (CrashReportClient sends
	// four or five).
	MaxFiles = 256
)

// maxHeader is the longest encoded FCompressedHeader.
const maxHeader = 2*(4+2*MaxNameUnits) + 8

// Header is FCompressedHeader.
type Header struct {
	DirectoryName    string
	FileName         string
	UncompressedSize int32
	FileCount        int32
}

// File is one file of the container.
type File struct {
	Index int32
	Name  string
	Size  int64
}

// Reader reads a container's files in order, like archive/tar.
type Reader struct {
	br     *bufio.Reader
	off    int64 // decompressed bytes consumed
	max    int64
	Header Header // the leading header, as written (a placeholder)
	// Trailer is the trailing header, when the container has one; it is
	// set once Next has returned io.EOF.
	Trailer *Header
	files   int
	left    int64 // unread bytes of the current file
	done    bool
}

// NewReader starts reading a compressed container; the decompressed
// stream may not exceed max bytes.
func NewReader(r io.Reader, max int64) (*Reader, error) {
	zr, err := zlib.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("%w: not a zlib stream: %v", ErrMalformed, err)
	}
	return newReader(zr, max)
}

// newReader reads an already decompressed container.
func newReader(r io.Reader, max int64) (*Reader, error) {
	cr := &capReader{r: r, left: max}
	ur := &Reader{br: bufio.NewReaderSize(cr, 2*maxHeader+64), max: max}
	h, err := ur.header()
	if err != nil {
		return nil, fmt.Errorf("the header: %w", err)
	}
	ur.Header = h
	return ur, nil
}

// capReader fails with ErrTooLarge past left bytes.
type capReader struct {
	r    io.Reader
	left int64
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		// Past the cap only if the stream has more.
		var b [1]byte
		if n, err := c.r.Read(b[:]); n > 0 {
			return 0, ErrTooLarge
		} else if err != nil {
			return 0, err
		}
		return 0, nil
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// Next skips what is left of the current file and returns the next one's
// description; its bytes are read with Read. At the end it checks the
// trailing header and returns io.EOF.
func (r *Reader) Next() (*File, error) {
	if r.done {
		return nil, io.EOF
	}
	if r.left > 0 {
		if _, err := io.CopyN(io.Discard, r, r.left); err != nil {
			return nil, err
		}
	}
	peek, err := r.br.Peek(maxHeader + 1)
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, r.streamErr(err)
	}
	if len(peek) == 0 {
		if r.files == 0 {
			return nil, fmt.Errorf("%w: it holds no files", ErrMalformed)
		}
		r.done = true
		return nil, io.EOF
	}
	if len(peek) <= maxHeader {
		// The rest of the stream is short enough to be the trailing header:
		// it is when it parses as one to the last byte and agrees with what
		// was read.
		if h, n, ok := parseHeader(peek); ok && n == len(peek) {
			switch {
			case r.files == 0:
				return nil, fmt.Errorf("%w: it holds no files", ErrMalformed)
			case h.FileCount != int32(r.files):
				return nil, fmt.Errorf("%w: the trailing header declares %d files, the container holds %d", ErrMalformed, h.FileCount, r.files)
			case int64(h.UncompressedSize) != r.off:
				return nil, fmt.Errorf("%w: the trailing header declares %d bytes of files, the container holds %d", ErrMalformed, h.UncompressedSize, r.off)
			}
			r.br.Discard(n)
			r.off += int64(n)
			r.Trailer, r.done = &h, true
			return nil, io.EOF
		}
	}
	if r.files >= MaxFiles {
		return nil, fmt.Errorf("%w: more than %d files", ErrMalformed, MaxFiles)
	}
	at := r.off
	idx, err := r.int32()
	if err != nil {
		return nil, fmt.Errorf("file %d at offset %d: %w", r.files, at, err)
	}
	name, err := r.fstring()
	if err != nil {
		return nil, fmt.Errorf("file %d at offset %d: its name: %w", r.files, at, err)
	}
	n, err := r.int32()
	if err != nil {
		return nil, fmt.Errorf("file %d (%s): its length: %w", r.files, name, err)
	}
	if n < 0 {
		return nil, fmt.Errorf("%w: file %d (%s) declares %d bytes", ErrMalformed, r.files, name, n)
	}
	if int64(n) > r.max-r.off {
		return nil, fmt.Errorf("%w: file %d (%s) declares %d bytes, more than the %d the container may still hold", ErrMalformed, r.files, name, n, r.max-r.off)
	}
	r.files++
	r.left = int64(n)
	return &File{Index: idx, Name: name, Size: int64(n)}, nil
}

// Read reads the current file; a stream that ends inside it is
// ErrMalformed.
func (r *Reader) Read(p []byte) (int, error) {
	if r.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n, err := r.br.Read(p)
	r.left -= int64(n)
	r.off += int64(n)
	if err == io.EOF && r.left > 0 {
		return n, fmt.Errorf("%w: the stream ends %d bytes into a file %d bytes short", ErrMalformed, n, r.left)
	}
	if err != nil && err != io.EOF {
		return n, r.streamErr(err)
	}
	return n, nil
}

// Peek returns up to n of the current file's next bytes without reading
// them.
func (r *Reader) Peek(n int) []byte {
	n = int(min(int64(n), r.left))
	b, _ := r.br.Peek(n)
	return b
}

// Files is the number of files read so far.
func (r *Reader) Files() int { return r.files }

// Offset is the number of decompressed bytes read.
func (r *Reader) Offset() int64 { return r.off }

func (r *Reader) streamErr(err error) error {
	if errors.Is(err, ErrTooLarge) || errors.Is(err, ErrMalformed) {
		return err
	}
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		return fmt.Errorf("%w: the stream is truncated", ErrMalformed)
	}
	return fmt.Errorf("%w: %v", ErrMalformed, err)
}

func (r *Reader) full(b []byte) error {
	n, err := io.ReadFull(r.br, b)
	r.off += int64(n)
	if err != nil {
		return r.streamErr(err)
	}
	return nil
}

func (r *Reader) int32() (int32, error) {
	var b [4]byte
	if err := r.full(b[:]); err != nil {
		return 0, err
	}
	return int32(binary.LittleEndian.Uint32(b[:])), nil
}

func (r *Reader) fstring() (string, error) {
	n, err := r.int32()
	if err != nil {
		return "", err
	}
	size, err := fstringSize(n)
	if err != nil {
		return "", err
	}
	b := make([]byte, size)
	if err := r.full(b); err != nil {
		return "", err
	}
	return decodeFString(n, b), nil
}

func (r *Reader) header() (Header, error) {
	var h Header
	var err error
	if h.DirectoryName, err = r.fstring(); err != nil {
		return h, err
	}
	if h.FileName, err = r.fstring(); err != nil {
		return h, err
	}
	if h.UncompressedSize, err = r.int32(); err != nil {
		return h, err
	}
	h.FileCount, err = r.int32()
	return h, err
}

// fstringSize is the byte size of an FString of length n, bounded.
func fstringSize(n int32) (int, error) {
	if n < -MaxNameUnits || n > MaxNameUnits {
		return 0, fmt.Errorf("%w: a name of %d characters (at most %d)", ErrMalformed, n, MaxNameUnits)
	}
	if n < 0 {
		return -2 * int(n), nil
	}
	return int(n), nil
}

// decodeFString turns an FString's bytes into valid UTF-8 without its NUL
// padding.
func decodeFString(n int32, b []byte) string {
	var s string
	if n < 0 {
		u := make([]uint16, len(b)/2)
		for i := range u {
			u[i] = binary.LittleEndian.Uint16(b[2*i:])
		}
		s = string(utf16.Decode(u))
	} else {
		s = string(b)
	}
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// parseHeader parses an FCompressedHeader at the start of b.
func parseHeader(b []byte) (Header, int, bool) {
	var h Header
	off := 0
	str := func() (string, bool) {
		if len(b)-off < 4 {
			return "", false
		}
		n := int32(binary.LittleEndian.Uint32(b[off:]))
		size, err := fstringSize(n)
		if err != nil || len(b)-off-4 < size {
			return "", false
		}
		s := decodeFString(n, b[off+4:off+4+size])
		off += 4 + size
		return s, true
	}
	var ok bool
	if h.DirectoryName, ok = str(); !ok {
		return h, 0, false
	}
	if h.FileName, ok = str(); !ok {
		return h, 0, false
	}
	if len(b)-off < 8 {
		return h, 0, false
	}
	h.UncompressedSize = int32(binary.LittleEndian.Uint32(b[off:]))
	h.FileCount = int32(binary.LittleEndian.Uint32(b[off+4:]))
	return h, off + 8, true
}

// IsMinidump reports whether a file's first bytes are a minidump's.
func IsMinidump(head []byte) bool { return bytes.HasPrefix(head, []byte("MDMP")) }

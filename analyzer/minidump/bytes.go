package minidump

import (
	"encoding/binary"
	"io"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

var le = binary.LittleEndian

// file wraps the dump's io.ReaderAt with its size, so every read can be checked
// against the end of the file before anything is allocated.
type file struct {
	r    io.ReaderAt
	size int64
	// mem is the whole file when r is Mapped: reads lend slices of it.
	mem []byte
	// strings caches MINIDUMP_STRINGs by RVA: a hostile dump can point
	// thousands of records at one long string, and each must cost one read.
	strings map[stringKey]cachedString
}

type stringKey struct {
	rva  uint32
	utf8 bool
}

type cachedString struct {
	s   string
	err error
}

// MaxNameLength bounds a name read from the dump (module paths, thread and
// handle names), in UTF-16 code units: Windows paths stop at 32,767, names
// worth showing long before. Longer names are cut and end in "…".
const MaxNameLength = 1024

// maxUTF8String bounds a Breakpad/Crashpad UTF-8 string (annotations).
const maxUTF8String = 4 << 10

// Mapped is an io.ReaderAt that holds the whole dump in memory, such as a
// memory-mapped file. Reads then lend slices of Bytes instead of copying,
// so the bytes must stay valid and unchanged while the Dump is in use.
type Mapped interface {
	io.ReaderAt
	Bytes() []byte
}

// read returns n bytes at off, or a FormatError naming stream when they are not
// all in the file.
func (f *file) read(stream string, off int64, n int64) ([]byte, error) {
	if off < 0 || n < 0 || off > f.size || n > f.size-off {
		return nil, formatErr(stream, off, "%d bytes wanted but the file ends at %#x", n, f.size)
	}
	if f.mem != nil {
		return f.mem[off : off+n : off+n], nil
	}
	b := make([]byte, n)
	if _, err := f.r.ReadAt(b, off); err != nil && !(err == io.EOF) {
		return nil, formatErr(stream, off, "read: %v", err)
	}
	return b, nil
}

// fits reports whether count entries of entrySize bytes starting at off lie
// within the file. It guards allocations sized by counts read from the file.
func (f *file) fits(off int64, count uint64, entrySize uint64) bool {
	if off < 0 || off > f.size || entrySize == 0 {
		return off >= 0 && off <= f.size
	}
	avail := uint64(f.size - off)
	return count <= avail/entrySize
}

// readString reads a MINIDUMP_STRING (ULONG32 Length in bytes, then UTF-16LE).
// Names longer than MaxNameLength are cut.
func (f *file) readString(stream string, rva uint32) (string, error) {
	if rva == 0 {
		return "", nil
	}
	if c, ok := f.strings[stringKey{rva, false}]; ok {
		return c.s, c.err
	}
	s, err := f.readStringAt(stream, rva)
	if f.strings == nil {
		f.strings = map[stringKey]cachedString{}
	}
	f.strings[stringKey{rva, false}] = cachedString{s, err}
	return s, err
}

func (f *file) readStringAt(stream string, rva uint32) (string, error) {
	h, err := f.read(stream, int64(rva), 4)
	if err != nil {
		return "", err
	}
	n := le.Uint32(h)
	if n > 64*1024 {
		return "", formatErr(stream, int64(rva), "string length %d is implausible", n)
	}
	cut := false
	if n > 2*MaxNameLength {
		n, cut = 2*MaxNameLength, true
	}
	b, err := f.read(stream, int64(rva)+4, int64(n))
	if err != nil {
		return "", err
	}
	if cut {
		return utf16le(b) + "…", nil
	}
	return utf16le(b), nil
}

// readUTF8String reads a Breakpad/Crashpad MinidumpUTF8String (length, bytes).
// Strings are cached by RVA and cut at maxUTF8String.
func (f *file) readUTF8String(stream string, rva uint32) (string, error) {
	key := stringKey{rva, true}
	if c, ok := f.strings[key]; ok {
		return c.s, c.err
	}
	s, err := f.readUTF8StringAt(stream, rva)
	if f.strings == nil {
		f.strings = map[stringKey]cachedString{}
	}
	f.strings[key] = cachedString{s, err}
	return s, err
}

func (f *file) readUTF8StringAt(stream string, rva uint32) (string, error) {
	h, err := f.read(stream, int64(rva), 4)
	if err != nil {
		return "", err
	}
	n := le.Uint32(h)
	if n > 1<<20 {
		return "", formatErr(stream, int64(rva), "string length %d is implausible", n)
	}
	cut := false
	if n > maxUTF8String {
		n, cut = maxUTF8String, true
	}
	b, err := f.read(stream, int64(rva)+4, int64(n))
	if err != nil {
		return "", err
	}
	if cut {
		return strings.ToValidUTF8(string(b), "") + "…", nil
	}
	return string(b), nil
}

func utf16le(b []byte) string {
	n := len(b) / 2
	for n > 0 && b[2*n-2] == 0 && b[2*n-1] == 0 {
		n--
	}
	// One allocation: names and XML are mostly ASCII, and an Unreal crash
	// context is hundreds of KB, which intermediate []uint16 and []rune
	// copies made megabytes of fresh memory.
	var sb strings.Builder
	sb.Grow(n)
	for i := 0; i < n; i++ {
		r := rune(le.Uint16(b[2*i:]))
		switch {
		case r < utf8.RuneSelf:
			sb.WriteByte(byte(r))
			continue
		case utf16.IsSurrogate(r) && i+1 < n:
			if pair := utf16.DecodeRune(r, rune(le.Uint16(b[2*i+2:]))); pair != utf8.RuneError {
				r = pair
				i++
			} else {
				r = utf8.RuneError
			}
		case utf16.IsSurrogate(r):
			r = utf8.RuneError
		}
		sb.WriteRune(r)
	}
	return sb.String()
}

// utf16z decodes a fixed-size, NUL-terminated UTF-16LE array.
func utf16z(b []byte) string {
	for i := 0; i+1 < len(b); i += 2 {
		if b[i] == 0 && b[i+1] == 0 {
			return utf16le(b[:i])
		}
	}
	return utf16le(b)
}

// cursor decodes little-endian fields from a buffer already read and checked.
type cursor struct {
	b   []byte
	off int
}

func (c *cursor) u8() uint8   { v := c.b[c.off]; c.off++; return v }
func (c *cursor) u16() uint16 { v := le.Uint16(c.b[c.off:]); c.off += 2; return v }
func (c *cursor) u32() uint32 { v := le.Uint32(c.b[c.off:]); c.off += 4; return v }
func (c *cursor) u64() uint64 { v := le.Uint64(c.b[c.off:]); c.off += 8; return v }
func (c *cursor) skip(n int)  { c.off += n }
func (c *cursor) bytes(n int) []byte {
	v := c.b[c.off : c.off+n]
	c.off += n
	return v
}

package dumpfile

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/klauspost/compress/zstd"
)

var dump = append([]byte("MDMP\x93\xa7\x00\x00"), bytes.Repeat([]byte{7}, 1000)...)

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func zs(b []byte) []byte {
	var buf bytes.Buffer
	w, _ := zstd.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func zp(name string, b []byte) []byte {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	f, _ := w.Create("readme.txt")
	f.Write([]byte("hello"))
	f, _ = w.Create(name)
	f.Write(b)
	w.Close()
	return buf.Bytes()
}

func scratch(t *testing.T) func() (*os.File, error) {
	return func() (*os.File, error) { return os.CreateTemp(t.TempDir(), "zip") }
}

func TestUnwrap(t *testing.T) {
	cases := []struct {
		name    string
		in      []byte
		wrapper string
		err     error
	}{
		{"bare", dump, "", nil},
		{"gzip", gz(dump), "gzip", nil},
		{"zstd", zs(dump), "zstd", nil},
		{"zip", zp("crash.dmp", dump), "zip", nil},
		{"zip of zstd", zp("crash.dmp.zst", zs(dump)), "zip+zstd", nil},
		{"text", []byte("hello, I am not a dump"), "", ErrNotDump},
		{"empty", nil, "", ErrNotDump},
		{"gzip of text", gz([]byte("not a dump at all")), "gzip", ErrNotDump},
		{"zip without dump", zp("notes.txt", []byte("nothing")), "zip", ErrNotDump},
		{"truncated gzip", gz(dump)[:10], "gzip", ErrNotDump},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, w, cleanup, err := Unwrap(bytes.NewReader(c.in), scratch(t))
			defer cleanup()
			if !errors.Is(err, c.err) {
				t.Fatalf("err %v, want %v", err, c.err)
			}
			if w != c.wrapper {
				t.Errorf("wrapper %q, want %q", w, c.wrapper)
			}
			if err == nil {
				got, _ := io.ReadAll(r)
				if !bytes.Equal(got, dump) {
					t.Errorf("content differs")
				}
			}
		})
	}
}

func TestBombStopsAtLimit(t *testing.T) {
	bomb := gz(append([]byte("MDMP"), make([]byte, 50<<20)...))
	r, _, cleanup, err := Unwrap(bytes.NewReader(bomb), nil)
	defer cleanup()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CopyLimited(io.Discard, r, 1<<20); !errors.Is(err, ErrTooLarge) {
		t.Errorf("err %v, want ErrTooLarge", err)
	}
}

func FuzzUnwrap(f *testing.F) {
	f.Add(gz(dump))
	f.Add(zs(dump))
	f.Add(dump[:8])
	f.Add(zs(append([]byte("MDMP"), bytes.Repeat([]byte{0x41}, 1<<20)...)))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, _, cleanup, err := Unwrap(bytes.NewReader(b), nil)
		defer cleanup()
		if err != nil {
			return
		}
		// Whatever decodes stays within the expansion bound (plus what
		// the readers buffer).
		var out bytes.Buffer
		if _, err := CopyLimited(&out, r, expansionFloor+2<<20); err == nil {
			if nz := nonZeroBytes(out.Bytes()); nz > expansionFloor+MaxExpansion*int64(len(b))+256<<10 {
				t.Errorf("%d bytes gave %d non-zero bytes", len(b), nz)
			}
		}
	})
}

func TestExpansion(t *testing.T) {
	repeated := append([]byte("MDMP"), bytes.Repeat([]byte{0x41}, 64<<20)...)
	sparse := append([]byte("MDMP"), make([]byte, 64<<20)...)
	copy(sparse[1<<20:], bytes.Repeat([]byte{0x41, 0x42, 0x43}, 1000)) // some data amid zero pages, as in a full dump
	cases := []struct {
		name string
		in   []byte
		err  error
	}{
		{"zstd of repeated data", zs(repeated), ErrExpansion},
		{"zip of zstd of repeated data", zp("a.dmp.zst", zs(repeated)), ErrExpansion},
		{"zstd of zero pages", zs(sparse), nil},
		{"gzip of zero pages", gz(sparse), nil},
		{"small dump", zs(dump), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, _, cleanup, err := Unwrap(bytes.NewReader(c.in), scratch(t))
			defer cleanup()
			if err == nil {
				_, err = CopyLimited(io.Discard, r, 1<<30)
			}
			if !errors.Is(err, c.err) {
				t.Fatalf("err %v, want %v (input %d bytes)", err, c.err, len(c.in))
			}
		})
	}
}

func TestNonZeroBytes(t *testing.T) {
	b := make([]byte, 200)
	if n := nonZeroBytes(b); n != 0 {
		t.Errorf("zeros: %d", n)
	}
	b[70], b[199] = 1, 1
	if n := nonZeroBytes(b); n != 64+8 {
		t.Errorf("got %d, want 72", n)
	}
}

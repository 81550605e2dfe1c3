package store

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"testing"
)

// FuzzUnwrap feeds arbitrary uploads to the unwrapping and copying half of
// Ingest (the rest is SQLite, too slow under coverage): it must never
// panic, and must yield a dump, ErrInvalidDump or ErrTooLarge.
func FuzzUnwrap(f *testing.F) {
	dump := fakeDump(7, 3000)
	for _, seed := range [][]byte{dump, gz(dump), zst(dump), zipOf("a.dmp", dump), zipOf("a.dmp.gz", gz(dump)),
		zipOf("x.txt", []byte("x"), "b.dmp.zst", zst(dump)), []byte("MDMP"), []byte("PK\x03\x04"), {0x1f, 0x8b},
		{0x28, 0xb5, 0x2f, 0xfd}, nil} {
		f.Add(seed)
	}
	dir := f.TempDir()
	scratch := func() (*os.File, error) { return os.CreateTemp(dir, "spool-*") }
	f.Fuzz(func(t *testing.T, body []byte) {
		src, _, cleanup, err := unwrap(bufio.NewReader(bytes.NewReader(body)), scratch)
		if cleanup != nil {
			defer cleanup()
		}
		if err == nil {
			_, err = copyDump(io.Discard, sha256.New(), src, 1<<20)
		}
		if err != nil && !errors.Is(err, ErrInvalidDump) && !errors.Is(err, ErrTooLarge) {
			t.Fatalf("unexpected error: %v", err)
		}
	})
}

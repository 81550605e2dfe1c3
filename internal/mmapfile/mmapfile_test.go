package mmapfile

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestReadAt(t *testing.T) {
	dir := t.TempDir()
	content := []byte("MDMP and the rest of a dump")
	full := filepath.Join(dir, "full")
	empty := filepath.Join(dir, "empty")
	os.WriteFile(full, content, 0o644)
	os.WriteFile(empty, nil, 0o644)

	m, err := Open(full)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.Size() != int64(len(content)) {
		t.Errorf("size %d", m.Size())
	}
	if runtime.GOOS != "windows" && !bytes.Equal(m.Bytes(), content) {
		t.Errorf("Bytes = %q", m.Bytes())
	}
	for _, c := range []struct {
		off, n  int64
		want    string
		wantErr error
	}{
		{0, 4, "MDMP", nil},
		{int64(len(content)) - 4, 4, "dump", nil},
		{int64(len(content)) - 2, 4, "mp", io.EOF},
		{int64(len(content)), 1, "", io.EOF},
		{1 << 40, 1, "", io.EOF},
	} {
		p := make([]byte, c.n)
		n, err := m.ReadAt(p, c.off)
		if string(p[:n]) != c.want || err != c.wantErr {
			t.Errorf("ReadAt(%d, %d) = %q, %v; want %q, %v", c.n, c.off, p[:n], err, c.want, c.wantErr)
		}
	}
	if _, err := m.ReadAt(make([]byte, 1), -1); err == nil {
		t.Error("negative offset: no error")
	}

	e, err := Open(empty)
	if err != nil {
		t.Fatal(err)
	}
	if e.Bytes() != nil || e.Size() != 0 {
		t.Errorf("empty file: %d bytes mapped, size %d", len(e.Bytes()), e.Size())
	}
	if n, err := e.ReadAt(make([]byte, 1), 0); n != 0 || err != io.EOF {
		t.Errorf("empty file ReadAt = %d, %v", n, err)
	}
	e.Close()

	if _, err := Open(dir); err == nil {
		t.Error("a directory opened")
	}
	if _, err := Open(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing file opened")
	}
}

// Package mmapfile opens a file as a read-only memory mapping, so that a
// reader of a large dump touches only the pages it needs, with no copies
// and no buffers of its own.
package mmapfile

import (
	"errors"
	"io"
	"os"
)

// File is a read-only view of a whole file. It implements io.ReaderAt, and
// Bytes lends the mapping itself: slices of it stay valid until Close.
type File struct {
	data []byte
	f    *os.File // set when the file could not be mapped
	size int64
}

// Open maps the file at path. Files that cannot be mapped (empty, or on a
// system or file system without mmap) are read through the file instead,
// and Bytes returns nil.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if st.IsDir() {
		f.Close()
		return nil, errors.New("is a directory")
	}
	size := st.Size()
	if data, err := mapFile(f, size); err == nil {
		f.Close() // the mapping keeps the file's pages
		return &File{data: data, size: size}, nil
	}
	return &File{f: f, size: size}, nil
}

// Size is the file's length when it was opened.
func (m *File) Size() int64 { return m.size }

// Bytes is the whole mapped file, or nil when it is not mapped. Callers must
// not write to it.
func (m *File) Bytes() []byte { return m.data }

// ReadAt implements io.ReaderAt.
func (m *File) ReadAt(p []byte, off int64) (int, error) {
	if m.f != nil {
		return m.f.ReadAt(p, off)
	}
	if off < 0 {
		return 0, errors.New("mmapfile: negative offset")
	}
	if off >= int64(len(m.data)) {
		return 0, io.EOF
	}
	n := copy(p, m.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Close unmaps the file; slices from Bytes must not be used after it.
func (m *File) Close() error {
	if m.f != nil {
		return m.f.Close()
	}
	data := m.data
	m.data = nil
	return unmap(data)
}

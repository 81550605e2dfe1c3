package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

// Dir stores dump files in a local folder: dumps/ab/<sha256>.dmp, with new
// files written to tmp/ first and renamed into place after an fsync, so a
// file under dumps/ is always complete.
type Dir struct {
	root   string
	shards sync.Map // shard directories known to exist and be durable
	// MinFree is the disk space a write leaves free; writing past it fails
	// with ErrNoSpace.
	MinFree int64
}

// NewDir creates the folder's layout.
func NewDir(root string) (*Dir, error) {
	for _, d := range []string{"dumps", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return nil, err
		}
	}
	return &Dir{root: root, MinFree: 1 << 30}, nil
}

func (d *Dir) path(key string) (string, error) {
	if len(key) < 4 || strings.ContainsAny(key, `/\.`) {
		return "", fmt.Errorf("bad blob key %q", key)
	}
	return filepath.Join(d.root, "dumps", key[:2], key+".dmp"), nil
}

// Create starts a new file in tmp/; ErrNoSpace when the disk is already
// below its reserve.
func (d *Dir) Create(ctx context.Context) (BlobWriter, error) {
	if free, err := d.freeBytes(); err == nil && free < d.MinFree {
		return nil, fmt.Errorf("%w: %d MB left on the data disk", ErrNoSpace, free>>20)
	}
	f, err := os.CreateTemp(filepath.Join(d.root, "tmp"), "upload-*.part")
	if err != nil {
		return nil, err
	}
	return &dirWriter{d: d, f: f}, nil
}

// Scratch creates a temporary file in tmp/.
func (d *Dir) Scratch() (*os.File, error) {
	return os.CreateTemp(filepath.Join(d.root, "tmp"), "spool-*.part")
}

// Open opens a stored file.
func (d *Dir) Open(ctx context.Context, key string) (Blob, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	return openFileBlob(p, "dump file "+key)
}

// openFileBlob opens a stored file as a Blob; a missing one is ErrNotFound,
// named by what.
func openFileBlob(p, what string) (Blob, error) {
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &fileBlob{File: f, size: st.Size()}, nil
}

type fileBlob struct {
	*os.File
	size int64
}

func (b *fileBlob) Size() int64 { return b.size }

// Delete removes a stored file; a missing file is not an error.
func (d *Dir) Delete(ctx context.Context, key string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// Walk lists the stored keys.
func (d *Dir) Walk(ctx context.Context, fn func(key string) error) error {
	subs, err := os.ReadDir(filepath.Join(d.root, "dumps"))
	if err != nil {
		return err
	}
	for _, s := range subs {
		if !s.IsDir() {
			continue
		}
		files, err := os.ReadDir(filepath.Join(d.root, "dumps", s.Name()))
		if err != nil {
			return err
		}
		for _, f := range files {
			if key, ok := strings.CutSuffix(f.Name(), ".dmp"); ok {
				if err := ctx.Err(); err != nil {
					return err
				}
				if err := fn(key); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// Recover removes everything in tmp/: partial uploads of a process that died.
func (d *Dir) Recover(ctx context.Context) (int, error) {
	tmp := filepath.Join(d.root, "tmp")
	ents, err := os.ReadDir(tmp)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range ents {
		if err := os.RemoveAll(filepath.Join(tmp, e.Name())); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// freeBytes is the space left for unprivileged writers on the folder's disk.
func (d *Dir) freeBytes() (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(d.root, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}

// dirWriter writes a temp file, leaving holes for aligned all-zero blocks:
// full dumps are mostly zero pages, and skipping them keeps the upload fast
// and the file sparse.
type dirWriter struct {
	d         *Dir
	f         *os.File
	off       int64 // logical size written
	hole      int64 // pending zero bytes not yet written, at off-hole
	sinceFree int64
	done      bool
}

const (
	holeBlock  = 64 << 10
	freeCheckN = 256 << 20
)

var zeroBlock = make([]byte, holeBlock)

func (w *dirWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		// Write up to the next block boundary, or skip a whole zero block.
		k := holeBlock - int(w.off%holeBlock)
		if k > len(p) {
			k = len(p)
		}
		chunk := p[:k]
		if k == holeBlock && bytes.Equal(chunk, zeroBlock) {
			w.hole += int64(k)
		} else {
			if err := w.flushHole(); err != nil {
				return n - len(p), err
			}
			// Coalesce consecutive non-zero blocks into one write.
			end := k
			for end+holeBlock <= len(p) && !bytes.Equal(p[end:end+holeBlock], zeroBlock) {
				end += holeBlock
			}
			if _, err := w.f.Write(p[:end]); err != nil {
				return n - len(p), err
			}
			chunk = p[:end]
			w.sinceFree += int64(end)
		}
		w.off += int64(len(chunk))
		p = p[len(chunk):]
		if w.sinceFree >= freeCheckN {
			w.sinceFree = 0
			if free, err := w.d.freeBytes(); err == nil && free < w.d.MinFree {
				return n - len(p), fmt.Errorf("%w: %d MB left on the data disk", ErrNoSpace, free>>20)
			}
		}
	}
	return n, nil
}

func (w *dirWriter) flushHole() error {
	if w.hole == 0 {
		return nil
	}
	if _, err := w.f.Seek(w.hole, io.SeekCurrent); err != nil {
		return err
	}
	w.hole = 0
	return nil
}

// Commit makes the file durable and moves it to its content address. When a
// file with that key exists (same bytes), the new one is dropped.
func (w *dirWriter) Commit(key string) error {
	if w.done {
		return errors.New("blob already committed or aborted")
	}
	dst, err := w.d.path(key)
	if err != nil {
		return err
	}
	if w.hole > 0 {
		if err := w.f.Truncate(w.off); err != nil {
			return err
		}
	}
	if _, err := os.Stat(dst); err == nil {
		return w.Abort()
	}
	if err := w.f.Sync(); err != nil {
		return err
	}
	if err := w.f.Close(); err != nil {
		return err
	}
	dir := filepath.Dir(dst)
	if _, ok := w.d.shards.Load(dir); !ok {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		// A new shard directory must itself be durable in dumps/.
		if err := syncDir(filepath.Dir(dir)); err != nil {
			return err
		}
		w.d.shards.Store(dir, true)
	}
	if err := os.Rename(w.f.Name(), dst); err != nil {
		return err
	}
	w.done = true
	return syncDir(dir)
}

// Abort removes the temp file.
func (w *dirWriter) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.f.Close()
	return os.Remove(w.f.Name())
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

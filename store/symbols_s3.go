package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
)

// S3SymbolFiles keeps symbol files in the bucket, under PREFIX/symbols/, with
// a local mirror that the analyzer reads (it searches folders). A file put
// on one node reaches the others' mirrors at their next Sync, which every
// analysis calls; the mirror is a cache and can be deleted.
type S3SymbolFiles struct {
	s     *S3
	local *SymbolDir

	mu       sync.Mutex
	lastSync time.Time
	known    map[string]bool // keys present in the mirror
}

// symbolSyncEvery throttles listing the bucket: files uploaded elsewhere
// are seen by analyses starting this much later at most.
const symbolSyncEvery = 5 * time.Second

// NewS3SymbolFiles keeps symbol files in s with a mirror in local.
func NewS3SymbolFiles(s *S3, local *SymbolDir) *S3SymbolFiles {
	return &S3SymbolFiles{s: s, local: local, known: map[string]bool{}}
}

func (f *S3SymbolFiles) objectKey(key string) (string, error) {
	if _, err := f.local.path(key); err != nil {
		return "", err
	}
	return f.s.prefix + "symbols/" + key, nil
}

// Put implements SymbolFiles: the bucket first (it is the truth), then the
// mirror.
func (f *S3SymbolFiles) Put(ctx context.Context, key string, src io.Reader) (err error) {
	defer wrap(&err, "store symbol file %s in S3", key)
	ok, err := f.objectKey(key)
	if err != nil {
		return err
	}
	size := int64(-1)
	rs, seekable := src.(io.ReadSeeker)
	if fl, isFile := src.(*os.File); isFile {
		if st, err := fl.Stat(); err == nil {
			pos, _ := fl.Seek(0, io.SeekCurrent)
			size = st.Size() - pos
		}
	}
	var start int64
	if seekable {
		start, _ = rs.Seek(0, io.SeekCurrent)
	}
	if _, err := f.s.c.PutObject(ctx, f.s.bucket, ok, src, size, minio.PutObjectOptions{PartSize: s3PartSize}); err != nil {
		return err
	}
	if !seekable {
		return nil // the mirror fetches it when asked
	}
	if _, err := rs.Seek(start, io.SeekStart); err != nil {
		return err
	}
	if err := f.local.Put(ctx, key, rs); err != nil {
		return err
	}
	f.mu.Lock()
	f.known[key] = true
	f.mu.Unlock()
	return nil
}

// Open implements SymbolFiles, from the mirror, fetching a missing file.
func (f *S3SymbolFiles) Open(ctx context.Context, key string) (Blob, error) {
	b, err := f.local.Open(ctx, key)
	if !errors.Is(err, ErrNotFound) {
		return b, err
	}
	if err := f.fetch(ctx, key); err != nil {
		return nil, err
	}
	return f.local.Open(ctx, key)
}

func (f *S3SymbolFiles) fetch(ctx context.Context, key string) error {
	ok, err := f.objectKey(key)
	if err != nil {
		return err
	}
	o, err := f.s.c.GetObject(ctx, f.s.bucket, ok, minio.GetObjectOptions{})
	if err != nil {
		return err
	}
	defer o.Close()
	if _, err := o.Stat(); err != nil {
		if isNoSuchKey(err) {
			return fmt.Errorf("symbol file %s: %w", key, ErrNotFound)
		}
		return err
	}
	if err := f.local.Put(ctx, key, o); err != nil {
		return err
	}
	f.mu.Lock()
	f.known[key] = true
	f.mu.Unlock()
	return nil
}

// SearchPath implements SymbolFiles: the mirror.
func (f *S3SymbolFiles) SearchPath() string { return f.local.SearchPath() }

// Sync brings files uploaded on other nodes into the mirror, at most every
// few seconds.
func (f *S3SymbolFiles) Sync(ctx context.Context) error {
	f.mu.Lock()
	if time.Since(f.lastSync) < symbolSyncEvery {
		f.mu.Unlock()
		return nil
	}
	f.lastSync = time.Now()
	f.mu.Unlock()
	prefix := f.s.prefix + "symbols/"
	for o := range f.s.c.ListObjectsIter(ctx, f.s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			return o.Err
		}
		key := o.Key[len(prefix):]
		f.mu.Lock()
		known := f.known[key]
		f.mu.Unlock()
		if known {
			continue
		}
		if p, err := f.local.path(key); err != nil {
			continue // not a key we write
		} else if st, err := os.Stat(p); err == nil && st.Size() == o.Size {
			f.mu.Lock()
			f.known[key] = true
			f.mu.Unlock()
			continue
		}
		if err := f.fetch(ctx, key); err != nil {
			return err
		}
	}
	return nil
}

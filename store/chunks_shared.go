package store

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"time"

	"github.com/minio/minio-go/v7"
)

// With S3 blobs, web nodes behind a load balancer share chunked uploads:
// sentry-cli may send chunks to one node, ask another to assemble and poll a
// third. Chunks then live in the bucket (PREFIX/chunks/<sha1>) and each
// assembly's state in the index's settings (key chunk-assembly/<sha1>).

// settingAssembly prefixes the settings that hold assembly states.
const settingAssembly = "chunk-assembly/"

// assemblyStale is when an "assembling" state of another node counts as
// abandoned (that node died) and assembly starts again.
const assemblyStale = 10 * time.Minute

type sharedAssembly struct {
	Status AssembleStatus `json:"status"`
	At     time.Time      `json:"at"`
}

func (s *Symbols) s3() *S3 {
	b, _ := s.st.Blobs.(*S3)
	return b
}

func (s *S3) chunkKey(sum string) string { return s.prefix + "chunks/" + sum }

// putSharedChunk moves a verified chunk file into the bucket.
func (s *Symbols) putSharedChunk(ctx context.Context, f *os.File, sum string) error {
	b := s.s3()
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		return err
	}
	_, err = b.c.PutObject(ctx, b.bucket, b.chunkKey(sum), f, st.Size(), minio.PutObjectOptions{})
	return err
}

func (s *Symbols) hasChunk(ctx context.Context, sum string) bool {
	if b := s.s3(); b != nil {
		_, err := b.c.StatObject(ctx, b.bucket, b.chunkKey(sum), minio.StatObjectOptions{})
		return err == nil
	}
	_, err := os.Stat(s.chunkPath(sum))
	return err == nil
}

func (s *Symbols) openChunk(ctx context.Context, sum string) (io.ReadCloser, error) {
	if b := s.s3(); b != nil {
		o, err := b.c.GetObject(ctx, b.bucket, b.chunkKey(sum), minio.GetObjectOptions{})
		if err != nil {
			return nil, err
		}
		if _, err := o.Stat(); err != nil {
			o.Close()
			return nil, err
		}
		return o, nil
	}
	return os.Open(s.chunkPath(sum))
}

func (s *Symbols) removeChunk(ctx context.Context, sum string) {
	if b := s.s3(); b != nil {
		b.c.RemoveObject(ctx, b.bucket, b.chunkKey(sum), minio.RemoveObjectOptions{})
		return
	}
	os.Remove(s.chunkPath(sum))
}

// sweepSharedChunks removes chunks in the bucket older than chunkMaxAge.
func (s *Symbols) sweepSharedChunks(ctx context.Context) {
	b := s.s3()
	cutoff := time.Now().Add(-chunkMaxAge)
	for o := range b.c.ListObjectsIter(ctx, b.bucket, minio.ListObjectsOptions{Prefix: b.prefix + "chunks/", Recursive: true}) {
		if o.Err != nil {
			return
		}
		if o.LastModified.Before(cutoff) {
			b.c.RemoveObject(ctx, b.bucket, o.Key, minio.RemoveObjectOptions{})
		}
	}
}

// sharedAssemblyState reads another node's record of an assembly; ok is
// false when there is none worth answering with.
func (s *Symbols) sharedAssemblyState(ctx context.Context, checksum string) (AssembleStatus, bool) {
	if s.s3() == nil {
		return AssembleStatus{}, false
	}
	v, err := s.Index.Setting(ctx, settingAssembly+checksum)
	if err != nil || v == "" {
		return AssembleStatus{}, false
	}
	var a sharedAssembly
	if json.Unmarshal([]byte(v), &a) != nil {
		return AssembleStatus{}, false
	}
	age := time.Since(a.At)
	if a.Status.State == AssembleAssembling && age > assemblyStale || age > assemblyKeep {
		return AssembleStatus{}, false
	}
	return a.Status, true
}

// recordAssembly shares an assembly's state with the other nodes.
func (s *Symbols) recordAssembly(ctx context.Context, checksum string, st AssembleStatus) {
	if s.s3() == nil {
		return
	}
	b, err := json.Marshal(sharedAssembly{Status: st, At: time.Now()})
	if err == nil {
		s.Index.SetSetting(ctx, settingAssembly+checksum, string(b))
	}
}

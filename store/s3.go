package store

import (
	"bytes"
	"container/list"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3 stores dump files in an S3-compatible bucket: PREFIX/dumps/ab/<sha256>.dmp.
// An upload of one part is one PUT to its content address; a longer one
// streams to PREFIX/tmp/<random> as a multipart upload (one part in memory
// at a time) while it is hashed, then is copied server-side; so dedup works
// without spooling the dump locally.
type S3 struct {
	c       *minio.Client
	bucket  string
	prefix  string // "" or "some/prefix/"
	scratch string // local folder for zip spools
	// Fetched counts the bytes read from the bucket by ranged reads.
	Fetched atomic.Int64
}

// s3PartSize is the size of one multipart upload part: the memory an
// upload holds. S3 allows 10,000 parts, so this bounds a dump at 160 GiB.
const s3PartSize = 16 << 20

// OpenS3 opens s3://BUCKET[/prefix]?endpoint=http://host:port&region=...
// with credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, and
// creates the bucket when it is missing. scratch is a local folder for
// spooling zip uploads.
func OpenS3(ctx context.Context, raw, scratch string) (_ *S3, err error) {
	defer wrap(&err, "blobs %s", redactURL(raw))
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "s3" || u.Host == "" {
		return nil, errors.New("want s3://BUCKET[/prefix]?endpoint=http://host:port&region=REGION")
	}
	q := u.Query()
	endpoint, secure := "s3.amazonaws.com", true
	if e := q.Get("endpoint"); e != "" {
		eu, err := url.Parse(e)
		if err != nil || (eu.Scheme != "http" && eu.Scheme != "https") || eu.Host == "" {
			return nil, fmt.Errorf("endpoint %q: want http(s)://host[:port]", e)
		}
		endpoint, secure = eu.Host, eu.Scheme == "https"
	}
	id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if id == "" || secret == "" {
		return nil, errors.New("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY to the bucket's credentials")
	}
	region := q.Get("region")
	c, err := minio.New(endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(id, secret, os.Getenv("AWS_SESSION_TOKEN")),
		Secure: secure, Region: region,
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(scratch, 0o755); err != nil {
		return nil, err
	}
	s := &S3{c: c, bucket: u.Host, scratch: scratch}
	if p := strings.Trim(u.Path, "/"); p != "" {
		s.prefix = p + "/"
	}
	ok, err := c.BucketExists(ctx, s.bucket)
	if err != nil {
		return nil, fmt.Errorf("bucket %s: %w (check the endpoint and the credentials)", s.bucket, err)
	}
	if !ok {
		if err := c.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{Region: region}); err != nil {
			if r := minio.ToErrorResponse(err); r.Code != "BucketAlreadyOwnedByYou" {
				return nil, fmt.Errorf("bucket %s does not exist and these credentials cannot create it: %w", s.bucket, err)
			}
		}
	}
	if err := s.checkFormat(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// s3Format describes the layout under the prefix. It is written once, so
// that a later version (or `migrate`) knows what it reads, and a prefix
// holding something else is not taken for a dump store.
const s3Format = `{"dumptriage_store": 1, "dumps": "dumps/<sha256[:2]>/<sha256>.dmp", "temp": "tmp/"}` + "\n"

func (s *S3) checkFormat(ctx context.Context) error {
	k := s.prefix + "dumptriage-store.json"
	o, err := s.c.GetObject(ctx, s.bucket, k, minio.GetObjectOptions{})
	if err == nil {
		var b []byte
		b, err = io.ReadAll(io.LimitReader(o, 4096))
		o.Close()
		if err == nil {
			var f struct {
				Version int `json:"dumptriage_store"`
			}
			if jerr := json.Unmarshal(b, &f); jerr != nil || f.Version != 1 {
				return fmt.Errorf("%s is not a dumptriage store of format 1: %.80q", k, b)
			}
			return nil
		}
	}
	if !isNoSuchKey(err) {
		return fmt.Errorf("bucket %s: %w (check the endpoint and the credentials)", s.bucket, err)
	}
	_, err = s.c.PutObject(ctx, s.bucket, k, strings.NewReader(s3Format), int64(len(s3Format)),
		minio.PutObjectOptions{ContentType: "application/json"})
	if err != nil {
		return fmt.Errorf("bucket %s: these credentials cannot write to it: %w", s.bucket, err)
	}
	return nil
}

// redactURL drops any user info from a URL for messages.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(bad URL)"
	}
	u.User = nil
	return u.String()
}

func (s *S3) key(sum string) (string, error) {
	if len(sum) < 4 || strings.ContainsAny(sum, `/\.`) {
		return "", fmt.Errorf("bad blob key %q", sum)
	}
	return s.prefix + "dumps/" + sum[:2] + "/" + sum + ".dmp", nil
}

func isNoSuchKey(err error) bool {
	var r minio.ErrorResponse
	if !errors.As(err, &r) {
		return false
	}
	c := r.Code
	return c == "NoSuchKey" || c == "NotFound"
}

// Create implements Blobs. The first part is kept in memory: an upload
// that fits in it (most minidumps) is one PUT to its content address at
// Commit; a longer one streams as a multipart upload to a temp object that
// Commit copies.
func (s *S3) Create(ctx context.Context) (BlobWriter, error) {
	return &s3Writer{s: s, ctx: ctx}, nil
}

type s3Writer struct {
	s         *S3
	ctx       context.Context
	first     s3Chunks // the upload until it outgrows one part
	streaming bool     // past one part: bytes go through pw to a temp object
	tmp       string
	pw        *io.PipeWriter
	done      chan struct{}
	err       error
	finished  bool
	committed bool
}

func (w *s3Writer) Write(p []byte) (int, error) {
	if w.finished {
		return 0, errors.New("blob already committed or aborted")
	}
	if !w.streaming {
		if w.first.n+len(p) <= s3PartSize {
			w.first.write(p)
			return len(p), nil
		}
		w.stream()
		_, err := w.first.reader().WriteTo(w.pw)
		w.first.release()
		if err != nil {
			return 0, err
		}
	}
	return w.pw.Write(p)
}

// stream starts the multipart upload to a temp object.
func (w *s3Writer) stream() {
	var b [12]byte
	rand.Read(b[:])
	w.tmp = w.s.prefix + "tmp/" + time.Now().UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b[:])
	pr, pw := io.Pipe()
	w.pw, w.done, w.streaming = pw, make(chan struct{}), true
	go func() {
		defer close(w.done)
		_, w.err = w.s.c.PutObject(w.ctx, w.s.bucket, w.tmp, pr, -1, minio.PutObjectOptions{
			PartSize: s3PartSize, ContentType: "application/octet-stream"})
		pr.CloseWithError(w.err) // a failed upload fails the writer's next Write
	}()
}

// Commit finishes the upload at its content address, unless an object with
// those bytes is already there.
func (w *s3Writer) Commit(sum string) error {
	if w.finished {
		return errors.New("blob already committed or aborted")
	}
	dst, err := w.s.key(sum)
	if err != nil {
		return err
	}
	w.finished = true
	ctx := context.Background()
	if w.streaming {
		w.pw.Close()
		<-w.done
		defer w.s.c.RemoveObject(ctx, w.s.bucket, w.tmp, minio.RemoveObjectOptions{})
		if w.err != nil {
			return fmt.Errorf("upload to S3: %w", w.err)
		}
	}
	if !w.streaming {
		// One PUT, without asking first whether the object is there: a HEAD
		// per upload costs more than re-sending the rare duplicate's bytes,
		// which land on the same key. The payload is signed with its sha256,
		// which is the key and already known, so the client hashes nothing
		// more and the server still checks what it received.
		_, err := minio.Core{Client: w.s.c}.PutObject(ctx, w.s.bucket, dst, w.first.reader(), int64(w.first.n),
			"", sum, minio.PutObjectOptions{ContentType: "application/octet-stream", DisableContentSha256: true})
		w.first.release()
		if err != nil {
			return fmt.Errorf("upload to S3: %w", err)
		}
		w.committed = true
		return nil
	}
	if _, err := w.s.c.StatObject(ctx, w.s.bucket, dst, minio.StatObjectOptions{}); err == nil {
		w.committed = true
		return nil
	} else if !isNoSuchKey(err) {
		return err
	}
	// ComposeObject copies server-side, in parts past 5 GiB.
	_, err = w.s.c.ComposeObject(ctx, minio.CopyDestOptions{Bucket: w.s.bucket, Object: dst},
		minio.CopySrcOptions{Bucket: w.s.bucket, Object: w.tmp})
	if err != nil {
		return fmt.Errorf("S3 copy to %s: %w", dst, err)
	}
	w.committed = true
	return nil
}

// Abort implements BlobWriter.
func (w *s3Writer) Abort() error {
	if w.finished {
		return nil
	}
	w.finished = true
	w.first.release()
	if !w.streaming {
		return nil
	}
	w.pw.CloseWithError(errors.New("upload aborted"))
	<-w.done
	// An aborted streaming upload leaves no object; a finished one is removed.
	return w.s.c.RemoveObject(context.Background(), w.s.bucket, w.tmp, minio.RemoveObjectOptions{})
}

// s3Chunks holds an upload's first part in pooled 1 MiB chunks: growing
// one slice copied each upload about twice over and faulted in fresh pages,
// a tenth of a web node's CPU.
type s3Chunks struct {
	chunks []*[]byte
	n      int
}

const s3ChunkSize = 1 << 20

var s3ChunkPool = sync.Pool{New: func() any { b := make([]byte, 0, s3ChunkSize); return &b }}

func (c *s3Chunks) write(p []byte) {
	c.n += len(p)
	for len(p) > 0 {
		if len(c.chunks) == 0 || len(*c.chunks[len(c.chunks)-1]) == s3ChunkSize {
			c.chunks = append(c.chunks, s3ChunkPool.Get().(*[]byte))
		}
		last := c.chunks[len(c.chunks)-1]
		k := min(len(p), s3ChunkSize-len(*last))
		*last = append(*last, p[:k]...)
		p = p[k:]
	}
}

// reader reads the chunks; it is valid until release.
func (c *s3Chunks) reader() *bytes.Reader {
	if len(c.chunks) == 1 {
		return bytes.NewReader(*c.chunks[0])
	}
	// minio-go wants a length and takes any reader, but one flat copy of a
	// few chunks is cheap next to the PUT; most minidumps fit one chunk.
	b := make([]byte, 0, c.n)
	for _, ch := range c.chunks {
		b = append(b, *ch...)
	}
	return bytes.NewReader(b)
}

func (c *s3Chunks) release() {
	for _, ch := range c.chunks {
		*ch = (*ch)[:0]
		s3ChunkPool.Put(ch)
	}
	c.chunks, c.n = nil, 0
}

// Scratch implements Blobs: zip uploads spool to the local disk.
func (s *S3) Scratch() (*os.File, error) { return os.CreateTemp(s.scratch, "spool-*.part") }

// Open implements Blobs: the blob reads by ranged GETs.
func (s *S3) Open(ctx context.Context, sum string) (Blob, error) {
	k, err := s.key(sum)
	if err != nil {
		return nil, err
	}
	return s.openKey(ctx, k)
}

func (s *S3) openKey(ctx context.Context, k string) (Blob, error) {
	st, err := s.c.StatObject(ctx, s.bucket, k, minio.StatObjectOptions{})
	if isNoSuchKey(err) {
		return nil, fmt.Errorf("%s: %w", k, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	return newS3Reader(s, k, st.Size), nil
}

// OpenSized opens a blob whose size the index knows, without a HEAD: the
// first block is read at once (all of a minidump up to s3WholeObject), so a
// missing object is ErrNotFound here, as from Open.
func (s *S3) OpenSized(ctx context.Context, sum string, size int64) (Blob, error) {
	k, err := s.key(sum)
	if err != nil {
		return nil, err
	}
	r := newS3Reader(s, k, size)
	if size > 0 {
		if _, err := r.block(0); isNoSuchKey(err) {
			return nil, fmt.Errorf("%s: %w", k, ErrNotFound)
		} else if err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Delete implements Blobs.
func (s *S3) Delete(ctx context.Context, sum string) error {
	k, err := s.key(sum)
	if err != nil {
		return err
	}
	return s.c.RemoveObject(ctx, s.bucket, k, minio.RemoveObjectOptions{})
}

// s3SweepAge is how old an object must be before Recover may call it an
// orphan or a leftover: other nodes may be committing and indexing it now.
const s3SweepAge = time.Hour

// Walk implements Blobs. It lists only objects older than an hour, so a
// sweep for orphans never races an upload another node is indexing.
func (s *S3) Walk(ctx context.Context, fn func(key string) error) error {
	cutoff := time.Now().Add(-s3SweepAge)
	for o := range s.c.ListObjectsIter(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix + "dumps/", Recursive: true}) {
		if o.Err != nil {
			return o.Err
		}
		if o.LastModified.After(cutoff) {
			continue
		}
		name := o.Key[strings.LastIndexByte(o.Key, '/')+1:]
		if k, ok := strings.CutSuffix(name, ".dmp"); ok {
			if err := fn(k); err != nil {
				return err
			}
		}
	}
	return ctx.Err()
}

// Recover implements Blobs: it empties the local scratch folder and removes
// temp objects older than a day (uploads that died mid-way; younger ones may
// be in flight on other nodes).
func (s *S3) Recover(ctx context.Context) (int, error) {
	n := 0
	ents, _ := os.ReadDir(s.scratch)
	for _, e := range ents {
		if os.RemoveAll(filepath.Join(s.scratch, e.Name())) == nil {
			n++
		}
	}
	cutoff := time.Now().Add(-24 * time.Hour)
	for o := range s.c.ListObjectsIter(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix + "tmp/", Recursive: true}) {
		if o.Err != nil {
			return n, o.Err
		}
		if o.LastModified.Before(cutoff) {
			if err := s.c.RemoveObject(ctx, s.bucket, o.Key, minio.RemoveObjectOptions{}); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// s3Reader is an io.ReaderAt over one object: ranged GETs of whole blocks,
// an LRU of recent blocks, and read-ahead that doubles while reads are
// sequential. A 20 GB full dump is analysed by fetching the few parts the
// analyzer reads.
type s3Reader struct {
	size int64
	// fetch reads [start, end) of the object: one ranged GET.
	fetch   func(start, end int64) ([]byte, error)
	fetched *atomic.Int64
	gets    int

	mu      sync.Mutex
	blocks  map[int64]*list.Element // block index -> element holding *s3Block
	lru     *list.List
	lastEnd int64 // block after the last fetch
	ahead   int64 // blocks fetched past the one asked for
}

type s3Block struct {
	idx  int64
	data []byte
}

const (
	s3BlockSize = 256 << 10
	s3MaxBlocks = 128 // 32 MiB of cache per open blob
	s3MaxAhead  = 15  // 4 MiB per GET at most
	// s3WholeObject: objects up to this size are fetched whole on first read.
	s3WholeObject = 4 << 20
)

func newS3Reader(s *S3, key string, size int64) *s3Reader {
	return newBlockReader(size, &s.Fetched, func(start, end int64) ([]byte, error) {
		opts := minio.GetObjectOptions{}
		if err := opts.SetRange(start, end-1); err != nil {
			return nil, err
		}
		obj, err := s.c.GetObject(context.Background(), s.bucket, key, opts)
		if err != nil {
			return nil, err
		}
		defer obj.Close()
		buf := make([]byte, end-start)
		if _, err := io.ReadFull(obj, buf); err != nil {
			return nil, fmt.Errorf("S3 read of %s at %d: %w", key, start, err)
		}
		return buf, nil
	})
}

func newBlockReader(size int64, fetched *atomic.Int64, fetch func(start, end int64) ([]byte, error)) *s3Reader {
	return &s3Reader{size: size, fetch: fetch, fetched: fetched, blocks: map[int64]*list.Element{}, lru: list.New()}
}

func (r *s3Reader) Size() int64 { return r.size }

func (r *s3Reader) Close() error {
	r.mu.Lock()
	r.blocks, r.lru = map[int64]*list.Element{}, list.New()
	r.mu.Unlock()
	return nil
}

func (r *s3Reader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	if off >= r.size {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && off < r.size {
		b, err := r.block(off / s3BlockSize)
		if err != nil {
			return n, err
		}
		k := copy(p[n:], b[off%s3BlockSize:])
		n += k
		off += int64(k)
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (r *s3Reader) block(i int64) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.blocks[i]; ok {
		r.lru.MoveToFront(e)
		return e.Value.(*s3Block).data, nil
	}
	first := i
	switch {
	case r.size <= s3WholeObject:
		// A minidump is read all over: one GET beats a dozen small ones.
		first, r.ahead = 0, (r.size-1)/s3BlockSize
	case i == r.lastEnd:
		r.ahead = min(max(1, 2*r.ahead), s3MaxAhead)
	default:
		r.ahead = 0
	}
	last := min(first+r.ahead, (r.size-1)/s3BlockSize)
	start, end := first*s3BlockSize, min((last+1)*s3BlockSize, r.size)
	buf, err := r.fetch(start, end)
	if err != nil {
		return nil, err
	}
	r.gets++
	r.fetched.Add(int64(len(buf)))
	r.lastEnd = last + 1
	for j := first; j <= last; j++ {
		lo := (j - first) * s3BlockSize
		hi := min(lo+s3BlockSize, int64(len(buf)))
		if e, ok := r.blocks[j]; ok {
			r.lru.Remove(e)
		}
		r.blocks[j] = r.lru.PushFront(&s3Block{idx: j, data: buf[lo:hi:hi]})
	}
	for r.lru.Len() > s3MaxBlocks {
		e := r.lru.Back()
		r.lru.Remove(e)
		delete(r.blocks, e.Value.(*s3Block).idx)
	}
	return r.blocks[i].Value.(*s3Block).data, nil
}

package store

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Chunked uploads, as Sentry's chunk-upload protocol does them: the client
// sends a file's chunks named by their SHA-1, then asks for the file to be
// assembled from a list of chunk checksums; assembly runs in the
// background and the client polls its state.

// Chunk protocol limits, advertised to clients.
const (
	ChunkSize         = 8 << 20  // bytes of one chunk
	ChunksPerRequest  = 64       // chunks in one POST
	MaxChunkRequest   = 32 << 20 // bytes of one POST
	ChunkConcurrency  = 4        // parallel POSTs
	chunkMaxAge       = 2 * time.Hour
	assemblyKeep      = time.Hour
	assemblyWaitShort = 10 * time.Second
)

// Assembly states (Sentry's ChunkFileState).
const (
	AssembleNotFound   = "not_found"
	AssembleCreated    = "created"
	AssembleAssembling = "assembling"
	AssembleOK         = "ok"
	AssembleError      = "error"
)

// AssembleStatus is the state of one file's assembly.
type AssembleStatus struct {
	State         string
	MissingChunks []string
	Detail        string
	Result        *SymbolResult // when ok
}

type assembly struct {
	done   chan struct{}
	status AssembleStatus
	at     time.Time
}

type chunkState struct {
	mu        sync.Mutex
	jobs      map[string]*assembly
	lastSweep time.Time
}

func (s *Symbols) chunkDir() string { return s.cfg.ChunkDir }

func validChecksum(c string) bool {
	if len(c) != 40 {
		return false
	}
	_, err := hex.DecodeString(c)
	return err == nil
}

func (s *Symbols) chunkPath(sum string) string { return filepath.Join(s.chunkDir(), sum) }

// PutChunk stores one chunk read from r (at most ChunkSize bytes). want,
// when not empty, is the checksum the client named it by.
func (s *Symbols) PutChunk(ctx context.Context, r io.Reader, want string) (sum string, err error) {
	defer wrap(&err, "chunk")
	s.sweepChunks(ctx)
	f, err := os.CreateTemp(s.chunkDir(), "chunk-*.part")
	if err != nil {
		return "", err
	}
	defer func() {
		f.Close()
		os.Remove(f.Name())
	}()
	h := sha1.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(r, ChunkSize+1))
	if err != nil {
		return "", err
	}
	if n > ChunkSize {
		return "", fmt.Errorf("%w: a chunk is over %s", ErrTooLarge, FormatBytes(ChunkSize))
	}
	sum = hex.EncodeToString(h.Sum(nil))
	if want != "" && want != sum {
		return "", fmt.Errorf("%w: chunk named %.40q has checksum %s", ErrBadRequest, want, sum)
	}
	if s.s3() != nil {
		return sum, s.putSharedChunk(ctx, f, sum)
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return sum, os.Rename(f.Name(), s.chunkPath(sum))
}

// sweepChunks deletes chunks never assembled, at most every ten minutes.
func (s *Symbols) sweepChunks(ctx context.Context) {
	s.chunks.mu.Lock()
	if time.Since(s.chunks.lastSweep) < 10*time.Minute {
		s.chunks.mu.Unlock()
		return
	}
	s.chunks.lastSweep = time.Now()
	s.chunks.mu.Unlock()
	if s.s3() != nil {
		s.sweepSharedChunks(ctx)
		return
	}
	ents, _ := os.ReadDir(s.chunkDir())
	for _, e := range ents {
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > chunkMaxAge {
			os.Remove(filepath.Join(s.chunkDir(), e.Name()))
		}
	}
}

// Assemble starts (or reports on) assembling the file with the given
// SHA-1 from chunks, stored under name. It waits a little for small files,
// so most answers are final.
func (s *Symbols) Assemble(ctx context.Context, checksum, name string, chunks []string, by string) AssembleStatus {
	if !validChecksum(checksum) {
		return AssembleStatus{State: AssembleError, Detail: "bad checksum"}
	}
	s.chunks.mu.Lock()
	for k, a := range s.chunks.jobs {
		if time.Since(a.at) > assemblyKeep {
			delete(s.chunks.jobs, k)
		}
	}
	if a, ok := s.chunks.jobs[checksum]; ok {
		s.chunks.mu.Unlock()
		return s.waitAssembly(ctx, a)
	}
	if st, ok := s.sharedAssemblyState(ctx, checksum); ok {
		s.chunks.mu.Unlock()
		return st // another node's assembly
	}
	var missing []string
	for _, c := range chunks {
		if !validChecksum(c) {
			s.chunks.mu.Unlock()
			return AssembleStatus{State: AssembleError, Detail: "bad chunk checksum"}
		}
		if !s.hasChunk(ctx, c) {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 || len(chunks) == 0 {
		s.chunks.mu.Unlock()
		return AssembleStatus{State: AssembleNotFound, MissingChunks: missing}
	}
	if int64(len(chunks)) > s.cfg.MaxFileBytes/ChunkSize+1 {
		s.chunks.mu.Unlock()
		return AssembleStatus{State: AssembleError, Detail: "over the " + FormatBytes(s.cfg.MaxFileBytes) + " limit of a symbol file"}
	}
	a := &assembly{done: make(chan struct{}), at: time.Now(), status: AssembleStatus{State: AssembleAssembling}}
	s.chunks.jobs[checksum] = a
	s.chunks.mu.Unlock()
	s.recordAssembly(ctx, checksum, a.status)
	go func() {
		st := s.assemble(context.WithoutCancel(ctx), checksum, name, chunks, by)
		s.recordAssembly(context.WithoutCancel(ctx), checksum, st)
		s.chunks.mu.Lock()
		a.status, a.at = st, time.Now()
		s.chunks.mu.Unlock()
		close(a.done)
	}()
	return s.waitAssembly(ctx, a)
}

func (s *Symbols) waitAssembly(ctx context.Context, a *assembly) AssembleStatus {
	t := time.NewTimer(assemblyWaitShort)
	defer t.Stop()
	select {
	case <-a.done:
	case <-t.C:
	case <-ctx.Done():
	}
	s.chunks.mu.Lock()
	defer s.chunks.mu.Unlock()
	return a.status
}

func (s *Symbols) assemble(ctx context.Context, checksum, name string, chunks []string, by string) AssembleStatus {
	fail := func(detail string) AssembleStatus { return AssembleStatus{State: AssembleError, Detail: detail} }
	f, err := s.st.Blobs.Scratch()
	if err != nil {
		return fail("internal error")
	}
	defer func() {
		f.Close()
		os.Remove(f.Name())
	}()
	h := sha1.New()
	var size int64
	for _, c := range chunks {
		cf, err := s.openChunk(ctx, c)
		if err != nil {
			return AssembleStatus{State: AssembleNotFound, MissingChunks: []string{c}}
		}
		n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(cf, ChunkSize+1))
		cf.Close()
		if err != nil {
			return fail("internal error")
		}
		size += n
		if size > s.cfg.MaxFileBytes {
			return fail("over the " + FormatBytes(s.cfg.MaxFileBytes) + " limit of a symbol file")
		}
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != checksum {
		return fail("the chunks' checksum " + got + " is not the file's " + checksum)
	}
	res, err := s.addFile(ctx, f, size, checksum, name, by, "sentry-cli")
	if err != nil {
		return fail("storing the file failed: " + err.Error())
	}
	for _, c := range chunks {
		s.removeChunk(ctx, c)
	}
	if res.Status == SymbolSkipped {
		return fail(res.Reason)
	}
	return AssembleStatus{State: AssembleOK, Result: &res}
}

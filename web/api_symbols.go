package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/dumptriage/dumptriage/store"
)

// SymbolService is what the symbol handlers need from the store.
type SymbolService interface {
	AddSpooled(ctx context.Context, f *os.File, size int64, name, by, source string) (store.SymbolResult, error)
	AddZip(ctx context.Context, r io.ReaderAt, size int64, by, source string) ([]store.SymbolResult, error)
	Scratch() (*os.File, error)
	MaxFileBytes() int64
	List(ctx context.Context, limit int) ([]store.SymbolFile, int, error)
	Missing(ctx context.Context, limit int) ([]store.MissingSymbol, error)
	Arrival(ctx context.Context, dumpID string) (*store.SymbolArrival, error)
	Sources(ctx context.Context) (store.Sources, error)
	SetUpstream(ctx context.Context, url string) error
	ChangeUpstreams(ctx context.Context, action, id, url string) error
	PutChunk(ctx context.Context, r io.Reader, want string) (string, error)
	Assemble(ctx context.Context, checksum, name string, chunks []string, by string) store.AssembleStatus
}

// uploaderName names who sends a request, for the symbol files' uploaded_by.
// The route's permission rule has already let the request in.
func (s *Server) uploaderName(r *http.Request) string {
	if s.cfg.Uploader != nil {
		return s.cfg.Uploader(r)
	}
	if p := principalFrom(r.Context()); p != nil {
		return p.Name
	}
	return ""
}

// symbolFileJSON is one uploaded file's outcome in the API.
type symbolFileJSON struct {
	Name       string `json:"name"`
	Status     string `json:"status"` // stored, duplicate, skipped
	Reason     string `json:"reason,omitempty"`
	Kind       string `json:"kind,omitempty"`
	DebugID    string `json:"debug_id,omitempty"` // as Sentry prints it
	CodeID     string `json:"code_id,omitempty"`
	BreakpadID string `json:"breakpad_id,omitempty"` // the symbol-store form
	DebugFile  string `json:"debug_file,omitempty"`
	CodeFile   string `json:"code_file,omitempty"`
	Arch       string `json:"arch,omitempty"`
	Path       string `json:"path,omitempty"` // in the symbol store
	Size       int64  `json:"size,omitempty"`
	Reanalyses int    `json:"reanalyses"`
}

func symbolJSON(res store.SymbolResult) symbolFileJSON {
	j := symbolFileJSON{Name: res.Name, Status: res.Status, Reason: res.Reason, Reanalyses: res.Reanalyses}
	if res.Status != store.SymbolSkipped {
		f := res.File
		j.Kind, j.DebugID, j.CodeID, j.BreakpadID = string(f.Kind), f.SentryDebugID(), strings.ToLower(f.CodeID), f.DebugID
		j.DebugFile, j.CodeFile, j.Arch, j.Path, j.Size = f.DebugFile, f.CodeFile, f.Arch, f.Path, f.Size
	}
	return j
}

// symbolUploads reads the symbol files of a request: multipart parts with
// a file name (each a symbol file or a zip of them), or the body itself.
func (s *Server) symbolUploads(r *http.Request, by, source string) ([]store.SymbolResult, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "multipart/form-data" {
		name := r.URL.Query().Get("name")
		if name == "" {
			if _, params, err := mime.ParseMediaType(r.Header.Get("Content-Disposition")); err == nil {
				name = params["filename"]
			}
		}
		return s.symbolUpload(r.Context(), r.Body, cleanName(name), by, source)
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", store.ErrBadRequest, err)
	}
	var out []store.SymbolResult
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return out, fmt.Errorf("%w: reading the multipart body: %w", store.ErrBadRequest, err)
		}
		if part.FileName() == "" {
			part.Close()
			continue
		}
		res, err := s.symbolUpload(r.Context(), part, cleanName(part.FileName()), by, source)
		part.Close()
		out = append(out, res...)
		if err != nil {
			return out, err
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no files in the upload", store.ErrBadRequest)
	}
	return out, nil
}

// symbolUpload stores one uploaded file, opening it when it is a zip.
func (s *Server) symbolUpload(ctx context.Context, body io.Reader, name, by, source string) ([]store.SymbolResult, error) {
	sym := s.cfg.Symbols
	f, err := sym.Scratch()
	if err != nil {
		return nil, err
	}
	defer func() {
		f.Close()
		os.Remove(f.Name())
	}()
	// A zip may hold many files: its own bound is the request's.
	n, err := io.Copy(f, io.LimitReader(body, s.cfg.MaxUploadBytes+1))
	if err != nil {
		return nil, err
	}
	if n > s.cfg.MaxUploadBytes {
		return nil, &http.MaxBytesError{Limit: s.cfg.MaxUploadBytes}
	}
	if store.IsZip(f) {
		return sym.AddZip(ctx, f, n, by, source)
	}
	res, err := sym.AddSpooled(ctx, f, n, name, by, source)
	if errors.Is(err, store.ErrTooLarge) {
		return []store.SymbolResult{{Name: name, Status: store.SymbolSkipped, Reason: err.Error()}}, nil
	}
	if err != nil {
		return nil, err
	}
	return []store.SymbolResult{res}, nil
}

// apiSymbolUpload takes symbol files: multipart files (each may be a zip
// of a build folder) or one file as the body. It answers with each file's
// outcome: stored (with its ids), duplicate, or skipped and why.
func (s *Server) apiSymbolUpload(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxUploadBytes)
	res, err := s.symbolUploads(r, s.uploaderName(r), "api")
	if err != nil && len(res) == 0 {
		io.CopyN(io.Discard, r.Body, uploadDrainBytes)
		s.fail(w, r, err)
		return
	}
	out := struct {
		Files []symbolFileJSON `json:"files"`
		Error string           `json:"error,omitempty"`
	}{Files: []symbolFileJSON{}}
	for _, x := range res {
		out.Files = append(out.Files, symbolJSON(x))
		s.logger(r).Info("symbol file", "name", x.Name, "status", x.Status, "path", x.File.Path, "reason", x.Reason,
			"reanalyses", x.Reanalyses)
	}
	code := http.StatusOK
	if err != nil {
		_, out.Error = httpStatus(err)
		code, _ = httpStatus(err)
	}
	writeJSON(w, code, out)
}

type storedSymbolJSON struct {
	Path       string    `json:"path"`
	Kind       string    `json:"kind"`
	Name       string    `json:"name"`
	DebugID    string    `json:"debug_id,omitempty"`
	BreakpadID string    `json:"breakpad_id,omitempty"`
	CodeID     string    `json:"code_id,omitempty"`
	DebugFile  string    `json:"debug_file,omitempty"`
	Arch       string    `json:"arch,omitempty"`
	Size       int64     `json:"size"`
	SHA1       string    `json:"sha1"`
	UploadedAt time.Time `json:"uploaded_at"`
	UploadedBy string    `json:"uploaded_by,omitempty"`
	Source     string    `json:"source,omitempty"`
}

type missingSymbolJSON struct {
	Module    string `json:"module"`
	DebugFile string `json:"debug_file"`
	DebugID   string `json:"debug_id"`
	CodeID    string `json:"code_id,omitempty"`
	Version   string `json:"version,omitempty"`
	OnStack   int    `json:"crashes_on_stack"`
	Loaded    int    `json:"crashes_loaded"`
}

// apiSymbolList lists stored symbol files and the missing-symbols list.
func (s *Server) apiSymbolList(w http.ResponseWriter, r *http.Request) {
	files, total, err := s.cfg.Symbols.List(r.Context(), 500)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	missing, err := s.cfg.Symbols.Missing(r.Context(), 100)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := struct {
		Total   int                 `json:"total"`
		Files   []storedSymbolJSON  `json:"files"`
		Missing []missingSymbolJSON `json:"missing"`
	}{Total: total, Files: []storedSymbolJSON{}, Missing: []missingSymbolJSON{}}
	for _, f := range files {
		out.Files = append(out.Files, storedSymbolJSON{Path: f.Path, Kind: string(f.Kind), Name: f.Name,
			DebugID: f.SentryDebugID(), BreakpadID: f.DebugID, CodeID: strings.ToLower(f.CodeID), DebugFile: f.DebugFile, Arch: f.Arch,
			Size: f.Size, SHA1: f.SHA1, UploadedAt: f.UploadedAt, UploadedBy: f.UploadedBy, Source: f.Source})
	}
	for _, m := range missing {
		out.Missing = append(out.Missing, missingSymbolJSON{Module: m.Name, DebugFile: m.DebugFile, DebugID: m.DebugID,
			CodeID: m.CodeID, Version: m.Version, OnStack: m.OnStack, Loaded: m.Loaded})
	}
	writeJSON(w, http.StatusOK, out)
}

package web

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/dumptriage/dumptriage/store"
)

// Sentry's chunk-upload protocol, as sentry-cli's `debug-files upload`
// speaks it: the options document, chunk POSTs, and difs/assemble. Any
// organisation and project slug is accepted: dumptriage has one symbol
// store.

type chunkOptions struct {
	URL              string   `json:"url"`
	ChunkSize        int      `json:"chunkSize"`
	ChunksPerRequest int      `json:"chunksPerRequest"`
	MaxFileSize      int64    `json:"maxFileSize"`
	MaxRequestSize   int      `json:"maxRequestSize"`
	Concurrency      int      `json:"concurrency"`
	HashAlgorithm    string   `json:"hashAlgorithm"`
	Compression      []string `json:"compression"`
	Accept           []string `json:"accept"`
}

// sentryChunkOptions is GET /api/0/organizations/{org}/chunk-upload/.
func (s *Server) sentryChunkOptions(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, chunkOptions{
		URL:              s.absURL("/api/0/organizations/" + url.PathEscape(chi.URLParam(r, "org")) + "/chunk-upload/"),
		ChunkSize:        store.ChunkSize,
		ChunksPerRequest: store.ChunksPerRequest,
		MaxFileSize:      s.cfg.Symbols.MaxFileBytes(),
		MaxRequestSize:   store.MaxChunkRequest,
		Concurrency:      store.ChunkConcurrency,
		HashAlgorithm:    "sha1",
		Compression:      []string{"gzip"},
		// Debug files are all sentry-cli sends here; the rest it would
		// send to endpoints dumptriage does not have.
		Accept: []string{"debug_files", "pdbs", "portablepdbs", "sources", "bcsymbolmaps", "il2cpp"},
	})
}

// sentryChunkUpload is POST /api/0/organizations/{org}/chunk-upload/:
// multipart parts "file" (or "file_gzip", gzip-compressed), each one chunk
// named by its SHA-1.
func (s *Server) sentryChunkUpload(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, store.MaxChunkRequest+1<<20)
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "multipart/form-data" {
		s.sentryFail(w, r, fmt.Errorf("%w: chunks are sent as multipart/form-data", store.ErrBadRequest))
		return
	}
	mr, err := r.MultipartReader()
	if err != nil {
		s.sentryFail(w, r, fmt.Errorf("%w: %v", store.ErrBadRequest, err))
		return
	}
	n := 0
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			s.sentryFail(w, r, fmt.Errorf("%w: reading the multipart body: %w", store.ErrBadRequest, err))
			return
		}
		var body io.Reader = part
		switch part.FormName() {
		case "file":
		case "file_gzip":
			zr, err := gzip.NewReader(part)
			if err != nil {
				part.Close()
				s.sentryFail(w, r, fmt.Errorf("%w: a gzip chunk: %v", store.ErrBadRequest, err))
				return
			}
			body = zr
		default:
			part.Close()
			continue
		}
		if n++; n > store.ChunksPerRequest {
			part.Close()
			s.sentryFail(w, r, fmt.Errorf("%w: more than %d chunks in one request", store.ErrTooLarge, store.ChunksPerRequest))
			return
		}
		_, err = s.cfg.Symbols.PutChunk(r.Context(), body, strings.ToLower(part.FileName()))
		part.Close()
		if err != nil {
			s.sentryFail(w, r, err)
			return
		}
	}
	w.WriteHeader(http.StatusOK)
}

type assembleRequest struct {
	Name    string   `json:"name"`
	DebugID string   `json:"debug_id"`
	Chunks  []string `json:"chunks"`
}

type difJSON struct {
	ID          string `json:"id"`
	UUID        string `json:"uuid"`
	DebugID     string `json:"debugId"`
	CodeID      string `json:"codeId,omitempty"`
	ObjectName  string `json:"objectName"`
	CPUName     string `json:"cpuName"`
	SymbolType  string `json:"symbolType"`
	SHA1        string `json:"sha1"`
	Size        int64  `json:"size"`
	DateCreated string `json:"dateCreated"`
}

type assembleResponse struct {
	State         string   `json:"state"`
	MissingChunks []string `json:"missingChunks"`
	Detail        *string  `json:"detail"`
	Dif           *difJSON `json:"dif"`
}

// maxAssembleFiles bounds the files of one assemble request.
const maxAssembleFiles = 1000

// sentryAssemble is POST /api/0/projects/{org}/{project}/files/difs/assemble/:
// {checksum: {name, debug_id, chunks}} → {checksum: {state, missingChunks, detail, dif}}.
func (s *Server) sentryAssemble(w http.ResponseWriter, r *http.Request) {
	by := s.uploaderName(r)
	var req map[string]assembleRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 8<<20)).Decode(&req); err != nil {
		s.sentryFail(w, r, fmt.Errorf("%w: the body is not an assemble request: %v", store.ErrBadRequest, err))
		return
	}
	if len(req) > maxAssembleFiles {
		s.sentryFail(w, r, fmt.Errorf("%w: more than %d files in one request", store.ErrTooLarge, maxAssembleFiles))
		return
	}
	out := make(map[string]assembleResponse, len(req))
	for sum, f := range req {
		sum = strings.ToLower(sum)
		chunks := make([]string, len(f.Chunks))
		for i, c := range f.Chunks {
			chunks[i] = strings.ToLower(c)
		}
		st := s.cfg.Symbols.Assemble(r.Context(), sum, cleanName(f.Name), chunks, by)
		resp := assembleResponse{State: st.State, MissingChunks: st.MissingChunks}
		if resp.MissingChunks == nil {
			resp.MissingChunks = []string{}
		}
		if st.Detail != "" {
			d := st.Detail
			resp.Detail = &d
		}
		if st.Result != nil {
			sf := st.Result.File
			resp.Dif = &difJSON{ID: sf.SHA1, UUID: sf.SentryDebugID(), DebugID: sf.SentryDebugID(), CodeID: strings.ToLower(sf.CodeID),
				ObjectName: sf.Name, CPUName: orUnknown(sf.Arch), SymbolType: string(sf.Kind), SHA1: sf.SHA1, Size: sf.Size,
				DateCreated: sf.UploadedAt.Format(time.RFC3339)}
			s.logger(r).Info("symbol file", "name", sf.Name, "status", st.Result.Status, "path", sf.Path,
				"reanalyses", st.Result.Reanalyses, "via", "sentry-cli")
		} else if st.State == store.AssembleError {
			s.logger(r).Info("symbol file refused", "name", f.Name, "why", st.Detail, "via", "sentry-cli")
		}
		out[sum] = resp
	}
	writeJSON(w, http.StatusOK, out)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// sentryFail answers as Sentry does, {"detail": message}, so sentry-cli
// prints the reason.
func (s *Server) sentryFail(w http.ResponseWriter, r *http.Request, err error) {
	code, msg := httpStatus(err)
	if code >= 500 {
		s.logger(r).Error("request failed", "status", code, "err", err)
	} else {
		s.logger(r).Info("request refused", "status", code, "err", err)
	}
	writeJSON(w, code, map[string]string{"detail": strings.TrimSpace(msg)})
}

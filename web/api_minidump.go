package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/klauspost/compress/gzip"

	"github.com/dumptriage/dumptriage/crashupload"
	"github.com/dumptriage/dumptriage/store"
)

// errUnauthorized answers 401 (no valid upload token), errForbidden 403.
var (
	errUnauthorized = errors.New("an upload token is required")
	errForbidden    = errors.New("forbidden")
)

// uploadToken finds the token a crash reporter sent: the path's {key}
// (Sentry's Unreal endpoint), ?token= (Crashpad is
// configured with a URL alone), a Bearer header, ?sentry_key= or the
// X-Sentry-Auth header (Sentry DSNs).
func uploadToken(r *http.Request) string {
	// Sentry's Unreal endpoint and a CrashReportClient DataRouterUrl carry
	// the key in the path: CrashReportClient appends its own query.
	if k := chi.URLParam(r, "key"); k != "" {
		return k
	}
	q := r.URL.Query()
	if t := q.Get("token"); t != "" {
		return t
	}
	if t := q.Get("sentry_key"); t != "" {
		return t
	}
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	if h := r.Header.Get("X-Sentry-Auth"); h != "" {
		h = strings.TrimSpace(h)
		if len(h) > 7 && strings.EqualFold(h[:7], "sentry ") {
			h = h[7:]
		}
		for _, kv := range strings.Split(h, ",") {
			if k, v, ok := strings.Cut(strings.TrimSpace(kv), "="); ok && strings.TrimSpace(k) == "sentry_key" {
				return strings.TrimSpace(v)
			}
		}
	}
	return ""
}

// uploadTokenPrincipal says who sends a crash reporter's upload: the user
// behind an upload-scoped token, from a Bearer header (already checked by
// authenticate), ?token=, ?sentry_key= or X-Sentry-Auth. No token, or an
// unknown one, is errUnauthorized; a token without the upload scope is
// errForbidden.
func (s *Server) uploadTokenPrincipal(r *http.Request) (*store.Principal, error) {
	p := principalFrom(r.Context())
	if p == nil {
		tok := uploadToken(r)
		if tok == "" {
			return nil, errUnauthorized
		}
		pr, err := s.svc.AuthenticateToken(r.Context(), tok)
		if err != nil {
			return nil, fmt.Errorf("%w: %s", errUnauthorized, tokenError(err))
		}
		p = &pr
	}
	if !permUpload.allows(p) {
		return nil, fmt.Errorf("%w: this token (scope %s, role %s) may not upload", errForbidden, p.Scopes, p.Role)
	}
	return p, nil
}

// Query parameters that are credentials or client descriptions, not
// annotations.
var reporterQueryKeys = map[string]bool{"token": true, "sentry_key": true, "sentry_secret": true,
	"sentry_client": true, "sentry_version": true}

// reporterUpload reads a crash reporter's multipart upload and stores its
// dump with the annotations; extra annotations (the Sentry project) are
// added when the upload has none of that key.
func (s *Server) reporterUpload(w http.ResponseWriter, r *http.Request, extra map[string]string) (store.IngestResult, error) {
	return s.reporterIngest(w, r, extra, func(body io.Reader, _ int64, dump func(io.Reader, string) error) (crashupload.Upload, error) {
		ct, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || ct != "multipart/form-data" || params["boundary"] == "" {
			return crashupload.Upload{}, fmt.Errorf("%w: the body must be multipart/form-data with a boundary", store.ErrBadRequest)
		}
		return crashupload.Read(multipart.NewReader(body, params["boundary"]), crashupload.Limits{}, dump)
	})
}

// readUpload reads a crash reporter's body of at most limit bytes (after
// any Content-Encoding), handing its dump to dump as it arrives.
type readUpload func(body io.Reader, limit int64, dump func(r io.Reader, fileName string) error) (crashupload.Upload, error)

// reporterIngest checks a crash reporter's upload token and the body's
// size and encoding, reads the body with read, and stores the dump with
// its annotations (the URL's query parameters among them) and attachments.
func (s *Server) reporterIngest(w http.ResponseWriter, r *http.Request, extra map[string]string, read readUpload) (store.IngestResult, error) {
	who, err := s.uploadTokenPrincipal(r)
	if err != nil {
		return store.IngestResult{}, err
	}
	r = r.WithContext(context.WithValue(r.Context(), principalKey{}, who))
	limit := s.cfg.MaxUploadBytes
	if r.ContentLength > limit {
		return store.IngestResult{}, &http.MaxBytesError{Limit: limit}
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	var body io.Reader = r.Body
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return store.IngestResult{}, fmt.Errorf("%w: Content-Encoding gzip: %v", store.ErrBadRequest, err)
		}
		defer zr.Close()
		// The decompressed body is bounded like a plain one.
		body = &limitedReader{r: zr, left: limit, limit: limit}
	default:
		return store.IngestResult{}, fmt.Errorf("%w: Content-Encoding %q is not supported", store.ErrBadRequest, enc)
	}
	var staged *store.Staged
	var name string
	defer func() {
		if staged != nil {
			staged.Abort()
		}
	}()
	up, err := read(body, limit, func(part io.Reader, fileName string) error {
		name = cleanName(fileName)
		st, err := s.svc.Stage(r.Context(), part)
		staged = st
		return err
	})
	if err != nil {
		return store.IngestResult{}, err
	}
	for k, vs := range r.URL.Query() {
		// Crashpad's identify_client_via_url puts prod, ver and guid in the
		// URL; CrashReportClient AppID, AppVersion and UserID.
		if _, ok := up.Annotations[k]; !ok && !reporterQueryKeys[k] && len(vs) > 0 && len(k) <= 256 && len(vs[0]) <= 4096 {
			up.Annotations[k] = vs[0]
		}
	}
	for k, v := range extra {
		if _, ok := up.Annotations[k]; !ok {
			up.Annotations[k] = v
		}
	}
	atts := make([]store.Attachment, len(up.Attachments))
	for i, a := range up.Attachments {
		atts[i] = store.Attachment{Field: a.Field, FileName: cleanName(a.FileName), ContentType: a.ContentType,
			Size: a.Size, Truncated: a.Truncated, Data: a.Data}
	}
	res, err := staged.Commit(r.Context(), store.Upload{FileName: name, UploadedBy: who.Name,
		UploadedFrom: clientIPFrom(r.Context()), Annotations: up.Annotations, Attachments: atts})
	if err != nil {
		return res, err
	}
	s.logger(r).Info("crash report stored", "dump", res.Dump.ID, "size", res.Dump.Size, "duplicate", res.Duplicate,
		"annotations", len(up.Annotations), "attachments", len(atts))
	return res, nil
}

// limitedReader fails with *http.MaxBytesError past left bytes.
type limitedReader struct {
	r           io.Reader
	left, limit int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, &http.MaxBytesError{Limit: l.limit}
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// failReporter answers a refused reporter upload; the rest of the body is
// drained a little so the client reads the answer.
func (s *Server) failReporter(w http.ResponseWriter, r *http.Request, err error) {
	io.CopyN(io.Discard, r.Body, uploadDrainBytes)
	if errors.Is(err, errUnauthorized) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="dumptriage"`)
	}
	s.fail(w, r, err)
}

// apiMinidump takes Crashpad's, Breakpad's and Electron's uploads and
// answers with the dump id alone: Crashpad keeps the body as the report id.
func (s *Server) apiMinidump(w http.ResponseWriter, r *http.Request) {
	res, err := s.reporterUpload(w, r, nil)
	if err != nil {
		s.failReporter(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, res.Dump.ID)
}

// apiSentryMinidump is Sentry's minidump endpoint, where sentry-native and
// Crashpad configured with a DSN send: any project is accepted and names
// the product when the upload does not.
func (s *Server) apiSentryMinidump(w http.ResponseWriter, r *http.Request) {
	project := chi.URLParam(r, "project")
	if len(project) > 200 {
		project = project[:200]
	}
	res, err := s.reporterUpload(w, r, map[string]string{"sentry.project": project})
	if err != nil {
		s.failReporter(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"id": res.Dump.ID})
}

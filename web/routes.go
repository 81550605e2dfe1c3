// Package web serves the HTTP API and pages over the store.
package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/dumptriage/dumptriage/store"
)

// Service is what the handlers need from the store.
type Service interface {
	Ingest(ctx context.Context, body io.Reader, up store.Upload) (store.IngestResult, error)
	Dump(ctx context.Context, id string) (store.Dump, error)
	Report(ctx context.Context, id string) (store.Dump, []byte, error)
	ListDumps(ctx context.Context, q store.ListQuery) (store.DumpPage, error)
	OpenFile(ctx context.Context, id string) (store.Dump, store.Blob, error)
	Reanalyze(ctx context.Context, id string) error
	ReanalyzeAll(ctx context.Context, skipVersion string) (int, error)
	store.Dashboard
}

// DefaultMaxUploadBytes is the default upload size limit (32 GiB): full
// dumps of large processes must fit.
const DefaultMaxUploadBytes = 32 << 30

// Config tunes the server.
type Config struct {
	MaxUploadBytes  int64        // default DefaultMaxUploadBytes
	AnalyzerVersion string       // for POST /api/reanalyze?outdated=1
	Logger          *slog.Logger // default: discard
	// Uploader names who sends a request, for dumps.uploaded_by; nil or ""
	// means anonymous. The auth layer sets it.
	Uploader func(r *http.Request) string
	// A request body that sends nothing for BodyIdleTimeout, or less than
	// BodyMinRate bytes a second on average, is cut off. Defaults:
	// DefaultBodyIdleTimeout, DefaultBodyMinRate.
	BodyIdleTimeout time.Duration
	BodyMinRate     int64
}

// Server holds the handlers' dependencies.
type Server struct {
	svc Service
	cfg Config
	log *slog.Logger
}

// New makes a Server.
func New(svc Service, cfg Config) *Server {
	if cfg.MaxUploadBytes <= 0 {
		cfg.MaxUploadBytes = DefaultMaxUploadBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.BodyIdleTimeout <= 0 {
		cfg.BodyIdleTimeout = DefaultBodyIdleTimeout
	}
	if cfg.BodyMinRate <= 0 {
		cfg.BodyMinRate = DefaultBodyMinRate
	}
	return &Server{svc: svc, cfg: cfg, log: cfg.Logger}
}

// Routes lists every route. No Timeout middleware: uploads and downloads of
// multi-gigabyte dumps take as long as they take.
func (s *Server) Routes() http.Handler {
	r := chi.NewRouter()
	r.Use(requestID, clientIP, s.logRequests, s.recoverer, s.slowBodies)

	r.Post("/api/dumps", s.apiDumpUpload)
	r.Get("/api/dumps", s.apiDumpList)
	r.Get("/api/dumps/{id}", s.apiDumpShow)
	r.Get("/api/dumps/{id}/file", s.apiDumpFile)
	r.Post("/api/dumps/{id}/reanalyze", s.apiDumpReanalyze)
	r.Post("/api/reanalyze", s.apiReanalyzeAll)

	r.Get("/static/*", s.static)
	r.Get("/", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/dumps", http.StatusFound) })
	r.Get("/dumps", s.dumpList)
	r.Get("/dumps/{id}", s.dumpShow)
	r.Get("/dumps/{id}/status", s.dumpStatus)
	r.Get("/dumps/{id}/report.json", s.dumpReportJSON)
	r.Get("/upload", s.dumpUploadForm)
	r.Post("/upload", s.dumpUpload)
	r.Get("/signatures", s.signatureList)
	r.Get("/signature", s.signatureShow)
	r.Get("/modules", s.moduleList)
	r.Get("/modules/{name}", s.moduleShow)
	r.Get("/trends", s.trends)
	r.NotFound(s.notFound)
	r.Get("/healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	return r
}

package web

import (
	"io"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/dumptriage/dumptriage/crashupload"
)

// apiUnreal takes Unreal Engine's CrashReportClient uploads: the body is
// the compressed crash report (.ue4crash), unchanged. It serves Sentry's
// Unreal endpoint, /api/{project}/unreal/{key}/, and /api/unreal/{key}/
// for a DataRouterUrl that names no project; the key is an upload token.
// CrashReportClient's query (AppID, AppVersion, AppEnvironment, UploadType,
// UserID) is kept as annotations. It answers as Sentry does, {"id": ...}.
func (s *Server) apiUnreal(w http.ResponseWriter, r *http.Request) {
	var extra map[string]string
	if p := chi.URLParam(r, "project"); p != "" {
		extra = map[string]string{"sentry.project": p[:min(len(p), 200)]}
	}
	res, err := s.reporterIngest(w, r, extra, func(body io.Reader, limit int64, dump func(io.Reader, string) error) (crashupload.Upload, error) {
		return crashupload.ReadUnreal(body, limit, crashupload.Limits{}, dump)
	})
	if err != nil {
		s.failReporter(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"id": res.Dump.ID})
}

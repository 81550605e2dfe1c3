package web

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/dumptriage/dumptriage/analyzer/report"
	"github.com/dumptriage/dumptriage/store"
	"github.com/dumptriage/dumptriage/web/components"
)

// shareURL is the absolute URL of a path on this server, as the browser
// reached it.
func shareURL(r *http.Request, path string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + path
}

// dumpShow is the report page: the stored report, rendered.
func (s *Server) dumpShow(w http.ResponseWriter, r *http.Request) {
	d, js, err := s.svc.Report(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	v := components.DumpView{Dump: d, ShareURL: shareURL(r, dumpURL(d.ID)), Pages: reportPages(r)}
	if len(js) > 0 {
		var rep report.Report
		if err := json.Unmarshal(js, &rep); err != nil {
			s.failPage(w, r, err)
			return
		}
		v.Report = &rep
	}
	v.Meta = s.meta(v.Title(), "dumps")
	if v.Pending() {
		v.Meta.Refresh = 3
	}
	s.render(w, r, http.StatusOK, components.DumpShow(v))
}

// reportPages reads which page of each long list the report page shows;
// anything unreadable means the first.
func reportPages(r *http.Request) components.Pages {
	q := r.URL.Query()
	n := func(key string, def int) int {
		v, err := strconv.Atoi(q.Get(key))
		if err != nil {
			return def
		}
		return v
	}
	return components.Pages{Threads: n("threads", 1), Modules: n("modules", 1), Handles: n("handles", 1),
		Regions: n("regions", 1), Thread: n("thread", -1)}
}

// dumpReportJSON downloads the stored report.
func (s *Server) dumpReportJSON(w http.ResponseWriter, r *http.Request) {
	d, js, err := s.svc.Report(r.Context(), chi.URLParam(r, "id"))
	if err == nil && len(js) == 0 {
		err = store.ErrNotFound
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `attachment; filename="`+d.ID+`.json"`)
	w.Write(js)
}

type statusJSON struct {
	ID        string       `json:"id"`
	Status    store.Status `json:"status"`
	Error     string       `json:"error,omitempty"`
	URL       string       `json:"url"`
	CrashType string       `json:"crash_type,omitempty"`
	Signature string       `json:"signature,omitempty"`
}

// dumpStatus is the upload page's live status: small, without the report.
func (s *Server) dumpStatus(w http.ResponseWriter, r *http.Request) {
	d, err := s.svc.Dump(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	j := statusJSON{ID: d.ID, Status: d.Status, Error: d.Error, URL: dumpURL(d.ID)}
	if d.Summary != nil {
		j.CrashType, j.Signature = d.Summary.CrashType, d.Summary.Signature
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, j)
}

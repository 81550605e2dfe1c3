package web

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/dumptriage/dumptriage/analyzer/report"
	"github.com/dumptriage/dumptriage/store"
	"github.com/dumptriage/dumptriage/web/components"
)

// dumpShow is the report page: the stored report, rendered.
func (s *Server) dumpShow(w http.ResponseWriter, r *http.Request) {
	s.renderDump(w, r, http.StatusOK, chi.URLParam(r, "id"), nil)
}

// canDelete: admins delete any dump, members their own uploads.
func canDelete(p *store.Principal, d store.Dump) bool {
	if p == nil || !permMember.allows(p) {
		return false
	}
	return p.Role == store.RoleAdmin || d.UploadedBy != "" && d.UploadedBy == p.Name
}

// renderDump renders a report page; edit adjusts the view (share links,
// the read-only view of a share).
func (s *Server) renderDump(w http.ResponseWriter, r *http.Request, code int, id string, edit func(*components.DumpView)) {
	d, js, err := s.svc.Report(r.Context(), id)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	v := components.DumpView{Dump: d, ShareURL: s.absURL(dumpURL(d.ID)), Now: time.Now(), AnalyzerVersion: s.cfg.AnalyzerVersion}
	if len(js) > 0 {
		var rep report.Report
		if err := json.Unmarshal(js, &rep); err != nil {
			s.failPage(w, r, err)
			return
		}
		redactReport(&rep)
		v.Report = &rep
	}
	if s.cfg.Symbols != nil && !components.ViewerFrom(r.Context()).Shared {
		if v.SymbolsArrived, err = s.cfg.Symbols.Arrival(r.Context(), d.ID); err != nil {
			s.failPage(w, r, err)
			return
		}
		src, err := s.cfg.Symbols.Sources(r.Context())
		if err != nil {
			s.failPage(w, r, err)
			return
		}
		v.NoSymbolSource = src.None()
	}
	p := principalFrom(r.Context())
	if !components.ViewerFrom(r.Context()).Shared && p != nil {
		v.CanShare = permMember.allows(p)
		v.CanDelete = canDelete(p, d)
		if v.CanShare {
			if v.Shares, err = s.svc.ListShares(r.Context(), d.ID); err != nil {
				s.failPage(w, r, err)
				return
			}
		}
	}
	v.Meta = s.meta(v.Title(), "dumps")
	if v.Pending() {
		v.Meta.Refresh = 3
	}
	if edit != nil {
		edit(&v)
	}
	s.render(w, r, code, components.DumpShow(v))
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

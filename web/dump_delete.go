package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/dumptriage/dumptriage/store"
)

// deleteDump removes a dump the principal may delete: admins any, members
// their own uploads.
func (s *Server) deleteDump(r *http.Request, id string) (int, string, error) {
	d, err := s.svc.Dump(r.Context(), id)
	if err != nil {
		return 0, "", err
	}
	if !canDelete(principalFrom(r.Context()), d) {
		return http.StatusForbidden, "members delete only dumps they uploaded", nil
	}
	if _, err := s.svc.DeleteDump(r.Context(), id); err != nil {
		return 0, "", err
	}
	s.audit(r, store.AuditDelete, id, d.FileName+" sha256 "+d.SHA256)
	return http.StatusNoContent, "", nil
}

// apiDumpDelete removes the file, the analysis and the shares of a dump.
func (s *Server) apiDumpDelete(w http.ResponseWriter, r *http.Request) {
	code, msg, err := s.deleteDump(r, chi.URLParam(r, "id"))
	switch {
	case err != nil:
		s.fail(w, r, err)
	case code != http.StatusNoContent:
		s.deny(w, r, code, msg)
	default:
		w.WriteHeader(code)
	}
}

// dumpDelete is the report page's Delete button.
func (s *Server) dumpDelete(w http.ResponseWriter, r *http.Request) {
	code, msg, err := s.deleteDump(r, chi.URLParam(r, "id"))
	switch {
	case err != nil:
		s.failPage(w, r, err)
	case code != http.StatusNoContent:
		s.deny(w, r, code, msg)
	default:
		http.Redirect(w, r, "/dumps", http.StatusSeeOther)
	}
}

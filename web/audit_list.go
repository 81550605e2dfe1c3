package web

import (
	"net/http"
	"strconv"

	"github.com/dumptriage/dumptriage/web/components"
)

const auditPage = 200

// auditList is the admins' view of the audit log, newest first.
func (s *Server) auditList(w http.ResponseWriter, r *http.Request) {
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	es, err := s.svc.ListAudit(r.Context(), before, auditPage)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	v := components.AuditView{Meta: s.meta("Audit log", "admin"), Entries: es}
	if len(es) == auditPage {
		v.Next = "/admin/audit?before=" + strconv.FormatInt(es[len(es)-1].ID, 10)
	}
	s.render(w, r, http.StatusOK, components.Audit(v))
}

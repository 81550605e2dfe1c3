package web

import (
	"math"
	"net/http"
	"strconv"

	"github.com/dumptriage/dumptriage/store"
	"github.com/dumptriage/dumptriage/web/components"
)

const auditPage = 200

// auditList is the admins' view of the audit log, newest first.
func (s *Server) auditList(w http.ResponseWriter, r *http.Request) {
	qv := newQuery(r.URL.Query())
	before := qv.Int("before", 0, 0, math.MaxInt)
	meta, code, err := s.queryNotice(r, s.meta("Audit log", "admin"), qv.Err())
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	var es []store.AuditEntry
	if code == http.StatusOK {
		if es, err = s.svc.ListAudit(r.Context(), int64(before), auditPage); err != nil {
			s.failPage(w, r, err)
			return
		}
	}
	v := components.AuditView{Meta: meta, Entries: es}
	if len(es) == auditPage {
		v.Next = "/admin/audit?before=" + strconv.FormatInt(es[len(es)-1].ID, 10)
	}
	s.render(w, r, code, components.Audit(v))
}

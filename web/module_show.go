package web

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/dumptriage/dumptriage/web/components"
)

// moduleShow is one module's crash history.
func (s *Server) moduleShow(w http.ResponseWriter, r *http.Request) {
	info, err := s.svc.ModuleInfo(r.Context(), chi.URLParam(r, "name"))
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	v := components.ModuleView{Meta: s.meta(info.Name, "modules"), Info: info, Now: time.Now(),
		Chart: dailyChart(info.Daily, info.Name, "crashes per day in "+info.Name)}
	s.render(w, r, http.StatusOK, components.ModuleShow(v))
}

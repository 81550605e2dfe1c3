package web

import (
	"net/http"
	"time"

	"github.com/dumptriage/dumptriage/store"
	"github.com/dumptriage/dumptriage/web/components"
)

// moduleList lists modules by crashes. Query: q, sort (stack, faulting,
// name), offset.
func (s *Server) moduleList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	offset, err := offsetParam(q)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	sort := q.Get("sort")
	switch sort {
	case "", "stack", "faulting", "name":
	default:
		sort = ""
	}
	page, err := s.svc.ModuleStats(r.Context(), store.ModuleQuery{Search: q.Get("q"), Sort: sort, Limit: listLimit,
		Offset: offset})
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	v := components.ModuleListView{Meta: s.meta("Modules", "modules"), Search: q.Get("q"), Sort: sort, Page: page,
		Offset: offset, Now: time.Now()}
	v.Prev, v.Next = pageLinks("/modules", []string{"q", v.Search, "sort", sort}, offset, listLimit, page.More)
	s.render(w, r, http.StatusOK, components.ModuleList(v))
}

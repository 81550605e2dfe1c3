package web

import (
	"net/http"
	"time"

	"github.com/dumptriage/dumptriage/store"
	"github.com/dumptriage/dumptriage/web/components"
)

// moduleList lists modules by crashes. Query: the search (module, or q;
// a search on another field lists the faulting modules of the crashes that
// match), sort (stack, faulting, name), offset.
func (s *Server) moduleList(w http.ResponseWriter, r *http.Request) {
	qv := newQuery(withSearchAlias(r.URL.Query(), "module"))
	offset := qv.Int("offset", 0, 0, maxOffset)
	sort := qv.Enum("sort", "stack", "faulting", "name")
	f, ms := readSearch(qv)
	var page store.ModulePage
	err := qv.Err()
	if err == nil {
		page, err = s.svc.ModuleStats(r.Context(), store.ModuleQuery{Matches: ms, Sort: sort, Limit: listLimit,
			Offset: offset})
	}
	meta, code, err := s.queryNotice(r, s.meta("Modules", "modules"), err)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	v := components.ModuleListView{Meta: meta, Search: f.Module, Filter: f, Sort: sort, Page: page,
		Offset: offset, Now: time.Now()}
	v.Prev, v.Next = pageLinks("/modules", append(f.Params(), "sort", sort), offset, listLimit, page.More)
	s.render(w, r, code, components.ModuleList(v))
}

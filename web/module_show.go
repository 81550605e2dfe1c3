package web

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/dumptriage/dumptriage/store"
	"github.com/dumptriage/dumptriage/web/components"
)

// moduleQuery reads a module page's query: days, chart (stack, faulting),
// version, foffset and soffset (the two dump lists' offsets). Malformed
// numbers are a bad request; the store bounds them.
func moduleQuery(r *http.Request) (store.ModuleInfoQuery, error) {
	v := r.URL.Query()
	q := store.ModuleInfoQuery{Name: chi.URLParam(r, "name"), Chart: v.Get("chart"), Version: v.Get("version")}
	for _, p := range []struct {
		name string
		dst  *int
	}{{"days", &q.Days}, {"foffset", &q.FaultingOffset}, {"soffset", &q.StackOffset}} {
		s := v.Get(p.name)
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || (p.name == "days" && n <= 0) {
			return q, fmt.Errorf("%w: %s %q is not a number of the right range", store.ErrBadRequest, p.name, s)
		}
		*p.dst = n
	}
	return q, nil
}

// moduleShow is one module's crash history by version.
func (s *Server) moduleShow(w http.ResponseWriter, r *http.Request) {
	q, err := moduleQuery(r)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	info, err := s.svc.ModuleInfo(r.Context(), q)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	v := components.NewModuleView(s.meta(info.Name, "modules"), info, time.Now())
	s.render(w, r, http.StatusOK, components.ModuleShow(v))
}

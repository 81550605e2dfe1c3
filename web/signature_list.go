package web

import (
	"net/http"
	"time"

	"github.com/dumptriage/dumptriage/store"
	"github.com/dumptriage/dumptriage/web/components"
)

const listLimit = 50

// signatureList is the crash groups page: signatures by crash count.
// Query: q (substring), offset.
func (s *Server) signatureList(w http.ResponseWriter, r *http.Request) {
	search := r.URL.Query().Get("q")
	offset, err := offsetParam(r.URL.Query())
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	page, err := s.svc.Groups(r.Context(), store.GroupQuery{Dim: store.DimSignature, Search: search, Limit: listLimit,
		Offset: offset})
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	total, err := s.svc.Groups(r.Context(), store.GroupQuery{Dim: "all", Limit: 1})
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	v := components.SignatureListView{Meta: s.meta("Crash groups", "signatures"), Search: search, Page: page,
		Offset: offset, Now: time.Now()}
	if len(total.Groups) > 0 {
		v.Total = total.Groups[0].Count
	}
	v.Prev, v.Next = pageLinks("/signatures", []string{"q", search}, offset, listLimit, page.More)
	s.render(w, r, http.StatusOK, components.SignatureList(v))
}

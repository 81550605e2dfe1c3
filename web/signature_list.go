package web

import (
	"net/http"
	"net/url"
	"time"

	"github.com/dumptriage/dumptriage/store"
	"github.com/dumptriage/dumptriage/web/components"
)

const listLimit = 50

// readSearch reads the text search every list page and API route takes
// (store.SearchFields), and the form as typed.
func readSearch(qv *query) (components.SearchFilter, []store.FieldMatch) {
	f := components.SearchFilter{Signature: qv.Shown("signature"), Process: qv.Shown("process"),
		Module: qv.Shown("module"), Product: qv.Shown("product"), Version: qv.Shown("version")}
	return f, qv.Matches()
}

// withSearchAlias treats the older ?q= as the search's name field
// (signature on /signatures, module on /modules).
func withSearchAlias(v url.Values, field string) url.Values {
	if q, ok := v["q"]; ok && v.Get(field) == "" {
		v = cloneValues(v)
		v[field] = q
		delete(v, "q")
	}
	return v
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// signatureList is the crash groups page: signatures by crash count.
// Query: the search (signature, process, module, product, version; q is
// signature), offset.
func (s *Server) signatureList(w http.ResponseWriter, r *http.Request) {
	qv := newQuery(withSearchAlias(r.URL.Query(), "signature"))
	offset := qv.Int("offset", 0, 0, maxOffset)
	f, ms := readSearch(qv)
	var page store.GroupPage
	err := qv.Err()
	if err == nil {
		page, err = s.svc.Groups(r.Context(), store.GroupQuery{Dim: store.DimSignature, Matches: ms, Limit: listLimit,
			Offset: offset})
	}
	meta, code, err := s.queryNotice(r, s.meta("Crash groups", "signatures"), err)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	total, err := s.svc.Groups(r.Context(), store.GroupQuery{Dim: "all", Limit: 1})
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	v := components.SignatureListView{Meta: meta, Search: f.Signature, Filter: f, Page: page,
		Offset: offset, Now: time.Now()}
	if len(total.Groups) > 0 {
		v.Total = total.Groups[0].Count
	}
	v.Prev, v.Next = pageLinks("/signatures", f.Params(), offset, listLimit, page.More)
	s.render(w, r, code, components.SignatureList(v))
}

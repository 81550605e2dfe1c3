package web

import (
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/a-h/templ"

	"github.com/dumptriage/dumptriage/store"
	"github.com/dumptriage/dumptriage/web/components"
)

// dumpFilter reads the dumps list's filters: signature, exception, module,
// module_version, version, product, annotation (key:value), process, os, status, from and to (YYYY-MM-DD, UTC,
// both days included), cursor.
func dumpFilter(r *http.Request) (components.DumpFilter, store.SearchQuery, error) {
	v := r.URL.Query()
	f := components.DumpFilter{Signature: v.Get("signature"), CrashType: v.Get("exception"), Module: v.Get("module"),
		Version: v.Get("version"), Process: v.Get("process"), Status: v.Get("status"), From: v.Get("from"),
		To: v.Get("to"), OS: v.Get("os"), ModuleVersion: v.Get("module_version"), Product: v.Get("product"),
		Annotation: v.Get("annotation")}
	q := store.SearchQuery{Version: f.Version, ListQuery: store.ListQuery{Cursor: v.Get("cursor"),
		Status: store.Status(f.Status), CrashType: f.CrashType, Signature: f.Signature, Module: f.Module,
		ModuleVersion: f.ModuleVersion, Process: f.Process, OS: f.OS, Product: f.Product}}
	if f.Annotation != "" {
		kv, err := annotationFilters([]string{f.Annotation})
		if err != nil {
			return f, q, err
		}
		q.Annotations = kv
	}
	switch q.Status {
	case "", store.StatusQueued, store.StatusAnalyzing, store.StatusDone, store.StatusFailed:
	default:
		return f, q, fmt.Errorf("%w: status %q", store.ErrBadRequest, f.Status)
	}
	for _, d := range []struct {
		s   string
		dst *time.Time
		add int
	}{{f.From, &q.Since, 0}, {f.To, &q.Until, 1}} {
		if d.s == "" {
			continue
		}
		t, err := time.Parse(time.DateOnly, d.s)
		if err != nil {
			return f, q, fmt.Errorf("%w: date %q is not YYYY-MM-DD", store.ErrBadRequest, d.s)
		}
		*d.dst = t.AddDate(0, 0, d.add)
	}
	return f, q, nil
}

func (s *Server) dumpList(w http.ResponseWriter, r *http.Request) {
	f, q, err := dumpFilter(r)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	page, err := s.svc.SearchDumps(r.Context(), q)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	facets, err := s.svc.Facets(r.Context())
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	v := components.DumpListView{Meta: s.meta("Dumps", "dumps"), Filter: f, Dumps: page.Dumps, Facets: facets,
		Now: time.Now()}
	params := f.Params()
	if q.Cursor != "" {
		v.First = components.Query("/dumps", params...)
	}
	if page.Next != "" {
		v.Next = components.Query("/dumps", append(params, "cursor", page.Next)...)
	}
	s.render(w, r, http.StatusOK, components.DumpList(v))
}

// pageLinks makes the previous and next links of an offset-paged list.
func pageLinks(path string, params []string, offset, limit int, more bool) (prev, next templ.SafeURL) {
	if offset > 0 {
		po := ""
		if offset-limit > 0 {
			po = fmt.Sprint(offset - limit)
		}
		prev = components.Query(path, append(params, "offset", po)...)
	}
	if more {
		next = components.Query(path, append(params, "offset", fmt.Sprint(offset+limit))...)
	}
	return prev, next
}

// offsetParam reads ?offset=.
func offsetParam(v url.Values) (int, error) {
	o := v.Get("offset")
	if o == "" {
		return 0, nil
	}
	var n int
	if _, err := fmt.Sscan(o, &n); err != nil || n < 0 || n > 1_000_000 {
		return 0, fmt.Errorf("%w: offset %q", store.ErrBadRequest, o)
	}
	return n, nil
}

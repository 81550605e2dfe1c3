package web

import (
	"fmt"
	"net/http"
	"time"

	"github.com/a-h/templ"

	"github.com/dumptriage/dumptriage/store"
	"github.com/dumptriage/dumptriage/web/components"
)

// dumpFilter reads the dumps list's filters: signature, process, module,
// product and version (text searches, see query.Match), exception,
// module_version, os, annotation (key:value), status, from and to
// (YYYY-MM-DD, UTC, both days included), cursor.
func dumpFilter(r *http.Request) (components.DumpFilter, store.SearchQuery, error) {
	qv := newQuery(r.URL.Query())
	f := components.DumpFilter{Signature: qv.String("signature"), CrashType: qv.String("exception"),
		Module: qv.String("module"), Version: qv.String("version"), Process: qv.String("process"),
		Status: qv.Enum("status", "queued", "analyzing", "done", "failed"), From: qv.String("from"), To: qv.String("to"),
		OS: qv.String("os"), ModuleVersion: qv.String("module_version"), Product: qv.String("product"),
		Annotation: qv.String("annotation")}
	q := store.SearchQuery{Matches: qv.Matches(), ListQuery: store.ListQuery{Cursor: qv.String("cursor"),
		Status: store.Status(f.Status), CrashType: f.CrashType, ModuleVersion: f.ModuleVersion, OS: f.OS}}
	if from := qv.Date("from"); !from.IsZero() {
		q.Since = from
	}
	if to := qv.Date("to"); !to.IsZero() {
		q.Until = to.AddDate(0, 0, 1)
	}
	if f.Annotation != "" {
		kv, err := annotationFilters([]string{f.Annotation})
		if err != nil {
			return f, q, err
		}
		q.Annotations = kv
	}
	return f, q, qv.Err()
}

func (s *Server) dumpList(w http.ResponseWriter, r *http.Request) {
	f, q, err := dumpFilter(r)
	var page store.DumpPage
	if err == nil {
		page, err = s.svc.SearchDumps(r.Context(), q)
	}
	meta, code, err := s.queryNotice(r, s.meta("Dumps", "dumps"), err)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	facets, err := s.svc.Facets(r.Context())
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	v := components.DumpListView{Meta: meta, Filter: f, Dumps: page.Dumps, Facets: facets,
		Now: time.Now()}
	params := f.Params()
	if q.Cursor != "" && code == http.StatusOK {
		v.First = components.Query("/dumps", params...)
	}
	if page.Next != "" {
		v.Next = components.Query("/dumps", append(params, "cursor", page.Next)...)
	}
	s.render(w, r, code, components.DumpList(v))
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

package web

import (
	"net/http"
	"time"

	"github.com/dumptriage/dumptriage/store"
)

// The crash groups, modules and trends as JSON: the same store queries as
// their pages.

type groupJSON struct {
	Key       string    `json:"key"`
	Count     int       `json:"count"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
}

type dayJSON struct {
	Day   string `json:"day"`
	Count int    `json:"count"`
}

func groupsJSON(gs []store.Group) []groupJSON {
	out := make([]groupJSON, len(gs))
	for i, g := range gs {
		out[i] = groupJSON{Key: g.Key, Count: g.Count, FirstSeen: g.FirstSeen, LastSeen: g.LastSeen}
	}
	return out
}

func daysJSON(ds []store.DayCount) []dayJSON {
	out := make([]dayJSON, len(ds))
	for i, d := range ds {
		out[i] = dayJSON{Day: d.Day.Format(time.DateOnly), Count: d.Count}
	}
	return out
}

func dumpsJSON(ds []store.Dump) []dumpJSON {
	out := make([]dumpJSON, len(ds))
	for i, d := range ds {
		out[i] = toJSON(d)
	}
	return out
}

// pageQuery reads limit (default 50, 1 to 500) and offset.
func pageQuery(qv *query) (limit, offset int) {
	return qv.Int("limit", listLimit, 1, 500), qv.Int("offset", 0, 0, maxOffset)
}

// pageParams is pageQuery for a route with no other query values.
func pageParams(r *http.Request) (limit, offset int, err error) {
	qv := newQuery(r.URL.Query())
	limit, offset = pageQuery(qv)
	return limit, offset, qv.Err()
}

// apiSignatureList lists crash groups by crash count: the search
// (signature, process, module, product, version; q is signature), limit,
// offset.
func (s *Server) apiSignatureList(w http.ResponseWriter, r *http.Request) {
	qv := newQuery(withSearchAlias(r.URL.Query(), "signature"))
	limit, offset := pageQuery(qv)
	ms := qv.Matches()
	if err := qv.Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	page, err := s.svc.Groups(r.Context(), store.GroupQuery{Dim: store.DimSignature, Matches: ms,
		Limit: limit, Offset: offset})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"signatures": groupsJSON(page.Groups), "total": page.Total, "more": page.More})
}

// apiTrends is a period's crashes: days (1 to 3650, default 30), clock
// (crash or upload), damaged, and the search.
func (s *Server) apiTrends(w http.ResponseWriter, r *http.Request) {
	qv := newQuery(r.URL.Query())
	tq, _ := trendQuery(qv)
	if err := qv.Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	t, err := s.svc.Trends(r.Context(), tq)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	daily := make([]dayJSON, len(t.Days))
	for i, d := range t.Days {
		daily[i] = dayJSON{Day: d.Format(time.DateOnly), Count: t.Daily[i]}
	}
	type crasher struct {
		Signature string `json:"signature"`
		Count     int    `json:"count"`
		Previous  int    `json:"previous"`
	}
	top := make([]crasher, len(t.TopCrashers))
	for i, c := range t.TopCrashers {
		top[i] = crasher{c.Key, c.Count, c.Prev}
	}
	writeJSON(w, http.StatusOK, map[string]any{"from": t.From.Format(time.DateOnly), "until": t.Until.Format(time.DateOnly),
		"clock": t.Clock, "damaged": t.Damaged, "damaged_included": t.DamagedIncluded,
		"total": t.Total, "previous_total": t.PrevTotal, "daily": daily, "top_crashers": top,
		"by_type": groupsJSON(t.ByType), "by_module": groupsJSON(t.ByModule), "by_os": groupsJSON(t.ByOS),
		"by_version": groupsJSON(t.ByVersion), "oom_count": t.OOMCount})
}

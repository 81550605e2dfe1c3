package web

import (
	"fmt"
	"net/http"
	"strconv"
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

// pageParams reads limit (default 50, at most 500) and offset.
func pageParams(r *http.Request) (limit, offset int, err error) {
	if offset, err = offsetParam(r.URL.Query()); err != nil {
		return 0, 0, err
	}
	limit = listLimit
	if l := r.URL.Query().Get("limit"); l != "" {
		if limit, err = strconv.Atoi(l); err != nil || limit < 1 || limit > 500 {
			return 0, 0, fmt.Errorf("%w: limit %q is not 1 to 500", store.ErrBadRequest, l)
		}
	}
	return limit, offset, nil
}

// apiSignatureList lists crash groups by crash count: q, limit, offset.
func (s *Server) apiSignatureList(w http.ResponseWriter, r *http.Request) {
	limit, offset, err := pageParams(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	page, err := s.svc.Groups(r.Context(), store.GroupQuery{Dim: store.DimSignature, Search: r.URL.Query().Get("q"),
		Limit: limit, Offset: offset})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"signatures": groupsJSON(page.Groups), "total": page.Total, "more": page.More})
}

// apiTrends is a period's crashes: ?days= (default 30).
func (s *Server) apiTrends(w http.ResponseWriter, r *http.Request) {
	days, _ := strconv.Atoi(r.URL.Query().Get("days"))
	if days <= 0 || days > 3650 {
		days = 30
	}
	t, err := s.svc.Trends(r.Context(), store.TrendQuery{Days: days})
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
		"total": t.Total, "previous_total": t.PrevTotal, "daily": daily, "top_crashers": top,
		"by_type": groupsJSON(t.ByType), "by_module": groupsJSON(t.ByModule), "by_os": groupsJSON(t.ByOS),
		"by_version": groupsJSON(t.ByVersion), "oom_count": t.OOMCount})
}

package web

import (
	"net/http"
	"time"

	"github.com/dumptriage/dumptriage/store"
)

// Modules as JSON: the same store queries as their pages.

type moduleVersionJSON struct {
	Version   string    `json:"version"`
	Faulting  int       `json:"faulting"`
	OnStack   int       `json:"on_stack"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
}

type moduleJSON struct {
	Name         string              `json:"name"`
	Faulting     int                 `json:"faulting"`
	OnStack      int                 `json:"on_stack"`
	LastSeen     time.Time           `json:"last_seen"`
	VersionCount int                 `json:"version_count"`
	Versions     []moduleVersionJSON `json:"versions"`
}

type moduleSeriesJSON struct {
	Version string `json:"version"` // "" for the dumps without one
	Other   bool   `json:"other,omitempty"`
	Counts  []int  `json:"counts"`
	Total   int    `json:"total"`
}

type moduleChartJSON struct {
	Kind   string             `json:"kind"`
	Days   []string           `json:"days"`
	Series []moduleSeriesJSON `json:"series"`
	Daily  []int              `json:"daily"`
}

type moduleDumpJSON struct {
	dumpJSON
	ModuleVersion string `json:"module_version"`
}

type moduleDumpsJSON struct {
	Dumps  []moduleDumpJSON `json:"dumps"`
	Offset int              `json:"offset"`
	More   bool             `json:"more"`
}

func moduleVersionsJSON(vs []store.ModuleVersion) []moduleVersionJSON {
	out := make([]moduleVersionJSON, len(vs))
	for i, v := range vs {
		out[i] = moduleVersionJSON{Version: v.Version, Faulting: v.Faulting, OnStack: v.OnStack, FirstSeen: v.FirstSeen,
			LastSeen: v.LastSeen}
	}
	return out
}

func toModuleJSON(m store.ModuleStat) moduleJSON {
	return moduleJSON{Name: m.Name, Faulting: m.Faulting, OnStack: m.OnStack, LastSeen: m.LastSeen,
		VersionCount: m.VersionCount, Versions: moduleVersionsJSON(m.Versions)}
}

func moduleDumpsToJSON(l store.ModuleDumps) moduleDumpsJSON {
	out := moduleDumpsJSON{Dumps: make([]moduleDumpJSON, len(l.Dumps)), Offset: l.Offset, More: l.More}
	for i, d := range l.Dumps {
		out.Dumps[i] = moduleDumpJSON{dumpJSON: toJSON(d.Dump), ModuleVersion: d.ModuleVersion}
	}
	return out
}

// apiModuleList lists modules by crashes, each with its most seen
// versions: the search (module, or q; another field lists the faulting
// modules of the matching crashes), sort (stack, faulting, name), limit, offset.
func (s *Server) apiModuleList(w http.ResponseWriter, r *http.Request) {
	qv := newQuery(withSearchAlias(r.URL.Query(), "module"))
	limit, offset := pageQuery(qv)
	sort := qv.Enum("sort", "stack", "faulting", "name")
	ms := qv.Matches()
	if err := qv.Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	page, err := s.svc.ModuleStats(r.Context(), store.ModuleQuery{Matches: ms, Sort: sort, Limit: limit, Offset: offset})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	mods := make([]moduleJSON, len(page.Modules))
	for i, m := range page.Modules {
		mods[i] = toModuleJSON(m)
	}
	writeJSON(w, http.StatusOK, map[string]any{"modules": mods, "total": page.Total, "more": page.More})
}

// apiModuleShow is one module's crash history by version, with the page's
// query: days, chart, version, foffset, soffset.
func (s *Server) apiModuleShow(w http.ResponseWriter, r *http.Request) {
	q, err := moduleQuery(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	mi, err := s.svc.ModuleInfo(r.Context(), q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	chart := moduleChartJSON{Kind: mi.Chart.Kind, Days: make([]string, len(mi.Chart.Days)), Daily: mi.Chart.Daily,
		Series: make([]moduleSeriesJSON, len(mi.Chart.Series))}
	for i, d := range mi.Chart.Days {
		chart.Days[i] = d.Format(time.DateOnly)
	}
	for i, s := range mi.Chart.Series {
		chart.Series[i] = moduleSeriesJSON{Version: s.Key, Counts: s.Counts, Total: s.Total}
		if i == len(mi.Chart.Series)-1 && s.Key == "other" && s.Total > 0 {
			chart.Series[i] = moduleSeriesJSON{Other: true, Counts: s.Counts, Total: s.Total}
		}
	}
	mj := toModuleJSON(mi.ModuleStat)
	writeJSON(w, http.StatusOK, map[string]any{"name": mj.Name, "faulting": mj.Faulting, "on_stack": mj.OnStack,
		"first_seen": mi.FirstSeen, "last_seen": mj.LastSeen, "version_count": mj.VersionCount, "versions": mj.Versions,
		"signatures": groupsJSON(mi.Signatures), "chart": chart, "faulting_dumps": moduleDumpsToJSON(mi.FaultingDumps),
		"stack_dumps": moduleDumpsToJSON(mi.StackDumps)})
}

package web

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/dumptriage/dumptriage/analyzer/report"
	"github.com/dumptriage/dumptriage/store"
	"github.com/dumptriage/dumptriage/web/components"
)

// dumpShow is the report page: the stored report, rendered.
func (s *Server) dumpShow(w http.ResponseWriter, r *http.Request) {
	s.renderDump(w, r, http.StatusOK, chi.URLParam(r, "id"), nil)
}

// canDelete: admins delete any dump, members their own uploads.
func canDelete(p *store.Principal, d store.Dump) bool {
	if p == nil || !permMember.allows(p) {
		return false
	}
	return p.Role == store.RoleAdmin || d.UploadedBy != "" && d.UploadedBy == p.Name
}

// renderDump renders a report page; edit adjusts the view (share links,
// the read-only view of a share).
func (s *Server) renderDump(w http.ResponseWriter, r *http.Request, code int, id string, edit func(*components.DumpView)) {
	d, js, err := s.svc.Report(r.Context(), id)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	v := components.DumpView{Dump: d, ShareURL: s.absURL(dumpURL(d.ID)), Now: time.Now(), AnalyzerVersion: s.cfg.AnalyzerVersion,
		Pages: reportPages(r)}
	// A share link shows the analysis, not what the reporter sent (user
	// ids, e-mail addresses, logs).
	if !components.ViewerFrom(r.Context()).Shared {
		ann, err := s.svc.Annotations(r.Context(), d.ID)
		if err != nil {
			s.failPage(w, r, err)
			return
		}
		for _, k := range slices.Sorted(maps.Keys(ann)) {
			v.Annotations = append(v.Annotations, store.KeyValue{Key: k, Value: ann[k]})
		}
		if v.Attachments, err = s.svc.Attachments(r.Context(), d.ID); err != nil {
			s.failPage(w, r, err)
			return
		}
	}
	if len(js) > 0 {
		rep, err := decodeForPage(js, v.Pages)
		if err != nil {
			s.failPage(w, r, err)
			return
		}
		redactReport(rep)
		v.Report = rep
	}
	if s.cfg.Symbols != nil && !components.ViewerFrom(r.Context()).Shared {
		if v.SymbolsArrived, err = s.cfg.Symbols.Arrival(r.Context(), d.ID); err != nil {
			s.failPage(w, r, err)
			return
		}
		src, err := s.cfg.Symbols.Sources(r.Context())
		if err != nil {
			s.failPage(w, r, err)
			return
		}
		v.NoSymbolSource = src.None()
	}
	p := principalFrom(r.Context())
	if !components.ViewerFrom(r.Context()).Shared && p != nil {
		v.CanShare = permMember.allows(p)
		v.CanDelete = canDelete(p, d)
		if v.CanShare {
			if v.Shares, err = s.svc.ListShares(r.Context(), d.ID); err != nil {
				s.failPage(w, r, err)
				return
			}
		}
	}
	v.Meta = s.meta(v.Title(), "dumps")
	if v.Pending() {
		v.Meta.Refresh = 3
	}
	if edit != nil {
		edit(&v)
	}
	s.render(w, r, code, components.DumpShow(v))
}

// pageReport reads a stored report for the report page, keeping the long
// lists raw: only the entries the page shows are decoded. Decoding a report
// of thousands of threads and tens of thousands of frames in full took
// most of the page's time.
type pageReport struct {
	report.Report
	Threads       []json.RawMessage `json:"threads"`
	Handles       []json.RawMessage `json:"handles"`
	MemorySummary *pageMemory       `json:"memory_summary"`
	// The crashing thread's frames are a copy of those of the thread the
	// crash happened on.
	CrashingThread *pageCrashing `json:"crashing_thread"`
}

type pageCrashing struct {
	report.CrashingThread
	Frames json.RawMessage `json:"frames"`
}

type pageMemory struct {
	report.MemorySummary
	Regions []json.RawMessage `json:"regions"`
}

// decodeForPage decodes js with only the page's threads, handles and
// regions filled in; the others are zero values, so counts stay right.
func decodeForPage(js []byte, p components.Pages) (*report.Report, error) {
	var pr pageReport
	if err := json.Unmarshal(js, &pr); err != nil {
		return nil, err
	}
	rep := &pr.Report
	if c := pr.CrashingThread; c != nil {
		rep.CrashingThread = &c.CrashingThread
	}
	var err error
	decode := func(raw []json.RawMessage, dst func(i int) any, idx ...[2]int) {
		for _, w := range idx {
			for i := max(w[0], 0); i < min(w[1], len(raw)); i++ {
				if e := json.Unmarshal(raw[i], dst(i)); e != nil && err == nil {
					err = e
				}
			}
		}
	}
	rep.Threads = make([]report.Thread, len(pr.Threads))
	wanted := [][2]int{{p.Thread, p.Thread + 1}}
	from, to := components.Window(p.Threads, len(pr.Threads), components.ThreadsPerPage)
	wanted = append(wanted, [2]int{from, to})
	crashed := -1 // the thread whose frames crashing_thread copies
	if c := rep.CrashingThread; c != nil {
		crashed = c.ThreadsIndex
		if c.CrashedThreadsIndex != nil {
			crashed = *c.CrashedThreadsIndex
		}
		wanted = append(wanted, [2]int{c.ThreadsIndex, c.ThreadsIndex + 1}, [2]int{crashed, crashed + 1})
	}
	decode(pr.Threads, func(i int) any { return &rep.Threads[i] }, wanted...)
	if c := rep.CrashingThread; c != nil && crashed >= 0 && crashed < len(rep.Threads) {
		c.Frames = rep.Threads[crashed].Frames
	}
	if pr.Handles != nil {
		rep.Handles = make([]report.Handle, len(pr.Handles))
		from, to := components.Window(p.Handles, len(pr.Handles), components.HandlesPerPage)
		decode(pr.Handles, func(i int) any { return &rep.Handles[i] }, [2]int{from, to})
	}
	if pm := pr.MemorySummary; pm != nil {
		rep.MemorySummary = &pm.MemorySummary
		if pm.Regions != nil {
			rs := make([]report.Region, len(pm.Regions))
			from, to := components.Window(p.Regions, len(pm.Regions), components.RegionsPerPage)
			decode(pm.Regions, func(i int) any { return &rs[i] }, [2]int{from, to})
			rep.MemorySummary.Regions = rs
		}
	}
	return rep, err
}

// reportPages reads which page of each long list the report page shows;
// anything unreadable means the first.
func reportPages(r *http.Request) components.Pages {
	q := r.URL.Query()
	n := func(key string, def int) int {
		v, err := strconv.Atoi(q.Get(key))
		if err != nil {
			return def
		}
		return v
	}
	return components.Pages{Threads: n("threads", 1), Modules: n("modules", 1), Handles: n("handles", 1),
		Regions: n("regions", 1), Thread: n("thread", -1)}
}

// dumpReportJSON downloads the stored report.
func (s *Server) dumpReportJSON(w http.ResponseWriter, r *http.Request) {
	d, js, err := s.svc.Report(r.Context(), chi.URLParam(r, "id"))
	if err == nil && len(js) == 0 {
		err = store.ErrNotFound
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `attachment; filename="`+d.ID+`.json"`)
	w.Write(js)
}

type statusJSON struct {
	ID        string       `json:"id"`
	Status    store.Status `json:"status"`
	Error     string       `json:"error,omitempty"`
	URL       string       `json:"url"`
	CrashType string       `json:"crash_type,omitempty"`
	Signature string       `json:"signature,omitempty"`
}

// dumpStatus is the upload page's live status: small, without the report.
func (s *Server) dumpStatus(w http.ResponseWriter, r *http.Request) {
	d, err := s.svc.Dump(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	j := statusJSON{ID: d.ID, Status: d.Status, Error: d.Error, URL: dumpURL(d.ID)}
	if d.Summary != nil {
		j.CrashType, j.Signature = d.Summary.CrashType, d.Summary.Signature
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, j)
}

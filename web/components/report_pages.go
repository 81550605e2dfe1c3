package components

import (
	"strconv"

	"github.com/dumptriage/dumptriage/analyzer/report"
)

// The report page shows long lists a page at a time, so that a report of
// thousands of threads, modules, handles or regions stays a page of a few
// MB that renders fast. The JSON report holds everything.
const (
	ThreadsPerPage = 50
	// FramesShown is how many frames a thread shows in the thread list;
	// the focused thread (?thread=N) and the crashing thread show all.
	FramesShown     = 64
	ModulesPerPage  = 500
	HandlesPerPage  = 500
	RegionsPerPage  = 1000
	UnloadedPerPage = 500
)

// Pages are the page numbers (from 1) the request asked for, and the
// thread to show in full (-1 for none).
type Pages struct {
	Threads, Modules, Handles, Regions int
	Thread                             int
}

// Span is one page of a list of Total items: items [From, To).
type Span struct {
	Param           string // the query parameter that selects the page
	Page, Pages     int
	From, To, Total int
	Anchor          string
}

// span computes page p (from 1, clamped) of total items, per to a page.
func span(param, anchor string, p, total, per int) Span {
	pages := max(1, (total+per-1)/per)
	p = min(max(p, 1), pages)
	from := (p - 1) * per
	return Span{Param: param, Page: p, Pages: pages, From: from, To: min(from+per, total), Total: total, Anchor: anchor}
}

// Window is the items [from, to) of page p of total items, per to a page,
// as the report page shows them.
func Window(p, total, per int) (from, to int) {
	s := span("", "", p, total, per)
	return s.From, s.To
}

// URL links to page p of the span.
func (s Span) URL(p int) string {
	return "?" + s.Param + "=" + strconv.Itoa(p) + "#" + s.Anchor
}

func (v DumpView) threadSpan() Span {
	return span("threads", "threads", v.Pages.Threads, len(v.Report.Threads), ThreadsPerPage)
}

func (v DumpView) moduleSpan() Span {
	return span("modules", "modules", v.Pages.Modules, len(v.Report.Modules), ModulesPerPage)
}

func (v DumpView) handleSpan() Span {
	return span("handles", "handles", v.Pages.Handles, len(v.Report.Handles), HandlesPerPage)
}

func (v DumpView) regionSpan(m *report.MemorySummary) Span {
	return span("regions", "memory", v.Pages.Regions, len(m.Regions), RegionsPerPage)
}

// focused returns the thread asked for in full, or -1.
func (v DumpView) focused() int {
	if v.Report == nil || v.Pages.Thread < 0 || v.Pages.Thread >= len(v.Report.Threads) {
		return -1
	}
	return v.Pages.Thread
}

// shownFrames cuts a thread's frames for the thread list.
func shownFrames(t report.Thread) report.Thread {
	if len(t.Frames) > FramesShown {
		t.Frames = t.Frames[:FramesShown]
	}
	return t
}

// ThreadURL shows thread i in full.
func ThreadURL(i int) string { return "?thread=" + strconv.Itoa(i) + "#focused-thread" }

// truncation finds what the analyzer cut of a list, if anything.
func truncation(r *report.Report, what string) *report.ListCut {
	for i := range r.Truncated {
		if r.Truncated[i].What == what {
			return &r.Truncated[i]
		}
	}
	return nil
}

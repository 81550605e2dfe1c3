package web

import (
	"net/http"
	"strconv"

	"github.com/dumptriage/dumptriage/store"
	"github.com/dumptriage/dumptriage/web/components"
)

// trendQuery reads the trends' query: days (1 to 3650, default 30), clock
// (crash or upload), damaged (1 counts damaged dumps in) and the search.
func trendQuery(qv *query) (store.TrendQuery, components.SearchFilter) {
	f, ms := readSearch(qv)
	return store.TrendQuery{Days: qv.Int("days", 30, 1, 3650), Clock: qv.Clock("clock"),
		IncludeDamaged: qv.Bool("damaged"), Matches: ms}, f
}

// trends shows a period's crashes: ?days=7|30|90|365 (any 1 to 3650),
// ?clock=upload counts by upload time rather than crash time, ?damaged=1
// counts damaged dumps in; the search narrows every figure.
func (s *Server) trends(w http.ResponseWriter, r *http.Request) {
	qv := newQuery(r.URL.Query())
	tq, f := trendQuery(qv)
	var t store.Trends
	err := qv.Err()
	if err == nil {
		t, err = s.svc.Trends(r.Context(), tq)
	} else {
		// The page still shows its (empty) period.
		tq = store.TrendQuery{Days: 30, Clock: store.ClockCrash}
	}
	meta, code, err := s.queryNotice(r, s.meta("Trends", "trends"), err)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	if code != http.StatusOK {
		t.Clock = store.ClockCrash
	}
	v := components.TrendsView{Meta: meta, Days: tq.Days, T: t, Filter: f}
	clock := ""
	if t.Clock == store.ClockUpload {
		clock = "upload"
	}
	damaged := ""
	if t.DamagedIncluded {
		damaged = "1"
	}
	v.Params = append(f.Params(), "clock", clock)
	v.Hidden = []string{"days", strconv.Itoa(tq.Days), "clock", clock, "damaged", damaged}
	series := make([]components.StackSeries, len(t.Stacked))
	for i, st := range t.Stacked {
		series[i] = components.StackSeries{Key: st.Key, Counts: st.Counts}
		if st.Key != "other" {
			series[i].Href = components.SignatureURL(st.Key)
		}
	}
	by := "crash time"
	if t.Clock == store.ClockUpload {
		by = "upload time"
	}
	v.Stacked = components.NewBarChart(t.Days, series, 1000, 240, "crashes per day by signature, by "+by)
	var pts []components.SizePoint
	for _, p := range t.OOM {
		href := components.DumpURL(p.DumpID)
		if p.Requested != nil {
			pts = append(pts, components.SizePoint{At: p.At, Bytes: *p.Requested, Fill: "#e15759", Href: href,
				Title: "requested " + components.Bytes(*p.Requested) + " · " + components.Time(p.At) + " · " + p.Signature})
		}
		if p.LargestFree != nil {
			pts = append(pts, components.SizePoint{At: p.At, Bytes: *p.LargestFree, Fill: "#4e79a7", Cross: true, Href: href,
				Title: "largest free region " + components.Bytes(*p.LargestFree) + " · " + components.Time(p.At)})
		}
	}
	v.OOM = components.NewScatterChart(t.From, t.Until, pts, 1000, 260, "out-of-memory allocation sizes over time")
	s.render(w, r, code, components.TrendsPage(v))
}

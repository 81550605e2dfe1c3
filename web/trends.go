package web

import (
	"net/http"
	"strconv"

	"github.com/dumptriage/dumptriage/store"
	"github.com/dumptriage/dumptriage/web/components"
)

// trends shows a period's crashes: ?days=7|30|90|365 (default 30);
// ?damaged=1 counts damaged dumps in.
func (s *Server) trends(w http.ResponseWriter, r *http.Request) {
	days, _ := strconv.Atoi(r.URL.Query().Get("days"))
	if days <= 0 || days > 3650 {
		days = 30
	}
	t, err := s.svc.Trends(r.Context(), store.TrendQuery{Days: days, IncludeDamaged: r.URL.Query().Get("damaged") == "1"})
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	v := components.TrendsView{Meta: s.meta("Trends", "trends"), Days: days, T: t}
	series := make([]components.StackSeries, len(t.Stacked))
	for i, st := range t.Stacked {
		series[i] = components.StackSeries{Key: st.Key, Counts: st.Counts}
		if st.Key != "other" {
			series[i].Href = components.SignatureURL(st.Key)
		}
	}
	v.Stacked = components.NewBarChart(t.Days, series, 1000, 240, "crashes per day by signature")
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
	s.render(w, r, http.StatusOK, components.TrendsPage(v))
}

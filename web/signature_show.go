package web

import (
	"fmt"
	"net/http"
	"time"

	"github.com/dumptriage/dumptriage/store"
	"github.com/dumptriage/dumptriage/web/components"
)

// dailyChart draws one series of daily counts.
func dailyChart(daily []store.DayCount, key, label string) components.BarChart {
	days := make([]time.Time, len(daily))
	counts := make([]int, len(daily))
	for i, d := range daily {
		days[i], counts[i] = d.Day, d.Count
	}
	return components.NewBarChart(days, []components.StackSeries{{Key: key, Counts: counts}}, 1000, 180, label)
}

// signatureShow is one crash group: /signature?sig=...
func (s *Server) signatureShow(w http.ResponseWriter, r *http.Request) {
	sig := r.URL.Query().Get("sig")
	if sig == "" {
		s.failPage(w, r, fmt.Errorf("%w: no signature given", store.ErrBadRequest))
		return
	}
	info, err := s.svc.SignatureInfo(r.Context(), sig)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	st, err := s.svc.GroupStatus(r.Context(), sig)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	v := components.SignatureView{Meta: s.meta(components.Short(sig, 60), "signatures"), Info: info, Now: time.Now(),
		Chart: dailyChart(info.Daily, sig, "crashes per day of "+sig), Status: st,
		CanEdit: permMember.allows(principalFrom(r.Context()))}
	s.render(w, r, http.StatusOK, components.SignatureShow(v))
}

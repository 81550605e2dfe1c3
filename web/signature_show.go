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
	qv := newQuery(r.URL.Query())
	clock := qv.Clock("clock")
	meta, code, err := s.queryNotice(r, s.meta(components.Short(sig, 60), "signatures"), qv.Err())
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	info, err := s.signatureInfo(r, sig, clock)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	st, err := s.svc.GroupStatus(r.Context(), sig)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	v := components.SignatureView{Meta: meta, Info: info, Now: time.Now(),
		Chart: dailyChart(info.Daily, sig, "crashes per day of "+sig), Status: st,
		CanEdit: permMember.allows(principalFrom(r.Context())), Clock: clock}
	s.render(w, r, code, components.SignatureShow(v))
}

// signatureInfo is a crash group with its daily counts on clock (the
// store's SignatureInfo counts on the crash clock).
func (s *Server) signatureInfo(r *http.Request, sig string, clock store.Clock) (store.SignatureInfo, error) {
	info, err := s.svc.SignatureInfo(r.Context(), sig)
	if err != nil || clock == store.ClockCrash {
		return info, err
	}
	info.Daily, err = s.svc.History(r.Context(), store.HistoryQuery{Dim: store.DimSignature, Key: sig, Clock: clock,
		Days: len(info.Daily)})
	return info, err
}

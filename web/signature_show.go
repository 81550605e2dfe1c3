package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"

	"github.com/dumptriage/dumptriage/analyzer/report"
	"github.com/dumptriage/dumptriage/analyzer/reportdiff"
	"github.com/dumptriage/dumptriage/store"
	"github.com/dumptriage/dumptriage/web/components"
)

// A crash group lives at /signatures/{signature}, its JSON at
// /api/signatures/{signature}: the signature is one path segment, escaped
// (signatures hold spaces, slashes, <>, :: and %).

// historyPerPage is how many changes the group page lists at once.
const historyPerPage = 20

// compareFrames is how many top frames a comparison aligns.
const compareFrames = 16

// dailyChart draws one series of daily counts.
func dailyChart(daily []store.DayCount, key, label string) components.BarChart {
	days := make([]time.Time, len(daily))
	counts := make([]int, len(daily))
	for i, d := range daily {
		days[i], counts[i] = d.Day, d.Count
	}
	return components.NewBarChart(days, []components.StackSeries{{Key: key, Counts: counts}}, 1000, 180, label)
}

// sigFromPath reads the signature between prefix and suffix of the
// request's escaped path. chi matched the pattern, but its parameter is
// escaped or not depending on whether the path needed a RawPath, so the
// escaped path is read here, always.
func sigFromPath(r *http.Request, prefix, suffix string) (string, error) {
	p := r.URL.EscapedPath()
	if !strings.HasPrefix(p, prefix) || !strings.HasSuffix(p, suffix) || len(p) < len(prefix)+len(suffix) {
		return "", fmt.Errorf("%w: not a crash group's path", store.ErrBadRequest)
	}
	sig, err := url.PathUnescape(p[len(prefix) : len(p)-len(suffix)])
	if err != nil || sig == "" {
		return "", fmt.Errorf("%w: no signature given", store.ErrBadRequest)
	}
	return sig, nil
}

// redirectSignature answers the old ?sig= URLs with a permanent redirect to
// to, keeping the other query parameters; fail answers a missing ?sig=.
func redirectSignature(to func(sig string) string, fail func(http.ResponseWriter, *http.Request, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		sig := q.Get("sig")
		if sig == "" {
			fail(w, r, fmt.Errorf("%w: no signature given (?sig=)", store.ErrBadRequest))
			return
		}
		q.Del("sig")
		target := to(sig)
		if len(q) > 0 {
			target += "?" + q.Encode()
		}
		http.Redirect(w, r, target, http.StatusMovedPermanently)
	}
}

func signaturePage(sig string) string { return string(components.SignatureURL(sig)) }

func signatureAPI(sig string) string { return components.SignaturePath("/api/signatures/", sig) }

// signatureShow is one crash group: /signatures/{signature}, with its
// history paged by ?history= (an offset).
func (s *Server) signatureShow(w http.ResponseWriter, r *http.Request) {
	sig, err := sigFromPath(r, "/signatures/", "")
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	qv := newQuery(r.URL.Query())
	histOffset := qv.Int("history", 0, 0, 1_000_000)
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
	v := components.SignatureView{Meta: meta, Clock: clock, Info: info, Now: time.Now(),
		Chart: dailyChart(info.Daily, sig, "crashes per day of "+sig), CanEdit: permMember.allows(principalFrom(r.Context())),
		HistoryOffset: histOffset}
	if v.Status, err = s.svc.GroupStatus(r.Context(), sig); err != nil {
		s.failPage(w, r, err)
		return
	}
	if v.History, err = s.svc.GroupEvents(r.Context(), sig, historyPerPage, histOffset); err != nil {
		s.failPage(w, r, err)
		return
	}
	if v.Ends, err = s.svc.GroupEnds(r.Context(), sig); err != nil {
		s.failPage(w, r, err)
		return
	}
	if v.Status.State == store.GroupFixed {
		v.PastFix = store.VersionsAtOrPast(info.Versions, v.Status.FixedIn)
	}
	if v.CanEdit {
		if v.Users, err = s.svc.ListUsers(r.Context()); err != nil {
			s.failPage(w, r, err)
			return
		}
	}
	page := func(off int) templ.SafeURL {
		return components.Query(signaturePage(sig), "history", strconv.Itoa(off)) + "#history"
	}
	if histOffset > 0 {
		v.HistoryPrev = page(max(histOffset-historyPerPage, 0))
	}
	if v.History.More {
		v.HistoryNext = page(histOffset + historyPerPage)
	}
	s.render(w, r, code, components.SignatureShow(v))
}

// groupForm is the group page's workflow form: status, fixed_in, assignee,
// bug_url, note; every field is sent, so each is set.
func (s *Server) groupForm(w http.ResponseWriter, r *http.Request) {
	sig, err := sigFromPath(r, "/signatures/", "/status")
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	if err := parseForm(w, r); err != nil {
		s.failPage(w, r, err)
		return
	}
	f := func(k string) *string {
		if _, ok := r.PostForm[k]; !ok {
			return nil
		}
		v := r.PostForm.Get(k)
		return &v
	}
	c := store.GroupChange{Signature: sig, FixedIn: f("fixed_in"), BugURL: f("bug_url"), Assignee: f("assignee"),
		Note: f("note")}
	if st := f("status"); st != nil {
		gs := store.GroupState(*st)
		c.State = &gs
	}
	if _, err := s.updateGroup(r.Context(), c); err != nil {
		s.failPage(w, r, err)
		return
	}
	http.Redirect(w, r, signaturePage(sig)+"#workflow", http.StatusSeeOther)
}

// updateGroup changes a group that exists, as the request's user.
func (s *Server) updateGroup(ctx context.Context, c store.GroupChange) (store.GroupStatus, error) {
	if _, err := s.svc.SignatureInfo(ctx, c.Signature); err != nil {
		return store.GroupStatus{}, err
	}
	c.By = principalFrom(ctx).Name
	return s.svc.UpdateGroup(ctx, c)
}

// groupComparison loads two dumps of one group for comparison: ?a= and ?b=
// (dump ids), by default the group's newest and oldest.
func (s *Server) groupComparison(r *http.Request, sig string) (components.CompareView, error) {
	var v components.CompareView
	if _, err := s.svc.SignatureInfo(r.Context(), sig); err != nil {
		return v, err
	}
	q := r.URL.Query()
	a, b := q.Get("a"), q.Get("b")
	if a == "" || b == "" {
		ends, err := s.svc.GroupEnds(r.Context(), sig)
		if err != nil {
			return v, err
		}
		if len(ends) < 2 {
			return v, fmt.Errorf("%w: this group has one dump: nothing to compare it with", store.ErrBadRequest)
		}
		if a == "" {
			a = ends[0].ID
		}
		if b == "" {
			b = ends[1].ID
			if b == a {
				b = ends[0].ID
			}
		}
	}
	if a == b {
		return v, fmt.Errorf("%w: pick two different dumps (a and b are both %q)", store.ErrBadRequest, components.Short(a, 100))
	}
	load := func(id string) (store.Dump, *report.Report, error) {
		d, js, err := s.svc.Report(r.Context(), id)
		if errors.Is(err, store.ErrNotFound) {
			return d, nil, missingDump(id)
		}
		if err != nil {
			return d, nil, err
		}
		if d.Summary == nil || len(js) == 0 {
			return d, nil, fmt.Errorf("%w: dump %q has no analysis yet", store.ErrBadRequest, id)
		}
		if d.Summary.Signature != sig {
			return d, nil, fmt.Errorf("%w: dump %q is not in this crash group (its signature is %q)", store.ErrBadRequest,
				id, components.Short(d.Summary.Signature, 200))
		}
		rep, err := decodeCrashing(js)
		if err != nil {
			return d, nil, fmt.Errorf("dump %q: reading its report: %w", id, err)
		}
		return d, rep, nil
	}
	var ra, rb *report.Report
	var err error
	if v.A, ra, err = load(a); err != nil {
		return v, err
	}
	if v.B, rb, err = load(b); err != nil {
		return v, err
	}
	v.Signature, v.Diff = sig, reportdiff.Compare(ra, rb, compareFrames)
	v.Diff.Versions = append([]reportdiff.Field{
		reportdiff.NewField("product", v.A.Product, v.B.Product),
		reportdiff.NewField("product version", v.A.ProductVersion, v.B.ProductVersion),
	}, v.Diff.Versions...)
	return v, nil
}

// missingDump is a compared dump that does not exist.
type missingDump string

func (m missingDump) Error() string {
	return fmt.Sprintf("no dump %q", components.Short(string(m), 100))
}

func (m missingDump) Unwrap() error { return store.ErrNotFound }

// crashingReport leaves the long lists raw: a comparison reads one thread.
type crashingReport struct {
	report.Report
	Threads       []json.RawMessage `json:"threads"`
	Handles       json.RawMessage   `json:"handles"`
	MemorySummary json.RawMessage   `json:"memory_summary"`
}

// decodeCrashing decodes a report with, of its threads, only the frames of
// the thread the crash happened on (crashed_threads_index when the dump was
// written from another thread).
func decodeCrashing(js []byte) (*report.Report, error) {
	var cr crashingReport
	if err := json.Unmarshal(js, &cr); err != nil {
		return nil, err
	}
	rep := &cr.Report
	if c := rep.CrashingThread; c != nil {
		i := c.ThreadsIndex
		if c.CrashedThreadsIndex != nil {
			i = *c.CrashedThreadsIndex
		}
		if i >= 0 && i < len(cr.Threads) {
			var th report.Thread
			if err := json.Unmarshal(cr.Threads[i], &th); err != nil {
				return nil, err
			}
			c.Frames = th.Frames
		}
	}
	return rep, nil
}

// groupCompare is two dumps of a group side by side:
// /signatures/{signature}/compare?a=&b=.
func (s *Server) groupCompare(w http.ResponseWriter, r *http.Request) {
	sig, err := sigFromPath(r, "/signatures/", "/compare")
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	v, err := s.groupComparison(r, sig)
	var missing missingDump
	if errors.As(err, &missing) {
		s.renderError(w, r, http.StatusNotFound, "There is "+missing.Error()+".")
		return
	}
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	v.Meta = s.meta("Compare · "+components.Short(sig, 60), "signatures")
	s.render(w, r, http.StatusOK, components.GroupCompare(v))
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

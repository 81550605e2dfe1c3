package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/dumptriage/dumptriage/analyzer/reportdiff"
	"github.com/dumptriage/dumptriage/store"
)

// A crash group's workflow and comparisons as JSON, under
// /api/signatures/{signature}.

type groupEventJSON struct {
	At    time.Time `json:"at"`
	By    string    `json:"by"`
	Field string    `json:"field"`
	Old   string    `json:"old"`
	New   string    `json:"new"`
}

func groupEventsJSON(p store.GroupEventPage) map[string]any {
	evs := make([]groupEventJSON, len(p.Events))
	for i, e := range p.Events {
		evs[i] = groupEventJSON{At: e.At, By: e.By, Field: e.Field, Old: e.Old, New: e.New}
	}
	return map[string]any{"events": evs, "total": p.Total, "more": p.More}
}

// apiSignatureShow is one crash group with its status and newest changes.
func (s *Server) apiSignatureShow(w http.ResponseWriter, r *http.Request) {
	sig, err := sigFromPath(r, "/api/signatures/", "")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	qv := newQuery(r.URL.Query())
	clock := qv.Clock("clock")
	if err := qv.Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	info, err := s.signatureInfo(r, sig, clock)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	st, err := s.svc.GroupStatus(r.Context(), sig)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	hist, err := s.svc.GroupEvents(r.Context(), sig, historyPerPage, 0)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := map[string]any{"signature": info.Key, "status": toGroupStatusJSON(st), "count": info.Count,
		"first_seen": info.FirstSeen, "last_seen": info.LastSeen, "versions": groupsJSON(info.Versions),
		"oses": groupsJSON(info.OSes), "clock": clock, "daily": daysJSON(info.Daily), "examples": dumpsJSON(info.Examples),
		"history": groupEventsJSON(hist)}
	if st.State == store.GroupFixed {
		out["crashed_past_fix"] = groupsJSON(store.VersionsAtOrPast(info.Versions, st.FixedIn))
	}
	writeJSON(w, http.StatusOK, out)
}

// apiGroupEvents pages a group's history, newest first: limit, offset.
func (s *Server) apiGroupEvents(w http.ResponseWriter, r *http.Request) {
	sig, err := sigFromPath(r, "/api/signatures/", "/events")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	limit, offset, err := pageParams(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if _, err := s.svc.SignatureInfo(r.Context(), sig); err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.svc.GroupEvents(r.Context(), sig, limit, offset)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, groupEventsJSON(p))
}

// apiGroupUpdate changes a group's workflow: {"status", "fixed_in",
// "assignee", "bug_url", "note"}; a field left out stays as it is, "" clears
// it.
func (s *Server) apiGroupUpdate(w http.ResponseWriter, r *http.Request) {
	sig, err := sigFromPath(r, "/api/signatures/", "/status")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var in struct {
		Status   *string `json:"status"`
		FixedIn  *string `json:"fixed_in"`
		Assignee *string `json:"assignee"`
		BugURL   *string `json:"bug_url"`
		Note     *string `json:"note"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		s.fail(w, r, fmt.Errorf("%w: %v", store.ErrBadRequest, err))
		return
	}
	c := store.GroupChange{Signature: sig, FixedIn: in.FixedIn, Assignee: in.Assignee, BugURL: in.BugURL, Note: in.Note}
	if in.Status != nil {
		st := store.GroupState(*in.Status)
		c.State = &st
	}
	g, err := s.updateGroup(r.Context(), c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toGroupStatusJSON(g))
}

type compareDumpJSON struct {
	ID         string     `json:"id"`
	UploadedAt time.Time  `json:"uploaded_at"`
	DumpTime   *time.Time `json:"dump_time,omitempty"`
}

// apiGroupCompare compares two dumps of a group: ?a=&b= (dump ids), by
// default its newest and oldest.
func (s *Server) apiGroupCompare(w http.ResponseWriter, r *http.Request) {
	sig, err := sigFromPath(r, "/api/signatures/", "/compare")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.groupComparison(r, sig)
	var missing missingDump
	if errors.As(err, &missing) {
		writeJSON(w, http.StatusNotFound, errorBody{Error: missing.Error(), RequestID: requestIDFrom(r.Context())})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	side := func(d store.Dump) compareDumpJSON {
		return compareDumpJSON{ID: d.ID, UploadedAt: d.UploadedAt, DumpTime: d.Summary.DumpTime}
	}
	writeJSON(w, http.StatusOK, struct {
		Signature string          `json:"signature"`
		A         compareDumpJSON `json:"a"`
		B         compareDumpJSON `json:"b"`
		reportdiff.Diff
	}{sig, side(v.A), side(v.B), v.Diff})
}

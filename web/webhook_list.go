package web

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/dumptriage/dumptriage/store"
	"github.com/dumptriage/dumptriage/web/components"
)

func (s *Server) renderWebhooks(w http.ResponseWriter, r *http.Request, code int, msg, errMsg string) {
	hooks, err := s.svc.Webhooks(r.Context())
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	ds, err := s.svc.RecentDeliveries(r.Context(), 50)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	s.render(w, r, code, components.Webhooks(components.WebhooksView{Meta: s.meta("Alerts", "admin"), Webhooks: hooks,
		Deliveries: ds, Message: msg, Error: errMsg}))
}

// webhookList is the alerts admin page: webhooks and recent deliveries.
func (s *Server) webhookList(w http.ResponseWriter, r *http.Request) {
	s.renderWebhooks(w, r, http.StatusOK, "", "")
}

func (s *Server) webhookAdd(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.failPage(w, r, err)
		return
	}
	th := 0
	if t := strings.TrimSpace(r.PostFormValue("threshold")); t != "" {
		th, _ = strconv.Atoi(t)
	}
	hook, err := store.NewWebhook(strings.TrimSpace(r.PostFormValue("url")), r.PostFormValue("format"),
		strings.Join(r.PostForm["events"], ","), th, principalFrom(r.Context()).Name)
	if err == nil {
		hook, err = s.svc.AddWebhook(r.Context(), hook)
	}
	if err != nil {
		s.formError(w, r, err, func(code int, msg string) { s.renderWebhooks(w, r, code, "", msg) })
		return
	}
	s.renderWebhooks(w, r, http.StatusCreated, fmt.Sprintf("Added webhook %d.", hook.ID), "")
}

func (s *Server) webhookRemove(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err == nil {
		err = s.svc.RemoveWebhook(r.Context(), id)
	} else {
		err = store.ErrNotFound
	}
	if err != nil {
		s.formError(w, r, err, func(code int, msg string) { s.renderWebhooks(w, r, code, "", msg) })
		return
	}
	s.renderWebhooks(w, r, http.StatusOK, fmt.Sprintf("Removed webhook %d.", id), "")
}

type webhookJSON struct {
	ID        int64             `json:"id"`
	URL       string            `json:"url"`
	Format    string            `json:"format"`
	Events    []store.AlertKind `json:"events"`
	Threshold int               `json:"threshold,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
	CreatedBy string            `json:"created_by,omitempty"`
}

func toWebhookJSON(h store.Webhook) webhookJSON {
	return webhookJSON{ID: h.ID, URL: h.URL, Format: string(h.Format), Events: h.Events, Threshold: h.Threshold,
		CreatedAt: h.CreatedAt, CreatedBy: h.CreatedBy}
}

// apiWebhookList lists the webhooks.
func (s *Server) apiWebhookList(w http.ResponseWriter, r *http.Request) {
	hooks, err := s.svc.Webhooks(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]webhookJSON, len(hooks))
	for i, h := range hooks {
		out[i] = toWebhookJSON(h)
	}
	writeJSON(w, http.StatusOK, map[string]any{"webhooks": out})
}

// apiWebhookAdd adds a webhook: {"url", "events": ["new", ...], "format", "threshold"}.
func (s *Server) apiWebhookAdd(w http.ResponseWriter, r *http.Request) {
	var in struct {
		URL       string   `json:"url"`
		Format    string   `json:"format"`
		Events    []string `json:"events"`
		Threshold int      `json:"threshold"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&in); err != nil {
		s.fail(w, r, fmt.Errorf("%w: %v", store.ErrBadRequest, err))
		return
	}
	hook, err := store.NewWebhook(in.URL, in.Format, strings.Join(in.Events, ","), in.Threshold, principalFrom(r.Context()).Name)
	if err == nil {
		hook, err = s.svc.AddWebhook(r.Context(), hook)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toWebhookJSON(hook))
}

// apiWebhookRemove removes a webhook.
func (s *Server) apiWebhookRemove(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil {
		s.fail(w, r, store.ErrNotFound)
		return
	}
	if err := s.svc.RemoveWebhook(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type groupStatusJSON struct {
	Signature  string          `json:"signature"`
	Status     string          `json:"status"`
	FixedIn    string          `json:"fixed_in,omitempty"`
	BugURL     string          `json:"bug_url,omitempty"`
	Assignee   string          `json:"assignee,omitempty"`
	Note       string          `json:"note,omitempty"`
	Regression *regressionJSON `json:"regression,omitempty"`
	UpdatedAt  *time.Time      `json:"updated_at,omitempty"`
	UpdatedBy  string          `json:"updated_by,omitempty"`
}

// regressionJSON: the group was fixed in From and crashed in In.
type regressionJSON struct {
	From string    `json:"fixed_in"`
	In   string    `json:"crashed_in"`
	At   time.Time `json:"at"`
}

func toGroupStatusJSON(g store.GroupStatus) groupStatusJSON {
	j := groupStatusJSON{Signature: g.Signature, Status: string(g.State), FixedIn: g.FixedIn, BugURL: g.BugURL,
		Assignee: g.Assignee, Note: g.Note, UpdatedBy: g.UpdatedBy}
	if !g.UpdatedAt.IsZero() {
		j.UpdatedAt = &g.UpdatedAt
	}
	if g.RegressedIn != "" {
		j.Regression = &regressionJSON{From: g.RegressedFrom, In: g.RegressedIn, At: g.RegressedAt}
	}
	return j
}

// setGroupStatus reads a status change for ?sig= from its fields (the
// routes before /signatures/{signature}/status; they leave the assignee and
// note alone).
func (s *Server) setGroupStatus(r *http.Request, status, fixedIn, bugURL string) (store.GroupStatus, error) {
	sig := r.URL.Query().Get("sig")
	if sig == "" {
		return store.GroupStatus{}, fmt.Errorf("%w: no signature given (?sig=)", store.ErrBadRequest)
	}
	if _, err := s.svc.SignatureInfo(r.Context(), sig); err != nil {
		return store.GroupStatus{}, err
	}
	st, err := store.ParseGroupState(status)
	if err != nil {
		return store.GroupStatus{}, err
	}
	return s.svc.SetGroupStatus(r.Context(), store.GroupStatus{Signature: sig, State: st, FixedIn: fixedIn, BugURL: bugURL,
		UpdatedBy: principalFrom(r.Context()).Name})
}

// apiGroupStatus sets a crash group's status: {"status", "fixed_in", "bug_url"}.
func (s *Server) apiGroupStatus(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Status  string `json:"status"`
		FixedIn string `json:"fixed_in"`
		BugURL  string `json:"bug_url"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&in); err != nil {
		s.fail(w, r, fmt.Errorf("%w: %v", store.ErrBadRequest, err))
		return
	}
	g, err := s.setGroupStatus(r, in.Status, in.FixedIn, in.BugURL)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toGroupStatusJSON(g))
}

// groupStatusForm is the signature page's status form.
func (s *Server) groupStatusForm(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.failPage(w, r, err)
		return
	}
	if _, err := s.setGroupStatus(r, r.PostFormValue("status"), r.PostFormValue("fixed_in"), r.PostFormValue("bug_url")); err != nil {
		s.failPage(w, r, err)
		return
	}
	http.Redirect(w, r, string(components.SignatureURL(r.URL.Query().Get("sig"))), http.StatusSeeOther)
}

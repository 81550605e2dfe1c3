package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/dumptriage/dumptriage/store"
	"github.com/dumptriage/dumptriage/web/components"
)

// DefaultShareTTL is how long a share link lives when the request does not say.
const DefaultShareTTL = 7 * 24 * time.Hour

func sharePath(raw string) string { return "/s/" + raw }

type shareRequest struct {
	ExpiresIn     string `json:"expires_in"`
	AllowDownload bool   `json:"allow_download"`
}

type shareJSON struct {
	ID            string     `json:"id"`
	URL           string     `json:"url,omitempty"` // only when made: the secret is kept hashed
	DumpID        string     `json:"dump_id"`
	CreatedBy     string     `json:"created_by"`
	CreatedAt     time.Time  `json:"created_at"`
	ExpiresAt     *time.Time `json:"expires_at"`
	AllowDownload bool       `json:"allow_download"`
	RevokedAt     *time.Time `json:"revoked_at,omitempty"`
	Active        bool       `json:"active"`
}

func toShareJSON(sh store.Share) shareJSON {
	return shareJSON{ID: sh.ID, DumpID: sh.DumpID, CreatedBy: sh.CreatedBy, CreatedAt: sh.CreatedAt,
		ExpiresAt: sh.ExpiresAt, AllowDownload: sh.AllowDownload, RevokedAt: sh.RevokedAt, Active: sh.Active(time.Now())}
}

// createShare makes a link to a dump the caller may read.
func (s *Server) createShare(r *http.Request, id string, req shareRequest) (string, store.Share, error) {
	ttl := DefaultShareTTL
	if req.ExpiresIn != "" {
		var err error
		if ttl, err = parseTTL(req.ExpiresIn); err != nil {
			return "", store.Share{}, fmt.Errorf("%w: expires_in %q is not a duration like 72h or 30d", store.ErrBadRequest, req.ExpiresIn)
		}
	}
	if _, err := s.svc.Dump(r.Context(), id); err != nil {
		return "", store.Share{}, err
	}
	raw, sh, err := s.svc.CreateShare(r.Context(), id, principalFrom(r.Context()).Name, ttl, req.AllowDownload)
	if err != nil {
		return "", sh, err
	}
	detail := "read-only"
	if req.AllowDownload {
		detail = "with download"
	}
	s.audit(r, store.AuditShareCreate, id+"/"+sh.ID, detail)
	return s.absURL(sharePath(raw)), sh, nil
}

// apiShareCreate: POST /api/dumps/{id}/shares with an optional JSON body
// {"expires_in": "72h", "allow_download": false}.
func (s *Server) apiShareCreate(w http.ResponseWriter, r *http.Request) {
	var req shareRequest
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<10))
	if err == nil && len(body) > 0 {
		if jerr := json.Unmarshal(body, &req); jerr != nil {
			err = fmt.Errorf("%w: the body is not a JSON object like {\"expires_in\": \"72h\", \"allow_download\": false}", store.ErrBadRequest)
		}
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	url, sh, err := s.createShare(r, chi.URLParam(r, "id"), req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	j := toShareJSON(sh)
	j.URL = url
	writeJSON(w, http.StatusCreated, j)
}

func (s *Server) apiShareList(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	if _, err := s.svc.Dump(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	shs, err := s.svc.ListShares(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]shareJSON, 0, len(shs))
	for _, sh := range shs {
		out = append(out, toShareJSON(sh))
	}
	writeJSON(w, http.StatusOK, map[string]any{"shares": out})
}

func (s *Server) revokeShare(r *http.Request) error {
	id, sid := chi.URLParam(r, "id"), chi.URLParam(r, "share_id")
	if err := s.svc.RevokeShare(r.Context(), id, sid); err != nil {
		return err
	}
	s.audit(r, store.AuditShareRevoke, id+"/"+sid, "")
	return nil
}

func (s *Server) apiShareRevoke(w http.ResponseWriter, r *http.Request) {
	if err := s.revokeShare(r); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// dumpShareCreate is the report page's share form: the page comes back
// with the new link, shown once.
func (s *Server) dumpShareCreate(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.failPage(w, r, err)
		return
	}
	url, _, err := s.createShare(r, chi.URLParam(r, "id"),
		shareRequest{ExpiresIn: r.PostFormValue("expires_in"), AllowDownload: r.PostFormValue("allow_download") != ""})
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	s.renderDump(w, r, http.StatusCreated, chi.URLParam(r, "id"), func(v *components.DumpView) { v.NewShareURL = url })
}

func (s *Server) dumpShareRevoke(w http.ResponseWriter, r *http.Request) {
	if err := s.revokeShare(r); err != nil {
		s.failPage(w, r, err)
		return
	}
	http.Redirect(w, r, dumpURL(chi.URLParam(r, "id"))+"#shares", http.StatusSeeOther)
}

// openShare resolves the link in the URL: 404 when unknown or revoked,
// 410 once expired.
func (s *Server) openShare(w http.ResponseWriter, r *http.Request) (store.Share, bool) {
	sh, err := s.svc.OpenShare(r.Context(), chi.URLParam(r, "token"))
	if err != nil {
		code := http.StatusInternalServerError
		msg := "Something went wrong (request " + requestIDFrom(r.Context()) + ")."
		switch {
		case errors.Is(err, store.ErrGone):
			code, msg = http.StatusGone, "This share link has expired."
		case errors.Is(err, store.ErrNotFound):
			code, msg = http.StatusNotFound, "This share link does not exist or was revoked."
		default:
			s.logger(r).Error("open share", "err", err)
		}
		s.renderError(w, r, code, msg)
		return sh, false
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Robots-Tag", "noindex")
	return sh, true
}

// shareShow is the report through a share link: read-only, no account.
func (s *Server) shareShow(w http.ResponseWriter, r *http.Request) {
	sh, ok := s.openShare(w, r)
	if !ok {
		return
	}
	r = r.WithContext(components.WithViewer(r.Context(), components.Viewer{Shared: true}))
	s.renderDump(w, r, http.StatusOK, sh.DumpID, func(v *components.DumpView) {
		v.SharePath, v.ShareDownload = sharePath(chi.URLParam(r, "token")), sh.AllowDownload
		v.Meta.Nav = ""
	})
}

// shareFile downloads the dump through a link that allows it.
func (s *Server) shareFile(w http.ResponseWriter, r *http.Request) {
	sh, ok := s.openShare(w, r)
	if !ok {
		return
	}
	if !sh.AllowDownload {
		s.renderError(w, r, http.StatusForbidden, "This share link does not allow downloading the dump.")
		return
	}
	s.audit(r, store.AuditShareDownload, sh.DumpID+"/"+sh.ID, "")
	s.serveDumpFile(w, r, sh.DumpID)
}

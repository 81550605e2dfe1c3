package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/dumptriage/dumptriage/store"
	"github.com/dumptriage/dumptriage/web/components"
)

// accountView is the signed-in user's page with their tokens.
func (s *Server) accountView(r *http.Request) (components.AccountView, error) {
	p := principalFrom(r.Context())
	ts, err := s.svc.ListTokens(r.Context(), p.Name)
	return components.AccountView{Meta: s.meta("Account", "account"), User: p.Name, Role: string(p.Role), Tokens: ts,
		Now: time.Now()}, err
}

func (s *Server) renderAccount(w http.ResponseWriter, r *http.Request, code int, edit func(*components.AccountView)) {
	v, err := s.accountView(r)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	if edit != nil {
		edit(&v)
	}
	s.render(w, r, code, components.Account(v))
}

func (s *Server) accountShow(w http.ResponseWriter, r *http.Request) {
	s.renderAccount(w, r, http.StatusOK, nil)
}

// formFailed renders a page's form error, or fails the request on a 5xx.
func (s *Server) formError(w http.ResponseWriter, r *http.Request, err error, show func(code int, msg string)) {
	code, msg := httpStatus(err)
	if code >= 500 {
		s.failPage(w, r, err)
		return
	}
	show(code, msg)
}

func (s *Server) accountPassword(w http.ResponseWriter, r *http.Request) {
	p := principalFrom(r.Context())
	if err := parseForm(w, r); err != nil {
		s.failPage(w, r, err)
		return
	}
	if _, err := s.svc.CheckPassword(r.Context(), p.Name, r.PostFormValue("current")); err != nil {
		s.formError(w, r, err, func(code int, _ string) {
			s.renderAccount(w, r, code, func(v *components.AccountView) { v.Error = "The current password is wrong." })
		})
		return
	}
	if err := s.svc.SetPassword(r.Context(), p.Name, r.PostFormValue("password")); err != nil {
		s.formError(w, r, err, func(code int, msg string) {
			s.renderAccount(w, r, code, func(v *components.AccountView) { v.Error = msg })
		})
		return
	}
	s.audit(r, store.AuditPassword, p.Name, "")
	// SetPassword ended every session, this one too: start a new one.
	u, err := s.svc.User(r.Context(), p.Name)
	if err == nil {
		err = s.startSession(w, r, u)
	}
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

// parseTTL reads "72h", "90d" or "0" (never).
func parseTTL(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if v == "" || v == "0" {
		return 0, nil
	}
	if n, ok := strings.CutSuffix(v, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 || days > 100*365 {
			return 0, store.ErrBadRequest
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || d > 100*365*24*time.Hour {
		return 0, store.ErrBadRequest
	}
	return d, nil
}

func (s *Server) accountTokenCreate(w http.ResponseWriter, r *http.Request) {
	p := principalFrom(r.Context())
	if err := parseForm(w, r); err != nil {
		s.failPage(w, r, err)
		return
	}
	scopes, err := store.ParseScopes(r.PostFormValue("scope"))
	ttl, err2 := parseTTL(r.PostFormValue("expires"))
	if err == nil {
		err = err2
	}
	var raw string
	var t store.Token
	if err == nil {
		raw, t, err = s.svc.CreateToken(r.Context(), p.Name, r.PostFormValue("name"), scopes, ttl)
	}
	if err != nil {
		s.formError(w, r, err, func(code int, msg string) {
			s.renderAccount(w, r, code, func(v *components.AccountView) { v.Error = msg })
		})
		return
	}
	s.audit(r, store.AuditTokenCreate, t.ID, "scope "+scopes.String())
	// The page shows the secret once; it is not in any URL.
	s.renderAccount(w, r, http.StatusCreated, func(v *components.AccountView) { v.NewToken = raw })
}

func (s *Server) accountTokenRevoke(w http.ResponseWriter, r *http.Request) {
	p := principalFrom(r.Context())
	id := chi.URLParam(r, "token_id")
	if _, err := s.svc.RevokeToken(r.Context(), id, p.Name); err != nil {
		s.failPage(w, r, err)
		return
	}
	s.audit(r, store.AuditTokenRevoke, id, "")
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

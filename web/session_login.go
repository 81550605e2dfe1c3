package web

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"time"

	"github.com/dumptriage/dumptriage/store"
	"github.com/dumptriage/dumptriage/web/components"
)

// Login attempts: at most loginPerUser failures per account and
// loginPerIP per address in loginWindow. The counts live in the index, so
// they hold across restarts and web nodes.
const (
	loginWindow  = 15 * time.Minute
	loginPerUser = 5
	loginPerIP   = 30
)

// parseForm reads a small url-encoded form.
func parseForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return store.ErrBadRequest
	}
	return nil
}

func (s *Server) needsSetup(r *http.Request) bool {
	n, err := s.svc.UserCount(r.Context())
	return err == nil && n == 0
}

func (s *Server) loginForm(w http.ResponseWriter, r *http.Request) {
	if principalFrom(r.Context()) != nil {
		http.Redirect(w, r, localPath(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, components.Login(components.LoginView{Meta: s.meta("Sign in", ""),
		Next: localPath(r.URL.Query().Get("next")), Setup: s.needsSetup(r)}))
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.failPage(w, r, err)
		return
	}
	name, pw, next := r.PostFormValue("name"), r.PostFormValue("password"), localPath(r.PostFormValue("next"))
	v := components.LoginView{Meta: s.meta("Sign in", ""), Next: next, Name: name}
	ip := clientIPFrom(r.Context())
	userKey, ipKey := "user:"+name, "ip:"+ip
	since := time.Now().Add(-loginWindow)
	nu, err1 := s.svc.LoginFailures(r.Context(), userKey, since)
	ni, err2 := s.svc.LoginFailures(r.Context(), ipKey, since)
	if err := errors.Join(err1, err2); err != nil {
		s.failPage(w, r, err)
		return
	}
	if nu >= loginPerUser || ni >= loginPerIP {
		s.audit(r, store.AuditLoginFailed, name, "rate limited")
		w.Header().Set("Retry-After", "900")
		v.Error = "Too many failed sign-ins. Wait 15 minutes and try again."
		s.render(w, r, http.StatusTooManyRequests, components.Login(v))
		return
	}
	u, err := s.svc.CheckPassword(r.Context(), name, pw)
	if errors.Is(err, store.ErrBadCredentials) {
		if err := s.svc.RecordLoginFailure(r.Context(), userKey, ipKey); err != nil {
			s.logger(r).Error("record login failure", "err", err)
		}
		s.audit(r, store.AuditLoginFailed, name, "wrong name or password")
		v.Error = "Wrong name or password."
		v.Setup = s.needsSetup(r)
		s.render(w, r, http.StatusUnauthorized, components.Login(v))
		return
	}
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	s.svc.ClearLoginFailures(r.Context(), userKey)
	if err := s.startSession(w, r, u); err != nil {
		s.failPage(w, r, err)
		return
	}
	e := store.AuditEntry{Actor: u.Name, Action: store.AuditLoginOK, Target: u.Name, IP: ip}
	if err := s.svc.Audit(r.Context(), e); err != nil {
		s.logger(r).Error("audit", "err", err)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) startSession(w http.ResponseWriter, r *http.Request, u store.User) error {
	raw, _, err := s.svc.CreateSession(r.Context(), u.ID, clientIPFrom(r.Context()), s.cfg.SessionMaxAge)
	if err != nil {
		return err
	}
	http.SetCookie(w, s.cookie(raw, int(s.cfg.SessionMaxAge/time.Second)))
	return nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if err := s.svc.DeleteSession(r.Context(), c.Value); err != nil {
			s.failPage(w, r, err)
			return
		}
	}
	s.audit(r, store.AuditLogout, "", "")
	http.SetCookie(w, s.cookie("", -1))
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// setupAllowed: no user exists, and the request comes from this machine or
// carries the one-time setup token the server logged.
func (s *Server) setupAllowed(r *http.Request, token string) (ok bool, why string) {
	if !s.needsSetup(r) {
		return false, "The server is set up already: sign in."
	}
	if isLoopback(r) {
		return true, ""
	}
	if s.cfg.SetupToken != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.cfg.SetupToken)) == 1 {
		return true, ""
	}
	return false, "The first admin is created from this machine (localhost), or with the setup URL the server wrote to its log."
}

func (s *Server) setupForm(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	if ok, why := s.setupAllowed(r, token); !ok {
		s.renderError(w, r, http.StatusForbidden, why)
		return
	}
	s.render(w, r, http.StatusOK, components.Setup(components.SetupView{Meta: s.meta("Setup", ""), Token: token}))
}

func (s *Server) setup(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.failPage(w, r, err)
		return
	}
	token := r.PostFormValue("token")
	if ok, why := s.setupAllowed(r, token); !ok {
		s.renderError(w, r, http.StatusForbidden, why)
		return
	}
	u, err := s.svc.AddUser(r.Context(), r.PostFormValue("name"), store.RoleAdmin, r.PostFormValue("password"))
	if err != nil {
		code, msg := httpStatus(err)
		if code >= 500 {
			s.failPage(w, r, err)
			return
		}
		s.render(w, r, code, components.Setup(components.SetupView{Meta: s.meta("Setup", ""), Token: token, Error: msg}))
		return
	}
	s.svc.Audit(r.Context(), store.AuditEntry{Actor: u.Name, Action: store.AuditSetup, Target: u.Name,
		IP: clientIPFrom(r.Context()), Detail: "first admin"})
	if err := s.startSession(w, r, u); err != nil {
		s.failPage(w, r, err)
		return
	}
	http.Redirect(w, r, "/dumps", http.StatusSeeOther)
}

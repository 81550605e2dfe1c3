package web

import (
	"context"
	"crypto/subtle"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/dumptriage/dumptriage/store"
)

// perm is the rule a route is checked against. Every route in Routes names
// one; a test walks the router and fails on a route without one.
type perm int

const (
	permPublic   perm = iota + 1 // anyone: login, healthz, static assets
	permSetup                    // anyone the first-run rules let in (the handler checks them)
	permShare                    // anyone holding a share link (the handler checks the link)
	permRead                     // any role; a token needs the read scope
	permUpload                   // member or admin; a token needs the upload scope
	permMember                   // member or admin changing things: share, reanalyze, delete own; a token needs upload and read
	permAdmin                    // admin; a token needs upload and read
	permAccount                  // any signed-in user's own account pages: a session, not a token
	permReporter                 // crash reporters: the handler checks an upload token (uploadTokenPrincipal)
)

func (p perm) String() string {
	return [...]string{"", "public", "setup", "share", "read", "upload", "member", "admin", "account", "reporter"}[p]
}

// allows says whether a principal (nil: anonymous) passes a rule.
func (p perm) allows(pr *store.Principal) bool {
	switch p {
	case permPublic, permSetup, permShare, permReporter:
		return true
	}
	if pr == nil {
		return false
	}
	writer := pr.Role == store.RoleAdmin || pr.Role == store.RoleMember
	switch p {
	case permRead:
		return pr.Scopes.Has(store.ScopeRead)
	case permUpload:
		return writer && pr.Scopes.Has(store.ScopeUpload)
	case permMember:
		return writer && pr.Scopes.Has(store.ScopeAll)
	case permAdmin:
		return pr.Role == store.RoleAdmin && pr.Scopes.Has(store.ScopeAll)
	case permAccount:
		return pr.TokenID == ""
	}
	return false
}

type principalKey struct{}

// principalFrom returns who sends the request, nil for anonymous.
func principalFrom(ctx context.Context) *store.Principal {
	p, _ := ctx.Value(principalKey{}).(*store.Principal)
	return p
}

// withPrincipal returns ctx carrying p: for endpoints that authenticate in
// their own way (a token in the query, as crash reporters send it).
func withPrincipal(ctx context.Context, p *store.Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom is principalFrom for handlers outside this package (crash
// reporter endpoints mounted by other packages).
func PrincipalFrom(ctx context.Context) *store.Principal { return principalFrom(ctx) }

const sessionCookie = "dt_session"

// bearer returns the request's API token: Authorization: Bearer T.
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// authenticate puts the request's principal in its context: a Bearer token
// first, else the session cookie. Wrong credentials are refused outright
// rather than treated as anonymous, so a client learns its token is bad.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p store.Principal
		var err error
		if raw := bearer(r); raw != "" {
			p, err = s.svc.AuthenticateToken(r.Context(), raw)
			if err != nil {
				s.deny(w, r, http.StatusUnauthorized, tokenError(err))
				return
			}
		} else if c, cerr := r.Cookie(sessionCookie); cerr == nil && c.Value != "" {
			p, err = s.svc.AuthenticateSession(r.Context(), c.Value, s.cfg.SessionIdle)
			if err != nil {
				if !errors.Is(err, store.ErrBadCredentials) {
					s.fail(w, r, err)
					return
				}
				// An ended session: forget the cookie and go on anonymous.
				http.SetCookie(w, s.cookie("", -1))
				next.ServeHTTP(w, r)
				return
			}
		} else {
			next.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r.WithContext(withPrincipal(r.Context(), &p)))
	})
}

func tokenError(err error) string {
	if errors.Is(err, store.ErrGone) {
		return "the token has expired"
	}
	return "the token is not valid (unknown or revoked)"
}

// require guards one route with its rule; it also checks CSRF for
// cookie-authenticated state changes.
func (s *Server) require(p perm, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		pr := principalFrom(r.Context())
		if !s.sameSite(r) {
			s.deny(w, r, http.StatusForbidden, "cross-site request refused")
			return
		}
		if pr != nil && pr.TokenID == "" && unsafeMethod(r.Method) && !s.csrfOK(r, pr) {
			s.deny(w, r, http.StatusForbidden, "missing or wrong CSRF token; reload the page")
			return
		}
		if p.allows(pr) {
			h(w, r)
			return
		}
		if pr == nil {
			if wantsJSON(r) || !(r.Method == http.MethodGet || r.Method == http.MethodHead) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="dumptriage"`)
				s.deny(w, r, http.StatusUnauthorized, "sign in or send Authorization: Bearer TOKEN")
				return
			}
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		msg := "your role (" + string(pr.Role) + ") may not do this"
		if pr.TokenID != "" {
			msg = "this token (scope " + pr.Scopes.String() + ", role " + string(pr.Role) + ") may not do this"
			if p == permAccount {
				msg = "account pages need a signed-in session, not a token"
			}
		}
		s.deny(w, r, http.StatusForbidden, msg)
	}
}

func unsafeMethod(m string) bool {
	return m != http.MethodGet && m != http.MethodHead && m != http.MethodOptions
}

// wantsJSON tells API calls, which get JSON errors, from pages.
func wantsJSON(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, "/api/") || strings.HasSuffix(r.URL.Path, ".json") ||
		strings.HasSuffix(r.URL.Path, "/status") || bearer(r) != ""
}

// deny answers a refused request: JSON for the API, a page otherwise.
func (s *Server) deny(w http.ResponseWriter, r *http.Request, code int, msg string) {
	s.logger(r).Info("request refused", "status", code, "why", msg)
	if wantsJSON(r) {
		writeJSON(w, code, errorBody{Error: msg, RequestID: requestIDFrom(r.Context())})
		return
	}
	s.renderError(w, r, code, msg)
}

// csrfOK checks the session's CSRF token: the X-CSRF-Token header (scripts),
// the csrf query parameter (multipart forms, whose body is a stream) or
// the csrf field of a url-encoded form.
func (s *Server) csrfOK(r *http.Request, p *store.Principal) bool {
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = r.URL.Query().Get("csrf")
	}
	if got == "" && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		r.Body = http.MaxBytesReader(nil, r.Body, 64<<10)
		got = r.PostFormValue("csrf")
	}
	return p.CSRF != "" && subtle.ConstantTimeCompare([]byte(got), []byte(p.CSRF)) == 1
}

// sameSite refuses state changes a browser marks as cross-site (Fetch
// metadata, else Origin). Requests with a bearer token carry no ambient
// credentials and pass.
func (s *Server) sameSite(r *http.Request) bool {
	if !unsafeMethod(r.Method) || bearer(r) != "" {
		return true
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "cross-site", "same-site":
		return false
	}
	o := r.Header.Get("Origin")
	if o == "" || o == "null" && r.Header.Get("Sec-Fetch-Site") == "" {
		return o == ""
	}
	u, err := url.Parse(o)
	if err != nil {
		return false
	}
	return strings.EqualFold(u.Host, r.Host) || s.public != nil && strings.EqualFold(u.Host, s.public.Host)
}

// checkHost refuses a Host that is not this server's, which is what DNS
// rebinding sends: the public URL's host, the listen address, localhost
// and IP literals pass (an IP cannot be rebound).
func (s *Server) checkHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.hostAllowed(r.Host) {
			s.logger(r).Info("foreign Host refused", "host", r.Host)
			http.Error(w, "421 misdirected request: this server does not answer for that host name; set --public-url",
				http.StatusMisdirectedRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) hostAllowed(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	if host == "" {
		return false
	}
	if net.ParseIP(host) != nil {
		return true
	}
	return s.hosts[host]
}

// securityHeaders go on every response. Scripts come only from /static:
// the templates carry no inline script or handler.
func (s *Server) securityHeaders(next http.Handler) http.Handler {
	csp := "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
		"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if s.secure {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

// cookie makes the session cookie; maxAge < 0 deletes it.
func (s *Server) cookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: sessionCookie, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: s.secure}
}

// isLoopback says whether the request comes from this machine.
func isLoopback(r *http.Request) bool {
	ip := net.ParseIP(clientIPFrom(r.Context()))
	return ip != nil && ip.IsLoopback()
}

// localPath returns next when it is a path on this server, else "/dumps":
// the login page must not redirect elsewhere.
func localPath(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.ContainsAny(next, "\\\r\n\t") {
		return "/dumps"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return "/dumps"
	}
	return next
}

// audit records an action by the request's principal; a failure to record
// is logged, not fatal.
func (s *Server) audit(r *http.Request, action, target, detail string) {
	e := store.AuditEntry{Action: action, Target: target, Detail: detail, IP: clientIPFrom(r.Context())}
	if p := principalFrom(r.Context()); p != nil {
		e.Actor = p.Name
	}
	if err := s.svc.Audit(context.WithoutCancel(r.Context()), e); err != nil {
		s.logger(r).Error("audit", "action", action, "err", err)
	}
}

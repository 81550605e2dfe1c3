package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/dumptriage/dumptriage/store"
)

// TokenAuthenticator resolves a raw API token.
type TokenAuthenticator interface {
	AuthenticateToken(ctx context.Context, raw string) (store.Principal, error)
}

// TokenAuthorizer checks requests by their API token, sent as
// "Authorization: Bearer TOKEN" (what sentry-cli sends) or "?token=".
// Uploads need a token with the upload scope; reads without a token pass
// (reading is open until the web layer has sessions), with one it must be
// valid and carry the read scope.
func TokenAuthorizer(tokens TokenAuthenticator) func(r *http.Request, scope string) (string, error) {
	return func(r *http.Request, scope string) (string, error) {
		raw := bearerToken(r)
		if raw == "" {
			if scope == ScopeRead {
				return "", nil
			}
			return "", errUnauthorized
		}
		p, err := tokens.AuthenticateToken(r.Context(), raw)
		if errors.Is(err, store.ErrBadCredentials) || errors.Is(err, store.ErrGone) || errors.Is(err, store.ErrNotFound) {
			return "", fmt.Errorf("%w: %v", errUnauthorized, err)
		}
		if err != nil {
			return "", err
		}
		want := store.ScopeRead
		switch scope {
		case ScopeUpload:
			want = store.ScopeUpload
		case ScopeAdmin:
			if p.Role != store.RoleAdmin {
				return "", fmt.Errorf("%w: only an admin may change settings", errForbidden)
			}
		}
		if !p.Scopes.Has(want) {
			return "", fmt.Errorf("%w: %s", errForbidden, scope)
		}
		return p.Name, nil
	}
}

func bearerToken(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		if scheme, tok, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(tok)
		}
		return ""
	}
	return r.URL.Query().Get("token")
}

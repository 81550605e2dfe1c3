package web

import (
	"context"
	"testing"
	"time"

	"github.com/dumptriage/dumptriage/store"
)

const testPassword = "test-password-1"

// cred is one way in: a bearer token, or a session cookie with its CSRF token.
type cred struct {
	name    string
	token   string
	session string
	csrf    string
}

// testCreds are the accounts tests act as, by key: admin, member, viewer
// (sessions: admin-session ...), and tokens with one scope
// (member-upload, member-read, viewer-read).
type testCreds map[string]cred

// seedUsers makes an admin, a member and a viewer, each with a session and
// a token of every scope.
func seedUsers(t testing.TB, st *store.Store) testCreds {
	t.Helper()
	ctx := context.Background()
	c := testCreds{}
	for _, role := range []store.Role{store.RoleAdmin, store.RoleMember, store.RoleViewer} {
		name := string(role)
		u, err := st.AddUser(ctx, name, role, testPassword)
		if err != nil {
			t.Fatal(err)
		}
		for _, sc := range []store.Scope{store.ScopeAll, store.ScopeUpload, store.ScopeRead} {
			raw, _, err := st.CreateToken(ctx, name, "test", sc, 0)
			if err != nil {
				t.Fatal(err)
			}
			key := name
			if sc != store.ScopeAll {
				key += "-" + sc.String()
			}
			c[key] = cred{name: name, token: raw}
		}
		raw, sess, err := st.CreateSession(ctx, u.ID, "127.0.0.1", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		c[name+"-session"] = cred{name: name, session: raw, csrf: sess.CSRF}
	}
	return c
}

// headers returns the request headers that authenticate as c.
func (c cred) headers() []string {
	switch {
	case c.token != "":
		return []string{"Authorization", "Bearer " + c.token}
	case c.session != "":
		return []string{"Cookie", sessionCookie + "=" + c.session, "X-CSRF-Token", c.csrf}
	}
	return nil
}

package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// clock lets a test move the index's time.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func openAuth(t *testing.T, open func(testing.TB, Config) *Store) (*Store, *SQLite, *clock) {
	t.Helper()
	st := open(t, Config{})
	db := st.Index.(*SQLite)
	c := &clock{t: time.Now()}
	db.now = c.now
	return st, db, c
}

func TestUsersAndPasswords(t *testing.T) {
	forBackends(t, func(t *testing.T, open func(testing.TB, Config) *Store) {
		_, db, _ := openAuth(t, open)
		ctx := context.Background()
		if _, err := db.AddUser(ctx, "alice", RoleAdmin, "correct horse"); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name, role, pw string
			want           error
		}{
			{"ALICE", "member", "another pass", ErrExists}, // names ignore case
			{"bob", "root", "another pass", ErrBadRequest},
			{"bob", "viewer", "short", ErrBadRequest},
			{"b o b", "viewer", "long enough", ErrBadRequest},
			{"", "viewer", "long enough", ErrBadRequest},
		} {
			if _, err := db.AddUser(ctx, tc.name, Role(tc.role), tc.pw); !errors.Is(err, tc.want) {
				t.Errorf("AddUser(%q, %q): %v, want %v", tc.name, tc.role, err, tc.want)
			}
		}
		if u, err := db.CheckPassword(ctx, "alice", "correct horse"); err != nil || u.Role != RoleAdmin {
			t.Fatalf("CheckPassword right: %v %v", u, err)
		}
		for _, c := range [][2]string{{"alice", "wrong horse"}, {"nobody", "correct horse"}, {"alice", ""}} {
			if _, err := db.CheckPassword(ctx, c[0], c[1]); !errors.Is(err, ErrBadCredentials) {
				t.Errorf("CheckPassword(%q, %q) = %v, want ErrBadCredentials", c[0], c[1], err)
			}
		}
		raw, _, err := db.CreateSession(ctx, 1, "", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.SetPassword(ctx, "alice", "battery staple"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.AuthenticateSession(ctx, raw, time.Hour); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("session after a password change: %v, want ErrBadCredentials", err)
		}
		if _, err := db.CheckPassword(ctx, "alice", "battery staple"); err != nil {
			t.Errorf("new password: %v", err)
		}
	})
}

func TestSessionExpiry(t *testing.T) {
	forBackends(t, func(t *testing.T, open func(testing.TB, Config) *Store) {
		_, db, c := openAuth(t, open)
		ctx := context.Background()
		u, _ := db.AddUser(ctx, "alice", RoleMember, "correct horse")
		raw, s, err := db.CreateSession(ctx, u.ID, "127.0.0.1", 8*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		p, err := db.AuthenticateSession(ctx, raw, time.Hour)
		if err != nil || p.Name != "alice" || p.CSRF != s.CSRF || p.Scopes != ScopeAll || p.Role != RoleMember {
			t.Fatalf("fresh session: %+v %v", p, err)
		}
		if _, err := db.AuthenticateSession(ctx, raw+"x", time.Hour); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("wrong secret: %v", err)
		}
		// Used every 50 minutes, it stays up to its absolute expiry.
		for i := 0; i < 9; i++ {
			c.t = c.t.Add(50 * time.Minute)
			_, err := db.AuthenticateSession(ctx, raw, time.Hour)
			if i < 9 && c.t.Before(s.ExpiresAt) && err != nil {
				t.Fatalf("after %d uses: %v", i+1, err)
			}
			if !c.t.Before(s.ExpiresAt) && !errors.Is(err, ErrBadCredentials) {
				t.Fatalf("past the absolute expiry: %v", err)
			}
		}
		raw2, _, _ := db.CreateSession(ctx, u.ID, "", 8*time.Hour)
		c.t = c.t.Add(61 * time.Minute)
		if _, err := db.AuthenticateSession(ctx, raw2, time.Hour); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("idle session: %v", err)
		}
		raw3, _, _ := db.CreateSession(ctx, u.ID, "", 8*time.Hour)
		db.DeleteSession(ctx, raw3)
		if _, err := db.AuthenticateSession(ctx, raw3, time.Hour); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("logged out session: %v", err)
		}
	})
}

func TestTokens(t *testing.T) {
	forBackends(t, func(t *testing.T, open func(testing.TB, Config) *Store) {
		_, db, c := openAuth(t, open)
		ctx := context.Background()
		db.AddUser(ctx, "ci", RoleMember, "correct horse")
		raw, tok, err := db.CreateToken(ctx, "ci", "crash reporter", ScopeUpload, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(raw, TokenPrefix) || len(raw) < len(TokenPrefix)+43 {
			t.Fatalf("token %q: want the prefix and 256 bits", raw)
		}
		p, err := db.AuthenticateToken(ctx, raw)
		if err != nil || p.Name != "ci" || p.Scopes != ScopeUpload || p.TokenID != tok.ID || p.CSRF != "" {
			t.Fatalf("AuthenticateToken: %+v %v", p, err)
		}
		ts, _ := db.ListTokens(ctx, "ci")
		if len(ts) != 1 || ts[0].LastUsedAt == nil || ts[0].Name != "crash reporter" {
			t.Fatalf("ListTokens: %+v", ts)
		}
		audit, _ := db.ListAudit(ctx, 0, 10)
		if len(audit) != 1 || audit[0].Action != AuditTokenUsed || audit[0].Target != tok.ID {
			t.Errorf("audit after first use: %+v", audit)
		}
		short, _, _ := db.CreateToken(ctx, "ci", "", ScopeRead, time.Hour)
		c.t = c.t.Add(2 * time.Hour)
		if _, err := db.AuthenticateToken(ctx, short); !errors.Is(err, ErrGone) {
			t.Errorf("expired token: %v, want ErrGone", err)
		}
		if _, err := db.RevokeToken(ctx, tok.ID, "someone-else"); !errors.Is(err, ErrNotFound) {
			t.Errorf("revoking another user's token: %v", err)
		}
		if _, err := db.RevokeToken(ctx, tok.ID, "ci"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.AuthenticateToken(ctx, raw); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("revoked token: %v", err)
		}
		for _, bad := range []string{"", "dtt_", "nope", raw[:len(raw)-1], strings.Repeat("x", 1<<16)} {
			if _, err := db.AuthenticateToken(ctx, bad); !errors.Is(err, ErrBadCredentials) {
				t.Errorf("AuthenticateToken(%.20q): %v", bad, err)
			}
		}
		if err := db.RemoveUser(ctx, "ci"); err != nil {
			t.Fatal(err)
		}
		if ts, _ := db.ListTokens(ctx, ""); len(ts) != 0 {
			t.Errorf("tokens of a removed user remain: %+v", ts)
		}
	})
}

func TestSharesAndDelete(t *testing.T) {
	forBackends(t, func(t *testing.T, open func(testing.TB, Config) *Store) {
		st, db, c := openAuth(t, open)
		ctx := context.Background()
		d := ingest(t, st, 1)
		raw, sh, err := db.CreateShare(ctx, d.ID, "alice", 72*time.Hour, false)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := db.CreateShare(ctx, "nosuchdump", "alice", 0, false); !errors.Is(err, ErrNotFound) {
			t.Errorf("share of a missing dump: %v", err)
		}
		got, err := db.OpenShare(ctx, raw)
		if err != nil || got.DumpID != d.ID || got.AllowDownload {
			t.Fatalf("OpenShare: %+v %v", got, err)
		}
		forever, _, _ := db.CreateShare(ctx, d.ID, "alice", 0, true)
		c.t = c.t.Add(73 * time.Hour)
		if _, err := db.OpenShare(ctx, raw); !errors.Is(err, ErrGone) {
			t.Errorf("expired share: %v, want ErrGone", err)
		}
		if _, err := db.OpenShare(ctx, forever); err != nil {
			t.Errorf("share without expiry: %v", err)
		}
		if err := db.RevokeShare(ctx, "otherdump", sh.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("revoking through another dump: %v", err)
		}
		shs, _ := db.ListShares(ctx, d.ID)
		if len(shs) != 2 {
			t.Fatalf("ListShares: %d", len(shs))
		}
		for _, s := range shs {
			if err := db.RevokeShare(ctx, d.ID, s.ID); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.OpenShare(ctx, forever); !errors.Is(err, ErrNotFound) {
			t.Errorf("revoked share: %v, want ErrNotFound", err)
		}
		again, _, _ := db.CreateShare(ctx, d.ID, "alice", 0, true)
		if _, err := st.DeleteDump(ctx, d.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Dump(ctx, d.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("deleted dump: %v", err)
		}
		if _, err := st.Blobs.Open(ctx, d.SHA256); !errors.Is(err, ErrNotFound) {
			t.Errorf("deleted dump's file: %v", err)
		}
		if _, err := db.OpenShare(ctx, again); !errors.Is(err, ErrNotFound) {
			t.Errorf("share of a deleted dump: %v", err)
		}
		if _, err := st.DeleteDump(ctx, d.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("deleting twice: %v", err)
		}
	})
}

func TestLoginThrottleAndUploads(t *testing.T) {
	forBackends(t, func(t *testing.T, open func(testing.TB, Config) *Store) {
		_, db, c := openAuth(t, open)
		ctx := context.Background()
		start := c.t
		for i := 0; i < 3; i++ {
			db.RecordLoginFailure(ctx, "user:alice", "ip:10.0.0.1")
			c.t = c.t.Add(time.Minute)
		}
		if n, _ := db.LoginFailures(ctx, "user:alice", start); n != 3 {
			t.Errorf("failures: %d", n)
		}
		if n, _ := db.LoginFailures(ctx, "user:alice", start.Add(90*time.Second)); n != 1 {
			t.Errorf("failures in the last window: %d", n)
		}
		db.ClearLoginFailures(ctx, "user:alice")
		if n, _ := db.LoginFailures(ctx, "ip:10.0.0.1", start); n != 3 {
			t.Errorf("clearing the user cleared the address: %d", n)
		}
		u, _ := db.AddUser(ctx, "alice", RoleMember, "correct horse")
		db.RecordUpload(ctx, u.ID, 100)
		db.RecordUpload(ctx, u.ID, 50)
		if n, b, _ := db.UploadUsage(ctx, u.ID, start); n != 2 || b != 150 {
			t.Errorf("usage: %d uploads, %d bytes", n, b)
		}
	})
}

package main

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dumptriage/dumptriage/store"
)

func TestUserAndTokenCommands(t *testing.T) {
	data := t.TempDir()
	run := func(stdin string, args ...string) (string, error) {
		var out, errOut bytes.Buffer
		var err error
		switch args[0] {
		case "user":
			err = runUser(args[1:], strings.NewReader(stdin), &out, &errOut)
		case "token":
			err = runToken(args[1:], &out, &errOut)
		}
		return out.String(), err
	}
	// Flags after the name, password from the first line of stdin only.
	if _, err := run("first-password\nsecond line\n", "user", "add", "alice", "--role", "admin", "--data", data); err != nil {
		t.Fatal(err)
	}
	if _, err := run("first-password\n", "user", "add", "alice", "--role", "admin", "--data", data); !errors.Is(err, store.ErrExists) {
		t.Errorf("adding alice twice: %v", err)
	}
	for _, args := range [][]string{
		{"user", "add", "bob", "--role", "root", "--data", data},
		{"user", "add", "--data", data},
		{"token", "create", "--user", "alice", "--scope", "write", "--data", data},
		{"token", "create", "--user", "nobody", "--scope", "read", "--data", data},
		{"token", "create", "--scope", "read", "--data", data},
	} {
		if _, err := run("long-enough-pw\n", args...); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
	out, err := run("", "token", "create", "--user", "alice", "--scope", "upload,read", "--name", "ci", "--expires", "90d", "--data", data)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	raw := lines[len(lines)-1]
	if !strings.HasPrefix(raw, store.TokenPrefix) || strings.Contains(raw, " ") {
		t.Fatalf("last line %q is not the token alone", raw)
	}
	db, err := store.OpenSQLite(context.Background(), filepath.Join(data, "index.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p, err := db.AuthenticateToken(context.Background(), raw)
	if err != nil || p.Name != "alice" || p.Scopes != store.ScopeAll {
		t.Fatalf("the printed token: %+v %v", p, err)
	}
	if _, err := db.CheckPassword(context.Background(), "alice", "first-password"); err != nil {
		t.Errorf("password from stdin: %v", err)
	}
	if out, _ := run("", "user", "list", "--data", data); !strings.Contains(out, "alice") || !strings.Contains(out, "admin") {
		t.Errorf("user list: %q", out)
	}
	if out, _ := run("", "token", "list", "--data", data); !strings.Contains(out, p.TokenID) || !strings.Contains(out, "active") {
		t.Errorf("token list: %q", out)
	}
	if _, err := run("", "token", "revoke", p.TokenID, "--data", data); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AuthenticateToken(context.Background(), raw); !errors.Is(err, store.ErrBadCredentials) {
		t.Errorf("revoked token: %v", err)
	}
	if _, err := run("new-password-1\n", "user", "passwd", "alice", "--data", data); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CheckPassword(context.Background(), "alice", "new-password-1"); err != nil {
		t.Errorf("new password: %v", err)
	}
	if _, err := run("", "user", "role", "alice", "--role", "viewer", "--data", data); err != nil {
		t.Fatal(err)
	}
	if _, err := run("", "user", "remove", "alice", "--data", data); err != nil {
		t.Fatal(err)
	}
	if n, _ := db.UserCount(context.Background()); n != 0 {
		t.Errorf("%d users after remove", n)
	}
	log, _ := db.ListAudit(context.Background(), 0, 100)
	actions := map[string]bool{}
	for _, a := range log {
		actions[a.Action] = true
	}
	for _, a := range []string{store.AuditUserAdd, store.AuditTokenCreate, store.AuditTokenRevoke, store.AuditPassword,
		store.AuditRoleChange, store.AuditUserRemove} {
		if !actions[a] {
			t.Errorf("no %s in the audit log", a)
		}
	}
}

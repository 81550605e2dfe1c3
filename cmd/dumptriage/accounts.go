package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dumptriage/dumptriage/store"
)

// The user and token commands open only the index, with its own writer
// connection: SQLite in WAL mode with a busy timeout lets them run while
// `serve` uses the same data folder.

// parseInterleaved parses flags that may come after positional arguments
// ("user add NAME --role admin") and returns the positionals.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// openIndex opens the index of the data folder, or the PostgreSQL database
// that --db or $DUMPTRIAGE_DB names.
func openIndex(ctx context.Context, data, db string) (*store.SQLite, error) {
	return store.OpenIndex(ctx, data, db)
}

// indexFlags are the flags that name the index the user, token and webhook
// commands act on: the data folder's SQLite, or PostgreSQL.
func indexFlags(fs *flag.FlagSet) (data, dbURL *string) {
	data = fs.String("data", envOr("DUMPTRIAGE_DATA", "./data"), "data folder ($DUMPTRIAGE_DATA)")
	dbURL = fs.String("db", os.Getenv("DUMPTRIAGE_DB"), "PostgreSQL URL instead of the data folder's SQLite ($DUMPTRIAGE_DB)")
	return data, dbURL
}

// readPassword takes the first line of stdin.
func readPassword(in io.Reader, prompt io.Writer) (string, error) {
	if f, ok := in.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			fmt.Fprint(prompt, "password: ")
		}
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", fmt.Errorf("reading the password from the first line of stdin: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

const userUsage = `usage:
  dumptriage user add NAME --role admin|member|viewer [--data DIR]   (password: first line of stdin)
  dumptriage user list [--data DIR]
  dumptriage user remove NAME [--data DIR]
  dumptriage user passwd NAME [--data DIR]                            (password: first line of stdin)
  dumptriage user role NAME --role admin|member|viewer [--data DIR]
`

func runUser(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%s", userUsage)
	}
	fs := flag.NewFlagSet("user "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	data, dbURL := indexFlags(fs)
	roleFlag := fs.String("role", "", "admin, member or viewer")
	pos, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return err
	}
	need := map[string]int{"add": 1, "list": 0, "remove": 1, "passwd": 1, "role": 1}
	n, ok := need[args[0]]
	if !ok || len(pos) != n {
		return fmt.Errorf("%s", userUsage)
	}
	ctx := context.Background()
	db, err := openIndex(ctx, *data, *dbURL)
	if err != nil {
		return err
	}
	defer db.Close()
	audit := func(action, target, detail string) {
		db.Audit(ctx, store.AuditEntry{Actor: "cli", Action: action, Target: target, Detail: detail})
	}
	switch args[0] {
	case "add":
		role, err := store.ParseRole(*roleFlag)
		if err != nil {
			return err
		}
		pw, err := readPassword(stdin, stderr)
		if err != nil {
			return err
		}
		u, err := db.AddUser(ctx, pos[0], role, pw)
		if err != nil {
			return err
		}
		audit(store.AuditUserAdd, u.Name, "role "+string(role))
		fmt.Fprintf(stdout, "added %s (%s)\n", u.Name, u.Role)
	case "list":
		us, err := db.ListUsers(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tROLE\tCREATED")
		for _, u := range us {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", u.Name, u.Role, u.CreatedAt.Format(time.RFC3339))
		}
		tw.Flush()
	case "remove":
		if err := db.RemoveUser(ctx, pos[0]); err != nil {
			return err
		}
		audit(store.AuditUserRemove, pos[0], "")
		fmt.Fprintf(stdout, "removed %s\n", pos[0])
	case "passwd":
		pw, err := readPassword(stdin, stderr)
		if err != nil {
			return err
		}
		if err := db.SetPassword(ctx, pos[0], pw); err != nil {
			return err
		}
		audit(store.AuditPassword, pos[0], "")
		fmt.Fprintf(stdout, "password of %s changed; its sessions ended\n", pos[0])
	case "role":
		role, err := store.ParseRole(*roleFlag)
		if err != nil {
			return err
		}
		if err := db.SetRole(ctx, pos[0], role); err != nil {
			return err
		}
		audit(store.AuditRoleChange, pos[0], "role "+string(role))
		fmt.Fprintf(stdout, "%s is now %s\n", pos[0], role)
	}
	return nil
}

const tokenUsage = `usage:
  dumptriage token create --user NAME --scope upload|read|upload,read [--name LABEL] [--expires 90d] [--data DIR]
  dumptriage token list [--user NAME] [--data DIR]
  dumptriage token revoke ID [--data DIR]
`

func runToken(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%s", tokenUsage)
	}
	fs := flag.NewFlagSet("token "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	data, dbURL := indexFlags(fs)
	user := fs.String("user", "", "the token's user")
	scope := fs.String("scope", "", "upload, read or upload,read")
	name := fs.String("name", "", "a label for the token")
	var expires time.Duration
	fs.Var(ageValue{&expires}, "expires", "lifetime, e.g. 90d or 720h; 0 never expires")
	pos, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return err
	}
	need := map[string]int{"create": 0, "list": 0, "revoke": 1}
	n, ok := need[args[0]]
	if !ok || len(pos) != n || args[0] == "create" && (*user == "" || *scope == "") {
		return fmt.Errorf("%s", tokenUsage)
	}
	ctx := context.Background()
	db, err := openIndex(ctx, *data, *dbURL)
	if err != nil {
		return err
	}
	defer db.Close()
	switch args[0] {
	case "create":
		sc, err := store.ParseScopes(*scope)
		if err != nil {
			return err
		}
		raw, t, err := db.CreateToken(ctx, *user, *name, sc, expires)
		if err != nil {
			return err
		}
		db.Audit(ctx, store.AuditEntry{Actor: "cli", Action: store.AuditTokenCreate, Target: t.ID,
			Detail: "for " + t.UserName + ", scope " + sc.String()})
		exp := "never expires"
		if t.ExpiresAt != nil {
			exp = "expires " + t.ExpiresAt.Format(time.RFC3339)
		}
		fmt.Fprintf(stdout, "token %s for %s, scope %s, %s; it is shown only now:\n%s\n", t.ID, t.UserName, sc, exp, raw)
	case "list":
		ts, err := db.ListTokens(ctx, *user)
		if err != nil {
			return err
		}
		now := time.Now()
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tUSER\tNAME\tSCOPE\tCREATED\tEXPIRES\tLAST USED\tSTATE")
		for _, t := range ts {
			state := "active"
			switch {
			case t.RevokedAt != nil:
				state = "revoked"
			case !t.Active(now):
				state = "expired"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.UserName, t.Name, t.Scopes,
				t.CreatedAt.Format(time.RFC3339), fmtTime(t.ExpiresAt, "never"), fmtTime(t.LastUsedAt, "never"), state)
		}
		tw.Flush()
	case "revoke":
		t, err := db.RevokeToken(ctx, pos[0], "")
		if err != nil {
			return err
		}
		db.Audit(ctx, store.AuditEntry{Actor: "cli", Action: store.AuditTokenRevoke, Target: t.ID})
		fmt.Fprintf(stdout, "revoked %s\n", pos[0])
	}
	return nil
}

func fmtTime(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return t.Format(time.RFC3339)
}

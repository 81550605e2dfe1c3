package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits of a group's workflow fields.
const (
	MaxGroupNote    = 4000
	MaxGroupVersion = 200
	MaxGroupBugURL  = 2000
)

// GroupChange is a change to a crash group's workflow; nil fields stay as
// they are.
type GroupChange struct {
	Signature string
	State     *GroupState
	FixedIn   *string // kept only while the state is fixed
	BugURL    *string
	Assignee  *string // an existing user's name, or "" for none
	Note      *string
	By        string
}

// GroupEvent is one changed field of a crash group: who, when, from what to
// what. Field "regression" is a crash past the fixed version (Old: the
// version it was fixed in, New: the one that crashed).
type GroupEvent struct {
	ID    int64
	At    time.Time
	By    string
	Field string
	Old   string
	New   string
}

// GroupEventPage is a page of a group's history, newest first.
type GroupEventPage struct {
	Events []GroupEvent
	Total  int
	More   bool
}

func (c GroupChange) apply(g GroupStatus) (GroupStatus, error) {
	if c.State != nil {
		st, err := ParseGroupState(string(*c.State))
		if err != nil {
			return g, err
		}
		if st != g.State && (st == GroupFixed || st == GroupIgnored) {
			g.RegressedFrom, g.RegressedIn, g.RegressedAt = "", "", time.Time{}
		}
		g.State = st
	}
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = strings.TrimSpace(*src)
		}
	}
	set(&g.FixedIn, c.FixedIn)
	set(&g.BugURL, c.BugURL)
	set(&g.Assignee, c.Assignee)
	if c.Note != nil {
		g.Note = strings.TrimSpace(strings.ReplaceAll(*c.Note, "\r\n", "\n"))
	}
	if g.State == GroupFixed && g.FixedIn == "" {
		return g, fmt.Errorf("%w: fixed needs the version that has the fix", ErrBadRequest)
	}
	if g.State != GroupFixed {
		g.FixedIn = ""
	}
	if g.BugURL != "" {
		if u, err := url.Parse(g.BugURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			len(g.BugURL) > MaxGroupBugURL {
			return g, fmt.Errorf("%w: bug link %q is not an http(s) URL", ErrBadRequest, clip(g.BugURL, 100))
		}
	}
	switch {
	case g.Signature == "":
		return g, fmt.Errorf("%w: no signature given", ErrBadRequest)
	case len(g.FixedIn) > MaxGroupVersion:
		return g, fmt.Errorf("%w: a version of at most %d bytes", ErrBadRequest, MaxGroupVersion)
	case len(g.Note) > MaxGroupNote:
		return g, fmt.Errorf("%w: a note of at most %d bytes", ErrBadRequest, MaxGroupNote)
	case !utf8.ValidString(g.Note) || !utf8.ValidString(g.FixedIn) || !utf8.ValidString(g.Assignee):
		return g, fmt.Errorf("%w: text must be UTF-8", ErrBadRequest)
	}
	return g, nil
}

// changes lists the fields that differ between two states, in a fixed order.
func changes(old, new GroupStatus) []GroupEvent {
	var out []GroupEvent
	add := func(field, a, b string) {
		if a != b {
			out = append(out, GroupEvent{Field: field, Old: a, New: b})
		}
	}
	add("status", string(old.State), string(new.State))
	add("fixed_in", old.FixedIn, new.FixedIn)
	add("assignee", old.Assignee, new.Assignee)
	add("bug_url", old.BugURL, new.BugURL)
	add("note", old.Note, new.Note)
	return out
}

// UpdateGroup changes a crash group's workflow fields, checks them (an
// assignee must be a user; fixed needs a version; the bug link is http(s)),
// and logs every changed field in group_events, in one transaction. A
// change that changes nothing writes nothing.
func (s *SQLite) UpdateGroup(ctx context.Context, c GroupChange) (g GroupStatus, err error) {
	defer wrap(&err, "UpdateGroup(%q)", c.Signature)
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.lockGroup(ctx, tx, c.Signature); err != nil {
			return err
		}
		old, err := s.groupStatus(ctx, tx, c.Signature)
		if err != nil {
			return err
		}
		if g, err = c.apply(old); err != nil {
			return err
		}
		if g.Assignee != "" && g.Assignee != old.Assignee {
			// The user's own spelling: names are unique without case.
			if err := tx.QueryRowContext(ctx, `SELECT name FROM users WHERE name = ?`, g.Assignee).Scan(&g.Assignee); err != nil {
				if errors.Is(err, sql.ErrNoRows) {
					return fmt.Errorf("%w: no user %q to assign", ErrBadRequest, clip(g.Assignee, 100))
				}
				return err
			}
		}
		evs := changes(old, g)
		if len(evs) == 0 {
			g = old
			return nil
		}
		now := s.now().UTC().Truncate(time.Millisecond)
		g.UpdatedAt, g.UpdatedBy = now, c.By
		var regAt int64
		if !g.RegressedAt.IsZero() {
			regAt = ms(g.RegressedAt)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO group_status (signature, status, fixed_in, bug_url, assignee, note,
			regressed_from, regressed_in, regressed_at, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (signature) DO UPDATE SET status = excluded.status, fixed_in = excluded.fixed_in,
			bug_url = excluded.bug_url, assignee = excluded.assignee, note = excluded.note,
			regressed_from = excluded.regressed_from, regressed_in = excluded.regressed_in,
			regressed_at = excluded.regressed_at, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
			g.Signature, string(g.State), g.FixedIn, g.BugURL, g.Assignee, g.Note, g.RegressedFrom, g.RegressedIn, regAt,
			ms(now), g.UpdatedBy); err != nil {
			return err
		}
		return addGroupEvents(ctx, tx, g.Signature, ms(now), c.By, evs)
	})
	return g, err
}

// groupLockClass is the first key of the groups' advisory locks, which
// keeps them apart from any other advisory lock on the database.
const groupLockClass = 0x67727570 // "grup"

// lockGroup makes the transactions that change one group's workflow take
// turns until they end. SQLite's single writer already does; on PostgreSQL
// two changes read at once would each log a change from the same old value.
// The lock is on the signature, not a row: a group's row may not exist yet.
func (s *SQLite) lockGroup(ctx context.Context, tx *sql.Tx, sig string) error {
	if !s.pg {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?, hashtext(?))`, groupLockClass, sig)
	return err
}

func addGroupEvents(ctx context.Context, tx *sql.Tx, sig string, at int64, by string, evs []GroupEvent) error {
	for _, e := range evs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO group_events (signature, at, actor, field, old_value, new_value)
			VALUES (?, ?, ?, ?, ?, ?)`, sig, at, by, e.Field, e.Old, e.New); err != nil {
			return err
		}
	}
	return nil
}

// GroupEvents lists a crash group's changes, newest first: limit (1 to
// 500, default 50) from offset.
func (s *SQLite) GroupEvents(ctx context.Context, sig string, limit, offset int) (p GroupEventPage, err error) {
	defer wrap(&err, "GroupEvents(%q)", sig)
	if limit <= 0 {
		limit = 50
	}
	limit, offset = min(limit, 500), max(offset, 0)
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM group_events WHERE signature = ?`, sig).Scan(&p.Total); err != nil {
		return p, err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT id, at, actor, field, old_value, new_value FROM group_events
		WHERE signature = ? ORDER BY id DESC LIMIT ? OFFSET ?`, sig, limit, offset)
	if err != nil {
		return p, err
	}
	defer rows.Close()
	for rows.Next() {
		var e GroupEvent
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.By, &e.Field, &e.Old, &e.New); err != nil {
			return p, err
		}
		e.At = fromMS(at)
		p.Events = append(p.Events, e)
	}
	p.More = offset+len(p.Events) < p.Total
	return p, rows.Err()
}

// GroupEnds returns a crash group's newest and oldest dumps by crash time:
// none for an unknown signature, one when the group has one dump.
func (s *SQLite) GroupEnds(ctx context.Context, sig string) (_ []Dump, err error) {
	defer wrap(&err, "GroupEnds(%q)", sig)
	var out []Dump
	for _, order := range []string{"DESC", "ASC"} {
		ds, err := s.queryDumps(ctx, `SELECT `+dumpCols+` FROM crashes c JOIN dumps d ON d.id = c.dump_id
			JOIN analyses a ON a.dump_id = c.dump_id WHERE c.signature = ? ORDER BY c.at `+order+`, c.dump_id `+order+` LIMIT 1`, sig)
		if err != nil {
			return nil, err
		}
		if len(ds) == 1 && (len(out) == 0 || out[0].ID != ds[0].ID) {
			out = append(out, ds[0])
		}
	}
	return out, nil
}

// VersionsAtOrPast lists the versions, among a group's affected ones, at or
// past the one it was fixed in: crashes a fix should have ended.
func VersionsAtOrPast(versions []Group, fixedIn string) []Group {
	if fixedIn == "" {
		return nil
	}
	var out []Group
	for _, v := range versions {
		if v.Key != "" && CompareVersions(v.Key, fixedIn) >= 0 {
			out = append(out, v)
		}
	}
	return out
}

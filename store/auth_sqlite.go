package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The SQLite implementation of Auth. Secrets (session cookies, tokens,
// share links) are kept as their sha256 only.

var _ Auth = (*SQLite)(nil)

// Uses of a token or session are written at most this often: every
// authenticated request would otherwise be a write.
const touchEvery = time.Minute

// tokenUseAuditEvery spaces the audit log's token.used entries per token.
const tokenUseAuditEvery = time.Hour

func nullMS(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMS(v.Int64)
	return &t
}

func expiry(now time.Time, ttl time.Duration) any {
	if ttl <= 0 {
		return nil
	}
	return ms(now.Add(ttl))
}

// UserCount implements Users.
func (s *SQLite) UserCount(ctx context.Context) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n)
	return n, err
}

// AddUser implements Users.
func (s *SQLite) AddUser(ctx context.Context, name string, role Role, password string) (u User, err error) {
	defer wrap(&err, "add user %q", name)
	if err := CheckUserName(name); err != nil {
		return u, err
	}
	if _, err := ParseRole(string(role)); err != nil {
		return u, err
	}
	if err := CheckPasswordRules(password); err != nil {
		return u, err
	}
	hash := hashPassword(password)
	now := s.now()
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE name = ?`, name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return ErrExists
		}
		return tx.QueryRowContext(ctx, `INSERT INTO users (name, role, password_hash, created_at) VALUES (?, ?, ?, ?)
			RETURNING id`, name, string(role), hash, ms(now)).Scan(&u.ID)
	})
	u.Name, u.Role, u.CreatedAt = name, role, fromMS(ms(now))
	return u, err
}

func scanUser(sc scanner) (User, error) {
	var u User
	var role string
	var at int64
	err := sc.Scan(&u.ID, &u.Name, &role, &at)
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	u.Role, u.CreatedAt = Role(role), fromMS(at)
	return u, err
}

// User implements Users.
func (s *SQLite) User(ctx context.Context, name string) (User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT id, name, role, created_at FROM users WHERE name = ?`, name))
	if err != nil {
		return u, fmt.Errorf("user %q: %w", name, err)
	}
	return u, nil
}

// ListUsers implements Users.
func (s *SQLite) ListUsers(ctx context.Context) ([]User, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, name, role, created_at FROM users ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var us []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		us = append(us, u)
	}
	return us, rows.Err()
}

// execOne runs a write that must touch exactly one row, else ErrNotFound.
func (s *SQLite) execOne(ctx context.Context, q string, args ...any) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
}

// RemoveUser implements Users.
func (s *SQLite) RemoveUser(ctx context.Context, name string) error {
	if err := s.execOne(ctx, `DELETE FROM users WHERE name = ?`, name); err != nil {
		return fmt.Errorf("remove user %q: %w", name, err)
	}
	return nil
}

// SetPassword implements Users.
func (s *SQLite) SetPassword(ctx context.Context, name, password string) (err error) {
	defer wrap(&err, "set password of %q", name)
	if err := CheckPasswordRules(password); err != nil {
		return err
	}
	hash := hashPassword(password)
	return s.tx(ctx, func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, `UPDATE users SET password_hash = ? WHERE name = ? RETURNING id`, hash, name).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, id)
		return err
	})
}

// SetRole implements Users.
func (s *SQLite) SetRole(ctx context.Context, name string, role Role) error {
	if _, err := ParseRole(string(role)); err != nil {
		return err
	}
	if err := s.execOne(ctx, `UPDATE users SET role = ? WHERE name = ?`, string(role), name); err != nil {
		return fmt.Errorf("set role of %q: %w", name, err)
	}
	return nil
}

// CheckPassword implements Users.
func (s *SQLite) CheckPassword(ctx context.Context, name, password string) (User, error) {
	var u User
	var role, hash string
	var at int64
	err := s.r.QueryRowContext(ctx, `SELECT id, name, role, created_at, password_hash FROM users WHERE name = ?`, name).
		Scan(&u.ID, &u.Name, &role, &at, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		verifyPassword(password, dummyHash)
		return User{}, ErrBadCredentials
	}
	if err != nil {
		return User{}, err
	}
	ok, err := verifyPassword(password, hash)
	if err != nil {
		return User{}, fmt.Errorf("user %q: %w", name, err)
	}
	if !ok {
		return User{}, ErrBadCredentials
	}
	u.Role, u.CreatedAt = Role(role), fromMS(at)
	return u, nil
}

func randomToken() string {
	var b [18]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// CreateSession implements Sessions.
func (s *SQLite) CreateSession(ctx context.Context, userID int64, ip string, ttl time.Duration) (string, Session, error) {
	raw := newSecret("")
	now := s.now()
	sess := Session{UserID: userID, CSRF: randomToken(), CreatedAt: now, ExpiresAt: now.Add(ttl)}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		// Ended sessions are swept here rather than by a timer.
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at < ?`, ms(now)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (hash, user_id, csrf, created_at, seen_at, expires_at, ip)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, secretHash(raw), userID, sess.CSRF, ms(now), ms(now), ms(sess.ExpiresAt), ip)
		return err
	})
	if err != nil {
		return "", sess, fmt.Errorf("create session: %w", err)
	}
	return raw, sess, nil
}

// AuthenticateSession implements Sessions.
func (s *SQLite) AuthenticateSession(ctx context.Context, raw string, idle time.Duration) (Principal, error) {
	var p Principal
	var role string
	var seen, exp int64
	h := secretHash(raw)
	err := s.r.QueryRowContext(ctx, `SELECT u.id, u.name, u.role, s.csrf, s.seen_at, s.expires_at
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.hash = ?`, h).
		Scan(&p.UserID, &p.Name, &role, &p.CSRF, &seen, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return p, ErrBadCredentials
	}
	if err != nil {
		return p, err
	}
	now := s.now()
	if ms(now) >= exp || (idle > 0 && now.Sub(fromMS(seen)) > idle) {
		return Principal{}, ErrBadCredentials
	}
	if now.Sub(fromMS(seen)) > touchEvery {
		err := s.tx(ctx, func(tx *sql.Tx) error {
			_, err := s.exec(ctx, tx, `UPDATE sessions SET seen_at = ? WHERE hash = ?`, ms(now), h)
			return err
		})
		if err != nil {
			return Principal{}, err
		}
	}
	p.Role, p.Scopes = Role(role), ScopeAll
	return p, nil
}

// DeleteSession implements Sessions.
func (s *SQLite) DeleteSession(ctx context.Context, raw string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE hash = ?`, secretHash(raw))
		return err
	})
}

// CreateToken implements Tokens.
func (s *SQLite) CreateToken(ctx context.Context, user, name string, scopes Scope, ttl time.Duration) (raw string, t Token, err error) {
	defer wrap(&err, "create token for %q", user)
	if scopes == 0 || scopes&^ScopeAll != 0 {
		return "", t, fmt.Errorf("%w: no valid scope", ErrBadRequest)
	}
	if len(name) > 100 {
		return "", t, fmt.Errorf("%w: a token name has at most 100 bytes", ErrBadRequest)
	}
	u, err := s.User(ctx, user)
	if err != nil {
		return "", t, err
	}
	raw = newSecret(TokenPrefix)
	now := s.now()
	t = Token{ID: newUID(), UserName: u.Name, Name: name, Scopes: scopes, CreatedAt: fromMS(ms(now))}
	if ttl > 0 {
		e := fromMS(ms(now.Add(ttl)))
		t.ExpiresAt = &e
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO tokens (uid, hash, user_id, name, scopes, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, t.ID, secretHash(raw), u.ID, name, scopes.String(), ms(now), expiry(now, ttl))
		return err
	})
	return raw, t, err
}

// AuthenticateToken implements Tokens.
func (s *SQLite) AuthenticateToken(ctx context.Context, raw string) (Principal, error) {
	var p Principal
	var role, scopes string
	var exp, used, revoked sql.NullInt64
	if !strings.HasPrefix(raw, TokenPrefix) || len(raw) > 100 {
		return p, ErrBadCredentials
	}
	h := secretHash(raw)
	err := s.r.QueryRowContext(ctx, `SELECT u.id, u.name, u.role, t.uid, t.scopes, t.expires_at, t.last_used_at, t.revoked_at
		FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = ?`, h).
		Scan(&p.UserID, &p.Name, &role, &p.TokenID, &scopes, &exp, &used, &revoked)
	if errors.Is(err, sql.ErrNoRows) || err == nil && revoked.Valid {
		return Principal{}, ErrBadCredentials
	}
	if err != nil {
		return Principal{}, err
	}
	now := s.now()
	if exp.Valid && ms(now) >= exp.Int64 {
		return Principal{}, ErrGone
	}
	p.Role = Role(role)
	if p.Scopes, err = ParseScopes(scopes); err != nil {
		return Principal{}, err
	}
	if !used.Valid || now.Sub(fromMS(used.Int64)) > touchEvery {
		audit := !used.Valid || now.Sub(fromMS(used.Int64)) > tokenUseAuditEvery
		err := s.tx(ctx, func(tx *sql.Tx) error {
			if _, err := s.exec(ctx, tx, `UPDATE tokens SET last_used_at = ? WHERE hash = ?`, ms(now), h); err != nil {
				return err
			}
			if audit {
				return s.audit(ctx, tx, AuditEntry{At: now, Actor: p.Name, Action: AuditTokenUsed, Target: p.TokenID})
			}
			return nil
		})
		if err != nil {
			return Principal{}, err
		}
	}
	return p, nil
}

// ListTokens implements Tokens.
func (s *SQLite) ListTokens(ctx context.Context, user string) ([]Token, error) {
	q := `SELECT t.uid, u.name, t.name, t.scopes, t.created_at, t.expires_at, t.last_used_at, t.revoked_at
		FROM tokens t JOIN users u ON u.id = t.user_id`
	var args []any
	if user != "" {
		q += ` WHERE u.name = ?`
		args = append(args, user)
	}
	rows, err := s.r.QueryContext(ctx, q+` ORDER BY t.id DESC`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ts []Token
	for rows.Next() {
		var t Token
		var scopes string
		var at int64
		var exp, used, rev sql.NullInt64
		if err := rows.Scan(&t.ID, &t.UserName, &t.Name, &scopes, &at, &exp, &used, &rev); err != nil {
			return nil, err
		}
		t.Scopes, _ = ParseScopes(scopes)
		t.CreatedAt, t.ExpiresAt, t.LastUsedAt, t.RevokedAt = fromMS(at), nullMS(exp), nullMS(used), nullMS(rev)
		ts = append(ts, t)
	}
	return ts, rows.Err()
}

// RevokeToken implements Tokens.
func (s *SQLite) RevokeToken(ctx context.Context, id, user string) (Token, error) {
	q := `UPDATE tokens SET revoked_at = coalesce(revoked_at, ?) WHERE uid = ?`
	args := []any{ms(s.now()), id}
	if user != "" {
		q += ` AND user_id = (SELECT id FROM users WHERE name = ?)`
		args = append(args, user)
	}
	if err := s.execOne(ctx, q, args...); err != nil {
		return Token{}, fmt.Errorf("revoke token %q: %w", id, err)
	}
	ts, err := s.ListTokens(ctx, user)
	for _, t := range ts {
		if t.ID == id {
			return t, err
		}
	}
	return Token{ID: id}, err
}

// CreateShare implements Shares.
func (s *SQLite) CreateShare(ctx context.Context, dumpID, by string, ttl time.Duration, allowDownload bool) (raw string, sh Share, err error) {
	defer wrap(&err, "share dump %q", dumpID)
	raw = newSecret(SharePrefix)
	now := s.now()
	sh = Share{ID: newUID(), DumpID: dumpID, CreatedBy: by, CreatedAt: fromMS(ms(now)), AllowDownload: allowDownload}
	if ttl > 0 {
		e := fromMS(ms(now.Add(ttl)))
		sh.ExpiresAt = &e
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO shares (uid, hash, dump_id, created_by, created_at, expires_at, allow_download)
			SELECT ?, ?, id, ?, ?, ?, ? FROM dumps WHERE uid = ?`,
			sh.ID, secretHash(raw), by, ms(now), expiry(now, ttl), allowDownload, dumpID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
	return raw, sh, err
}

const shareCols = `s.uid, d.uid, s.created_by, s.created_at, s.expires_at, s.allow_download, s.revoked_at
	FROM shares s JOIN dumps d ON d.id = s.dump_id`

func scanShare(sc scanner) (Share, error) {
	var sh Share
	var at int64
	var exp, rev sql.NullInt64
	err := sc.Scan(&sh.ID, &sh.DumpID, &sh.CreatedBy, &at, &exp, &sh.AllowDownload, &rev)
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	sh.CreatedAt, sh.ExpiresAt, sh.RevokedAt = fromMS(at), nullMS(exp), nullMS(rev)
	return sh, err
}

// ListShares implements Shares.
func (s *SQLite) ListShares(ctx context.Context, dumpID string) ([]Share, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+shareCols+` WHERE d.uid = ? ORDER BY s.id DESC`, dumpID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	shs := []Share{}
	for rows.Next() {
		sh, err := scanShare(rows)
		if err != nil {
			return nil, err
		}
		shs = append(shs, sh)
	}
	return shs, rows.Err()
}

// RevokeShare implements Shares.
func (s *SQLite) RevokeShare(ctx context.Context, dumpID, shareID string) error {
	err := s.execOne(ctx, `UPDATE shares SET revoked_at = coalesce(revoked_at, ?)
		WHERE uid = ? AND dump_id = (SELECT id FROM dumps WHERE uid = ?)`, ms(s.now()), shareID, dumpID)
	if err != nil {
		return fmt.Errorf("revoke share %q: %w", shareID, err)
	}
	return nil
}

// OpenShare implements Shares.
func (s *SQLite) OpenShare(ctx context.Context, raw string) (Share, error) {
	if !strings.HasPrefix(raw, SharePrefix) || len(raw) > 100 {
		return Share{}, ErrNotFound
	}
	sh, err := scanShare(s.r.QueryRowContext(ctx, `SELECT `+shareCols+` WHERE s.hash = ?`, secretHash(raw)))
	if err != nil {
		return Share{}, fmt.Errorf("share: %w", err)
	}
	if sh.RevokedAt != nil {
		return Share{}, fmt.Errorf("share %s revoked: %w", sh.ID, ErrNotFound)
	}
	if !sh.Active(s.now()) {
		return Share{}, fmt.Errorf("share %s: %w", sh.ID, ErrGone)
	}
	return sh, nil
}

// LoginFailures implements LoginThrottle.
func (s *SQLite) LoginFailures(ctx context.Context, key string, since time.Time) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM login_failures WHERE key = ? AND at >= ?`, key, ms(since)).Scan(&n)
	return n, err
}

// loginFailureKeep is how long failures are kept: longer than any window.
const loginFailureKeep = 24 * time.Hour

// RecordLoginFailure implements LoginThrottle.
func (s *SQLite) RecordLoginFailure(ctx context.Context, keys ...string) error {
	now := s.now()
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM login_failures WHERE at < ?`, ms(now.Add(-loginFailureKeep))); err != nil {
			return err
		}
		for _, k := range keys {
			if _, err := tx.ExecContext(ctx, `INSERT INTO login_failures (key, at) VALUES (?, ?)`, k, ms(now)); err != nil {
				return err
			}
		}
		return nil
	})
}

// ClearLoginFailures implements LoginThrottle.
func (s *SQLite) ClearLoginFailures(ctx context.Context, key string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM login_failures WHERE key = ?`, key)
		return err
	})
}

// RecordUpload implements UploadLog.
func (s *SQLite) RecordUpload(ctx context.Context, userID, bytes int64) error {
	now := s.now()
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := s.exec(ctx, tx, `INSERT INTO upload_log (user_id, at, bytes) VALUES (?, ?, ?)`, userID, ms(now), bytes)
		return err
	})
}

// UploadUsage implements UploadLog.
func (s *SQLite) UploadUsage(ctx context.Context, userID int64, since time.Time) (int, int64, error) {
	var n int
	var b int64
	err := s.r.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(bytes), 0) FROM upload_log WHERE user_id = ? AND at >= ?`,
		userID, ms(since)).Scan(&n, &b)
	return n, b, err
}

func (s *SQLite) audit(ctx context.Context, tx *sql.Tx, e AuditEntry) error {
	if e.At.IsZero() {
		e.At = s.now()
	}
	_, err := s.exec(ctx, tx, `INSERT INTO audit_log (at, actor, action, target, ip, detail) VALUES (?, ?, ?, ?, ?, ?)`,
		ms(e.At), e.Actor, e.Action, e.Target, e.IP, e.Detail)
	return err
}

// Audit implements AuditLog.
func (s *SQLite) Audit(ctx context.Context, e AuditEntry) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return s.audit(ctx, tx, e) })
}

// ListAudit implements AuditLog.
func (s *SQLite) ListAudit(ctx context.Context, before int64, limit int) ([]AuditEntry, error) {
	if limit <= 0 || limit > 1000 {
		limit = 200
	}
	if before <= 0 {
		before = 1 << 62
	}
	rows, err := s.r.QueryContext(ctx, `SELECT id, at, actor, action, target, ip, detail FROM audit_log
		WHERE id < ? ORDER BY id DESC LIMIT ?`, before, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var es []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Target, &e.IP, &e.Detail); err != nil {
			return nil, err
		}
		e.At = fromMS(at)
		es = append(es, e)
	}
	return es, rows.Err()
}

// DeleteDump implements Index: the dump's rows go, with its analysis,
// index rows, job and shares. It returns the deleted dump, whose file the
// caller deletes.
func (s *SQLite) DeleteDump(ctx context.Context, id string) (Dump, error) {
	d, err := s.Dump(ctx, id)
	if err != nil {
		return d, err
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var row int64
		if err := tx.QueryRowContext(ctx, `SELECT id FROM dumps WHERE uid = ?`, id).Scan(&row); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			}
			return err
		}
		// Children first and one by one, so the dashboard's delete triggers run.
		for _, q := range []string{`DELETE FROM frames WHERE dump_id = ?`, `DELETE FROM modules WHERE dump_id = ?`,
			`DELETE FROM analyses WHERE dump_id = ?`, `DELETE FROM crashes WHERE dump_id = ?`, `DELETE FROM jobs WHERE dump_id = ?`,
			`DELETE FROM shares WHERE dump_id = ?`, `DELETE FROM dumps WHERE id = ?`} {
			if _, err := tx.ExecContext(ctx, q, row); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return d, fmt.Errorf("delete dump %q: %w", id, err)
	}
	return d, nil
}

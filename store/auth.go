package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors of the account layer; the web layer maps them to status codes.
var (
	// ErrBadCredentials is a wrong name, password or token. It never says which.
	ErrBadCredentials = errors.New("wrong name or password")
	// ErrGone is a share link or token past its expiry.
	ErrGone = errors.New("expired")
	// ErrExists is a user name already taken.
	ErrExists = errors.New("already exists")
	// ErrRateLimited is too many attempts or uploads in a window.
	ErrRateLimited = errors.New("too many requests")
)

// Role is what an account may do. The set is closed: admin, member, viewer.
type Role string

// Roles, from most to least powerful.
const (
	RoleAdmin  Role = "admin"  // everything, users and settings included
	RoleMember Role = "member" // upload, view, share, reanalyze, delete own uploads
	RoleViewer Role = "viewer" // view only
)

// ParseRole checks a role name.
func ParseRole(s string) (Role, error) {
	switch r := Role(strings.ToLower(strings.TrimSpace(s))); r {
	case RoleAdmin, RoleMember, RoleViewer:
		return r, nil
	}
	return "", fmt.Errorf("%w: role %q is not admin, member or viewer", ErrBadRequest, s)
}

// Scope limits what an API token may do. A session has every scope.
type Scope uint8

// Scopes.
const (
	// ScopeUpload may add dumps: what a crash reporter or a CI job holds.
	ScopeUpload Scope = 1 << iota
	// ScopeRead may read what the user's role can read.
	ScopeRead
	ScopeAll = ScopeUpload | ScopeRead
)

// ParseScopes reads "upload", "read" or "upload,read".
func ParseScopes(s string) (Scope, error) {
	var sc Scope
	for _, p := range strings.Split(s, ",") {
		switch strings.TrimSpace(p) {
		case "upload":
			sc |= ScopeUpload
		case "read":
			sc |= ScopeRead
		default:
			return 0, fmt.Errorf("%w: scope %q is not upload or read", ErrBadRequest, p)
		}
	}
	return sc, nil
}

func (s Scope) String() string {
	var p []string
	if s&ScopeUpload != 0 {
		p = append(p, "upload")
	}
	if s&ScopeRead != 0 {
		p = append(p, "read")
	}
	return strings.Join(p, ",")
}

// Has says whether s includes every scope of want.
func (s Scope) Has(want Scope) bool { return s&want == want }

// User is an account.
type User struct {
	ID        int64
	Name      string
	Role      Role
	CreatedAt time.Time
}

// Principal is who sends a request: a user through a session or a token.
type Principal struct {
	UserID int64
	Name   string
	Role   Role
	// Scopes limit a token; sessions have ScopeAll.
	Scopes  Scope
	TokenID string // set when a token authenticated the request
	CSRF    string // the session's CSRF token; empty for tokens
}

// Session is a browser login.
type Session struct {
	UserID    int64
	CSRF      string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Token is an API token as lists show it; the secret is shown only once, at creation.
type Token struct {
	ID         string
	UserName   string
	Name       string
	Scopes     Scope
	CreatedAt  time.Time
	ExpiresAt  *time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// Active says whether the token still authenticates at t.
func (t Token) Active(at time.Time) bool {
	return t.RevokedAt == nil && (t.ExpiresAt == nil || at.Before(*t.ExpiresAt))
}

// Share is a read-only link to one report.
type Share struct {
	ID            string
	DumpID        string
	CreatedBy     string
	CreatedAt     time.Time
	ExpiresAt     *time.Time
	AllowDownload bool
	RevokedAt     *time.Time
}

// Active says whether the link still opens at t.
func (s Share) Active(at time.Time) bool {
	return s.RevokedAt == nil && (s.ExpiresAt == nil || at.Before(*s.ExpiresAt))
}

// AuditEntry is one line of the audit log.
type AuditEntry struct {
	ID     int64
	At     time.Time
	Actor  string // user name; "" for anonymous
	Action string // see the Audit* constants
	Target string
	IP     string
	Detail string
}

// Audit actions.
const (
	AuditLoginOK       = "login.ok"
	AuditLoginFailed   = "login.failed"
	AuditLogout        = "logout"
	AuditPassword      = "user.password"
	AuditUserAdd       = "user.add"
	AuditUserRemove    = "user.remove"
	AuditRoleChange    = "user.role"
	AuditUpload        = "dump.upload"
	AuditDelete        = "dump.delete"
	AuditShareCreate   = "share.create"
	AuditShareRevoke   = "share.revoke"
	AuditTokenCreate   = "token.create"
	AuditTokenRevoke   = "token.revoke"
	AuditTokenUsed     = "token.used"
	AuditSetup         = "setup"
	AuditReanalyze     = "dump.reanalyze"
	AuditReanalyzeAll  = "dump.reanalyze_all"
	AuditShareDownload = "share.download"
)

// Users keeps accounts.
type Users interface {
	UserCount(ctx context.Context) (int, error)
	// AddUser creates an account; ErrExists if the name is taken.
	AddUser(ctx context.Context, name string, role Role, password string) (User, error)
	User(ctx context.Context, name string) (User, error)
	ListUsers(ctx context.Context) ([]User, error)
	// RemoveUser deletes an account with its sessions and tokens.
	RemoveUser(ctx context.Context, name string) error
	// SetPassword changes a password and ends the user's sessions.
	SetPassword(ctx context.Context, name, password string) error
	SetRole(ctx context.Context, name string, role Role) error
	// CheckPassword returns the user when the password is right, else
	// ErrBadCredentials (also for an unknown name, in the same time).
	CheckPassword(ctx context.Context, name, password string) (User, error)
}

// Sessions keeps browser logins.
type Sessions interface {
	// CreateSession starts a session that ends after ttl at the latest and
	// returns the cookie's secret.
	CreateSession(ctx context.Context, userID int64, ip string, ttl time.Duration) (raw string, s Session, err error)
	// AuthenticateSession resolves a cookie's secret; a session unused for
	// idle has ended. ErrBadCredentials if there is none.
	AuthenticateSession(ctx context.Context, raw string, idle time.Duration) (Principal, error)
	DeleteSession(ctx context.Context, raw string) error
}

// Tokens keeps API tokens.
type Tokens interface {
	// CreateToken makes a token for a user; ttl 0 never expires. The raw
	// token is returned once and kept only as a hash.
	CreateToken(ctx context.Context, user, name string, scopes Scope, ttl time.Duration) (raw string, t Token, err error)
	// AuthenticateToken resolves a raw bearer token and records its use.
	// ErrBadCredentials for unknown or revoked tokens, ErrGone past expiry.
	AuthenticateToken(ctx context.Context, raw string) (Principal, error)
	// ListTokens lists a user's tokens, or everyone's for user "".
	ListTokens(ctx context.Context, user string) ([]Token, error)
	// RevokeToken revokes a token; with user set, only that user's.
	RevokeToken(ctx context.Context, id, user string) (Token, error)
}

// Shares keeps read-only report links.
type Shares interface {
	// CreateShare makes a link to a dump; ttl 0 never expires.
	CreateShare(ctx context.Context, dumpID, by string, ttl time.Duration, allowDownload bool) (raw string, s Share, err error)
	ListShares(ctx context.Context, dumpID string) ([]Share, error)
	RevokeShare(ctx context.Context, dumpID, shareID string) error
	// OpenShare resolves a link's secret: ErrNotFound when unknown or
	// revoked, ErrGone once expired.
	OpenShare(ctx context.Context, raw string) (Share, error)
}

// LoginThrottle counts failed logins by key ("user:NAME", "ip:ADDR").
type LoginThrottle interface {
	LoginFailures(ctx context.Context, key string, since time.Time) (int, error)
	RecordLoginFailure(ctx context.Context, keys ...string) error
	ClearLoginFailures(ctx context.Context, key string) error
}

// UploadLog counts each account's uploads, for quotas and rate limits.
type UploadLog interface {
	RecordUpload(ctx context.Context, userID, bytes int64) error
	UploadUsage(ctx context.Context, userID int64, since time.Time) (count int, bytes int64, err error)
}

// AuditLog records who did what.
type AuditLog interface {
	Audit(ctx context.Context, e AuditEntry) error
	// ListAudit lists entries newest first, before the entry id before (0: from the newest).
	ListAudit(ctx context.Context, before int64, limit int) ([]AuditEntry, error)
}

// Auth is the account layer: the embedded SQLite implements it, a later
// PostgreSQL one will too.
type Auth interface {
	Users
	Sessions
	Tokens
	Shares
	LoginThrottle
	UploadLog
	AuditLog
}

// Secret prefixes tell a token from a share link or a session at a glance
// (and let secret scanners find leaked tokens).
const (
	TokenPrefix = "dtt_"
	SharePrefix = "dts_"
)

// newSecret returns 256 random bits, URL-safe, after prefix.
func newSecret(prefix string) string {
	var b [32]byte
	rand.Read(b[:])
	return prefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// secretHash is what the index keeps of a secret.
func secretHash(raw string) string {
	h := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(h[:])
}

// CheckUserName accepts 1 to 64 letters, digits and . _ - @.
func CheckUserName(name string) error {
	if name == "" || len(name) > 64 {
		return fmt.Errorf("%w: a user name has 1 to 64 characters", ErrBadRequest)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("._-@", c)) {
			return fmt.Errorf("%w: a user name has only letters, digits and . _ - @", ErrBadRequest)
		}
	}
	return nil
}

// CheckPasswordRules accepts 8 to 1024 bytes.
func CheckPasswordRules(pw string) error {
	if len(pw) < 8 {
		return fmt.Errorf("%w: a password has at least 8 characters", ErrBadRequest)
	}
	if len(pw) > 1024 {
		return fmt.Errorf("%w: a password has at most 1024 bytes", ErrBadRequest)
	}
	return nil
}

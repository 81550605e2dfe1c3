-- +goose Up

-- Accounts. Passwords are argon2id PHC strings. Times are Unix milliseconds.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    role          TEXT    NOT NULL CHECK (role IN ('admin', 'member', 'viewer')),
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
);

-- Browser sessions. The cookie carries a random secret; only its sha256 is
-- kept, so a copy of the index opens no session. csrf is the token forms
-- and scripts send back with state-changing requests.
CREATE TABLE sessions (
    hash       TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    seen_at    INTEGER NOT NULL,                -- idle expiry counts from here
    expires_at INTEGER NOT NULL,                -- absolute expiry
    ip         TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

-- API tokens: shown once, kept as their sha256. scopes is a comma list of
-- upload and read.
CREATE TABLE tokens (
    id           INTEGER PRIMARY KEY,
    uid          TEXT    NOT NULL UNIQUE,       -- the id users list and revoke by
    hash         TEXT    NOT NULL UNIQUE,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL DEFAULT '',
    scopes       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    last_used_at INTEGER,
    revoked_at   INTEGER
);
CREATE INDEX tokens_by_user ON tokens (user_id);

-- Read-only links to one report. The URL carries a 256-bit secret kept as
-- its sha256; uid names the link in lists and revocation.
CREATE TABLE shares (
    id             INTEGER PRIMARY KEY,
    uid            TEXT    NOT NULL UNIQUE,
    hash           TEXT    NOT NULL UNIQUE,
    dump_id        INTEGER NOT NULL REFERENCES dumps (id) ON DELETE CASCADE,
    created_by     TEXT    NOT NULL DEFAULT '',
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER,
    allow_download INTEGER NOT NULL DEFAULT 0,
    revoked_at     INTEGER
);
CREATE INDEX shares_by_dump ON shares (dump_id);

-- Failed logins, by 'user:NAME' and 'ip:ADDR', for rate limiting that holds
-- across restarts and web nodes.
CREATE TABLE login_failures (
    key TEXT    NOT NULL,
    at  INTEGER NOT NULL
);
CREATE INDEX login_failures_by_key ON login_failures (key, at);

-- Every upload by an account (duplicates included), for quotas and rate limits.
CREATE TABLE upload_log (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    at      INTEGER NOT NULL,
    bytes   INTEGER NOT NULL
);
CREATE INDEX upload_log_by_user ON upload_log (user_id, at);

CREATE TABLE audit_log (
    id     INTEGER PRIMARY KEY,
    at     INTEGER NOT NULL,
    actor  TEXT    NOT NULL DEFAULT '',   -- user name, or '' for anonymous
    action TEXT    NOT NULL,              -- login.ok, login.failed, dump.upload, share.create ...
    target TEXT    NOT NULL DEFAULT '',   -- what it acted on: a dump, user, token or share id
    ip     TEXT    NOT NULL DEFAULT '',
    detail TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_by_at ON audit_log (at DESC);

-- +goose Down
DROP TABLE audit_log;
DROP TABLE upload_log;
DROP TABLE login_failures;
DROP TABLE shares;
DROP TABLE tokens;
DROP TABLE sessions;
DROP TABLE users;

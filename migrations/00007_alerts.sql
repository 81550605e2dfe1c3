-- +goose Up

-- A crash group's (signature's) triage state. No row: new.
CREATE TABLE group_status (
    signature  TEXT    PRIMARY KEY,
    status     TEXT    NOT NULL CHECK (status IN ('new', 'investigating', 'fixed', 'ignored')),
    fixed_in   TEXT    NOT NULL DEFAULT '',   -- the version with the fix, when fixed
    bug_url    TEXT    NOT NULL DEFAULT '',
    updated_at INTEGER NOT NULL,
    updated_by TEXT    NOT NULL DEFAULT ''
) WITHOUT ROWID;

-- Where alerts go. events: a comma list of new, regression, threshold;
-- threshold is the crashes per hour of one signature that fire it.
CREATE TABLE webhooks (
    id         INTEGER PRIMARY KEY,
    url        TEXT    NOT NULL,
    format     TEXT    NOT NULL DEFAULT 'json' CHECK (format IN ('json', 'slack')),
    events     TEXT    NOT NULL,
    threshold  INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    created_by TEXT    NOT NULL DEFAULT ''
);

-- What happened, written in the transaction that stored the analysis, so
-- an alert is never lost between the two (an outbox).
CREATE TABLE alerts (
    id         INTEGER PRIMARY KEY,
    kind       TEXT    NOT NULL CHECK (kind IN ('new', 'regression', 'threshold')),
    signature  TEXT    NOT NULL,
    dump_id    INTEGER REFERENCES dumps (id) ON DELETE SET NULL,
    version    TEXT    NOT NULL DEFAULT '',
    detail     TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);
CREATE INDEX alerts_by_time ON alerts (created_at DESC);

-- One alert to one webhook, retried with backoff until sent or given up.
CREATE TABLE deliveries (
    id         INTEGER PRIMARY KEY,
    webhook_id INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    alert_id   INTEGER NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    state      TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
    attempts   INTEGER NOT NULL DEFAULT 0,
    next_at    INTEGER NOT NULL,
    UNIQUE (webhook_id, alert_id)
);
CREATE INDEX deliveries_due ON deliveries (state, next_at);
CREATE INDEX deliveries_by_webhook ON deliveries (webhook_id, id DESC);

-- Every attempt, kept for the admin page.
CREATE TABLE delivery_attempts (
    id          INTEGER PRIMARY KEY,
    delivery_id INTEGER NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    at          INTEGER NOT NULL,
    status_code INTEGER NOT NULL DEFAULT 0,
    error       TEXT    NOT NULL DEFAULT '',
    duration_ms INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX delivery_attempts_by_delivery ON delivery_attempts (delivery_id, id);

-- +goose Down
DROP TABLE delivery_attempts;
DROP TABLE deliveries;
DROP TABLE alerts;
DROP TABLE webhooks;
DROP TABLE group_status;

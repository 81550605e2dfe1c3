-- +goose Up

-- A crash group's workflow beyond 00007's status: who owns it, a note, and
-- the regression that reopened it (the version it was fixed in and the one
-- that crashed anyway), shown on the group page until someone sets it
-- fixed or ignored again.
ALTER TABLE group_status ADD COLUMN assignee TEXT NOT NULL DEFAULT '';
ALTER TABLE group_status ADD COLUMN note TEXT NOT NULL DEFAULT '';
ALTER TABLE group_status ADD COLUMN regressed_from TEXT NOT NULL DEFAULT '';
ALTER TABLE group_status ADD COLUMN regressed_in TEXT NOT NULL DEFAULT '';
ALTER TABLE group_status ADD COLUMN regressed_at INTEGER NOT NULL DEFAULT 0;

-- Who changed what in a group, one row per changed field; "regression"
-- is the crash that reopened a fixed group.
CREATE TABLE group_events (
    id        INTEGER PRIMARY KEY,
    signature TEXT    NOT NULL,
    at        INTEGER NOT NULL,
    actor     TEXT    NOT NULL DEFAULT '',
    field     TEXT    NOT NULL CHECK (field IN ('status', 'fixed_in', 'assignee', 'note', 'bug_url', 'regression')),
    old_value TEXT    NOT NULL DEFAULT '',
    new_value TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX group_events_by_signature ON group_events (signature, id DESC);

-- +goose Down
DROP TABLE group_events;
ALTER TABLE group_status DROP COLUMN regressed_at;
ALTER TABLE group_status DROP COLUMN regressed_in;
ALTER TABLE group_status DROP COLUMN regressed_from;
ALTER TABLE group_status DROP COLUMN note;
ALTER TABLE group_status DROP COLUMN assignee;

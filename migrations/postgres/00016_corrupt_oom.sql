-- +goose Up
-- The trends count the OOM crashes of damaged dumps (signatures starting
-- 'corrupt dump | ') to leave them out. SQLite reads that prefix's range of
-- crashes_by_signature; here text ranges follow the collation, so the count
-- read every OOM crash of the period. These hold only those crashes.
CREATE INDEX crashes_corrupt_oom ON crashes (at) WHERE oom AND substr(signature, 1, 15) = 'corrupt dump | ';
CREATE INDEX crashes_corrupt_oom_by_crash_at ON crashes (crash_at) WHERE oom AND substr(signature, 1, 15) = 'corrupt dump | ';

-- +goose Down
DROP INDEX crashes_corrupt_oom_by_crash_at;
DROP INDEX crashes_corrupt_oom;

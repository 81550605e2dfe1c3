-- +goose Up

-- One row per distinct dump (by the sha256 of its bytes). uid is the opaque
-- id used in URLs. Times are Unix milliseconds.
CREATE TABLE dumps (
    id               INTEGER PRIMARY KEY,
    uid              TEXT    NOT NULL UNIQUE,
    sha256           TEXT    NOT NULL UNIQUE,
    size             INTEGER NOT NULL,
    file_name        TEXT    NOT NULL DEFAULT '',
    wrapper          TEXT    NOT NULL DEFAULT '',   -- '', zip, gzip or zstd: how the upload wrapped the dump
    uploaded_at      INTEGER NOT NULL,
    uploaded_by      TEXT    NOT NULL DEFAULT '',
    uploaded_from    TEXT    NOT NULL DEFAULT '',   -- client address
    upload_count     INTEGER NOT NULL DEFAULT 1,    -- duplicates add to it
    last_uploaded_at INTEGER NOT NULL,
    status           TEXT    NOT NULL DEFAULT 'queued'
                     CHECK (status IN ('queued', 'analyzing', 'done', 'failed')),
    error            TEXT    NOT NULL DEFAULT '',
    file_expired_at  INTEGER                        -- set when retention deleted the file
);
CREATE INDEX dumps_by_upload ON dumps (uploaded_at DESC, id DESC);
CREATE INDEX dumps_by_status ON dumps (status, uploaded_at DESC);
CREATE INDEX dumps_kept ON dumps (uploaded_at) WHERE file_expired_at IS NULL;

-- The current analysis of a dump: the report plus the columns the dashboard
-- filters and groups on.
CREATE TABLE analyses (
    dump_id          INTEGER PRIMARY KEY REFERENCES dumps (id) ON DELETE CASCADE,
    analyzer_version TEXT    NOT NULL,
    analyzed_at      INTEGER NOT NULL,
    duration_ms      INTEGER NOT NULL DEFAULT 0,
    report           TEXT    NOT NULL,              -- the JSON of `dumptriage analyze --json`
    crash_type       TEXT    NOT NULL DEFAULT '',
    crash_address    TEXT    NOT NULL DEFAULT '',   -- "0x..." as in the report
    signature        TEXT    NOT NULL DEFAULT '',
    module           TEXT    NOT NULL DEFAULT '',   -- faulting module
    module_version   TEXT    NOT NULL DEFAULT '',
    os               TEXT    NOT NULL DEFAULT '',
    os_version       TEXT    NOT NULL DEFAULT '',
    arch             TEXT    NOT NULL DEFAULT '',
    process_name     TEXT    NOT NULL DEFAULT '',
    dump_time        INTEGER,                       -- when the dump was written, Unix ms
    alloc_bytes      INTEGER,                       -- allocation failure size, when known
    stack_overflow   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX analyses_by_crash_type ON analyses (crash_type);
CREATE INDEX analyses_by_signature ON analyses (signature);
CREATE INDEX analyses_by_module ON analyses (module COLLATE NOCASE, module_version);
CREATE INDEX analyses_by_process ON analyses (process_name COLLATE NOCASE);
CREATE INDEX analyses_by_os ON analyses (os, os_version);

-- Modules loaded in each dump: a module's history is one indexed query.
CREATE TABLE modules (
    dump_id   INTEGER NOT NULL REFERENCES dumps (id) ON DELETE CASCADE,
    idx       INTEGER NOT NULL,
    name      TEXT    NOT NULL,
    version   TEXT    NOT NULL DEFAULT '',
    debug_id  TEXT    NOT NULL DEFAULT '',
    debug_file TEXT   NOT NULL DEFAULT '',
    code_id   TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (dump_id, idx)
) WITHOUT ROWID;
CREATE INDEX modules_by_name ON modules (name COLLATE NOCASE, version, dump_id);
CREATE INDEX modules_by_debug_id ON modules (debug_id);

-- The crashing thread's frames.
CREATE TABLE frames (
    dump_id         INTEGER NOT NULL REFERENCES dumps (id) ON DELETE CASCADE,
    idx             INTEGER NOT NULL,
    module          TEXT    NOT NULL DEFAULT '',
    function        TEXT    NOT NULL DEFAULT '',
    module_offset   TEXT    NOT NULL DEFAULT '',
    function_offset TEXT    NOT NULL DEFAULT '',
    trust           TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (dump_id, idx)
) WITHOUT ROWID;
CREATE INDEX frames_by_function ON frames (function, dump_id);
CREATE INDEX frames_by_module ON frames (module COLLATE NOCASE, dump_id);

-- Pending analysis work: at most one job per dump. A job is deleted when it
-- ends; its outcome lives in dumps.status and analyses.
CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY,
    dump_id     INTEGER NOT NULL UNIQUE REFERENCES dumps (id) ON DELETE CASCADE,
    state       TEXT    NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    run_after   INTEGER NOT NULL,
    lease_owner TEXT    NOT NULL DEFAULT '',
    lease_until INTEGER NOT NULL DEFAULT 0,
    rerun       INTEGER NOT NULL DEFAULT 0,        -- re-analysis asked for while running
    last_error  TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL
);
CREATE INDEX jobs_ready ON jobs (state, run_after, id);
CREATE INDEX jobs_leases ON jobs (state, lease_until);

-- +goose Down
DROP TABLE jobs;
DROP TABLE frames;
DROP TABLE modules;
DROP TABLE analyses;
DROP TABLE dumps;

-- +goose Up

-- Symbol files kept in the server's own symbol store. path is the file's
-- place in the store (name/ID/name), from the ids read from the file.
CREATE TABLE symbol_files (
    id          INTEGER PRIMARY KEY,
    path        TEXT    NOT NULL UNIQUE,
    kind        TEXT    NOT NULL CHECK (kind IN ('pdb', 'pe', 'breakpad')),
    name        TEXT    NOT NULL,              -- file name in the store
    debug_id    TEXT    NOT NULL DEFAULT '',   -- GUID+age, upper-case Breakpad form
    debug_file  TEXT    NOT NULL DEFAULT '',
    code_id     TEXT    NOT NULL DEFAULT '',   -- TimeDateStamp+SizeOfImage
    code_file   TEXT    NOT NULL DEFAULT '',
    arch        TEXT    NOT NULL DEFAULT '',
    size        INTEGER NOT NULL,
    sha1        TEXT    NOT NULL,
    uploaded_at INTEGER NOT NULL,
    uploaded_by TEXT    NOT NULL DEFAULT '',
    source      TEXT    NOT NULL DEFAULT ''    -- api, page, sentry-cli
);
CREATE INDEX symbol_files_by_debug_id ON symbol_files (debug_id);
CREATE INDEX symbol_files_by_code_id ON symbol_files (code_id COLLATE NOCASE);
CREATE INDEX symbol_files_by_upload ON symbol_files (uploaded_at DESC, id DESC);

-- What the analysis found for each module: pdb, breakpad, dwarf, exports,
-- or '' (nothing). The missing-symbols list reads it.
ALTER TABLE modules ADD COLUMN symbols TEXT NOT NULL DEFAULT '';
-- Symbols arriving find the dumps that load an image by its code id.
CREATE INDEX modules_by_code_id ON modules (code_id COLLATE NOCASE);

-- Re-analyses started by arriving symbols run after fresh uploads:
-- higher priority runs first; uploads are 0, symbol re-analyses -10.
ALTER TABLE jobs ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
CREATE INDEX jobs_by_priority ON jobs (state, priority DESC, run_after, id);

-- When symbols for one of the dump's modules last arrived, and which.
ALTER TABLE dumps ADD COLUMN symbols_arrived_at INTEGER;
ALTER TABLE dumps ADD COLUMN symbols_arrived TEXT NOT NULL DEFAULT '';

-- Server settings changed at run time (the SymSrv upstream).
CREATE TABLE settings (
    key        TEXT    PRIMARY KEY,
    value      TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;

-- +goose Down
DROP TABLE settings;
ALTER TABLE dumps DROP COLUMN symbols_arrived;
ALTER TABLE dumps DROP COLUMN symbols_arrived_at;
DROP INDEX jobs_by_priority;
ALTER TABLE jobs DROP COLUMN priority;
DROP INDEX modules_by_code_id;
ALTER TABLE modules DROP COLUMN symbols;
DROP TABLE symbol_files;

-- +goose Up

-- A module's history by version, kept by triggers like 00002's tables and
-- beside them (new triggers; 00002's stay as they are).
--
-- module_dumps: one row per (module, dump) for each way the module took part
-- in the crash: 'faulting' (the exception's module, from crashes) and
-- 'stack' (on the crashing thread's stack, from frames, once per dump).
-- version is the module's version in that dump: the crash reporter's
-- product version (dumps.product_version, from annotations, 00005) when the
-- module is the process's main module, else its version resource
-- (modules.version). at is the time the crash counts at: crashes.at, read by
-- the two triggers that add rows here and nowhere else.
CREATE TABLE module_dumps (
    module  TEXT    NOT NULL,   -- lower case
    kind    TEXT    NOT NULL CHECK (kind IN ('faulting', 'stack')),
    dump_id INTEGER NOT NULL REFERENCES dumps (id) ON DELETE CASCADE,
    version TEXT    NOT NULL,
    at      INTEGER NOT NULL,
    PRIMARY KEY (module, kind, dump_id)
) WITHOUT ROWID;
CREATE INDEX module_dumps_by_at ON module_dumps (module, kind, at, dump_id);
CREATE INDEX module_dumps_by_version ON module_dumps (module, kind, version, at, dump_id);
CREATE INDEX module_dumps_by_dump ON module_dumps (dump_id);

-- module_rollup: per module, UTC day (at / 86400000) and version, the dumps
-- it faulted in and the dumps it was on the crashing stack of.
CREATE TABLE module_rollup (
    module   TEXT    NOT NULL,
    day      INTEGER NOT NULL,
    version  TEXT    NOT NULL,
    faulting INTEGER NOT NULL,
    stack    INTEGER NOT NULL,
    PRIMARY KEY (module, day, version)
) WITHOUT ROWID;

-- module_versions: the same all-time, with first and last seen, which only
-- widen (as crash_groups').
CREATE TABLE module_versions (
    module   TEXT    NOT NULL,
    version  TEXT    NOT NULL,
    faulting INTEGER NOT NULL,
    stack    INTEGER NOT NULL,
    first_at INTEGER NOT NULL,
    last_at  INTEGER NOT NULL,
    PRIMARY KEY (module, version)
) WITHOUT ROWID;
CREATE INDEX module_versions_by_count ON module_versions (module, stack DESC, faulting DESC, version);

-- +goose StatementBegin
CREATE TRIGGER module_dumps_count AFTER INSERT ON module_dumps BEGIN
    INSERT INTO module_rollup (module, day, version, faulting, stack)
        VALUES (NEW.module, NEW.at / 86400000, NEW.version, NEW.kind = 'faulting', NEW.kind = 'stack')
        ON CONFLICT (module, day, version) DO UPDATE SET faulting = faulting + excluded.faulting,
            stack = stack + excluded.stack;
    INSERT INTO module_versions (module, version, faulting, stack, first_at, last_at)
        VALUES (NEW.module, NEW.version, NEW.kind = 'faulting', NEW.kind = 'stack', NEW.at, NEW.at)
        ON CONFLICT (module, version) DO UPDATE SET faulting = faulting + excluded.faulting,
            stack = stack + excluded.stack, first_at = min(first_at, excluded.first_at),
            last_at = max(last_at, excluded.last_at);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER module_dumps_uncount AFTER DELETE ON module_dumps BEGIN
    UPDATE module_rollup SET faulting = faulting - (OLD.kind = 'faulting'), stack = stack - (OLD.kind = 'stack')
        WHERE module = OLD.module AND day = OLD.at / 86400000 AND version = OLD.version;
    DELETE FROM module_rollup WHERE module = OLD.module AND day = OLD.at / 86400000 AND version = OLD.version
        AND faulting <= 0 AND stack <= 0;
    UPDATE module_versions SET faulting = faulting - (OLD.kind = 'faulting'), stack = stack - (OLD.kind = 'stack')
        WHERE module = OLD.module AND version = OLD.version;
    DELETE FROM module_versions WHERE module = OLD.module AND version = OLD.version AND faulting <= 0 AND stack <= 0;
END;
-- +goose StatementEnd

-- The faulting module comes and goes with the dump's crashes row, which a
-- re-analysis makes again.
-- +goose StatementBegin
CREATE TRIGGER crashes_module_fault AFTER INSERT ON crashes WHEN NEW.module != '' BEGIN
    INSERT OR IGNORE INTO module_dumps (module, kind, dump_id, version, at)
    SELECT NEW.module, 'faulting', NEW.dump_id,
        CASE WHEN NEW.module = lower(NEW.process_name) AND d.product_version != '' THEN d.product_version
            ELSE NEW.module_version END,
        NEW.at
    FROM dumps d WHERE d.id = NEW.dump_id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER crashes_module_unfault AFTER DELETE ON crashes WHEN OLD.module != '' BEGIN
    DELETE FROM module_dumps WHERE module = OLD.module AND kind = 'faulting' AND dump_id = OLD.dump_id;
END;
-- +goose StatementEnd

-- A module is on the stack once per dump however many frames it has: its
-- first frame adds the row (the WHEN saves looking up the version again). Frames are stored after the analysis, so
-- the dump's crashes row and modules rows are there.
-- +goose StatementBegin
CREATE TRIGGER frames_module_stack AFTER INSERT ON frames
WHEN NEW.module != '' AND NOT EXISTS (SELECT 1 FROM module_dumps WHERE module = lower(NEW.module) AND kind = 'stack'
    AND dump_id = NEW.dump_id)
BEGIN
    INSERT OR IGNORE INTO module_dumps (module, kind, dump_id, version, at)
    SELECT lower(NEW.module), 'stack', NEW.dump_id,
        coalesce(CASE WHEN lower(NEW.module) = lower(c.process_name) THEN nullif(d.product_version, '') END,
            (SELECT m.version FROM modules m WHERE m.dump_id = NEW.dump_id AND m.name = NEW.module COLLATE NOCASE
                ORDER BY m.idx LIMIT 1), ''),
        c.at
    FROM crashes c JOIN dumps d ON d.id = c.dump_id WHERE c.dump_id = NEW.dump_id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER frames_module_unstack AFTER DELETE ON frames
WHEN OLD.module != '' AND NOT EXISTS (SELECT 1 FROM frames f WHERE f.dump_id = OLD.dump_id
    AND f.module = OLD.module COLLATE NOCASE)
BEGIN
    DELETE FROM module_dumps WHERE module = lower(OLD.module) AND kind = 'stack' AND dump_id = OLD.dump_id;
END;
-- +goose StatementEnd

-- Dumps analysed before this migration.
INSERT OR IGNORE INTO module_dumps (module, kind, dump_id, version, at)
SELECT c.module, 'faulting', c.dump_id,
    CASE WHEN c.module = lower(c.process_name) AND d.product_version != '' THEN d.product_version
        ELSE c.module_version END,
    c.at
FROM crashes c JOIN dumps d ON d.id = c.dump_id WHERE c.module != '';

INSERT OR IGNORE INTO module_dumps (module, kind, dump_id, version, at)
SELECT lower(f.module), 'stack', f.dump_id,
    coalesce(CASE WHEN lower(f.module) = lower(c.process_name) THEN nullif(d.product_version, '') END,
        (SELECT m.version FROM modules m WHERE m.dump_id = f.dump_id AND m.name = f.module COLLATE NOCASE
            ORDER BY m.idx LIMIT 1), ''),
    c.at
FROM frames f JOIN crashes c ON c.dump_id = f.dump_id JOIN dumps d ON d.id = f.dump_id
WHERE f.module != '' ORDER BY f.dump_id, f.idx;

-- +goose Down
DROP TRIGGER frames_module_unstack;
DROP TRIGGER frames_module_stack;
DROP TRIGGER crashes_module_unfault;
DROP TRIGGER crashes_module_fault;
DROP TRIGGER module_dumps_uncount;
DROP TRIGGER module_dumps_count;
DROP TABLE module_versions;
DROP TABLE module_rollup;
DROP TABLE module_dumps;

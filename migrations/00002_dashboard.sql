-- +goose Up

-- The dashboard's read side, kept by triggers so that every page reads a
-- few hundred rows whatever the number of dumps: the ingest code stays
-- unaware of it, and a re-analysis (INSERT OR REPLACE INTO analyses) moves a
-- dump from its old groups to its new ones.
--
-- crashes: one row per analysed dump with the keys the dashboard groups on.
-- at is dumps.uploaded_at (when the crash reached us, as Socorro's
-- date_processed), day is at in whole UTC days since 1970.
CREATE TABLE crashes (
    dump_id        INTEGER PRIMARY KEY REFERENCES dumps (id) ON DELETE CASCADE,
    at             INTEGER NOT NULL,
    day            INTEGER NOT NULL,
    signature      TEXT    NOT NULL,
    crash_type     TEXT    NOT NULL,
    module         TEXT    NOT NULL,   -- faulting module, lower case
    module_version TEXT    NOT NULL,
    os             TEXT    NOT NULL,   -- "Windows NT 10.0.19045": os and version
    version        TEXT    NOT NULL,   -- the process's version (report.process.version)
    process_name   TEXT    NOT NULL,
    oom            INTEGER NOT NULL,   -- the report has an allocation_failure
    alloc_bytes    INTEGER,            -- its requested bytes
    largest_free   INTEGER             -- its largest free region
);
CREATE INDEX crashes_by_at ON crashes (at);
CREATE INDEX crashes_by_signature ON crashes (signature, at);
CREATE INDEX crashes_by_module ON crashes (module, at);
CREATE INDEX crashes_by_version ON crashes (version, at);
CREATE INDEX crashes_by_type ON crashes (crash_type, at);
CREATE INDEX crashes_by_os ON crashes (os, at);
CREATE INDEX crashes_by_process ON crashes (process_name COLLATE NOCASE, at);
CREATE INDEX crashes_oom ON crashes (at) WHERE oom;

-- crash_rollup: crashes per UTC day per key of a dimension: all (key ''),
-- sig, type, module, os, version.
CREATE TABLE crash_rollup (
    dim TEXT    NOT NULL,
    key TEXT    NOT NULL,
    day INTEGER NOT NULL,
    n   INTEGER NOT NULL,
    PRIMARY KEY (dim, key, day)
) WITHOUT ROWID;
CREATE INDEX crash_rollup_by_day ON crash_rollup (dim, day, key, n);

-- crash_groups: all-time counts per key, with first and last seen. Besides
-- the rollup's dimensions: process, stack (a module anywhere on the crashing
-- stack, counted once per dump), and pairs whose key joins two values with
-- char(31): sig.version, sig.os, mod.version, mod.sig.
-- first_at and last_at only widen: a group keeps its first sighting when a
-- re-analysis moves that dump elsewhere.
CREATE TABLE crash_groups (
    dim      TEXT    NOT NULL,
    key      TEXT    NOT NULL,
    n        INTEGER NOT NULL,
    first_at INTEGER NOT NULL,
    last_at  INTEGER NOT NULL,
    PRIMARY KEY (dim, key)
) WITHOUT ROWID;
CREATE INDEX crash_groups_by_count ON crash_groups (dim, n DESC, key);

-- +goose StatementBegin
CREATE TRIGGER crashes_count AFTER INSERT ON crashes BEGIN
    INSERT INTO crash_rollup (dim, key, day, n)
        SELECT column1, column2, NEW.day, 1 FROM (VALUES ('all', ''), ('sig', NEW.signature),
            ('type', NEW.crash_type), ('module', NEW.module), ('os', NEW.os), ('version', NEW.version)) WHERE true
        ON CONFLICT (dim, key, day) DO UPDATE SET n = n + 1;
    INSERT INTO crash_groups (dim, key, n, first_at, last_at)
        SELECT column1, column2, 1, NEW.at, NEW.at FROM (VALUES ('all', ''), ('sig', NEW.signature),
            ('type', NEW.crash_type), ('module', NEW.module), ('os', NEW.os), ('version', NEW.version),
            ('process', NEW.process_name),
            ('sig.version', NEW.signature || char(31) || NEW.version),
            ('sig.os', NEW.signature || char(31) || NEW.os),
            ('mod.version', NEW.module || char(31) || NEW.module_version),
            ('mod.sig', NEW.module || char(31) || NEW.signature)) WHERE true
        ON CONFLICT (dim, key) DO UPDATE SET n = n + 1, first_at = min(first_at, excluded.first_at),
            last_at = max(last_at, excluded.last_at);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER crashes_uncount AFTER DELETE ON crashes BEGIN
    UPDATE crash_rollup SET n = n - 1 WHERE day = OLD.day AND (dim, key) IN (VALUES ('all', ''),
        ('sig', OLD.signature), ('type', OLD.crash_type), ('module', OLD.module), ('os', OLD.os), ('version', OLD.version));
    DELETE FROM crash_rollup WHERE day = OLD.day AND n <= 0 AND (dim, key) IN (VALUES ('all', ''),
        ('sig', OLD.signature), ('type', OLD.crash_type), ('module', OLD.module), ('os', OLD.os), ('version', OLD.version));
    UPDATE crash_groups SET n = n - 1 WHERE (dim, key) IN (VALUES ('all', ''), ('sig', OLD.signature),
        ('type', OLD.crash_type), ('module', OLD.module), ('os', OLD.os), ('version', OLD.version),
        ('process', OLD.process_name),
        ('sig.version', OLD.signature || char(31) || OLD.version),
        ('sig.os', OLD.signature || char(31) || OLD.os),
        ('mod.version', OLD.module || char(31) || OLD.module_version),
        ('mod.sig', OLD.module || char(31) || OLD.signature));
    DELETE FROM crash_groups WHERE n <= 0 AND (dim, key) IN (VALUES ('all', ''), ('sig', OLD.signature),
        ('type', OLD.crash_type), ('module', OLD.module), ('os', OLD.os), ('version', OLD.version),
        ('process', OLD.process_name),
        ('sig.version', OLD.signature || char(31) || OLD.version),
        ('sig.os', OLD.signature || char(31) || OLD.os),
        ('mod.version', OLD.module || char(31) || OLD.module_version),
        ('mod.sig', OLD.module || char(31) || OLD.signature));
END;
-- +goose StatementEnd

-- A BEFORE trigger sees the row that INSERT OR REPLACE is about to replace
-- (REPLACE itself fires no delete trigger unless recursive_triggers is on).
-- +goose StatementBegin
CREATE TRIGGER analyses_replace BEFORE INSERT ON analyses BEGIN
    DELETE FROM crashes WHERE dump_id = NEW.dump_id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER analyses_crash AFTER INSERT ON analyses BEGIN
    INSERT INTO crashes (dump_id, at, day, signature, crash_type, module, module_version, os, version, process_name,
        oom, alloc_bytes, largest_free)
    SELECT NEW.dump_id, d.uploaded_at, d.uploaded_at / 86400000, NEW.signature, NEW.crash_type, lower(NEW.module),
        NEW.module_version, trim(NEW.os || ' ' || NEW.os_version),
        coalesce(json_extract(NEW.report, '$.process.version'), ''), NEW.process_name,
        instr(NEW.report, '"allocation_failure":{') > 0, NEW.alloc_bytes,
        CASE WHEN instr(NEW.report, '"allocation_failure":{') > 0
            THEN json_extract(NEW.report, '$.allocation_failure.largest_free_bytes') END
    FROM dumps d WHERE d.id = NEW.dump_id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER analyses_uncrash AFTER DELETE ON analyses BEGIN
    DELETE FROM crashes WHERE dump_id = OLD.dump_id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER analyses_recrash AFTER UPDATE ON analyses BEGIN
    DELETE FROM crashes WHERE dump_id = OLD.dump_id;
    INSERT INTO crashes (dump_id, at, day, signature, crash_type, module, module_version, os, version, process_name,
        oom, alloc_bytes, largest_free)
    SELECT NEW.dump_id, d.uploaded_at, d.uploaded_at / 86400000, NEW.signature, NEW.crash_type, lower(NEW.module),
        NEW.module_version, trim(NEW.os || ' ' || NEW.os_version),
        coalesce(json_extract(NEW.report, '$.process.version'), ''), NEW.process_name,
        instr(NEW.report, '"allocation_failure":{') > 0, NEW.alloc_bytes,
        CASE WHEN instr(NEW.report, '"allocation_failure":{') > 0
            THEN json_extract(NEW.report, '$.allocation_failure.largest_free_bytes') END
    FROM dumps d WHERE d.id = NEW.dump_id;
END;
-- +goose StatementEnd

-- A module counts once per dump however many of its frames the stack has.
-- +goose StatementBegin
CREATE TRIGGER frames_stack AFTER INSERT ON frames
WHEN NEW.module != '' AND NOT EXISTS (SELECT 1 FROM frames f WHERE f.module = NEW.module COLLATE NOCASE
    AND f.dump_id = NEW.dump_id AND f.idx != NEW.idx)
BEGIN
    INSERT INTO crash_groups (dim, key, n, first_at, last_at)
        SELECT 'stack', lower(NEW.module), 1, d.uploaded_at, d.uploaded_at FROM dumps d WHERE d.id = NEW.dump_id
        ON CONFLICT (dim, key) DO UPDATE SET n = n + 1, first_at = min(first_at, excluded.first_at),
            last_at = max(last_at, excluded.last_at);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER frames_unstack AFTER DELETE ON frames
WHEN OLD.module != '' AND NOT EXISTS (SELECT 1 FROM frames f WHERE f.module = OLD.module COLLATE NOCASE
    AND f.dump_id = OLD.dump_id)
BEGIN
    UPDATE crash_groups SET n = n - 1 WHERE dim = 'stack' AND key = lower(OLD.module);
    DELETE FROM crash_groups WHERE dim = 'stack' AND key = lower(OLD.module) AND n <= 0;
END;
-- +goose StatementEnd

-- Dumps analysed before this migration.
INSERT INTO crashes (dump_id, at, day, signature, crash_type, module, module_version, os, version, process_name,
    oom, alloc_bytes, largest_free)
SELECT a.dump_id, d.uploaded_at, d.uploaded_at / 86400000, a.signature, a.crash_type, lower(a.module),
    a.module_version, trim(a.os || ' ' || a.os_version), coalesce(json_extract(a.report, '$.process.version'), ''),
    a.process_name, instr(a.report, '"allocation_failure":{') > 0, a.alloc_bytes,
    CASE WHEN instr(a.report, '"allocation_failure":{') > 0
        THEN json_extract(a.report, '$.allocation_failure.largest_free_bytes') END
FROM analyses a JOIN dumps d ON d.id = a.dump_id;

INSERT INTO crash_groups (dim, key, n, first_at, last_at)
SELECT 'stack', lower(f.module), count(DISTINCT f.dump_id), min(d.uploaded_at), max(d.uploaded_at)
FROM frames f JOIN dumps d ON d.id = f.dump_id WHERE f.module != '' GROUP BY lower(f.module);

-- +goose Down
DROP TRIGGER frames_unstack;
DROP TRIGGER frames_stack;
DROP TRIGGER analyses_recrash;
DROP TRIGGER analyses_uncrash;
DROP TRIGGER analyses_crash;
DROP TRIGGER analyses_replace;
DROP TRIGGER crashes_uncount;
DROP TRIGGER crashes_count;
DROP TABLE crash_groups;
DROP TABLE crash_rollup;
DROP TABLE crashes;

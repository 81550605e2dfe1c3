-- +goose Up

-- Crash time: the dump's own clock (analyses.dump_time, the minidump
-- header's TimeDateStamp) beside the upload time, so trends and group
-- histories can count a crash on the day it happened.
--
-- analyses.build_time is the latest plausible PE build time (TimeDateStamp,
-- Unix ms) of the faulting and main modules, set by the analysis
-- (store.NewAnalysis): timestamps before 1990 or after the analysis are
-- reproducible-build hashes, not dates, and are left out.
--
-- crashes.dump_time is the dump's clock as written (NULL when it has none).
-- crashes.clock_implausible marks a clock before 1990, more than a day
-- before the build time, or more than a day after the upload. crashes.crash_at
-- is the time the crash counts at on the crash clock: dump_time when
-- plausible, else the upload time; crash_day is crash_at in whole UTC days.
--
-- crash_rollup keeps the crash clock's days beside the upload days, under
-- the same dimensions prefixed 'crash:' ('crash:all', 'crash:sig', ...).
-- The triggers keep 00005's rule (the reporter's version comes first) and
-- 00009's damaged flag.
ALTER TABLE analyses ADD COLUMN build_time INTEGER;
ALTER TABLE crashes ADD COLUMN dump_time INTEGER;
ALTER TABLE crashes ADD COLUMN crash_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE crashes ADD COLUMN crash_day INTEGER NOT NULL DEFAULT 0;
ALTER TABLE crashes ADD COLUMN clock_implausible INTEGER NOT NULL DEFAULT 0;
ALTER TABLE crashes ADD COLUMN product TEXT NOT NULL DEFAULT '';
CREATE INDEX crashes_by_product ON crashes (product, at);
CREATE INDEX crashes_oom_by_crash_at ON crashes (crash_at, alloc_bytes, largest_free, signature, dump_id) WHERE oom;
CREATE INDEX crashes_damaged_by_crash_at ON crashes (crash_at) WHERE damaged;

DROP TRIGGER crashes_count;
DROP TRIGGER crashes_uncount;
DROP TRIGGER analyses_crash;
DROP TRIGGER analyses_recrash;

-- +goose StatementBegin
CREATE TRIGGER crashes_count AFTER INSERT ON crashes BEGIN
    INSERT INTO crash_rollup (dim, key, day, n)
        SELECT column1, column2, NEW.day, 1 FROM (VALUES ('all', ''), ('sig', NEW.signature), ('type', NEW.crash_type), ('module', NEW.module), ('os', NEW.os), ('version', NEW.version)) WHERE true
        ON CONFLICT (dim, key, day) DO UPDATE SET n = n + 1;
    INSERT INTO crash_rollup (dim, key, day, n)
        SELECT column1, column2, NEW.crash_day, 1 FROM (VALUES ('crash:all', ''), ('crash:sig', NEW.signature), ('crash:type', NEW.crash_type), ('crash:module', NEW.module),
            ('crash:os', NEW.os), ('crash:version', NEW.version)) WHERE true
        ON CONFLICT (dim, key, day) DO UPDATE SET n = n + 1;
    INSERT INTO crash_groups (dim, key, n, first_at, last_at)
        SELECT column1, column2, 1, NEW.at, NEW.at FROM (VALUES ('all', ''), ('sig', NEW.signature),
            ('type', NEW.crash_type), ('module', NEW.module), ('os', NEW.os), ('version', NEW.version),
            ('process', NEW.process_name), ('product', NEW.product),
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
    UPDATE crash_rollup SET n = n - 1 WHERE day = OLD.day AND (dim, key) IN (VALUES ('all', ''), ('sig', OLD.signature), ('type', OLD.crash_type), ('module', OLD.module), ('os', OLD.os), ('version', OLD.version));
    DELETE FROM crash_rollup WHERE day = OLD.day AND n <= 0 AND (dim, key) IN (VALUES ('all', ''), ('sig', OLD.signature), ('type', OLD.crash_type), ('module', OLD.module), ('os', OLD.os), ('version', OLD.version));
    UPDATE crash_rollup SET n = n - 1 WHERE day = OLD.crash_day AND (dim, key) IN (VALUES ('crash:all', ''), ('crash:sig', OLD.signature), ('crash:type', OLD.crash_type), ('crash:module', OLD.module),
            ('crash:os', OLD.os), ('crash:version', OLD.version));
    DELETE FROM crash_rollup WHERE day = OLD.crash_day AND n <= 0 AND (dim, key) IN (VALUES ('crash:all', ''), ('crash:sig', OLD.signature), ('crash:type', OLD.crash_type), ('crash:module', OLD.module),
            ('crash:os', OLD.os), ('crash:version', OLD.version));
    UPDATE crash_groups SET n = n - 1 WHERE (dim, key) IN (VALUES ('all', ''), ('sig', OLD.signature),
            ('type', OLD.crash_type), ('module', OLD.module), ('os', OLD.os), ('version', OLD.version),
            ('process', OLD.process_name), ('product', OLD.product),
            ('sig.version', OLD.signature || char(31) || OLD.version),
            ('sig.os', OLD.signature || char(31) || OLD.os),
            ('mod.version', OLD.module || char(31) || OLD.module_version),
            ('mod.sig', OLD.module || char(31) || OLD.signature));
    DELETE FROM crash_groups WHERE n <= 0 AND (dim, key) IN (VALUES ('all', ''), ('sig', OLD.signature),
            ('type', OLD.crash_type), ('module', OLD.module), ('os', OLD.os), ('version', OLD.version),
            ('process', OLD.process_name), ('product', OLD.product),
            ('sig.version', OLD.signature || char(31) || OLD.version),
            ('sig.os', OLD.signature || char(31) || OLD.os),
            ('mod.version', OLD.module || char(31) || OLD.module_version),
            ('mod.sig', OLD.module || char(31) || OLD.signature));
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER analyses_crash AFTER INSERT ON analyses BEGIN
    INSERT INTO crashes (dump_id, at, day, signature, crash_type, module, module_version, os, version, process_name,
        oom, alloc_bytes, largest_free, damaged, dump_time, crash_at, crash_day, clock_implausible, product)
    SELECT NEW.dump_id, k.up, k.up / 86400000, NEW.signature, NEW.crash_type, lower(NEW.module),
        NEW.module_version, trim(NEW.os || ' ' || NEW.os_version),
        coalesce(nullif(k.product_version, ''), json_extract(NEW.report, '$.process.version'), ''), NEW.process_name,
        instr(NEW.report, '"allocation_failure":{') > 0, NEW.alloc_bytes,
        CASE WHEN instr(NEW.report, '"allocation_failure":{') > 0
            THEN json_extract(NEW.report, '$.allocation_failure.largest_free_bytes') END,
        NEW.damaged, NEW.dump_time,
        CASE WHEN k.bad THEN k.up ELSE coalesce(NEW.dump_time, k.up) END,
        CASE WHEN k.bad THEN k.up ELSE coalesce(NEW.dump_time, k.up) END / 86400000,
        k.bad, k.product
    FROM (SELECT d.uploaded_at AS up, d.product_version, d.product,
            NEW.dump_time IS NOT NULL AND (NEW.dump_time < 631152000000
                OR NEW.dump_time < coalesce(NEW.build_time, 0) - 86400000
                OR NEW.dump_time > d.uploaded_at + 86400000) AS bad
        FROM dumps d WHERE d.id = NEW.dump_id) k;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER analyses_recrash AFTER UPDATE ON analyses BEGIN
    DELETE FROM crashes WHERE dump_id = OLD.dump_id;
    INSERT INTO crashes (dump_id, at, day, signature, crash_type, module, module_version, os, version, process_name,
        oom, alloc_bytes, largest_free, damaged, dump_time, crash_at, crash_day, clock_implausible, product)
    SELECT NEW.dump_id, k.up, k.up / 86400000, NEW.signature, NEW.crash_type, lower(NEW.module),
        NEW.module_version, trim(NEW.os || ' ' || NEW.os_version),
        coalesce(nullif(k.product_version, ''), json_extract(NEW.report, '$.process.version'), ''), NEW.process_name,
        instr(NEW.report, '"allocation_failure":{') > 0, NEW.alloc_bytes,
        CASE WHEN instr(NEW.report, '"allocation_failure":{') > 0
            THEN json_extract(NEW.report, '$.allocation_failure.largest_free_bytes') END,
        NEW.damaged, NEW.dump_time,
        CASE WHEN k.bad THEN k.up ELSE coalesce(NEW.dump_time, k.up) END,
        CASE WHEN k.bad THEN k.up ELSE coalesce(NEW.dump_time, k.up) END / 86400000,
        k.bad, k.product
    FROM (SELECT d.uploaded_at AS up, d.product_version, d.product,
            NEW.dump_time IS NOT NULL AND (NEW.dump_time < 631152000000
                OR NEW.dump_time < coalesce(NEW.build_time, 0) - 86400000
                OR NEW.dump_time > d.uploaded_at + 86400000) AS bad
        FROM dumps d WHERE d.id = NEW.dump_id) k;
END;
-- +goose StatementEnd

-- Dumps analysed before this migration: their build time from the modules
-- table (code_id starts with the TimeDateStamp in 8 hex digits; idx is the
-- report's module order, so main_module indexes it). Setting it runs the
-- recrash trigger, which files every crash on both clocks.
UPDATE analyses SET build_time = (
    SELECT max(t) * 1000 FROM (
        SELECT (instr('0123456789ABCDEF', substr(upper(m.code_id), 1, 1)) - 1) * 268435456 +
            (instr('0123456789ABCDEF', substr(upper(m.code_id), 2, 1)) - 1) * 16777216 +
            (instr('0123456789ABCDEF', substr(upper(m.code_id), 3, 1)) - 1) * 1048576 +
            (instr('0123456789ABCDEF', substr(upper(m.code_id), 4, 1)) - 1) * 65536 +
            (instr('0123456789ABCDEF', substr(upper(m.code_id), 5, 1)) - 1) * 4096 +
            (instr('0123456789ABCDEF', substr(upper(m.code_id), 6, 1)) - 1) * 256 +
            (instr('0123456789ABCDEF', substr(upper(m.code_id), 7, 1)) - 1) * 16 +
            (instr('0123456789ABCDEF', substr(upper(m.code_id), 8, 1)) - 1) * 1 AS t
        FROM modules m
        WHERE m.dump_id = analyses.dump_id AND length(m.code_id) >= 8
            AND upper(substr(m.code_id, 1, 8)) GLOB '[0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F]'
            AND (m.name = analyses.module COLLATE NOCASE OR m.idx = json_extract(analyses.report, '$.main_module')))
    WHERE t >= 631152000 AND t * 1000 <= analyses.analyzed_at + 86400000);

-- +goose Down
DROP TRIGGER analyses_recrash;
DROP TRIGGER analyses_crash;
DROP TRIGGER crashes_uncount;
DROP TRIGGER crashes_count;
DELETE FROM crash_rollup WHERE dim LIKE 'crash:%';

-- +goose StatementBegin
CREATE TRIGGER crashes_count AFTER INSERT ON crashes BEGIN
    INSERT INTO crash_rollup (dim, key, day, n)
        SELECT column1, column2, NEW.day, 1 FROM (VALUES ('all', ''), ('sig', NEW.signature), ('type', NEW.crash_type), ('module', NEW.module), ('os', NEW.os), ('version', NEW.version)) WHERE true
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
    UPDATE crash_rollup SET n = n - 1 WHERE day = OLD.day AND (dim, key) IN (VALUES ('all', ''), ('sig', OLD.signature), ('type', OLD.crash_type), ('module', OLD.module), ('os', OLD.os), ('version', OLD.version));
    DELETE FROM crash_rollup WHERE day = OLD.day AND n <= 0 AND (dim, key) IN (VALUES ('all', ''), ('sig', OLD.signature), ('type', OLD.crash_type), ('module', OLD.module), ('os', OLD.os), ('version', OLD.version));
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

-- +goose StatementBegin
CREATE TRIGGER analyses_crash AFTER INSERT ON analyses BEGIN
    INSERT INTO crashes (dump_id, at, day, signature, crash_type, module, module_version, os, version, process_name,
        oom, alloc_bytes, largest_free, damaged)
    SELECT NEW.dump_id, d.uploaded_at, d.uploaded_at / 86400000, NEW.signature, NEW.crash_type, lower(NEW.module),
        NEW.module_version, trim(NEW.os || ' ' || NEW.os_version),
        coalesce(nullif(d.product_version, ''), json_extract(NEW.report, '$.process.version'), ''), NEW.process_name,
        instr(NEW.report, '"allocation_failure":{') > 0, NEW.alloc_bytes,
        CASE WHEN instr(NEW.report, '"allocation_failure":{') > 0
            THEN json_extract(NEW.report, '$.allocation_failure.largest_free_bytes') END,
        NEW.damaged
    FROM dumps d WHERE d.id = NEW.dump_id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER analyses_recrash AFTER UPDATE ON analyses BEGIN
    DELETE FROM crashes WHERE dump_id = OLD.dump_id;
    INSERT INTO crashes (dump_id, at, day, signature, crash_type, module, module_version, os, version, process_name,
        oom, alloc_bytes, largest_free, damaged)
    SELECT NEW.dump_id, d.uploaded_at, d.uploaded_at / 86400000, NEW.signature, NEW.crash_type, lower(NEW.module),
        NEW.module_version, trim(NEW.os || ' ' || NEW.os_version),
        coalesce(nullif(d.product_version, ''), json_extract(NEW.report, '$.process.version'), ''), NEW.process_name,
        instr(NEW.report, '"allocation_failure":{') > 0, NEW.alloc_bytes,
        CASE WHEN instr(NEW.report, '"allocation_failure":{') > 0
            THEN json_extract(NEW.report, '$.allocation_failure.largest_free_bytes') END,
        NEW.damaged
    FROM dumps d WHERE d.id = NEW.dump_id;
END;
-- +goose StatementEnd

DELETE FROM crash_groups WHERE dim = 'product';
DROP INDEX crashes_by_product;
ALTER TABLE crashes DROP COLUMN product;
DROP INDEX crashes_damaged_by_crash_at;
DROP INDEX crashes_oom_by_crash_at;
ALTER TABLE crashes DROP COLUMN clock_implausible;
ALTER TABLE crashes DROP COLUMN crash_day;
ALTER TABLE crashes DROP COLUMN crash_at;
ALTER TABLE crashes DROP COLUMN dump_time;
ALTER TABLE analyses DROP COLUMN build_time;

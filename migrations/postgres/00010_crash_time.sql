-- +goose Up
-- The PostgreSQL dialect of ../00010_crash_time.sql: the crash clock beside
-- the upload clock. clock_implausible is 0/1 here too (BIGINT), so the same
-- Go code scans it on both backends.
ALTER TABLE analyses ADD COLUMN build_time BIGINT;
ALTER TABLE crashes ADD COLUMN dump_time BIGINT;
ALTER TABLE crashes ADD COLUMN crash_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE crashes ADD COLUMN crash_day BIGINT NOT NULL DEFAULT 0;
ALTER TABLE crashes ADD COLUMN clock_implausible BIGINT NOT NULL DEFAULT 0;
ALTER TABLE crashes ADD COLUMN product TEXT NOT NULL DEFAULT '';
CREATE INDEX crashes_by_product ON crashes (product, at);
CREATE INDEX crashes_oom_by_crash_at ON crashes (crash_at, alloc_bytes, largest_free, signature, dump_id) WHERE oom;
CREATE INDEX crashes_damaged_by_crash_at ON crashes (crash_at) WHERE damaged;

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION crashes_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO crash_rollup (dim, key, day, n)
        SELECT v.d, v.k, NEW.day, 1 FROM (VALUES ('all', ''), ('sig', NEW.signature),
            ('type', NEW.crash_type), ('module', NEW.module), ('os', NEW.os), ('version', NEW.version)) AS v (d, k)
        ON CONFLICT (dim, key, day) DO UPDATE SET n = crash_rollup.n + 1;
    INSERT INTO crash_rollup (dim, key, day, n)
        SELECT v.d, v.k, NEW.crash_day, 1 FROM (VALUES ('crash:all', ''), ('crash:sig', NEW.signature),
            ('crash:type', NEW.crash_type), ('crash:module', NEW.module), ('crash:os', NEW.os), ('crash:version', NEW.version)) AS v (d, k)
        ON CONFLICT (dim, key, day) DO UPDATE SET n = crash_rollup.n + 1;
    INSERT INTO crash_groups (dim, key, n, first_at, last_at)
        SELECT v.d, v.k, 1, NEW.at, NEW.at FROM (VALUES ('all', ''), ('sig', NEW.signature),
            ('type', NEW.crash_type), ('module', NEW.module), ('os', NEW.os), ('version', NEW.version),
            ('process', NEW.process_name), ('product', NEW.product),
            ('sig.version', NEW.signature || chr(31) || NEW.version),
            ('sig.os', NEW.signature || chr(31) || NEW.os),
            ('mod.version', NEW.module || chr(31) || NEW.module_version),
            ('mod.sig', NEW.module || chr(31) || NEW.signature)) AS v (d, k)
        ON CONFLICT (dim, key) DO UPDATE SET n = crash_groups.n + 1,
            first_at = least(crash_groups.first_at, excluded.first_at),
            last_at = greatest(crash_groups.last_at, excluded.last_at);
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION crashes_uncount() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE crash_rollup SET n = n - 1 WHERE day = OLD.day AND (dim, key) IN (VALUES ('all', ''), ('sig', OLD.signature),
            ('type', OLD.crash_type), ('module', OLD.module), ('os', OLD.os), ('version', OLD.version));
    DELETE FROM crash_rollup WHERE day = OLD.day AND n <= 0 AND (dim, key) IN (VALUES ('all', ''), ('sig', OLD.signature),
            ('type', OLD.crash_type), ('module', OLD.module), ('os', OLD.os), ('version', OLD.version));
    UPDATE crash_rollup SET n = n - 1 WHERE day = OLD.crash_day AND (dim, key) IN (VALUES ('crash:all', ''), ('crash:sig', OLD.signature),
            ('crash:type', OLD.crash_type), ('crash:module', OLD.module), ('crash:os', OLD.os), ('crash:version', OLD.version));
    DELETE FROM crash_rollup WHERE day = OLD.crash_day AND n <= 0 AND (dim, key) IN (VALUES ('crash:all', ''), ('crash:sig', OLD.signature),
            ('crash:type', OLD.crash_type), ('crash:module', OLD.module), ('crash:os', OLD.os), ('crash:version', OLD.version));
    UPDATE crash_groups SET n = n - 1 WHERE (dim, key) IN (VALUES ('all', ''), ('sig', OLD.signature),
            ('type', OLD.crash_type), ('module', OLD.module), ('os', OLD.os), ('version', OLD.version),
            ('process', OLD.process_name), ('product', OLD.product),
            ('sig.version', OLD.signature || chr(31) || OLD.version),
            ('sig.os', OLD.signature || chr(31) || OLD.os),
            ('mod.version', OLD.module || chr(31) || OLD.module_version),
            ('mod.sig', OLD.module || chr(31) || OLD.signature));
    DELETE FROM crash_groups WHERE n <= 0 AND (dim, key) IN (VALUES ('all', ''), ('sig', OLD.signature),
            ('type', OLD.crash_type), ('module', OLD.module), ('os', OLD.os), ('version', OLD.version),
            ('process', OLD.process_name), ('product', OLD.product),
            ('sig.version', OLD.signature || chr(31) || OLD.version),
            ('sig.os', OLD.signature || chr(31) || OLD.os),
            ('mod.version', OLD.module || chr(31) || OLD.module_version),
            ('mod.sig', OLD.module || chr(31) || OLD.signature));
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION analyses_crash() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r jsonb := NEW.report::jsonb;
    oom boolean := strpos(NEW.report, '"allocation_failure":{') > 0;
    up bigint;
    pv text;
    prod text;
    bad boolean;
    at_crash bigint;
BEGIN
    DELETE FROM crashes WHERE dump_id = NEW.dump_id;
    SELECT d.uploaded_at, d.product_version, d.product INTO up, pv, prod FROM dumps d WHERE d.id = NEW.dump_id;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    bad := NEW.dump_time IS NOT NULL AND (NEW.dump_time < 631152000000
        OR NEW.dump_time < coalesce(NEW.build_time, 0) - 86400000
        OR NEW.dump_time > up + 86400000);
    at_crash := CASE WHEN bad THEN up ELSE coalesce(NEW.dump_time, up) END;
    INSERT INTO crashes (dump_id, at, day, signature, crash_type, module, module_version, os, version, process_name,
        oom, alloc_bytes, largest_free, damaged, dump_time, crash_at, crash_day, clock_implausible, product)
    VALUES (NEW.dump_id, up, up / 86400000, NEW.signature, NEW.crash_type, lower(NEW.module),
        NEW.module_version, trim(NEW.os || ' ' || NEW.os_version),
        coalesce(nullif(pv, ''), r #>> '{process,version}', ''), NEW.process_name,
        oom, NEW.alloc_bytes,
        CASE WHEN oom THEN (r #>> '{allocation_failure,largest_free_bytes}')::numeric::bigint END,
        NEW.damaged <> 0, NEW.dump_time, at_crash, at_crash / 86400000, CASE WHEN bad THEN 1 ELSE 0 END, prod);
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- Dumps analysed before this migration (see ../00010_crash_time.sql).
UPDATE analyses SET build_time = (
    SELECT max(t) * 1000 FROM (
        SELECT ('x' || lpad(substr(m.code_id, 1, 8), 16, '0'))::bit(64)::bigint AS t
        FROM modules m
        WHERE m.dump_id = analyses.dump_id AND m.code_id ~ '^[0-9A-Fa-f]{8}'
            AND (lower(m.name) = lower(analyses.module) OR m.idx = (analyses.report::jsonb ->> 'main_module')::bigint)) b
    WHERE t >= 631152000 AND t * 1000 <= analyses.analyzed_at + 86400000);

-- +goose Down
DELETE FROM crash_rollup WHERE dim LIKE 'crash:%';

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION analyses_crash() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r jsonb := NEW.report::jsonb;
    oom boolean := strpos(NEW.report, '"allocation_failure":{') > 0;
BEGIN
    DELETE FROM crashes WHERE dump_id = NEW.dump_id;
    INSERT INTO crashes (dump_id, at, day, signature, crash_type, module, module_version, os, version, process_name,
        oom, alloc_bytes, largest_free, damaged)
    SELECT NEW.dump_id, d.uploaded_at, d.uploaded_at / 86400000, NEW.signature, NEW.crash_type, lower(NEW.module),
        NEW.module_version, trim(NEW.os || ' ' || NEW.os_version),
        coalesce(nullif(d.product_version, ''), r #>> '{process,version}', ''), NEW.process_name,
        oom, NEW.alloc_bytes,
        CASE WHEN oom THEN (r #>> '{allocation_failure,largest_free_bytes}')::numeric::bigint END,
        NEW.damaged <> 0
    FROM dumps d WHERE d.id = NEW.dump_id;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION crashes_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO crash_rollup (dim, key, day, n)
        SELECT v.d, v.k, NEW.day, 1 FROM (VALUES ('all', ''), ('sig', NEW.signature),
            ('type', NEW.crash_type), ('module', NEW.module), ('os', NEW.os), ('version', NEW.version)) AS v (d, k)
        ON CONFLICT (dim, key, day) DO UPDATE SET n = crash_rollup.n + 1;
    INSERT INTO crash_groups (dim, key, n, first_at, last_at)
        SELECT v.d, v.k, 1, NEW.at, NEW.at FROM (VALUES ('all', ''), ('sig', NEW.signature),
            ('type', NEW.crash_type), ('module', NEW.module), ('os', NEW.os), ('version', NEW.version),
            ('process', NEW.process_name),
            ('sig.version', NEW.signature || chr(31) || NEW.version),
            ('sig.os', NEW.signature || chr(31) || NEW.os),
            ('mod.version', NEW.module || chr(31) || NEW.module_version),
            ('mod.sig', NEW.module || chr(31) || NEW.signature)) AS v (d, k)
        ON CONFLICT (dim, key) DO UPDATE SET n = crash_groups.n + 1,
            first_at = least(crash_groups.first_at, excluded.first_at),
            last_at = greatest(crash_groups.last_at, excluded.last_at);
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION crashes_uncount() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE crash_rollup SET n = n - 1 WHERE day = OLD.day AND (dim, key) IN (VALUES ('all', ''), ('sig', OLD.signature),
            ('type', OLD.crash_type), ('module', OLD.module), ('os', OLD.os), ('version', OLD.version));
    DELETE FROM crash_rollup WHERE day = OLD.day AND n <= 0 AND (dim, key) IN (VALUES ('all', ''), ('sig', OLD.signature),
            ('type', OLD.crash_type), ('module', OLD.module), ('os', OLD.os), ('version', OLD.version));
    UPDATE crash_groups SET n = n - 1 WHERE (dim, key) IN (VALUES ('all', ''), ('sig', OLD.signature),
            ('type', OLD.crash_type), ('module', OLD.module), ('os', OLD.os), ('version', OLD.version),
            ('process', OLD.process_name),
            ('sig.version', OLD.signature || chr(31) || OLD.version),
            ('sig.os', OLD.signature || chr(31) || OLD.os),
            ('mod.version', OLD.module || chr(31) || OLD.module_version),
            ('mod.sig', OLD.module || chr(31) || OLD.signature));
    DELETE FROM crash_groups WHERE n <= 0 AND (dim, key) IN (VALUES ('all', ''), ('sig', OLD.signature),
            ('type', OLD.crash_type), ('module', OLD.module), ('os', OLD.os), ('version', OLD.version),
            ('process', OLD.process_name),
            ('sig.version', OLD.signature || chr(31) || OLD.version),
            ('sig.os', OLD.signature || chr(31) || OLD.os),
            ('mod.version', OLD.module || chr(31) || OLD.module_version),
            ('mod.sig', OLD.module || chr(31) || OLD.signature));
    RETURN NULL;
END $$;
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

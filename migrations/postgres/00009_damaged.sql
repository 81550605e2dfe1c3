-- +goose Up
-- The PostgreSQL dialect of ../00009_damaged.sql. crashes.damaged is a
-- boolean here (the partial index and WHERE damaged need one).
ALTER TABLE analyses ADD COLUMN damaged BIGINT NOT NULL DEFAULT 0;
ALTER TABLE crashes ADD COLUMN damaged BOOLEAN NOT NULL DEFAULT false;
CREATE INDEX crashes_damaged ON crashes (at) WHERE damaged;

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

UPDATE analyses SET damaged = 1 WHERE report::jsonb #> '{dump,truncated}' IS NOT NULL;

-- +goose Down
-- 00005's function, which knows no crashes.damaged: without it every
-- analysis stored after going down failed (TestMigrationDamaged).
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION analyses_crash() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r jsonb := NEW.report::jsonb;
    oom boolean := strpos(NEW.report, '"allocation_failure":{') > 0;
BEGIN
    DELETE FROM crashes WHERE dump_id = NEW.dump_id;
    INSERT INTO crashes (dump_id, at, day, signature, crash_type, module, module_version, os, version, process_name,
        oom, alloc_bytes, largest_free)
    SELECT NEW.dump_id, d.uploaded_at, d.uploaded_at / 86400000, NEW.signature, NEW.crash_type, lower(NEW.module),
        NEW.module_version, trim(NEW.os || ' ' || NEW.os_version),
        coalesce(nullif(d.product_version, ''), r #>> '{process,version}', ''), NEW.process_name,
        oom, NEW.alloc_bytes,
        CASE WHEN oom THEN (r #>> '{allocation_failure,largest_free_bytes}')::numeric::bigint END
    FROM dumps d WHERE d.id = NEW.dump_id;
    RETURN NULL;
END $$;
-- +goose StatementEnd
DROP INDEX crashes_damaged;
ALTER TABLE crashes DROP COLUMN damaged;
ALTER TABLE analyses DROP COLUMN damaged;

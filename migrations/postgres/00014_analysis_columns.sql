-- +goose Up
-- The PostgreSQL dialect of ../00014_analysis_columns.sql: the analysis
-- stores what the crashes trigger read from the report, so the trigger no
-- longer parses the report into jsonb (most of the server's CPU per stored
-- analysis). Rows written before (oom IS NULL) are still read from it.
ALTER TABLE analyses ADD COLUMN process_version TEXT;
ALTER TABLE analyses ADD COLUMN oom BIGINT;
ALTER TABLE analyses ADD COLUMN largest_free BIGINT;

-- Reports are compressed with lz4 where the server has it: a fraction of
-- pglz's CPU for a little more space. Existing reports stay as they are.
-- +goose StatementBegin
DO $$
BEGIN
    ALTER TABLE analyses ALTER COLUMN report SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
    NULL;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION analyses_crash() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r jsonb;
    oom boolean := NEW.oom <> 0;
    ver text := NEW.process_version;
    free bigint := NEW.largest_free;
    up bigint;
    pv text;
    prod text;
    bad boolean;
    at_crash bigint;
BEGIN
    IF NEW.oom IS NULL THEN
        -- Written before 00014: read them from the report.
        r := NEW.report::jsonb;
        oom := strpos(NEW.report, '"allocation_failure":{') > 0;
        ver := r #>> '{process,version}';
        free := (r #>> '{allocation_failure,largest_free_bytes}')::numeric::bigint;
    END IF;
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
        coalesce(nullif(pv, ''), ver, ''), NEW.process_name,
        oom, NEW.alloc_bytes,
        CASE WHEN oom THEN free END,
        NEW.damaged <> 0, NEW.dump_time, at_crash, at_crash / 86400000, CASE WHEN bad THEN 1 ELSE 0 END, prod);
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- The frames statement triggers (00002, 00011) compared every new frame
-- with every other frame of its dump: 50 ms for a stack of 128 frames, the
-- largest part of PostgreSQL's work per analysis. The same rows, counted
-- per (dump, module) pair.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION frames_stack() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- A pair counts when all of the dump's frames in that module are new:
    -- as many in the table as in the statement (dump_id, idx is the key).
    INSERT INTO crash_groups (dim, key, n, first_at, last_at)
        SELECT 'stack', p.m, count(*), min(d.uploaded_at), max(d.uploaded_at)
        FROM (SELECT n.dump_id, lower(n.module) AS m, count(*) AS k FROM new_frames n WHERE n.module != ''
            GROUP BY n.dump_id, lower(n.module)) p
        JOIN dumps d ON d.id = p.dump_id
        WHERE p.k = (SELECT count(*) FROM frames f WHERE f.dump_id = p.dump_id AND lower(f.module) = p.m)
        GROUP BY p.m
        ON CONFLICT (dim, key) DO UPDATE SET n = crash_groups.n + excluded.n,
            first_at = least(crash_groups.first_at, excluded.first_at),
            last_at = greatest(crash_groups.last_at, excluded.last_at);
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION frames_module_stack() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- The (dump, module) pairs first, then each one's version: once per
    -- pair rather than once per frame.
    INSERT INTO module_dumps (module, kind, dump_id, version, at)
    SELECT p.m, 'stack', p.dump_id,
        coalesce(CASE WHEN p.m = lower(c.process_name) THEN nullif(d.product_version, '') END,
            (SELECT m.version FROM modules m WHERE m.dump_id = p.dump_id AND lower(m.name) = p.m
                ORDER BY m.idx LIMIT 1), ''),
        c.at
    FROM (SELECT DISTINCT n.dump_id, lower(n.module) AS m FROM new_frames n WHERE n.module <> '') p
    JOIN crashes c ON c.dump_id = p.dump_id JOIN dumps d ON d.id = p.dump_id
    ORDER BY p.m, p.dump_id
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- +goose Down
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

ALTER TABLE analyses ALTER COLUMN report SET COMPRESSION default;
ALTER TABLE analyses DROP COLUMN largest_free;
ALTER TABLE analyses DROP COLUMN oom;
ALTER TABLE analyses DROP COLUMN process_version;

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION frames_stack() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO crash_groups (dim, key, n, first_at, last_at)
        SELECT 'stack', p.m, count(*), min(d.uploaded_at), max(d.uploaded_at)
        FROM (SELECT DISTINCT n.dump_id, lower(n.module) AS m FROM new_frames n WHERE n.module != '') p
        JOIN dumps d ON d.id = p.dump_id
        WHERE NOT EXISTS (SELECT 1 FROM frames f WHERE f.dump_id = p.dump_id AND lower(f.module) = p.m
            AND NOT EXISTS (SELECT 1 FROM new_frames n WHERE n.dump_id = f.dump_id AND n.idx = f.idx))
        GROUP BY p.m
        ON CONFLICT (dim, key) DO UPDATE SET n = crash_groups.n + excluded.n,
            first_at = least(crash_groups.first_at, excluded.first_at),
            last_at = greatest(crash_groups.last_at, excluded.last_at);
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION frames_module_stack() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO module_dumps (module, kind, dump_id, version, at)
    SELECT DISTINCT ON (p.m, p.dump_id) p.m, 'stack', p.dump_id,
        coalesce(CASE WHEN p.m = lower(c.process_name) THEN nullif(d.product_version, '') END,
            (SELECT m.version FROM modules m WHERE m.dump_id = p.dump_id AND lower(m.name) = p.m
                ORDER BY m.idx LIMIT 1), ''),
        c.at
    FROM (SELECT n.dump_id, lower(n.module) AS m FROM new_frames n WHERE n.module <> '') p
    JOIN crashes c ON c.dump_id = p.dump_id JOIN dumps d ON d.id = p.dump_id
    ORDER BY p.m, p.dump_id
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- +goose Up
-- The PostgreSQL dialect of ../00002_dashboard.sql: the same read side,
-- kept by PL/pgSQL triggers. Row triggers run after the whole statement
-- here (SQLite runs them per row), so the stack counts use statement
-- triggers over transition tables.
CREATE TABLE crashes (
    dump_id        BIGINT  PRIMARY KEY REFERENCES dumps (id) ON DELETE CASCADE,
    at             BIGINT  NOT NULL,
    day            BIGINT  NOT NULL,
    signature      TEXT    NOT NULL,
    crash_type     TEXT    NOT NULL,
    module         TEXT    NOT NULL,
    module_version TEXT    NOT NULL,
    os             TEXT    NOT NULL,
    version        TEXT    NOT NULL,
    process_name   TEXT    NOT NULL,
    oom            BOOLEAN NOT NULL,
    alloc_bytes    BIGINT,
    largest_free   BIGINT
);
CREATE INDEX crashes_by_at ON crashes (at);
CREATE INDEX crashes_by_signature ON crashes (signature, at);
CREATE INDEX crashes_by_module ON crashes (module, at);
CREATE INDEX crashes_by_version ON crashes (version, at);
CREATE INDEX crashes_by_type ON crashes (crash_type, at);
CREATE INDEX crashes_by_os ON crashes (os, at);
CREATE INDEX crashes_by_process ON crashes (process_name COLLATE nocase, at);
CREATE INDEX crashes_oom ON crashes (at) WHERE oom;

CREATE TABLE crash_rollup (
    dim TEXT   NOT NULL,
    key TEXT   NOT NULL,
    day BIGINT NOT NULL,
    n   BIGINT NOT NULL,
    PRIMARY KEY (dim, key, day)
);
CREATE INDEX crash_rollup_by_day ON crash_rollup (dim, day, key, n);

CREATE TABLE crash_groups (
    dim      TEXT   NOT NULL,
    key      TEXT   NOT NULL,
    n        BIGINT NOT NULL,
    first_at BIGINT NOT NULL,
    last_at  BIGINT NOT NULL,
    PRIMARY KEY (dim, key)
);
CREATE INDEX crash_groups_by_count ON crash_groups (dim, n DESC, key);

-- +goose StatementBegin
CREATE FUNCTION crashes_count() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE TRIGGER crashes_count AFTER INSERT ON crashes FOR EACH ROW EXECUTE FUNCTION crashes_count();

-- +goose StatementBegin
CREATE FUNCTION crashes_uncount() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE crash_rollup SET n = n - 1 WHERE day = OLD.day AND (dim, key) IN (VALUES ('all', ''),
        ('sig', OLD.signature), ('type', OLD.crash_type), ('module', OLD.module), ('os', OLD.os), ('version', OLD.version));
    DELETE FROM crash_rollup WHERE day = OLD.day AND n <= 0 AND (dim, key) IN (VALUES ('all', ''),
        ('sig', OLD.signature), ('type', OLD.crash_type), ('module', OLD.module), ('os', OLD.os), ('version', OLD.version));
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
CREATE TRIGGER crashes_uncount AFTER DELETE ON crashes FOR EACH ROW EXECUTE FUNCTION crashes_uncount();

-- An upsert of analyses (the dialect's INSERT OR REPLACE) fires INSERT or
-- UPDATE; either way the dump's crashes row is made again.
-- +goose StatementBegin
CREATE FUNCTION analyses_crash() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r jsonb := NEW.report::jsonb;
    oom boolean := strpos(NEW.report, '"allocation_failure":{') > 0;
BEGIN
    DELETE FROM crashes WHERE dump_id = NEW.dump_id;
    INSERT INTO crashes (dump_id, at, day, signature, crash_type, module, module_version, os, version, process_name,
        oom, alloc_bytes, largest_free)
    SELECT NEW.dump_id, d.uploaded_at, d.uploaded_at / 86400000, NEW.signature, NEW.crash_type, lower(NEW.module),
        NEW.module_version, trim(NEW.os || ' ' || NEW.os_version),
        coalesce(r #>> '{process,version}', ''), NEW.process_name,
        oom, NEW.alloc_bytes,
        CASE WHEN oom THEN (r #>> '{allocation_failure,largest_free_bytes}')::numeric::bigint END
    FROM dumps d WHERE d.id = NEW.dump_id;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER analyses_crash AFTER INSERT OR UPDATE ON analyses FOR EACH ROW EXECUTE FUNCTION analyses_crash();

-- +goose StatementBegin
CREATE FUNCTION analyses_uncrash() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM crashes WHERE dump_id = OLD.dump_id;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER analyses_uncrash AFTER DELETE ON analyses FOR EACH ROW EXECUTE FUNCTION analyses_uncrash();

-- A module counts once per dump however many of its frames the stack has:
-- the (dump, module) pairs a statement adds that no other frame had.
-- +goose StatementBegin
CREATE FUNCTION frames_stack() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE TRIGGER frames_stack AFTER INSERT ON frames REFERENCING NEW TABLE AS new_frames
    FOR EACH STATEMENT EXECUTE FUNCTION frames_stack();

-- +goose StatementBegin
CREATE FUNCTION frames_unstack() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH gone AS (
        SELECT p.m, count(*) AS k
        FROM (SELECT DISTINCT o.dump_id, lower(o.module) AS m FROM old_frames o WHERE o.module != '') p
        WHERE NOT EXISTS (SELECT 1 FROM frames f WHERE f.dump_id = p.dump_id AND lower(f.module) = p.m)
        GROUP BY p.m)
    UPDATE crash_groups g SET n = g.n - gone.k FROM gone WHERE g.dim = 'stack' AND g.key = gone.m;
    DELETE FROM crash_groups WHERE dim = 'stack' AND n <= 0;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER frames_unstack AFTER DELETE ON frames REFERENCING OLD TABLE AS old_frames
    FOR EACH STATEMENT EXECUTE FUNCTION frames_unstack();

-- +goose Down
DROP TABLE crash_groups;
DROP TABLE crash_rollup;
DROP TABLE crashes;
DROP FUNCTION frames_unstack;
DROP FUNCTION frames_stack;
DROP FUNCTION analyses_uncrash;
DROP FUNCTION analyses_crash;
DROP FUNCTION crashes_uncount;
DROP FUNCTION crashes_count;

-- +goose Up
-- The PostgreSQL dialect of ../00013_filter_rollups.sql.
CREATE TABLE filter_rollup (
    fdim TEXT    NOT NULL,
    fkey TEXT    NOT NULL,
    dim  TEXT    NOT NULL,
    day  BIGINT  NOT NULL,
    key  TEXT    NOT NULL,
    n    BIGINT  NOT NULL,
    PRIMARY KEY (fdim, fkey, dim, day, key)
);

CREATE TABLE filter_sig_rollup (
    fdim TEXT    NOT NULL,
    fkey TEXT    NOT NULL,
    sig  TEXT    NOT NULL,
    day  BIGINT  NOT NULL,
    n    BIGINT  NOT NULL,
    PRIMARY KEY (fdim, fkey, sig, day)
);

CREATE TABLE filter_groups (
    fdim     TEXT    NOT NULL,
    fkey     TEXT    NOT NULL,
    dim      TEXT    NOT NULL,
    key      TEXT    NOT NULL,
    n        BIGINT  NOT NULL,
    first_at BIGINT  NOT NULL,
    last_at  BIGINT  NOT NULL,
    PRIMARY KEY (fdim, fkey, dim, key)
);
CREATE INDEX filter_groups_by_count ON filter_groups (fdim, fkey, dim, n DESC, key);

-- The out-of-memory chart: crash_rollup counts OOM crashes per day on both
-- clocks (dims 'oom' and 'crash:oom', key ''), and these partial indexes,
-- in (time, dump_id) order, hold every column the chart and the filters
-- read, so its every-n-th points are read by skipping index entries
-- (OFFSET from the last point), not crash rows.
DROP INDEX crashes_oom;
DROP INDEX crashes_oom_by_crash_at;
CREATE INDEX crashes_oom_cover ON crashes (at, dump_id, signature, process_name, module, product, version, damaged,
    alloc_bytes, largest_free) WHERE oom;
CREATE INDEX crashes_oom_by_crash_at ON crashes (crash_at, dump_id, signature, process_name, module, product, version,
    damaged, alloc_bytes, largest_free) WHERE oom;
-- Without a filter or damaged dumps to leave out, the points skip entries
-- of these narrow ones: a sixth of the pages.
CREATE INDEX crashes_oom_seq ON crashes (at, dump_id) WHERE oom;
CREATE INDEX crashes_oom_seq_by_crash_at ON crashes (crash_at, dump_id) WHERE oom;

-- +goose StatementBegin
CREATE FUNCTION crashes_filter_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO filter_rollup (fdim, fkey, dim, day, key, n)
        SELECT v.f, v.fk, v.d, NEW.crash_day, v.k, 1 FROM (VALUES ('crash:sig', NEW.signature, 'type', NEW.crash_type),
            ('crash:sig', NEW.signature, 'module', NEW.module),
            ('crash:sig', NEW.signature, 'os', NEW.os),
            ('crash:sig', NEW.signature, 'version', NEW.version),
            ('crash:module', NEW.module, 'type', NEW.crash_type),
            ('crash:module', NEW.module, 'os', NEW.os),
            ('crash:module', NEW.module, 'version', NEW.version),
            ('crash:version', NEW.version, 'type', NEW.crash_type),
            ('crash:version', NEW.version, 'module', NEW.module),
            ('crash:version', NEW.version, 'os', NEW.os),
            ('crash:process', NEW.process_name, 'all', ''),
            ('crash:process', NEW.process_name, 'type', NEW.crash_type),
            ('crash:process', NEW.process_name, 'module', NEW.module),
            ('crash:process', NEW.process_name, 'os', NEW.os),
            ('crash:process', NEW.process_name, 'version', NEW.version),
            ('crash:product', NEW.product, 'all', ''),
            ('crash:product', NEW.product, 'type', NEW.crash_type),
            ('crash:product', NEW.product, 'module', NEW.module),
            ('crash:product', NEW.product, 'os', NEW.os),
            ('crash:product', NEW.product, 'version', NEW.version)) AS v (f, fk, d, k)
        ON CONFLICT (fdim, fkey, dim, day, key) DO UPDATE SET n = filter_rollup.n + 1;
    INSERT INTO filter_sig_rollup (fdim, fkey, sig, day, n)
        SELECT v.f, v.fk, NEW.signature, NEW.crash_day, 1 FROM (VALUES ('crash:module', NEW.module), ('crash:version', NEW.version), ('crash:process', NEW.process_name), ('crash:product', NEW.product)) AS v (f, fk)
        ON CONFLICT (fdim, fkey, sig, day) DO UPDATE SET n = filter_sig_rollup.n + 1;
    INSERT INTO filter_groups (fdim, fkey, dim, key, n, first_at, last_at)
        SELECT v.f, v.fk, v.d, v.k, 1, NEW.at, NEW.at FROM (VALUES ('sig', NEW.signature, 'module', NEW.module),
            ('module', NEW.module, 'sig', NEW.signature),
            ('version', NEW.version, 'sig', NEW.signature),
            ('version', NEW.version, 'module', NEW.module),
            ('process', NEW.process_name, 'sig', NEW.signature),
            ('process', NEW.process_name, 'module', NEW.module),
            ('product', NEW.product, 'sig', NEW.signature),
            ('product', NEW.product, 'module', NEW.module)) AS v (f, fk, d, k)
        ON CONFLICT (fdim, fkey, dim, key) DO UPDATE SET n = filter_groups.n + 1,
            first_at = least(filter_groups.first_at, excluded.first_at),
            last_at = greatest(filter_groups.last_at, excluded.last_at);
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER crashes_filter_count AFTER INSERT ON crashes FOR EACH ROW EXECUTE FUNCTION crashes_filter_count();

-- +goose StatementBegin
CREATE FUNCTION crashes_filter_uncount() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE filter_rollup SET n = n - 1 WHERE day = OLD.crash_day AND (fdim, fkey, dim, key) IN (VALUES ('crash:sig', OLD.signature, 'type', OLD.crash_type),
            ('crash:sig', OLD.signature, 'module', OLD.module),
            ('crash:sig', OLD.signature, 'os', OLD.os),
            ('crash:sig', OLD.signature, 'version', OLD.version),
            ('crash:module', OLD.module, 'type', OLD.crash_type),
            ('crash:module', OLD.module, 'os', OLD.os),
            ('crash:module', OLD.module, 'version', OLD.version),
            ('crash:version', OLD.version, 'type', OLD.crash_type),
            ('crash:version', OLD.version, 'module', OLD.module),
            ('crash:version', OLD.version, 'os', OLD.os),
            ('crash:process', OLD.process_name, 'all', ''),
            ('crash:process', OLD.process_name, 'type', OLD.crash_type),
            ('crash:process', OLD.process_name, 'module', OLD.module),
            ('crash:process', OLD.process_name, 'os', OLD.os),
            ('crash:process', OLD.process_name, 'version', OLD.version),
            ('crash:product', OLD.product, 'all', ''),
            ('crash:product', OLD.product, 'type', OLD.crash_type),
            ('crash:product', OLD.product, 'module', OLD.module),
            ('crash:product', OLD.product, 'os', OLD.os),
            ('crash:product', OLD.product, 'version', OLD.version));
    DELETE FROM filter_rollup WHERE n <= 0 AND day = OLD.crash_day AND (fdim, fkey, dim, key) IN (VALUES ('crash:sig', OLD.signature, 'type', OLD.crash_type),
            ('crash:sig', OLD.signature, 'module', OLD.module),
            ('crash:sig', OLD.signature, 'os', OLD.os),
            ('crash:sig', OLD.signature, 'version', OLD.version),
            ('crash:module', OLD.module, 'type', OLD.crash_type),
            ('crash:module', OLD.module, 'os', OLD.os),
            ('crash:module', OLD.module, 'version', OLD.version),
            ('crash:version', OLD.version, 'type', OLD.crash_type),
            ('crash:version', OLD.version, 'module', OLD.module),
            ('crash:version', OLD.version, 'os', OLD.os),
            ('crash:process', OLD.process_name, 'all', ''),
            ('crash:process', OLD.process_name, 'type', OLD.crash_type),
            ('crash:process', OLD.process_name, 'module', OLD.module),
            ('crash:process', OLD.process_name, 'os', OLD.os),
            ('crash:process', OLD.process_name, 'version', OLD.version),
            ('crash:product', OLD.product, 'all', ''),
            ('crash:product', OLD.product, 'type', OLD.crash_type),
            ('crash:product', OLD.product, 'module', OLD.module),
            ('crash:product', OLD.product, 'os', OLD.os),
            ('crash:product', OLD.product, 'version', OLD.version));
    UPDATE filter_sig_rollup SET n = n - 1 WHERE sig = OLD.signature AND day = OLD.crash_day AND (fdim, fkey) IN (VALUES ('crash:module', OLD.module), ('crash:version', OLD.version), ('crash:process', OLD.process_name), ('crash:product', OLD.product));
    DELETE FROM filter_sig_rollup WHERE n <= 0 AND sig = OLD.signature AND day = OLD.crash_day AND (fdim, fkey) IN (VALUES ('crash:module', OLD.module), ('crash:version', OLD.version), ('crash:process', OLD.process_name), ('crash:product', OLD.product));
    UPDATE filter_groups SET n = n - 1 WHERE (fdim, fkey, dim, key) IN (VALUES ('sig', OLD.signature, 'module', OLD.module),
            ('module', OLD.module, 'sig', OLD.signature),
            ('version', OLD.version, 'sig', OLD.signature),
            ('version', OLD.version, 'module', OLD.module),
            ('process', OLD.process_name, 'sig', OLD.signature),
            ('process', OLD.process_name, 'module', OLD.module),
            ('product', OLD.product, 'sig', OLD.signature),
            ('product', OLD.product, 'module', OLD.module));
    DELETE FROM filter_groups WHERE n <= 0 AND (fdim, fkey, dim, key) IN (VALUES ('sig', OLD.signature, 'module', OLD.module),
            ('module', OLD.module, 'sig', OLD.signature),
            ('version', OLD.version, 'sig', OLD.signature),
            ('version', OLD.version, 'module', OLD.module),
            ('process', OLD.process_name, 'sig', OLD.signature),
            ('process', OLD.process_name, 'module', OLD.module),
            ('product', OLD.product, 'sig', OLD.signature),
            ('product', OLD.product, 'module', OLD.module));
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER crashes_filter_uncount AFTER DELETE ON crashes FOR EACH ROW EXECUTE FUNCTION crashes_filter_uncount();

-- +goose StatementBegin
CREATE FUNCTION crashes_oom_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO crash_rollup (dim, key, day, n) VALUES ('oom', '', NEW.day, 1)
        ON CONFLICT (dim, key, day) DO UPDATE SET n = crash_rollup.n + 1;
    INSERT INTO crash_rollup (dim, key, day, n) VALUES ('crash:oom', '', NEW.crash_day, 1)
        ON CONFLICT (dim, key, day) DO UPDATE SET n = crash_rollup.n + 1;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER crashes_oom_count AFTER INSERT ON crashes FOR EACH ROW WHEN (NEW.oom) EXECUTE FUNCTION crashes_oom_count();

-- +goose StatementBegin
CREATE FUNCTION crashes_oom_uncount() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE crash_rollup SET n = n - 1 WHERE dim = 'oom' AND key = '' AND day = OLD.day;
    DELETE FROM crash_rollup WHERE dim = 'oom' AND key = '' AND day = OLD.day AND n <= 0;
    UPDATE crash_rollup SET n = n - 1 WHERE dim = 'crash:oom' AND key = '' AND day = OLD.crash_day;
    DELETE FROM crash_rollup WHERE dim = 'crash:oom' AND key = '' AND day = OLD.crash_day AND n <= 0;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER crashes_oom_uncount AFTER DELETE ON crashes FOR EACH ROW WHEN (OLD.oom) EXECUTE FUNCTION crashes_oom_uncount();

-- +goose StatementBegin
CREATE FUNCTION crashes_filter_oom() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO filter_rollup (fdim, fkey, dim, day, key, n)
        SELECT v.f, v.fk, 'oom', NEW.crash_day, '', 1 FROM (VALUES ('crash:sig', NEW.signature), ('crash:module', NEW.module), ('crash:version', NEW.version), ('crash:process', NEW.process_name), ('crash:product', NEW.product)) AS v (f, fk)
        ON CONFLICT (fdim, fkey, dim, day, key) DO UPDATE SET n = filter_rollup.n + 1;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER crashes_filter_oom AFTER INSERT ON crashes FOR EACH ROW WHEN (NEW.oom) EXECUTE FUNCTION crashes_filter_oom();

-- +goose StatementBegin
CREATE FUNCTION crashes_filter_unoom() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE filter_rollup SET n = n - 1 WHERE dim = 'oom' AND key = '' AND day = OLD.crash_day AND (fdim, fkey) IN (VALUES ('crash:sig', OLD.signature), ('crash:module', OLD.module), ('crash:version', OLD.version), ('crash:process', OLD.process_name), ('crash:product', OLD.product));
    DELETE FROM filter_rollup WHERE dim = 'oom' AND key = '' AND day = OLD.crash_day AND n <= 0 AND (fdim, fkey) IN (VALUES ('crash:sig', OLD.signature), ('crash:module', OLD.module), ('crash:version', OLD.version), ('crash:process', OLD.process_name), ('crash:product', OLD.product));
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER crashes_filter_unoom AFTER DELETE ON crashes FOR EACH ROW WHEN (OLD.oom) EXECUTE FUNCTION crashes_filter_unoom();

INSERT INTO filter_rollup (fdim, fkey, dim, day, key, n)
SELECT 'crash:sig', signature, 'type', crash_day, crash_type, count(*) FROM crashes GROUP BY signature, crash_day, crash_type
UNION ALL SELECT 'crash:sig', signature, 'module', crash_day, module, count(*) FROM crashes GROUP BY signature, crash_day, module
UNION ALL SELECT 'crash:sig', signature, 'os', crash_day, os, count(*) FROM crashes GROUP BY signature, crash_day, os
UNION ALL SELECT 'crash:sig', signature, 'version', crash_day, version, count(*) FROM crashes GROUP BY signature, crash_day, version
UNION ALL SELECT 'crash:module', module, 'type', crash_day, crash_type, count(*) FROM crashes GROUP BY module, crash_day, crash_type
UNION ALL SELECT 'crash:module', module, 'os', crash_day, os, count(*) FROM crashes GROUP BY module, crash_day, os
UNION ALL SELECT 'crash:module', module, 'version', crash_day, version, count(*) FROM crashes GROUP BY module, crash_day, version
UNION ALL SELECT 'crash:version', version, 'type', crash_day, crash_type, count(*) FROM crashes GROUP BY version, crash_day, crash_type
UNION ALL SELECT 'crash:version', version, 'module', crash_day, module, count(*) FROM crashes GROUP BY version, crash_day, module
UNION ALL SELECT 'crash:version', version, 'os', crash_day, os, count(*) FROM crashes GROUP BY version, crash_day, os
UNION ALL SELECT 'crash:process', process_name, 'all', crash_day, '', count(*) FROM crashes GROUP BY process_name, crash_day
UNION ALL SELECT 'crash:process', process_name, 'type', crash_day, crash_type, count(*) FROM crashes GROUP BY process_name, crash_day, crash_type
UNION ALL SELECT 'crash:process', process_name, 'module', crash_day, module, count(*) FROM crashes GROUP BY process_name, crash_day, module
UNION ALL SELECT 'crash:process', process_name, 'os', crash_day, os, count(*) FROM crashes GROUP BY process_name, crash_day, os
UNION ALL SELECT 'crash:process', process_name, 'version', crash_day, version, count(*) FROM crashes GROUP BY process_name, crash_day, version
UNION ALL SELECT 'crash:product', product, 'all', crash_day, '', count(*) FROM crashes GROUP BY product, crash_day
UNION ALL SELECT 'crash:product', product, 'type', crash_day, crash_type, count(*) FROM crashes GROUP BY product, crash_day, crash_type
UNION ALL SELECT 'crash:product', product, 'module', crash_day, module, count(*) FROM crashes GROUP BY product, crash_day, module
UNION ALL SELECT 'crash:product', product, 'os', crash_day, os, count(*) FROM crashes GROUP BY product, crash_day, os
UNION ALL SELECT 'crash:product', product, 'version', crash_day, version, count(*) FROM crashes GROUP BY product, crash_day, version;

INSERT INTO filter_sig_rollup (fdim, fkey, sig, day, n)
SELECT 'crash:module', module, signature, crash_day, count(*) FROM crashes GROUP BY module, signature, crash_day
UNION ALL SELECT 'crash:version', version, signature, crash_day, count(*) FROM crashes GROUP BY version, signature, crash_day
UNION ALL SELECT 'crash:process', process_name, signature, crash_day, count(*) FROM crashes GROUP BY process_name, signature, crash_day
UNION ALL SELECT 'crash:product', product, signature, crash_day, count(*) FROM crashes GROUP BY product, signature, crash_day;

INSERT INTO filter_groups (fdim, fkey, dim, key, n, first_at, last_at)
SELECT 'sig', signature, 'module', module, count(*), min(at), max(at) FROM crashes GROUP BY signature, module
UNION ALL SELECT 'module', module, 'sig', signature, count(*), min(at), max(at) FROM crashes GROUP BY module, signature
UNION ALL SELECT 'version', version, 'sig', signature, count(*), min(at), max(at) FROM crashes GROUP BY version, signature
UNION ALL SELECT 'version', version, 'module', module, count(*), min(at), max(at) FROM crashes GROUP BY version, module
UNION ALL SELECT 'process', process_name, 'sig', signature, count(*), min(at), max(at) FROM crashes GROUP BY process_name, signature
UNION ALL SELECT 'process', process_name, 'module', module, count(*), min(at), max(at) FROM crashes GROUP BY process_name, module
UNION ALL SELECT 'product', product, 'sig', signature, count(*), min(at), max(at) FROM crashes GROUP BY product, signature
UNION ALL SELECT 'product', product, 'module', module, count(*), min(at), max(at) FROM crashes GROUP BY product, module;

INSERT INTO crash_rollup (dim, key, day, n) SELECT 'oom', '', day, count(*) FROM crashes WHERE oom GROUP BY day;
INSERT INTO crash_rollup (dim, key, day, n) SELECT 'crash:oom', '', crash_day, count(*) FROM crashes WHERE oom GROUP BY crash_day;
INSERT INTO filter_rollup (fdim, fkey, dim, day, key, n) SELECT 'crash:sig', signature, 'oom', crash_day, '', count(*) FROM crashes WHERE oom GROUP BY signature, crash_day;
INSERT INTO filter_rollup (fdim, fkey, dim, day, key, n) SELECT 'crash:module', module, 'oom', crash_day, '', count(*) FROM crashes WHERE oom GROUP BY module, crash_day;
INSERT INTO filter_rollup (fdim, fkey, dim, day, key, n) SELECT 'crash:version', version, 'oom', crash_day, '', count(*) FROM crashes WHERE oom GROUP BY version, crash_day;
INSERT INTO filter_rollup (fdim, fkey, dim, day, key, n) SELECT 'crash:process', process_name, 'oom', crash_day, '', count(*) FROM crashes WHERE oom GROUP BY process_name, crash_day;
INSERT INTO filter_rollup (fdim, fkey, dim, day, key, n) SELECT 'crash:product', product, 'oom', crash_day, '', count(*) FROM crashes WHERE oom GROUP BY product, crash_day;

-- +goose Down
DROP TRIGGER crashes_filter_unoom ON crashes;
DROP TRIGGER crashes_filter_oom ON crashes;
DROP FUNCTION crashes_filter_unoom();
DROP FUNCTION crashes_filter_oom();
DROP TRIGGER crashes_oom_uncount ON crashes;
DROP TRIGGER crashes_oom_count ON crashes;
DROP FUNCTION crashes_oom_uncount();
DROP FUNCTION crashes_oom_count();
DELETE FROM crash_rollup WHERE dim IN ('oom', 'crash:oom');
DROP TRIGGER crashes_filter_uncount ON crashes;
DROP TRIGGER crashes_filter_count ON crashes;
DROP FUNCTION crashes_filter_uncount();
DROP FUNCTION crashes_filter_count();
DROP INDEX crashes_oom_seq_by_crash_at;
DROP INDEX crashes_oom_seq;
DROP INDEX crashes_oom_by_crash_at;
DROP INDEX crashes_oom_cover;
CREATE INDEX crashes_oom ON crashes (at) WHERE oom;
CREATE INDEX crashes_oom_by_crash_at ON crashes (crash_at, alloc_bytes, largest_free, signature, dump_id) WHERE oom;
DROP TABLE filter_groups;
DROP TABLE filter_sig_rollup;
DROP TABLE filter_rollup;

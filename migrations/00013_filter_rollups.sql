-- +goose Up

-- Rollups of the crashes that match a search filter, so the filtered
-- trends, signature and module lists sum rollup rows over the filter's
-- matched keys (store/search.go) instead of reading every matching crash.
-- A filter is a field (fdim: sig, module, version, process, product) and
-- one of its keys (fkey). The days are the crash clock's (crashes.crash_day,
-- 00010), the trends' default, and fdim is prefixed 'crash:' as
-- crash_rollup's dims: the upload clock's filtered trends still read the
-- crashes, which spares ingest half the upserts.
--
-- filter_rollup: per filter key, UTC day and key of another dimension
-- (dim: all, type, module, os, version), the crashes. Pairs crash_rollup
-- already answers are left out: a filter on its own dimension, and the
-- totals ('all') of the sig, module and version filters.
-- filter_sig_rollup: the same by signature (dim sig), keyed for reading one
-- signature's days, which the trends' top crashers do.
-- filter_groups: all-time, per filter key and signature or faulting module,
-- the crashes with first and last upload time, which only widen (as
-- crash_groups').

CREATE TABLE filter_rollup (
    fdim TEXT    NOT NULL,
    fkey TEXT    NOT NULL,
    dim  TEXT    NOT NULL,
    day  INTEGER NOT NULL,
    key  TEXT    NOT NULL,
    n    INTEGER NOT NULL,
    PRIMARY KEY (fdim, fkey, dim, day, key)
) WITHOUT ROWID;

CREATE TABLE filter_sig_rollup (
    fdim TEXT    NOT NULL,
    fkey TEXT    NOT NULL,
    sig  TEXT    NOT NULL,
    day  INTEGER NOT NULL,
    n    INTEGER NOT NULL,
    PRIMARY KEY (fdim, fkey, sig, day)
) WITHOUT ROWID;

CREATE TABLE filter_groups (
    fdim     TEXT    NOT NULL,
    fkey     TEXT    NOT NULL,
    dim      TEXT    NOT NULL,
    key      TEXT    NOT NULL,
    n        INTEGER NOT NULL,
    first_at INTEGER NOT NULL,
    last_at  INTEGER NOT NULL,
    PRIMARY KEY (fdim, fkey, dim, key)
) WITHOUT ROWID;
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
CREATE TRIGGER crashes_filter_count AFTER INSERT ON crashes BEGIN
    INSERT INTO filter_rollup (fdim, fkey, dim, day, key, n)
        SELECT f, fk, d, NEW.crash_day, k, 1 FROM (SELECT 'crash:sig' AS f, NEW.signature AS fk, 'type' AS d, NEW.crash_type AS k
            UNION ALL SELECT 'crash:sig', NEW.signature, 'module', NEW.module
            UNION ALL SELECT 'crash:sig', NEW.signature, 'os', NEW.os
            UNION ALL SELECT 'crash:sig', NEW.signature, 'version', NEW.version
            UNION ALL SELECT 'crash:module', NEW.module, 'type', NEW.crash_type
            UNION ALL SELECT 'crash:module', NEW.module, 'os', NEW.os
            UNION ALL SELECT 'crash:module', NEW.module, 'version', NEW.version
            UNION ALL SELECT 'crash:version', NEW.version, 'type', NEW.crash_type
            UNION ALL SELECT 'crash:version', NEW.version, 'module', NEW.module
            UNION ALL SELECT 'crash:version', NEW.version, 'os', NEW.os
            UNION ALL SELECT 'crash:process', NEW.process_name, 'all', ''
            UNION ALL SELECT 'crash:process', NEW.process_name, 'type', NEW.crash_type
            UNION ALL SELECT 'crash:process', NEW.process_name, 'module', NEW.module
            UNION ALL SELECT 'crash:process', NEW.process_name, 'os', NEW.os
            UNION ALL SELECT 'crash:process', NEW.process_name, 'version', NEW.version
            UNION ALL SELECT 'crash:product', NEW.product, 'all', ''
            UNION ALL SELECT 'crash:product', NEW.product, 'type', NEW.crash_type
            UNION ALL SELECT 'crash:product', NEW.product, 'module', NEW.module
            UNION ALL SELECT 'crash:product', NEW.product, 'os', NEW.os
            UNION ALL SELECT 'crash:product', NEW.product, 'version', NEW.version) WHERE true
        ON CONFLICT (fdim, fkey, dim, day, key) DO UPDATE SET n = n + 1;
    INSERT INTO filter_sig_rollup (fdim, fkey, sig, day, n)
        SELECT f, fk, NEW.signature, NEW.crash_day, 1 FROM (SELECT 'crash:module' AS f, NEW.module AS fk
            UNION ALL SELECT 'crash:version', NEW.version
            UNION ALL SELECT 'crash:process', NEW.process_name
            UNION ALL SELECT 'crash:product', NEW.product) WHERE true
        ON CONFLICT (fdim, fkey, sig, day) DO UPDATE SET n = n + 1;
    INSERT INTO filter_groups (fdim, fkey, dim, key, n, first_at, last_at)
        SELECT f, fk, d, k, 1, NEW.at, NEW.at FROM (SELECT 'sig' AS f, NEW.signature AS fk, 'module' AS d, NEW.module AS k
            UNION ALL SELECT 'module', NEW.module, 'sig', NEW.signature
            UNION ALL SELECT 'version', NEW.version, 'sig', NEW.signature
            UNION ALL SELECT 'version', NEW.version, 'module', NEW.module
            UNION ALL SELECT 'process', NEW.process_name, 'sig', NEW.signature
            UNION ALL SELECT 'process', NEW.process_name, 'module', NEW.module
            UNION ALL SELECT 'product', NEW.product, 'sig', NEW.signature
            UNION ALL SELECT 'product', NEW.product, 'module', NEW.module) WHERE true
        ON CONFLICT (fdim, fkey, dim, key) DO UPDATE SET n = n + 1, first_at = min(first_at, excluded.first_at),
            last_at = max(last_at, excluded.last_at);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER crashes_filter_uncount AFTER DELETE ON crashes BEGIN
    UPDATE filter_rollup SET n = n - 1 WHERE day = OLD.crash_day AND ((fdim = 'crash:sig' AND fkey = OLD.signature AND dim = 'type' AND key = OLD.crash_type)
            OR (fdim = 'crash:sig' AND fkey = OLD.signature AND dim = 'module' AND key = OLD.module)
            OR (fdim = 'crash:sig' AND fkey = OLD.signature AND dim = 'os' AND key = OLD.os)
            OR (fdim = 'crash:sig' AND fkey = OLD.signature AND dim = 'version' AND key = OLD.version)
            OR (fdim = 'crash:module' AND fkey = OLD.module AND dim = 'type' AND key = OLD.crash_type)
            OR (fdim = 'crash:module' AND fkey = OLD.module AND dim = 'os' AND key = OLD.os)
            OR (fdim = 'crash:module' AND fkey = OLD.module AND dim = 'version' AND key = OLD.version)
            OR (fdim = 'crash:version' AND fkey = OLD.version AND dim = 'type' AND key = OLD.crash_type)
            OR (fdim = 'crash:version' AND fkey = OLD.version AND dim = 'module' AND key = OLD.module)
            OR (fdim = 'crash:version' AND fkey = OLD.version AND dim = 'os' AND key = OLD.os)
            OR (fdim = 'crash:process' AND fkey = OLD.process_name AND dim = 'all' AND key = '')
            OR (fdim = 'crash:process' AND fkey = OLD.process_name AND dim = 'type' AND key = OLD.crash_type)
            OR (fdim = 'crash:process' AND fkey = OLD.process_name AND dim = 'module' AND key = OLD.module)
            OR (fdim = 'crash:process' AND fkey = OLD.process_name AND dim = 'os' AND key = OLD.os)
            OR (fdim = 'crash:process' AND fkey = OLD.process_name AND dim = 'version' AND key = OLD.version)
            OR (fdim = 'crash:product' AND fkey = OLD.product AND dim = 'all' AND key = '')
            OR (fdim = 'crash:product' AND fkey = OLD.product AND dim = 'type' AND key = OLD.crash_type)
            OR (fdim = 'crash:product' AND fkey = OLD.product AND dim = 'module' AND key = OLD.module)
            OR (fdim = 'crash:product' AND fkey = OLD.product AND dim = 'os' AND key = OLD.os)
            OR (fdim = 'crash:product' AND fkey = OLD.product AND dim = 'version' AND key = OLD.version));
    DELETE FROM filter_rollup WHERE day = OLD.crash_day AND n <= 0 AND ((fdim = 'crash:sig' AND fkey = OLD.signature AND dim = 'type' AND key = OLD.crash_type)
            OR (fdim = 'crash:sig' AND fkey = OLD.signature AND dim = 'module' AND key = OLD.module)
            OR (fdim = 'crash:sig' AND fkey = OLD.signature AND dim = 'os' AND key = OLD.os)
            OR (fdim = 'crash:sig' AND fkey = OLD.signature AND dim = 'version' AND key = OLD.version)
            OR (fdim = 'crash:module' AND fkey = OLD.module AND dim = 'type' AND key = OLD.crash_type)
            OR (fdim = 'crash:module' AND fkey = OLD.module AND dim = 'os' AND key = OLD.os)
            OR (fdim = 'crash:module' AND fkey = OLD.module AND dim = 'version' AND key = OLD.version)
            OR (fdim = 'crash:version' AND fkey = OLD.version AND dim = 'type' AND key = OLD.crash_type)
            OR (fdim = 'crash:version' AND fkey = OLD.version AND dim = 'module' AND key = OLD.module)
            OR (fdim = 'crash:version' AND fkey = OLD.version AND dim = 'os' AND key = OLD.os)
            OR (fdim = 'crash:process' AND fkey = OLD.process_name AND dim = 'all' AND key = '')
            OR (fdim = 'crash:process' AND fkey = OLD.process_name AND dim = 'type' AND key = OLD.crash_type)
            OR (fdim = 'crash:process' AND fkey = OLD.process_name AND dim = 'module' AND key = OLD.module)
            OR (fdim = 'crash:process' AND fkey = OLD.process_name AND dim = 'os' AND key = OLD.os)
            OR (fdim = 'crash:process' AND fkey = OLD.process_name AND dim = 'version' AND key = OLD.version)
            OR (fdim = 'crash:product' AND fkey = OLD.product AND dim = 'all' AND key = '')
            OR (fdim = 'crash:product' AND fkey = OLD.product AND dim = 'type' AND key = OLD.crash_type)
            OR (fdim = 'crash:product' AND fkey = OLD.product AND dim = 'module' AND key = OLD.module)
            OR (fdim = 'crash:product' AND fkey = OLD.product AND dim = 'os' AND key = OLD.os)
            OR (fdim = 'crash:product' AND fkey = OLD.product AND dim = 'version' AND key = OLD.version));
    UPDATE filter_sig_rollup SET n = n - 1 WHERE sig = OLD.signature AND day = OLD.crash_day AND ((fdim = 'crash:module' AND fkey = OLD.module)
            OR (fdim = 'crash:version' AND fkey = OLD.version)
            OR (fdim = 'crash:process' AND fkey = OLD.process_name)
            OR (fdim = 'crash:product' AND fkey = OLD.product));
    DELETE FROM filter_sig_rollup WHERE sig = OLD.signature AND day = OLD.crash_day AND n <= 0 AND ((fdim = 'crash:module' AND fkey = OLD.module)
            OR (fdim = 'crash:version' AND fkey = OLD.version)
            OR (fdim = 'crash:process' AND fkey = OLD.process_name)
            OR (fdim = 'crash:product' AND fkey = OLD.product));
    UPDATE filter_groups SET n = n - 1 WHERE (fdim = 'sig' AND fkey = OLD.signature AND dim = 'module' AND key = OLD.module)
            OR (fdim = 'module' AND fkey = OLD.module AND dim = 'sig' AND key = OLD.signature)
            OR (fdim = 'version' AND fkey = OLD.version AND dim = 'sig' AND key = OLD.signature)
            OR (fdim = 'version' AND fkey = OLD.version AND dim = 'module' AND key = OLD.module)
            OR (fdim = 'process' AND fkey = OLD.process_name AND dim = 'sig' AND key = OLD.signature)
            OR (fdim = 'process' AND fkey = OLD.process_name AND dim = 'module' AND key = OLD.module)
            OR (fdim = 'product' AND fkey = OLD.product AND dim = 'sig' AND key = OLD.signature)
            OR (fdim = 'product' AND fkey = OLD.product AND dim = 'module' AND key = OLD.module);
    DELETE FROM filter_groups WHERE n <= 0 AND ((fdim = 'sig' AND fkey = OLD.signature AND dim = 'module' AND key = OLD.module)
            OR (fdim = 'module' AND fkey = OLD.module AND dim = 'sig' AND key = OLD.signature)
            OR (fdim = 'version' AND fkey = OLD.version AND dim = 'sig' AND key = OLD.signature)
            OR (fdim = 'version' AND fkey = OLD.version AND dim = 'module' AND key = OLD.module)
            OR (fdim = 'process' AND fkey = OLD.process_name AND dim = 'sig' AND key = OLD.signature)
            OR (fdim = 'process' AND fkey = OLD.process_name AND dim = 'module' AND key = OLD.module)
            OR (fdim = 'product' AND fkey = OLD.product AND dim = 'sig' AND key = OLD.signature)
            OR (fdim = 'product' AND fkey = OLD.product AND dim = 'module' AND key = OLD.module));
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER crashes_oom_count AFTER INSERT ON crashes WHEN NEW.oom BEGIN
    INSERT INTO crash_rollup (dim, key, day, n) VALUES ('oom', '', NEW.day, 1)
        ON CONFLICT (dim, key, day) DO UPDATE SET n = n + 1;
    INSERT INTO crash_rollup (dim, key, day, n) VALUES ('crash:oom', '', NEW.crash_day, 1)
        ON CONFLICT (dim, key, day) DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER crashes_oom_uncount AFTER DELETE ON crashes WHEN OLD.oom BEGIN
    UPDATE crash_rollup SET n = n - 1 WHERE dim = 'oom' AND key = '' AND day = OLD.day;
    DELETE FROM crash_rollup WHERE dim = 'oom' AND key = '' AND day = OLD.day AND n <= 0;
    UPDATE crash_rollup SET n = n - 1 WHERE dim = 'crash:oom' AND key = '' AND day = OLD.crash_day;
    DELETE FROM crash_rollup WHERE dim = 'crash:oom' AND key = '' AND day = OLD.crash_day AND n <= 0;
END;
-- +goose StatementEnd

-- The filters' OOM crashes per day (dim 'oom'), for the chart's count.
-- +goose StatementBegin
CREATE TRIGGER crashes_filter_oom AFTER INSERT ON crashes WHEN NEW.oom BEGIN
    INSERT INTO filter_rollup (fdim, fkey, dim, day, key, n)
        SELECT f, fk, d, NEW.crash_day, k, 1 FROM (SELECT 'crash:sig' AS f, NEW.signature AS fk, 'oom' AS d, '' AS k
            UNION ALL SELECT 'crash:module', NEW.module, 'oom', ''
            UNION ALL SELECT 'crash:version', NEW.version, 'oom', ''
            UNION ALL SELECT 'crash:process', NEW.process_name, 'oom', ''
            UNION ALL SELECT 'crash:product', NEW.product, 'oom', '') WHERE true
        ON CONFLICT (fdim, fkey, dim, day, key) DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER crashes_filter_unoom AFTER DELETE ON crashes WHEN OLD.oom BEGIN
    UPDATE filter_rollup SET n = n - 1 WHERE dim = 'oom' AND key = '' AND day = OLD.crash_day AND ((fdim = 'crash:sig' AND fkey = OLD.signature)
            OR (fdim = 'crash:module' AND fkey = OLD.module)
            OR (fdim = 'crash:version' AND fkey = OLD.version)
            OR (fdim = 'crash:process' AND fkey = OLD.process_name)
            OR (fdim = 'crash:product' AND fkey = OLD.product));
    DELETE FROM filter_rollup WHERE dim = 'oom' AND key = '' AND day = OLD.crash_day AND n <= 0 AND ((fdim = 'crash:sig' AND fkey = OLD.signature)
            OR (fdim = 'crash:module' AND fkey = OLD.module)
            OR (fdim = 'crash:version' AND fkey = OLD.version)
            OR (fdim = 'crash:process' AND fkey = OLD.process_name)
            OR (fdim = 'crash:product' AND fkey = OLD.product));
END;
-- +goose StatementEnd

-- Crashes analysed before this migration.
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
DROP TRIGGER crashes_filter_unoom;
DROP TRIGGER crashes_filter_oom;
DROP TRIGGER crashes_oom_uncount;
DROP TRIGGER crashes_oom_count;
DELETE FROM crash_rollup WHERE dim IN ('oom', 'crash:oom');
DROP TRIGGER crashes_filter_uncount;
DROP TRIGGER crashes_filter_count;
DROP INDEX crashes_oom_seq_by_crash_at;
DROP INDEX crashes_oom_seq;
DROP INDEX crashes_oom_by_crash_at;
DROP INDEX crashes_oom_cover;
CREATE INDEX crashes_oom ON crashes (at) WHERE oom;
CREATE INDEX crashes_oom_by_crash_at ON crashes (crash_at, alloc_bytes, largest_free, signature, dump_id) WHERE oom;
DROP TABLE filter_groups;
DROP TABLE filter_sig_rollup;
DROP TABLE filter_rollup;

-- +goose Up

-- What the crashes trigger read from the report's JSON (the process
-- version, whether it is an out-of-memory crash, the largest free block) is
-- stored by the analysis beside the report (store.NewAnalysis), so storing
-- an analysis no longer parses a report of 100 KB or more: on PostgreSQL
-- that parse was the largest part of the server's work per dump. Rows
-- written before (oom IS NULL) are still read from the report, so nothing
-- moves and nothing needs a backfill.
ALTER TABLE analyses ADD COLUMN process_version TEXT;
ALTER TABLE analyses ADD COLUMN oom INTEGER;
ALTER TABLE analyses ADD COLUMN largest_free INTEGER;

DROP TRIGGER analyses_crash;
DROP TRIGGER analyses_recrash;

-- +goose StatementBegin
CREATE TRIGGER analyses_crash AFTER INSERT ON analyses BEGIN
    INSERT INTO crashes (dump_id, at, day, signature, crash_type, module, module_version, os, version, process_name,
        oom, alloc_bytes, largest_free, damaged, dump_time, crash_at, crash_day, clock_implausible, product)
    SELECT NEW.dump_id, k.up, k.up / 86400000, NEW.signature, NEW.crash_type, lower(NEW.module),
        NEW.module_version, trim(NEW.os || ' ' || NEW.os_version),
        coalesce(nullif(k.product_version, ''),
            CASE WHEN NEW.oom IS NULL THEN json_extract(NEW.report, '$.process.version') ELSE NEW.process_version END, ''), NEW.process_name,
        coalesce(NEW.oom <> 0, instr(NEW.report, '"allocation_failure":{') > 0), NEW.alloc_bytes,
        CASE WHEN NEW.oom IS NOT NULL THEN CASE WHEN NEW.oom <> 0 THEN NEW.largest_free END
            WHEN instr(NEW.report, '"allocation_failure":{') > 0
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
        coalesce(nullif(k.product_version, ''),
            CASE WHEN NEW.oom IS NULL THEN json_extract(NEW.report, '$.process.version') ELSE NEW.process_version END, ''), NEW.process_name,
        coalesce(NEW.oom <> 0, instr(NEW.report, '"allocation_failure":{') > 0), NEW.alloc_bytes,
        CASE WHEN NEW.oom IS NOT NULL THEN CASE WHEN NEW.oom <> 0 THEN NEW.largest_free END
            WHEN instr(NEW.report, '"allocation_failure":{') > 0
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

-- +goose Down
DROP TRIGGER analyses_crash;
DROP TRIGGER analyses_recrash;

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

ALTER TABLE analyses DROP COLUMN largest_free;
ALTER TABLE analyses DROP COLUMN oom;
ALTER TABLE analyses DROP COLUMN process_version;

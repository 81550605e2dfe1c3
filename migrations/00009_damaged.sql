-- +goose Up

-- Damaged dumps (files cut short: report.dump.truncated) group under their
-- own signature and trends leave them out unless asked. The flag lives in
-- analyses and, through the triggers, in crashes, where a partial index
-- finds the few there are so the trends page can take them off its totals.
-- The triggers keep 00005's rule: the crash reporter's version comes first.
ALTER TABLE analyses ADD COLUMN damaged INTEGER NOT NULL DEFAULT 0;
ALTER TABLE crashes ADD COLUMN damaged INTEGER NOT NULL DEFAULT 0;
CREATE INDEX crashes_damaged ON crashes (at) WHERE damaged;

DROP TRIGGER analyses_crash;
DROP TRIGGER analyses_recrash;

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

-- Reports stored before this migration: the recrash trigger carries the
-- flag into crashes.
UPDATE analyses SET damaged = 1 WHERE json_extract(report, '$.dump.truncated') IS NOT NULL;

-- +goose Down
DROP TRIGGER analyses_recrash;
DROP TRIGGER analyses_crash;

-- +goose StatementBegin
CREATE TRIGGER analyses_crash AFTER INSERT ON analyses BEGIN
    INSERT INTO crashes (dump_id, at, day, signature, crash_type, module, module_version, os, version, process_name,
        oom, alloc_bytes, largest_free)
    SELECT NEW.dump_id, d.uploaded_at, d.uploaded_at / 86400000, NEW.signature, NEW.crash_type, lower(NEW.module),
        NEW.module_version, trim(NEW.os || ' ' || NEW.os_version),
        coalesce(nullif(d.product_version, ''), json_extract(NEW.report, '$.process.version'), ''), NEW.process_name,
        instr(NEW.report, '"allocation_failure":{') > 0, NEW.alloc_bytes,
        CASE WHEN instr(NEW.report, '"allocation_failure":{') > 0
            THEN json_extract(NEW.report, '$.allocation_failure.largest_free_bytes') END
    FROM dumps d WHERE d.id = NEW.dump_id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER analyses_recrash AFTER UPDATE ON analyses BEGIN
    DELETE FROM crashes WHERE dump_id = OLD.dump_id;
    INSERT INTO crashes (dump_id, at, day, signature, crash_type, module, module_version, os, version, process_name,
        oom, alloc_bytes, largest_free)
    SELECT NEW.dump_id, d.uploaded_at, d.uploaded_at / 86400000, NEW.signature, NEW.crash_type, lower(NEW.module),
        NEW.module_version, trim(NEW.os || ' ' || NEW.os_version),
        coalesce(nullif(d.product_version, ''), json_extract(NEW.report, '$.process.version'), ''), NEW.process_name,
        instr(NEW.report, '"allocation_failure":{') > 0, NEW.alloc_bytes,
        CASE WHEN instr(NEW.report, '"allocation_failure":{') > 0
            THEN json_extract(NEW.report, '$.allocation_failure.largest_free_bytes') END
    FROM dumps d WHERE d.id = NEW.dump_id;
END;
-- +goose StatementEnd

DROP INDEX crashes_damaged;
ALTER TABLE crashes DROP COLUMN damaged;
ALTER TABLE analyses DROP COLUMN damaged;

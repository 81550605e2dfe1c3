-- +goose Up

-- What a crash reporter sent with a dump: its text form fields (Crashpad
-- and Breakpad annotations, Sentry's event fields) and its other files.
CREATE TABLE annotations (
    dump_id INTEGER NOT NULL REFERENCES dumps (id) ON DELETE CASCADE,
    key     TEXT    NOT NULL,
    value   TEXT    NOT NULL,
    PRIMARY KEY (dump_id, key)
) WITHOUT ROWID;
CREATE INDEX annotations_by_value ON annotations (key, value, dump_id);

-- Attachments (logs) are small and kept in the index; larger ones are cut
-- at the limit and say so.
CREATE TABLE attachments (
    id           INTEGER PRIMARY KEY,
    dump_id      INTEGER NOT NULL REFERENCES dumps (id) ON DELETE CASCADE,
    field        TEXT    NOT NULL,   -- multipart field name
    file_name    TEXT    NOT NULL DEFAULT '',
    content_type TEXT    NOT NULL DEFAULT '',
    size         INTEGER NOT NULL,   -- as uploaded
    truncated    INTEGER NOT NULL DEFAULT 0,
    data         BLOB    NOT NULL
);
CREATE INDEX attachments_by_dump ON attachments (dump_id);

-- The product and version the reporter named (prod/ver, Electron's
-- _productName/_version, a Sentry release "product@version", or the Sentry
-- project): they win over the dump's own module version in grouping.
ALTER TABLE dumps ADD COLUMN product TEXT NOT NULL DEFAULT '';
ALTER TABLE dumps ADD COLUMN product_version TEXT NOT NULL DEFAULT '';
CREATE INDEX dumps_by_product ON dumps (product, uploaded_at DESC, id DESC);

DROP TRIGGER analyses_crash;
DROP TRIGGER analyses_recrash;

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

-- +goose Down
DROP TRIGGER analyses_recrash;
DROP TRIGGER analyses_crash;
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
DROP INDEX dumps_by_product;
ALTER TABLE dumps DROP COLUMN product_version;
ALTER TABLE dumps DROP COLUMN product;
DROP TABLE attachments;
DROP TABLE annotations;

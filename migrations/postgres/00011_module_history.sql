-- +goose Up
-- The PostgreSQL dialect of ../00011_module_history.sql. The frames
-- triggers are statement triggers over transition tables, as 00002's.
CREATE TABLE module_dumps (
    module  TEXT   NOT NULL,
    kind    TEXT   NOT NULL CHECK (kind IN ('faulting', 'stack')),
    dump_id BIGINT NOT NULL REFERENCES dumps (id) ON DELETE CASCADE,
    version TEXT   NOT NULL,
    at      BIGINT NOT NULL,
    PRIMARY KEY (module, kind, dump_id)
);
CREATE INDEX module_dumps_by_at ON module_dumps (module, kind, at, dump_id);
CREATE INDEX module_dumps_by_version ON module_dumps (module, kind, version, at, dump_id);
CREATE INDEX module_dumps_by_dump ON module_dumps (dump_id);

CREATE TABLE module_rollup (
    module   TEXT   NOT NULL,
    day      BIGINT NOT NULL,
    version  TEXT   NOT NULL,
    faulting BIGINT NOT NULL,
    stack    BIGINT NOT NULL,
    PRIMARY KEY (module, day, version)
);

CREATE TABLE module_versions (
    module   TEXT   NOT NULL,
    version  TEXT   NOT NULL,
    faulting BIGINT NOT NULL,
    stack    BIGINT NOT NULL,
    first_at BIGINT NOT NULL,
    last_at  BIGINT NOT NULL,
    PRIMARY KEY (module, version)
);
CREATE INDEX module_versions_by_count ON module_versions (module, stack DESC, faulting DESC, version);

-- +goose StatementBegin
CREATE FUNCTION module_dumps_count() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    f bigint := CASE WHEN NEW.kind = 'faulting' THEN 1 ELSE 0 END;
    s bigint := CASE WHEN NEW.kind = 'stack' THEN 1 ELSE 0 END;
BEGIN
    INSERT INTO module_rollup (module, day, version, faulting, stack)
        VALUES (NEW.module, NEW.at / 86400000, NEW.version, f, s)
        ON CONFLICT (module, day, version) DO UPDATE SET faulting = module_rollup.faulting + excluded.faulting,
            stack = module_rollup.stack + excluded.stack;
    INSERT INTO module_versions (module, version, faulting, stack, first_at, last_at)
        VALUES (NEW.module, NEW.version, f, s, NEW.at, NEW.at)
        ON CONFLICT (module, version) DO UPDATE SET faulting = module_versions.faulting + excluded.faulting,
            stack = module_versions.stack + excluded.stack,
            first_at = least(module_versions.first_at, excluded.first_at),
            last_at = greatest(module_versions.last_at, excluded.last_at);
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER module_dumps_count AFTER INSERT ON module_dumps FOR EACH ROW EXECUTE FUNCTION module_dumps_count();

-- +goose StatementBegin
CREATE FUNCTION module_dumps_uncount() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    f bigint := CASE WHEN OLD.kind = 'faulting' THEN 1 ELSE 0 END;
    s bigint := CASE WHEN OLD.kind = 'stack' THEN 1 ELSE 0 END;
BEGIN
    UPDATE module_rollup SET faulting = faulting - f, stack = stack - s
        WHERE module = OLD.module AND day = OLD.at / 86400000 AND version = OLD.version;
    DELETE FROM module_rollup WHERE module = OLD.module AND day = OLD.at / 86400000 AND version = OLD.version
        AND faulting <= 0 AND stack <= 0;
    UPDATE module_versions SET faulting = faulting - f, stack = stack - s
        WHERE module = OLD.module AND version = OLD.version;
    DELETE FROM module_versions WHERE module = OLD.module AND version = OLD.version AND faulting <= 0 AND stack <= 0;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER module_dumps_uncount AFTER DELETE ON module_dumps FOR EACH ROW EXECUTE FUNCTION module_dumps_uncount();

-- +goose StatementBegin
CREATE FUNCTION crashes_module_fault() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.module <> '' THEN
        INSERT INTO module_dumps (module, kind, dump_id, version, at)
        SELECT NEW.module, 'faulting', NEW.dump_id,
            CASE WHEN NEW.module = lower(NEW.process_name) AND d.product_version <> '' THEN d.product_version
                ELSE NEW.module_version END,
            NEW.at
        FROM dumps d WHERE d.id = NEW.dump_id
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER crashes_module_fault AFTER INSERT ON crashes FOR EACH ROW EXECUTE FUNCTION crashes_module_fault();

-- +goose StatementBegin
CREATE FUNCTION crashes_module_unfault() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM module_dumps WHERE module = OLD.module AND kind = 'faulting' AND dump_id = OLD.dump_id;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER crashes_module_unfault AFTER DELETE ON crashes FOR EACH ROW EXECUTE FUNCTION crashes_module_unfault();

-- +goose StatementBegin
CREATE FUNCTION frames_module_stack() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE TRIGGER frames_module_stack AFTER INSERT ON frames REFERENCING NEW TABLE AS new_frames
    FOR EACH STATEMENT EXECUTE FUNCTION frames_module_stack();

-- +goose StatementBegin
CREATE FUNCTION frames_module_unstack() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM module_dumps md USING (SELECT DISTINCT o.dump_id, lower(o.module) AS m FROM old_frames o
            WHERE o.module <> '') p
        WHERE md.module = p.m AND md.kind = 'stack' AND md.dump_id = p.dump_id
        AND NOT EXISTS (SELECT 1 FROM frames f WHERE f.dump_id = p.dump_id AND lower(f.module) = p.m);
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER frames_module_unstack AFTER DELETE ON frames REFERENCING OLD TABLE AS old_frames
    FOR EACH STATEMENT EXECUTE FUNCTION frames_module_unstack();

-- Dumps analysed before this migration.
INSERT INTO module_dumps (module, kind, dump_id, version, at)
SELECT c.module, 'faulting', c.dump_id,
    CASE WHEN c.module = lower(c.process_name) AND d.product_version <> '' THEN d.product_version
        ELSE c.module_version END,
    c.at
FROM crashes c JOIN dumps d ON d.id = c.dump_id WHERE c.module <> ''
ON CONFLICT DO NOTHING;

INSERT INTO module_dumps (module, kind, dump_id, version, at)
SELECT DISTINCT ON (p.m, p.dump_id) p.m, 'stack', p.dump_id,
    coalesce(CASE WHEN p.m = lower(c.process_name) THEN nullif(d.product_version, '') END,
        (SELECT m.version FROM modules m WHERE m.dump_id = p.dump_id AND lower(m.name) = p.m
            ORDER BY m.idx LIMIT 1), ''),
    c.at
FROM (SELECT f.dump_id, lower(f.module) AS m FROM frames f WHERE f.module <> '') p
JOIN crashes c ON c.dump_id = p.dump_id JOIN dumps d ON d.id = p.dump_id
ORDER BY p.m, p.dump_id
ON CONFLICT DO NOTHING;

-- +goose Down
DROP TABLE module_versions;
DROP TABLE module_rollup;
DROP TABLE module_dumps;
DROP FUNCTION frames_module_unstack CASCADE;
DROP FUNCTION frames_module_stack CASCADE;
DROP FUNCTION crashes_module_unfault CASCADE;
DROP FUNCTION crashes_module_fault CASCADE;
DROP FUNCTION module_dumps_uncount;
DROP FUNCTION module_dumps_count;

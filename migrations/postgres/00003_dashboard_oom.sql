-- +goose Up
DROP INDEX crashes_oom;
CREATE INDEX crashes_oom ON crashes (at, alloc_bytes, largest_free, signature, dump_id) WHERE oom;

-- +goose Down
DROP INDEX crashes_oom;
CREATE INDEX crashes_oom ON crashes (at) WHERE oom;

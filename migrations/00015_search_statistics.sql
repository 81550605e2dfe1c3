-- +goose Up
-- PostgreSQL's 00015 gives its planner statistics on lower(column) for
-- broad text filters; SQLite's planner is told which index to use instead
-- (INDEXED BY, chosen from the rollups' counts), so it has nothing to add.
SELECT 1;

-- +goose Down
SELECT 1;

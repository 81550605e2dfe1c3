-- +goose Up
-- PostgreSQL's 00016 indexes damaged dumps' OOM crashes; SQLite reads the
-- signature prefix's range of crashes_by_signature instead.
SELECT 1;

-- +goose Down
SELECT 1;

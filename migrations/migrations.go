// Package migrations holds the database schema as numbered SQL files,
// applied in order by goose when the store opens.
package migrations

import "embed"

// FS holds every migration file: SQLite's at the top, PostgreSQL's (the
// same numbers, in that dialect) under postgres/.
//
//go:embed *.sql postgres/*.sql
var FS embed.FS

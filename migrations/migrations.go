// Package migrations holds the database schema as numbered SQL files,
// applied in order by goose when the store opens.
package migrations

import "embed"

// FS holds every migration file.
//
//go:embed *.sql
var FS embed.FS

// Package db embeds the schema migrations so the pvara binary carries them.
// The SQL each module runs lives in db/queries/<module> and is compiled by
// sqlc into that module's internal/db package.
package db

import "embed"

// Migrations holds the goose migration files, applied in version order.
// Versions are grouped by owner: 1–99 platform, 100s auth, 200s jobs, 300s
// applications, 400s screening, 500s interviews, 600s notify.
//
//go:embed migrations/*.sql
var Migrations embed.FS

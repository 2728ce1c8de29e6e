// Package migrations holds assetd's database schema as numbered goose SQL
// files. One set serves both SQLite and PostgreSQL, so the files use only SQL
// that both accept:
//
//   - Row ids are BIGINT primary keys that the application allocates from the
//     sequences table, because the two databases share no auto-increment
//     syntax (SQLite's INTEGER PRIMARY KEY is a 32-bit column without a
//     default on PostgreSQL).
//   - Times are TIMESTAMP (without time zone) holding UTC, written as fixed
//     width text "2006-01-02 15:04:05.000000" so that SQLite compares them
//     correctly as text and PostgreSQL stores exactly microseconds.
//
// internal/sqldb applies them on Open. A new migration is a new file with the
// next number; an applied file is never edited.
package migrations

import "embed"

// FS holds the migration files, for goose.
//
//go:embed *.sql
var FS embed.FS

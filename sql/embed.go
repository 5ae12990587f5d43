// Package sql embeds payrecon's SQL migrations.
//
// Each dialect has its own folder (mysql/, sqlite/) of plain .sql files named
// NNNN_name.sql. The store applies every file of its dialect in file-name
// order and records it in schema_migrations, so a migration runs once.
//
// Rules for migration files: statements end with ";" at the end of a line
// (the runner splits there, so no ";" at a line end inside a statement);
// lines starting with "--" are comments; never edit a file that has been
// released: add a new one. Use CREATE TABLE / INDEX IF NOT EXISTS so a file
// interrupted halfway on MySQL (where DDL is not transactional) can re-run.
package sql

import "embed"

// FS holds mysql/*.sql and sqlite/*.sql.
//
//go:embed mysql/*.sql sqlite/*.sql
var FS embed.FS

#pragma once
// The schema history of Bulwark: versioned, forward-only migrations in portable SQL.
//
// Rules for adding one:
//   - append it with the next version number; never edit or reorder a released one;
//   - portable types only (INTEGER, TEXT, BLOB) and no backend-specific syntax, because the same
//     text runs on SQLite and PostgreSQL;
//   - `sql` holds the statements, each ended by ';' (none only when `postgres_only` has what the
//     migration does, e.g. an index SQLite's keys already provide). Migrate() splits them with
//     SplitSqlStatements() (store/migrate.h), which understands quotes, comments and the
//     BEGIN ... END body of CREATE TRIGGER, so a trigger is written naturally:
//         CREATE TRIGGER no_update BEFORE UPDATE ON audit_events
//         BEGIN SELECT RAISE(ABORT, 'append-only'); END;
//
// The bookkeeping table schema_migrations(version, name, applied_at) is created by Migrate()
// itself (CREATE TABLE IF NOT EXISTS, inside the same write transaction as the first pending
// migration), so migration 1 holds only domain tables.
#include <span>
#include <string_view>

namespace bulwark::store {

struct Migration {
  int version;            // 1..N, no gaps
  std::string_view name;  // short, stable: recorded in schema_migrations.name
  std::string_view sql;   // portable statements separated by ';'
  // Statements run after `sql` on PostgreSQL only, verbatim, one per element: what only that
  // backend has (change notifications, privileges, an index of a PostgreSQL operator class).
  // Never a table or a column: the schema itself stays the one portable text above.
  std::span<const std::string_view> postgres_only = {};
};

// Every migration this binary knows, ordered by version.
std::span<const Migration> AllMigrations();

// The version a database has after Migrate(): AllMigrations().back().version.
int LatestSchemaVersion();

}  // namespace bulwark::store

#pragma once
// Applying the schema history (store/migrations.h) to a Store.
//
// Example (at boot, before serving):
//   BULWARK_ASSIGN_OR_RETURN(auto store, OpenSqliteStore(opts));
//   BULWARK_RETURN_IF_ERROR(Migrate(*store));   // schema_too_new: refuse to start
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "store/store.h"

namespace bulwark::store {

// Brings the database to LatestSchemaVersion(). Each pending migration runs in its own write
// transaction together with its schema_migrations row, so a failure leaves the database at the
// last fully applied version, and running Migrate again continues from there. Running it on an
// up-to-date database changes nothing. The version is read under the write lock, so two
// processes migrating at once apply each migration exactly once.
//
// Errors:
//   kFailedPrecondition "schema_too_new": the database records a version newer than this binary
//     knows (message names both); nothing is changed.
//   kFailedPrecondition "schema_mismatch": a recorded version has a different name than this
//     binary's migration of that version (a database from a diverged build); nothing is changed.
//   Any error of the store or of a migration's SQL, as returned by the Store.
Status Migrate(Store& store);

// Splits portable SQL into single statements (without their ';'), dropping empty ones.
// A ';' ends a statement unless it is inside '...' or "..." (doubled quotes escape), a -- or
// /* */ comment, a PostgreSQL $tag$...$tag$ body, or the BEGIN ... END body of a
// CREATE [TEMP] TRIGGER (CASE ... END inside such a body is balanced too).
// Errors: kInternal for an unterminated quote, comment or trigger body (migration text is code).
//
// Example: SplitSqlStatements("CREATE TABLE a (x TEXT);\nINSERT INTO a VALUES (';');")
//          -> {"CREATE TABLE a (x TEXT)", "INSERT INTO a VALUES (';')"}
StatusOr<std::vector<std::string>> SplitSqlStatements(std::string_view sql);

}  // namespace bulwark::store

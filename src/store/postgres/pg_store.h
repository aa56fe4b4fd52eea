#pragma once
// The PostgreSQL backend of the Store (libpq; see store/store.h for the contract), for running
// several Bulwark nodes on one database.
//
// Transactions keep the SQLite backend's semantics, so domain code behaves the same on both:
//   kRead:  BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY (one consistent snapshot);
//   kWrite: BEGIN, then a transaction-scoped advisory lock every writer of every node takes:
//           writers are serialized (as SQLite's single writer), so a write transaction reads
//           the latest committed state and never fails later on a conflict. The wait is bounded
//           by busy_timeout_ms (lock_timeout): kUnavailable "store_busy".
//   kRowWrite: BEGIN without the advisory lock: row locks only, and synchronous_commit off
//              (shared rate-limit counters: losing the last increments in a crash is harmless,
//              an fsync per request is not).
// Placeholders `?` become $1..$n. Parameters are typed (int8, text, bytea); results come back in
// binary and map int2/int4/int8/bool -> Int, text/varchar -> Text, bytea -> Bytes, NULL -> Null;
// any other column type is kInternal (the schema never uses one).
// Errors: SQLSTATE class 23 -> kConflict "constraint_violation"; a lock or serialization timeout
// -> kUnavailable "store_busy"; a lost or refused connection -> kUnavailable
// "store_unavailable"; anything else kInternal. Messages never contain SQL or values.
//
//   PgOptions opts{.url = "postgresql://bulwark@db.internal/bulwark?sslmode=verify-full"};
//   BULWARK_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenPostgresStore(opts));
//   BULWARK_RETURN_IF_ERROR(Migrate(*store));
#include <memory>
#include <string>

#include "core/status.h"
#include "store/store.h"

namespace bulwark::store {

struct PgOptions {
  std::string url;             // a libpq connection URI or key=value string
  int pool_size = 4;           // connections, opened on demand; >= 1
  int busy_timeout_ms = 5000;  // bound on the pool wait and the writer lock
};

// Connects once to check the URL. kInvalidArgument "invalid_store_option" for a bad option;
// kUnavailable "store_unavailable" if the server cannot be reached or refuses the login.
StatusOr<std::unique_ptr<Store>> OpenPostgresStore(const PgOptions& opts);

}  // namespace bulwark::store

#pragma once
// The embedded SQLite backend of the Store (see store/store.h for the contract).
//
// Durability and safety settings are requested per connection and then read back: if SQLite does
// not report exactly what was asked for (a filesystem without shared memory cannot do WAL, for
// instance), opening fails with kFailedPrecondition "store_not_strict" rather than running with
// weaker guarantees than the configuration promised.
//
// Example:
//   SqliteOptions opts;
//   opts.path = data_dir + "/bulwark.db";
//   BULWARK_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenSqliteStore(opts));
//   BULWARK_RETURN_IF_ERROR(Migrate(*store));
//
// Concurrency: a fixed pool of connections (each used by one thread at a time, so they are
// opened without SQLite's own mutex). Begin() waits for a free connection; write transactions
// additionally queue on an in-process writer slot, so threads of one process never spin in
// SQLite's busy handler against each other. Both waits, and SQLite's busy handler for other
// processes, are bounded by busy_timeout_ms; running out of it is kUnavailable "store_busy".
//
// Column mapping: INTEGER -> Value::Int, TEXT -> Value::Text, BLOB -> Value::Bytes (a zero-length
// blob stays an empty Bytes, not NULL), NULL -> Value::Null. REAL is rejected (kInternal): the
// schema never uses it and its text form differs between backends, so a REAL result is a bug.
//
// Lifetime: a Transaction keeps the connection pool alive, so it may outlive the Store object,
// but it must be used by one thread at a time.
#include <memory>
#include <string>

#include "core/status.h"
#include "store/store.h"

namespace bulwark::store {

struct SqliteOptions {
  std::string path;                  // database file
  bool create_if_missing = true;     // false: opening a missing file is kUnavailable
  std::string journal_mode = "WAL";  // DELETE|TRUNCATE|PERSIST|MEMORY|WAL|OFF; production: WAL
  std::string synchronous = "FULL";  // OFF|NORMAL|FULL|EXTRA; production: FULL
  bool foreign_keys = true;          // production requires on
  int busy_timeout_ms = 5000;        // bound on every wait (pool, writer slot, file lock)
  int pool_size = 4;                 // connections; >= 1
  // Of those, how many only the threads every request waits on may take, those with a
  // core::ThreadRole (the io threads, the ledger writer): they find one idle however many the
  // other threads hold. 0..pool_size-1.
  int reserved = 0;
};

// Opens (and, if allowed, creates with mode 0600) the database at opts.path and fills the pool.
// Errors: kInvalidArgument "invalid_store_option" for a bad option; kUnavailable
// "store_unavailable" for a missing/unopenable file; kUnavailable "store_busy" if another process
// holds a lock past the timeout; kFailedPrecondition "store_not_strict" if the settings read back
// differ from the requested ones.
StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const SqliteOptions& opts);

// An existing database file as it is, for the offline tools that only read it (`audit verify`,
// `audit export`, `... pubkey`): opened in the journal mode the file already has (SQLite records
// WAL in the file header; every other mode is per connection), so opening never rewrites it under
// a running server; one connection; only read transactions are meant to be used. Errors:
// kUnavailable "store_unavailable" if there is no such regular file or it cannot be read,
// kFailedPrecondition "not_a_database" if it is not an SQLite database.
StatusOr<std::unique_ptr<Store>> OpenSqliteFileAsIs(const std::string& path);

}  // namespace bulwark::store

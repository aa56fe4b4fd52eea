#pragma once
// The Store: the only way domain code reaches persistent state.
//
// Domain code speaks portable SQL with `?` placeholders (the PostgreSQL backend rewrites them to
// $1..$n) and never assumes a backend: no SQLite pragmas, no ROWID, no backend-specific types.
// Every read and write happens inside a Transaction; a Transaction that is destroyed without
// Commit() rolls back, so an early `return status;` never leaves half a change behind.
//
// Example:
//   BULWARK_ASSIGN_OR_RETURN(auto tx, store.Begin(TxMode::kWrite));
//   BULWARK_ASSIGN_OR_RETURN(auto rows, tx->Query("SELECT id FROM tenants WHERE name = ?",
//                                                 {Value::Text(name)}));
//   if (!rows.empty()) return Status::Conflict("tenant_exists", "tenant already exists");
//   BULWARK_RETURN_IF_ERROR(tx->Exec("INSERT INTO tenants(id, name) VALUES (?, ?)",
//                                    {Value::Text(id), Value::Text(name)}).status());
//   return tx->Commit();
//
// Errors: a constraint violation is kConflict (reason "constraint_violation"); a database busy
// past the busy timeout is kUnavailable "store_busy"; an unreachable, full, read-only or corrupt
// one is kUnavailable "store_unavailable"; anything else kInternal.
// Messages never contain SQL or parameter values.
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/status.h"

namespace bulwark::store {

// Which database a Store runs on. Code that must differ per backend (SQL dialect, locking)
// tests this, never a name.
enum class Backend { kSqlite, kPostgresql };

// The backend's short name for logs and /build-info: "sqlite" or "postgresql".
constexpr std::string_view BackendName(Backend backend) {
  switch (backend) {
    case Backend::kSqlite:
      return "sqlite";
    case Backend::kPostgresql:
      return "postgresql";
  }
  return "unknown";
}

// A bound parameter or a column value.
class Value {
 public:
  using Blob = std::vector<std::uint8_t>;

  Value() = default;  // NULL
  static Value Null() { return Value(); }
  static Value Int(std::int64_t v) { return Value(v); }
  static Value Text(std::string v) { return Value(std::move(v)); }
  static Value Bytes(Blob v) { return Value(std::move(v)); }
  static Value Bytes(std::span<const std::uint8_t> v) { return Value(Blob(v.begin(), v.end())); }

  bool is_null() const { return std::holds_alternative<std::monostate>(v_); }
  bool is_int() const { return std::holds_alternative<std::int64_t>(v_); }
  bool is_text() const { return std::holds_alternative<std::string>(v_); }
  bool is_bytes() const { return std::holds_alternative<Blob>(v_); }

  // Accessors assert on the wrong type: a schema mismatch is a bug, not an input error.
  std::int64_t as_int() const { return std::get<std::int64_t>(v_); }
  const std::string& as_text() const { return std::get<std::string>(v_); }
  const Blob& as_bytes() const { return std::get<Blob>(v_); }

 private:
  explicit Value(std::int64_t v) : v_(v) {}
  explicit Value(std::string v) : v_(std::move(v)) {}
  explicit Value(Blob v) : v_(std::move(v)) {}
  std::variant<std::monostate, std::int64_t, std::string, Blob> v_;
};

using Row = std::vector<Value>;
using Rows = std::vector<Row>;
using Params = std::initializer_list<Value>;

enum class TxMode {
  kRead,   // a consistent snapshot; writes fail
  kWrite,  // takes the write lock at BEGIN, so it cannot fail later on lock upgrade
  // A short write that needs only row locks, not the order of every other writer: with
  // PostgreSQL it does not take the writers' lock, so it neither waits for nor delays the ledger
  // (shared rate-limit counters, SIEM export leases), and may skip the durability wait: use it
  // only for state whose last changes may be lost in a database crash. With SQLite it is kWrite.
  kRowWrite,
};

class Transaction {
 public:
  // Rolls back unless committed (the backend's destructor), then runs what OnEnd queued.
  virtual ~Transaction() { Ended(); }

  // Runs a statement that returns rows.
  virtual StatusOr<Rows> Query(std::string_view sql, Params params = {}) = 0;
  // Runs a statement and returns the number of rows it changed.
  virtual StatusOr<std::int64_t> Exec(std::string_view sql, Params params = {}) = 0;
  // Whether the database has a table of that name (each backend asks its own catalog).
  virtual StatusOr<bool> HasTable(std::string_view name) = 0;
  // Makes every change durable (with SQLite: synchronous=FULL, so fsync'd on return).
  virtual Status Commit() = 0;
  // A parenthesized condition true for the rows whose TEXT `column` (a name written in the code,
  // never input) lies in [lower, upper) compared byte by byte, whatever the database's
  // collation; bind the two bounds, for a prefix search AsciiPrefixBounds(prefix). SQLite
  // compares TEXT as bytes, so an index on the column serves it; PostgreSQL compares TEXT in the
  // database's collation (en_US.UTF-8, ICU: case last, punctuation ignored), so there it is the
  // pattern operators ~>=~ and ~<~, which an index of text_pattern_ops serves.
  virtual std::string BytewiseRange(std::string_view column) const = 0;

  // Runs `f` once the transaction has ended, whether it committed or not: when Commit returns,
  // or when the transaction is destroyed. For state the process derives from what the
  // transaction changed, such as a cache entry to drop, which must not be dropped before the
  // change is visible to others. `f` runs on the committing thread while the backend may still
  // hold its writer slot: it must not throw, begin a write transaction, or outlive what it
  // captures.
  void OnEnd(std::function<void()> f) { on_end_.push_back(std::move(f)); }

 protected:
  // Backends call this when Commit has finished, committed or not.
  void Ended() noexcept {
    std::vector<std::function<void()>> run;
    run.swap(on_end_);
    for (auto& f : run) f();
  }

 private:
  std::vector<std::function<void()>> on_end_;
};

// One named check in a health report: ok, or the reason it failed (no secrets, no SQL).
struct HealthCheck {
  std::string name;
  bool ok = false;
  std::string detail;
};

class Store {
 public:
  virtual ~Store() = default;

  virtual StatusOr<std::unique_ptr<Transaction>> Begin(TxMode mode) = 0;

  // Checks "store" (reachable, strict settings in force) and "store_writable" (a write lock can
  // be taken) without changing anything. Uses a fresh connection, so a database file that was
  // removed or replaced under a running server is noticed.
  virtual std::vector<HealthCheck> CheckHealth() = 0;

  // The schema version recorded in the database (0 for an empty database).
  virtual StatusOr<int> SchemaVersion() = 0;

  // The database this store runs on (BackendName gives its name for logs and /build-info).
  virtual Backend backend() const = 0;
};

// The bounds of BytewiseRange for the strings that start with `prefix`, when every stored string
// is ASCII below 0x7f (DEL): [prefix, prefix + "\x7f") holds exactly those.
inline std::pair<std::string, std::string> AsciiPrefixBounds(std::string_view prefix) {
  return {std::string(prefix), std::string(prefix) + '\x7f'};
}

// SQL reading `column` (of a BLOB column) as bytes, for code that reads data others may have
// tampered with: an SQLite column holds whatever was written into it (TEXT, say), so it is cast;
// a PostgreSQL column always has its declared type (BYTEA).
inline std::string BlobColumn(const Store& store, std::string_view column) {
  if (store.backend() == Backend::kSqlite) return "CAST(" + std::string(column) + " AS BLOB)";
  return std::string(column);
}

// Opens a store when it is needed (e.g. the configured one, for a command that may not need it).
using Opener = std::function<StatusOr<std::unique_ptr<Store>>()>;

}  // namespace bulwark::store

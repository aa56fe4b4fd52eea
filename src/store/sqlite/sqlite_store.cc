#include "store/sqlite/sqlite_store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <functional>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/ascii.h"
#include "core/thread_role.h"

namespace bulwark::store {
namespace {

// Statements are cached per connection by SQL text. Domain code uses constant SQL, so the cache
// stays small; the bound only matters if some caller builds SQL dynamically.
constexpr std::size_t kMaxCachedStatements = 256;

const char* PrimaryCodeName(int rc) {
  switch (rc & 0xff) {
    case SQLITE_ERROR:
      return "SQLITE_ERROR";
    case SQLITE_INTERNAL:
      return "SQLITE_INTERNAL";
    case SQLITE_PERM:
      return "SQLITE_PERM";
    case SQLITE_ABORT:
      return "SQLITE_ABORT";
    case SQLITE_BUSY:
      return "SQLITE_BUSY";
    case SQLITE_LOCKED:
      return "SQLITE_LOCKED";
    case SQLITE_NOMEM:
      return "SQLITE_NOMEM";
    case SQLITE_READONLY:
      return "SQLITE_READONLY";
    case SQLITE_INTERRUPT:
      return "SQLITE_INTERRUPT";
    case SQLITE_IOERR:
      return "SQLITE_IOERR";
    case SQLITE_CORRUPT:
      return "SQLITE_CORRUPT";
    case SQLITE_FULL:
      return "SQLITE_FULL";
    case SQLITE_CANTOPEN:
      return "SQLITE_CANTOPEN";
    case SQLITE_PROTOCOL:
      return "SQLITE_PROTOCOL";
    case SQLITE_SCHEMA:
      return "SQLITE_SCHEMA";
    case SQLITE_TOOBIG:
      return "SQLITE_TOOBIG";
    case SQLITE_CONSTRAINT:
      return "SQLITE_CONSTRAINT";
    case SQLITE_MISMATCH:
      return "SQLITE_MISMATCH";
    case SQLITE_MISUSE:
      return "SQLITE_MISUSE";
    case SQLITE_RANGE:
      return "SQLITE_RANGE";
    case SQLITE_NOTADB:
      return "SQLITE_NOTADB";
    default:
      return "SQLITE_UNKNOWN";
  }
}

// Only the code and SQLite's fixed text for it go into the message: sqlite3_errmsg() can quote
// values (CHECK constraint text, for instance), and messages may reach clients.
Status MapSqliteError(int rc) {
  std::string msg = std::string("store error: ") + sqlite3_errstr(rc) + " (" + PrimaryCodeName(rc) +
                    ", extended code " + std::to_string(rc) + ")";
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
      return Status::Conflict("constraint_violation", std::move(msg));
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::Unavailable("store_busy", std::move(msg));
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_READONLY:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Status::Unavailable("store_unavailable", std::move(msg));
    default:
      return Status::Internal(std::move(msg));
  }
}

Status StoreBusy(std::string message) {
  return Status::Unavailable("store_busy", std::move(message));
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// Looks statements up by the caller's SQL text without copying it.
struct SqlHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view sql) const { return std::hash<std::string_view>{}(sql); }
};

// Transaction control, run once or twice per transaction.
enum class Control { kBegin, kBeginImmediate, kCommit, kRollback };

// One open database handle and its statement cache. Never shared between threads at once.
struct Connection {
  sqlite3* db = nullptr;
  std::unordered_map<std::string, sqlite3_stmt*, SqlHash, std::equal_to<>> stmts;
  std::array<sqlite3_stmt*, 4> control{};  // by Control; prepared on first use
  bool held_by_critical = false;           // taken by a thread with a role (Pool's accounting)

  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() {
    ClearCache();
    if (db != nullptr) sqlite3_close_v2(db);
  }
  void ClearCache() {
    for (auto& [sql, stmt] : stmts) sqlite3_finalize(stmt);
    stmts.clear();
    for (auto& stmt : control) {
      sqlite3_finalize(stmt);
      stmt = nullptr;
    }
  }
  // Runs BEGIN, COMMIT or ROLLBACK from a statement prepared once (sqlite3_exec would parse it
  // on every call). Returns an SQLite result code, SQLITE_OK on success.
  int Run(Control which) {
    static constexpr const char* kSql[] = {"BEGIN", "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK"};
    sqlite3_stmt*& stmt = control[static_cast<std::size_t>(which)];
    if (stmt == nullptr) {
      const int rc = sqlite3_prepare_v3(db, kSql[static_cast<std::size_t>(which)], -1,
                                        SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
      if (rc != SQLITE_OK) return rc;
    }
    const int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
  }
};

// Runs fixed internal SQL (no parameters, no user text).
Status ExecFixed(sqlite3* db, const char* sql) {
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return MapSqliteError(sqlite3_extended_errcode(db));
  return Status::Ok();
}

// Runs fixed internal SQL that returns one value in its first row (PRAGMA reads, SELECT 1).
StatusOr<std::string> QueryFixedText(sqlite3* db, const char* sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr);
  if (rc != SQLITE_OK) return MapSqliteError(sqlite3_extended_errcode(db));
  rc = sqlite3_step(stmt);
  std::string out;
  if (rc == SQLITE_ROW) {
    const unsigned char* p = sqlite3_column_text(stmt, 0);
    if (p != nullptr) {
      out.assign(reinterpret_cast<const char*>(p),
                 static_cast<std::size_t>(sqlite3_column_bytes(stmt, 0)));
    }
    rc = SQLITE_DONE;
  }
  Status st = rc == SQLITE_DONE ? Status::Ok() : MapSqliteError(sqlite3_extended_errcode(db));
  sqlite3_finalize(stmt);
  if (!st.ok()) return st;
  return out;
}

struct StrictSettings {
  std::string journal_mode;  // upper case, validated
  std::string synchronous;   // upper case, validated
  int synchronous_level = 2;
  bool foreign_keys = true;
};

StatusOr<StrictSettings> ValidateOptions(const SqliteOptions& opts) {
  auto bad = [](std::string m) {
    return Status::InvalidArgument("invalid_store_option", std::move(m));
  };
  if (opts.path.empty()) return bad("the database path is empty");
  if (opts.pool_size < 1) return bad("pool_size must be at least 1");
  if (opts.reserved < 0 || opts.reserved >= opts.pool_size) {
    return bad("reserved must be at least 0 and less than pool_size");
  }
  if (opts.busy_timeout_ms < 0) return bad("busy_timeout_ms must not be negative");
  StrictSettings s;
  s.journal_mode = Upper(opts.journal_mode);
  static constexpr std::string_view kModes[] = {"DELETE", "TRUNCATE", "PERSIST",
                                                "MEMORY", "WAL",      "OFF"};
  if (std::find(std::begin(kModes), std::end(kModes), s.journal_mode) == std::end(kModes)) {
    return bad("journal_mode must be one of DELETE, TRUNCATE, PERSIST, MEMORY, WAL, OFF");
  }
  s.synchronous = Upper(opts.synchronous);
  static constexpr std::string_view kSync[] = {"OFF", "NORMAL", "FULL", "EXTRA"};
  auto it = std::find(std::begin(kSync), std::end(kSync), s.synchronous);
  if (it == std::end(kSync)) return bad("synchronous must be one of OFF, NORMAL, FULL, EXTRA");
  s.synchronous_level = static_cast<int>(it - std::begin(kSync));
  s.foreign_keys = opts.foreign_keys;
  return s;
}

std::string DescribeSettings(const StrictSettings& s) {
  return "journal_mode=" + core::AsciiLower(s.journal_mode) +
         " synchronous=" + core::AsciiLower(s.synchronous) +
         " foreign_keys=" + (s.foreign_keys ? "on" : "off");
}

// The write-ahead log's bound. SQLite checkpoints it (copies its pages into the database) once it
// holds kWalCheckpointPages pages, 1 MiB at the default page size, rather than the default 4 MiB,
// and truncates the file back to kWalKeepBytes afterwards. A checkpoint needs room for the
// database to grow by the pages the log holds: the smaller the log, the less room a full disk
// needs freed before the log can be emptied (docs/operations.md, "A full disk").
constexpr int kWalCheckpointPages = 256;
constexpr std::int64_t kWalKeepBytes = 1 << 20;

// Applies the settings to a connection and reads them back. With set_journal_mode false the
// journal mode is only read, so a health check observes what the file itself says (WAL is
// persistent in the database header) instead of changing it.
Status ApplyAndVerify(sqlite3* db, const StrictSettings& s, bool set_journal_mode) {
  // Hardening that needs no read-back: no schema tricks, no functions from a hostile schema.
  sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, nullptr);
  sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, nullptr);

  // The values below come from a whitelist (ValidateOptions), so building the PRAGMA text is safe.
  if (set_journal_mode) {
    std::string sql = "PRAGMA journal_mode=" + s.journal_mode;
    BULWARK_ASSIGN_OR_RETURN(std::string ignored, QueryFixedText(db, sql.c_str()));
    (void)ignored;
  }
  BULWARK_RETURN_IF_ERROR(ExecFixed(db, ("PRAGMA synchronous=" + s.synchronous).c_str()));
  BULWARK_RETURN_IF_ERROR(
      ExecFixed(db, s.foreign_keys ? "PRAGMA foreign_keys=ON" : "PRAGMA foreign_keys=OFF"));
  if (core::AsciiLower(s.journal_mode) == "wal") {
    // The write-ahead log is bounded (see kWalCheckpointPages): checkpointed once it holds that
    // many pages, and cut back to kWalKeepBytes on disk after each checkpoint.
    BULWARK_RETURN_IF_ERROR(ExecFixed(
        db, ("PRAGMA wal_autocheckpoint=" + std::to_string(kWalCheckpointPages)).c_str()));
    BULWARK_RETURN_IF_ERROR(
        ExecFixed(db, ("PRAGMA journal_size_limit=" + std::to_string(kWalKeepBytes)).c_str()));
  }
  // INSERT OR REPLACE deletes the row it replaces; with recursive triggers on, that delete fires
  // the append-only tables' DELETE triggers instead of slipping past them.
  BULWARK_RETURN_IF_ERROR(ExecFixed(db, "PRAGMA recursive_triggers=ON"));

  BULWARK_ASSIGN_OR_RETURN(std::string jm, QueryFixedText(db, "PRAGMA journal_mode"));
  BULWARK_ASSIGN_OR_RETURN(std::string sync, QueryFixedText(db, "PRAGMA synchronous"));
  BULWARK_ASSIGN_OR_RETURN(std::string fk, QueryFixedText(db, "PRAGMA foreign_keys"));
  std::string actual =
      "journal_mode=" + core::AsciiLower(jm) + " synchronous=" + sync + " foreign_keys=" + fk;
  std::string wanted = "journal_mode=" + core::AsciiLower(s.journal_mode) +
                       " synchronous=" + std::to_string(s.synchronous_level) +
                       " foreign_keys=" + (s.foreign_keys ? "1" : "0");
  if (actual != wanted) {
    return Status::FailedPrecondition("store_not_strict", "store settings not in force: wanted " +
                                                              DescribeSettings(s) +
                                                              ", database reports " + actual);
  }
  return Status::Ok();
}

StatusOr<std::unique_ptr<Connection>> OpenConnection(const std::string& path, int flags,
                                                     int busy_timeout_ms) {
  auto conn = std::make_unique<Connection>();
  int rc = sqlite3_open_v2(path.c_str(), &conn->db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    int ext = conn->db != nullptr ? sqlite3_extended_errcode(conn->db) : rc;
    return MapSqliteError(ext);
  }
  sqlite3_extended_result_codes(conn->db, 1);
  sqlite3_busy_timeout(conn->db, busy_timeout_ms);
  return conn;
}

// Creates the database file with mode 0600 if it does not exist yet. fchmod makes the mode
// independent of the umask; SQLite then gives -wal/-shm/-journal the database file's mode.
Status CreateFileIfMissing(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return Status::Ok();
    return Status::Unavailable("store_unavailable", "cannot create the database file");
  }
  int chmod_rc = ::fchmod(fd, 0600);
  ::close(fd);
  if (chmod_rc != 0) {
    return Status::Unavailable("store_unavailable", "cannot set the database file's mode");
  }
  return Status::Ok();
}

class Pool {
 public:
  Pool(SqliteOptions opts, StrictSettings settings)
      : opts_(std::move(opts)), settings_(std::move(settings)) {}

  const SqliteOptions& opts() const { return opts_; }
  const StrictSettings& settings() const { return settings_; }

  void Add(std::unique_ptr<Connection> c) {
    std::lock_guard lk(mu_);
    idle_.push_back(c.get());
    all_.push_back(std::move(c));
  }

  // Waits for the writer slot (kWrite only) and then a connection, both within one deadline. A
  // thread without a role (core::ThreadRole) leaves idle the reserved connections that no thread
  // with one holds.
  StatusOr<Connection*> Acquire(TxMode mode) {
    const bool critical = core::ThisThreadRole() != core::ThreadRole::kOther;
    auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(opts_.busy_timeout_ms);
    std::unique_lock lk(mu_);
    if (mode == TxMode::kWrite) {
      if (!cv_.wait_until(lk, deadline, [&] { return !writer_active_; })) {
        return StoreBusy("timed out waiting for the write lock");
      }
      writer_active_ = true;
    }
    const auto available = [&] {
      const std::size_t kept =
          critical ? 0 : static_cast<std::size_t>(std::max(0, opts_.reserved - critical_held_));
      return idle_.size() > kept;
    };
    if (!cv_.wait_until(lk, deadline, available)) {
      if (mode == TxMode::kWrite) {
        writer_active_ = false;
        cv_.notify_all();
      }
      return StoreBusy("timed out waiting for a store connection");
    }
    Connection* c = idle_.back();
    idle_.pop_back();
    c->held_by_critical = critical;
    if (critical) ++critical_held_;
    return c;
  }

  void Release(Connection* c, TxMode mode) {
    if (!sqlite3_get_autocommit(c->db)) {
      // A transaction that could not be ended must not leak into the next user: replace the
      // handle. If even that fails, the old one is kept and its next BEGIN reports the error.
      c->Run(Control::kRollback);
      if (!sqlite3_get_autocommit(c->db)) Reopen(c);
    }
    std::lock_guard lk(mu_);
    idle_.push_back(c);
    if (c->held_by_critical) --critical_held_;
    c->held_by_critical = false;
    if (mode == TxMode::kWrite) writer_active_ = false;
    cv_.notify_all();
  }

  // After a write failed for want of disk (or at open, with a log left behind), the next write
  // first empties the write-ahead log into the database. Until that fits, writes are refused:
  // each one would grow the log into whatever room was freed, and the log could then never be
  // checkpointed (the reviewer's "the WAL took it back", even across restarts).
  void NoteWriteFailed(int extended_rc) {
    if ((extended_rc & 0xff) == SQLITE_FULL) checkpoint_first_.store(true, std::memory_order_relaxed);
  }
  void CheckpointFirst() { checkpoint_first_.store(true, std::memory_order_relaxed); }

  // Called with the writer slot held, before BEGIN. A passive checkpoint waits for no one: it
  // copies what readers no longer need, and once every frame is in the database the next commit
  // starts the log over (and journal_size_limit cuts the file back). Refuses the write only
  // while the database cannot grow to take the log's pages.
  Status CheckpointIfDue(Connection* c) {
    if (!checkpoint_first_.load(std::memory_order_relaxed)) return Status::Ok();
    int log_frames = 0;
    int done_frames = 0;
    const int rc = sqlite3_wal_checkpoint_v2(c->db, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log_frames, &done_frames);
    if (rc == SQLITE_OK && done_frames >= log_frames) {
      checkpoint_first_.store(false, std::memory_order_relaxed);
      return Status::Ok();
    }
    const int ext = rc == SQLITE_OK ? SQLITE_OK : sqlite3_extended_errcode(c->db);
    if ((ext & 0xff) == SQLITE_FULL || (ext & 0xff) == SQLITE_IOERR) {
      return Status::Unavailable("store_full",
                                 "the store's volume is full: writes resume once the write-ahead log "
                                 "(about 1 MiB) fits into the database; free disk space");
    }
    return Status::Ok();  // readers still need some frames, or another checkpoint runs: try next time
  }

 private:
  void Reopen(Connection* c) {
    auto fresh = OpenConnection(opts_.path, SQLITE_OPEN_READWRITE, opts_.busy_timeout_ms);
    if (!fresh.ok() || !ApplyAndVerify((*fresh)->db, settings_, true).ok()) return;
    c->ClearCache();
    sqlite3_close_v2(c->db);
    c->db = (*fresh)->db;
    (*fresh)->db = nullptr;
  }

  const SqliteOptions opts_;
  const StrictSettings settings_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> all_;
  std::vector<Connection*> idle_;
  int critical_held_ = 0;  // connections threads with a role hold now
  bool writer_active_ = false;
  std::atomic<bool> checkpoint_first_{false};
};

bool OnlyWhitespace(const char* p) {
  if (p == nullptr) return true;
  for (; *p != '\0'; ++p) {
    if (!std::isspace(static_cast<unsigned char>(*p))) return false;
  }
  return true;
}

Status BindParams(sqlite3_stmt* stmt, Params params) {
  if (static_cast<std::size_t>(sqlite3_bind_parameter_count(stmt)) != params.size()) {
    return Status::Internal("store error: parameter count does not match the statement");
  }
  int i = 1;
  for (const Value& v : params) {
    int rc = SQLITE_OK;
    if (v.is_null()) {
      rc = sqlite3_bind_null(stmt, i);
    } else if (v.is_int()) {
      rc = sqlite3_bind_int64(stmt, i, v.as_int());
    } else if (v.is_text()) {
      // nullptr destructor == SQLITE_STATIC: the Value outlives the step; bindings are cleared
      // before returning.
      const std::string& s = v.as_text();
      rc = sqlite3_bind_text64(stmt, i, s.data(), s.size(), nullptr, SQLITE_UTF8);
    } else {
      const Value::Blob& b = v.as_bytes();
      // A zero-length blob bound from a null pointer would become NULL; keep it an empty blob.
      rc = b.empty() ? sqlite3_bind_zeroblob(stmt, i, 0)
                     : sqlite3_bind_blob64(stmt, i, b.data(), b.size(), nullptr);
    }
    if (rc != SQLITE_OK) return MapSqliteError(rc);
    ++i;
  }
  return Status::Ok();
}

StatusOr<Value> ColumnValue(sqlite3_stmt* stmt, int col) {
  switch (sqlite3_column_type(stmt, col)) {
    case SQLITE_INTEGER:
      return Value::Int(sqlite3_column_int64(stmt, col));
    case SQLITE_TEXT: {
      const unsigned char* p = sqlite3_column_text(stmt, col);
      auto n = static_cast<std::size_t>(sqlite3_column_bytes(stmt, col));
      return Value::Text(p == nullptr ? std::string()
                                      : std::string(reinterpret_cast<const char*>(p), n));
    }
    case SQLITE_BLOB: {
      const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt, col));
      auto n = static_cast<std::size_t>(sqlite3_column_bytes(stmt, col));
      if (p == nullptr || n == 0) return Value::Bytes(Value::Blob{});
      return Value::Bytes(Value::Blob(p, p + n));
    }
    case SQLITE_NULL:
      return Value::Null();
    default:
      return Status::Internal("store error: REAL column values are not supported");
  }
}

class SqliteTransaction final : public Transaction {
 public:
  SqliteTransaction(std::shared_ptr<Pool> pool, Connection* conn, TxMode mode)
      : pool_(std::move(pool)), conn_(conn), mode_(mode) {}

  ~SqliteTransaction() override {
    if (open_) conn_->Run(Control::kRollback);
    pool_->Release(conn_, mode_);
  }

  StatusOr<Rows> Query(std::string_view sql, Params params) override {
    Rows rows;
    BULWARK_RETURN_IF_ERROR(Run(sql, params, &rows));
    return rows;
  }

  StatusOr<std::int64_t> Exec(std::string_view sql, Params params) override {
    sqlite3_int64 before = sqlite3_total_changes64(conn_->db);
    BULWARK_RETURN_IF_ERROR(Run(sql, params, nullptr));
    // sqlite3_changes64 keeps the count of the last INSERT/UPDATE/DELETE, so a DDL statement
    // would report a stale number; the running total tells whether this statement changed rows.
    if (sqlite3_total_changes64(conn_->db) == before) return std::int64_t{0};
    return static_cast<std::int64_t>(sqlite3_changes64(conn_->db));
  }

  StatusOr<bool> HasTable(std::string_view name) override {
    BULWARK_ASSIGN_OR_RETURN(
        Rows t, Query("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?",
                      {Value::Text(std::string(name))}));
    return t.at(0).at(0).as_int() > 0;
  }

  std::string BytewiseRange(std::string_view column) const override {
    const std::string c(column);  // TEXT is BINARY here: memcmp order
    return "(" + c + " >= ? AND " + c + " < ?)";
  }

  Status Commit() override {
    BULWARK_RETURN_IF_ERROR(CheckOpen());
    int rc = conn_->Run(Control::kCommit);
    if (rc != SQLITE_OK) {
      pool_->NoteWriteFailed(sqlite3_extended_errcode(conn_->db));
      Status st = MapSqliteError(sqlite3_extended_errcode(conn_->db));
      if (!sqlite3_get_autocommit(conn_->db)) conn_->Run(Control::kRollback);
      open_ = false;
      Ended();
      return st;
    }
    open_ = false;
    Ended();
    return Status::Ok();
  }

 private:
  Status CheckOpen() {
    if (!open_) return Status::Internal("store error: the transaction has already ended");
    if (sqlite3_get_autocommit(conn_->db)) {
      // SQLite rolls a transaction back by itself on some errors (disk full, I/O error); any
      // further statement would run outside a transaction, so refuse them all.
      open_ = false;
      return Status::Unavailable("store_unavailable",
                                 "store error: the transaction was rolled back by the database");
    }
    return Status::Ok();
  }

  StatusOr<sqlite3_stmt*> Prepare(std::string_view sql) {
    // SQLite stops at a NUL byte and would silently ignore the rest of the text.
    if (sql.find('\0') != std::string_view::npos) {
      return Status::Internal("store error: SQL text contains a NUL byte");
    }
    auto it = conn_->stmts.find(sql);
    if (it != conn_->stmts.end()) return it->second;
    std::string key(sql);
    sqlite3_stmt* stmt = nullptr;
    const char* tail = nullptr;
    int rc = sqlite3_prepare_v3(conn_->db, key.c_str(), static_cast<int>(key.size() + 1),
                                SQLITE_PREPARE_PERSISTENT, &stmt, &tail);
    if (rc != SQLITE_OK) return MapSqliteError(sqlite3_extended_errcode(conn_->db));
    if (stmt == nullptr) return Status::Internal("store error: empty statement");
    if (!OnlyWhitespace(tail)) {
      sqlite3_finalize(stmt);
      return Status::Internal("store error: exactly one statement per call is allowed");
    }
    if (conn_->stmts.size() >= kMaxCachedStatements) conn_->ClearCache();
    conn_->stmts.emplace(std::move(key), stmt);
    return stmt;
  }

  Status Run(std::string_view sql, Params params, Rows* rows) {
    BULWARK_RETURN_IF_ERROR(CheckOpen());
    BULWARK_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Prepare(sql));
    if (mode_ == TxMode::kRead && !sqlite3_stmt_readonly(stmt)) {
      return Status::Internal("store error: a write statement in a read transaction");
    }
    struct ResetOnExit {
      sqlite3_stmt* s;
      ~ResetOnExit() {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
      }
    } reset{stmt};
    BULWARK_RETURN_IF_ERROR(BindParams(stmt, params));
    const int ncols = sqlite3_column_count(stmt);
    for (;;) {
      int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) {
        pool_->NoteWriteFailed(sqlite3_extended_errcode(conn_->db));
        return MapSqliteError(sqlite3_extended_errcode(conn_->db));
      }
      if (rows == nullptr) continue;
      Row row;
      row.reserve(static_cast<std::size_t>(ncols));
      for (int c = 0; c < ncols; ++c) {
        BULWARK_ASSIGN_OR_RETURN(Value v, ColumnValue(stmt, c));
        row.push_back(std::move(v));
      }
      rows->push_back(std::move(row));
    }
    if (sqlite3_get_autocommit(conn_->db)) {
      // The statement itself ended the transaction (COMMIT/ROLLBACK/END passed to Exec).
      open_ = false;
      return Status::Internal("store error: transaction control statements are not allowed");
    }
    return Status::Ok();
  }

  std::shared_ptr<Pool> pool_;
  Connection* conn_;
  TxMode mode_;
  bool open_ = true;
};

class SqliteStore final : public Store {
 public:
  SqliteStore(std::shared_ptr<Pool> pool, dev_t dev, ino_t ino)
      : pool_(std::move(pool)), dev_(dev), ino_(ino) {}

  StatusOr<std::unique_ptr<Transaction>> Begin(TxMode mode) override {
    if (mode == TxMode::kRowWrite) mode = TxMode::kWrite;  // SQLite has one writer at a time
    BULWARK_ASSIGN_OR_RETURN(Connection * conn, pool_->Acquire(mode));
    // The transaction object owns the lease from here on, so every return releases it.
    auto tx = std::make_unique<SqliteTransaction>(pool_, conn, mode);
    if (mode == TxMode::kWrite) BULWARK_RETURN_IF_ERROR(pool_->CheckpointIfDue(conn));
    int rc = conn->Run(mode == TxMode::kWrite ? Control::kBeginImmediate : Control::kBegin);
    if (rc != SQLITE_OK) return MapSqliteError(sqlite3_extended_errcode(conn->db));
    return std::unique_ptr<Transaction>(std::move(tx));
  }

  std::vector<HealthCheck> CheckHealth() override {
    HealthCheck store{"store", false, ""};
    HealthCheck writable{"store_writable", false, ""};
    auto finish = [&](std::string detail) {
      store.detail = detail;
      writable.detail = "store unreachable";
      return std::vector<HealthCheck>{store, writable};
    };
    const SqliteOptions& opts = pool_->opts();
    struct stat st {};
    if (::stat(opts.path.c_str(), &st) != 0) return finish("database file is missing");
    if (st.st_dev != dev_ || st.st_ino != ino_) return finish("database file was replaced");

    auto conn = OpenConnection(opts.path, SQLITE_OPEN_READWRITE, opts.busy_timeout_ms);
    if (!conn.ok()) return finish(conn.status().message());
    sqlite3* db = (*conn)->db;
    auto one = QueryFixedText(db, "SELECT 1");
    if (!one.ok()) return finish(one.status().message());
    if (*one != "1") return finish("unexpected answer to SELECT 1");
    Status strict = ApplyAndVerify(db, pool_->settings(), /*set_journal_mode=*/false);
    if (!strict.ok()) return finish(strict.message());
    store.ok = true;
    store.detail = DescribeSettings(pool_->settings());

    Status lock = ExecFixed(db, "BEGIN IMMEDIATE");
    if (lock.ok()) {
      lock = ExecFixed(db, "ROLLBACK");
    }
    writable.ok = lock.ok();
    writable.detail = lock.ok() ? "write lock acquired" : lock.message();
    return {store, writable};
  }

  StatusOr<int> SchemaVersion() override {
    BULWARK_ASSIGN_OR_RETURN(auto tx, Begin(TxMode::kRead));
    BULWARK_ASSIGN_OR_RETURN(const bool has_history, tx->HasTable("schema_migrations"));
    int version = 0;
    if (has_history) {
      BULWARK_ASSIGN_OR_RETURN(Rows r, tx->Query("SELECT MAX(version) FROM schema_migrations"));
      if (!r.empty() && r[0][0].is_int()) version = static_cast<int>(r[0][0].as_int());
    }
    BULWARK_RETURN_IF_ERROR(tx->Commit());
    return version;
  }

  Backend backend() const override { return Backend::kSqlite; }

 private:
  std::shared_ptr<Pool> pool_;
  dev_t dev_;
  ino_t ino_;
};

}  // namespace

StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const SqliteOptions& opts) {
  BULWARK_ASSIGN_OR_RETURN(StrictSettings settings, ValidateOptions(opts));
  // NOMUTEX connections are only safe if the library was built thread-safe (Debian's is).
  if (sqlite3_threadsafe() == 0) return Status::Internal("SQLite was built without thread support");
  int flags = SQLITE_OPEN_READWRITE;
  if (opts.create_if_missing) {
    BULWARK_RETURN_IF_ERROR(CreateFileIfMissing(opts.path));
  } else {
    struct stat st {};
    if (::stat(opts.path.c_str(), &st) != 0) {
      return Status::Unavailable("store_unavailable", "the database file does not exist");
    }
  }
  auto pool = std::make_shared<Pool>(opts, settings);
  // A log left by a process that could not checkpoint it (a full disk) is emptied before the
  // first write adds to it.
  if (struct stat wal {}; ::stat((opts.path + "-wal").c_str(), &wal) == 0 && wal.st_size > 0) {
    pool->CheckpointFirst();
  }
  for (int i = 0; i < opts.pool_size; ++i) {
    BULWARK_ASSIGN_OR_RETURN(auto conn, OpenConnection(opts.path, flags, opts.busy_timeout_ms));
    BULWARK_RETURN_IF_ERROR(ApplyAndVerify(conn->db, settings, /*set_journal_mode=*/true));
    pool->Add(std::move(conn));
  }
  struct stat st {};
  if (::stat(opts.path.c_str(), &st) != 0) {
    return Status::Unavailable("store_unavailable", "the database file disappeared while opening");
  }
  return std::unique_ptr<Store>(
      std::make_unique<SqliteStore>(std::move(pool), st.st_dev, st.st_ino));
}

StatusOr<std::unique_ptr<Store>> OpenSqliteFileAsIs(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return Status::Unavailable("store_unavailable", "the database file does not exist");
  }
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::Unavailable("store_unavailable", "cannot read the database file");
  char head[100] = {};
  f.read(head, sizeof head);
  if (f.gcount() < static_cast<std::streamsize>(sizeof head) ||
      std::memcmp(head, "SQLite format 3", 16) != 0) {
    return Status::FailedPrecondition("not_a_database", "the file is not an SQLite database");
  }
  // Header bytes 18 and 19 (write and read format versions) are 2 in WAL mode.
  return OpenSqliteStore({.path = path,
                          .create_if_missing = false,
                          .journal_mode = (head[18] == 2 && head[19] == 2) ? "WAL" : "DELETE",
                          .pool_size = 1});
}

}  // namespace bulwark::store

#include "store/postgres/pg_store.h"

#include <libpq-fe.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "store/postgres/connect.h"
#include "store/postgres/dialect.h"

namespace bulwark::store {
namespace {

// Every writer of every node takes this transaction-scoped advisory lock ("bulwark" in ASCII).
constexpr std::int64_t kWriterLock = 0x62756c7761726bLL;

// OIDs of the built-in types the schema uses (pg_type.h).
constexpr Oid kBoolOid = 16, kByteaOid = 17, kInt8Oid = 20, kInt2Oid = 21, kInt4Oid = 23,
              kTextOid = 25, kVarcharOid = 1043, kUnknownOid = 705, kNameOid = 19;

Status Unavailable() {
  return Status::Unavailable("store_unavailable", "the database cannot be reached");
}

// Maps a failed result to the Store's error classes (never the server's message: it can quote
// values).
Status FromResult(PGconn* conn, PGresult* res) {
  const char* state = res != nullptr ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  if (PQstatus(conn) != CONNECTION_OK) return Unavailable();
  if (state == nullptr) return Status::Internal("the database failed a statement");
  const std::string_view s(state);
  if (s.starts_with("23")) {
    return Status::Conflict("constraint_violation", "a database constraint refused the change");
  }
  if (s == "55P03" || s == "40001" || s == "40P01" || s == "57014") {
    return Status::Unavailable("store_busy", "the database is busy; retry");
  }
  if (s.starts_with("08") || s.starts_with("57P") || s.starts_with("53")) return Unavailable();
  return Status::Internal("the database failed a statement (SQLSTATE " + std::string(s) + ")");
}

std::int64_t BigEndian(const char* p, int len) {
  std::int64_t v = (len > 0 && (static_cast<unsigned char>(p[0]) & 0x80)) ? -1 : 0;
  for (int i = 0; i < len; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

class Pool : public std::enable_shared_from_this<Pool> {
 public:
  explicit Pool(PgOptions opts) : opts_(std::move(opts)) {}
  ~Pool() {
    for (PGconn* c : idle_) PQfinish(c);
  }

  // `reused` (if given) tells whether the connection had served before: only such a one can
  // have been closed by the server since.
  StatusOr<PGconn*> Acquire(bool* reused = nullptr) {
    if (reused != nullptr) *reused = false;
    std::unique_lock lock(mu_);
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(opts_.busy_timeout_ms);
    while (idle_.empty() && open_ >= opts_.pool_size) {
      if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
          open_ >= opts_.pool_size) {
        return Status::Unavailable("store_busy", "no database connection became free in time");
      }
    }
    if (!idle_.empty()) {
      PGconn* c = idle_.back();
      idle_.pop_back();
      if (reused != nullptr) *reused = true;
      return c;
    }
    ++open_;
    lock.unlock();
    PGconn* c = ConnectPostgres(opts_.url);
    if (c == nullptr || PQstatus(c) != CONNECTION_OK) {
      if (c != nullptr) PQfinish(c);
      std::lock_guard relock(mu_);
      --open_;
      cv_.notify_one();
      return Unavailable();
    }
    PGresult* r = PQexec(c, "SET client_min_messages = warning");
    PQclear(r);
    return c;
  }

  void Release(PGconn* c, bool healthy) {
    std::lock_guard lock(mu_);
    if (healthy && PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) == PQTRANS_IDLE) {
      idle_.push_back(c);
    } else {
      statements_.erase(c);
      PQfinish(c);
      --open_;
    }
    cv_.notify_one();
  }

  // The statements prepared on connection `c` (SQL text -> name), used only by whoever holds
  // `c`. The map's nodes are stable, so the reference outlives later inserts of other
  // connections; it goes when the connection is closed.
  std::unordered_map<std::string, std::string>& StatementsOf(PGconn* c) {
    std::lock_guard lock(mu_);
    return statements_[c];
  }

  const PgOptions& opts() const { return opts_; }

 private:
  const PgOptions opts_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<PGconn*> idle_;
  std::unordered_map<PGconn*, std::unordered_map<std::string, std::string>> statements_;
  int open_ = 0;
};

// Domain statements are constant text, so each is parsed and planned once per connection and
// then only executed. Anything else (transaction control, DDL in migrations) runs unprepared,
// and so does everything past the cap (a statement whose text varies would otherwise grow it).
constexpr std::size_t kMaxPreparedPerConnection = 512;

bool Preparable(std::string_view sql) {
  for (std::string_view head : {"SELECT ", "INSERT ", "UPDATE ", "DELETE ", "WITH "}) {
    if (sql.starts_with(head)) return true;
  }
  return false;
}

class PgTransaction : public Transaction {
 public:
  PgTransaction(std::shared_ptr<Pool> pool, PGconn* conn)
      : pool_(std::move(pool)), conn_(conn), statements_(pool_->StatementsOf(conn)) {}
  ~PgTransaction() override {
    bool healthy = true;
    if (!done_) {
      PGresult* r = PQexec(conn_, "ROLLBACK");
      healthy = PQresultStatus(r) == PGRES_COMMAND_OK;
      PQclear(r);
    }
    pool_->Release(conn_, healthy);
  }

  StatusOr<Rows> Query(std::string_view sql, Params params) override {
    Rows rows;
    BULWARK_RETURN_IF_ERROR(Run(sql, params, &rows).status());
    return rows;
  }

  StatusOr<std::int64_t> Exec(std::string_view sql, Params params) override {
    return Run(sql, params, nullptr);
  }

  StatusOr<bool> HasTable(std::string_view name) override {
    BULWARK_ASSIGN_OR_RETURN(Rows t, Query("SELECT COUNT(*) FROM information_schema.tables WHERE "
                                           "table_schema = current_schema() AND table_type = "
                                           "'BASE TABLE' AND table_name = ?",
                                           {Value::Text(std::string(name))}));
    return t.at(0).at(0).as_int() > 0;
  }

  std::string BytewiseRange(std::string_view column) const override {
    const std::string c(column);  // TEXT compares in the collation: the pattern operators
    return "(" + c + " ~>=~ ? AND " + c + " ~<~ ?)";
  }

  Status Commit() override {
    if (done_) return Status::Internal("transaction already finished");
    done_ = true;
    PGresult* r = PQexec(conn_, "COMMIT");
    const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    Status s = ok ? Status::Ok() : FromResult(conn_, r);
    PQclear(r);
    Ended();
    return s;
  }

  Status Simple(const char* sql) {
    PGresult* r = PQexec(conn_, sql);
    const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    Status s = ok ? Status::Ok() : FromResult(conn_, r);
    PQclear(r);
    return s;
  }

 private:
  StatusOr<std::int64_t> Run(std::string_view sql, Params params, Rows* rows) {
    if (done_) return Status::Internal("transaction already finished");
    const std::string text = NumberPlaceholders(sql);
    std::vector<Oid> types;
    std::vector<std::string> owned;
    std::vector<const char*> values;
    std::vector<int> lengths, formats;
    owned.reserve(params.size());
    for (const Value& v : params) {
      if (v.is_null()) {
        types.push_back(kUnknownOid);
        values.push_back(nullptr);
        lengths.push_back(0);
        formats.push_back(0);
      } else if (v.is_int()) {
        types.push_back(kInt8Oid);
        owned.push_back(std::to_string(v.as_int()));
        values.push_back(owned.back().c_str());
        lengths.push_back(0);
        formats.push_back(0);
      } else if (v.is_text()) {
        types.push_back(kTextOid);
        values.push_back(v.as_text().c_str());
        lengths.push_back(0);
        formats.push_back(0);
      } else {
        types.push_back(kByteaOid);
        const auto& b = v.as_bytes();
        // An empty blob is not NULL: libpq reads a null pointer as SQL NULL.
        values.push_back(b.empty() ? "" : reinterpret_cast<const char*>(b.data()));
        lengths.push_back(static_cast<int>(b.size()));
        formats.push_back(1);
      }
    }
    const int nparams = static_cast<int>(values.size());
    PGresult* r = nullptr;
    auto prepared = statements_.find(text);
    if (prepared == statements_.end() && Preparable(text) &&
        statements_.size() < kMaxPreparedPerConnection) {
      std::string name = "bw" + std::to_string(statements_.size());
      PGresult* p = PQprepare(conn_, name.c_str(), text.c_str(), nparams, types.data());
      if (PQresultStatus(p) != PGRES_COMMAND_OK) {
        Status s = FromResult(conn_, p);
        PQclear(p);
        return s;
      }
      PQclear(p);
      prepared = statements_.emplace(text, std::move(name)).first;
    }
    if (prepared != statements_.end()) {
      r = PQexecPrepared(conn_, prepared->second.c_str(), nparams, values.data(), lengths.data(),
                         formats.data(), 1);
    } else {
      r = PQexecParams(conn_, text.c_str(), nparams, types.data(), values.data(), lengths.data(),
                       formats.data(), 1);
    }
    const auto st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      Status s = FromResult(conn_, r);
      PQclear(r);
      return s;
    }
    if (PQtransactionStatus(conn_) == PQTRANS_IDLE) {
      // The statement itself ended the transaction (COMMIT/ROLLBACK/END passed to Exec).
      PQclear(r);
      done_ = true;
      return Status::Internal("store error: transaction control statements are not allowed");
    }
    std::int64_t affected = 0;
    if (const char* n = PQcmdTuples(r); n != nullptr && *n != '\0') affected = std::stoll(n);
    if (rows != nullptr) {
      const int nrows = PQntuples(r), ncols = PQnfields(r);
      rows->reserve(static_cast<std::size_t>(nrows));
      for (int i = 0; i < nrows; ++i) {
        Row row;
        row.reserve(static_cast<std::size_t>(ncols));
        for (int j = 0; j < ncols; ++j) {
          if (PQgetisnull(r, i, j)) {
            row.push_back(Value::Null());
            continue;
          }
          const char* p = PQgetvalue(r, i, j);
          const int len = PQgetlength(r, i, j);
          switch (PQftype(r, j)) {
            case kInt8Oid:
            case kInt4Oid:
            case kInt2Oid:
            case kBoolOid:
              row.push_back(Value::Int(BigEndian(p, len)));
              break;
            case kTextOid:
            case kVarcharOid:
            case kNameOid:
            case kUnknownOid:
              row.push_back(Value::Text(std::string(p, static_cast<std::size_t>(len))));
              break;
            case kByteaOid:
              row.push_back(Value::Bytes(std::span(reinterpret_cast<const std::uint8_t*>(p),
                                                   static_cast<std::size_t>(len))));
              break;
            default:
              PQclear(r);
              return Status::Internal("a query returned a column type the store does not map");
          }
        }
        rows->push_back(std::move(row));
      }
    }
    PQclear(r);
    return affected;
  }

  std::shared_ptr<Pool> pool_;
  PGconn* conn_;
  std::unordered_map<std::string, std::string>& statements_;
  bool done_ = false;
};

class PgStore : public Store {
 public:
  explicit PgStore(std::shared_ptr<Pool> pool) : pool_(std::move(pool)) {}

  StatusOr<std::unique_ptr<Transaction>> Begin(TxMode mode) override {
    // A pooled connection the server has closed since (a restart, a failover, an idle timeout)
    // fails its first statement: it is dropped and the next one tried, so that costs a
    // reconnect, not the caller's transaction. Only a reused connection is retried: a fresh
    // one that fails means the database is down, and retrying would only multiply the attempts.
    bool reused = false;
    auto tx = TryBegin(mode, &reused);
    for (int i = 0; i < pool_->opts().pool_size && reused && !tx.ok() &&
                    tx.status().reason() == "store_unavailable";
         ++i) {
      tx = TryBegin(mode, &reused);
    }
    return tx;
  }

  StatusOr<std::unique_ptr<Transaction>> TryBegin(TxMode mode, bool* reused) {
    BULWARK_ASSIGN_OR_RETURN(PGconn * conn, pool_->Acquire(reused));
    auto tx = std::make_unique<PgTransaction>(pool_, conn);
    if (mode == TxMode::kRead) {
      BULWARK_RETURN_IF_ERROR(tx->Simple("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
    } else {
      // One round trip: the simple-query protocol runs the statements in order, stopping at
      // the first error.
      std::string begin = "BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL lock_timeout = '" +
                          std::to_string(pool_->opts().busy_timeout_ms) + "ms'; ";
      if (mode == TxMode::kRowWrite) {
        begin += "SET LOCAL synchronous_commit = off";  // see TxMode::kRowWrite
      } else {
        begin += "SELECT pg_advisory_xact_lock(" + std::to_string(kWriterLock) + ")";
      }
      BULWARK_RETURN_IF_ERROR(tx->Simple(begin.c_str()));
    }
    return std::unique_ptr<Transaction>(std::move(tx));
  }

  // Without the writers' lock, so health probes never queue behind (or delay) the ledger:
  // writable means the server is a primary that accepts writes (not a standby, not read-only).
  std::vector<HealthCheck> CheckHealth() override {
    std::vector<HealthCheck> out;
    auto tx = Begin(TxMode::kRead);
    out.push_back({"store", tx.ok(), tx.ok() ? "" : tx.status().reason()});
    if (!tx.ok()) {
      out.push_back({"store_writable", false, "store unreachable"});
      return out;
    }
    auto rows = (*tx)->Query(
        "SELECT (pg_is_in_recovery() OR current_setting('default_transaction_read_only') = "
        "'on')::int");
    const bool writable = rows.ok() && !rows->empty() && (*rows)[0][0].as_int() == 0;
    out.push_back({"store_writable", writable,
                   writable ? "" : (rows.ok() ? "read_only_server" : rows.status().reason())});
    return out;
  }

  StatusOr<int> SchemaVersion() override {
    BULWARK_ASSIGN_OR_RETURN(auto tx, Begin(TxMode::kRead));
    BULWARK_ASSIGN_OR_RETURN(const bool has_history, tx->HasTable("schema_migrations"));
    if (!has_history) return 0;
    BULWARK_ASSIGN_OR_RETURN(auto rows,
                             tx->Query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
    return static_cast<int>(rows[0][0].as_int());
  }

  Backend backend() const override { return Backend::kPostgresql; }

 private:
  std::shared_ptr<Pool> pool_;
};

}  // namespace

StatusOr<std::unique_ptr<Store>> OpenPostgresStore(const PgOptions& opts) {
  if (opts.url.empty() || opts.pool_size < 1 || opts.busy_timeout_ms < 1) {
    return Status::InvalidArgument("invalid_store_option", "a PostgreSQL URL and a pool of >= 1");
  }
  auto pool = std::make_shared<Pool>(opts);
  BULWARK_ASSIGN_OR_RETURN(PGconn * c, pool->Acquire());
  pool->Release(c, true);
  return std::unique_ptr<Store>(std::make_unique<PgStore>(std::move(pool)));
}

}  // namespace bulwark::store

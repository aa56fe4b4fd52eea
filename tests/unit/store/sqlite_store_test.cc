#include "store/sqlite/sqlite_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <thread>
#include <vector>

#include "core/thread_role.h"
#include "store_test_util.h"

namespace bulwark::store {
namespace {

using testing::ExpectBytewisePrefixRanges;
using testing::FileMode;
using testing::MustOpen;
using testing::Options;
using testing::TempDir;

// Runs one statement on a store in its own write transaction.
void MustExec(Store& s, std::string_view sql, Params params = {}) {
  auto tx = s.Begin(TxMode::kWrite);
  ASSERT_TRUE(tx.ok()) << tx.status().ToString();
  auto n = (*tx)->Exec(sql, params);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  ASSERT_TRUE((*tx)->Commit().ok());
}

std::int64_t CountRows(Store& s, std::string_view table_count_sql) {
  auto tx = s.Begin(TxMode::kRead);
  EXPECT_TRUE(tx.ok());
  auto rows = (*tx)->Query(table_count_sql);
  EXPECT_TRUE(rows.ok()) << rows.status().ToString();
  return (*rows)[0][0].as_int();
}

// A raw connection, as another process would have, to observe or disturb the file.
struct RawDb {
  sqlite3* db = nullptr;
  explicit RawDb(const std::string& path) {
    EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  }
  ~RawDb() { sqlite3_close_v2(db); }
  int Exec(const char* sql) { return sqlite3_exec(db, sql, nullptr, nullptr, nullptr); }
  std::string Text(const char* sql) {
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql, -1, &st, nullptr), SQLITE_OK);
    std::string out;
    if (sqlite3_step(st) == SQLITE_ROW) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    return out;
  }
};

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = MustOpen(Options(dir_.File("db.sqlite")));
    ASSERT_NE(store_, nullptr);
    MustExec(*store_, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
  }
  TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(SqliteStoreTest, BackendName) {
  EXPECT_EQ(store_->backend(), Backend::kSqlite);
  EXPECT_EQ(BackendName(store_->backend()), "sqlite");
}

TEST_F(SqliteStoreTest, BytewiseRangeHoldsExactlyThePrefixedStrings) {
  ExpectBytewisePrefixRanges(*store_);
}

// What OnEnd queues runs once the transaction has ended, committed or not: after a commit, a
// new transaction already sees the change.
TEST_F(SqliteStoreTest, OnEndRunsOnceWhenTheTransactionHasEnded) {
  int ran = 0;
  std::int64_t seen = -1;
  {
    auto tx = store_->Begin(TxMode::kWrite);
    ASSERT_TRUE((*tx)->Exec("INSERT INTO t (id, v) VALUES (1, 'a')").ok());
    (*tx)->OnEnd([&] {
      ++ran;
      auto read = store_->Begin(TxMode::kRead);
      seen = (*(*read)->Query("SELECT COUNT(*) FROM t"))[0][0].as_int();
    });
    EXPECT_EQ(ran, 0);
    ASSERT_TRUE((*tx)->Commit().ok());
    EXPECT_EQ(ran, 1);
    EXPECT_EQ(seen, 1);
  }
  EXPECT_EQ(ran, 1);  // not again when destroyed
  {
    auto tx = store_->Begin(TxMode::kWrite);
    ASSERT_TRUE((*tx)->Exec("INSERT INTO t (id, v) VALUES (2, 'b')").ok());
    (*tx)->OnEnd([&] { ++ran; });
    (*tx)->OnEnd([&] { ++ran; });
    EXPECT_EQ(ran, 1);
  }  // rolled back
  EXPECT_EQ(ran, 3);
  {
    auto tx = store_->Begin(TxMode::kWrite);
    (*tx)->OnEnd([&] { ++ran; });
    ASSERT_TRUE((*tx)->Commit().ok());
    EXPECT_EQ((*tx)->Commit().code(), ErrorCode::kInternal);  // already ended: nothing runs twice
  }
  EXPECT_EQ(ran, 4);
}

TEST_F(SqliteStoreTest, RoundTripsEveryValueType) {
  MustExec(*store_, "CREATE TABLE v (k INTEGER PRIMARY KEY, i INTEGER, s TEXT, b BLOB, n TEXT)");
  const std::string text_with_nul("a\0b\xc3\xa9", 5);
  Value::Blob all_bytes;
  for (int i = 0; i < 256; ++i) all_bytes.push_back(static_cast<std::uint8_t>(i));
  struct Case {
    Value i, s, b;
  };
  std::vector<Case> cases = {
      {Value::Int(std::numeric_limits<std::int64_t>::min()), Value::Text(""),
       Value::Bytes(Value::Blob{})},
      {Value::Int(std::numeric_limits<std::int64_t>::max()), Value::Text(text_with_nul),
       Value::Bytes(all_bytes)},
      {Value::Int(0), Value::Text("plain"), Value::Bytes(Value::Blob{0})},
  };
  {
    auto tx = store_->Begin(TxMode::kWrite);
    ASSERT_TRUE(tx.ok());
    for (std::size_t k = 0; k < cases.size(); ++k) {
      auto n = (*tx)->Exec("INSERT INTO v (k, i, s, b, n) VALUES (?, ?, ?, ?, ?)",
                           {Value::Int(static_cast<std::int64_t>(k)), cases[k].i, cases[k].s,
                            cases[k].b, Value::Null()});
      ASSERT_TRUE(n.ok()) << n.status().ToString();
      EXPECT_EQ(*n, 1);
    }
    ASSERT_TRUE((*tx)->Commit().ok());
  }
  auto tx = store_->Begin(TxMode::kRead);
  ASSERT_TRUE(tx.ok());
  auto rows = (*tx)->Query("SELECT i, s, b, n, typeof(b) FROM v ORDER BY k");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), cases.size());
  for (std::size_t k = 0; k < cases.size(); ++k) {
    const Row& r = (*rows)[k];
    ASSERT_TRUE(r[0].is_int());
    EXPECT_EQ(r[0].as_int(), cases[k].i.as_int());
    ASSERT_TRUE(r[1].is_text());
    EXPECT_EQ(r[1].as_text(), cases[k].s.as_text());
    ASSERT_TRUE(r[2].is_bytes()) << "row " << k;
    EXPECT_EQ(r[2].as_bytes(), cases[k].b.as_bytes());
    EXPECT_TRUE(r[3].is_null());
    EXPECT_EQ(r[4].as_text(), "blob");  // an empty blob is stored as a blob, not NULL
  }
}

TEST_F(SqliteStoreTest, DestroyWithoutCommitRollsBack) {
  {
    auto tx = store_->Begin(TxMode::kWrite);
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(
        (*tx)->Exec("INSERT INTO t (id, v) VALUES (?, ?)", {Value::Int(1), Value::Text("x")}).ok());
  }
  EXPECT_EQ(CountRows(*store_, "SELECT COUNT(*) FROM t"), 0);
}

TEST_F(SqliteStoreTest, CommitIsDurableAcrossReopen) {
  MustExec(*store_, "INSERT INTO t (id, v) VALUES (?, ?)", {Value::Int(7), Value::Text("kept")});
  store_.reset();
  auto again = MustOpen(Options(dir_.File("db.sqlite")));
  ASSERT_NE(again, nullptr);
  auto tx = again->Begin(TxMode::kRead);
  ASSERT_TRUE(tx.ok());
  auto rows = (*tx)->Query("SELECT v FROM t WHERE id = ?", {Value::Int(7)});
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0][0].as_text(), "kept");
}

TEST_F(SqliteStoreTest, ConstraintViolationIsConflictWithoutValues) {
  MustExec(*store_, "INSERT INTO t (id, v) VALUES (?, ?)", {Value::Int(1), Value::Text("a")});
  MustExec(*store_, "CREATE TABLE c (x TEXT CHECK (x <> 'forbidden-secret-value'))");
  auto tx = store_->Begin(TxMode::kWrite);
  ASSERT_TRUE(tx.ok());
  auto dup = (*tx)->Exec("INSERT INTO t (id, v) VALUES (?, ?)", {Value::Int(1), Value::Text("b")});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().code(), ErrorCode::kConflict);
  EXPECT_EQ(dup.status().reason(), "constraint_violation");
  EXPECT_EQ(dup.status().message().find("INSERT"), std::string::npos);

  auto check = (*tx)->Exec("INSERT INTO c (x) VALUES (?)", {Value::Text("forbidden-secret-value")});
  ASSERT_FALSE(check.ok());
  EXPECT_EQ(check.status().code(), ErrorCode::kConflict);
  EXPECT_EQ(check.status().message().find("forbidden"), std::string::npos)
      << check.status().message();

  // A failed statement does not end the transaction: the caller decides.
  EXPECT_TRUE(
      (*tx)->Exec("INSERT INTO t (id, v) VALUES (?, ?)", {Value::Int(2), Value::Text("c")}).ok());
  EXPECT_TRUE((*tx)->Commit().ok());
  EXPECT_EQ(CountRows(*store_, "SELECT COUNT(*) FROM t"), 2);
}

TEST_F(SqliteStoreTest, ForeignKeysEnforced) {
  MustExec(*store_,
           "CREATE TABLE child (id INTEGER PRIMARY KEY, p INTEGER NOT NULL REFERENCES t(id))");
  auto tx = store_->Begin(TxMode::kWrite);
  ASSERT_TRUE(tx.ok());
  auto r = (*tx)->Exec("INSERT INTO child (id, p) VALUES (?, ?)", {Value::Int(1), Value::Int(99)});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kConflict);
}

TEST_F(SqliteStoreTest, InjectionShapedTextIsStoredVerbatim) {
  const std::vector<std::string> evil = {"x'); DROP TABLE t; --", "\"; DELETE FROM t; /*", "? ?",
                                         "' OR '1'='1"};
  std::int64_t id = 100;
  for (const auto& s : evil)
    MustExec(*store_, "INSERT INTO t (id, v) VALUES (?, ?)", {Value::Int(id++), Value::Text(s)});
  auto tx = store_->Begin(TxMode::kRead);
  ASSERT_TRUE(tx.ok());
  auto rows = (*tx)->Query("SELECT v FROM t WHERE id >= ? ORDER BY id", {Value::Int(100)});
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), evil.size());
  for (std::size_t i = 0; i < evil.size(); ++i) EXPECT_EQ((*rows)[i][0].as_text(), evil[i]);
  auto match = (*tx)->Query("SELECT COUNT(*) FROM t WHERE v = ?", {Value::Text("' OR '1'='1")});
  ASSERT_TRUE(match.ok());
  EXPECT_EQ((*match)[0][0].as_int(), 1);
}

TEST_F(SqliteStoreTest, OnlyOneStatementPerCall) {
  auto tx = store_->Begin(TxMode::kWrite);
  ASSERT_TRUE(tx.ok());
  auto r = (*tx)->Exec("INSERT INTO t (id, v) VALUES (1, 'a'); DROP TABLE t");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInternal);
  auto nul = (*tx)->Exec(std::string_view("DELETE FROM t\0 garbage", 22));
  EXPECT_EQ(nul.status().code(), ErrorCode::kInternal);
  EXPECT_TRUE((*tx)->Commit().ok());
  EXPECT_EQ(CountRows(*store_, "SELECT COUNT(*) FROM t"), 0);
}

TEST_F(SqliteStoreTest, ExecReportsChangedRows) {
  for (int i = 0; i < 3; ++i)
    MustExec(*store_, "INSERT INTO t (id, v) VALUES (?, 'a')", {Value::Int(i)});
  auto tx = store_->Begin(TxMode::kWrite);
  ASSERT_TRUE(tx.ok());
  auto n = (*tx)->Exec("UPDATE t SET v = ? WHERE id < ?", {Value::Text("b"), Value::Int(2)});
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2);
  auto ddl = (*tx)->Exec("CREATE TABLE other (x INTEGER)");
  ASSERT_TRUE(ddl.ok());
  EXPECT_EQ(*ddl, 0);
  auto none = (*tx)->Exec("DELETE FROM t WHERE id = ?", {Value::Int(99)});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0);
}

TEST_F(SqliteStoreTest, MisuseIsInternal) {
  auto tx = store_->Begin(TxMode::kRead);
  ASSERT_TRUE(tx.ok());
  auto write = (*tx)->Exec("INSERT INTO t (id, v) VALUES (1, 'a')");
  EXPECT_EQ(write.status().code(), ErrorCode::kInternal);
  auto params = (*tx)->Query("SELECT v FROM t WHERE id = ?", {Value::Int(1), Value::Int(2)});
  EXPECT_EQ(params.status().code(), ErrorCode::kInternal);
  auto real = (*tx)->Query("SELECT 1.5");
  EXPECT_EQ(real.status().code(), ErrorCode::kInternal);
  auto syntax = (*tx)->Query("SELEKT nonsense");
  EXPECT_EQ(syntax.status().code(), ErrorCode::kInternal);
  EXPECT_EQ(syntax.status().message().find("SELEKT"), std::string::npos);
  EXPECT_TRUE((*tx)->Commit().ok());
  EXPECT_FALSE((*tx)->Commit().ok());
  EXPECT_FALSE((*tx)->Query("SELECT 1").ok());
}

TEST_F(SqliteStoreTest, TransactionControlThroughExecIsRefused) {
  auto tx = store_->Begin(TxMode::kWrite);
  ASSERT_TRUE(tx.ok());
  auto r = (*tx)->Exec("COMMIT");
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE((*tx)->Exec("INSERT INTO t (id, v) VALUES (1, 'a')").ok());
  EXPECT_FALSE((*tx)->Commit().ok());
}

TEST_F(SqliteStoreTest, CachedStatementsRebindCleanly) {
  auto tx = store_->Begin(TxMode::kWrite);
  ASSERT_TRUE(tx.ok());
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE((*tx)
                    ->Exec("INSERT INTO t (id, v) VALUES (?, ?)",
                           {Value::Int(i), Value::Text(std::to_string(i))})
                    .ok());
  }
  for (int i = 0; i < 50; ++i) {
    auto rows = (*tx)->Query("SELECT v FROM t WHERE id = ?", {Value::Int(i)});
    ASSERT_TRUE(rows.ok());
    ASSERT_EQ(rows->size(), 1u);
    EXPECT_EQ((*rows)[0][0].as_text(), std::to_string(i));
  }
}

TEST(SqliteStore, ConcurrentWritersAllLand) {
  TempDir dir;
  auto store = MustOpen(Options(dir.File("db.sqlite")));
  ASSERT_NE(store, nullptr);
  MustExec(*store,
           "CREATE TABLE w (thread INTEGER NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (thread, n))");
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int n = 0; n < 200; ++n) {
        auto tx = store->Begin(TxMode::kWrite);
        if (!tx.ok()) {
          ++failures;
          continue;
        }
        if (!(*tx)
                 ->Exec("INSERT INTO w (thread, n) VALUES (?, ?)", {Value::Int(t), Value::Int(n)})
                 .ok() ||
            !(*tx)->Commit().ok()) {
          ++failures;
        }
        // Readers interleave with the writers without blocking them.
        if (n % 50 == 0) {
          auto r = store->Begin(TxMode::kRead);
          if (!r.ok() || !(*r)->Query("SELECT COUNT(*) FROM w").ok()) ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(CountRows(*store, "SELECT COUNT(*) FROM w"), 800);
}

TEST(SqliteStore, PoolExhaustionWaitsForAConnection) {
  TempDir dir;
  auto o = Options(dir.File("db.sqlite"));
  o.pool_size = 1;
  auto store = MustOpen(o);
  ASSERT_NE(store, nullptr);
  auto held = store->Begin(TxMode::kRead);
  ASSERT_TRUE(held.ok());
  std::thread releaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    held->reset();
  });
  auto start = std::chrono::steady_clock::now();
  auto second = store->Begin(TxMode::kRead);
  auto waited = std::chrono::steady_clock::now() - start;
  releaser.join();
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_GE(waited, std::chrono::milliseconds(150));
}

TEST(SqliteStore, PoolExhaustionTimesOutAsBusy) {
  TempDir dir;
  auto o = Options(dir.File("db.sqlite"));
  o.pool_size = 1;
  o.busy_timeout_ms = 100;
  auto store = MustOpen(o);
  ASSERT_NE(store, nullptr);
  auto held = store->Begin(TxMode::kRead);
  ASSERT_TRUE(held.ok());
  auto second = store->Begin(TxMode::kRead);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(second.status().reason(), "store_busy");
}

// The connections kept for the threads every request waits on (the io threads, the ledger
// writer): workers holding every other connection make a worker wait (and time out), never one
// of those; and a reserved connection is back in the reserve once it is released.
TEST(SqliteStore, ReservedConnectionsAreNeverTakenByThreadsWithoutARole) {
  TempDir dir;
  auto o = Options(dir.File("db.sqlite"));
  o.pool_size = 4;
  o.reserved = 2;
  o.busy_timeout_ms = 100;
  auto store = MustOpen(o);
  ASSERT_NE(store, nullptr);
  auto begin_on = [&](core::ThreadRole role) {
    StatusOr<std::unique_ptr<Transaction>> tx = Status::Internal("not run");
    std::thread t([&] {
      core::ScopedThreadRole r(role);
      tx = store->Begin(TxMode::kRead);
    });
    t.join();
    return tx;
  };
  // Workers (any thread that is not an io thread) get the two unreserved connections only.
  auto w1 = store->Begin(TxMode::kRead);
  auto w2 = store->Begin(TxMode::kWrite);
  ASSERT_TRUE(w1.ok() && w2.ok());
  auto w3 = begin_on(core::ThreadRole::kOther);
  ASSERT_FALSE(w3.ok());
  EXPECT_EQ(w3.status().reason(), "store_busy");
  // The threads with a role still find theirs, one each; a third waits like anyone.
  auto io1 = begin_on(core::ThreadRole::kIo);
  auto io2 = begin_on(core::ThreadRole::kLedgerWriter);
  ASSERT_TRUE(io1.ok()) << io1.status().ToString();
  ASSERT_TRUE(io2.ok()) << io2.status().ToString();
  EXPECT_EQ(begin_on(core::ThreadRole::kIo).status().reason(), "store_busy");
  // An io thread's connection, released, is back in the reserve: out of the workers' reach
  // while they hold their own two, at once for the next io thread.
  io1->reset();
  EXPECT_EQ(begin_on(core::ThreadRole::kOther).status().reason(), "store_busy");
  auto io3 = begin_on(core::ThreadRole::kIo);
  ASSERT_TRUE(io3.ok()) << io3.status().ToString();
  io3->reset();
  // A worker's connection, released, is the workers' again.
  w1->reset();
  auto w4 = begin_on(core::ThreadRole::kOther);
  EXPECT_TRUE(w4.ok()) << w4.status().ToString();
  w4->reset();
  io2->reset();
  w2->reset();
  // With nothing held, the workers still leave the two reserved ones alone.
  auto w5 = store->Begin(TxMode::kRead);
  auto w6 = store->Begin(TxMode::kRead);
  ASSERT_TRUE(w5.ok() && w6.ok());
  EXPECT_EQ(begin_on(core::ThreadRole::kOther).status().reason(), "store_busy");
}

TEST(SqliteStore, WriterLockedByAnotherProcessIsBusy) {
  TempDir dir;
  auto o = Options(dir.File("db.sqlite"));
  o.busy_timeout_ms = 100;
  auto store = MustOpen(o);
  ASSERT_NE(store, nullptr);
  RawDb other(o.path);
  ASSERT_EQ(other.Exec("BEGIN IMMEDIATE"), SQLITE_OK);
  auto tx = store->Begin(TxMode::kWrite);
  ASSERT_FALSE(tx.ok());
  EXPECT_EQ(tx.status().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(tx.status().reason(), "store_busy");
  // Readers are not blocked by a writer in WAL mode.
  EXPECT_TRUE(store->Begin(TxMode::kRead).ok());
  ASSERT_EQ(other.Exec("ROLLBACK"), SQLITE_OK);
  EXPECT_TRUE(store->Begin(TxMode::kWrite).ok());
}

TEST(SqliteStore, MissingFileWithoutCreateIsUnavailable) {
  TempDir dir;
  auto o = Options(dir.File("absent.sqlite"));
  o.create_if_missing = false;
  auto s = OpenSqliteStore(o);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(s.status().reason(), "store_unavailable");
  EXPECT_FALSE(std::filesystem::exists(o.path));
}

TEST(SqliteStore, UnopenableDirectoryIsUnavailable) {
  auto s = OpenSqliteStore(Options("/nonexistent-bulwark-dir/db.sqlite"));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(s.status().message().find("nonexistent"), std::string::npos);
}

TEST(SqliteStore, InvalidOptionsAreRejected) {
  TempDir dir;
  auto base = Options(dir.File("db.sqlite"));
  std::vector<SqliteOptions> bad(7, base);
  bad[0].path = "";
  bad[1].pool_size = 0;
  bad[2].busy_timeout_ms = -1;
  bad[3].journal_mode = "WAL; DROP TABLE x";
  bad[4].synchronous = "LOUD";
  bad[5].reserved = -1;
  bad[6].reserved = base.pool_size;  // nothing would be left for the other threads
  for (const auto& o : bad) {
    auto s = OpenSqliteStore(o);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.status().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(s.status().reason(), "invalid_store_option");
  }
}

TEST(SqliteStore, StrictSettingsAreInForce) {
  TempDir dir;
  auto o = Options(dir.File("db.sqlite"));
  auto store = MustOpen(o);
  ASSERT_NE(store, nullptr);
  RawDb raw(o.path);
  EXPECT_EQ(raw.Text("PRAGMA journal_mode"), "wal");
  auto tx = store->Begin(TxMode::kRead);
  ASSERT_TRUE(tx.ok());
  auto fk = (*tx)->Query("PRAGMA foreign_keys");
  ASSERT_TRUE(fk.ok()) << fk.status().ToString();
  EXPECT_EQ((*fk)[0][0].as_int(), 1);
  auto sync = (*tx)->Query("PRAGMA synchronous");
  ASSERT_TRUE(sync.ok());
  EXPECT_EQ((*sync)[0][0].as_int(), 2);  // FULL
}

TEST(SqliteStore, DeleteJournalModeIsHonouredAndReported) {
  TempDir dir;
  auto o = Options(dir.File("db.sqlite"));
  o.journal_mode = "DELETE";
  auto store = MustOpen(o);
  ASSERT_NE(store, nullptr);
  RawDb raw(o.path);
  EXPECT_EQ(raw.Text("PRAGMA journal_mode"), "delete");
  auto health = store->CheckHealth();
  ASSERT_EQ(health.size(), 2u);
  EXPECT_TRUE(health[0].ok) << health[0].detail;
  EXPECT_NE(health[0].detail.find("journal_mode=delete"), std::string::npos) << health[0].detail;
}

TEST(SqliteStore, HealthNoticesJournalModeChangedUnderneath) {
  TempDir dir;
  auto o = Options(dir.File("db.sqlite"));
  o.journal_mode = "DELETE";
  auto store = MustOpen(o);
  ASSERT_NE(store, nullptr);
  {
    RawDb raw(o.path);
    ASSERT_EQ(raw.Text("PRAGMA journal_mode=WAL"), "wal");
  }
  auto health = store->CheckHealth();
  EXPECT_FALSE(health[0].ok);
  EXPECT_NE(health[0].detail.find("not in force"), std::string::npos) << health[0].detail;
  EXPECT_FALSE(health[1].ok);
}

TEST(SqliteStore, HealthOkOnWalStoreAndFailsWhenFileRenamedAway) {
  TempDir dir;
  auto o = Options(dir.File("db.sqlite"));
  auto store = MustOpen(o);
  ASSERT_NE(store, nullptr);
  auto health = store->CheckHealth();
  ASSERT_EQ(health.size(), 2u);
  EXPECT_EQ(health[0].name, "store");
  EXPECT_TRUE(health[0].ok) << health[0].detail;
  EXPECT_NE(health[0].detail.find("journal_mode=wal"), std::string::npos);
  EXPECT_EQ(health[1].name, "store_writable");
  EXPECT_TRUE(health[1].ok) << health[1].detail;

  std::filesystem::rename(o.path, dir.File("moved.sqlite"));
  health = store->CheckHealth();
  EXPECT_FALSE(health[0].ok);
  EXPECT_FALSE(health[1].ok);
  EXPECT_EQ(health[0].detail.find(dir.File("")), std::string::npos) << "no paths in details";
  EXPECT_FALSE(std::filesystem::exists(o.path)) << "health check must not create the file";

  // A different file put in its place is noticed too.
  auto other = MustOpen(o);
  ASSERT_NE(other, nullptr);
  health = store->CheckHealth();
  EXPECT_FALSE(health[0].ok);
  EXPECT_TRUE(other->CheckHealth()[0].ok);
}

TEST(SqliteStore, HealthReportsWriteLockUnavailable) {
  TempDir dir;
  auto o = Options(dir.File("db.sqlite"));
  o.busy_timeout_ms = 50;
  auto store = MustOpen(o);
  ASSERT_NE(store, nullptr);
  RawDb other(o.path);
  ASSERT_EQ(other.Exec("BEGIN IMMEDIATE"), SQLITE_OK);
  auto health = store->CheckHealth();
  EXPECT_TRUE(health[0].ok) << health[0].detail;
  EXPECT_FALSE(health[1].ok);
  other.Exec("ROLLBACK");
}

TEST(SqliteStore, FilesAreOwnerOnlyWhateverTheUmask) {
  TempDir dir;
  auto o = Options(dir.File("db.sqlite"));
  mode_t old = ::umask(0);
  auto store = MustOpen(o);
  ASSERT_NE(store, nullptr);
  MustExec(*store, "CREATE TABLE t (x INTEGER)");
  MustExec(*store, "INSERT INTO t (x) VALUES (1)");
  ::umask(old);
  EXPECT_EQ(FileMode(o.path), 0600);
  ASSERT_TRUE(std::filesystem::exists(o.path + "-wal"));
  EXPECT_EQ(FileMode(o.path + "-wal"), 0600);
  if (std::filesystem::exists(o.path + "-shm")) {
    EXPECT_EQ(FileMode(o.path + "-shm"), 0600);
  }
}

TEST(SqliteStore, SchemaVersionIsZeroOnEmptyDatabase) {
  TempDir dir;
  auto store = MustOpen(Options(dir.File("db.sqlite")));
  ASSERT_NE(store, nullptr);
  auto v = store->SchemaVersion();
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, 0);
}

TEST(SqliteStore, HasTableAsksTheCatalogForTablesOnly) {
  TempDir dir;
  auto store = MustOpen(Options(dir.File("db.sqlite")));
  ASSERT_NE(store, nullptr);
  MustExec(*store, "CREATE TABLE t (x INTEGER)");
  MustExec(*store, "CREATE VIEW v AS SELECT x FROM t");
  auto tx = store->Begin(TxMode::kRead);
  ASSERT_TRUE(tx.ok());
  EXPECT_TRUE(*(*tx)->HasTable("t"));
  EXPECT_FALSE(*(*tx)->HasTable("v"));
  EXPECT_FALSE(*(*tx)->HasTable("missing"));
  EXPECT_FALSE(*(*tx)->HasTable("t' OR '1'='1"));
}

TEST(SqliteStore, AFileOpenedAsItIsKeepsItsJournalMode) {
  TempDir dir;
  for (const char* mode : {"WAL", "DELETE"}) {
    const std::string path = dir.File(std::string(mode) + ".sqlite");
    SqliteOptions o = Options(path);
    o.journal_mode = mode;
    auto made = MustOpen(o);
    ASSERT_NE(made, nullptr);
    MustExec(*made, "CREATE TABLE t (x INTEGER)");  // an empty file has no header yet
    made.reset();
    auto as_is = OpenSqliteFileAsIs(path);
    ASSERT_TRUE(as_is.ok()) << as_is.status().ToString();
    RawDb raw(path);
    EXPECT_EQ(raw.Text("PRAGMA journal_mode"), mode == std::string("WAL") ? "wal" : "delete");
  }
  EXPECT_EQ(OpenSqliteFileAsIs(dir.File("missing")).status().code(), ErrorCode::kUnavailable);
  EXPECT_FALSE(std::filesystem::exists(dir.File("missing")));
  const std::string text = dir.File("text");
  { std::ofstream(text) << std::string(200, 'x'); }
  EXPECT_EQ(OpenSqliteFileAsIs(text).status().reason(), "not_a_database");
  EXPECT_EQ(OpenSqliteFileAsIs(dir.File("")).status().code(), ErrorCode::kUnavailable);
}

TEST(SqliteStore, TransactionMayOutliveStore) {
  TempDir dir;
  auto store = MustOpen(Options(dir.File("db.sqlite")));
  ASSERT_NE(store, nullptr);
  auto tx = store->Begin(TxMode::kWrite);
  ASSERT_TRUE(tx.ok());
  store.reset();
  EXPECT_TRUE((*tx)->Exec("CREATE TABLE t (x INTEGER)").ok());
  EXPECT_TRUE((*tx)->Commit().ok());
}

}  // namespace
}  // namespace bulwark::store

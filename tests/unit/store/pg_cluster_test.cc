// Several nodes on one PostgreSQL 15 (pg_server.h): change notifications from the cached tables
// reach a listener (and a silent one is declared lost and comes back), rate-limit buckets are
// shared between nodes exactly, and the ledger and receipt tables keep no UPDATE, DELETE or
// TRUNCATE privilege even for the database owner.
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "audit/ledger.h"
#include "audit/writer.h"
#include "crypto/encoding.h"
#include "stages/shared_rate_buckets.h"
#include "keyring/keyring.h"
#include "pg_server.h"
#include "store/migrate.h"
#include "store/postgres/pg_listener.h"
#include "store/postgres/pg_store.h"
#include "store/postgres/roles.h"
#include "store_test_util.h"

namespace bulwark::store {
namespace {

using std::chrono::milliseconds;
using namespace std::chrono_literals;

::bulwark::testing::PgServer& Server() { return ::bulwark::testing::SharedPgServer(); }

// The bucket-naming key every node gets from the keyring (one per database).
crypto::SecretBytes Key() { return crypto::SecretBytes::FromString(std::string(32, 'k')); }

std::unique_ptr<Store> OpenMigrated(const std::string& url) {
  auto s = OpenPostgresStore({.url = url, .pool_size = 4});
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  if (!s.ok()) return nullptr;
  EXPECT_TRUE(Migrate(**s).ok());
  return std::move(*s);
}

Status Exec(Store& store, std::string_view sql, Params p = {}) {
  BULWARK_ASSIGN_OR_RETURN(auto tx, store.Begin(TxMode::kWrite));
  BULWARK_RETURN_IF_ERROR(tx->Exec(sql, p).status());
  return tx->Commit();
}

// What a listener reported, in order, with a wait for the next item.
class Inbox {
 public:
  void Push(std::string item) {
    std::lock_guard lock(mu_);
    items_.push_back(std::move(item));
    cv_.notify_all();
  }
  // The next item, or "" after `timeout`.
  std::string Next(milliseconds timeout = 5000ms) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return !items_.empty(); })) return "";
    std::string item = std::move(items_.front());
    items_.pop_front();
    return item;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> items_;
};

class PgClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(Server().ok()) << Server().error();
    url_ = Server().NewDatabase();
    store_ = OpenMigrated(url_);
    ASSERT_NE(store_, nullptr);
  }
  std::unique_ptr<PgListener> Listen(Inbox& inbox) {
    auto l = PgListener::Start(
        {.url = url_, .channel = "bulwark_invalidate"},
        [&inbox](std::string_view payload) { inbox.Push(std::string(payload)); },
        [&inbox](bool up) { inbox.Push(up ? "<up>" : "<down>"); });
    EXPECT_TRUE(l.ok());
    return l.ok() ? std::move(*l) : nullptr;
  }
  std::string url_;
  std::unique_ptr<Store> store_;
};

TEST_F(PgClusterTest, CommittedChangesToCachedStateNotifyAndRolledBackOnesDoNot) {
  Inbox inbox;
  auto listener = Listen(inbox);
  ASSERT_EQ(inbox.Next(), "<up>");

  ASSERT_TRUE(
      Exec(*store_, "INSERT INTO tenants(id, name, created_at) VALUES ('ten_1', 'acme', 1)").ok());
  EXPECT_EQ(inbox.Next(), "t:ten_1");
  ASSERT_TRUE(
      Exec(*store_, "INSERT INTO users(id, email, created_at) VALUES ('usr_1', 'a@acme.test', 1)")
          .ok());
  ASSERT_TRUE(Exec(*store_, "UPDATE users SET disabled = 1 WHERE id = 'usr_1'").ok());
  EXPECT_EQ(inbox.Next(), "u:usr_1");  // the insert named nothing: no one can have cached it
  ASSERT_TRUE(Exec(*store_,
                   "INSERT INTO memberships(tenant_id, user_id, role, created_at) "
                   "VALUES ('ten_1', 'usr_1', 'viewer', 1)")
                  .ok());
  EXPECT_EQ(inbox.Next(), "t:ten_1");
  {
    auto tx = store_->Begin(TxMode::kWrite);
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(
        (*tx)->Exec("UPDATE tenants SET ip_allowlist = '10.0.0.0/8' WHERE id = 'ten_1'").ok());
    // destroyed without Commit: rolled back, so nothing is announced
  }
  ASSERT_TRUE(
      Exec(*store_,
           "INSERT INTO path_policies(tenant_id, name, rules, created_at, updated_at, updated_by) "
           "VALUES ('ten_1', 'dev', '[]', 1, 1, 'usr_1')")
          .ok());
  EXPECT_EQ(inbox.Next(), "p:ten_1");  // the first message after the rollback
  EXPECT_EQ(inbox.Next(300ms), "");
}

TEST_F(PgClusterTest, ALostListenerReportsDownThenComesBackUp) {
  Inbox inbox;
  auto listener = Listen(inbox);
  ASSERT_EQ(inbox.Next(), "<up>");
  // Cut every other session to the database: the listener's connection is among them.
  ASSERT_TRUE(
      Server().Admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "
                     "current_database() AND pid <> pg_backend_pid()",
                     url_.substr(url_.rfind('/') + 1)));
  EXPECT_EQ(inbox.Next(), "<down>");
  EXPECT_EQ(inbox.Next(), "<up>");  // reconnected, LISTEN in force again
  ASSERT_TRUE(
      Exec(*store_, "INSERT INTO tenants(id, name, created_at) VALUES ('ten_2', 'beta', 1)").ok());
  EXPECT_EQ(inbox.Next(), "t:ten_2");
}

TEST_F(PgClusterTest, AListenerWhoseServerStopsAnsweringIsDeclaredLostWithinASecond) {
  Inbox inbox;
  auto listener = Listen(inbox);
  ASSERT_EQ(inbox.Next(), "<up>");
  // The listener's server process, frozen: the socket stays open, nothing answers (what a
  // network partition looks like from the node).
  PGconn* c = PQconnectdb(url_.c_str());
  PGresult* r = PQexec(c,
                       "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND "
                       "(query LIKE 'LISTEN%' OR query = 'SELECT 1') AND pid <> pg_backend_pid()");
  ASSERT_EQ(PQntuples(r), 1);
  const pid_t pid = std::stoi(PQgetvalue(r, 0, 0));
  PQclear(r);
  PQfinish(c);
  ASSERT_EQ(::kill(pid, SIGSTOP), 0);
  const auto start = std::chrono::steady_clock::now();
  const std::string next = inbox.Next(3000ms);
  const auto took = std::chrono::steady_clock::now() - start;
  ::kill(pid, SIGCONT);
  EXPECT_EQ(next, "<down>");
  EXPECT_LT(took, 1200ms);  // at most heartbeat (200 ms) + dead-after (600 ms), with margin
  EXPECT_EQ(inbox.Next(), "<up>");
}

TEST_F(PgClusterTest, AListenerThatCannotConnectReportsDown) {
  Inbox inbox;
  auto l = PgListener::Start(
      {.url = "postgresql://bulwark@127.0.0.1:1/nothing?connect_timeout=1",
       .channel = "bulwark_invalidate"},
      [&inbox](std::string_view payload) { inbox.Push(std::string(payload)); },
      [&inbox](bool up) { inbox.Push(up ? "<up>" : "<down>"); });
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(inbox.Next(), "<down>");
  EXPECT_FALSE(PgListener::Start(
                   {.url = url_, .channel = "bad-channel"}, [](std::string_view) {}, [](bool) {})
                   .ok());
}

TEST_F(PgClusterTest, HealthSaysNotWritableForAReadOnlyServerWithoutTakingTheWritersLock) {
  // A writer holds the writers' lock: the health check must not wait for it.
  auto writer = store_->Begin(TxMode::kWrite);
  ASSERT_TRUE(writer.ok());
  auto checks = store_->CheckHealth();
  ASSERT_EQ(checks.size(), 2u);
  EXPECT_TRUE(checks[0].ok && checks[1].ok) << checks[1].detail;
  writer->reset();
  // What a node sees when its URL now leads to a standby or a read-only server.
  const std::string db = url_.substr(url_.rfind('/') + 1);
  ASSERT_TRUE(Server().Admin("ALTER DATABASE " + db + " SET default_transaction_read_only = on"));
  auto fresh = OpenPostgresStore({.url = url_, .pool_size = 1});
  ASSERT_TRUE(fresh.ok());
  checks = (*fresh)->CheckHealth();
  EXPECT_TRUE(checks[0].ok);
  EXPECT_FALSE(checks[1].ok);
  EXPECT_EQ(checks[1].detail, "read_only_server");
}

TEST_F(PgClusterTest, RateBucketsAreSharedExactlyBetweenNodes) {
  std::atomic<std::int64_t> now{1'700'000'000'000};
  auto clock = [&now] { return now.load(); };
  auto other = OpenMigrated(url_);  // a second node: its own pool on the same database
  stages::SharedRateBuckets a(*store_, Key(), clock), b(*other, Key(), clock);
  const stages::RateRule three_per_3s{3, 3000ms};
  EXPECT_EQ(*a.TakeNow("ip:203.0.113.9|POST /x", three_per_3s), 0ms);
  EXPECT_EQ(*b.TakeNow("ip:203.0.113.9|POST /x", three_per_3s), 0ms);
  EXPECT_EQ(*a.TakeNow("ip:203.0.113.9|POST /x", three_per_3s), 0ms);
  EXPECT_EQ(*b.TakeNow("ip:203.0.113.9|POST /x", three_per_3s), 1000ms);  // the burst is spent
  EXPECT_EQ(*a.TakeNow("ip:198.51.100.1|POST /x", three_per_3s), 0ms);    // keys are independent
  now += 999;
  EXPECT_EQ(*a.TakeNow("ip:203.0.113.9|POST /x", three_per_3s), 1ms);
  now += 1;
  EXPECT_EQ(*b.TakeNow("ip:203.0.113.9|POST /x", three_per_3s), 0ms);  // one token refilled
  EXPECT_EQ(*a.TakeNow("ip:203.0.113.9|POST /x", three_per_3s), 1000ms);

  // The key itself never reaches the database, only its digest.
  auto tx = store_->Begin(TxMode::kRead);
  ASSERT_TRUE(tx.ok());
  auto rows = (*tx)->Query("SELECT bucket FROM rate_buckets ORDER BY bucket");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 2u);
  for (const auto& r : *rows) EXPECT_EQ(r[0].as_text().size(), 64u);
}

TEST_F(PgClusterTest, AChangedRuleStartsAFreshBucketAndRefusalsAreRememberedLocally) {
  std::int64_t now = 1'700'000'000'000;
  auto other = OpenMigrated(url_);
  stages::SharedRateBuckets old_rule(*store_, Key(), [&now] { return now; });
  stages::SharedRateBuckets new_rule(*other, Key(), [&now] { return now; });
  // A node still on 600/1m spends a token; a node already on 100/1m must not read that row
  // at the wrong scale (it once answered a wait of billions of seconds).
  EXPECT_EQ(*old_rule.TakeNow("k", {600, 60'000ms}), 0ms);
  EXPECT_EQ(*new_rule.TakeNow("k", {100, 60'000ms}), 0ms);
  for (int i = 0; i < 99; ++i) ASSERT_EQ(*new_rule.TakeNow("k", {100, 60'000ms}), 0ms);
  EXPECT_EQ(*new_rule.TakeNow("k", {100, 60'000ms}), 600ms);
  // The refusal is remembered: with the rows gone, this node still refuses until the wait is
  // over, without asking the database; then it asks again.
  ASSERT_TRUE(Exec(*store_, "DELETE FROM rate_buckets").ok());
  now += 599;
  EXPECT_EQ(*new_rule.TakeNow("k", {100, 60'000ms}), 1ms);
  now += 1;
  EXPECT_EQ(*new_rule.TakeNow("k", {100, 60'000ms}), 0ms);
}

TEST_F(PgClusterTest, AFastRuleTakesTokensInBatchesAndTheNodesStillSpendExactlyTheBudget) {
  std::int64_t now = 1'700'000'000'000;
  auto other = OpenMigrated(url_);
  stages::SharedRateBuckets a(*store_, Key(), [&now] { return now; });
  stages::SharedRateBuckets b(*other, Key(), [&now] { return now; });
  const stages::RateRule fast{1000, 1000ms};  // batches of 50
  int allowed = 0;
  bool a_open = true, b_open = true;
  for (int i = 0; (a_open || b_open) && i < 5000; ++i) {
    auto& node = i % 3 == 0 ? b : a;  // uneven: one node spends faster
    auto w = node.TakeNow("api_key:hot", fast);
    ASSERT_TRUE(w.ok());
    if (w->count() == 0) {
      ++allowed;
    } else {
      (i % 3 == 0 ? b_open : a_open) = false;
    }
  }
  EXPECT_EQ(allowed, 1000);  // the burst, exactly, whichever node spent it
  // The shared bucket holds exactly the 1000 tokens spent, however they were batched.
  auto tx = store_->Begin(TxMode::kRead);
  auto rows = (*tx)->Query("SELECT tat FROM rate_buckets");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0][0].as_int(), now * 1000 + 1000 * 1000);
  now += 1;  // one token refills (1 ms); tokens held past their second are dropped, not spent
  EXPECT_EQ(*a.TakeNow("api_key:hot", fast), 0ms);
}

TEST_F(PgClusterTest, ConcurrentTakesFromTwoNodesAllowExactlyTheCapacity) {
  auto other = OpenMigrated(url_);
  const std::int64_t t0 = 1'700'000'000'000;
  stages::SharedRateBuckets a(*store_, Key(), [t0] { return t0; }),
      b(*other, Key(), [t0] { return t0; });
  const stages::RateRule five_per_minute{5, 60'000ms};
  std::atomic<int> allowed{0}, errors{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      for (int j = 0; j < 5; ++j) {
        auto w =
            (i % 2 ? a : b).TakeNow("email:x@acme.test|POST /api/v1/auth/request", five_per_minute);
        if (!w.ok()) {
          ++errors;
        } else if (w->count() == 0) {
          ++allowed;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(allowed.load(), 5);
}

TEST_F(PgClusterTest, RefilledBucketsArePruned) {
  std::int64_t now = 1'700'000'000'000;
  stages::SharedRateBuckets buckets(*store_, Key(), [&now] { return now; });
  ASSERT_EQ(*buckets.TakeNow("a", {2, 1000ms}), 0ms);  // the first take schedules a prune
  ASSERT_EQ(*buckets.TakeNow("b", {2, 1000ms}), 0ms);
  now += 120'000;  // both idle long past refilling; the next take prunes them
  ASSERT_EQ(*buckets.TakeNow("c", {2, 1000ms}), 0ms);
  auto tx = store_->Begin(TxMode::kRead);
  ASSERT_TRUE(tx.ok());
  auto rows = (*tx)->Query("SELECT COUNT(*) FROM rate_buckets");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ((*rows)[0][0].as_int(), 1);
}

TEST(SharedRateBucketsSqlite, TheSameStatementWorksOnSqlite) {
  testing::TempDir dir;
  auto store = OpenSqliteStore(testing::Options(dir.File("b.db")));
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE(Migrate(**store).ok());
  std::int64_t now = 1'700'000'000'000;
  stages::SharedRateBuckets buckets(**store, Key(), [&now] { return now; });
  const stages::RateRule two_per_second{2, 1000ms};
  EXPECT_EQ(*buckets.TakeNow("k", two_per_second), 0ms);
  EXPECT_EQ(*buckets.TakeNow("k", two_per_second), 0ms);
  EXPECT_EQ(*buckets.TakeNow("k", two_per_second), 500ms);
  now += 500;
  EXPECT_EQ(*buckets.TakeNow("k", two_per_second), 0ms);
  EXPECT_EQ(*buckets.TakeNow("k", {0, 1000ms}), 1000ms);  // an invalid rule refuses
}

TEST(PgWormPrivileges, TheAppRoleAppendsToTheLedgerButCannotRewriteItOrLiftItsTriggers) {
  ASSERT_TRUE(Server().ok()) << Server().error();
  for (const char* role : {"bulwark_owner", "bulwark_app"}) {
    ASSERT_TRUE(Server().Admin(
        std::string("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '") + role +
        "') THEN CREATE ROLE " + role + " LOGIN; END IF; END $$"));
  }
  // The owner (not a superuser) migrates and grants; the nodes connect as the app role.
  const std::string owner_url = Server().NewDatabase("bulwark_owner");
  const std::string db = owner_url.substr(owner_url.rfind('/') + 1);
  const std::string app_url =
      "postgresql://bulwark_app@127.0.0.1:" + std::to_string(Server().port()) + "/" + db;
  auto owner = OpenMigrated(owner_url);
  ASSERT_NE(owner, nullptr);
  EXPECT_EQ(GrantAppRole(*owner, "Bad-Name").reason(), "invalid_role");
  EXPECT_EQ(GrantAppRole(*owner, "nobody_here").reason(), "unknown_role");
  EXPECT_EQ(GrantAppRole(*owner, "bulwark_owner").reason(), "role_too_strong");
  EXPECT_EQ(GrantAppRole(*owner, "bulwark").reason(), "role_too_strong");  // the superuser
  ASSERT_TRUE(GrantAppRole(*owner, "bulwark_app").ok());
  ASSERT_TRUE(GrantAppRole(*owner, "bulwark_app").ok());  // idempotent

  auto app = OpenMigrated(app_url);  // up to date: Migrate reads only, no DDL
  ASSERT_NE(app, nullptr);
  // A real ledger, as a node runs it: appends (into audit_index, whose foreign key PostgreSQL
  // checks as the owner) and a signed checkpoint.
  keyring::MasterKeySource src;
  src.kind = keyring::MasterKeySourceKind::kBase64;
  src.material =
      crypto::SecretBytes::FromString(crypto::Base64Encode(std::vector<std::uint8_t>(32, 7)));
  auto keys = keyring::Keyring::Open(src, *app);
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  auto ledger = audit::Ledger::Open(*app, **keys);
  ASSERT_TRUE(ledger.ok()) << ledger.status().ToString();
  {
    audit::AuditWriter writer(*app, **ledger, {.checkpoint_every = 2});
    for (int i = 0; i < 3; ++i) {
      audit::Event e;
      e.action = "test.append";
      e.actor = {audit::ActorKind::kOperator, "test"};
      ASSERT_TRUE(writer.Commit(nullptr, e).ok());
    }
  }
  auto count = [&](const char* sql) {
    auto tx = app->Begin(TxMode::kRead);
    auto rows = (*tx)->Query(sql);
    return rows.ok() ? (*rows)[0][0].as_int() : -1;
  };
  EXPECT_EQ(count("SELECT COUNT(*) FROM audit_ledger"), 3);
  EXPECT_GE(count("SELECT COUNT(*) FROM audit_checkpoints"), 1);

  for (std::string_view table : kAppendOnlyTables) {
    auto tx = app->Begin(TxMode::kRead);
    ASSERT_TRUE(tx.ok());
    const Value t = Value::Text(std::string(table));
    auto rows = (*tx)->Query(
        "SELECT has_table_privilege(current_user, ?, 'UPDATE')::int + "
        "has_table_privilege(current_user, ?, "
        "'DELETE')::int + has_table_privilege(current_user, ?, 'TRUNCATE')::int, "
        "has_table_privilege(current_user, ?, 'INSERT')::int + has_table_privilege(current_user, "
        "?, 'SELECT')::int",
        {t, t, t, t, t});
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    EXPECT_EQ((*rows)[0][0].as_int(), 0) << table;
    EXPECT_EQ((*rows)[0][1].as_int(), 2) << table;
  }
  // Refused by privilege before any trigger runs; and not owning the tables, the app role can
  // neither lift the triggers nor grant itself the missing privileges.
  for (const char* sql :
       {"UPDATE audit_ledger SET entry = entry WHERE seq = 1", "DELETE FROM audit_ledger",
        "TRUNCATE audit_ledger", "UPDATE receipts SET id = id", "DELETE FROM audit_ledger_meta",
        "ALTER TABLE audit_ledger DISABLE TRIGGER USER", "DROP TABLE audit_index"}) {
    Status st = Exec(*app, sql);
    EXPECT_FALSE(st.ok()) << sql;
    EXPECT_NE(st.message().find("42501"), std::string::npos) << sql << ": " << st.ToString();
  }
  (void)Exec(*app,
             "GRANT UPDATE ON audit_ledger TO bulwark_app");  // PostgreSQL: a warning, no grant
  EXPECT_EQ(count("SELECT has_table_privilege(current_user, 'audit_ledger', 'UPDATE')::int"), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM audit_ledger"), 3);
  // The app role still does its ordinary work elsewhere.
  EXPECT_TRUE(
      Exec(*app, "INSERT INTO tenants(id, name, created_at) VALUES ('ten_w', 'worm', 1)").ok());
  EXPECT_TRUE(Exec(*app, "UPDATE tenants SET ip_allowlist = '' WHERE id = 'ten_w'").ok());
  // And even the owner, who may, meets the triggers on every append-only table.
  EXPECT_FALSE(Exec(*owner, "UPDATE audit_ledger SET entry = entry WHERE seq = 1").ok());
  EXPECT_FALSE(Exec(*owner, "TRUNCATE audit_signing_keys").ok());
  EXPECT_FALSE(Exec(*owner, "DELETE FROM audit_ledger_meta").ok());
}

}  // namespace
}  // namespace bulwark::store

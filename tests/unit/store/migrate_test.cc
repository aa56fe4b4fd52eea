#include "store/migrate.h"

#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "store/migrations.h"
#include "store_test_util.h"

namespace bulwark::store {
namespace {

using testing::MustOpen;
using testing::Options;
using testing::TempDir;

// Every table and index definition plus every schema_migrations row: "nothing changed" means
// this snapshot is identical before and after.
std::vector<std::string> Snapshot(Store& s) {
  std::vector<std::string> out;
  auto tx = s.Begin(TxMode::kRead);
  EXPECT_TRUE(tx.ok());
  auto schema =
      (*tx)->Query("SELECT type, name, COALESCE(sql, '') FROM sqlite_master ORDER BY name");
  EXPECT_TRUE(schema.ok());
  for (const Row& r : *schema)
    out.push_back(r[0].as_text() + "|" + r[1].as_text() + "|" + r[2].as_text());
  auto has = (*tx)->Query("SELECT COUNT(*) FROM sqlite_master WHERE name = 'schema_migrations'");
  if ((*has)[0][0].as_int() > 0) {
    auto rows =
        (*tx)->Query("SELECT version, name, applied_at FROM schema_migrations ORDER BY version");
    EXPECT_TRUE(rows.ok());
    for (const Row& r : *rows) {
      out.push_back(std::to_string(r[0].as_int()) + "|" + r[1].as_text() + "|" + r[2].as_text());
    }
  }
  return out;
}

void MustExec(Store& s, std::string_view sql, Params params = {}) {
  auto tx = s.Begin(TxMode::kWrite);
  ASSERT_TRUE(tx.ok());
  auto r = (*tx)->Exec(sql, params);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE((*tx)->Commit().ok());
}

TEST(Migrations, AreOrderedWithoutGapsAndSplittable) {
  auto all = AllMigrations();
  ASSERT_FALSE(all.empty());
  for (std::size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].version, static_cast<int>(i) + 1);
    EXPECT_FALSE(all[i].name.empty());
    auto stmts = SplitSqlStatements(all[i].sql);
    ASSERT_TRUE(stmts.ok()) << all[i].name;
    // Each does something; one may do it on PostgreSQL only (an index SQLite's keys make moot).
    EXPECT_FALSE(stmts->empty() && all[i].postgres_only.empty()) << all[i].name;
  }
  EXPECT_EQ(LatestSchemaVersion(), all.back().version);
  EXPECT_EQ(all[0].name, "foundation");
}

// LIST's prefix search (secrets::Vault::List) on SQLite: the secrets table's key (tenant_id,
// path), which compares paths as bytes, serves the range; no scan of the tenant's paths.
TEST(Migrate, TheSecretsKeyServesTheBytewisePathRangeOnSqlite) {
  TempDir dir;
  auto store = MustOpen(Options(dir.File("db.sqlite")));
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(Migrate(*store).ok());
  auto tx = store->Begin(TxMode::kRead);
  ASSERT_TRUE(tx.ok());
  auto plan = (*tx)->Query("EXPLAIN QUERY PLAN SELECT path FROM secrets WHERE tenant_id = ? AND " +
                               (*tx)->BytewiseRange("path"),
                           {Value::Text("t"), Value::Text("db/"), Value::Text("db/~")});
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->size(), 1u);
  EXPECT_EQ(plan->at(0).back().as_text(),
            "SEARCH secrets USING COVERING INDEX sqlite_autoindex_secrets_1 (tenant_id=? AND "
            "path>? AND path<?)");
}

TEST(Migrate, EmptyDatabaseReachesLatestWithFoundationTables) {
  TempDir dir;
  auto store = MustOpen(Options(dir.File("db.sqlite")));
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(Migrate(*store).ok());
  auto v = store->SchemaVersion();
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, LatestSchemaVersion());

  auto tx = store->Begin(TxMode::kRead);
  ASSERT_TRUE(tx.ok());
  auto tables = (*tx)->Query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name");
  ASSERT_TRUE(tables.ok());
  std::vector<std::string> names;
  for (const Row& r : *tables) names.push_back(r[0].as_text());
  EXPECT_EQ(names, (std::vector<std::string>{"api_keys",
                                             "audit_checkpoints",
                                             "audit_export_cursors",
                                             "audit_index",
                                             "audit_ledger",
                                             "audit_ledger_meta",
                                             "audit_signing_keys",
                                             "breakglass_grants",
                                             "data_rotation_jobs",
                                             "group_members",
                                             "invites",
                                             "keyring_kek",
                                             "magic_link_decoys",
                                             "magic_links",
                                             "member_groups",
                                             "memberships",
                                             "mfa_recovery_codes",
                                             "mfa_totp",
                                             "path_policies",
                                             "policy_attachments",
                                             "rate_buckets",
                                             "receipt_signing_keys",
                                             "receipts",
                                             "refresh_tokens",
                                             "schema_migrations",
                                             "scim_group_members",
                                             "scim_groups",
                                             "scim_tokens",
                                             "scim_users",
                                             "secret_versions",
                                             "secrets",
                                             "sessions",
                                             "signing_keys",
                                             "sso_connections",
                                             "sso_domains",
                                             "sso_identities",
                                             "sso_login_states",
                                             "sso_logout_jtis",
                                             "sso_session_links",
                                             "tenant_data_keys",
                                             "tenants",
                                             "users",
                                             "wrapped_keys"}));

  auto rows =
      (*tx)->Query("SELECT version, name, applied_at FROM schema_migrations ORDER BY version");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), AllMigrations().size());
  const std::regex iso(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z)");
  for (std::size_t i = 0; i < rows->size(); ++i) {
    EXPECT_EQ((*rows)[i][0].as_int(), AllMigrations()[i].version);
    EXPECT_EQ((*rows)[i][1].as_text(), AllMigrations()[i].name);
    EXPECT_TRUE(std::regex_match((*rows)[i][2].as_text(), iso)) << (*rows)[i][2].as_text();
  }
}

TEST(Migrate, FoundationSchemaWorksAsDesigned) {
  TempDir dir;
  auto store = MustOpen(Options(dir.File("db.sqlite")));
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(Migrate(*store).ok());
  MustExec(
      *store,
      "INSERT INTO keyring_kek (version, source_kind, salt, iterations, check_value, created_at) "
      "VALUES (?, ?, ?, ?, ?, ?)",
      {Value::Int(1), Value::Text("passphrase"), Value::Bytes(Value::Blob{1, 2}),
       Value::Int(600000), Value::Bytes(Value::Blob{9}),
       Value::Text("2026-11-22T00:00:00.000000Z")});
  MustExec(*store,
           "INSERT INTO wrapped_keys (id, purpose, kek_version, wrapped, created_at) VALUES (?, ?, "
           "?, ?, ?)",
           {Value::Text("k1"), Value::Text("audit"), Value::Int(1), Value::Bytes(Value::Blob{7}),
            Value::Text("2026-11-22T00:00:00.000000Z")});
  auto tx = store->Begin(TxMode::kWrite);
  ASSERT_TRUE(tx.ok());
  auto orphan = (*tx)->Exec(
      "INSERT INTO wrapped_keys (id, purpose, kek_version, wrapped, created_at) VALUES (?, ?, ?, "
      "?, ?)",
      {Value::Text("k2"), Value::Text("audit"), Value::Int(42), Value::Bytes(Value::Blob{7}),
       Value::Text("2026-11-22T00:00:00.000000Z")});
  ASSERT_FALSE(orphan.ok());
  EXPECT_EQ(orphan.status().code(), ErrorCode::kConflict);
}

TEST(Migrate, SecondRunChangesNothing) {
  TempDir dir;
  auto store = MustOpen(Options(dir.File("db.sqlite")));
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(Migrate(*store).ok());
  auto before = Snapshot(*store);
  ASSERT_TRUE(Migrate(*store).ok());
  EXPECT_EQ(Snapshot(*store), before);
  EXPECT_EQ(*store->SchemaVersion(), LatestSchemaVersion());
}

TEST(Migrate, RefusesNewerDatabaseWithoutChangingIt) {
  TempDir dir;
  auto store = MustOpen(Options(dir.File("db.sqlite")));
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(Migrate(*store).ok());
  const int newer = LatestSchemaVersion() + 1;
  MustExec(*store, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
           {Value::Int(newer), Value::Text("from_the_future"),
            Value::Text("2027-01-01T00:00:00.000000Z")});
  auto before = Snapshot(*store);
  Status st = Migrate(*store);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(st.reason(), "schema_too_new");
  EXPECT_NE(st.message().find(std::to_string(newer)), std::string::npos) << st.message();
  EXPECT_NE(st.message().find(std::to_string(LatestSchemaVersion())), std::string::npos)
      << st.message();
  EXPECT_EQ(Snapshot(*store), before);
}

TEST(Migrate, RefusesNewerDatabaseBeforeApplyingAnything) {
  TempDir dir;
  auto store = MustOpen(Options(dir.File("db.sqlite")));
  ASSERT_NE(store, nullptr);
  MustExec(*store,
           "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
           "applied_at TEXT NOT NULL)");
  MustExec(*store, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'x', 'y')",
           {Value::Int(LatestSchemaVersion() + 1)});
  auto before = Snapshot(*store);
  Status st = Migrate(*store);
  EXPECT_EQ(st.reason(), "schema_too_new");
  EXPECT_EQ(Snapshot(*store), before) << "no foundation tables may appear";
}

TEST(Migrate, RefusesDivergedHistory) {
  TempDir dir;
  auto store = MustOpen(Options(dir.File("db.sqlite")));
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(Migrate(*store).ok());
  MustExec(*store, "UPDATE schema_migrations SET name = ? WHERE version = 1",
           {Value::Text("other_branch")});
  auto before = Snapshot(*store);
  Status st = Migrate(*store);
  EXPECT_EQ(st.code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(st.reason(), "schema_mismatch");
  EXPECT_EQ(Snapshot(*store), before);
}

TEST(Migrate, ConcurrentMigratorsApplyEachMigrationOnce) {
  TempDir dir;
  auto a = MustOpen(Options(dir.File("db.sqlite")));
  auto b = MustOpen(Options(dir.File("db.sqlite")));
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  Status sa, sb;
  std::thread ta([&] { sa = Migrate(*a); });
  std::thread tb([&] { sb = Migrate(*b); });
  ta.join();
  tb.join();
  EXPECT_TRUE(sa.ok()) << sa.ToString();
  EXPECT_TRUE(sb.ok()) << sb.ToString();
  auto tx = a->Begin(TxMode::kRead);
  ASSERT_TRUE(tx.ok());
  auto n = (*tx)->Query("SELECT COUNT(*) FROM schema_migrations");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ((*n)[0][0].as_int(), LatestSchemaVersion());
}

TEST(Migrate, StoreErrorsPropagate) {
  TempDir dir;
  auto o = Options(dir.File("db.sqlite"));
  o.busy_timeout_ms = 50;
  o.pool_size = 1;
  auto store = MustOpen(o);
  ASSERT_NE(store, nullptr);
  auto held = store->Begin(TxMode::kWrite);
  ASSERT_TRUE(held.ok());
  Status st = Migrate(*store);
  EXPECT_EQ(st.code(), ErrorCode::kUnavailable);
  EXPECT_EQ(st.reason(), "store_busy");
}

}  // namespace
}  // namespace bulwark::store

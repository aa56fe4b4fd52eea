// The vault's storage against a real migrated store and keyring: versions, check-and-set,
// pruning, soft delete / undelete / destroy, listing, data-key rollover, and ciphertexts that
// refuse to open anywhere but where they were sealed.
#include "secrets/vault.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "../keyed_store_env.h"
#include "identity/directory.h"

namespace bulwark::secrets {
namespace {

using store::TxMode;
using store::Value;

constexpr std::int64_t kNow = 1'800'000'000;

struct Env : bulwark::testing::KeyedStore {
  Vault vault;
  std::string tenant, other;
  explicit Env(VaultOptions o = {}) : vault(*keys, o) {
    auto tx = store->Begin(TxMode::kWrite);
    tenant = identity::directory::CreateTenant(**tx, "acme", "ada@acme.test", kNow)->tenant_id;
    other = identity::directory::CreateTenant(**tx, "other", "eve@other.test", kNow)->tenant_id;
    EXPECT_TRUE((*tx)->Commit().ok());
  }
  StatusOr<VersionInfo> Put(const std::string& t, const std::string& path, const std::string& v,
                            std::optional<std::int64_t> cas = std::nullopt) {
    return Write([&](auto& tx) { return vault.Put(tx, t, path, v, cas, "usr_ada", kNow); });
  }
  StatusOr<std::string> Get(const std::string& t, const std::string& path,
                            std::optional<std::int64_t> version = std::nullopt) {
    auto tx = store->Begin(TxMode::kRead);
    BULWARK_ASSIGN_OR_RETURN(SecretValue v, vault.Get(**tx, t, path, version));
    return std::string(v.data.reveal_string_view());
  }
  // As the server reads: Vault::Read, in a transaction of its own if any.
  StatusOr<std::string> Read(const std::string& t, const std::string& path,
                             std::optional<std::int64_t> version = std::nullopt) {
    BULWARK_ASSIGN_OR_RETURN(SecretValue v, vault.Read(*store, t, path, version));
    return std::string(v.data.reveal_string_view());
  }
  template <typename Fn>
  Status Do(Fn fn) {
    return Write([&](auto& tx) -> StatusOr<bool> {
             BULWARK_RETURN_IF_ERROR(fn(tx));
             return true;
           })
        .status();
  }
};

TEST(VaultTest, VersionsAndCheckAndSet) {
  Env env;
  ASSERT_EQ(env.Put(env.tenant, "prod/db/password", R"({"p":"one"})")->version, 1);
  ASSERT_EQ(env.Put(env.tenant, "prod/db/password", R"({"p":"two"})")->version, 2);
  EXPECT_EQ(*env.Get(env.tenant, "prod/db/password"), R"({"p":"two"})");
  EXPECT_EQ(*env.Get(env.tenant, "prod/db/password", 1), R"({"p":"one"})");
  EXPECT_EQ(env.Get(env.tenant, "prod/db/password", 3).status().reason(), "secret_not_found");
  EXPECT_EQ(env.Put(env.tenant, "prod/db/password", R"({"p":"x"})", 1).status().reason(),
            "cas_mismatch");
  EXPECT_EQ(env.Put(env.tenant, "new/one", R"({"p":"x"})", 1).status().reason(), "cas_mismatch");
  EXPECT_TRUE(env.Put(env.tenant, "new/one", R"({"p":"x"})", 0).ok());  // cas 0: only if absent
  EXPECT_EQ(env.Put(env.tenant, "new/one", R"({"p":"y"})", 0).status().reason(), "cas_mismatch");
  EXPECT_EQ(env.Put(env.tenant, "prod/db/password", R"({"p":"three"})", 2)->version, 3);
  for (const char* bad : {"[1]", "\"s\"", "{", "", "null"}) {
    EXPECT_EQ(env.Put(env.tenant, "prod/db/password", bad).status().reason(), "invalid_value")
        << bad;
  }
  EXPECT_EQ(*env.Get(env.tenant, "prod/db/password"),
            R"({"p":"three"})");  // refusals changed nothing
}

TEST(VaultTest, OlderVersionsArePrunedBeyondMaxVersions) {
  Env env(VaultOptions{.default_max_versions = 3});
  for (int i = 1; i <= 5; ++i)
    ASSERT_TRUE(env.Put(env.tenant, "a", R"({"v":)" + std::to_string(i) + "}").ok());
  auto tx = env.store->Begin(TxMode::kRead);
  auto m = env.vault.Metadata(**tx, env.tenant, "a");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->current_version, 5);
  EXPECT_EQ(m->oldest_version, 3);
  EXPECT_EQ(m->versions.size(), 3u);
  EXPECT_EQ(env.Get(env.tenant, "a", 2).status().reason(), "secret_not_found");
}

TEST(VaultTest, SoftDeleteUndeleteAndDestroy) {
  Env env;
  ASSERT_TRUE(env.Put(env.tenant, "a", R"({"v":1})").ok());
  ASSERT_TRUE(env.Put(env.tenant, "a", R"({"v":2})").ok());
  ASSERT_TRUE(
      env.Do([&](auto& tx) { return env.vault.SoftDelete(tx, env.tenant, "a", {}, kNow + 1); })
          .ok());
  EXPECT_EQ(env.Get(env.tenant, "a").status().reason(), "secret_not_found");
  EXPECT_EQ(*env.Get(env.tenant, "a", 1), R"({"v":1})");
  ASSERT_TRUE(env.Do([&](auto& tx) { return env.vault.Undelete(tx, env.tenant, "a", {2}); }).ok());
  EXPECT_EQ(*env.Get(env.tenant, "a"), R"({"v":2})");
  ASSERT_TRUE(
      env.Do([&](auto& tx) { return env.vault.Destroy(tx, env.tenant, "a", {1}, kNow + 2); }).ok());
  EXPECT_EQ(env.Get(env.tenant, "a", 1).status().reason(), "secret_not_found");
  ASSERT_TRUE(env.Do([&](auto& tx) { return env.vault.Undelete(tx, env.tenant, "a", {1}); }).ok());
  EXPECT_EQ(env.Get(env.tenant, "a", 1).status().reason(),
            "secret_not_found");  // destroyed is for good
  {
    auto tx = env.store->Begin(TxMode::kRead);
    auto rows = (*tx)->Query("SELECT sealed FROM secret_versions WHERE version = 1");
    EXPECT_TRUE((*rows)[0][0].is_null());
  }
  ASSERT_TRUE(env.Do([&](auto& tx) { return env.vault.DeleteAll(tx, env.tenant, "a"); }).ok());
  EXPECT_EQ(env.Get(env.tenant, "a", 2).status().reason(), "secret_not_found");
  EXPECT_EQ(env.Do([&](auto& tx) { return env.vault.DeleteAll(tx, env.tenant, "a"); }).reason(),
            "secret_not_found");
}

TEST(VaultTest, ListsOneLevelOrRecursivelyWithinTheTenant) {
  Env env;
  for (const char* p : {"prod/db/password", "prod/db/user", "prod/api", "prod-old/x", "dev/a"}) {
    ASSERT_TRUE(env.Put(env.tenant, p, "{}").ok());
  }
  ASSERT_TRUE(env.Put(env.other, "prod/secret-of-other", "{}").ok());
  auto tx = env.store->Begin(TxMode::kRead);
  EXPECT_EQ(NextLevel(*env.vault.List(**tx, env.tenant, "prod/")),
            (std::vector<std::string>{"api", "db/"}));
  EXPECT_EQ(*env.vault.List(**tx, env.tenant, "prod/"),
            (std::vector<std::string>{"api", "db/password", "db/user"}));
  EXPECT_EQ(NextLevel(*env.vault.List(**tx, env.tenant, "")),
            (std::vector<std::string>{"dev/", "prod-old/", "prod/"}));
  EXPECT_TRUE(env.vault.List(**tx, env.tenant, "nothing/")->empty());
}

TEST(VaultTest, AnotherTenantsPathIsNotFound) {
  Env env;
  ASSERT_TRUE(env.Put(env.tenant, "prod/db/password", R"({"p":"a"})").ok());
  EXPECT_EQ(env.Get(env.other, "prod/db/password").status().reason(), "secret_not_found");
}

TEST(VaultTest, ACiphertextMovedToAnotherRowVersionOrTenantDoesNotOpen) {
  Env env;
  ASSERT_TRUE(env.Put(env.tenant, "a", R"({"secret":"A"})").ok());
  ASSERT_TRUE(env.Put(env.tenant, "b", R"({"secret":"B"})").ok());
  ASSERT_TRUE(env.Put(env.tenant, "b", R"({"secret":"B2"})").ok());
  ASSERT_TRUE(env.Put(env.other, "a", R"({"secret":"O"})").ok());
  const auto copy = [&](const std::string& from_tenant, const std::string& from_path, int from_v,
                        const std::string& to_tenant, const std::string& to_path, int to_v) {
    ASSERT_TRUE(
        env.Write([&](auto& tx) -> StatusOr<bool> {
             BULWARK_RETURN_IF_ERROR(
                 tx.Exec("UPDATE secret_versions SET sealed = (SELECT sealed FROM secret_versions "
                         "WHERE "
                         "tenant_id = ? AND path = ? AND version = ?), data_key_id = (SELECT "
                         "data_key_id FROM "
                         "secret_versions WHERE tenant_id = ? AND path = ? AND version = ?) "
                         "WHERE tenant_id = ? AND path = ? AND version = ?",
                         {Value::Text(from_tenant), Value::Text(from_path), Value::Int(from_v),
                          Value::Text(from_tenant), Value::Text(from_path), Value::Int(from_v),
                          Value::Text(to_tenant), Value::Text(to_path), Value::Int(to_v)})
                     .status());
             return true;
           })
            .ok());
  };
  copy(env.tenant, "a", 1, env.tenant, "b", 2);  // another row
  EXPECT_EQ(env.Get(env.tenant, "b").status().code(), ErrorCode::kIntegrity);
  copy(env.tenant, "b", 1, env.tenant, "b", 2);  // another version of the same row
  EXPECT_EQ(env.Get(env.tenant, "b").status().code(), ErrorCode::kIntegrity);
  copy(env.tenant, "a", 1, env.other, "a", 1);  // another tenant, same path and version
  EXPECT_EQ(env.Get(env.other, "a").status().code(), ErrorCode::kIntegrity);
  // A flipped byte does not open either; the untouched rows still do.
  ASSERT_TRUE(
      env.Write([&](auto& tx) -> StatusOr<bool> {
           auto rows =
               tx.Query("SELECT sealed FROM secret_versions WHERE tenant_id = ? AND path = 'a'",
                        {Value::Text(env.tenant)});
           auto bytes = (*rows)[0][0].as_bytes();
           bytes[20] ^= 1;
           BULWARK_RETURN_IF_ERROR(
               tx.Exec("UPDATE secret_versions SET sealed = ? WHERE tenant_id = ? AND path = 'a'",
                       {Value::Bytes(bytes), Value::Text(env.tenant)})
                   .status());
           return true;
         })
          .ok());
  EXPECT_EQ(env.Get(env.tenant, "a").status().code(), ErrorCode::kIntegrity);
  EXPECT_EQ(*env.Get(env.tenant, "b", 1), R"({"secret":"B"})");
}

TEST(VaultTest, ADataKeyRollsOverAfterItsSealLimitAndOldVersionsStillOpen) {
  Env env(VaultOptions{.max_seals_per_key = 2});
  for (int i = 1; i <= 5; ++i)
    ASSERT_TRUE(env.Put(env.tenant, "a", R"({"v":)" + std::to_string(i) + "}").ok());
  auto tx = env.store->Begin(TxMode::kRead);
  auto keys = (*tx)->Query(
      "SELECT version, seals FROM tenant_data_keys WHERE tenant_id = ? ORDER BY version",
      {Value::Text(env.tenant)});
  ASSERT_EQ(keys->size(), 3u);
  EXPECT_EQ((*keys)[0][1].as_int(), 2);
  EXPECT_EQ((*keys)[2][1].as_int(), 1);
  tx->reset();
  for (int i = 1; i <= 5; ++i)
    EXPECT_EQ(*env.Get(env.tenant, "a", i), R"({"v":)" + std::to_string(i) + "}") << i;
}

TEST(VaultTest, NoPlaintextInTheStore) {
  Env env;
  ASSERT_TRUE(env.Put(env.tenant, "a", R"({"secret":"correct horse battery staple"})").ok());
  auto tx = env.store->Begin(TxMode::kRead);
  auto rows = (*tx)->Query("SELECT sealed FROM secret_versions");
  const auto& bytes = (*rows)[0][0].as_bytes();
  const std::string needle = "correct horse";
  EXPECT_EQ(std::search(bytes.begin(), bytes.end(), needle.begin(), needle.end()), bytes.end());
}

}  // namespace
}  // namespace bulwark::secrets

namespace bulwark::secrets {
namespace {

// With current_row_ttl set (the server, on SQLite), Read keeps a path's current row once it has
// read and opened it. Every change through the Vault drops it when its transaction ends, so the
// next read sees the change.
constexpr std::chrono::hours kLongTtl{1};

TEST(VaultCurrentRowTest, EveryChangeToAPathIsSeenByTheNextRead) {
  Env env(VaultOptions{.current_row_ttl = kLongTtl});
  ASSERT_TRUE(env.Put(env.tenant, "a", R"({"v":1})").ok());
  EXPECT_EQ(*env.Read(env.tenant, "a"), R"({"v":1})");
  ASSERT_TRUE(env.Put(env.tenant, "a", R"({"v":2})").ok());
  EXPECT_EQ(*env.Read(env.tenant, "a"), R"({"v":2})");
  ASSERT_TRUE(
      env.Do([&](auto& tx) { return env.vault.SoftDelete(tx, env.tenant, "a", {}, kNow); }).ok());
  EXPECT_EQ(env.Read(env.tenant, "a").status().reason(), "secret_not_found");
  ASSERT_TRUE(env.Do([&](auto& tx) { return env.vault.Undelete(tx, env.tenant, "a", {2}); }).ok());
  EXPECT_EQ(*env.Read(env.tenant, "a"), R"({"v":2})");
  ASSERT_TRUE(
      env.Do([&](auto& tx) { return env.vault.Destroy(tx, env.tenant, "a", {2}, kNow); }).ok());
  EXPECT_EQ(env.Read(env.tenant, "a").status().reason(), "secret_not_found");
  ASSERT_TRUE(env.Put(env.tenant, "a", R"({"v":3})").ok());
  EXPECT_EQ(*env.Read(env.tenant, "a"), R"({"v":3})");
  ASSERT_TRUE(env.Do([&](auto& tx) {
                   return env.vault.UpdateMetadata(tx, env.tenant, "a", {.max_versions = 1},
                                                   "usr_ada", kNow);
                 })
                  .ok());
  EXPECT_EQ(*env.Read(env.tenant, "a"), R"({"v":3})");
  ASSERT_TRUE(env.Do([&](auto& tx) { return env.vault.DeleteAll(tx, env.tenant, "a"); }).ok());
  EXPECT_EQ(env.Read(env.tenant, "a").status().reason(), "secret_not_found");
  ASSERT_TRUE(env.Put(env.tenant, "a", R"({"v":"again"})").ok());
  EXPECT_EQ(*env.Read(env.tenant, "a"), R"({"v":"again"})");
  // Another tenant's path of the same name is its own.
  ASSERT_TRUE(env.Put(env.other, "a", R"({"v":"other"})").ok());
  EXPECT_EQ(*env.Read(env.other, "a"), R"({"v":"other"})");
  EXPECT_EQ(*env.Read(env.tenant, "a"), R"({"v":"again"})");
}

TEST(VaultCurrentRowTest, AChangeThatRollsBackLeavesTheValueAsItWasAndDropsTheKeptRow) {
  Env env(VaultOptions{.current_row_ttl = kLongTtl});
  ASSERT_TRUE(env.Put(env.tenant, "a", R"({"v":1})").ok());
  auto put_then_give_up = [&] {
    return env.Do([&](auto& tx) -> Status {
      BULWARK_RETURN_IF_ERROR(
          env.vault.Put(tx, env.tenant, "a", R"({"v":2})", std::nullopt, "usr_ada", kNow).status());
      EXPECT_EQ(*env.Read(env.tenant, "a"), R"({"v":1})");  // not committed yet
      return Status::Internal("the caller gives up");
    });
  };
  EXPECT_EQ(*env.Read(env.tenant, "a"), R"({"v":1})");
  EXPECT_EQ(put_then_give_up().code(), ErrorCode::kInternal);
  EXPECT_EQ(*env.Read(env.tenant, "a"), R"({"v":1})");
  // The row is dropped even so (a transaction's end, committed or not, drops it): once the row
  // in the store differs from the one kept, the next read after a rolled-back change shows it.
  ASSERT_TRUE(env.Write([&](auto& tx) {
                   return tx.Exec("UPDATE secret_versions SET sealed = ? WHERE path = 'a'",
                                  {Value::Bytes(Value::Blob(60, 7))});
                 })
                  .ok());
  EXPECT_EQ(*env.Read(env.tenant, "a"), R"({"v":1})");  // still the kept row
  EXPECT_EQ(put_then_give_up().code(), ErrorCode::kInternal);
  EXPECT_EQ(env.Read(env.tenant, "a").status().code(), ErrorCode::kIntegrity);
}

TEST(VaultCurrentRowTest, ADataKeyRotationIsSeenByTheNextRead) {
  Env env(VaultOptions{.current_row_ttl = kLongTtl});
  ASSERT_TRUE(env.Put(env.tenant, "a", R"({"v":0})").ok());
  ASSERT_TRUE(env.Put(env.tenant, "a", R"({"v":1})").ok());
  ASSERT_TRUE(env.Put(env.tenant, "b", R"({"v":2})").ok());
  EXPECT_EQ(*env.Read(env.tenant, "a"), R"({"v":1})");
  EXPECT_EQ(*env.Read(env.tenant, "b"), R"({"v":2})");
  std::string target;
  ASSERT_TRUE(env.Do([&](auto& tx) -> Status {
                   BULWARK_ASSIGN_OR_RETURN(target,
                                            env.vault.StartDataRotation(tx, env.tenant, kNow));
                   return env.vault.ResealBatch(tx, env.tenant, target, 100).status();
                 })
                  .ok());
  // Every resealed path's row is read again (a path with two versions, then the next path):
  // breaking them in the store now shows at once.
  ASSERT_TRUE(env.Write([&](auto& tx) {
                   return tx.Exec("UPDATE secret_versions SET sealed = ?",
                                  {Value::Bytes(Value::Blob(60, 7))});
                 })
                  .ok());
  EXPECT_EQ(env.Read(env.tenant, "a").status().code(), ErrorCode::kIntegrity);
  EXPECT_EQ(env.Read(env.tenant, "b").status().code(), ErrorCode::kIntegrity);
}

// A load racing a change never puts the old row back after the change dropped it: whoever
// writes a version reads it (or a later one) next, however many readers run meanwhile.
TEST(VaultCurrentRowTest, ReadersRacingAWriterNeverBringAnOldVersionBack) {
  Env env(VaultOptions{.current_row_ttl = kLongTtl});
  ASSERT_TRUE(env.Put(env.tenant, "a", R"({"v":0})").ok());
  std::atomic<bool> done{false};
  std::atomic<int> reads{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      while (!done.load()) {
        if (env.Read(env.tenant, "a").ok()) reads.fetch_add(1);
      }
    });
  }
  std::string wrote, read;
  for (int i = 1; i <= 100 && wrote == read; ++i) {
    wrote = R"({"v":)" + std::to_string(i) + "}";
    if (!env.Put(env.tenant, "a", wrote).ok()) break;
    auto now = env.Read(env.tenant, "a");
    read = now.ok() ? *now : now.status().ToString();
  }
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(read, wrote);
  EXPECT_GT(reads.load(), 0);
}

// What the Vault did not write itself (another process; the file edited behind its back) is
// seen once the row kept in memory is older than the TTL: a tampered row then fails to open.
TEST(VaultCurrentRowTest, ARowChangedBehindTheVaultsBackIsSeenWithinTheTtl) {
  Env env(VaultOptions{.current_row_ttl = std::chrono::milliseconds(200)});
  ASSERT_TRUE(env.Put(env.tenant, "a", R"({"v":1})").ok());
  EXPECT_EQ(*env.Read(env.tenant, "a"), R"({"v":1})");
  const auto tampered = std::chrono::steady_clock::now();
  ASSERT_TRUE(env.Write([&](auto& tx) {
                   return tx.Exec("UPDATE secret_versions SET sealed = ? WHERE path = 'a'",
                                  {Value::Bytes(Value::Blob(60, 7))});
                 })
                  .ok());
  // Until then the value read before is served, never anything else.
  StatusOr<std::string> read = env.Read(env.tenant, "a");
  while (read.ok() && std::chrono::steady_clock::now() - tampered < std::chrono::seconds(5)) {
    EXPECT_EQ(*read, R"({"v":1})");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    read = env.Read(env.tenant, "a");
  }
  EXPECT_EQ(read.status().code(), ErrorCode::kIntegrity);
  EXPECT_LT(std::chrono::steady_clock::now() - tampered, std::chrono::milliseconds(1500));
}

// Rows kept in memory are small: a larger value, and any explicit version, is read every time.
TEST(VaultCurrentRowTest, LargeValuesAndExplicitVersionsAreReadEveryTime) {
  Env env(VaultOptions{.current_row_ttl = kLongTtl});
  const std::string large = R"({"v":")" + std::string(5000, 'x') + R"("})";
  ASSERT_TRUE(env.Put(env.tenant, "large", large).ok());
  ASSERT_TRUE(env.Put(env.tenant, "small", R"({"v":1})").ok());
  EXPECT_EQ(*env.Read(env.tenant, "large"), large);
  EXPECT_EQ(*env.Read(env.tenant, "small"), R"({"v":1})");
  EXPECT_EQ(*env.Read(env.tenant, "small", 1), R"({"v":1})");
  ASSERT_TRUE(env.Write([&](auto& tx) {
                   return tx.Exec("UPDATE secret_versions SET sealed = ?",
                                  {Value::Bytes(Value::Blob(60, 7))});
                 })
                  .ok());
  EXPECT_EQ(env.Read(env.tenant, "large").status().code(), ErrorCode::kIntegrity);
  EXPECT_EQ(env.Read(env.tenant, "small", 1).status().code(), ErrorCode::kIntegrity);
  EXPECT_EQ(*env.Read(env.tenant, "small"), R"({"v":1})");  // kept: the TTL is an hour
}

TEST(VaultRotationTest, ResealsEveryVersionUnderANewKeyInBatchesAndResumes) {
  Env env;
  for (int i = 0; i < 7; ++i) {
    ASSERT_TRUE(env.Put(env.tenant, "p/" + std::to_string(i), R"({"v":"a"})").ok());
    ASSERT_TRUE(env.Put(env.tenant, "p/" + std::to_string(i), R"({"v":"b"})").ok());
  }
  ASSERT_TRUE(env.Put(env.other, "p/0", R"({"v":"other"})").ok());
  ASSERT_TRUE(env.Do([&](auto& tx) {
                   return env.vault.Destroy(tx, env.tenant, "p/0", {1},
                                            kNow);  // nothing to reseal there
                 })
                  .ok());
  std::string target;
  ASSERT_TRUE(env.Do([&](auto& tx) -> Status {
                   BULWARK_ASSIGN_OR_RETURN(target,
                                            env.vault.StartDataRotation(tx, env.tenant, kNow));
                   return Status::Ok();
                 })
                  .ok());
  EXPECT_EQ(target, "tenant-data:" + env.tenant + ":2");
  // A write during the rotation is sealed with the new key already.
  ASSERT_TRUE(env.Put(env.tenant, "p/new", R"({"v":"new"})").ok());
  // One batch, then "a crash": a second start resumes the same job, it does not begin another.
  std::int64_t n = 0;
  ASSERT_TRUE(env.Do([&](auto& tx) -> Status {
                   BULWARK_ASSIGN_OR_RETURN(n, env.vault.ResealBatch(tx, env.tenant, target, 5));
                   return Status::Ok();
                 })
                  .ok());
  EXPECT_EQ(n, 5);
  std::string resumed;
  ASSERT_TRUE(env.Do([&](auto& tx) -> Status {
                   BULWARK_ASSIGN_OR_RETURN(resumed,
                                            env.vault.StartDataRotation(tx, env.tenant, kNow));
                   return Status::Ok();
                 })
                  .ok());
  EXPECT_EQ(resumed, target);
  std::int64_t total = 5;
  for (;;) {
    ASSERT_TRUE(env.Do([&](auto& tx) -> Status {
                     BULWARK_ASSIGN_OR_RETURN(n, env.vault.ResealBatch(tx, env.tenant, target, 5));
                     return Status::Ok();
                   })
                    .ok());
    if (n == 0) break;
    total += n;
  }
  EXPECT_EQ(total, 13);  // 14 versions, one destroyed
  std::int64_t finished = 0;
  ASSERT_TRUE(env.Do([&](auto& tx) -> Status {
                   BULWARK_ASSIGN_OR_RETURN(
                       finished, env.vault.FinishDataRotation(tx, env.tenant, target, kNow));
                   return Status::Ok();
                 })
                  .ok());
  EXPECT_EQ(finished, 13);
  for (int i = 0; i < 7; ++i) {
    EXPECT_EQ(*env.Get(env.tenant, "p/" + std::to_string(i)), R"({"v":"b"})");
    if (i > 0) {
      EXPECT_EQ(*env.Get(env.tenant, "p/" + std::to_string(i), 1), R"({"v":"a"})");
    }
  }
  EXPECT_EQ(*env.Get(env.tenant, "p/new"), R"({"v":"new"})");
  EXPECT_EQ(*env.Get(env.other, "p/0"), R"({"v":"other"})");
  auto tx = env.store->Begin(TxMode::kRead);
  auto keys = (*tx)->Query(
      "SELECT DISTINCT data_key_id FROM secret_versions WHERE tenant_id = ? AND sealed IS NOT NULL",
      {Value::Text(env.tenant)});
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ((*keys)[0][0].as_text(), target);
  // The other tenant's versions were not touched.
  auto others = (*tx)->Query("SELECT data_key_id FROM secret_versions WHERE tenant_id = ?",
                             {Value::Text(env.other)});
  EXPECT_EQ((*others)[0][0].as_text(), "tenant-data:" + env.other + ":1");
}

TEST(VaultRotationTest, AVersionThatFailsToOpenStopsTheBatchAndKeepsNothing) {
  Env env;
  ASSERT_TRUE(env.Put(env.tenant, "a", R"({"v":"a"})").ok());
  ASSERT_TRUE(env.Put(env.tenant, "b", R"({"v":"b"})").ok());
  {
    auto tx = env.store->Begin(TxMode::kWrite);
    ASSERT_TRUE((*tx)
                    ->Exec("UPDATE secret_versions SET sealed = (SELECT sealed FROM "
                           "secret_versions WHERE path = 'a') WHERE path = 'b'")
                    .ok());
    ASSERT_TRUE((*tx)->Commit().ok());
  }
  std::string target;
  ASSERT_TRUE(env.Do([&](auto& tx) -> Status {
                   BULWARK_ASSIGN_OR_RETURN(target,
                                            env.vault.StartDataRotation(tx, env.tenant, kNow));
                   return Status::Ok();
                 })
                  .ok());
  Status s =
      env.Do([&](auto& tx) { return env.vault.ResealBatch(tx, env.tenant, target, 10).status(); });
  EXPECT_EQ(s.code(), ErrorCode::kIntegrity);
  EXPECT_EQ(*env.Get(env.tenant, "a"), R"({"v":"a"})");  // rolled back, still under the old key
}

}  // namespace
}  // namespace bulwark::secrets

namespace bulwark::secrets {
namespace {

TEST(VaultRotationTest, ADataKeyUnderAMasterKeyVersionNotYetLoadedIsUnavailableNotDamage) {
  Env env;
  ASSERT_TRUE(env.Put(env.tenant, "a", R"({"v":"a"})").ok());
  ASSERT_EQ(*env.Get(env.tenant, "a"), R"({"v":"a"})");  // env.vault now holds the data key
  {
    // What `bulwark key rotate` leaves for a server that has not reloaded: the row says v2.
    auto tx = env.store->Begin(TxMode::kWrite);
    ASSERT_TRUE((*tx)
                    ->Exec("INSERT INTO keyring_kek (version, source_kind, check_value, "
                           "created_at) VALUES (2, 'base64', x'00', 'now')")
                    .ok());
    ASSERT_TRUE(
        (*tx)->Exec("UPDATE wrapped_keys SET kek_version = 2 WHERE purpose = 'tenant_data'").ok());
    ASSERT_TRUE((*tx)->Commit().ok());
  }
  Vault fresh(*env.keys);  // nothing cached
  auto tx = env.store->Begin(TxMode::kRead);
  auto v = fresh.Get(**tx, env.tenant, "a", std::nullopt);
  EXPECT_EQ(v.status().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(v.status().reason(), "master_key_reload_required");
  // The Vault that has read the secret before holds its key and keeps serving it.
  EXPECT_EQ(*env.Get(env.tenant, "a"), R"({"v":"a"})");
}

}  // namespace
}  // namespace bulwark::secrets

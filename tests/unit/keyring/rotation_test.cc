// Several master key versions in one keyring, live reload, wrap format v2 (purpose binding),
// rotation and retirement, against the real SQLite backend and migrations.
#include "keyring/rotation.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "crypto/aead.h"
#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "key_sources.h"
#include "keyring/keyring.h"
#include "keyring/master_key.h"
#include "store/migrate.h"
#include "store/sqlite/sqlite_store.h"

namespace bulwark::keyring {
namespace {

using crypto::SecretBytes;
using store::Value;
using testing::Base64Source;
using testing::PasswordSource;
using testing::RandomKeyBase64;

class KeyringRotationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "bulwark-rotation-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    store::SqliteOptions opts;
    opts.path = dir_ + "/bulwark.db";
    auto s = store::OpenSqliteStore(opts);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    ASSERT_TRUE(store::Migrate(*store_).ok());
    key_a_ = RandomKeyBase64();
    key_b_ = RandomKeyBase64();
    auto r = Keyring::Open(Base64Source(key_a_), *store_);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ring_ = std::move(r).value();
  }
  void TearDown() override {
    ring_.reset();
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Creates data key `id` through `ring` (committed); returns its bytes.
  SecretBytes CreateKey(const Keyring& ring, const std::string& id,
                        const std::string& purpose = "tenant_data") {
    auto tx = store_->Begin(store::TxMode::kWrite);
    EXPECT_TRUE(tx.ok());
    auto k = ring.GetOrCreateKey(**tx, id, purpose, 32);
    EXPECT_TRUE(k.ok()) << k.status().ToString();
    EXPECT_TRUE((*tx)->Commit().ok());
    return k.ok() ? std::move(k).value() : SecretBytes();
  }

  // A data key sealed under `ring`'s version though the store has moved on: what a node whose key
  // creation raced a rotation could leave behind on a store with weaker isolation (GetOrCreateKey
  // itself refuses, see StaleKeyringRefusesToSealNewKeys). Inserted directly.
  SecretBytes CreateLeftover(const Keyring& ring, const std::string& id) {
    SecretBytes key = *crypto::RandomSecret(32);
    auto wrapped = ring.Wrap(key.reveal_span(), id, "tenant_data");
    EXPECT_TRUE(wrapped.ok());
    auto tx = store_->Begin(store::TxMode::kWrite);
    EXPECT_TRUE(
        (*tx)
            ->Exec("INSERT INTO wrapped_keys (id, purpose, kek_version, wrapped, created_at) "
                   "VALUES (?, 'tenant_data', ?, ?, 'now')",
                   {store::Value::Text(id), store::Value::Int(ring.kek_version()),
                    store::Value::Bytes(*wrapped)})
            .ok());
    EXPECT_TRUE((*tx)->Commit().ok());
    return key;
  }

  StatusOr<SecretBytes> ReadKey(const Keyring& ring, const std::string& id,
                                const std::string& purpose = "tenant_data") {
    auto tx = store_->Begin(store::TxMode::kWrite);
    if (!tx.ok()) return tx.status();
    return ring.GetOrCreateKey(**tx, id, purpose, 32);  // rolled back: only reads here
  }

  // One rotation, committed only if it succeeds.
  StatusOr<RotationResult> RotateTo(const Keyring& current, const MasterKeySource& next_source) {
    BULWARK_ASSIGN_OR_RETURN(PreparedMasterKey next, PrepareMasterKey(next_source, *store_));
    BULWARK_ASSIGN_OR_RETURN(auto tx, store_->Begin(store::TxMode::kWrite));
    BULWARK_ASSIGN_OR_RETURN(RotationResult r, Rotate(*tx, current, next));
    BULWARK_RETURN_IF_ERROR(tx->Commit());
    return r;
  }

  std::map<std::string, std::int64_t> KeyVersions() {
    auto tx = store_->Begin(store::TxMode::kRead);
    auto rows = (*tx)->Query("SELECT id, kek_version, wrapped FROM wrapped_keys");
    std::map<std::string, std::int64_t> out;
    for (const auto& r : *rows) {
      out[r[0].as_text()] = r[1].as_int();
      EXPECT_EQ(r[2].as_bytes()[0], kWrapFormatV2) << r[0].as_text();
    }
    return out;
  }

  std::string dir_;
  std::unique_ptr<store::Store> store_;
  std::string key_a_, key_b_;
  std::unique_ptr<Keyring> ring_;
};

// A wrapped key in format v1 (AAD without purpose), as written before format v2 existed.
std::vector<std::uint8_t> WrapV1(const std::string& kek_b64, std::uint32_t version,
                                 std::span<const std::uint8_t> key, const std::string& key_id) {
  auto kek = crypto::Base64DecodeSecret(kek_b64);
  std::vector<std::uint8_t> out(kWrapOverhead + key.size());
  out[0] = kWrapFormatV1;
  for (int i = 0; i < 4; ++i) out[1 + i] = static_cast<std::uint8_t>(version >> (24 - 8 * i));
  std::span<std::uint8_t> nonce(out.data() + 5, crypto::kGcmNonceSize);
  EXPECT_TRUE(crypto::RandomBytes(nonce).ok());
  const std::string aad = "bulwark-wrap-v1|" + std::to_string(version) + "|" + key_id;
  EXPECT_TRUE(crypto::SealInto(*kek, nonce, key, crypto::AsBytes(aad),
                               std::span<std::uint8_t>(out).subspan(5 + crypto::kGcmNonceSize))
                  .ok());
  return out;
}

TEST_F(KeyringRotationTest, WrapV2BindsPurpose) {
  const SecretBytes dek = *crypto::RandomSecret(32);
  auto wrapped = ring_->Wrap(dek.reveal_span(), "tenant-data:t1:1", "tenant_data");
  ASSERT_TRUE(wrapped.ok());
  EXPECT_EQ((*wrapped)[0], kWrapFormatV2);
  auto back = ring_->Unwrap(*wrapped, "tenant-data:t1:1", "tenant_data");
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->Equals(dek));
  // Moved to another purpose (same slot): refused as tampering.
  auto moved = ring_->Unwrap(*wrapped, "tenant-data:t1:1", "mfa_totp_seal");
  ASSERT_FALSE(moved.ok());
  EXPECT_EQ(moved.status().code(), ErrorCode::kIntegrity);
  EXPECT_EQ(moved.status().reason(), "integrity_error");
  // A purpose that could make the AAD ambiguous is refused, as is an empty or overlong one.
  for (const std::string& bad :
       std::vector<std::string>{"", "a|b", "Tenant", std::string(65, 'p')}) {
    EXPECT_EQ(ring_->Wrap(dek.reveal_span(), "id", bad).status().reason(), "invalid_purpose")
        << bad;
    EXPECT_EQ(ring_->Unwrap(*wrapped, "id", bad).status().reason(), "invalid_purpose") << bad;
  }
}

TEST_F(KeyringRotationTest, WrapV1BlobsStillOpen) {
  const SecretBytes dek = *crypto::RandomSecret(32);
  const auto v1 = WrapV1(key_a_, 1, dek.reveal_span(), "legacy");
  auto back = ring_->Unwrap(v1, "legacy", "tenant_data");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(back->Equals(dek));
  EXPECT_EQ(ring_->Unwrap(v1, "other", "tenant_data").status().code(), ErrorCode::kIntegrity);
  auto bad = v1;
  bad.back() ^= 1;
  EXPECT_EQ(ring_->Unwrap(bad, "legacy", "tenant_data").status().code(), ErrorCode::kIntegrity);
  auto unknown = v1;
  unknown[0] = 0x03;
  EXPECT_EQ(ring_->Unwrap(unknown, "legacy", "tenant_data").status().code(), ErrorCode::kIntegrity);
}

TEST_F(KeyringRotationTest, RotationRewrapsEveryKeyAndIsIdempotent) {
  const SecretBytes k1 = CreateKey(*ring_, "tenant-data:t1:1");
  const SecretBytes k2 = CreateKey(*ring_, "mfa-seal", "mfa_totp_seal");
  // A legacy v1 row too: rotation rewrites it as v2.
  const SecretBytes legacy = *crypto::RandomSecret(32);
  {
    auto tx = store_->Begin(store::TxMode::kWrite);
    ASSERT_TRUE((*tx)
                    ->Exec("INSERT INTO wrapped_keys (id, purpose, kek_version, wrapped, "
                           "created_at) VALUES (?, ?, 1, ?, 'x')",
                           {Value::Text("legacy"), Value::Text("tenant_data"),
                            Value::Bytes(WrapV1(key_a_, 1, legacy.reveal_span(), "legacy"))})
                    .ok());
    ASSERT_TRUE((*tx)->Commit().ok());
  }

  auto r = RotateTo(*ring_, Base64Source(key_b_));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->from_version, 1u);
  EXPECT_EQ(r->to_version, 2u);
  EXPECT_EQ(r->rewrapped, 3);
  EXPECT_TRUE(r->created_version);
  EXPECT_EQ(KeyVersions(), (std::map<std::string, std::int64_t>{
                               {"tenant-data:t1:1", 2}, {"mfa-seal", 2}, {"legacy", 2}}));

  // The old key no longer opens the data; the new one does, and the data keys are unchanged.
  auto old = Keyring::Open(Base64Source(key_a_), *store_);
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(old.status().reason(), "wrong_master_key");
  auto fresh = Keyring::Open(Base64Source(key_b_), *store_);
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  EXPECT_EQ((*fresh)->kek_version(), 2u);
  EXPECT_TRUE(ReadKey(**fresh, "tenant-data:t1:1")->Equals(k1));
  EXPECT_TRUE(ReadKey(**fresh, "mfa-seal", "mfa_totp_seal")->Equals(k2));
  EXPECT_TRUE(ReadKey(**fresh, "legacy")->Equals(legacy));

  // The same rotation again: nothing to do, nothing written.
  auto again = RotateTo(**fresh, Base64Source(key_b_));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(again.status().reason(), "nothing_to_rotate");

  // A node still on the old key seals a new data key under version 1 (a leftover); the re-run
  // (configured key: the old one, which any-version opening accepts) re-wraps just that one.
  const SecretBytes late = CreateLeftover(*ring_, "tenant-data:t2:1");
  EXPECT_EQ(KeyVersions().at("tenant-data:t2:1"), 1);
  auto current = Keyring::OpenAnyVersion(Base64Source(key_a_), *store_);
  ASSERT_TRUE(current.ok()) << current.status().ToString();
  ASSERT_TRUE((*current)->Reload(Base64Source(key_b_), *store_).ok());
  auto rerun = RotateTo(**current, Base64Source(key_b_));
  ASSERT_TRUE(rerun.ok()) << rerun.status().ToString();
  EXPECT_EQ(rerun->from_version, 1u);
  EXPECT_EQ(rerun->to_version, 2u);
  EXPECT_EQ(rerun->rewrapped, 1);
  EXPECT_FALSE(rerun->created_version);
  EXPECT_EQ(KeyVersions().at("tenant-data:t2:1"), 2);
  EXPECT_TRUE(ReadKey(**fresh, "tenant-data:t2:1")->Equals(late));
}

TEST_F(KeyringRotationTest, RotationRefusals) {
  CreateKey(*ring_, "k1");
  // The current key as the new one: nothing to rotate.
  EXPECT_EQ(RotateTo(*ring_, Base64Source(key_a_)).status().reason(), "nothing_to_rotate");
  // Unreadable or invalid new sources; a weak KDF.
  EXPECT_EQ(RotateTo(*ring_, Base64Source("not base64!")).status().reason(), "invalid_master_key");
  MasterKeySource missing;
  missing.kind = MasterKeySourceKind::kFile;
  missing.file_path = dir_ + "/missing.key";
  EXPECT_EQ(RotateTo(*ring_, missing).status().reason(), "master_key_unreadable");
  EXPECT_EQ(RotateTo(*ring_, PasswordSource("a long enough password", kMinPbkdf2Iterations - 1))
                .status()
                .reason(),
            "weak_kdf_iterations");
  {
    auto tx = store_->Begin(store::TxMode::kRead);
    auto rows = (*tx)->Query("SELECT COUNT(*) FROM keyring_kek");
    EXPECT_EQ((*rows)[0][0].as_int(), 1);  // nothing was written
  }

  ASSERT_TRUE(RotateTo(*ring_, Base64Source(key_b_)).ok());
  // Back to the older, still live key: refused.
  EXPECT_EQ(RotateTo(*ring_, Base64Source(key_a_)).status().reason(), "master_key_not_new");

  // A leftover under version 1, and a keyring that holds only version 2: it cannot re-wrap it.
  CreateLeftover(*ring_, "late");
  auto only_new = Keyring::Open(Base64Source(key_b_), *store_);
  ASSERT_TRUE(only_new.ok());
  auto r = RotateTo(**only_new, Base64Source(RandomKeyBase64()));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), "master_key_version_not_held");
  EXPECT_NE(r.status().message().find("1 under version 1"), std::string::npos)
      << r.status().message();
  auto tx = store_->Begin(store::TxMode::kRead);
  auto rows = (*tx)->Query("SELECT COUNT(*) FROM keyring_kek");
  EXPECT_EQ((*rows)[0][0].as_int(), 2);  // the refused rotation left nothing behind
}

TEST_F(KeyringRotationTest, RetireRefusesWhileInUseAndForTheActiveVersion) {
  CreateKey(*ring_, "k1");
  auto retire = [&](std::uint32_t v) -> Status {
    BULWARK_ASSIGN_OR_RETURN(auto tx, store_->Begin(store::TxMode::kWrite));
    BULWARK_RETURN_IF_ERROR(Retire(*tx, v));
    return tx->Commit();
  };
  EXPECT_EQ(retire(1).reason(), "kek_version_active");  // the only version
  EXPECT_EQ(retire(7).reason(), "kek_version_not_found");
  ASSERT_TRUE(RotateTo(*ring_, Base64Source(key_b_)).ok());
  EXPECT_EQ(retire(2).reason(), "kek_version_active");

  CreateLeftover(*ring_, "late1");  // two leftovers under version 1
  CreateLeftover(*ring_, "late2");
  Status in_use = retire(1);
  EXPECT_EQ(in_use.code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(in_use.reason(), "kek_version_in_use");
  EXPECT_NE(in_use.message().find("2 wrapped key(s)"), std::string::npos) << in_use.message();

  auto current = Keyring::OpenAnyVersion(Base64Source(key_a_), *store_);
  ASSERT_TRUE(current.ok());
  ASSERT_TRUE((*current)->Reload(Base64Source(key_b_), *store_).ok());
  ASSERT_TRUE(RotateTo(**current, Base64Source(key_b_)).ok());

  {
    auto tx = store_->Begin(store::TxMode::kRead);
    auto versions = ListVersions(**tx);
    ASSERT_TRUE(versions.ok());
    ASSERT_EQ(versions->size(), 2u);
    EXPECT_EQ((*versions)[0].version, 1u);
    EXPECT_EQ((*versions)[0].wrapped_keys, 0);
    EXPECT_FALSE((*versions)[0].active);
    EXPECT_EQ((*versions)[1].wrapped_keys, 3);
    EXPECT_TRUE((*versions)[1].active);
    EXPECT_EQ((*versions)[1].source_kind, "base64");
  }
  ASSERT_TRUE(retire(1).ok());
  EXPECT_EQ(retire(1).reason(), "kek_version_retired");
  {
    auto tx = store_->Begin(store::TxMode::kRead);
    auto versions = ListVersions(**tx);
    ASSERT_TRUE((*versions)[0].retired_at.has_value());
  }
  // A retired key is neither reloaded, nor opened, nor rotated to again.
  EXPECT_EQ(Keyring::OpenAnyVersion(Base64Source(key_a_), *store_).status().reason(),
            "wrong_master_key");
  auto fresh = Keyring::Open(Base64Source(key_b_), *store_);
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ((*fresh)->Reload(Base64Source(key_a_), *store_).reason(), "wrong_master_key");
  EXPECT_EQ(RotateTo(**fresh, Base64Source(key_a_)).status().reason(), "master_key_retired");
}

TEST_F(KeyringRotationTest, RotateToAPasswordUsesAFreshSaltAndTheFloor) {
  const SecretBytes k1 = CreateKey(*ring_, "k1");
  const MasterKeySource pw = PasswordSource("correct horse battery staple, rotated");
  auto r = RotateTo(*ring_, pw);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  {
    auto tx = store_->Begin(store::TxMode::kRead);
    auto rows = (*tx)->Query(
        "SELECT source_kind, salt, iterations FROM keyring_kek WHERE "
        "version = 2");
    ASSERT_EQ(rows->size(), 1u);
    EXPECT_EQ((*rows)[0][0].as_text(), "password");
    EXPECT_EQ((*rows)[0][1].as_bytes().size(), 16u);
    EXPECT_EQ((*rows)[0][2].as_int(), kMinPbkdf2Iterations);
  }
  auto opened = Keyring::Open(pw, *store_);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_TRUE(ReadKey(**opened, "k1")->Equals(k1));
  // Re-run with the same password: recognised through the stored salt.
  EXPECT_EQ(RotateTo(**opened, pw).status().reason(), "nothing_to_rotate");
  // And the raw key reloads as version 1 into the password keyring.
  ASSERT_TRUE((*opened)->Reload(Base64Source(key_a_), *store_).ok());
  EXPECT_EQ((*opened)->held_versions(), (std::vector<std::uint32_t>{1, 2}));
  EXPECT_EQ((*opened)->kek_version(), 2u);
}

TEST_F(KeyringRotationTest, ReloadHoldsOldAndNewVersions) {
  const SecretBytes k1 = CreateKey(*ring_, "before");
  const auto wrapped_v1 = *ring_->Wrap(k1.reveal_span(), "blob", "test");
  ASSERT_TRUE(RotateTo(*ring_, Base64Source(key_b_)).ok());

  // The running keyring still holds only version 1: the re-wrapped key does not open, and says
  // why (a reload), not that it is damaged: every write sealing under it would otherwise be a
  // 500 integrity_error until the reload.
  EXPECT_EQ(ReadKey(*ring_, "before").status().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(ReadKey(*ring_, "before").status().reason(), "master_key_reload_required");
  // A wrong key changes nothing.
  EXPECT_EQ(ring_->Reload(Base64Source(RandomKeyBase64()), *store_).reason(), "wrong_master_key");
  EXPECT_EQ(ring_->held_versions(), std::vector<std::uint32_t>{1});
  EXPECT_EQ(ring_->Reload(PasswordSource("some password"), *store_).reason(), "wrong_master_key");

  ASSERT_TRUE(ring_->Reload(Base64Source(key_b_), *store_).ok());
  EXPECT_EQ(ring_->held_versions(), (std::vector<std::uint32_t>{1, 2}));
  EXPECT_EQ(ring_->kek_version(), 2u);
  EXPECT_TRUE(ring_->holds_version(1));
  EXPECT_TRUE(ReadKey(*ring_, "before")->Equals(k1));                  // now under v2
  EXPECT_TRUE(ring_->Unwrap(wrapped_v1, "blob", "test")->Equals(k1));  // still under v1
  const SecretBytes k2 = CreateKey(*ring_, "after");
  EXPECT_EQ(KeyVersions().at("after"), 2);  // sealed under the new version from now on
  // Reloading what it holds is a no-op.
  ASSERT_TRUE(ring_->Reload(Base64Source(key_b_), *store_).ok());
  ASSERT_TRUE(ring_->Reload(Base64Source(key_a_), *store_).ok());
  EXPECT_EQ(ring_->held_versions(), (std::vector<std::uint32_t>{1, 2}));
}

TEST_F(KeyringRotationTest, ReloadWhileRequestsRun) {
  const SecretBytes dek = *crypto::RandomSecret(32);
  const auto wrapped_v1 = *ring_->Wrap(dek.reveal_span(), "id", "test");
  ASSERT_TRUE(RotateTo(*ring_, Base64Source(key_b_)).ok());
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      while (!stop.load()) {
        auto w = ring_->Wrap(dek.reveal_span(), "id", "test");
        auto back = w.ok() ? ring_->Unwrap(*w, "id", "test") : StatusOr<SecretBytes>(w.status());
        auto old = ring_->Unwrap(wrapped_v1, "id", "test");
        if (!back.ok() || !back->Equals(dek) || !old.ok()) failures.fetch_add(1);
      }
    });
  }
  ASSERT_TRUE(ring_->Reload(Base64Source(key_b_), *store_).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  stop.store(true);
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(ring_->kek_version(), 2u);
}

TEST_F(KeyringRotationTest, OpenAnyVersionNeedsAKeyringAndWritesNothing) {
  auto other_dir = dir_ + "/empty.db";
  store::SqliteOptions opts;
  opts.path = other_dir;
  auto empty = store::OpenSqliteStore(opts);
  ASSERT_TRUE(empty.ok());
  ASSERT_TRUE(store::Migrate(**empty).ok());
  EXPECT_EQ(Keyring::OpenAnyVersion(Base64Source(key_a_), **empty).status().reason(),
            "no_master_key");
  auto tx = (*empty)->Begin(store::TxMode::kRead);
  EXPECT_EQ((*(*tx)->Query("SELECT COUNT(*) FROM keyring_kek"))[0][0].as_int(), 0);
}

}  // namespace
}  // namespace bulwark::keyring

namespace bulwark::keyring {
namespace {

TEST_F(KeyringRotationTest, StaleKeyringRefusesToSealNewKeys) {
  ASSERT_TRUE(RotateTo(*ring_, Base64Source(key_b_)).ok());
  // ring_ holds only version 1; the store's active version is 2: no new key under version 1.
  auto tx = store_->Begin(store::TxMode::kWrite);
  auto k = ring_->GetOrCreateKey(**tx, "tenant-data:new:1", "tenant_data", 32);
  EXPECT_EQ(k.status().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(k.status().reason(), "master_key_reload_required");
  tx->reset();
  // After a reload it seals under version 2.
  ASSERT_TRUE(ring_->Reload(Base64Source(key_b_), *store_).ok());
  CreateKey(*ring_, "tenant-data:new:1");
  EXPECT_EQ(KeyVersions().at("tenant-data:new:1"), 2);
}

}  // namespace
}  // namespace bulwark::keyring

// Signing keys that rotate (keyring/signing_keys.h): adoption of a store's pre-rotation key,
// rotation, reload and retirement, against the real SQLite backend and migrations.
#include "keyring/signing_keys.h"

#include <gtest/gtest.h>

#include <string>

#include "../keyed_store_env.h"
#include "keyring/keyring.h"

namespace bulwark::keyring {
namespace {

// The shared scratch store and keyring (keyed_store_env.h), under the names these tests use.
class SigningKeysTest : public ::testing::Test, protected bulwark::testing::KeyedStore {
 protected:
  SigningRotation Rotate(SigningKind kind) {
    auto tx = store_.Begin(store::TxMode::kWrite);
    EXPECT_TRUE(tx.ok());
    auto r = RotateSigningKey(**tx, ring_, kind);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE((*tx)->Commit().ok());
    return *r;
  }
  Status Retire(SigningKind kind, const std::string& kid) {
    auto tx = store_.Begin(store::TxMode::kWrite);
    EXPECT_TRUE(tx.ok());
    auto r = RetireSigningKey(**tx, kind, kid);
    if (!r.ok()) return r.status();
    return (*tx)->Commit();
  }
  std::int64_t Count(const std::string& sql) {
    auto tx = store_.Begin(store::TxMode::kRead);
    auto rows = (*tx)->Query(sql);
    return (*rows)[0][0].as_int();
  }

  store::Store& store_ = *store;
  Keyring& ring_ = *keys;
};

TEST_F(SigningKeysTest, AdoptsTheKeyAStoreHadBeforeRotation) {
  // A store from before: the one receipt key under its fixed id, nothing in signing_keys.
  crypto::Ed25519PublicKey legacy_pub{};
  {
    auto tx = store_.Begin(store::TxMode::kWrite);
    auto seed = ring_.GetOrCreateKey(**tx, "receipt-signing-v1", "receipt_signing_ed25519", 32);
    ASSERT_TRUE(seed.ok());
    legacy_pub = *crypto::Ed25519PublicKeyFromPrivate(*seed);
    ASSERT_TRUE((*tx)->Commit().ok());
  }
  auto signing = SigningKeys::Open(store_, ring_, SigningKind::kReceipt);
  ASSERT_TRUE(signing.ok()) << signing.status().ToString();
  const auto set = (*signing)->Current();
  EXPECT_EQ(set->active.public_key, legacy_pub);
  EXPECT_EQ(set->active.kid, crypto::Ed25519KeyId(legacy_pub));
  EXPECT_EQ(set->active.generation, 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM receipt_signing_keys"), 1);
}

TEST_F(SigningKeysTest, RotateReloadRetire) {
  auto signing = SigningKeys::Open(store_, ring_, SigningKind::kJwt);
  ASSERT_TRUE(signing.ok()) << signing.status().ToString();
  const std::string first = (*signing)->Current()->active.kid;
  // Nothing changed: no reload.
  EXPECT_FALSE(*(*signing)->Reload(store_, ring_));

  const SigningRotation r = Rotate(SigningKind::kJwt);
  EXPECT_EQ(r.from_kid, first);
  EXPECT_EQ(r.generation, 2);
  // Not picked up until reloaded: the process keeps signing with the key it holds.
  EXPECT_EQ((*signing)->Current()->active.kid, first);
  EXPECT_TRUE(*(*signing)->Reload(store_, ring_));
  auto set = (*signing)->Current();
  EXPECT_EQ(set->active.kid, r.to_kid);
  ASSERT_EQ(set->Live().size(), 2u);
  EXPECT_NE(set->FindLive(first), nullptr);

  // The active key is never retired; an unknown kid is not found; nothing changes either way.
  EXPECT_EQ(Retire(SigningKind::kJwt, r.to_kid).reason(), "signing_key_active");
  EXPECT_EQ(Retire(SigningKind::kJwt, "ed25519:0000000000000000").reason(),
            "signing_key_not_found");
  EXPECT_EQ(Retire(SigningKind::kLedger, first).reason(), "signing_key_not_found");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM signing_keys WHERE retired_at IS NOT NULL"), 0);

  ASSERT_TRUE(Retire(SigningKind::kJwt, first).ok());
  EXPECT_EQ(Retire(SigningKind::kJwt, first).reason(), "signing_key_retired");
  // Its private half is gone.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM wrapped_keys WHERE id = 'session-signing-ed25519'"), 0);
  EXPECT_TRUE(*(*signing)->Reload(store_, ring_));
  set = (*signing)->Current();
  EXPECT_EQ(set->FindLive(first), nullptr);
  ASSERT_EQ(set->Live().size(), 1u);
  EXPECT_EQ(set->Live()[0].kid, r.to_kid);
  EXPECT_EQ(set->keys.size(), 2u);  // still listed, as retired
}

TEST_F(SigningKeysTest, KindNames) {
  for (SigningKind k : {SigningKind::kJwt, SigningKind::kLedger, SigningKind::kReceipt}) {
    EXPECT_EQ(ParseSigningKind(SigningKindName(k)), k);
  }
  EXPECT_FALSE(ParseSigningKind("JWT").has_value());
  EXPECT_FALSE(ParseSigningKind("").has_value());
  EXPECT_FALSE(ParseSigningKind("hmac").has_value());
}

}  // namespace
}  // namespace bulwark::keyring

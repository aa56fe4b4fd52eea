// The sealing unit without a store: a value round-trips; every field bound into the AAD (tenant,
// path, version, data key id) refuses to open when changed; a wrong key, a changed byte or a
// truncated ciphertext is an integrity error; the data key choice; and a fixed vector, sealed by
// the vault before this unit existed (SecretAad + SealRandomNonce as Vault::Put called them),
// which must keep opening: the stored format has not changed.
#include "secrets/sealer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "crypto/aead.h"
#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/random.h"

namespace bulwark::secrets {
namespace {

using crypto::SecretBytes;
using Bytes = std::vector<std::uint8_t>;

// The fixed vector: data key 0x40 0x41 ... 0x5f, version 7 of ten_4f2a's prod/db/password under
// its data key 2. Generated once with the vault's code as it was before sealing had a unit.
constexpr char kTenant[] = "ten_4f2a";
constexpr char kPath[] = "prod/db/password";
constexpr std::int64_t kVersion = 7;
constexpr char kKeyId[] = "tenant-data:ten_4f2a:2";
constexpr char kPlaintext[] = R"({"password":"correct horse"})";
constexpr char kSealedHex[] =
    "01f4856e8f095cc4f7643d51b4d7372b849e3df74c8f41022e4bf269d4b21f8820514089381786742f298d3c4b"
    "6b828e6fddc3adaa619b47";
constexpr char kAadHex[] =
    "62756c7761726b2d7365637265742d76310074656e5f346632610070726f642f64622f70617373776f72640037"
    "0074656e616e742d646174613a74656e5f346632613a32";

SecretBytes VectorKey() {
  Bytes raw(32);
  for (std::size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<std::uint8_t>(0x40 + i);
  return SecretBytes::CopyFrom(raw);
}

SecretBytes RandomKey() {
  Bytes raw(32);
  EXPECT_TRUE(crypto::RandomBytes(raw).ok());
  return SecretBytes::CopyFrom(raw);
}

Bytes FromHex(std::string_view hex) {
  auto b = crypto::HexDecode(hex);
  EXPECT_TRUE(b.ok());
  return b.ok() ? Bytes(b->begin(), b->end()) : Bytes();
}

const SealedPlace kPlace{kTenant, kPath, kVersion, kKeyId};

void ExpectIntegrityError(const StatusOr<SecretBytes>& opened) {
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), ErrorCode::kIntegrity);
  EXPECT_EQ(opened.status().reason(), "integrity_error");
}

TEST(SealerTest, AadLayoutIsLabelThenNulSeparatedFields) {
  constexpr char kExpected[] =
      "bulwark-secret-v1\0ten_4f2a\0prod/db/password\0" "7\0" "tenant-data:ten_4f2a:2";
  EXPECT_EQ(SecretAad(kTenant, kPath, kVersion, kKeyId),
            std::string(kExpected, sizeof(kExpected) - 1));
  EXPECT_EQ(crypto::HexEncode(crypto::AsBytes(SecretAad(kPlace))), kAadHex);
  constexpr char kShort[] = "bulwark-secret-v1\0t\0p\0" "12\0k";
  EXPECT_EQ(SecretAad("t", "p", 12, "k"), std::string(kShort, sizeof(kShort) - 1));
}

TEST(SealerTest, FixedVectorSealedBeforeThisUnitStillOpens) {
  const Bytes sealed = FromHex(kSealedHex);
  auto opened = OpenVersion(VectorKey(), kPlace, sealed);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(opened->reveal_string_view(), kPlaintext);
  // The layout the header states: nonce (12) || ciphertext (as long as the value) || tag (16),
  // AES-256-GCM over exactly that AAD.
  ASSERT_EQ(sealed.size(), 12 + std::string_view(kPlaintext).size() + 16);
  const std::span<const std::uint8_t> all(sealed);
  auto direct = crypto::Open(VectorKey(), all.first(12), all.subspan(12),
                             crypto::AsBytes(SecretAad(kPlace)));
  ASSERT_TRUE(direct.ok());
  EXPECT_EQ(direct->reveal_string_view(), kPlaintext);
}

TEST(SealerTest, RoundTripWithAFreshNonceEachTime) {
  const SecretBytes key = RandomKey();
  const std::string value = R"({"user":"app","password":"s3cret"})";
  auto a = SealVersion(key, kPlace, crypto::AsBytes(value));
  auto b = SealVersion(key, kPlace, crypto::AsBytes(value));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->size(), value.size() + crypto::kGcmNonceSize + crypto::kGcmTagSize);
  EXPECT_NE(*a, *b);  // a fresh random nonce per seal
  for (const Bytes* sealed : {&*a, &*b}) {
    auto opened = OpenVersion(key, kPlace, *sealed);
    ASSERT_TRUE(opened.ok());
    EXPECT_EQ(opened->reveal_string_view(), value);
  }
  auto empty = SealVersion(key, kPlace, {});
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(OpenVersion(key, kPlace, *empty)->reveal_string_view(), "");
}

TEST(SealerTest, EveryBoundFieldChangedFailsToOpen) {
  const Bytes sealed = FromHex(kSealedHex);
  const SecretBytes key = VectorKey();
  const std::vector<SealedPlace> elsewhere = {
      {"ten_0000", kPath, kVersion, kKeyId},                        // another tenant
      {kTenant, "prod/db/passwore", kVersion, kKeyId},              // another path
      {kTenant, "prod/db", kVersion, kKeyId},                       // a prefix of the path
      {kTenant, kPath, 6, kKeyId},                                  // another version
      {kTenant, kPath, 70, kKeyId},                                 // its digits, longer
      {kTenant, kPath, kVersion, "tenant-data:ten_4f2a:1"},         // another data key id
      {"ten_4f2ap", "rod/db/password", kVersion, kKeyId},           // a boundary moved
      {"", kPath, kVersion, kKeyId},                                // a field left out
  };
  for (const SealedPlace& place : elsewhere) {
    SCOPED_TRACE(SecretAad(place));
    ExpectIntegrityError(OpenVersion(key, place, sealed));
  }
}

TEST(SealerTest, WrongKeyChangedByteAndTruncationAreIntegrityErrors) {
  const Bytes sealed = FromHex(kSealedHex);
  Bytes other_key(32);
  for (std::size_t i = 0; i < other_key.size(); ++i) {
    other_key[i] = static_cast<std::uint8_t>(0x40 + i);
  }
  other_key[31] ^= 0x01;
  ExpectIntegrityError(OpenVersion(SecretBytes::CopyFrom(other_key), kPlace, sealed));
  ExpectIntegrityError(OpenVersion(RandomKey(), kPlace, sealed));
  for (std::size_t i = 0; i < sealed.size(); ++i) {  // nonce, ciphertext and tag alike
    Bytes changed = sealed;
    changed[i] ^= 0x80;
    SCOPED_TRACE(i);
    ExpectIntegrityError(OpenVersion(VectorKey(), kPlace, changed));
  }
  // Every shorter prefix, down to nothing (shorter than a nonce and tag too), and one byte more.
  for (std::size_t n = 0; n < sealed.size(); ++n) {
    SCOPED_TRACE(n);
    ExpectIntegrityError(
        OpenVersion(VectorKey(), kPlace, std::span<const std::uint8_t>(sealed).first(n)));
  }
  Bytes longer = sealed;
  longer.push_back(0);
  ExpectIntegrityError(OpenVersion(VectorKey(), kPlace, longer));
}

TEST(SealerTest, ResealMovesAVersionToTheNewKeyOnly) {
  const SecretBytes old_key = VectorKey();
  const SecretBytes new_key = RandomKey();
  const std::string new_id = "tenant-data:ten_4f2a:3";
  auto resealed = ResealVersion(old_key, kPlace, new_key, new_id, FromHex(kSealedHex));
  ASSERT_TRUE(resealed.ok()) << resealed.status().ToString();
  const SealedPlace moved{kTenant, kPath, kVersion, new_id};
  auto opened = OpenVersion(new_key, moved, *resealed);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(opened->reveal_string_view(), kPlaintext);
  ExpectIntegrityError(OpenVersion(new_key, kPlace, *resealed));  // bound to the new key id
  ExpectIntegrityError(OpenVersion(old_key, moved, *resealed));
  // What does not open under its own key and place is not resealed.
  auto refused = ResealVersion(new_key, kPlace, new_key, new_id, FromHex(kSealedHex));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), ErrorCode::kIntegrity);
}

TEST(SealerTest, DataKeyIdsAndTheChoiceOfSealingKey) {
  EXPECT_EQ(DataKeyId("ten_4f2a", 1), "tenant-data:ten_4f2a:1");
  EXPECT_EQ(DataKeyId("t", 12), "tenant-data:t:12");

  const DataKeyChoice first = ChooseSealingKey("t", std::nullopt, 5);
  EXPECT_EQ(first.number, 1);
  EXPECT_EQ(first.key_id, "tenant-data:t:1");
  EXPECT_TRUE(first.create);

  const DataKeyChoice same =
      ChooseSealingKey("t", DataKeyRecord{.number = 2, .key_id = "tenant-data:t:2", .seals = 4}, 5);
  EXPECT_EQ(same.number, 2);
  EXPECT_EQ(same.key_id, "tenant-data:t:2");
  EXPECT_FALSE(same.create);

  // The newest key has sealed its share: the next one, numbered past it.
  const DataKeyChoice next =
      ChooseSealingKey("t", DataKeyRecord{.number = 2, .key_id = "tenant-data:t:2", .seals = 5}, 5);
  EXPECT_EQ(next.number, 3);
  EXPECT_EQ(next.key_id, "tenant-data:t:3");
  EXPECT_TRUE(next.create);

  EXPECT_LT(kMaxSealsPerDataKey, std::int64_t{1} << 32);  // far below the random-nonce bound
  EXPECT_EQ(kDataKeyBytes, crypto::kAes256GcmKeySize);
}

}  // namespace
}  // namespace bulwark::secrets

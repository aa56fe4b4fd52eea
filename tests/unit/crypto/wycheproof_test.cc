// Runs every case of the Wycheproof files in tests/vectors/wycheproof against src/crypto.
// Each test asserts on the number of cases it ran, so a file that fails to load or a filter
// that silently skips everything fails the test instead of passing vacuously.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "crypto/aead.h"
#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/kdf.h"
#include "crypto/secret_bytes.h"
#include "crypto/sign.h"

namespace bulwark::crypto {
namespace {

namespace json = boost::json;

json::value LoadVectors(const std::string& name) {
  const std::string path = std::string(BULWARK_TEST_VECTORS_DIR) + "/wycheproof/" + name;
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::stringstream ss;
  ss << in.rdbuf();
  boost::system::error_code ec;
  json::value v = json::parse(ss.str(), ec);
  EXPECT_FALSE(ec) << "cannot parse " << path;
  return v;
}

std::vector<std::uint8_t> Hex(const json::value& v) {
  auto r = HexDecode(std::string_view(v.as_string()));
  EXPECT_TRUE(r.ok());
  return r.ok() ? *r : std::vector<std::uint8_t>{};
}

std::string Str(const json::value& v) { return std::string(v.as_string()); }

int64_t ExpectedTotal(const json::value& root) { return root.at("numberOfTests").as_int64(); }

TEST(Wycheproof, Aes256Gcm) {
  const json::value root = LoadVectors("aes_gcm_test.json");
  int run = 0, applicable = 0, rejected_by_api = 0;
  for (const auto& group : root.at("testGroups").as_array()) {
    const int64_t key_bits = group.at("keySize").as_int64();
    const int64_t iv_bits = group.at("ivSize").as_int64();
    const int64_t tag_bits = group.at("tagSize").as_int64();
    const bool ours = key_bits == 256 && iv_bits == 96 && tag_bits == 128;
    for (const auto& tc : group.at("tests").as_array()) {
      ++run;
      const std::string id = "tcId " + std::to_string(tc.at("tcId").as_int64());
      const SecretBytes key = SecretBytes::CopyFrom(Hex(tc.at("key")));
      const auto iv = Hex(tc.at("iv"));
      const auto aad = Hex(tc.at("aad"));
      const auto msg = Hex(tc.at("msg"));
      auto ct_tag = Hex(tc.at("ct"));
      const auto tag = Hex(tc.at("tag"));
      ct_tag.insert(ct_tag.end(), tag.begin(), tag.end());
      const std::string result = Str(tc.at("result"));
      if (!ours) {
        // Our API only does AES-256 with 96-bit nonces and 128-bit tags; everything else must
        // be refused as a bad argument, never processed.
        ++rejected_by_api;
        auto sealed = Seal(key, iv, msg, aad);
        ASSERT_FALSE(sealed.ok()) << id;
        EXPECT_EQ(sealed.status().code(), ErrorCode::kInvalidArgument) << id;
        auto opened = Open(key, iv, ct_tag, aad);
        ASSERT_FALSE(opened.ok()) << id;
        EXPECT_EQ(opened.status().code(), ErrorCode::kInvalidArgument) << id;
        continue;
      }
      ++applicable;
      auto opened = Open(key, iv, ct_tag, aad);
      if (result == "valid") {
        ASSERT_TRUE(opened.ok()) << id << " " << opened.status().ToString();
        EXPECT_TRUE(std::equal(msg.begin(), msg.end(), opened->reveal_span().begin(), opened->reveal_span().end()))
            << id;
        auto sealed = Seal(key, iv, msg, aad);
        ASSERT_TRUE(sealed.ok()) << id;
        EXPECT_EQ(*sealed, ct_tag) << id;
      } else {
        ASSERT_EQ(result, "invalid") << id;
        ASSERT_FALSE(opened.ok()) << id;
        EXPECT_EQ(opened.status().code(), ErrorCode::kIntegrity) << id;
        EXPECT_EQ(opened.status().reason(), "integrity_error") << id;
      }
    }
  }
  EXPECT_EQ(run, ExpectedTotal(root));
  EXPECT_EQ(run, 316);
  EXPECT_EQ(applicable, 66);
  EXPECT_EQ(rejected_by_api, 250);
}

TEST(Wycheproof, HmacSha256) {
  const json::value root = LoadVectors("hmac_sha256_test.json");
  int run = 0, full = 0, truncated = 0;
  for (const auto& group : root.at("testGroups").as_array()) {
    const auto tag_bytes = static_cast<std::size_t>(group.at("tagSize").as_int64() / 8);
    for (const auto& tc : group.at("tests").as_array()) {
      ++run;
      const std::string id = "tcId " + std::to_string(tc.at("tcId").as_int64());
      const auto key = Hex(tc.at("key"));
      const auto msg = Hex(tc.at("msg"));
      const auto tag = Hex(tc.at("tag"));
      ASSERT_EQ(tag.size(), tag_bytes) << id;
      const Digest256 mac = HmacSha256(key, msg);
      const bool match = std::equal(tag.begin(), tag.end(), mac.begin());
      (tag_bytes == mac.size() ? full : truncated)++;
      EXPECT_EQ(match, Str(tc.at("result")) == "valid") << id;
    }
  }
  EXPECT_EQ(run, ExpectedTotal(root));
  EXPECT_EQ(run, 174);
  EXPECT_EQ(full, 87);
  EXPECT_EQ(truncated, 87);
}

TEST(Wycheproof, HkdfSha256) {
  const json::value root = LoadVectors("hkdf_sha256_test.json");
  int run = 0, valid = 0, invalid = 0;
  for (const auto& group : root.at("testGroups").as_array()) {
    for (const auto& tc : group.at("tests").as_array()) {
      ++run;
      const std::string id = "tcId " + std::to_string(tc.at("tcId").as_int64());
      const auto size = static_cast<std::size_t>(tc.at("size").as_int64());
      auto okm = HkdfSha256(Hex(tc.at("ikm")), Hex(tc.at("salt")), Hex(tc.at("info")), size);
      if (Str(tc.at("result")) == "valid") {
        ++valid;
        ASSERT_TRUE(okm.ok()) << id;
        EXPECT_EQ(HexEncode(okm->reveal_span()), Str(tc.at("okm"))) << id;
      } else {
        ++invalid;
        ASSERT_FALSE(okm.ok()) << id;
        EXPECT_EQ(okm.status().code(), ErrorCode::kInvalidArgument) << id;
      }
    }
  }
  EXPECT_EQ(run, ExpectedTotal(root));
  EXPECT_EQ(valid, 83);
  EXPECT_EQ(invalid, 3);
}

TEST(Wycheproof, Pbkdf2HmacSha256) {
  const json::value root = LoadVectors("pbkdf2_hmacsha256_test.json");
  // Cases above this many iterations would be skipped to keep the suite fast; the current file
  // has none (its largest is 80000), so all are run.
  constexpr int64_t kMaxIterations = 100000;
  int run = 0, skipped = 0;
  for (const auto& group : root.at("testGroups").as_array()) {
    for (const auto& tc : group.at("tests").as_array()) {
      const std::string id = "tcId " + std::to_string(tc.at("tcId").as_int64());
      const int64_t iterations = tc.at("iterationCount").as_int64();
      if (iterations > kMaxIterations) {
        ++skipped;
        continue;
      }
      ++run;
      auto dk = Pbkdf2HmacSha256(Hex(tc.at("password")), Hex(tc.at("salt")), static_cast<uint32_t>(iterations),
                                 static_cast<std::size_t>(tc.at("dkLen").as_int64()));
      ASSERT_EQ(Str(tc.at("result")), "valid") << id;
      ASSERT_TRUE(dk.ok()) << id << " " << dk.status().ToString();
      EXPECT_EQ(HexEncode(dk->reveal_span()), Str(tc.at("dk"))) << id;
    }
  }
  EXPECT_EQ(run + skipped, ExpectedTotal(root));
  EXPECT_EQ(run, 60);
  EXPECT_EQ(skipped, 0);
}

TEST(Wycheproof, Ed25519Verify) {
  const json::value root = LoadVectors("ed25519_test.json");
  int run = 0, valid = 0, invalid = 0;
  for (const auto& group : root.at("testGroups").as_array()) {
    const auto pk = Hex(group.at("publicKey").at("pk"));
    for (const auto& tc : group.at("tests").as_array()) {
      ++run;
      const std::string id = "tcId " + std::to_string(tc.at("tcId").as_int64());
      const bool ok = Ed25519Verify(pk, Hex(tc.at("msg")), Hex(tc.at("sig")));
      if (Str(tc.at("result")) == "valid") {
        ++valid;
        EXPECT_TRUE(ok) << id;
      } else {
        ++invalid;
        EXPECT_FALSE(ok) << id;
      }
    }
  }
  EXPECT_EQ(run, ExpectedTotal(root));
  EXPECT_EQ(valid, 88);
  EXPECT_EQ(invalid, 63);
}

TEST(Wycheproof, RsaPkcs1Sha256Verify) {
  const json::value root = LoadVectors("rsa_signature_2048_sha256_test.json");
  int run = 0, valid = 0, invalid = 0, acceptable = 0, groups = 0;
  for (const auto& group : root.at("testGroups").as_array()) {
    ++groups;
    auto pem_key = RsaPublicKey::FromPem(Str(group.at("publicKeyPem")));
    ASSERT_TRUE(pem_key.ok()) << pem_key.status().ToString();
    EXPECT_EQ(pem_key->bits(), 2048);
    auto der_key = RsaPublicKey::FromDer(Hex(group.at("publicKeyDer")));
    ASSERT_TRUE(der_key.ok()) << der_key.status().ToString();
    for (const auto& tc : group.at("tests").as_array()) {
      ++run;
      const std::string id = "tcId " + std::to_string(tc.at("tcId").as_int64());
      const auto msg = Hex(tc.at("msg"));
      const auto sig = Hex(tc.at("sig"));
      const bool ok = RsaPkcs1Sha256Verify(*pem_key, msg, sig);
      EXPECT_EQ(ok, RsaPkcs1Sha256Verify(*der_key, msg, sig)) << id;
      const std::string result = Str(tc.at("result"));
      if (result == "valid") {
        ++valid;
        EXPECT_TRUE(ok) << id;
      } else if (result == "invalid") {
        ++invalid;
        EXPECT_FALSE(ok) << id;
      } else {
        ++acceptable;  // e.g. a DigestInfo without the NULL parameter: either answer is allowed
      }
    }
  }
  EXPECT_GE(groups, 1);
  EXPECT_EQ(run, ExpectedTotal(root));
  EXPECT_EQ(valid, 9);
  EXPECT_EQ(invalid, 249);
  EXPECT_EQ(acceptable, 1);
}

}  // namespace
}  // namespace bulwark::crypto

#include "core/secret_quality.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace bulwark::core {
namespace {

std::span<const unsigned char> Bytes(std::string_view s) {
  return {reinterpret_cast<const unsigned char*>(s.data()), s.size()};
}

// Fixed bytes from a CSPRNG, pasted once; 32 bytes with 31 distinct values.
constexpr std::array<unsigned char, 32> kRandomKey = {
    0x3f, 0xa1, 0x07, 0xd9, 0x5c, 0x88, 0x12, 0xe4, 0x71, 0x2b, 0xc6, 0x90, 0x4d, 0xf3, 0x1e, 0xb7,
    0x65, 0x0a, 0x9e, 0x33, 0xd0, 0x7c, 0x41, 0xaf, 0x28, 0xeb, 0x56, 0x14, 0xc9, 0x82, 0x3f, 0x6d};

// A base64url-looking random text secret (43 characters).
constexpr std::string_view kGoodText = "q7Vf3kLz0-X9mR2tWcP_8bNyHe4Ud1oSgAjZ6iKxQvE";

TEST(CoreSecretQualityTest, GoodRandomTextIsAccepted) {
  EXPECT_EQ(WeakTextSecretReason(kGoodText), std::nullopt);
}

TEST(CoreSecretQualityTest, KnownDefaultsAreRefused) {
  for (std::string_view v : {"changeme", "CHANGEME", "password", "secret", "letmein", "admin"}) {
    auto r = WeakTextSecretReason(v);
    ASSERT_TRUE(r.has_value()) << v;
    EXPECT_EQ(*r, "is a known default or example value") << v;
  }
}

TEST(CoreSecretQualityTest, DefaultRepeatedToPassLengthIsRefused) {
  std::string repeated;
  while (repeated.size() < 36) repeated += "secret";  // 36 bytes, "secretsecret..."
  ASSERT_GE(repeated.size(), kMinSecretBytes);
  auto r = WeakTextSecretReason(repeated);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, "is a known default or example value");

  std::string changeme;
  while (changeme.size() < 32) changeme += "ChangeMe";
  auto r2 = WeakTextSecretReason(changeme);
  ASSERT_TRUE(r2.has_value());
  EXPECT_EQ(*r2, "is a known default or example value");
}

TEST(CoreSecretQualityTest, ChangemePrefixWithRandomTailIsRefused) {
  const std::string v = "changeme-" + std::string(kGoodText);
  auto r = WeakTextSecretReason(v);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, "is a known default or example value");
}

TEST(CoreSecretQualityTest, DefaultWithDigitsAppendedIsRefused) {
  // secret_quality.cc: "a known default, or one repeated, or one with digits appended".
  for (const std::string& v : {std::string("password") + "123456789012345678901234",
                               std::string("secret") + "12345678901234567890123456",
                               std::string("admin") + "202620262026202620262026202620"}) {
    ASSERT_GE(v.size(), kMinSecretBytes);
    auto r = WeakTextSecretReason(v);
    EXPECT_TRUE(r.has_value()) << "accepted a default with digits appended (length " << v.size() << ")";
  }
}

TEST(CoreSecretQualityTest, ShortSecretIsRefused) {
  const std::string_view short_one = kGoodText.substr(0, 31);
  auto r = WeakTextSecretReason(short_one);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, "is shorter than 32 bytes");
  // 32 bytes of the same random text passes the length check.
  EXPECT_EQ(WeakTextSecretReason(kGoodText.substr(0, 32)), std::nullopt);
}

TEST(CoreSecretQualityTest, LowEntropyIsRefused) {
  auto r = WeakTextSecretReason(std::string(32, 'a'));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, "has too little entropy");
  // Nine distinct symbols repeated: long enough, still too few distinct values.
  auto r2 = WeakTextSecretReason("abcdefghiabcdefghiabcdefghiabcdefghi");
  ASSERT_TRUE(r2.has_value());
  EXPECT_EQ(*r2, "has too little entropy");
}

TEST(CoreSecretQualityTest, ReasonsNeverQuoteTheSecret) {
  const std::vector<std::string> inputs = {
      "changeme", "hunter2xyz", std::string(40, 'z'), "secretsecretsecretsecretsecretsecret",
      std::string(kGoodText.substr(0, 20))};
  for (const std::string& in : inputs) {
    auto r = WeakTextSecretReason(in);
    ASSERT_TRUE(r.has_value()) << in;
    EXPECT_EQ(r->find(in), std::string::npos) << *r;
  }
}

TEST(CoreSecretQualityTest, KeyOfWrongLengthIsRefused) {
  auto r = WeakKeyReason(std::span<const unsigned char>(kRandomKey.data(), 31), 32);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, "must decode to exactly 32 bytes");
  std::vector<unsigned char> longer(kRandomKey.begin(), kRandomKey.end());
  longer.push_back(0x01);
  EXPECT_TRUE(WeakKeyReason(longer, 32).has_value());
  EXPECT_TRUE(WeakKeyReason({}, 32).has_value());
}

TEST(CoreSecretQualityTest, AllZeroKeyIsRefused) {
  const std::array<unsigned char, 32> zeros{};
  auto r = WeakKeyReason(zeros, 32);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, "has too little entropy");
}

TEST(CoreSecretQualityTest, AsciiDefaultAsKeyBytesIsRefused) {
  const std::string k = "changemechangemechangemechangeme";
  ASSERT_EQ(k.size(), 32u);
  auto r = WeakKeyReason(Bytes(k), 32);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, "is a known default or example value");
}

TEST(CoreSecretQualityTest, ShortCycleKeyIsRefused) {
  std::array<unsigned char, 32> cycle{};
  for (std::size_t i = 0; i < cycle.size(); ++i) cycle[i] = static_cast<unsigned char>(i % 4);
  auto r = WeakKeyReason(cycle, 32);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, "has too little entropy");
}

TEST(CoreSecretQualityTest, RandomKeyIsAccepted) {
  EXPECT_EQ(WeakKeyReason(kRandomKey, 32), std::nullopt);
}

}  // namespace
}  // namespace bulwark::core

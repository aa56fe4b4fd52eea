#include <gtest/gtest.h>

#include <cstdint>
#include <ostream>
#include <atomic>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "crypto/aead.h"
#include "crypto/compare.h"
#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/kdf.h"
#include "crypto/random.h"
#include "crypto/secret_bytes.h"
#include "crypto/sign.h"
#include "crypto/totp.h"

namespace bulwark::crypto {
namespace {

// A SecretBytes must never be streamable (so it cannot end up in a log line by accident), and
// must not convert to a string.
template <typename T>
concept Streamable = requires(std::ostream& os, const T& v) { os << v; };
static_assert(!Streamable<SecretBytes>, "SecretBytes must not be printable");
// The requires-expression must depend on a template parameter to be a SFINAE check rather than
// a hard error.
template <typename T>
constexpr bool kStreamableViaDeclval = requires { std::declval<std::ostream&>() << std::declval<const T&>(); };
static_assert(!kStreamableViaDeclval<SecretBytes>, "streaming a SecretBytes must be ill-formed");
static_assert(kStreamableViaDeclval<std::string>, "the check itself must be able to say yes");
static_assert(!std::is_convertible_v<SecretBytes, std::string>);
static_assert(!std::is_convertible_v<SecretBytes, std::string_view>);
static_assert(!std::is_copy_constructible_v<SecretBytes>);
static_assert(!std::is_copy_assignable_v<SecretBytes>);
static_assert(std::is_nothrow_move_constructible_v<SecretBytes>);

std::vector<std::uint8_t> Bytes(std::string_view hex) {
  auto r = HexDecode(hex);
  EXPECT_TRUE(r.ok());
  return r.ok() ? *r : std::vector<std::uint8_t>{};
}

SecretBytes Secret(std::string_view s) { return SecretBytes::CopyFrom(AsBytes(s)); }

TEST(SecretBytes, MoveLeavesSourceEmptyAndTakesTheBufferWithoutCopy) {
  SecretBytes a = Secret("top secret key material");
  const std::uint8_t* buffer = a.reveal_span().data();
  SecretBytes b(std::move(a));
  EXPECT_EQ(a.size(), 0u);  // NOLINT(bugprone-use-after-move): checking the moved-from state
  EXPECT_TRUE(a.reveal_span().empty());
  EXPECT_EQ(b.reveal_span().data(), buffer);  // same buffer: no copy was left behind
  EXPECT_EQ(b.reveal_string_view(), "top secret key material");

  SecretBytes c = Secret("old");
  c = std::move(b);
  EXPECT_EQ(b.size(), 0u);  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(c.reveal_string_view(), "top secret key material");
}

TEST(SecretBytes, WipeZeroesInPlaceBeforeRelease) {
  // Wipe() must cleanse the bytes; observe through a span taken before (reading it afterwards
  // would be use-after-free, so check via a Clone that Wipe on one copy leaves the other intact
  // and that the wiped object is empty).
  SecretBytes a = Secret("abc");
  SecretBytes b = a.Clone();
  EXPECT_NE(a.reveal_span().data(), b.reveal_span().data());
  a.Wipe();
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(b.reveal_string_view(), "abc");
}

TEST(SecretBytes, FromStringWipesTheSource) {
  std::string pw = "correct horse battery staple";
  SecretBytes s = SecretBytes::FromString(std::move(pw));
  EXPECT_TRUE(pw.empty());  // NOLINT(bugprone-use-after-move): FromString clears it
  EXPECT_EQ(s.reveal_string_view(), "correct horse battery staple");
}

TEST(SecretBytes, EqualsIsByContent) {
  EXPECT_TRUE(Secret("abc").Equals(Secret("abc")));
  EXPECT_FALSE(Secret("abc").Equals(Secret("abd")));
  EXPECT_FALSE(Secret("abc").Equals(Secret("abcd")));
  EXPECT_TRUE(SecretBytes().Equals(SecretBytes()));
  SecretBytes z(4);
  EXPECT_EQ(z.size(), 4u);
  EXPECT_EQ(HexEncode(z.reveal_span()), "00000000");
}

TEST(Compare, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals(std::string_view("abc"), std::string_view("abc")));
  EXPECT_FALSE(ConstantTimeEquals(std::string_view("abc"), std::string_view("abC")));
  EXPECT_FALSE(ConstantTimeEquals(std::string_view("abc"), std::string_view("ab")));
  EXPECT_TRUE(ConstantTimeEquals(std::string_view(), std::string_view()));
  const Digest256 a = Sha256("x");
  EXPECT_TRUE(ConstantTimeEquals(a, Sha256("x")));
  EXPECT_FALSE(ConstantTimeEquals(a, Sha256("y")));
}

TEST(Encoding, Base64RoundTripsAndIsStrict) {
  EXPECT_EQ(Base64Encode(AsBytes("")), "");
  EXPECT_EQ(Base64Encode(AsBytes("f")), "Zg==");
  EXPECT_EQ(Base64Encode(AsBytes("fo")), "Zm8=");
  EXPECT_EQ(Base64Encode(AsBytes("foo")), "Zm9v");
  EXPECT_EQ(Base64Encode(AsBytes("foobar")), "Zm9vYmFy");
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    auto d = Base64Decode(Base64Encode(AsBytes(s)));
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(std::string(d->begin(), d->end()), s);
  }
  const std::vector<std::uint8_t> all = [] {
    std::vector<std::uint8_t> v(256);
    for (int i = 0; i < 256; ++i) v[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(i);
    return v;
  }();
  EXPECT_EQ(*Base64Decode(Base64Encode(all)), all);
  for (const char* bad : {"Zg", "Zg=", "Zg===", "Z===", "Zh==", "Zm9=", "Zm 9v", "Zm9v\n", "Zm9-", "=Zm9", "Zg==Zg==",
                          "Zm8=Zm8=", "Z", "Zm9vY"}) {
    auto d = Base64Decode(bad);
    EXPECT_FALSE(d.ok()) << bad;
    if (!d.ok()) {
      EXPECT_EQ(d.status().code(), ErrorCode::kInvalidArgument);
      EXPECT_EQ(d.status().reason(), "malformed_encoding");
    }
  }
}

TEST(Encoding, Base64UrlHasNoPaddingAndIsStrict) {
  const std::vector<std::uint8_t> v = {0xfb, 0xff, 0xfe};
  EXPECT_EQ(Base64UrlEncode(v), "-__-");
  EXPECT_EQ(Base64UrlEncode(AsBytes("f")), "Zg");
  EXPECT_EQ(Base64UrlEncode(AsBytes("fo")), "Zm8");
  EXPECT_EQ(*Base64UrlDecode("-__-"), v);
  auto fo = Base64UrlDecode("Zm8");
  ASSERT_TRUE(fo.ok());
  EXPECT_EQ(std::string(fo->begin(), fo->end()), "fo");
  for (const char* bad : {"Zg==", "Zm8=", "+//+", "Zh", "Z", "Zm9vY", "Zm 8"}) EXPECT_FALSE(Base64UrlDecode(bad).ok()) << bad;
}

TEST(Encoding, Base32Rfc4648Vectors) {
  // RFC 4648 section 10, without the padding.
  const std::pair<std::string_view, std::string_view> vectors[] = {
      {"", ""},           {"f", "MY"},          {"fo", "MZXQ"},           {"foo", "MZXW6"},
      {"foob", "MZXW6YQ"}, {"fooba", "MZXW6YTB"}, {"foobar", "MZXW6YTBOI"}};
  for (const auto& [in, out] : vectors) EXPECT_EQ(Base32Encode(AsBytes(in)), out) << in;
  // The RFC 6238 SHA-1 seed, as authenticator apps and oathtool --base32 take it.
  EXPECT_EQ(Base32Encode(AsBytes("12345678901234567890")), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
}

TEST(Encoding, Hex) {
  EXPECT_EQ(HexEncode(std::vector<std::uint8_t>{0x00, 0xab, 0xff}), "00abff");
  EXPECT_EQ(*HexDecode("00ABff"), (std::vector<std::uint8_t>{0x00, 0xab, 0xff}));
  EXPECT_TRUE(HexDecode("")->empty());
  EXPECT_FALSE(HexDecode("abc").ok());
  EXPECT_FALSE(HexDecode("zz").ok());
  EXPECT_FALSE(HexDecode("0x00").ok());
}

TEST(Random, SizesAndUniqueness) {
  auto s = RandomSecret(32);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->size(), 32u);
  auto t = RandomTokenBase64Url(32);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->size(), 43u);
  EXPECT_EQ(Base64UrlDecode(*t)->size(), 32u);
  auto h = RandomHex(16);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->size(), 32u);
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) seen.insert(*RandomHex(16));
  EXPECT_EQ(seen.size(), 100u);
  EXPECT_TRUE(RandomSecret(0).ok());
  std::vector<std::uint8_t> big(100000);
  EXPECT_TRUE(RandomBytes(big).ok());
}

TEST(Hash, Sha256KnownAnswers) {
  EXPECT_EQ(HexEncode(Sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("hello"), "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
  Sha256Hasher h;
  h.Update("a");
  h.Update(AsBytes("bc"));
  EXPECT_EQ(h.Finish(), Sha256("abc"));
  h.Update("hello");  // reusable after Finish
  EXPECT_EQ(h.Finish(), Sha256("hello"));
}

TEST(Hash, HmacSha256Rfc4231Case1) {
  const std::vector<std::uint8_t> key(20, 0x0b);
  EXPECT_EQ(HexEncode(HmacSha256(key, AsBytes("Hi There"))),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

TEST(Hash, HmacSha256Rfc4231Case2ShortKey) {
  EXPECT_EQ(HexEncode(HmacSha256(AsBytes("Jefe"), AsBytes("what do ya want for nothing?"))),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Hash, HmacEmptyKeyIsDefined) {
  // RFC 2104 with an empty key; must not fall back to a previously set key.
  const Digest256 a = HmacSha256({}, AsBytes("m"));
  const Digest256 b = HmacSha256(std::vector<std::uint8_t>{}, AsBytes("m"));
  EXPECT_EQ(a, b);
  EXPECT_NE(a, HmacSha256(AsBytes("k"), AsBytes("m")));
}

TEST(Totp, Rfc6238AppendixBSha1) {
  const SecretBytes seed = Secret("12345678901234567890");
  const TotpParams p{.digits = 8, .step_seconds = 30, .t0 = 0};
  const std::pair<std::int64_t, const char*> cases[] = {
      {59, "94287082"},         {1111111109, "07081804"}, {1111111111, "14050471"},
      {1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"},
  };
  for (const auto& [t, want] : cases) {
    auto code = Totp(seed, t, p);
    ASSERT_TRUE(code.ok()) << t;
    EXPECT_EQ(*code, want) << t;
  }
}

TEST(Totp, Rfc4226AppendixDHotp) {
  const SecretBytes seed = Secret("12345678901234567890");
  const char* want[] = {"755224", "287082", "359152", "969429", "338314",
                        "254676", "287922", "162583", "399871", "520489"};
  for (std::uint64_t c = 0; c < 10; ++c) EXPECT_EQ(*Hotp(seed, c, 6), want[c]) << c;
}

TEST(Totp, RejectsBadParameters) {
  const SecretBytes seed = Secret("12345678901234567890");
  EXPECT_EQ(Totp(seed, 59, {.digits = 5}).status().reason(), "invalid_otp_parameters");
  EXPECT_FALSE(Totp(seed, 59, {.digits = 9}).ok());
  EXPECT_FALSE(Totp(seed, 59, {.step_seconds = 0}).ok());
  EXPECT_FALSE(Totp(seed, 59, {.t0 = 60}).ok());
  EXPECT_FALSE(Totp(SecretBytes(), 59, {}).ok());
}

TEST(Totp, MatchWithinWindow) {
  const SecretBytes seed = Secret("12345678901234567890");
  const TotpParams p{.digits = 8};
  EXPECT_EQ(TotpMatch(seed, "07081804", 1111111109, p, 0), std::optional<std::uint64_t>(1111111109 / 30));
  EXPECT_EQ(TotpMatch(seed, "07081804", 1111111109 + 30, p, 1), std::optional<std::uint64_t>(1111111109 / 30));
  EXPECT_FALSE(TotpMatch(seed, "07081804", 1111111109 + 60, p, 1).has_value());
  EXPECT_FALSE(TotpMatch(seed, "7081804", 1111111109, p, 1).has_value());
  EXPECT_FALSE(TotpMatch(seed, "00000000", 1111111109, p, 1).has_value());
}

TEST(Kdf, HkdfRfc5869Case1AndLimits) {
  auto okm = HkdfSha256(Bytes("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"), Bytes("000102030405060708090a0b0c"),
                        Bytes("f0f1f2f3f4f5f6f7f8f9"), 42);
  ASSERT_TRUE(okm.ok());
  EXPECT_EQ(HexEncode(okm->reveal_span()),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
  EXPECT_EQ(HkdfSha256({}, {}, {}, 0).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(HkdfSha256({}, {}, {}, kHkdfSha256MaxOutput + 1).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(HkdfSha256({}, {}, {}, kHkdfSha256MaxOutput).ok());
}

TEST(Kdf, Pbkdf2RejectsZeroIterations) {
  EXPECT_EQ(Pbkdf2HmacSha256(AsBytes("pw"), AsBytes("salt"), 0, 32).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(Pbkdf2HmacSha256(AsBytes("pw"), AsBytes("salt"), 1, 0).status().code(), ErrorCode::kInvalidArgument);
}

class AeadTest : public ::testing::Test {
 protected:
  SecretBytes key_ = *RandomSecret(32);
  std::vector<std::uint8_t> nonce_ = std::vector<std::uint8_t>(12, 7);
};

TEST_F(AeadTest, SealOpenRoundTripWithAad) {
  auto sealed = Seal(key_, nonce_, AsBytes("secret value"), AsBytes("tenant|row|1"));
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->size(), 12u + 16u);
  auto opened = Open(key_, nonce_, *sealed, AsBytes("tenant|row|1"));
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(opened->reveal_string_view(), "secret value");
}

TEST_F(AeadTest, EmptyPlaintextAndAad) {
  auto sealed = Seal(key_, nonce_, {}, {});
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->size(), 16u);
  auto opened = Open(key_, nonce_, *sealed, {});
  ASSERT_TRUE(opened.ok());
  EXPECT_TRUE(opened->empty());
}

TEST_F(AeadTest, AnyChangeFailsWithIntegrity) {
  auto sealed = *Seal(key_, nonce_, AsBytes("secret value"), AsBytes("row 1"));
  EXPECT_EQ(Open(key_, nonce_, sealed, AsBytes("row 2")).status().code(), ErrorCode::kIntegrity);
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    auto bad = sealed;
    bad[i] ^= 0x01;
    auto r = Open(key_, nonce_, bad, AsBytes("row 1"));
    ASSERT_FALSE(r.ok()) << i;
    EXPECT_EQ(r.status().reason(), "integrity_error");
  }
  const SecretBytes other = *RandomSecret(32);
  EXPECT_EQ(Open(other, nonce_, sealed, AsBytes("row 1")).status().code(), ErrorCode::kIntegrity);
  auto other_nonce = nonce_;
  other_nonce[0] ^= 1;
  EXPECT_EQ(Open(key_, other_nonce, sealed, AsBytes("row 1")).status().code(), ErrorCode::kIntegrity);
}

TEST_F(AeadTest, InvalidSizesAreInvalidArgument) {
  const SecretBytes short_key = *RandomSecret(16);
  EXPECT_EQ(Seal(short_key, nonce_, AsBytes("x"), {}).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(Seal(key_, std::vector<std::uint8_t>(16), AsBytes("x"), {}).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(Open(key_, nonce_, std::vector<std::uint8_t>(15), {}).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(OpenRandomNonce(key_, std::vector<std::uint8_t>(27), {}).status().code(), ErrorCode::kInvalidArgument);
  std::vector<std::uint8_t> out(10);
  EXPECT_EQ(SealInto(key_, nonce_, AsBytes("x"), {}, out).code(), ErrorCode::kInvalidArgument);
}

TEST_F(AeadTest, RandomNonceIsFreshPerRecord) {
  auto a = SealRandomNonce(key_, AsBytes("same"), AsBytes("aad"));
  auto b = SealRandomNonce(key_, AsBytes("same"), AsBytes("aad"));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->size(), 12u + 4u + 16u);
  EXPECT_NE(*a, *b);
  EXPECT_EQ(OpenRandomNonce(key_, *a, AsBytes("aad"))->reveal_string_view(), "same");
  EXPECT_EQ(OpenRandomNonce(key_, *b, AsBytes("aad"))->reveal_string_view(), "same");
  EXPECT_EQ(OpenRandomNonce(key_, *a, AsBytes("other")).status().code(), ErrorCode::kIntegrity);
}

TEST_F(AeadTest, SealIntoMatchesSeal) {
  std::vector<std::uint8_t> out(5 + 16);
  ASSERT_TRUE(SealInto(key_, nonce_, AsBytes("hello"), AsBytes("a"), out).ok());
  EXPECT_EQ(out, *Seal(key_, nonce_, AsBytes("hello"), AsBytes("a")));
}

TEST_F(AeadTest, ConcurrentUseFromManyThreads) {
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      const std::string aad = "thread " + std::to_string(t);
      for (int i = 0; i < 200; ++i) {
        auto s = SealRandomNonce(key_, AsBytes(aad), AsBytes(aad));
        if (!s.ok() || OpenRandomNonce(key_, *s, AsBytes(aad))->reveal_string_view() != aad) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(Ed25519, Rfc8032Test1) {
  const SecretBytes priv =
      SecretBytes::CopyFrom(Bytes("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"));
  auto pub = Ed25519PublicKeyFromPrivate(priv);
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(HexEncode(*pub), "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  auto sig = Ed25519Sign(priv, {});
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ(HexEncode(*sig),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
  EXPECT_TRUE(Ed25519Verify(*pub, {}, *sig));
}

TEST(Ed25519, GenerateSignVerify) {
  auto kp = GenerateEd25519KeyPair();
  ASSERT_TRUE(kp.ok());
  EXPECT_EQ(kp->private_key.size(), 32u);
  EXPECT_EQ(*Ed25519PublicKeyFromPrivate(kp->private_key), kp->public_key);
  auto sig = Ed25519Sign(kp->private_key, AsBytes("checkpoint 42"));
  ASSERT_TRUE(sig.ok());
  EXPECT_TRUE(Ed25519Verify(kp->public_key, AsBytes("checkpoint 42"), *sig));
  EXPECT_FALSE(Ed25519Verify(kp->public_key, AsBytes("checkpoint 43"), *sig));
  auto bad = *sig;
  bad[10] ^= 1;
  EXPECT_FALSE(Ed25519Verify(kp->public_key, AsBytes("checkpoint 42"), bad));
  EXPECT_FALSE(Ed25519Verify(std::span(kp->public_key).first(31), AsBytes("checkpoint 42"), *sig));
  EXPECT_FALSE(Ed25519Verify(kp->public_key, AsBytes("checkpoint 42"), std::span(*sig).first(63)));
  EXPECT_EQ(Ed25519Sign(*RandomSecret(31), AsBytes("x")).status().reason(), "invalid_key");
}

TEST(Rsa, RejectsGarbageAndNonRsaKeys) {
  EXPECT_EQ(RsaPublicKey::FromPem("not a key").status().reason(), "invalid_key");
  EXPECT_EQ(RsaPublicKey::FromDer(std::vector<std::uint8_t>{0x30, 0x00}).status().reason(), "invalid_key");
  // An Ed25519 SubjectPublicKeyInfo is a valid key but not RSA.
  EXPECT_EQ(RsaPublicKey::FromDer(Bytes("302a300506032b65700321007d4d0e7f6153a69b6242b522abbee685fda4420f8834b108c3bdae369ef549fa"))
                .status()
                .reason(),
            "invalid_key");
}

}  // namespace
}  // namespace bulwark::crypto

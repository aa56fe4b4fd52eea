// Keyring against the real SQLite backend and the real migrations.
#include "keyring/keyring.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "key_sources.h"
#include "keyring/master_key.h"
#include "store/migrate.h"
#include "store/sqlite/sqlite_store.h"

namespace bulwark::keyring {
namespace {

using crypto::SecretBytes;

using testing::Base64Source;
using testing::PasswordSource;
using testing::RandomKeyBase64;

constexpr std::uint32_t kTestIterations = kMinPbkdf2Iterations;  // the floor keeps tests fast

MasterKeySource FileSource(const std::string& path) {
  MasterKeySource s;
  s.kind = MasterKeySourceKind::kFile;
  s.file_path = path;
  return s;
}

class KeyringTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "bulwark-keyring-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    store_ = OpenStore(dir_ + "/bulwark.db");
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  static std::unique_ptr<store::Store> OpenStore(const std::string& path) {
    store::SqliteOptions opts;
    opts.path = path;
    auto s = store::OpenSqliteStore(opts);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    if (!s.ok()) return nullptr;
    EXPECT_TRUE(store::Migrate(**s).ok());
    return std::move(s).value();
  }

  store::Rows KekRows(store::Store& s) {
    auto tx = s.Begin(store::TxMode::kRead);
    EXPECT_TRUE(tx.ok());
    auto rows = (*tx)->Query(
        "SELECT version, source_kind, salt, iterations, check_value, created_at, retired_at FROM keyring_kek "
        "ORDER BY version");
    EXPECT_TRUE(rows.ok());
    return rows.ok() ? *rows : store::Rows{};
  }
  store::Rows KekRows() { return KekRows(*store_); }

  std::string dir_;
  std::unique_ptr<store::Store> store_;
};

void ExpectWrongMasterKey(const StatusOr<std::unique_ptr<Keyring>>& r) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(r.status().reason(), "wrong_master_key");
  EXPECT_NE(r.status().message().find("does not match the one this data was sealed with"), std::string::npos)
      << r.status().message();
}

TEST_F(KeyringTest, FirstBootInsertsKeyCheckValue) {
  const std::string b64 = RandomKeyBase64();
  auto ring = Keyring::Open(Base64Source(b64), *store_);
  ASSERT_TRUE(ring.ok()) << ring.status().ToString();
  EXPECT_EQ((*ring)->kek_version(), 1u);
  const store::Rows rows = KekRows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0].as_int(), 1);
  EXPECT_EQ(rows[0][1].as_text(), "base64");
  EXPECT_TRUE(rows[0][2].is_null());
  EXPECT_TRUE(rows[0][3].is_null());
  const auto kek = crypto::Base64Decode(b64);
  const crypto::Digest256 kcv = crypto::HmacSha256(*kek, crypto::AsBytes("bulwark keyring check v1"));
  EXPECT_EQ(rows[0][4].as_bytes(), std::vector<std::uint8_t>(kcv.begin(), kcv.end()));
  EXPECT_FALSE(rows[0][5].as_text().empty());
  EXPECT_TRUE(rows[0][6].is_null());
}

TEST_F(KeyringTest, ReopenWithSameKeyWorksAndWritesNothing) {
  const std::string b64 = RandomKeyBase64();
  ASSERT_TRUE(Keyring::Open(Base64Source(b64), *store_).ok());
  const store::Rows before = KekRows();
  auto again = Keyring::Open(Base64Source(b64 + "\n"), *store_);  // a trailing newline is tolerated
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ((*again)->kek_version(), 1u);
  const store::Rows after = KekRows();
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0][5].as_text(), before[0][5].as_text());
}

TEST_F(KeyringTest, WrongBase64KeyIsRefusedAndNothingChanges) {
  ASSERT_TRUE(Keyring::Open(Base64Source(RandomKeyBase64()), *store_).ok());
  const store::Rows before = KekRows();
  ExpectWrongMasterKey(Keyring::Open(Base64Source(RandomKeyBase64()), *store_));
  const store::Rows after = KekRows();
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0][4].as_bytes(), before[0][4].as_bytes());
}

TEST_F(KeyringTest, Base64OfWrongLengthOrMalformedIsRefused) {
  std::vector<std::uint8_t> short_key(16, 1);
  auto r = Keyring::Open(Base64Source(crypto::Base64Encode(short_key)), *store_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), "invalid_master_key");
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  std::vector<std::uint8_t> long_key(33, 1);
  EXPECT_EQ(Keyring::Open(Base64Source(crypto::Base64Encode(long_key)), *store_).status().reason(),
            "invalid_master_key");
  EXPECT_EQ(Keyring::Open(Base64Source("not base64 at all!"), *store_).status().reason(), "invalid_master_key");
  EXPECT_TRUE(KekRows().empty());  // refused before touching the store
}

TEST_F(KeyringTest, PasswordFirstBootReopenAndWrongPassword) {
  auto ring = Keyring::Open(PasswordSource("correct horse battery staple"), *store_);
  ASSERT_TRUE(ring.ok()) << ring.status().ToString();
  const store::Rows rows = KekRows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][1].as_text(), "password");
  ASSERT_TRUE(rows[0][2].is_bytes());
  EXPECT_EQ(rows[0][2].as_bytes().size(), 16u);
  EXPECT_EQ(rows[0][3].as_int(), kTestIterations);

  // The stored iteration count is used on reopen, even if the configured one changed.
  auto again = Keyring::Open(PasswordSource("correct horse battery staple", 200000), *store_);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  auto wrapped = (*ring)->Wrap(crypto::AsBytes("k"), "id", "test");
  ASSERT_TRUE(wrapped.ok());
  EXPECT_TRUE((*again)->Unwrap(*wrapped, "id", "test").ok());

  ExpectWrongMasterKey(Keyring::Open(PasswordSource("correct horse battery stapler"), *store_));
  EXPECT_EQ(KekRows().size(), 1u);
}

TEST_F(KeyringTest, TooFewIterationsRefused) {
  auto r = Keyring::Open(PasswordSource("pw", kMinPbkdf2Iterations - 1), *store_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.status().reason(), "weak_kdf_iterations");
  EXPECT_EQ(Keyring::Open(PasswordSource(""), *store_).status().reason(), "invalid_master_key");
  EXPECT_TRUE(KekRows().empty());
}

TEST_F(KeyringTest, SourceKindMismatchIsRefused) {
  ASSERT_TRUE(Keyring::Open(PasswordSource("pw-for-this-data"), *store_).ok());
  ExpectWrongMasterKey(Keyring::Open(Base64Source(RandomKeyBase64()), *store_));

  auto other = OpenStore(dir_ + "/other.db");
  ASSERT_NE(other, nullptr);
  ASSERT_TRUE(Keyring::Open(Base64Source(RandomKeyBase64()), *other).ok());
  auto r = Keyring::Open(PasswordSource("pw-for-this-data"), *other);
  ExpectWrongMasterKey(r);
  EXPECT_NE(r.status().message().find("password"), std::string::npos);
}

TEST_F(KeyringTest, DevKeyFileLifecycle) {
  const std::string path = dir_ + "/keys/sub/master.key";  // parents are created
  ASSERT_TRUE(WriteDevKeyFile(path).ok());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((dir_ + "/keys").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_TRUE(IsDevGeneratedKeyFile(path));
  EXPECT_EQ(WriteDevKeyFile(path).reason(), "key_file_exists");

  auto ring = Keyring::Open(FileSource(path), *store_);
  ASSERT_TRUE(ring.ok()) << ring.status().ToString();
  EXPECT_EQ(KekRows()[0][1].as_text(), "file");
  ASSERT_TRUE(Keyring::Open(FileSource(path), *store_).ok());

  // The same raw key given as base64 (e.g. moved from a file to an environment variable) opens.
  std::ifstream in(path);
  std::string line, key_line;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] != '#') key_line = line;
  }
  EXPECT_TRUE(Keyring::Open(Base64Source(key_line), *store_).ok());

  // A different key file is the wrong key.
  const std::string other = dir_ + "/keys/other.key";
  ASSERT_TRUE(WriteDevKeyFile(other).ok());
  ExpectWrongMasterKey(Keyring::Open(FileSource(other), *store_));
}

TEST_F(KeyringTest, KeyFileParsing) {
  const std::string path = dir_ + "/prod.key";
  const std::string b64 = RandomKeyBase64();
  {
    std::ofstream out(path);
    out << "# production key, rotated 2026-11\n\n" << b64 << "\r\n";
  }
  EXPECT_FALSE(IsDevGeneratedKeyFile(path));
  auto k = ReadKeyFile(path);
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  EXPECT_EQ(crypto::Base64Encode(k->reveal_span()), b64);

  {
    std::ofstream out(path);
    out << b64 << "\n" << b64 << "\n";
  }
  EXPECT_EQ(ReadKeyFile(path).status().reason(), "invalid_master_key");
  EXPECT_EQ(ReadKeyFile(dir_ + "/missing.key").status().reason(), "master_key_unreadable");
  EXPECT_FALSE(IsDevGeneratedKeyFile(dir_ + "/missing.key"));
  auto r = Keyring::Open(FileSource(dir_ + "/missing.key"), *store_);
  EXPECT_EQ(r.status().reason(), "master_key_unreadable");
  EXPECT_EQ(r.status().message().find(dir_), std::string::npos);  // no paths in messages
}

class WrapTest : public KeyringTest {
 protected:
  void SetUp() override {
    KeyringTest::SetUp();
    auto r = Keyring::Open(Base64Source(RandomKeyBase64()), *store_);
    ASSERT_TRUE(r.ok());
    ring_ = std::move(r).value();
  }
  std::unique_ptr<Keyring> ring_;
};

TEST_F(WrapTest, RoundTripAndFormat) {
  const SecretBytes dek = *crypto::RandomSecret(32);
  auto wrapped = ring_->Wrap(dek.reveal_span(), "tenant/t1/dek/1", "test");
  ASSERT_TRUE(wrapped.ok());
  ASSERT_EQ(wrapped->size(), kWrapOverhead + 32);
  EXPECT_EQ((*wrapped)[0], kWrapFormatV2);
  EXPECT_EQ((*wrapped)[1], 0);
  EXPECT_EQ((*wrapped)[4], 1);  // kek_version 1, big endian
  auto back = ring_->Unwrap(*wrapped, "tenant/t1/dek/1", "test");
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->Equals(dek));
  EXPECT_NE(*wrapped, *ring_->Wrap(dek.reveal_span(), "tenant/t1/dek/1", "test"));  // fresh nonce
}

TEST_F(WrapTest, AnotherKeyIdFailsIntegrity) {
  auto wrapped = ring_->Wrap(crypto::AsBytes("data key"), "tenant/a", "test");
  ASSERT_TRUE(wrapped.ok());
  auto r = ring_->Unwrap(*wrapped, "tenant/b", "test");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kIntegrity);
  EXPECT_EQ(r.status().reason(), "integrity_error");
}

TEST_F(WrapTest, EveryFlippedByteAndTruncationFailsIntegrity) {
  auto wrapped = *ring_->Wrap(crypto::AsBytes("data key"), "id", "test");
  for (std::size_t i = 0; i < wrapped.size(); ++i) {
    auto bad = wrapped;
    bad[i] ^= 0x40;
    EXPECT_EQ(ring_->Unwrap(bad, "id", "test").status().code(), ErrorCode::kIntegrity) << i;
  }
  for (std::size_t n = 0; n < wrapped.size(); ++n) {
    EXPECT_EQ(ring_->Unwrap(std::span(wrapped).first(n), "id", "test").status().code(),
              ErrorCode::kIntegrity)
        << n;
  }
}

TEST_F(WrapTest, AnotherMasterKeyCannotUnwrap) {
  auto other_store = OpenStore(dir_ + "/other.db");
  auto other = Keyring::Open(Base64Source(RandomKeyBase64()), *other_store);
  ASSERT_TRUE(other.ok());
  auto wrapped = *ring_->Wrap(crypto::AsBytes("data key"), "id", "test");
  EXPECT_EQ((*other)->Unwrap(wrapped, "id", "test").status().code(), ErrorCode::kIntegrity);
}

TEST_F(WrapTest, KeyIdValidation) {
  EXPECT_EQ(ring_->Wrap(crypto::AsBytes("k"), "", "test").status().reason(), "invalid_key_id");
  EXPECT_EQ(ring_->Wrap(crypto::AsBytes("k"), std::string(257, 'x'), "test").status().reason(),
            "invalid_key_id");
}

TEST_F(WrapTest, GetOrCreateKeyPersistsWrapped) {
  SecretBytes first;
  {
    auto tx = store_->Begin(store::TxMode::kWrite);
    ASSERT_TRUE(tx.ok());
    auto k = ring_->GetOrCreateKey(**tx, "audit-signing", "audit_signing_ed25519", 32);
    ASSERT_TRUE(k.ok()) << k.status().ToString();
    EXPECT_EQ(k->size(), 32u);
    first = std::move(k).value();
    ASSERT_TRUE((*tx)->Commit().ok());
  }
  {
    auto tx = store_->Begin(store::TxMode::kRead);
    auto rows = (*tx)->Query("SELECT purpose, kek_version, wrapped FROM wrapped_keys WHERE id = ?",
                             {store::Value::Text("audit-signing")});
    ASSERT_TRUE(rows.ok());
    ASSERT_EQ(rows->size(), 1u);
    EXPECT_EQ((*rows)[0][0].as_text(), "audit_signing_ed25519");
    EXPECT_EQ((*rows)[0][1].as_int(), 1);
    EXPECT_EQ((*rows)[0][2].as_bytes().size(), kWrapOverhead + 32);
  }
  {
    auto tx = store_->Begin(store::TxMode::kWrite);
    auto again = ring_->GetOrCreateKey(**tx, "audit-signing", "audit_signing_ed25519", 32);
    ASSERT_TRUE(again.ok());
    EXPECT_TRUE(again->Equals(first));
    EXPECT_EQ(ring_->GetOrCreateKey(**tx, "audit-signing", "receipts", 32).status().reason(), "key_purpose_mismatch");
    EXPECT_EQ(ring_->GetOrCreateKey(**tx, "audit-signing", "audit_signing_ed25519", 16).status().reason(),
              "key_length_mismatch");
    EXPECT_EQ(ring_->GetOrCreateKey(**tx, "x", "p", 0).status().reason(), "invalid_key_length");
  }
}

}  // namespace
}  // namespace bulwark::keyring

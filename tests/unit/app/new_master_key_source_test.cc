// `bulwark key rotate` refuses a new master key source that `serve` would refuse at the next
// boot (app::CheckNewMasterKeySource, the checks boot applies to the configured source): a weak
// key or password, a key file generated in dev mode, a key or password file others may read. In
// production those are errors; in dev, warnings. And app::ReadSecretFile, which reads those
// files.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "../keyring/key_sources.h"
#include "../store/store_test_util.h"
#include "app/core_open.h"
#include "app/preflight.h"
#include "crypto/encoding.h"
#include "crypto/random.h"

namespace bulwark::app {
namespace {

using config::ConfigProblem;
using keyring::MasterKeySource;
using keyring::MasterKeySourceKind;
using keyring::testing::Base64Source;
using keyring::testing::PasswordSource;
using keyring::testing::RandomKeyBase64;
using store::testing::TempDir;

// A password as `bulwark key rotate --new-source password-file:` reads it from `path`.
MasterKeySource PasswordFile(const std::string& pw, const std::string& path) {
  MasterKeySource s = PasswordSource(pw);
  s.file_path = path;
  return s;
}

MasterKeySource File(const std::string& path) {
  MasterKeySource s;
  s.kind = MasterKeySourceKind::kFile;
  s.file_path = path;
  return s;
}

std::size_t Errors(const std::vector<ConfigProblem>& problems) {
  std::size_t n = 0;
  for (const auto& p : problems) {
    EXPECT_EQ(p.key, "--new-source");
    n += p.severity == ConfigProblem::Severity::kError ? 1 : 0;
  }
  return n;
}

TEST(NewMasterKeySource, AStrongKeyPassesInProduction) {
  TempDir dir;
  EXPECT_TRUE(CheckNewMasterKeySource(Base64Source(RandomKeyBase64()), true).empty());
  const std::string file = dir.Write("new.key", RandomKeyBase64() + "\n", 0600);
  EXPECT_TRUE(CheckNewMasterKeySource(File(file), true).empty());
}

TEST(NewMasterKeySource, WhatBootRefusesIsAnErrorInProductionAndAWarningInDev) {
  TempDir dir;
  const std::string zeros = crypto::Base64Encode(std::vector<std::uint8_t>(32, 0));
  const std::string open_file = dir.Write("open.key", RandomKeyBase64() + "\n", 0644);
  const std::string dev_file = dir.Write(
      "dev.key", std::string(keyring::kDevKeyFileMarker) + "\n" + RandomKeyBase64() + "\n",
      0600);
  const std::string pw_file = dir.Write("pw", "correct horse battery staple zebra 42\n", 0640);
  // Each source with the password file it was read from, if any.
  const auto check = [&](int i, bool production) {
    switch (i) {
      case 0:
        return CheckNewMasterKeySource(Base64Source(zeros), production);  // too little entropy
      case 1:
        return CheckNewMasterKeySource(File(open_file), production);  // readable by others
      case 2:
        return CheckNewMasterKeySource(File(dev_file), production);  // generated in dev mode
      case 3:
        return CheckNewMasterKeySource(PasswordSource("password"), production);  // weak
      default:  // a strong password, from a file others may read
        return CheckNewMasterKeySource(
            PasswordFile("correct horse battery staple zebra 42", pw_file), production);
    }
  };
  for (int i = 0; i < 5; ++i) {
    EXPECT_GE(Errors(check(i, true)), 1u) << i;
    const auto dev = check(i, false);
    EXPECT_FALSE(dev.empty()) << i;
    EXPECT_EQ(Errors(dev), 0u) << i;
  }
}

TEST(NewMasterKeySource, UnreadableMaterialIsAnErrorInDevToo) {
  TempDir dir;
  EXPECT_EQ(Errors(CheckNewMasterKeySource(Base64Source("not base64!"), false)), 1u);
  EXPECT_EQ(Errors(CheckNewMasterKeySource(File(dir.File("missing.key")), false)), 1u);
}

}  // namespace
}  // namespace bulwark::app

namespace bulwark::app {
namespace {

// A secret file (a master password file) is read whole into wiped memory, without its trailing
// newline; one over 64 KiB is refused, where it was cut short before.
TEST(ReadSecretFile, TrailingNewlinesGoAndAFileOver64KiBIsRefused) {
  store::testing::TempDir dir;
  const std::string pw = dir.Write("pw", "correct horse\r\n\n", 0600);
  auto read = ReadSecretFile(pw);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->reveal_string_view(), "correct horse");
  const std::string at_limit = dir.Write("at", std::string(64 * 1024, 'x'), 0600);
  EXPECT_EQ(ReadSecretFile(at_limit)->size(), 64u * 1024);
  const std::string over = dir.Write("over", std::string(64 * 1024 + 1, 'x'), 0600);
  EXPECT_EQ(ReadSecretFile(over).status().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(ReadSecretFile(dir.File("missing")).status().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(ReadSecretFile(dir.File("")).status().code(),
            ErrorCode::kFailedPrecondition);  // a directory
}

}  // namespace
}  // namespace bulwark::app

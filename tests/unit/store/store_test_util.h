#pragma once
// A scratch directory per test, removed afterwards, for real SQLite files.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "store/sqlite/sqlite_store.h"

namespace bulwark::store::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "bulwark-store-XXXXXX").string();
    char* made = ::mkdtemp(tmpl.data());
    EXPECT_NE(made, nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string File(const std::string& name) const { return (path_ / name).string(); }

  // Writes `text` to the file `name` here with permissions `mode`; returns its path.
  std::string Write(const std::string& name, const std::string& text, mode_t mode) const {
    const std::string path = File(name);
    std::ofstream(path) << text;
    ::chmod(path.c_str(), mode);
    return path;
  }

 private:
  std::filesystem::path path_;
};

inline SqliteOptions Options(const std::string& path) {
  SqliteOptions o;
  o.path = path;
  return o;
}

inline std::unique_ptr<Store> MustOpen(const SqliteOptions& o) {
  auto s = OpenSqliteStore(o);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  if (!s.ok()) return nullptr;
  return std::move(s).value();
}

// Transaction::BytewiseRange on `store` (either backend): [prefix, prefix + "\x7f") holds
// exactly the stored strings that start with the prefix, case and punctuation compared as bytes,
// also in a database whose collation compares them otherwise (the PostgreSQL test server's ICU
// en-US, which ignores "\x7f" and compares case last).
inline void ExpectBytewisePrefixRanges(Store& store) {
  const std::vector<std::string> stored = {"d",    "d-b/y", "dB/x", "db", "db/B",
                                           "db/a", "db/a/", "dbx",  "e",  "D"};
  {
    auto tx = store.Begin(TxMode::kWrite);
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE((*tx)->Exec("CREATE TABLE paths (p TEXT PRIMARY KEY)").ok());
    for (const std::string& p : stored) {
      ASSERT_TRUE((*tx)->Exec("INSERT INTO paths (p) VALUES (?)", {Value::Text(p)}).ok());
    }
    ASSERT_TRUE((*tx)->Commit().ok());
  }
  auto tx = store.Begin(TxMode::kRead);
  ASSERT_TRUE(tx.ok());
  for (const std::string prefix : {"", "d", "db", "db/", "dB", "D", "db/a", "x"}) {
    auto [lower, upper] = AsciiPrefixBounds(prefix);
    std::vector<std::string> want, rest;
    for (const std::string& p : stored) (p.starts_with(prefix) ? want : rest).push_back(p);
    // The range, and (the condition is parenthesized: NOT applies to all of it) its complement.
    for (const auto& [negate, expected] : {std::pair{"", want}, std::pair{"NOT ", rest}}) {
      auto rows = (*tx)->Query(
          std::string("SELECT p FROM paths WHERE ") + negate + (*tx)->BytewiseRange("p"),
          {Value::Text(lower), Value::Text(upper)});
      ASSERT_TRUE(rows.ok()) << rows.status().ToString();
      std::vector<std::string> got;
      for (const auto& r : *rows) got.push_back(r[0].as_text());
      std::sort(got.begin(), got.end());
      std::vector<std::string> sorted = expected;
      std::sort(sorted.begin(), sorted.end());
      EXPECT_EQ(got, sorted) << negate << "prefix \"" << prefix << "\"";
    }
  }
}

inline int FileMode(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int>(st.st_mode & 07777);
}

}  // namespace bulwark::store::testing

// The store the offline tools read (app::OpenToolStore): the SQLite file named by --data as
// before, or the configured PostgreSQL database (a real PostgreSQL 15, pg_server.h); and the
// maintenance commands' "existing database" check on both.
#include "app/tool_store.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "../store/pg_server.h"
#include "../store/store_test_util.h"
#include "app/core_open.h"
#include "receipts/verify.h"
#include "store/migrate.h"

namespace bulwark::app {
namespace {

using store::testing::TempDir;

config::ConfigSources WithData(const std::string& data) {
  config::ConfigSources s;
  s.data_flag = data;
  return s;
}

// A configuration file naming `url` as storage.url.
std::string ConfigFile(const TempDir& dir, const std::string& url) {
  const std::string path = dir.File("bulwark.toml");
  std::ofstream(path) << "storage.url = \"" << url << "\"\n";
  return path;
}

TEST(ToolStore, TheSqliteFileInTheDataDirectoryOrTheFileItself) {
  TempDir dir;
  ASSERT_NE(store::testing::MustOpen(store::testing::Options(dir.File("bulwark.db"))), nullptr);
  for (const std::string& data : {dir.File(""), dir.File("bulwark.db")}) {
    auto s = OpenToolStore(WithData(data));
    ASSERT_TRUE(s.ok()) << data << ": " << s.status().ToString();
    EXPECT_EQ((*s)->backend(), store::Backend::kSqlite);
  }
  auto missing = OpenToolStore(WithData(dir.File("nowhere")));
  EXPECT_EQ(missing.status().code(), ErrorCode::kUnavailable);
  EXPECT_FALSE(std::ifstream(dir.File("nowhere")).good()) << "a tool created a database";
}

TEST(ToolStore, AConfigurationWithErrorsIsRefused) {
  TempDir dir;
  config::ConfigSources s = WithData(dir.File(""));
  s.file = dir.File("bad.toml");
  std::ofstream(s.file) << "storage.no_such_setting = 1\n";
  EXPECT_EQ(OpenToolStore(s).status().reason(), "config_errors");
}

TEST(ToolStore, AConfiguredStorageUrlIsReadInsteadOfTheDataDirectory) {
  testing::PgServer& pg = testing::SharedPgServer();
  ASSERT_TRUE(pg.ok()) << pg.error();
  TempDir dir;
  config::ConfigSources s = WithData(dir.File(""));  // no SQLite file there
  s.file = ConfigFile(dir, pg.NewDatabase());
  auto opened = OpenToolStore(s);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ((*opened)->backend(), store::Backend::kPostgresql);

  // Before the migrations there are no receipt tables; after them, no keys yet.
  const store::Opener tool = [&] { return OpenToolStore(s); };
  std::ostringstream out, err;
  EXPECT_EQ(receipts::RunReceiptPubkey(tool, out, err), 2);
  EXPECT_NE(err.str().find("no receipt tables"), std::string::npos) << err.str();
  EXPECT_EQ(out.str(), "");
  ASSERT_TRUE(store::Migrate(**opened).ok());
  err.str("");
  EXPECT_EQ(receipts::RunReceiptPubkey(tool, out, err), 0) << err.str();
  EXPECT_EQ(out.str(), "");
}

TEST(RequireDatabase, PostgreSqlNeedsNoFileSqliteNeedsItsFile) {
  TempDir dir;
  config::Config c;
  c.data_dir = dir.File("");
  EXPECT_EQ(RequireDatabase(c).reason(), "no_database");
  c.storage_url = "postgresql://bulwark@127.0.0.1:1/none";
  EXPECT_TRUE(RequireDatabase(c).ok());  // reachability is the opener's business
  c.storage_url.clear();
  ASSERT_NE(store::testing::MustOpen(store::testing::Options(c.database_path())), nullptr);
  EXPECT_TRUE(RequireDatabase(c).ok());
}

}  // namespace
}  // namespace bulwark::app

// app::UndoCreated: a failed command removes what opening the store made, and only that: never a
// file another process (a server beside the command) wrote into a data directory that existed.
#include "app/undo_created.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "../store/store_test_util.h"

namespace bulwark::app {
namespace {

namespace fs = std::filesystem;
using store::testing::TempDir;

void Touch(const std::string& path) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path) << "x";
}

config::Config ConfigAt(const std::string& data_dir) {
  config::Config c;
  c.data_dir = data_dir;
  return c;
}

TEST(UndoCreated, AFreshDataDirectoryGoesWithAllItHolds) {
  TempDir tmp;
  const config::Config c = ConfigAt(tmp.File("data"));
  {
    UndoCreated undo(c);
    Touch(c.database_path());
    Touch(c.dev_key_path());
    Touch(c.audit_high_water_path());
  }
  EXPECT_FALSE(fs::exists(c.data_dir));
}

TEST(UndoCreated, InAnExistingDirectoryOnlyTheStoreFilesThatAppearedGo) {
  TempDir tmp;
  const config::Config c = ConfigAt(tmp.File("data"));
  Touch(c.data_dir + "/notes.txt");
  {
    UndoCreated undo(c);
    Touch(c.database_path());
    Touch(c.database_path() + "-wal");
    Touch(c.dev_key_path());
    // What a server beside the command writes meanwhile stays: its high-water mark, a sink file.
    Touch(c.audit_high_water_path());
    Touch(c.data_dir + "/siem/audit.jsonl");
  }
  EXPECT_TRUE(fs::exists(c.data_dir + "/notes.txt"));
  EXPECT_FALSE(fs::exists(c.database_path()));
  EXPECT_FALSE(fs::exists(c.database_path() + "-wal"));
  EXPECT_FALSE(fs::exists(c.dev_key_path()));
  EXPECT_FALSE(fs::exists(fs::path(c.dev_key_path()).parent_path()));
  EXPECT_TRUE(fs::exists(c.audit_high_water_path()));
  EXPECT_TRUE(fs::exists(c.data_dir + "/siem/audit.jsonl"));
}

TEST(UndoCreated, WhatExistedAndWhatIsKeptStay) {
  TempDir tmp;
  const config::Config c = ConfigAt(tmp.File("data"));
  Touch(c.database_path());
  {
    UndoCreated undo(c);  // the database existed: a failed command never removes it
  }
  EXPECT_TRUE(fs::exists(c.database_path()));
  const config::Config fresh = ConfigAt(tmp.File("other"));
  {
    UndoCreated undo(fresh);
    Touch(fresh.database_path());
    undo.Keep();
  }
  EXPECT_TRUE(fs::exists(fresh.database_path()));
}

TEST(UndoCreated, OnPostgreSqlNothingIsRemoved) {
  // A generated dev key may already seal the keyring rows written to the shared database.
  TempDir tmp;
  config::Config c = ConfigAt(tmp.File("data"));
  c.storage_url = "postgresql://127.0.0.1:1/none";
  {
    UndoCreated undo(c);
    Touch(c.dev_key_path());
  }
  EXPECT_TRUE(fs::exists(c.dev_key_path()));
}

}  // namespace
}  // namespace bulwark::app

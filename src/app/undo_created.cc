#include "app/undo_created.h"

#include <filesystem>

namespace bulwark::app {
namespace fs = std::filesystem;

namespace {

// True unless the path is known to be absent (an error counts as present: keep it).
bool Present(const std::string& path) {
  std::error_code ec;
  const fs::file_status st = fs::symlink_status(path, ec);
  return ec ? st.type() != fs::file_type::not_found : fs::exists(st);
}

bool InDirectory(const std::string& path, const std::string& dir) {
  const fs::path rel = fs::path(path).lexically_normal().lexically_relative(
      fs::path(dir).lexically_normal());
  return !rel.empty() && *rel.begin() != "..";
}

}  // namespace

UndoCreated::UndoCreated(const config::Config& config) {
  if (!config.storage_url.empty()) return;  // PostgreSQL: see the header
  const std::string& dir = config.data_dir;
  const std::string high_water = config.audit_high_water_path();
  if (!Present(dir)) {
    fresh_dir_ = dir;
    if (!InDirectory(high_water, dir) && !Present(high_water)) new_files_.push_back(high_water);
    return;
  }
  const std::string db = config.database_path();
  for (const std::string& f : {db, db + "-wal", db + "-shm", db + "-journal", config.dev_key_path()}) {
    if (!Present(f)) new_files_.push_back(f);
  }
  const std::string keys_dir = fs::path(config.dev_key_path()).parent_path().string();
  if (!Present(keys_dir)) new_dirs_.push_back(keys_dir);
}

UndoCreated::~UndoCreated() {
  if (keep_) return;
  std::error_code ec;
  for (const std::string& f : new_files_) fs::remove(f, ec);   // best effort
  for (const std::string& d : new_dirs_) fs::remove(d, ec);    // only if empty
  if (!fresh_dir_.empty()) fs::remove_all(fresh_dir_, ec);
}

}  // namespace bulwark::app

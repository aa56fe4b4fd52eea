#include "app/undo_created.h"

#include <algorithm>
#include <filesystem>

namespace bulwark::app {
namespace fs = std::filesystem;

namespace {

// `path` and everything below it (symlinks are not followed).
void List(const std::string& path, std::vector<std::string>& out) {
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(path, ec))) return;
  out.push_back(path);
  if (!fs::is_directory(fs::symlink_status(path, ec))) return;
  for (auto it = fs::recursive_directory_iterator(path, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    out.push_back(it->path().string());
  }
}

}  // namespace

UndoCreated::UndoCreated(std::vector<std::string> paths) : paths_(std::move(paths)) {
  std::vector<std::string> all;
  for (const std::string& p : paths_) List(p, all);
  before_.insert(all.begin(), all.end());
}

UndoCreated::~UndoCreated() {
  if (keep_) return;
  std::vector<std::string> now;
  for (const std::string& p : paths_) List(p, now);
  // Deepest first, so a new directory is empty by the time it is removed.
  std::sort(now.begin(), now.end(), [](const std::string& a, const std::string& b) {
    return a.size() > b.size();
  });
  for (const std::string& p : now) {
    if (before_.count(p) != 0) continue;
    std::error_code ec;
    fs::remove(p, ec);  // best effort: a directory that is not empty (someone else's) stays
  }
}

}  // namespace bulwark::app

#pragma once
// Leaves nothing behind when a command that may create files fails: the data directory, the
// database, a generated dev master key, the high-water file.
//
// It records what exists under each watched path before the command opens anything; unless
// Keep() is called, its destructor removes every file and directory that appeared since
// (deepest first), and a watched directory that did not exist at all. Declare it before the
// store is opened, so the store is closed by the time it cleans up:
//
//   UndoCreated undo({config.data_dir, config.audit_high_water_path()});
//   auto core = OpenCore(config, step);          // may create the directory, key, database
//   if (!core.ok()) return Refuse(step, ...);    // undo removes what OpenCore created
//   ...; undo.Keep();                            // success: keep everything
//
// It cannot undo changes to files that already existed (a migration of an existing database);
// commands refuse what they can before opening anything.
#include <set>
#include <string>
#include <vector>

namespace bulwark::app {

class UndoCreated {
 public:
  explicit UndoCreated(std::vector<std::string> paths);
  ~UndoCreated();
  UndoCreated(const UndoCreated&) = delete;
  UndoCreated& operator=(const UndoCreated&) = delete;

  void Keep() { keep_ = true; }

 private:
  std::vector<std::string> paths_;
  std::set<std::string> before_;  // every path that existed, below the watched ones included
  bool keep_ = false;
};

}  // namespace bulwark::app

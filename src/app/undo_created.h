#pragma once
// Leaves nothing behind when a command that may create a store fails: what opening the store
// made on first use (the data directory, the SQLite database and its journal files, a generated
// dev master key, the high-water file), and nothing else.
//
// It records, before the command opens anything, which of those paths exist; unless Keep() is
// called, its destructor removes:
//   - a data directory that did not exist, with all that appeared in it, and a high-water file
//     outside it that did not exist either;
//   - in a data directory that existed, only the database files and the dev key that appeared:
//     never another file (a server beside the command may be writing its own there).
// On PostgreSQL it removes nothing: a generated dev key may already seal the keyring rows the
// command wrote to the shared database. Declare it before the store is opened, so the store is
// closed by the time it cleans up:
//
//   UndoCreated undo(config);
//   auto core = OpenCore(config, step);          // may create the directory, key, database
//   if (!core.ok()) return Refuse(step, ...);    // undo removes what OpenCore created
//   ...; undo.Keep();                            // success: keep everything
//
// It cannot undo changes to files that already existed (a migration of an existing database);
// commands refuse what they can (bad names, bad addresses) before opening anything.
#include <string>
#include <vector>

#include "config/config.h"

namespace bulwark::app {

class UndoCreated {
 public:
  explicit UndoCreated(const config::Config& config);
  ~UndoCreated();
  UndoCreated(const UndoCreated&) = delete;
  UndoCreated& operator=(const UndoCreated&) = delete;

  void Keep() { keep_ = true; }

 private:
  std::string fresh_dir_;               // the data directory, when it did not exist
  std::vector<std::string> new_files_;  // files that did not exist, removed if they appear
  std::vector<std::string> new_dirs_;   // directories that did not exist, removed when empty
  bool keep_ = false;
};

}  // namespace bulwark::app

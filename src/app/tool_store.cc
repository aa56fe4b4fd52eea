#include "app/tool_store.h"

#include <sys/stat.h>

#include "app/core_open.h"
#include "store/sqlite/sqlite_store.h"

namespace bulwark::app {

StatusOr<std::unique_ptr<store::Store>> OpenToolStore(const config::ConfigSources& sources) {
  config::ConfigLoad loaded = config::LoadConfig(sources);
  for (const config::ConfigProblem& p : loaded.problems) {
    if (p.severity == config::ConfigProblem::Severity::kError) {
      return Status::InvalidArgument("config_errors",
                                     "the configuration has errors: " + p.key + ": " + p.message);
    }
  }
  const config::Config& c = loaded.config;
  if (!c.storage_url.empty()) return OpenExistingStore(c);
  struct stat st {};
  const bool names_file = ::stat(c.data_dir.c_str(), &st) == 0 && S_ISREG(st.st_mode);
  return store::OpenSqliteFileAsIs(names_file ? c.data_dir : c.database_path());
}

}  // namespace bulwark::app

#include "app/config_commands.h"

#include <ostream>
#include <string>
#include <vector>

#include "app/preflight.h"

namespace bulwark::app {

int ConfigCheck(const config::ConfigSources& sources, std::ostream& out) {
  config::ConfigLoad loaded = config::LoadConfig(sources);
  // Even with file errors, report every other problem too: one round trip to fix them all.
  const std::vector<config::ConfigProblem> problems = AllProblems(loaded);
  const std::string mode = loaded.config.dev ? "dev" : "production";
  const std::size_t errors = CountErrors(problems);
  if (errors == 0) {
    out << "configuration OK for " << mode << " (" << problems.size() << " warning(s))\n";
    PrintProblems(problems, out);
    return 0;
  }
  out << mode << " would refuse to start: " << errors << " problem(s)\n";
  PrintProblems(problems, out);
  return 1;
}

}  // namespace bulwark::app

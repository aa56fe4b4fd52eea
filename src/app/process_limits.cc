#include "app/process_limits.h"

#include <sys/prctl.h>
#include <sys/resource.h>

#include <cstdint>
#include <iostream>

#include "core/log.h"

namespace bulwark::app {

// A production server holds the master key and the tenants' data keys in memory: no core dump may
// carry them to disk. A core size of 0 stops the dump; not dumpable also keeps other processes
// of the same user from reading its memory through /proc or ptrace.
void KeepKeysOutOfCoreDumps() {
  const rlimit none{0, 0};
  if (::setrlimit(RLIMIT_CORE, &none) != 0 || ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    std::cerr << "bulwark: warning: core dumps could not be turned off\n";
  }
}

// Raises the soft limit on open files to the hard one (as far as it goes), so that
// server.max_connections is not cut short by the usual soft limit of 1024.
void RaiseDescriptorLimit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == rl.rlim_max) return;
  const rlim_t before = rl.rlim_cur;
  rl.rlim_cur = rl.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &rl) != 0) {
    log::Warn("server.descriptor_limit_not_raised", {{"soft", static_cast<std::uint64_t>(before)}});
    return;
  }
  log::Info("server.descriptor_limit_raised", {{"from", static_cast<std::uint64_t>(before)},
                                                {"to", static_cast<std::uint64_t>(rl.rlim_cur)}});
}

}  // namespace bulwark::app

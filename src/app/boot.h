#pragma once
// Booting Bulwark: `bulwark serve`. In named steps (app/boot.cc): preflight (every reason the
// configured mode must refuse to start, found without writing anything: app/preflight.h), open
// the store, keyring and ledger (app/core_open.h), build the services, build the request
// pipeline and its routes (app/routes.h), serve until a signal, then stop in order. See
// docs/design.md for where each step's work happens.
#include "config/config.h"

namespace bulwark::app {

// `bulwark serve`: returns the process exit code (0 after a graceful shutdown; 78,
// kExitConfigRefused, when the configuration, store or keyring refuses the start).
int Serve(const config::ConfigSources& sources);

}  // namespace bulwark::app

#pragma once
// `bulwark config check`: the configured mode's start-up checks (app/preflight.h), run without
// starting: every problem `serve` would refuse or warn about, written nowhere but `out`.
#include <iosfwd>

#include "config/config.h"

namespace bulwark::app {

// Prints every problem to `out`; returns 0 when the configured mode would start, 1 when it
// would refuse.
int ConfigCheck(const config::ConfigSources& sources, std::ostream& out);

}  // namespace bulwark::app

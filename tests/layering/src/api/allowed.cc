// The control (tests/layering/check.cmake): includes src/api may use, project and third-party,
// so the probes that fail are known to fail for their wrong include and nothing else.
#include <boost/json/value.hpp>

#include "core/status.h"
#include "http/router.h"
#include "secrets/vault.h"

int LayeringProbeApiAllowed() { return boost::json::value(1).as_int64() == 1 ? 0 : 1; }

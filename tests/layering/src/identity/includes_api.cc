// A deliberate wrong include (tests/layering/check.cmake): identity sits below the route
// adapters, so src/identity's include tree has no api/ and this file must not compile.
#include "api/body.h"

int LayeringProbeIdentityApi() { return 0; }

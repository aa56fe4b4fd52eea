// A deliberate wrong include (tests/layering/check.cmake): identity is domain code and knows no
// HTTP (the pipeline's adapters live in src/stages/), so src/identity's include tree has no
// http/ and this file must not compile.
#include "http/types.h"

int LayeringProbeIdentityHttp() { return 0; }

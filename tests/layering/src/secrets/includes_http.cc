// A deliberate wrong include (tests/layering/check.cmake): a domain layer never includes the
// transport, so src/secrets' include tree has no http/ and this file must not compile.
#include "http/types.h"

int LayeringProbeSecretsHttp() { return 0; }

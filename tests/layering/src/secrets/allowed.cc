// The control (tests/layering/check.cmake): a domain layer includes the layers below it.
#include "keyring/keyring.h"
#include "store/store.h"

int LayeringProbeSecretsAllowed() { return bulwark::store::BackendName(bulwark::store::Backend::kSqlite).size() > 0 ? 0 : 1; }

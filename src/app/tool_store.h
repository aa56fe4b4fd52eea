#pragma once
// The store the offline tools read (`bulwark audit verify|export|pubkey`, `bulwark receipt
// pubkey`): the configured one, as for every other command, without creating or changing it.
#include <memory>

#include "config/config.h"
#include "core/status.h"
#include "store/store.h"

namespace bulwark::app {

// The configuration as for `serve` (file, BULWARK_* environment, --data). storage.url set: that
// PostgreSQL database (OpenExistingStore). Otherwise the SQLite file in the data directory, or
// the data "directory" itself when it names a file, opened as it is (store::OpenSqliteFileAsIs).
// Errors: kInvalidArgument "config_errors" (the first problem in the message), or those of the
// opener.
StatusOr<std::unique_ptr<store::Store>> OpenToolStore(const config::ConfigSources& sources);

}  // namespace bulwark::app

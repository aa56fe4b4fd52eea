#pragma once
// `bulwark tenant create`: the one way a first account comes to exist.
#include <iosfwd>
#include <string>

#include "config/config.h"

namespace bulwark::app {

// `bulwark tenant create --name N --owner EMAIL`: bootstraps a tenant and its first owner,
// recorded in the audit ledger as tenant.create. Prints {"tenant_id","name","owner_user_id"};
// returns 0, 1 on a refusal (name taken, bad email), 78 when the configuration or store cannot be
// opened. A refusal leaves nothing behind (app/undo_created.h).
int TenantCreate(const config::ConfigSources& sources, const std::string& name,
                 const std::string& owner, std::ostream& out);

}  // namespace bulwark::app

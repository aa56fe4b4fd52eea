#pragma once
// Vault's response envelope and its one mount, shared by the Vault-surface routes (vault_routes.cc,
// vault_mount_routes.cc): request_id, lease fields, `data`, and the null wrap_info, warnings
// and auth Vault clients expect.
#include <string>
#include <string_view>

#include "http/router.h"
#include "http/types.h"

namespace bulwark::api {

// The one KV v2 mount the Vault surface serves.
inline constexpr std::string_view kMount = "secret";

// Ok when the route's {mount} is kMount; else 404 unknown_mount.
Status CheckMount(const http::RequestContext& ctx);

// The envelope around `data` (a serialized JSON object).
std::string VaultEnvelope(const http::RequestContext& ctx, std::string_view data);

struct SecretRouteDeps;
// The Vault surface's mount discovery: sys/mounts, sys/internal/ui/mounts, tune, {mount}/config
// (vault_mount_routes.cc); AddVaultRoutes registers them.
Status AddVaultMountRoutes(http::Router& router, const SecretRouteDeps& deps);

}  // namespace bulwark::api

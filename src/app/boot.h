#pragma once
// Booting Bulwark: find every reason the configured mode must refuse to start (without writing
// anything), then open the store and keyring, build the routes and serve.
#include <iosfwd>
#include <vector>

#include "api/identity_routes.h"
#include "api/ops.h"
#include "api/receipt_routes.h"
#include "core/config.h"
#include "http/router.h"
#include "keyring/master_key.h"

namespace bulwark::app {

// Exit code when the configuration is refused (EX_CONFIG).
inline constexpr int kExitConfigRefused = 78;

// Every problem that stops `serve` in the configured mode (production unless config.dev), plus
// warnings. Reads files and the database; creates and changes nothing.
std::vector<core::ConfigProblem> Preflight(const core::Config& config);

// What `serve` refuses about a master key source, for the one `bulwark key rotate` moves to, so
// that it is one the server will boot with: weak material, a key file generated in dev mode, a
// key or password file others may read (errors in production, warnings in dev).
std::vector<core::ConfigProblem> CheckNewMasterKeySource(const keyring::MasterKeySource& source,
                                                         bool production);

// `bulwark serve`: returns the process exit code (0 after a graceful shutdown).
int Serve(const core::ConfigSources& sources);

// Registers every route the binary serves. `deps` is used only when a request arrives, so the
// table can be built without a store or services (for `bulwark routes`). The local overlay is
// registered only when `local_overlay` is true (dev mode with the overlay on).
struct RouteDeps {
  api::OpsDeps ops;
  api::ReceiptRouteDeps receipts;
  api::IdentityRouteDeps identity;
};
Status RegisterRoutes(http::Router& router, const RouteDeps& deps, bool local_overlay);

// `bulwark routes [--dev]`: the route table, one JSON object per line:
//   {"method":"GET","path":"/metrics","auth":"internal","permission":"","summary":"..."}
int PrintRoutes(bool dev, std::ostream& out);

// `bulwark tenant create --name N --owner EMAIL`: bootstraps a tenant and its first owner (the
// only way a first account comes to exist), recorded in the audit ledger as tenant.create.
// Prints {"tenant_id","name","owner_user_id"}; returns 0, 1 on a refusal (name taken, bad
// email), 78 when the configuration or store cannot be opened.
int TenantCreate(const core::ConfigSources& sources, const std::string& name,
                 const std::string& owner, std::ostream& out);

// `bulwark config check`: prints every problem to `out`; returns 0 when the configured mode
// would start, 1 when it would refuse.
int ConfigCheck(const core::ConfigSources& sources, std::ostream& out);

}  // namespace bulwark::app

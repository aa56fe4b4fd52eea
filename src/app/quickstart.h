#pragma once
// `bulwark dev quickstart --dev`: the first ten minutes in one command. In dev mode only, it
// leaves a newcomer able to write and read a secret at once: a tenant and its owner, a path
// policy over `dev/*` attached to the owner, and an API key (secrets.read, secrets.write,
// secrets.list) bound to that policy. It works on the store directly, as `tenant create` does,
// beside a running dev server or before one starts.
//
//   eval "$(bulwark dev quickstart --dev)"
//   curl -s -XPOST "$VAULT_ADDR/v1/secret/data/dev/hello" -H "X-Vault-Token: $VAULT_TOKEN" ...
//
// VAULT_ADDR is server.public_url, else http:// and the listen address (--listen, as the dev
// server's banner prints it when the server is not on 127.0.0.1:8420).
//
// Results on stdout, as shell `export` lines (VAULT_ADDR, VAULT_TOKEN, VAULT_NAMESPACE,
// BULWARK_OWNER): the API key appears there once, as `POST /api/v1/apikeys` shows it once; the
// ledger and every log line name it by id only. Notes (what was created or reused, how to get an
// access token, the next three commands) on stderr.
//
// Re-running is idempotent: the tenant, its owner, the policy and its attachments are reused as
// they are, and a new key is issued (a key is shown once only and cannot be shown again; the
// earlier ones stay valid until revoked). Everything the run writes (the tenant if new, the
// policy, the attachments, the key, its apikey.create receipt and one dev.quickstart ledger
// entry) commits in one transaction: a refusal writes nothing.
//
// Exit codes: 0 done; 1 refused, nothing written: not in dev mode (production is the default
// and `--dev` is how dev mode is chosen, as for every command), a tenant of that name whose owner
// is not the given address, a policy of that name with other rules, a bad name or address;
// 78 the configuration or store cannot be opened.
#include <iosfwd>
#include <string>
#include <string_view>

#include "config/config.h"

namespace bulwark::app {

struct QuickstartOptions {
  std::string tenant = "dev";
  std::string owner = "owner@dev.test";
};

// The policy the quickstart writes and attaches, and its one rule.
inline constexpr std::string_view kQuickstartPolicy = "quickstart-dev";
inline constexpr std::string_view kQuickstartPattern = "dev/*";
inline constexpr std::string_view kQuickstartKeyName = "quickstart";

// The address clients reach the server at: server.public_url (without a trailing '/'), else
// http(s):// and `listen` (the configured listen address by default), a wildcard host given as
// loopback.
std::string ClientAddress(const config::Config& config);
std::string ClientAddress(const config::Config& config, std::string_view listen);

// What `serve --dev` prints on stderr once it listens, for a person (as Vault's -dev server
// does): the address to export and the quickstart command for this binary and data directory.
void PrintDevWelcome(std::ostream& err, const config::Config& config,
                     const config::ConfigSources& sources, std::string_view bound_address);

int DevQuickstart(const config::ConfigSources& sources, const QuickstartOptions& options,
                  std::ostream& out, std::ostream& err);

}  // namespace bulwark::app

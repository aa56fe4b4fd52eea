#pragma once
// A tenant's OpenID Connect connections: which identity provider its members sign in with, how
// the provider's claims are checked, and how its groups become Bulwark roles.
//
// A connection has a preset that fixes what is checked besides the ID token's signature and
// standard claims (the flow, sso/flow, does the checking; this holds the settings):
//   google   issuer https://accounts.google.com; `hd_values` (required): the Workspace domains
//            whose ID tokens are accepted, compared with the token's `hd` claim (never a request
//            parameter); `email_verified` must be true.
//   entra    issuer https://login.microsoftonline.com/{tenantid}/v2.0 (the template; "{tenantid}"
//            stands for the token's `tid`) or one tenant's issuer; `entra_tenants` (required): the
//            allowlist of Entra tenant ids (GUIDs); accounts are keyed by tid+oid; a groups
//            overage claim is recorded and maps to no role.
//   okta     issuer of the Okta org or authorization server; `groups_claim` names the claim.
//   generic  any issuer; `groups_claim` names the claim.
// Every connection has scopes (which must include "openid"), a group-to-role mapping
// (sso/role_mapping.h), allowed email domains (a sign-in's email domain must be one of them
// AND verified by the tenant, sso/domains.h), whether the provider sends back-channel logout,
// and the longest life of a session it starts (max_session_s; without back-channel logout, at
// most the configured `sso.max_session_without_backchannel_s`, which is also its default).
//
// The client secret is sealed with AES-256-GCM under a per-tenant data key the keyring wraps
// ("sso-client-secret:<tenant>", purpose "sso_client_secret"), AAD
//   "bulwark-sso-client-secret-v1" 0x00 tenant 0x00 connection id 0x00 key id
// so a sealed secret moved to another tenant or connection fails to open. No function returns it
// except ClientSecret (for the token endpoint call); it is never in Connection, ConnectionJson,
// a receipt, a ledger record or a log.
//
// Changes (Create, Update, Delete) run in the caller's write transaction and issue an
// "idp.config_change" receipt in it (fields: change, connection_id, preset, issuer, client_id,
// enabled, client_secret_changed, changed_by — changed_by redacted to a commitment), returning
// what the caller's ledger record should carry (ConfigChange). The caller commits both with the
// record (api/recorded_commit.h).
//
//   ConnectionService svc(keyring, receipts, limits);
//   BULWARK_ASSIGN_OR_RETURN(ConnectionInput in, svc.ParseInput(json, /*creating=*/true));
//   BULWARK_ASSIGN_OR_RETURN(ConfigChange c, svc.Create(tx, tenant, actor_user_id, std::move(in), now));
//   // in the flow:
//   BULWARK_ASSIGN_OR_RETURN(std::optional<Connection> conn, svc.Get(tx, tenant, id));
//   BULWARK_ASSIGN_OR_RETURN(crypto::SecretBytes secret, svc.ClientSecret(tx, *conn));
//
// Errors: kInvalidArgument with a stable reason for bad input (see ParseInput); kNotFound
// "connection_not_found" (also for another tenant's connection); kConflict "connection_exists"
// (the tenant has a connection of that issuer), "too_many_connections"; kIntegrity when a stored
// row or sealed secret fails its check; store and keyring errors as they are.
//
// Thread-safety: ConnectionService holds only references to thread-safe services and its limits;
// any number of threads may call it, each with its own transaction.
#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "crypto/secret_bytes.h"
#include "keyring/keyring.h"
#include "receipts/service.h"
#include "sso/id_token.h"
#include "sso/role_mapping.h"
#include "store/store.h"

namespace bulwark::sso {

enum class Preset { kGoogle, kEntra, kOkta, kGeneric };
// "google", "entra", "okta", "generic".
std::string_view PresetName(Preset p);
std::optional<Preset> ParsePreset(std::string_view name);

inline constexpr std::string_view kGoogleIssuer = "https://accounts.google.com";
inline constexpr std::string_view kEntraIssuerTemplate =
    "https://login.microsoftonline.com/{tenantid}/v2.0";
// kTenantIdPlaceholder ("{tenantid}") comes from sso/id_token.h (one definition for both).
inline constexpr std::size_t kMaxConnectionsPerTenant = 20;

struct Connection {
  std::string id;  // "idp_" + 24 hex
  std::string tenant_id;
  Preset preset = Preset::kGeneric;
  std::string issuer;  // for entra possibly the "{tenantid}" template
  std::string client_id;
  std::vector<std::string> scopes;           // includes "openid"
  GroupRoleMap role_map;
  std::vector<std::string> allowed_domains;  // lower case, exact
  std::vector<std::string> hd_values;        // google only: accepted `hd` claims, lower case
  std::vector<std::string> entra_tenants;    // entra only: accepted `tid`s, lower case GUIDs
  std::string groups_claim = "groups";       // the ID token claim holding the groups
  bool backchannel_logout = false;
  std::int64_t max_session_s = 0;  // longest life of a session from this connection
  bool enabled = true;
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
  std::string updated_by;  // user id
};

// The public form of a connection (never its secret): what the admin routes return.
boost::json::object ConnectionJson(const Connection& c);

// What a create or an update sets: every field of a connection (an update replaces them all)
// and the client secret, required on create and optional on update (absent: kept).
struct ConnectionInput {
  Connection fields;  // id, tenant_id and the times are ignored
  std::optional<crypto::SecretBytes> client_secret;
};

struct ConnectionLimits {
  // The most (and default) max_session_s of a connection without back-channel logout.
  std::int64_t max_session_without_backchannel_s = 8 * 3600;
  // The most (and default) max_session_s of one with it.
  std::int64_t max_session_s = 7 * 24 * 3600;
};

// What a change's ledger record carries (never the secret).
struct ConfigChange {
  Connection connection;  // after the change (for a delete: as it was)
  std::string receipt_id;
  bool client_secret_changed = false;
};

class ConnectionService {
 public:
  ConnectionService(const keyring::Keyring& keys, const receipts::ReceiptService& receipts,
                    ConnectionLimits limits)
      : keys_(keys), receipts_(receipts), limits_(limits) {}

  // Parses a create (creating) or replace body:
  //   {"preset", "issuer", "client_id", "client_secret", "scopes", "role_mapping",
  //    "allowed_domains", "hd_values", "entra_tenants", "groups_claim", "backchannel_logout",
  //    "max_session_s", "enabled"}
  // preset and client_id and allowed_domains required; client_secret required when creating;
  // issuer required for okta and generic (google and entra have their defaults). Unknown keys
  // are refused. kInvalidArgument reasons: "invalid_body", "invalid_preset", "invalid_issuer",
  // "invalid_client_id", "invalid_client_secret", "invalid_scopes" (no "openid" among them,
  // too many, bad characters), "invalid_domain", "hd_required", "entra_tenants_required",
  // "invalid_entra_tenant", "invalid_groups_claim", "invalid_max_session", and those of
  // ParseGroupRoleMap.
  StatusOr<ConnectionInput> ParseInput(const boost::json::value& body, bool creating) const;

  StatusOr<ConfigChange> Create(store::Transaction& tx, std::string_view tenant_id,
                                std::string_view actor_user_id, ConnectionInput input,
                                std::int64_t now) const;
  // Replaces every field of connection `id` of the tenant; the secret only when given.
  StatusOr<ConfigChange> Update(store::Transaction& tx, std::string_view tenant_id,
                                std::string_view id, std::string_view actor_user_id,
                                ConnectionInput input, std::int64_t now) const;
  StatusOr<ConfigChange> Delete(store::Transaction& tx, std::string_view tenant_id,
                                std::string_view id, std::string_view actor_user_id,
                                std::int64_t now) const;

  // The tenant's connection `connection_id`, or nullopt (also for another tenant's).
  StatusOr<std::optional<Connection>> Get(store::Transaction& tx, std::string_view tenant_id,
                                          std::string_view connection_id) const;
  // The tenant's connections, oldest first.
  StatusOr<std::vector<Connection>> List(store::Transaction& tx, std::string_view tenant_id) const;
  // Issues the idp.config_change receipt of another SSO change of the tenant (a domain verified
  // or removed, require_sso switched) inside `tx`: `fields` (names [a-z0-9_], never a secret)
  // plus "changed_by" (redacted to a commitment). Returns the receipt id; errors as
  // ReceiptService::Issue.
  StatusOr<std::string> IssueChangeReceipt(store::Transaction& tx, std::string_view tenant_id,
                                           boost::json::object fields,
                                           std::string_view actor_user_id) const;
  // Opens the connection's sealed client secret (for the token endpoint call only; never shown).
  // kIntegrity if it does not open; kNotFound "connection_not_found" if the row is gone.
  // `tx` may be a read transaction once the tenant's key exists (it does once a secret is sealed).
  StatusOr<crypto::SecretBytes> ClientSecret(store::Transaction& tx, const Connection& c) const;

 private:
  StatusOr<std::vector<std::uint8_t>> Seal(store::Transaction& tx, const Connection& c,
                                           const crypto::SecretBytes& secret,
                                           std::string& key_id) const;
  StatusOr<std::string> IssueReceipt(store::Transaction& tx, std::string_view change,
                                     const Connection& c, bool secret_changed,
                                     std::string_view actor_user_id) const;

  const keyring::Keyring& keys_;
  const receipts::ReceiptService& receipts_;
  ConnectionLimits limits_;
};

// The union of a tenant's enabled connections' group-to-role mappings (sso/role_mapping.h's
// GroupRoleSource): every entry of each (a group mapped by two connections keeps the higher
// role) and the highest default among them. Thread-safe: stateless.
class ConnectionRoleSource final : public GroupRoleSource {
 public:
  StatusOr<GroupRoleMap> ForTenant(store::Transaction& tx,
                                   std::string_view tenant_id) const override;
};

}  // namespace bulwark::sso

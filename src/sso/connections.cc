#include "sso/connections.h"

#include <algorithm>

#include "crypto/aead.h"
#include "crypto/hash.h"
#include "identity/tokens.h"
#include "sso/admin_store.h"

namespace bulwark::sso {
namespace {

namespace json = boost::json;

constexpr std::string_view kSecretAadLabel = "bulwark-sso-client-secret-v1";
constexpr std::string_view kSecretKeyPurpose = "sso_client_secret";

json::array JsonStrings(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

// What a connection holds beyond its columns: the settings column, and part of ConnectionJson.
json::object SettingsJson(const Connection& c) {
  return json::object{{"scopes", JsonStrings(c.scopes)},
                      {"role_mapping", GroupRoleMapJson(c.role_map)},
                      {"allowed_domains", JsonStrings(c.allowed_domains)},
                      {"hd_values", JsonStrings(c.hd_values)},
                      {"entra_tenants", JsonStrings(c.entra_tenants)},
                      {"groups_claim", c.groups_claim},
                      {"backchannel_logout", c.backchannel_logout},
                      {"max_session_s", c.max_session_s}};
}

admin_store::ConnectionRow RowOf(const Connection& c) {
  return admin_store::ConnectionRow{.id = c.id,
                                    .tenant_id = c.tenant_id,
                                    .preset = std::string(PresetName(c.preset)),
                                    .issuer = c.issuer,
                                    .client_id = c.client_id,
                                    .settings = json::serialize(SettingsJson(c)),
                                    .enabled = c.enabled,
                                    .created_at = c.created_at,
                                    .updated_at = c.updated_at,
                                    .updated_by = c.updated_by};
}

// A stored row back to a connection; anything that does not parse was altered outside Bulwark.
StatusOr<Connection> FromRow(const admin_store::ConnectionRow& r) {
  const auto damaged = [] { return Status::Integrity("a stored SSO connection is malformed"); };
  Connection c{.id = r.id,
               .tenant_id = r.tenant_id,
               .issuer = r.issuer,
               .client_id = r.client_id,
               .enabled = r.enabled,
               .created_at = r.created_at,
               .updated_at = r.updated_at,
               .updated_by = r.updated_by};
  const std::optional<Preset> preset = ParsePreset(r.preset);
  if (!preset) return damaged();
  c.preset = *preset;
  boost::system::error_code ec;
  const json::value v = json::parse(r.settings, ec);
  const json::object* o = v.if_object();
  if (ec || o == nullptr) return damaged();
  try {
    for (auto [key, dest] : {std::pair{"scopes", &c.scopes},
                             std::pair{"allowed_domains", &c.allowed_domains},
                             std::pair{"hd_values", &c.hd_values},
                             std::pair{"entra_tenants", &c.entra_tenants}}) {
      for (const json::value& item : o->at(key).as_array()) {
        dest->emplace_back(item.as_string());  // throws (damaged) on anything but a string
      }
    }
    auto map = ParseGroupRoleMap(o->at("role_mapping"));
    if (!map.ok()) return damaged();
    c.role_map = std::move(*map);
    c.groups_claim = std::string(o->at("groups_claim").as_string());
    c.backchannel_logout = o->at("backchannel_logout").as_bool();
    c.max_session_s = o->at("max_session_s").as_int64();
  } catch (const std::exception&) {
    return damaged();
  }
  return c;
}

std::string SecretKeyId(std::string_view tenant) {
  return "sso-client-secret:" + std::string(tenant);
}

std::string SecretAad(std::string_view tenant, std::string_view connection_id,
                      std::string_view key_id) {
  std::string aad(kSecretAadLabel);
  for (std::string_view part : {tenant, connection_id, key_id}) {
    aad.push_back('\0');
    aad.append(part);
  }
  return aad;
}

Status NotFound() { return Status::NotFound("connection_not_found", "no such SSO connection"); }

}  // namespace

std::string_view PresetName(Preset p) {
  switch (p) {
    case Preset::kGoogle:
      return "google";
    case Preset::kEntra:
      return "entra";
    case Preset::kOkta:
      return "okta";
    case Preset::kGeneric:
      return "generic";
  }
  return "generic";
}

std::optional<Preset> ParsePreset(std::string_view name) {
  for (Preset p : {Preset::kGoogle, Preset::kEntra, Preset::kOkta, Preset::kGeneric}) {
    if (PresetName(p) == name) return p;
  }
  return std::nullopt;
}

json::object ConnectionJson(const Connection& c) {
  json::object o{{"id", c.id},
                 {"preset", PresetName(c.preset)},
                 {"issuer", c.issuer},
                 {"client_id", c.client_id}};
  for (auto& [key, value] : SettingsJson(c)) o[key] = std::move(value);
  o["enabled"] = c.enabled;
  o["created_at"] = c.created_at;
  o["updated_at"] = c.updated_at;
  o["updated_by"] = c.updated_by;
  return o;
}

StatusOr<std::vector<std::uint8_t>> ConnectionService::Seal(store::Transaction& tx,
                                                           const Connection& c,
                                                           const crypto::SecretBytes& secret,
                                                           std::string& key_id) const {
  key_id = SecretKeyId(c.tenant_id);
  BULWARK_ASSIGN_OR_RETURN(crypto::SecretBytes key,
                           keys_.GetOrCreateKey(tx, key_id, kSecretKeyPurpose, 32));
  const std::string aad = SecretAad(c.tenant_id, c.id, key_id);
  return crypto::SealRandomNonce(key, secret.reveal_span(), crypto::AsBytes(aad));
}

StatusOr<std::string> ConnectionService::IssueReceipt(store::Transaction& tx,
                                                      std::string_view change, const Connection& c,
                                                      bool secret_changed,
                                                      std::string_view actor_user_id) const {
  return IssueChangeReceipt(tx, c.tenant_id,
                            json::object{{"change", change},
                                         {"connection_id", c.id},
                                         {"preset", PresetName(c.preset)},
                                         {"issuer", c.issuer},
                                         {"client_id", c.client_id},
                                         {"enabled", c.enabled},
                                         {"client_secret_changed", secret_changed}},
                            actor_user_id);
}

StatusOr<std::string> ConnectionService::IssueChangeReceipt(store::Transaction& tx,
                                                            std::string_view tenant_id,
                                                            json::object fields,
                                                            std::string_view actor_user_id) const {
  fields["changed_by"] = actor_user_id;
  BULWARK_ASSIGN_OR_RETURN(
      receipts::Receipt r,
      receipts_.Issue(tx, tenant_id, receipts::kind::kIdpConfigChange, fields, {"changed_by"}));
  return r.id;
}

StatusOr<ConfigChange> ConnectionService::Create(store::Transaction& tx,
                                                 std::string_view tenant_id,
                                                 std::string_view actor_user_id,
                                                 ConnectionInput input, std::int64_t now) const {
  if (!input.client_secret) {
    return Status::InvalidArgument("invalid_client_secret", "client_secret is required");
  }
  Connection c = std::move(input.fields);
  c.tenant_id = std::string(tenant_id);
  BULWARK_ASSIGN_OR_RETURN(auto existing, admin_store::SelectConnections(tx, tenant_id));
  if (existing.size() >= kMaxConnectionsPerTenant) {
    return Status::Conflict("too_many_connections", "a tenant has at most 20 SSO connections");
  }
  BULWARK_ASSIGN_OR_RETURN(bool taken, admin_store::IssuerTaken(tx, tenant_id, c.issuer, ""));
  if (taken) return Status::Conflict("connection_exists", "a connection of this issuer exists");
  BULWARK_ASSIGN_OR_RETURN(c.id, identity::NewId("idp_"));
  c.created_at = c.updated_at = now;
  c.updated_by = std::string(actor_user_id);
  std::string key_id;
  BULWARK_ASSIGN_OR_RETURN(auto sealed, Seal(tx, c, *input.client_secret, key_id));
  BULWARK_RETURN_IF_ERROR(admin_store::InsertConnection(tx, RowOf(c), sealed, key_id));
  BULWARK_ASSIGN_OR_RETURN(std::string receipt, IssueReceipt(tx, "create", c, true, actor_user_id));
  return ConfigChange{.connection = std::move(c), .receipt_id = std::move(receipt),
                      .client_secret_changed = true};
}

StatusOr<ConfigChange> ConnectionService::Update(store::Transaction& tx,
                                                 std::string_view tenant_id, std::string_view id,
                                                 std::string_view actor_user_id,
                                                 ConnectionInput input, std::int64_t now) const {
  BULWARK_ASSIGN_OR_RETURN(std::optional<Connection> old, Get(tx, tenant_id, id));
  if (!old) return NotFound();
  Connection c = std::move(input.fields);
  c.id = old->id;
  c.tenant_id = old->tenant_id;
  c.created_at = old->created_at;
  c.updated_at = now;
  c.updated_by = std::string(actor_user_id);
  BULWARK_ASSIGN_OR_RETURN(bool taken, admin_store::IssuerTaken(tx, tenant_id, c.issuer, c.id));
  if (taken) return Status::Conflict("connection_exists", "a connection of this issuer exists");
  std::string key_id;
  std::optional<std::vector<std::uint8_t>> sealed;
  if (input.client_secret) {
    BULWARK_ASSIGN_OR_RETURN(sealed, Seal(tx, c, *input.client_secret, key_id));
  }
  BULWARK_ASSIGN_OR_RETURN(
      bool changed,
      admin_store::UpdateConnection(tx, RowOf(c), sealed ? &*sealed : nullptr, key_id));
  if (!changed) return NotFound();
  const bool secret_changed = input.client_secret.has_value();
  BULWARK_ASSIGN_OR_RETURN(std::string receipt,
                           IssueReceipt(tx, "update", c, secret_changed, actor_user_id));
  return ConfigChange{.connection = std::move(c), .receipt_id = std::move(receipt),
                      .client_secret_changed = secret_changed};
}

StatusOr<ConfigChange> ConnectionService::Delete(store::Transaction& tx,
                                                 std::string_view tenant_id, std::string_view id,
                                                 std::string_view actor_user_id,
                                                 std::int64_t) const {
  BULWARK_ASSIGN_OR_RETURN(std::optional<Connection> old, Get(tx, tenant_id, id));
  if (!old) return NotFound();
  BULWARK_ASSIGN_OR_RETURN(bool deleted, admin_store::DeleteConnection(tx, tenant_id, id));
  if (!deleted) return NotFound();
  BULWARK_ASSIGN_OR_RETURN(std::string receipt,
                           IssueReceipt(tx, "delete", *old, false, actor_user_id));
  return ConfigChange{.connection = std::move(*old), .receipt_id = std::move(receipt)};
}

StatusOr<std::optional<Connection>> ConnectionService::Get(store::Transaction& tx,
                                                           std::string_view tenant_id,
                                                           std::string_view connection_id) const {
  BULWARK_ASSIGN_OR_RETURN(auto row, admin_store::SelectConnection(tx, tenant_id, connection_id));
  if (!row) return std::optional<Connection>();
  BULWARK_ASSIGN_OR_RETURN(Connection c, FromRow(*row));
  return std::optional<Connection>(std::move(c));
}

StatusOr<std::vector<Connection>> ConnectionService::List(store::Transaction& tx,
                                                          std::string_view tenant_id) const {
  BULWARK_ASSIGN_OR_RETURN(auto rows, admin_store::SelectConnections(tx, tenant_id));
  std::vector<Connection> out;
  for (const auto& r : rows) {
    BULWARK_ASSIGN_OR_RETURN(Connection c, FromRow(r));
    out.push_back(std::move(c));
  }
  return out;
}

StatusOr<crypto::SecretBytes> ConnectionService::ClientSecret(store::Transaction& tx,
                                                              const Connection& c) const {
  BULWARK_ASSIGN_OR_RETURN(auto sealed, admin_store::SelectSealedSecret(tx, c.tenant_id, c.id));
  if (!sealed) return NotFound();
  BULWARK_ASSIGN_OR_RETURN(crypto::SecretBytes key,
                           keys_.GetOrCreateKey(tx, sealed->key_id, kSecretKeyPurpose, 32));
  const std::string aad = SecretAad(c.tenant_id, c.id, sealed->key_id);
  auto plain = crypto::OpenRandomNonce(key, sealed->sealed, crypto::AsBytes(aad));
  if (!plain.ok()) return Status::Integrity("an SSO client secret failed its integrity check");
  return std::move(*plain);
}

StatusOr<GroupRoleMap> ConnectionRoleSource::ForTenant(store::Transaction& tx,
                                                       std::string_view tenant_id) const {
  BULWARK_ASSIGN_OR_RETURN(auto rows, admin_store::SelectConnections(tx, tenant_id));
  GroupRoleMap out;
  for (const auto& r : rows) {
    if (!r.enabled) continue;
    BULWARK_ASSIGN_OR_RETURN(Connection c, FromRow(r));
    for (const GroupRole& e : c.role_map.entries) {
      auto same = std::find_if(out.entries.begin(), out.entries.end(),
                               [&](const GroupRole& x) { return x.group == e.group; });
      if (same == out.entries.end()) {
        out.entries.push_back(e);
      } else if (policy::RoleRank(e.role) > policy::RoleRank(same->role)) {
        same->role = e.role;
      }
    }
    if (c.role_map.default_role &&
        (!out.default_role ||
         policy::RoleRank(*c.role_map.default_role) > policy::RoleRank(*out.default_role))) {
      out.default_role = c.role_map.default_role;
    }
  }
  return out;
}

}  // namespace bulwark::sso

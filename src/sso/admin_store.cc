#include "sso/admin_store.h"

namespace bulwark::sso::admin_store {
namespace {

using store::Value;

Value Text(std::string_view s) { return Value::Text(std::string(s)); }

constexpr std::string_view kConnectionColumns =
    "id, tenant_id, preset, issuer, client_id, settings, enabled, created_at, updated_at, "
    "updated_by";

ConnectionRow ConnectionOf(const store::Row& r) {
  return ConnectionRow{.id = r[0].as_text(),
                       .tenant_id = r[1].as_text(),
                       .preset = r[2].as_text(),
                       .issuer = r[3].as_text(),
                       .client_id = r[4].as_text(),
                       .settings = r[5].as_text(),
                       .enabled = r[6].as_int() != 0,
                       .created_at = r[7].as_int(),
                       .updated_at = r[8].as_int(),
                       .updated_by = r[9].as_text()};
}

DomainRow DomainOf(const store::Row& r) {
  DomainRow d{.tenant_id = r[0].as_text(),
              .domain = r[1].as_text(),
              .token = r[2].as_text(),
              .created_at = r[3].as_int()};
  if (!r[4].is_null()) d.verified_at = r[4].as_int();
  return d;
}

constexpr std::string_view kDomainColumns = "tenant_id, domain, token, created_at, verified_at";

}  // namespace

Status InsertConnection(store::Transaction& tx, const ConnectionRow& row,
                        const std::vector<std::uint8_t>& sealed_secret, std::string_view key_id) {
  return tx
      .Exec("INSERT INTO sso_connections(id, tenant_id, preset, issuer, client_id, settings, "
            "enabled, created_at, updated_at, updated_by, client_secret_sealed, secret_key_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            {Text(row.id), Text(row.tenant_id), Text(row.preset), Text(row.issuer),
             Text(row.client_id), Text(row.settings), Value::Int(row.enabled ? 1 : 0),
             Value::Int(row.created_at), Value::Int(row.updated_at), Text(row.updated_by),
             Value::Bytes(sealed_secret), Text(key_id)})
      .status();
}

StatusOr<bool> UpdateConnection(store::Transaction& tx, const ConnectionRow& row,
                                const std::vector<std::uint8_t>* sealed_secret,
                                std::string_view key_id) {
  BULWARK_ASSIGN_OR_RETURN(
      std::int64_t n,
      tx.Exec("UPDATE sso_connections SET preset = ?, issuer = ?, client_id = ?, settings = ?, "
              "enabled = ?, updated_at = ?, updated_by = ? WHERE tenant_id = ? AND id = ?",
              {Text(row.preset), Text(row.issuer), Text(row.client_id), Text(row.settings),
               Value::Int(row.enabled ? 1 : 0), Value::Int(row.updated_at), Text(row.updated_by),
               Text(row.tenant_id), Text(row.id)}));
  if (n == 0 || sealed_secret == nullptr) return n > 0;
  BULWARK_RETURN_IF_ERROR(
      tx.Exec("UPDATE sso_connections SET client_secret_sealed = ?, secret_key_id = ? "
              "WHERE tenant_id = ? AND id = ?",
              {Value::Bytes(*sealed_secret), Text(key_id), Text(row.tenant_id), Text(row.id)})
          .status());
  return true;
}

StatusOr<bool> DeleteConnection(store::Transaction& tx, std::string_view tenant_id,
                                std::string_view id) {
  BULWARK_ASSIGN_OR_RETURN(std::int64_t n,
                           tx.Exec("DELETE FROM sso_connections WHERE tenant_id = ? AND id = ?",
                                   {Text(tenant_id), Text(id)}));
  return n > 0;
}

StatusOr<std::optional<ConnectionRow>> SelectConnection(store::Transaction& tx,
                                                        std::string_view tenant_id,
                                                        std::string_view id) {
  BULWARK_ASSIGN_OR_RETURN(
      auto rows, tx.Query("SELECT " + std::string(kConnectionColumns) +
                              " FROM sso_connections WHERE tenant_id = ? AND id = ?",
                          {Text(tenant_id), Text(id)}));
  if (rows.empty()) return std::optional<ConnectionRow>();
  return std::optional<ConnectionRow>(ConnectionOf(rows[0]));
}

StatusOr<std::vector<ConnectionRow>> SelectConnections(store::Transaction& tx,
                                                       std::string_view tenant_id) {
  BULWARK_ASSIGN_OR_RETURN(
      auto rows, tx.Query("SELECT " + std::string(kConnectionColumns) +
                              " FROM sso_connections WHERE tenant_id = ? ORDER BY created_at, id",
                          {Text(tenant_id)}));
  std::vector<ConnectionRow> out;
  for (const auto& r : rows) out.push_back(ConnectionOf(r));
  return out;
}

StatusOr<bool> IssuerTaken(store::Transaction& tx, std::string_view tenant_id,
                           std::string_view issuer, std::string_view except_id) {
  BULWARK_ASSIGN_OR_RETURN(
      auto rows, tx.Query("SELECT 1 FROM sso_connections WHERE tenant_id = ? AND issuer = ? "
                          "AND id <> ?",
                          {Text(tenant_id), Text(issuer), Text(except_id)}));
  return !rows.empty();
}

StatusOr<std::optional<SealedSecret>> SelectSealedSecret(store::Transaction& tx,
                                                         std::string_view tenant_id,
                                                         std::string_view id) {
  BULWARK_ASSIGN_OR_RETURN(
      auto rows, tx.Query("SELECT client_secret_sealed, secret_key_id FROM sso_connections "
                          "WHERE tenant_id = ? AND id = ?",
                          {Text(tenant_id), Text(id)}));
  if (rows.empty()) return std::optional<SealedSecret>();
  return std::optional<SealedSecret>(
      SealedSecret{.sealed = rows[0][0].as_bytes(), .key_id = rows[0][1].as_text()});
}

Status InsertDomain(store::Transaction& tx, const DomainRow& row) {
  return tx
      .Exec("INSERT INTO sso_domains(tenant_id, domain, token, created_at) VALUES (?, ?, ?, ?)",
            {Text(row.tenant_id), Text(row.domain), Text(row.token), Value::Int(row.created_at)})
      .status();
}

StatusOr<std::optional<DomainRow>> SelectDomain(store::Transaction& tx, std::string_view tenant_id,
                                                std::string_view domain) {
  BULWARK_ASSIGN_OR_RETURN(auto rows,
                           tx.Query("SELECT " + std::string(kDomainColumns) +
                                        " FROM sso_domains WHERE tenant_id = ? AND domain = ?",
                                    {Text(tenant_id), Text(domain)}));
  if (rows.empty()) return std::optional<DomainRow>();
  return std::optional<DomainRow>(DomainOf(rows[0]));
}

StatusOr<std::vector<DomainRow>> SelectDomains(store::Transaction& tx, std::string_view tenant_id) {
  BULWARK_ASSIGN_OR_RETURN(
      auto rows, tx.Query("SELECT " + std::string(kDomainColumns) +
                              " FROM sso_domains WHERE tenant_id = ? ORDER BY domain",
                          {Text(tenant_id)}));
  std::vector<DomainRow> out;
  for (const auto& r : rows) out.push_back(DomainOf(r));
  return out;
}

StatusOr<std::int64_t> CountDomains(store::Transaction& tx, std::string_view tenant_id) {
  BULWARK_ASSIGN_OR_RETURN(
      auto rows, tx.Query("SELECT COUNT(*) FROM sso_domains WHERE tenant_id = ?", {Text(tenant_id)}));
  return rows[0][0].as_int();
}

Status MarkDomainVerified(store::Transaction& tx, std::string_view tenant_id,
                          std::string_view domain, std::int64_t now) {
  return tx
      .Exec("UPDATE sso_domains SET verified_at = ? WHERE tenant_id = ? AND domain = ?",
            {Value::Int(now), Text(tenant_id), Text(domain)})
      .status();
}

StatusOr<bool> DeleteDomain(store::Transaction& tx, std::string_view tenant_id,
                            std::string_view domain) {
  BULWARK_ASSIGN_OR_RETURN(std::int64_t n,
                           tx.Exec("DELETE FROM sso_domains WHERE tenant_id = ? AND domain = ?",
                                   {Text(tenant_id), Text(domain)}));
  return n > 0;
}

StatusOr<std::int64_t> ReleaseDeletedTenantsClaims(store::Transaction& tx, std::string_view domain) {
  return tx.Exec("DELETE FROM sso_domains WHERE domain = ? AND tenant_id IN "
                 "(SELECT id FROM tenants WHERE deleted_at IS NOT NULL)",
                 {Text(domain)});
}

StatusOr<bool> VerifiedElsewhere(store::Transaction& tx, std::string_view tenant_id,
                                 std::string_view domain) {
  BULWARK_ASSIGN_OR_RETURN(
      auto rows, tx.Query("SELECT 1 FROM sso_domains WHERE domain = ? AND tenant_id <> ? AND "
                          "verified_at IS NOT NULL",
                          {Text(domain), Text(tenant_id)}));
  return !rows.empty();
}

StatusOr<std::optional<IdentityRow>> SelectIdentity(store::Transaction& tx,
                                                    std::string_view issuer,
                                                    std::string_view subject) {
  BULWARK_ASSIGN_OR_RETURN(
      auto rows, tx.Query("SELECT issuer, subject, user_id, connection_id, email FROM "
                          "sso_identities WHERE issuer = ? AND subject = ?",
                          {Text(issuer), Text(subject)}));
  if (rows.empty()) return std::optional<IdentityRow>();
  const auto& r = rows[0];
  return std::optional<IdentityRow>(IdentityRow{.issuer = r[0].as_text(),
                                                .subject = r[1].as_text(),
                                                .user_id = r[2].as_text(),
                                                .connection_id = r[3].as_text(),
                                                .email = r[4].as_text()});
}

Status InsertIdentity(store::Transaction& tx, const IdentityRow& row, std::int64_t now) {
  return tx
      .Exec("INSERT INTO sso_identities(issuer, subject, user_id, connection_id, email, "
            "created_at, last_sign_in_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            {Text(row.issuer), Text(row.subject), Text(row.user_id), Text(row.connection_id),
             Text(row.email), Value::Int(now), Value::Int(now)})
      .status();
}

Status TouchIdentity(store::Transaction& tx, std::string_view issuer, std::string_view subject,
                     std::string_view email, std::int64_t now) {
  return tx
      .Exec("UPDATE sso_identities SET email = ?, last_sign_in_at = ? WHERE issuer = ? AND "
            "subject = ?",
            {Text(email), Value::Int(now), Text(issuer), Text(subject)})
      .status();
}

StatusOr<std::optional<UserRow>> SelectUserByEmail(store::Transaction& tx, std::string_view email) {
  BULWARK_ASSIGN_OR_RETURN(
      auto rows, tx.Query("SELECT id, disabled FROM users WHERE email = ?", {Text(email)}));
  if (rows.empty()) return std::optional<UserRow>();
  return std::optional<UserRow>(
      UserRow{.id = rows[0][0].as_text(), .disabled = rows[0][1].as_int() != 0});
}

StatusOr<std::optional<UserRow>> SelectUser(store::Transaction& tx, std::string_view user_id) {
  BULWARK_ASSIGN_OR_RETURN(
      auto rows, tx.Query("SELECT id, disabled FROM users WHERE id = ?", {Text(user_id)}));
  if (rows.empty()) return std::optional<UserRow>();
  return std::optional<UserRow>(
      UserRow{.id = rows[0][0].as_text(), .disabled = rows[0][1].as_int() != 0});
}

StatusOr<bool> RequireSso(store::Transaction& tx, std::string_view tenant_id) {
  BULWARK_ASSIGN_OR_RETURN(
      auto rows, tx.Query("SELECT require_sso FROM tenants WHERE id = ? AND deleted_at IS NULL",
                          {Text(tenant_id)}));
  if (rows.empty()) return Status::NotFound("tenant_not_found", "no such tenant");
  return rows[0][0].as_int() != 0;
}

Status SetRequireSso(store::Transaction& tx, std::string_view tenant_id, bool on) {
  return tx
      .Exec("UPDATE tenants SET require_sso = ? WHERE id = ?",
            {Value::Int(on ? 1 : 0), Text(tenant_id)})
      .status();
}

}  // namespace bulwark::sso::admin_store

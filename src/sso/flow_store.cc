#include "sso/flow_store.h"

#include "crypto/hash.h"

namespace bulwark::sso::flow_store {
namespace {
using store::Value;
}  // namespace

Status LinkSession(store::Transaction& tx, const SessionLink& link, std::int64_t now) {
  return tx
      .Exec("INSERT INTO sso_session_links(session_id, tenant_id, connection_id, subject, "
            "idp_sid, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            {Value::Text(link.session_id), Value::Text(link.tenant_id),
             Value::Text(link.connection_id), Value::Text(link.subject),
             Value::Text(link.idp_sid), Value::Int(now)})
      .status();
}

StatusOr<std::vector<SessionLink>> LinkedSessions(store::Transaction& tx,
                                                  std::string_view connection_id,
                                                  std::string_view sid, std::string_view subject) {
  std::vector<SessionLink> out;
  if (sid.empty() && subject.empty()) return out;
  const Value conn = Value::Text(std::string(connection_id));
  constexpr std::string_view kSelect =
      "SELECT session_id, tenant_id, subject, idp_sid FROM sso_session_links WHERE "
      "connection_id = ?";
  StatusOr<store::Rows> rows =
      sid.empty()       ? tx.Query(std::string(kSelect) + " AND subject = ?",
                                   {conn, Value::Text(std::string(subject))})
      : subject.empty() ? tx.Query(std::string(kSelect) + " AND idp_sid = ?",
                                   {conn, Value::Text(std::string(sid))})
                        : tx.Query(std::string(kSelect) + " AND idp_sid = ? AND subject = ?",
                                   {conn, Value::Text(std::string(sid)),
                                    Value::Text(std::string(subject))});
  if (!rows.ok()) return rows.status();
  for (const auto& r : *rows) {
    out.push_back(SessionLink{.session_id = r[0].as_text(),
                              .tenant_id = r[1].as_text(),
                              .connection_id = std::string(connection_id),
                              .subject = r[2].as_text(),
                              .idp_sid = r[3].as_text()});
  }
  return out;
}

StatusOr<bool> SpendLogoutJti(store::Transaction& tx, std::string_view connection_id,
                              std::string_view jti, std::int64_t expires_at) {
  const crypto::Digest256 h = crypto::Sha256(jti);
  BULWARK_ASSIGN_OR_RETURN(
      const std::int64_t inserted,
      tx.Exec("INSERT INTO sso_logout_jtis(connection_id, jti_hash, expires_at) VALUES (?, ?, ?) "
              "ON CONFLICT DO NOTHING",
              {Value::Text(std::string(connection_id)),
               Value::Bytes(std::span<const std::uint8_t>(h)), Value::Int(expires_at)}));
  return inserted == 1;
}

StatusOr<std::optional<std::string>> TenantOfConnection(store::Transaction& tx,
                                                        std::string_view connection_id) {
  BULWARK_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT tenant_id FROM sso_connections WHERE id = ?",
                                               {Value::Text(std::string(connection_id))}));
  if (rows.empty()) return std::optional<std::string>();
  return std::optional<std::string>(rows[0][0].as_text());
}

StatusOr<std::int64_t> Purge(store::Transaction& tx, std::int64_t now) {
  BULWARK_ASSIGN_OR_RETURN(
      const std::int64_t jtis,
      tx.Exec("DELETE FROM sso_logout_jtis WHERE expires_at < ?", {Value::Int(now)}));
  BULWARK_ASSIGN_OR_RETURN(
      const std::int64_t links,
      tx.Exec("DELETE FROM sso_session_links WHERE session_id IN (SELECT id FROM sessions WHERE "
              "revoked_at IS NOT NULL AND revoked_at < ?)",
              {Value::Int(now - 86400)}));
  return jtis + links;
}

}  // namespace bulwark::sso::flow_store

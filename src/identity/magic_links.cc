#include "identity/magic_links.h"

namespace bulwark::identity::magic_links {
namespace {

using store::Value;

// A decoy row's user column: as long as a user id (NewId: "usr_" and 24 hex), naming no one.
constexpr std::string_view kDecoyUser = "usr_000000000000000000000000";

StatusOr<IssuedToken> Insert(store::Transaction& tx, std::string_view table,
                             std::string_view user_id, std::int64_t now, std::int64_t ttl_s) {
  BULWARK_ASSIGN_OR_RETURN(IssuedToken t, NewToken(kPrefix));
  BULWARK_RETURN_IF_ERROR(tx.Exec("INSERT INTO " + std::string(table) +
                                      "(token_hash, user_id, created_at, expires_at) VALUES "
                                      "(?, ?, ?, ?)",
                                  {TokenHashValue(t.hash), Value::Text(std::string(user_id)),
                                   Value::Int(now), Value::Int(now + ttl_s)})
                              .status());
  return t;
}

Status Invalid() {
  return Status::Unauthenticated("invalid_token", "the sign-in link is not valid");
}

}  // namespace

StatusOr<IssuedToken> Issue(store::Transaction& tx, std::string_view user_id, std::int64_t now,
                            std::int64_t ttl_s) {
  return Insert(tx, "magic_links", user_id, now, ttl_s);
}

StatusOr<IssuedToken> IssueDecoy(store::Transaction& tx, std::int64_t now, std::int64_t ttl_s) {
  return Insert(tx, "magic_link_decoys", kDecoyUser, now, ttl_s);
}

StatusOr<std::string> Consume(store::Transaction& tx, std::string_view token, std::int64_t now) {
  BULWARK_ASSIGN_OR_RETURN(auto hash,
                           ConsumeOnce(tx, "magic_links", "consumed_at", kPrefix, token, now));
  if (!hash) return Invalid();
  BULWARK_ASSIGN_OR_RETURN(
      auto rows, tx.Query("SELECT user_id FROM magic_links WHERE token_hash = ?", {*hash}));
  if (rows.empty()) return Invalid();
  return rows[0][0].as_text();
}

StatusOr<std::int64_t> Purge(store::Transaction& tx, std::int64_t now) {
  BULWARK_ASSIGN_OR_RETURN(
      const std::int64_t links,
      tx.Exec("DELETE FROM magic_links WHERE expires_at < ?", {Value::Int(now - 86400)}));
  BULWARK_ASSIGN_OR_RETURN(
      const std::int64_t decoys,
      tx.Exec("DELETE FROM magic_link_decoys WHERE expires_at < ?", {Value::Int(now - 86400)}));
  return links + decoys;
}

}  // namespace bulwark::identity::magic_links

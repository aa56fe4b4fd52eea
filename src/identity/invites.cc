#include "identity/invites.h"

#include "identity/directory.h"

namespace bulwark::identity::invites {
namespace {

using store::Value;

Status Invalid() { return Status::Unauthenticated("invalid_token", "the invitation is not valid"); }

}  // namespace

StatusOr<Created> Create(store::Transaction& tx, std::string_view tenant_id,
                         policy::Role actor_role, std::string_view normalized_email,
                         policy::Role role, std::string_view created_by, std::int64_t now) {
  if (policy::RoleRank(role) > policy::RoleRank(actor_role)) {
    return Status::PermissionDenied("owner_required", "only an owner may invite an owner");
  }
  BULWARK_ASSIGN_OR_RETURN(auto user, directory::FindActiveUser(tx, normalized_email));
  if (user) {
    BULWARK_ASSIGN_OR_RETURN(auto member, directory::GetMember(tx, tenant_id, *user));
    if (member) return Status::Conflict("already_member", "this address is already a member");
  }
  Created out;
  BULWARK_ASSIGN_OR_RETURN(out.id, NewId("inv_"));
  BULWARK_ASSIGN_OR_RETURN(out.token, NewToken(kPrefix));
  out.expires_at = now + kTtlSeconds;
  BULWARK_RETURN_IF_ERROR(
      tx.Exec("INSERT INTO invites(token_hash, id, tenant_id, email, role, created_by, created_at, "
              "expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
              {TokenHashValue(out.token.hash), Value::Text(out.id),
               Value::Text(std::string(tenant_id)), Value::Text(std::string(normalized_email)),
               Value::Text(std::string(policy::RoleName(role))),
               Value::Text(std::string(created_by)), Value::Int(now), Value::Int(out.expires_at)})
          .status());
  return out;
}

StatusOr<Accepted> Accept(store::Transaction& tx, std::string_view token, std::int64_t now) {
  BULWARK_ASSIGN_OR_RETURN(auto hash,
                           ConsumeOnce(tx, "invites", "accepted_at", kPrefix, token, now));
  if (!hash) return Invalid();
  BULWARK_ASSIGN_OR_RETURN(
      auto rows,
      tx.Query("SELECT id, tenant_id, email, role, created_by FROM invites WHERE token_hash = ?",
               {*hash}));
  if (rows.empty()) return Invalid();
  const auto role = policy::ParseRole(rows[0][3].as_text());
  if (!role) return Status::Integrity("an invitation has an unknown role");
  Accepted out{.invite_id = rows[0][0].as_text(), .tenant_id = rows[0][1].as_text(), .role = *role};
  // An invitation speaks for its creator: it lapses when they are no longer a member who could
  // grant that role (removed or demoted since).
  BULWARK_ASSIGN_OR_RETURN(auto creator,
                           directory::GetMember(tx, out.tenant_id, rows[0][4].as_text()));
  if (!creator || policy::RoleRank(creator->role) < policy::RoleRank(out.role) ||
      !policy::RoleGrants(creator->role, "members.invite")) {
    return Invalid();
  }
  BULWARK_ASSIGN_OR_RETURN(out.user_id, directory::EnsureUser(tx, rows[0][2].as_text(), now));
  BULWARK_ASSIGN_OR_RETURN(auto disabled, tx.Query("SELECT disabled FROM users WHERE id = ?",
                                                   {Value::Text(out.user_id)}));
  if (disabled.empty() || disabled[0][0].as_int() != 0) return Invalid();
  BULWARK_RETURN_IF_ERROR(directory::AddMember(tx, out.tenant_id, out.user_id, out.role, now));
  return out;
}

}  // namespace bulwark::identity::invites

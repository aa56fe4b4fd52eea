#include "sso/accounts.h"

#include <algorithm>

#include "identity/directory.h"
#include "identity/tokens.h"
#include "sso/admin_store.h"
#include "sso/domains.h"

namespace bulwark::sso {
namespace {

Status Refuse(std::string reason, std::string message) {
  return Status::PermissionDenied(std::move(reason), std::move(message));
}

bool Contains(const std::vector<std::string>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

}  // namespace

std::string EntraSubject(std::string_view tid, std::string_view oid) {
  return std::string(tid) + ":" + std::string(oid);
}

StatusOr<SignIn> ResolveSignIn(store::Transaction& tx, const Connection& connection,
                               const ExternalIdentity& identity, std::int64_t now,
                               const ProvisioningGate* gate) {
  if (!connection.enabled) return Refuse("sso_disabled", "this SSO connection is disabled");
  StatusOr<std::string> email = identity::NormalizeEmail(identity.email);
  if (!identity.email_verified || !email.ok()) {
    return Refuse("email_unverified", "the identity provider did not vouch for the email address");
  }
  if (connection.preset == Preset::kGoogle && !Contains(connection.hd_values, identity.hd)) {
    return Refuse("hd_mismatch", "the Google account is not of an accepted Workspace domain");
  }
  if (connection.preset == Preset::kEntra &&
      (!Contains(connection.entra_tenants, identity.tid) ||
       !identity.subject.starts_with(EntraSubject(identity.tid, "")) ||
       identity.subject.size() == identity.tid.size() + 1)) {
    return Refuse("tenant_not_allowed", "the Entra tenant is not one this connection accepts");
  }
  const std::string domain = email->substr(email->find('@') + 1);
  BULWARK_ASSIGN_OR_RETURN(bool verified, DomainVerified(tx, connection.tenant_id, domain));
  if (!verified || !Contains(connection.allowed_domains, domain)) {
    return Refuse("domain_unverified", "the email's domain is not a verified, allowed domain");
  }

  SignIn out;
  out.groups_overage = identity.groups_overage;
  BULWARK_ASSIGN_OR_RETURN(auto linked,
                           admin_store::SelectIdentity(tx, connection.issuer, identity.subject));
  std::optional<std::string> user_id;
  if (linked) {
    BULWARK_ASSIGN_OR_RETURN(auto user, admin_store::SelectUser(tx, linked->user_id));
    if (!user || user->disabled) return Refuse("account_disabled", "this account is disabled");
    user_id = linked->user_id;
    if (gate) {
      BULWARK_ASSIGN_OR_RETURN(bool gone,
                               gate->Deprovisioned(tx, connection.tenant_id, *user_id));
      if (gone) {
        return Refuse("deprovisioned", "the tenant's provisioning deprovisioned this account");
      }
    }
  } else {
    BULWARK_ASSIGN_OR_RETURN(auto by_email, admin_store::SelectUserByEmail(tx, *email));
    if (by_email) {
      return Refuse("identity_conflict",
                    "an account with this email exists and is not linked to this identity");
    }
  }

  std::optional<identity::directory::Member> member;
  if (user_id) {
    BULWARK_ASSIGN_OR_RETURN(member,
                             identity::directory::GetMember(tx, connection.tenant_id, *user_id));
  }
  std::optional<policy::Role> role;
  if (member && member->role == policy::Role::kOwner) {
    role = policy::Role::kOwner;  // never demoted by a mapping
  } else if (!identity.groups_overage) {
    role = RoleForGroups(connection.role_map, identity.groups);
  }
  if (!role && member && !identity.groups_overage) {
    // Roles are fully replaced at each sign-in: groups that map to no role leave none.
    BULWARK_RETURN_IF_ERROR(identity::directory::RemoveMember(tx, connection.tenant_id,
                                                              policy::Role::kAdmin, *user_id));
    out.user_id = *user_id;
    out.previous_role = member->role;
    out.breakglass = member->breakglass_designated;
    out.membership_removed = true;
    out.refused = Refuse("no_role_mapped", "none of the identity's groups maps to a role");
    return out;
  }
  if (!role) {
    return Refuse("no_role_mapped", identity.groups_overage
                                        ? "the provider sent a groups overage: no role is guessed"
                                        : "none of the identity's groups maps to a role");
  }

  if (!user_id) {
    BULWARK_ASSIGN_OR_RETURN(std::string created, identity::directory::EnsureUser(tx, *email, now));
    BULWARK_RETURN_IF_ERROR(admin_store::InsertIdentity(
        tx,
        admin_store::IdentityRow{.issuer = connection.issuer, .subject = identity.subject,
                                 .user_id = created, .connection_id = connection.id,
                                 .email = *email},
        now));
    user_id = created;
    out.created = true;
  } else {
    BULWARK_RETURN_IF_ERROR(
        admin_store::TouchIdentity(tx, connection.issuer, identity.subject, *email, now));
  }
  if (!member) {
    BULWARK_RETURN_IF_ERROR(
        identity::directory::AddMember(tx, connection.tenant_id, *user_id, *role, now));
    out.membership_created = true;
  } else {
    out.previous_role = member->role;
    out.breakglass = member->breakglass_designated;
    if (member->role != *role) {
      BULWARK_RETURN_IF_ERROR(identity::directory::ChangeRole(tx, connection.tenant_id,
                                                              policy::Role::kAdmin, *user_id,
                                                              *role));
    }
  }
  out.user_id = *user_id;
  out.role = *role;
  return out;
}

}  // namespace bulwark::sso

namespace bulwark::sso {

StatusOr<bool> RequiresSso(store::Transaction& tx, std::string_view tenant_id) {
  return admin_store::RequireSso(tx, tenant_id);
}

Status SetRequiresSso(store::Transaction& tx, std::string_view tenant_id, bool on) {
  BULWARK_RETURN_IF_ERROR(admin_store::RequireSso(tx, tenant_id).status());
  if (on) {
    BULWARK_ASSIGN_OR_RETURN(auto rows, admin_store::SelectConnections(tx, tenant_id));
    if (std::none_of(rows.begin(), rows.end(), [](const auto& r) { return r.enabled; })) {
      return Status::FailedPrecondition("no_sso_connection",
                                        "requiring SSO needs an enabled SSO connection");
    }
    BULWARK_ASSIGN_OR_RETURN(auto members, identity::directory::ListMembers(tx, tenant_id));
    if (std::none_of(members.begin(), members.end(), [](const auto& m) {
          return m.role == policy::Role::kOwner && m.breakglass_designated;
        })) {
      return Status::FailedPrecondition(
          "no_breakglass_owner", "requiring SSO needs a designated break-glass owner account");
    }
  }
  return admin_store::SetRequireSso(tx, tenant_id, on);
}

StatusOr<MagicLinkUse> CheckMagicLink(store::Transaction& tx, std::string_view tenant_id,
                                      std::string_view user_id) {
  BULWARK_ASSIGN_OR_RETURN(bool required, admin_store::RequireSso(tx, tenant_id));
  if (!required) return MagicLinkUse::kAllowed;
  BULWARK_ASSIGN_OR_RETURN(auto member, identity::directory::GetMember(tx, tenant_id, user_id));
  if (member && member->role == policy::Role::kOwner && member->breakglass_designated) {
    return MagicLinkUse::kBreakglass;
  }
  return Status::PermissionDenied("sso_required", "this tenant requires single sign-on");
}

}  // namespace bulwark::sso

#pragma once
// Who gets in through single sign-on: an identity a provider vouched for, resolved to a Bulwark
// account and a role in the connection's tenant.
//
// Accounts are keyed by (connection issuer, subject) in sso_identities, never by email: an email
// an identity provider lets anyone change cannot take over an account (the nOAuth class). For an
// entra connection the subject is "<tid>:<oid>" (the flow builds it) and the issuer the
// connection's, possibly the "{tenantid}" template, so one Entra user is one key whichever form
// the issuer took.
//
// ResolveSignIn, in the caller's write transaction, checks in this order and refuses with
// kPermissionDenied and a stable reason (nothing is written then):
//   sso_disabled        the connection is disabled;
//   email_unverified    no email, or email_verified is false;
//   hd_mismatch         google: the token's `hd` is not one of the connection's hd_values;
//   tenant_not_allowed  entra: the token's `tid` is not in the connection's allowlist, or the
//                       subject is not EntraSubject(tid, oid) of that tid;
//   domain_unverified   the email's domain is not both among the connection's allowed domains
//                       and verified by the tenant (sso/domains.h);
//   identity_conflict   no account has this (issuer, subject) yet and the email belongs to an
//                       existing account (linked to another subject or not linked at all):
//                       accounts are never linked by email alone;
//   account_disabled    the linked account is disabled;
//   deprovisioned       the tenant's provisioning (SCIM, through the ProvisioningGate) set the
//                       linked account inactive (active:false): a sign-in at the provider does
//                       not undo a deprovisioning; SCIM active:true does;
//   no_role_mapped      the member would have no role: none of the groups maps to one and there
//                       is no default, or the provider sent a groups overage (the groups are not
//                       known, so no role is guessed: neither from the groups nor default_role),
//                       and the member is not an owner.
// One refusal writes: when the groups explicitly map to no role (no overage) for an EXISTING
// non-owner member, the role is fully replaced by none: the membership is removed in `tx` and
// ResolveSignIn returns OK with SignIn::refused = no_role_mapped and membership_removed set; the
// caller revokes the member's sessions and API keys in the same transaction, commits it with
// the refusal's record and answers the refusal. A groups overage refuses without removing (the
// groups are unknown, not empty: nothing is concluded from them).
// Otherwise (JIT) the user and its identity are created on first sign-in, the membership when
// absent, and the member's role is REPLACED by the mapped one at every sign-in (no role is left
// over from an old group). An owner is never made by the mapping (it cannot map to owner) nor
// demoted by it: an existing owner stays owner whatever the groups say.
//
// The caller (the SSO flow) records the outcome with the reason, and drops the member's cached
// sessions when previous_role differs from role.
//
// Thread-safety: stateless functions; each call uses the caller's transaction.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "policy/roles.h"
#include "sso/connections.h"
#include "sso/provisioning_gate.h"
#include "store/store.h"

namespace bulwark::sso {

// What the flow took from a validated ID token.
struct ExternalIdentity {
  std::string issuer;   // the token's `iss`
  std::string subject;  // `sub`; for entra "<tid>:<oid>"
  std::string email;
  bool email_verified = false;
  std::string hd;   // google's hosted domain claim, "" when absent
  std::string tid;  // entra's tenant id claim, "" when absent
  std::vector<std::string> groups;  // the connection's groups claim
  bool groups_overage = false;      // entra's _claim_names.groups: the groups were not sent
};

struct SignIn {
  std::string user_id;
  policy::Role role = policy::Role::kViewer;
  bool created = false;  // the user was created (JIT) by this sign-in
  bool membership_created = false;
  std::optional<policy::Role> previous_role;  // the role before, when already a member
  bool breakglass = false;  // the member is a designated break-glass owner account
  bool groups_overage = false;
  // OK, or the refusal to answer although `tx` holds a change to keep (membership_removed).
  Status refused;
  bool membership_removed = false;  // an existing member's groups mapped to no role
};

// The subject an entra identity is keyed by: "<tid>:<oid>" (the flow builds it with this).
std::string EntraSubject(std::string_view tid, std::string_view oid);

// `gate` (may be null: no provisioning consulted) answers "deprovisioned".
StatusOr<SignIn> ResolveSignIn(store::Transaction& tx, const Connection& connection,
                               const ExternalIdentity& identity, std::int64_t now,
                               const ProvisioningGate* gate = nullptr);

}  // namespace bulwark::sso

namespace bulwark::sso {

// ---- require SSO --------------------------------------------------------------------------
// A tenant that requires SSO refuses magic-link sign-in to its members, except its designated
// break-glass owner account(s) (a membership with role owner and breakglass_designated), whose
// use the caller records and alerts on.

// Whether the tenant requires SSO. kNotFound "tenant_not_found".
StatusOr<bool> RequiresSso(store::Transaction& tx, std::string_view tenant_id);
// Turns the requirement on or off. Turning it on needs an enabled connection
// (kFailedPrecondition "no_sso_connection") and a designated break-glass owner
// (kFailedPrecondition "no_breakglass_owner"), so a tenant cannot lock every owner out.
Status SetRequiresSso(store::Transaction& tx, std::string_view tenant_id, bool on);

enum class MagicLinkUse { kAllowed, kBreakglass };
// For a magic link being consumed for (tenant, user): kAllowed when the tenant does not require
// SSO; kBreakglass when it does and the member is a designated break-glass owner; else
// kPermissionDenied "sso_required".
StatusOr<MagicLinkUse> CheckMagicLink(store::Transaction& tx, std::string_view tenant_id,
                                      std::string_view user_id);

}  // namespace bulwark::sso

#pragma once
// Invitations: a member with members.invite offers a role in their tenant to an email address.
// The accept token is mailed, single-use, stored hashed and valid for 7 days; accepting proves
// the address, creates the user if new and adds the membership, in one transaction.
//
//   auto inv = invites::Create(tx, tenant, actor_role, "bo@acme.test", Role::kMember, actor, now);
//   auto joined = invites::Accept(tx, presented, now);   // kUnauthenticated "invalid_token"
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"
#include "identity/tokens.h"
#include "policy/roles.h"
#include "store/store.h"

namespace bulwark::identity::invites {

inline constexpr std::string_view kPrefix = "bwi_";
inline constexpr std::int64_t kTtlSeconds = 7 * 24 * 3600;

struct Created {
  std::string id;
  IssuedToken token;  // token.text is mailed, never returned to the inviter or recorded
  std::int64_t expires_at = 0;
};

// kPermissionDenied "owner_required" when inviting to a role above the actor's own; kConflict
// "already_member" when the address already belongs to the tenant.
StatusOr<Created> Create(store::Transaction& tx, std::string_view tenant_id,
                         policy::Role actor_role, std::string_view normalized_email,
                         policy::Role role, std::string_view created_by, std::int64_t now);

struct Accepted {
  std::string invite_id;
  std::string tenant_id;
  std::string user_id;
  policy::Role role = policy::Role::kViewer;
};

// Unknown, expired, used or malformed: kUnauthenticated "invalid_token".
StatusOr<Accepted> Accept(store::Transaction& tx, std::string_view token, std::int64_t now);

}  // namespace bulwark::identity::invites

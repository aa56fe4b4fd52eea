#pragma once
// A tenant's SCIM bearer token: what an identity provider (Entra ID, Okta) presents to
// /scim/v2/... . One per tenant. The text is shown once when made; the store keeps only its
// SHA-256, looked up by the token's id (a unique key, so the cost does not depend on how many
// tokens exist) and compared in constant time. Rotating makes a new token and forgets the old
// one in the same transaction, so the old one fails on the next request on every node (nothing
// is cached: every request reads the row); revoking forgets it.
//
// Format: bwscim_<id: 16 hex>_<secret: 43 base64url = 256 bits from the CSPRNG>.
//
//   BULWARK_ASSIGN_OR_RETURN(auto made, tokens.Rotate(tx, tenant_id, owner_user_id, now));
//   StatusOr<core::Principal> p = tokens.Authenticate(presented);   // every SCIM request
//
// The principal of a token: kind kScimToken, id the token id, tenant_id the token's tenant (the
// tenant always comes from the token, never from the request), auth_method "scim_token", no role
// and no scopes. Errors: kUnauthenticated "invalid_scim_token" (malformed, unknown, revoked,
// replaced, wrong secret, tenant deleted), kUnavailable when the store cannot be read.
//
// Thread-safe: holds only a reference to the store, which must outlive it.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/principal.h"
#include "core/status.h"
#include "store/store.h"

namespace bulwark::scim {

inline constexpr std::string_view kScimTokenPrefix = "bwscim_";

struct CreatedScimToken {
  std::string id;
  std::string token;  // shown once; never stored, logged or recorded
};

class ScimTokens {
 public:
  explicit ScimTokens(store::Store& store) : store_(store) {}

  // A new token for the tenant, replacing any it had, inside `tx`.
  StatusOr<CreatedScimToken> Rotate(store::Transaction& tx, std::string_view tenant_id,
                                    std::string_view created_by, std::int64_t now);
  // Forgets the tenant's token; false when it had none.
  StatusOr<bool> Revoke(store::Transaction& tx, std::string_view tenant_id);

  StatusOr<core::Principal> Authenticate(std::string_view presented) const;

 private:
  store::Store& store_;
};

}  // namespace bulwark::scim

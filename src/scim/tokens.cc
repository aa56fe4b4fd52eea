#include "scim/tokens.h"

#include "crypto/compare.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "scim/store.h"

namespace bulwark::scim {
namespace {

constexpr std::size_t kIdHexChars = 16;
constexpr std::size_t kSecretChars = 43;  // 32 bytes, unpadded base64url

Status Refused() {
  return Status::Unauthenticated("invalid_scim_token", "the SCIM bearer token is not valid");
}

bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool IsBase64Url(std::string_view s) {
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '-' || c == '_')) {
      return false;
    }
  }
  return true;
}

}  // namespace

StatusOr<CreatedScimToken> ScimTokens::Rotate(store::Transaction& tx, std::string_view tenant_id,
                                              std::string_view created_by, std::int64_t now) {
  BULWARK_ASSIGN_OR_RETURN(std::string id, crypto::RandomHex(kIdHexChars / 2));
  BULWARK_ASSIGN_OR_RETURN(std::string secret, crypto::RandomTokenBase64Url(32));
  CreatedScimToken out{.id = id, .token = std::string(kScimTokenPrefix) + id + "_" + secret};
  BULWARK_RETURN_IF_ERROR(
      db::PutToken(tx, tenant_id, id, crypto::Sha256(out.token), created_by, now));
  return out;
}

StatusOr<bool> ScimTokens::Revoke(store::Transaction& tx, std::string_view tenant_id) {
  return db::DeleteToken(tx, tenant_id);
}

StatusOr<core::Principal> ScimTokens::Authenticate(std::string_view presented) const {
  const std::size_t expected = kScimTokenPrefix.size() + kIdHexChars + 1 + kSecretChars;
  if (presented.size() != expected || !presented.starts_with(kScimTokenPrefix)) return Refused();
  const std::string_view id = presented.substr(kScimTokenPrefix.size(), kIdHexChars);
  const std::string_view rest = presented.substr(kScimTokenPrefix.size() + kIdHexChars);
  if (!IsLowerHex(id) || rest.front() != '_' || !IsBase64Url(rest.substr(1))) return Refused();
  BULWARK_ASSIGN_OR_RETURN(auto tx, store_.Begin(store::TxMode::kRead));
  BULWARK_ASSIGN_OR_RETURN(auto row, db::FindToken(*tx, id));
  // The hash is computed whether or not the id is known, and compared in constant time.
  const crypto::Digest256 hash = crypto::Sha256(presented);
  if (!row || !crypto::ConstantTimeEquals(hash, row->hash)) return Refused();
  core::Principal p;
  p.kind = core::Principal::Kind::kScimToken;
  p.id = std::string(id);
  p.tenant_id = row->tenant_id;
  p.auth_method = "scim_token";
  return p;
}

}  // namespace bulwark::scim

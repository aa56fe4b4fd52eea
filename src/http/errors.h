#pragma once
// The one place where a Status becomes an HTTP status and a JSON error body.
//   {"error":{"code":"tenant_mismatch","message":"...","request_id":"..."}}
#include <string>
#include <string_view>

#include "core/status.h"

namespace bulwark::http {

unsigned HttpStatusFor(ErrorCode code);
std::string ErrorBody(const Status& status, std::string_view request_id);

// The Vault-compatible surface (/v1/...) answers errors as Vault does, so Vault clients raise
// their usual exceptions: {"errors":["<code>: <message>"]}, a missing or bad token is 403, and a
// check-and-set conflict is 400.
bool IsVaultSurface(std::string_view path);
unsigned VaultHttpStatusFor(ErrorCode code);
std::string VaultErrorBody(const Status& status);

}  // namespace bulwark::http

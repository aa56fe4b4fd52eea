#pragma once
// The one place where a Status becomes an HTTP status and a JSON error body.
//   {"error":{"code":"tenant_mismatch","message":"...","request_id":"..."}}
#include <string>
#include <string_view>

#include "core/status.h"

namespace bulwark::http {

unsigned HttpStatusFor(ErrorCode code);
std::string ErrorBody(const Status& status, std::string_view request_id);

}  // namespace bulwark::http

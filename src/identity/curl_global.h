#pragma once
// libcurl's process-wide initialization, shared by its two users: the mail transport
// (identity/mailer.h) and the OpenID Provider client (sso/provider_client.h).
//
// InitLibcurl calls curl_global_init once per process and checks that libcurl was built with TLS;
// later calls return the first call's result. Call it from main before any thread starts (serve
// does, through InitMailTransport); each user also calls it itself as a safety net.
// Errors: kInternal if libcurl cannot be initialized or has no TLS. Thread-safe (std::call_once).
#include "core/status.h"

namespace bulwark::identity {

Status InitLibcurl();

}  // namespace bulwark::identity

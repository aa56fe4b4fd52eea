#pragma once
// Resolving a credential to a principal: the domain half of stage 4 (the stage that reads the
// request and writes the context is stages/authenticate_stage.h; docs/design.md "The request
// pipeline"). Knows no HTTP: a credential is its kind and its secret, as the stage found it.
//
//   CredentialAuthenticator auth(sessions, api_keys);
//   StatusOr<core::Principal> p = auth.Resolve({CredentialKind::kApiKey, presented},
//                                              {.api_keys = true}, client, now);
//
// A credential of a kind the route does not accept is refused before it is checked. A
// credential that cannot be checked because the store is unreachable is kUnavailable, never a
// pass. Thread-safe: holds only references to the services, which are thread-safe; both must
// outlive it.
#include <cstdint>
#include <string_view>

#include "core/cidr.h"
#include "core/principal.h"
#include "core/status.h"
#include "identity/api_keys.h"
#include "identity/sessions.h"

namespace bulwark::identity {

enum class CredentialKind {
  kApiKey,         // "bwk_..." (an API key)
  kAccessToken,    // a session's access token presented as a bearer token
  kSessionCookie,  // a session's access token from the browser's cookie (CSRF already checked)
};

struct Credential {
  CredentialKind kind = CredentialKind::kAccessToken;
  std::string_view secret;  // as presented; never copied, logged or recorded
};

// What a route accepts (from its AuthDecision): API keys, sessions, or both.
struct AcceptedCredentials {
  bool api_keys = false;
  bool sessions = false;
};

class CredentialAuthenticator {
 public:
  CredentialAuthenticator(SessionService& sessions, ApiKeyService& api_keys)
      : sessions_(sessions), api_keys_(api_keys) {}

  // The principal `credential` proves at `now` for a request from `client`. A session cookie's
  // principal has auth_method "session_cookie"; the others keep their service's.
  // Errors: kUnauthenticated "session_required" (an API key where only sessions are accepted),
  // "authentication_required" (a session credential where only API keys are accepted, or an
  // empty secret); the services' refusals (kUnauthenticated, kPermissionDenied for an address
  // outside a key's allowlist, ...); kUnavailable when the store cannot be read. When an API key
  // is refused but its id was recognised, `*refused` (if not null) names it: kind kApiKey, its
  // id, auth_method "api_key", no tenant. It is left unchanged otherwise.
  StatusOr<core::Principal> Resolve(const Credential& credential, AcceptedCredentials accepted,
                                    const core::IpAddress& client, std::int64_t now,
                                    core::Principal* refused = nullptr);

 private:
  SessionService& sessions_;
  ApiKeyService& api_keys_;
};

// The refusal of a request that carries no credential the route accepts.
Status CredentialRequired();

}  // namespace bulwark::identity

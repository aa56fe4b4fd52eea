#pragma once
// Who is making a request, as the domain services see it (no HTTP here).
#include <cstdint>
#include <string>
#include <vector>

namespace bulwark::core {

struct Principal {
  enum class Kind {
    kAnonymous,  // a public route; no credential
    kOperator,   // an allowlisted operator network or the operator token (ops endpoints)
    kUser,       // a session
    kApiKey,     // an API key
    kSystem,     // Bulwark itself (background jobs)
    kScimToken,  // a tenant's SCIM provisioning token (id: the token id; no role, no scopes)
  };
  Kind kind = Kind::kAnonymous;
  std::string id;           // user id, API key id; empty for anonymous/operator
  std::string tenant_id;    // empty when the principal belongs to no tenant
  std::string auth_method;  // "none", "operator_cidr", "operator_token", "session", "api_key"
  // Filled by the authenticator for tenant credentials, always from the store (never the token):
  std::string role;  // the member's role now ("owner", "admin", ...); API keys: empty
  std::vector<std::string> scopes;  // an API key's verbs (a subset of its creator's); users: empty
  // An API key's own rate limit, set when it was created ("100/1m", canonical); empty: none.
  std::string rate_limit;
  std::string session_id;           // a user session's id
  // Unix seconds of the session's last MFA verification; 0 = never.
  std::int64_t mfa_verified_at = 0;
  // An open break-glass grant of the session: every action is flagged in the ledger, and the
  // grant's verbs (and secret path prefix) are allowed beyond the role.
  bool break_glass = false;
  std::string breakglass_grant_id;
  std::vector<std::string> breakglass_verbs;
  std::string breakglass_path_prefix;
};

}  // namespace bulwark::core

#pragma once
// Who is making a request, as the domain services see it (no HTTP here).
#include <string>

namespace bulwark::core {

struct Principal {
  enum class Kind {
    kAnonymous,  // a public route; no credential
    kOperator,   // an allowlisted operator network or the operator token (ops endpoints)
    kUser,       // a session (issue: identity)
    kApiKey,     // an API key (issue: identity)
    kSystem,     // Bulwark itself (background jobs)
  };
  Kind kind = Kind::kAnonymous;
  std::string id;         // user id, API key id; empty for anonymous/operator
  std::string tenant_id;  // empty when the principal belongs to no tenant
  std::string auth_method;  // "none", "operator_cidr", "operator_token", "session", "api_key"
};

}  // namespace bulwark::core

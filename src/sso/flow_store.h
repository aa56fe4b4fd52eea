#pragma once
// The SSO flow's rows besides the sign-in attempts (sso/login_state.h): which Bulwark session an
// SSO sign-in started, under which provider session (`sid`) and subject, so a back-channel
// logout token can find the sessions it ends; and the logout tokens' `jti` already accepted, so
// none is accepted twice.
//
//   flow_store::LinkSession(tx, {session_id, tenant, connection, sub, sid}, now);
//   auto fresh = flow_store::SpendLogoutJti(tx, connection, jti, exp, now);   // false: replayed
//   auto sessions = flow_store::LinkedSessions(tx, connection, sid, sub);
//
// Errors: the store's own. Stateless functions; thread-safety is the transaction's.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "store/store.h"

namespace bulwark::sso::flow_store {

struct SessionLink {
  std::string session_id;
  std::string tenant_id;
  std::string connection_id;
  std::string subject;
  std::string idp_sid;  // empty when the provider sent none
};

Status LinkSession(store::Transaction& tx, const SessionLink& link, std::int64_t now);

// The links of `connection_id` whose provider session is `sid` (when not empty) and whose
// subject is `subject` (when not empty); at least one of the two must be given (else none).
StatusOr<std::vector<SessionLink>> LinkedSessions(store::Transaction& tx,
                                                  std::string_view connection_id,
                                                  std::string_view sid, std::string_view subject);

// Records `jti` (its SHA-256) for the connection until `expires_at`. True if it was new; false if
// it was already recorded (a replayed logout token). Concurrent callers: exactly one gets true.
StatusOr<bool> SpendLogoutJti(store::Transaction& tx, std::string_view connection_id,
                              std::string_view jti, std::int64_t expires_at);

// The tenant of SSO connection `connection_id` (sso/connections.h's table), or nullopt: a
// back-channel logout names only the connection.
StatusOr<std::optional<std::string>> TenantOfConnection(store::Transaction& tx,
                                                        std::string_view connection_id);

// Deletes spent jtis past their expiry and links of sessions that ended more than a day ago.
StatusOr<std::int64_t> Purge(store::Transaction& tx, std::int64_t now);

}  // namespace bulwark::sso::flow_store

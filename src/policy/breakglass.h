#pragma once
// Governed break-glass: an emergency widening of one member's access, off unless both the
// server (breakglass.enabled) and the tenant (settings) allow it, only for a member an owner has
// designated, after an MFA step-up, with a reason of at least 20 characters, a scope (verbs
// and/or a secret path prefix) and a lifetime of at most 60 minutes.
//
// A grant belongs to the session that activated it. While it is open, every action of that
// session carries the break-glass flag in the audit ledger, and the authorizer grants the scope's
// verbs beyond the member's role. It ends when its time is up (a sweeper ends it and issues the
// end receipt) or when ended; activation raises an alert and issues the start receipt.
//
//   BULWARK_ASSIGN_OR_RETURN(auto g, breakglass::Activate(tx, request, now));
//   BULWARK_ASSIGN_OR_RETURN(auto r, breakglass::IssueReceipt(receipts, tx, g, false));
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "receipts/service.h"
#include "store/store.h"

namespace bulwark::policy::breakglass {

inline constexpr std::int64_t kMaxTtlSeconds = 60 * 60;
inline constexpr std::size_t kMinReasonLength = 20;

struct Request {
  std::string tenant_id;
  std::string user_id;
  std::string session_id;
  std::string reason;
  std::vector<std::string> verbs;  // known verbs; may be empty if path_prefix is set
  std::string path_prefix;  // a secret path prefix ("prod/db/"); may be empty if verbs are set
  std::int64_t ttl_s = 0;   // 60..3600
};

struct Grant {
  std::string id;
  std::string tenant_id;
  std::string user_id;
  std::string session_id;
  std::string reason;
  std::vector<std::string> verbs;
  std::string path_prefix;
  std::int64_t started_at = 0;
  std::int64_t expires_at = 0;
  std::optional<std::int64_t> ended_at;
  std::string end_reason;
};

// Refusals: kPermissionDenied "breakglass_disabled" (server or tenant switch off),
// "breakglass_not_designated"; kInvalidArgument "reason_too_short", "invalid_scope", "invalid_ttl";
// kConflict "breakglass_active" (this session already holds an open grant).
// `server_enabled` is the breakglass.enabled setting.
StatusOr<Grant> Activate(store::Transaction& tx, const Request& request, bool server_enabled,
                         std::int64_t now);

// Ends the open grant of `session_id` ("ended"). kNotFound "breakglass_not_active" when none.
StatusOr<Grant> EndForSession(store::Transaction& tx, std::string_view session_id,
                              std::int64_t now);

// The ids of open grants whose time is up, for the sweeper.
StatusOr<std::vector<std::string>> DueGrants(store::Transaction& tx, std::int64_t now);

// Ends open grant `grant_id` as "expired" at its expiry time; nullopt if it is already ended.
StatusOr<std::optional<Grant>> EndExpiredGrant(store::Transaction& tx, std::string_view grant_id);

// The open grant of a session, if any (expired ones count as closed).
StatusOr<std::optional<Grant>> OpenGrant(store::Transaction& tx, std::string_view session_id,
                                         std::int64_t now);

// Ends every open grant of a tenant now with `reason` ("switched_off", "tenant_deleted") and
// returns them, so the caller issues their end receipts in the same transaction.
StatusOr<std::vector<Grant>> EndTenantGrants(store::Transaction& tx, std::string_view tenant_id,
                                             std::int64_t now, std::string_view reason);

// Which open grants EndWithReceipts ends.
struct Ending {
  enum class Kind {
    kSession,  // the open grant of session `id` (logout, or its holder ending it): "ended"
    kExpired,  // grant `id`, whose time is up (the sweeper): "expired" at its expiry time
    kTenant,   // every open grant of tenant `id`, now, with `reason`
  };
  Kind kind = Kind::kSession;
  std::string_view id;
  std::string_view reason;  // kTenant: "switched_off", "tenant_deleted"

  static Ending Session(std::string_view session_id) { return {Kind::kSession, session_id, {}}; }
  static Ending Expired(std::string_view grant_id) { return {Kind::kExpired, grant_id, {}}; }
  static Ending Tenant(std::string_view tenant_id, std::string_view why) {
    return {Kind::kTenant, tenant_id, why};
  }
};

// A grant ended, with its end receipt.
struct Ended {
  Grant grant;
  receipts::Receipt receipt;
};

// Ends the open grants `which` names inside `tx`, each with its end receipt issued in the same
// transaction: the one way a grant ends (logout, its holder, the switch turned off, the tenant
// deleted, the sweeper). Returns what it ended; none when nothing named was open (the caller
// says whether that is an error). Errors: the store's, and IssueReceipt's (the caller's
// transaction then keeps nothing).
StatusOr<std::vector<Ended>> EndWithReceipts(const receipts::ReceiptService& receipts,
                                             store::Transaction& tx, const Ending& which,
                                             std::int64_t now);

// Marks a member as (not) designated for break-glass. kNotFound "member_not_found".
Status Designate(store::Transaction& tx, std::string_view tenant_id, std::string_view user_id,
                 bool designated);

// Issues `g`'s start (`ending` false) or end receipt inside `tx`: the grant, its scope and times
// (and when ending, when and why it ended), with the reason and the member redacted in public
// projections. Every start and end receipt is issued here. Errors: ReceiptService::Issue's.
StatusOr<receipts::Receipt> IssueReceipt(const receipts::ReceiptService& receipts,
                                         store::Transaction& tx, const Grant& g, bool ending);

}  // namespace bulwark::policy::breakglass

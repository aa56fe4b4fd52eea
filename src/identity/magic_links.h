#pragma once
// Magic-link login: a single-use 256-bit token mailed to a known address.
//
// Issue and Consume run inside the caller's transaction. Consume is one guarded UPDATE
// ("... WHERE consumed_at IS NULL AND expires_at > now"), so of two concurrent verifies of one
// link exactly one changes the row and wins; the other is refused like an unknown token.
//
//   auto link = magic_links::Issue(tx, user_id, now, 900);   // then mail link->text
//   auto who  = magic_links::Consume(tx, presented, now);   // kUnauthenticated "invalid_token"
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"
#include "identity/tokens.h"
#include "store/store.h"

namespace bulwark::identity::magic_links {

inline constexpr std::string_view kPrefix = "bwm_";

StatusOr<IssuedToken> Issue(store::Transaction& tx, std::string_view user_id, std::int64_t now,
                            std::int64_t ttl_s);

// For a sign-in request to an address with no account: the same work as Issue (a fresh token,
// hashed, one row written with the same columns) into magic_link_decoys, whose rows name no user
// and are never read, so the request's timing does not tell whether the address is known. The
// token signs no one in; the caller builds its (never sent) message with it as with a link.
StatusOr<IssuedToken> IssueDecoy(store::Transaction& tx, std::int64_t now, std::int64_t ttl_s);

// The user id the link was issued to. Unknown, expired, already used or malformed:
// kUnauthenticated "invalid_token" (one answer for all, so none can be told apart).
StatusOr<std::string> Consume(store::Transaction& tx, std::string_view token, std::int64_t now);

// Deletes links and decoys that expired more than a day ago; returns how many.
StatusOr<std::int64_t> Purge(store::Transaction& tx, std::int64_t now);

}  // namespace bulwark::identity::magic_links

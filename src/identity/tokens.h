#pragma once
// Opaque credentials (magic links, refresh tokens, invites) and ids.
//
// A credential is 256 bits from the CSPRNG, shown once as base64url with a short type prefix
// ("bwm_" magic link, "bwr_" refresh token, "bwi_" invite), and stored only as SHA-256 of the
// whole text. Lookups go by that hash, which is a unique key: finding the row is the comparison,
// and no timing depends on how much of a guess was right.
//
//   BULWARK_ASSIGN_OR_RETURN(identity::IssuedToken t, identity::NewToken("bwm_"));
//   mail(t.text);  store(t.hash);  // later: LookupByHash(identity::HashToken(presented))
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"
#include "crypto/hash.h"
#include "store/store.h"

namespace bulwark::identity {

inline constexpr std::size_t kTokenRandomBytes = 32;  // 256 bits
inline constexpr std::size_t kMaxTokenLength = 128;   // longer input is refused before hashing

struct IssuedToken {
  std::string text;        // what the holder presents; never stored, logged or recorded
  crypto::Digest256 hash;  // what is stored
};

// A fresh credential with `prefix`. kInternal only if the CSPRNG fails.
StatusOr<IssuedToken> NewToken(std::string_view prefix);

// SHA-256 of the presented text, for lookup.
crypto::Digest256 HashToken(std::string_view text);

// True if `text` has `prefix` and is a plausible token (length and base64url alphabet), so junk
// is refused without a store lookup.
bool LooksLikeToken(std::string_view text, std::string_view prefix);

// The stored form of a credential's hash (a BLOB column).
store::Value TokenHashValue(const crypto::Digest256& hash);

// The one way a single-use credential is spent. Its table has token_hash (the key), expires_at
// and a nullable "used at" column. One guarded UPDATE marks the row of `token` used if it exists,
// is unused and unexpired, so of two concurrent callers exactly one gets the hash back; anyone
// else, and any malformed token, gets nullopt (all reasons alike). `table` and `used_column` are
// fixed names from the code, never input.
StatusOr<std::optional<store::Value>> ConsumeOnce(store::Transaction& tx, std::string_view table,
                                                  std::string_view used_column,
                                                  std::string_view prefix, std::string_view token,
                                                  std::int64_t now);

// A new random id: prefix + 24 hex digits ("usr_6f1c..."), for rows that are not credentials.
StatusOr<std::string> NewId(std::string_view prefix);

// The canonical form of an email address for lookups: trimmed, lower-cased. kInvalidArgument
// ("invalid_email") unless it is one local@domain with printable ASCII, at most 254 bytes.
StatusOr<std::string> NormalizeEmail(std::string_view email);

}  // namespace bulwark::identity

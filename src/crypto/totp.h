#pragma once
// HOTP (RFC 4226) and TOTP (RFC 6238) with HMAC-SHA-1, the variant every authenticator app
// implements. Codes are decimal strings, zero-padded to `digits` ("007081").
//
// Errors: digits outside 6..8, step_seconds < 1, a time before t0, or an empty secret is
// kInvalidArgument ("invalid_otp_parameters").
//
// Example:
//   BULWARK_ASSIGN_OR_RETURN(std::string code, crypto::Totp(secret, now_unix, {}));  // 6 digits, 30 s
//   std::optional<uint64_t> step = crypto::TotpMatch(secret, presented, now_unix, {}, 1);
//   if (!step || *step <= user.last_used_step) return Unauthenticated(...);          // no replay
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"
#include "crypto/secret_bytes.h"

namespace bulwark::crypto {

struct TotpParams {
  int digits = 6;
  std::int64_t step_seconds = 30;
  std::int64_t t0 = 0;  // Unix time at which counting starts
};

StatusOr<std::string> Hotp(const SecretBytes& secret, std::uint64_t counter, int digits);

// The code for the step containing `unix_time`.
StatusOr<std::string> Totp(const SecretBytes& secret, std::int64_t unix_time, const TotpParams& params);

// Checks `code` against the steps from (current - window_steps) to (current + window_steps) and
// returns the matching step counter, or nullopt (also for invalid parameters or a code of the
// wrong length). Every candidate is computed and compared in constant time, so the time taken
// does not reveal which step matched. window_steps is clamped to 0..10.
std::optional<std::uint64_t> TotpMatch(const SecretBytes& secret, std::string_view code, std::int64_t unix_time,
                                       const TotpParams& params, int window_steps);

}  // namespace bulwark::crypto

#include "crypto/totp.h"

#include <algorithm>

#include "crypto/compare.h"
#include "crypto/hash.h"

namespace bulwark::crypto {
namespace {

Status BadParams(const char* message) { return Status::InvalidArgument("invalid_otp_parameters", message); }

Status CheckParams(const SecretBytes& secret, int digits) {
  if (secret.empty()) return BadParams("OTP secret is empty");
  if (digits < 6 || digits > 8) return BadParams("OTP digits must be 6, 7 or 8");
  return Status::Ok();
}

StatusOr<std::uint64_t> StepAt(std::int64_t unix_time, const TotpParams& params) {
  if (params.step_seconds < 1) return BadParams("TOTP step must be at least 1 second");
  if (unix_time < params.t0) return BadParams("time is before the TOTP epoch");
  return static_cast<std::uint64_t>((unix_time - params.t0) / params.step_seconds);
}

}  // namespace

StatusOr<std::string> Hotp(const SecretBytes& secret, std::uint64_t counter, int digits) {
  BULWARK_RETURN_IF_ERROR(CheckParams(secret, digits));
  std::uint8_t msg[8];
  for (int i = 7; i >= 0; --i) {
    msg[i] = static_cast<std::uint8_t>(counter & 0xFF);
    counter >>= 8;
  }
  const Digest160 mac = HmacSha1(secret.reveal_span(), msg);
  // Dynamic truncation, RFC 4226 section 5.3.
  const unsigned offset = mac[19] & 0x0F;
  const std::uint32_t bin = (static_cast<std::uint32_t>(mac[offset] & 0x7F) << 24) |
                            (static_cast<std::uint32_t>(mac[offset + 1]) << 16) |
                            (static_cast<std::uint32_t>(mac[offset + 2]) << 8) | mac[offset + 3];
  std::uint32_t mod = 1;
  for (int i = 0; i < digits; ++i) mod *= 10;
  std::uint32_t value = bin % mod;
  std::string out(static_cast<std::size_t>(digits), '0');
  for (int i = digits - 1; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  return out;
}

StatusOr<std::string> Totp(const SecretBytes& secret, std::int64_t unix_time, const TotpParams& params) {
  BULWARK_ASSIGN_OR_RETURN(std::uint64_t step, StepAt(unix_time, params));
  return Hotp(secret, step, params.digits);
}

std::optional<std::uint64_t> TotpMatch(const SecretBytes& secret, std::string_view code, std::int64_t unix_time,
                                       const TotpParams& params, int window_steps) {
  if (!CheckParams(secret, params.digits).ok()) return std::nullopt;
  if (code.size() != static_cast<std::size_t>(params.digits)) return std::nullopt;
  auto current = StepAt(unix_time, params);
  if (!current.ok()) return std::nullopt;
  const int w = std::clamp(window_steps, 0, 10);
  std::optional<std::uint64_t> match;
  for (int d = -w; d <= w; ++d) {
    if (d < 0 && *current < static_cast<std::uint64_t>(-d)) continue;
    const std::uint64_t step = *current + static_cast<std::uint64_t>(static_cast<std::int64_t>(d));
    auto candidate = Hotp(secret, step, params.digits);
    if (candidate.ok() && ConstantTimeEquals(*candidate, code) && !match) match = step;
  }
  return match;
}

}  // namespace bulwark::crypto

#pragma once
// Key derivation: HKDF-SHA-256 (RFC 5869) for deriving keys from keys, PBKDF2-HMAC-SHA-256
// (RFC 8018) for deriving a key from a password.
//
// Example:
//   // a per-purpose subkey of a 256-bit root key
//   BULWARK_ASSIGN_OR_RETURN(SecretBytes k,
//       crypto::HkdfSha256(root.reveal_span(), salt, AsBytes("bulwark receipts v1"), 32));
//   // a key from an operator's password (salt: 16 random bytes, stored beside the result)
//   BULWARK_ASSIGN_OR_RETURN(SecretBytes kek,
//       crypto::Pbkdf2HmacSha256(password.reveal_span(), salt, 600000, 32));
#include <cstddef>
#include <cstdint>
#include <span>

#include "core/status.h"
#include "crypto/secret_bytes.h"

namespace bulwark::crypto {

inline constexpr std::size_t kHkdfSha256MaxOutput = 255 * 32;

// Extract-then-expand. An empty salt means "no salt" (RFC 5869: a zero-filled block). `ikm` may
// be empty. out_len must be in [1, kHkdfSha256MaxOutput], else kInvalidArgument
// ("invalid_kdf_length"). kInternal if OpenSSL fails.
StatusOr<SecretBytes> HkdfSha256(std::span<const std::uint8_t> ikm, std::span<const std::uint8_t> salt,
                                 std::span<const std::uint8_t> info, std::size_t out_len);

// iterations must be >= 1 and out_len in [1, 1024], else kInvalidArgument. This layer sets no
// policy minimum: callers that take passwords enforce their own (the keyring refuses < 100000).
// Cost is linear in `iterations` (about 0.5 s for 600000 on one core).
StatusOr<SecretBytes> Pbkdf2HmacSha256(std::span<const std::uint8_t> password,
                                       std::span<const std::uint8_t> salt, std::uint32_t iterations,
                                       std::size_t out_len);

}  // namespace bulwark::crypto

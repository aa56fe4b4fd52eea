#pragma once
// Constant-time equality for secrets, MACs and token hashes.
//
// The time taken depends only on the lengths (which are not secret: they are fixed by the
// format), never on where the first difference is. Use it for every comparison that involves
// a secret or a value an attacker tries to guess; `==` on such values is a bug.
//
// Example:
//   if (!crypto::ConstantTimeEquals(stored_hash, crypto::Sha256(presented_token)))
//     return Status::Unauthenticated("invalid_token", "invalid or expired token");
#include <cstdint>
#include <span>
#include <string_view>

namespace bulwark::crypto {

// False when the lengths differ; otherwise CRYPTO_memcmp over the bytes. Two empty inputs are equal.
bool ConstantTimeEquals(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b);
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace bulwark::crypto

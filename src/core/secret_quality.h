#pragma once
// Rejecting weak secrets at boot: known defaults, short values and low-entropy values.
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace bulwark::core {

// Minimum length, in bytes, of any secret Bulwark accepts from its configuration.
inline constexpr std::size_t kMinSecretBytes = 32;

// Why a text secret (password, token) is unacceptable, or nullopt when it is acceptable.
// The reason never quotes the secret.
std::optional<std::string> WeakTextSecretReason(std::string_view secret);

// The same for raw key material (already decoded): it must be `expected_len` bytes and not
// a pattern (all-equal bytes, a short repeating cycle, an ASCII default such as "changeme").
std::optional<std::string> WeakKeyReason(std::span<const unsigned char> key, std::size_t expected_len);

}  // namespace bulwark::core

#include "core/secret_quality.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>

#include "core/ascii.h"

namespace bulwark::core {
namespace {

constexpr std::array<std::string_view, 16> kKnownDefaults = {
    "changeme", "change-me", "change_me", "secret",   "password", "passw0rd",
    "example",  "default",   "admin",     "letmein",  "test",     "dev",
    "12345678", "qwerty",    "replace",   "your-secret"};

// Shannon entropy of the value, in bits per symbol.
double BitsPerSymbol(std::span<const unsigned char> v) {
  std::array<std::size_t, 256> counts{};
  for (unsigned char c : v) ++counts[c];
  double bits = 0;
  for (std::size_t n : counts) {
    if (n == 0) continue;
    const double p = static_cast<double>(n) / static_cast<double>(v.size());
    bits -= p * std::log2(p);
  }
  return bits;
}

std::size_t Distinct(std::span<const unsigned char> v) {
  std::array<bool, 256> seen{};
  std::size_t n = 0;
  for (unsigned char c : v) {
    if (!seen[c]) {
      seen[c] = true;
      ++n;
    }
  }
  return n;
}

// True if the value is a known default, or one repeated, or one with digits or punctuation
// appended ("password123456...", "secret!!!...").
bool IsKnownDefault(std::string_view v) {
  std::string lower(v);
  auto is_filler = [](unsigned char c) { return std::isdigit(c) || std::ispunct(c); };
  const bool had_text = !lower.empty() && is_filler(static_cast<unsigned char>(lower.back()));
  while (!lower.empty() && is_filler(static_cast<unsigned char>(lower.back()))) lower.pop_back();
  if (had_text && lower.empty()) return true;  // digits and punctuation only: a placeholder
  lower = AsciiLower(lower);
  for (std::string_view d : kKnownDefaults) {
    if (lower == d) return true;
    // "changemechangeme...", "secretsecret...": a default repeated to pass a length check.
    if (lower.size() % d.size() == 0) {
      bool repeated = true;
      for (std::size_t i = 0; i < lower.size() && repeated; i += d.size()) {
        repeated = lower.compare(i, d.size(), d) == 0;
      }
      if (repeated) return true;
    }
  }
  return lower.starts_with("changeme") || lower.starts_with("example") ||
         lower.starts_with("your-") || lower.starts_with("replace-me") ||
         lower.starts_with("replace_me") || lower.starts_with("insert-");
}

}  // namespace

std::optional<std::string> WeakTextSecretReason(std::string_view secret) {
  if (IsKnownDefault(secret)) return "is a known default or example value";
  if (secret.size() < kMinSecretBytes) {
    return "is shorter than " + std::to_string(kMinSecretBytes) + " bytes";
  }
  const std::span<const unsigned char> bytes(reinterpret_cast<const unsigned char*>(secret.data()),
                                             secret.size());
  if (Distinct(bytes) < 10 || BitsPerSymbol(bytes) < 3.0) return "has too little entropy";
  return std::nullopt;
}

std::optional<std::string> WeakKeyReason(std::span<const unsigned char> key, std::size_t expected_len) {
  if (key.size() != expected_len) {
    return "must decode to exactly " + std::to_string(expected_len) + " bytes";
  }
  const std::string_view text(reinterpret_cast<const char*>(key.data()), key.size());
  if (IsKnownDefault(text)) return "is a known default or example value";
  // 32 random bytes have ~30 distinct values; a pattern or an ASCII phrase has far fewer.
  if (Distinct(key) < expected_len / 2) return "has too little entropy";
  return std::nullopt;
}

}  // namespace bulwark::core

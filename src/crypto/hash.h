#pragma once
// SHA-256, HMAC-SHA-256 and HMAC-SHA-1 (the last only for HOTP/TOTP, RFC 4226 requires it).
//
// These cannot fail on valid input, so they return the digest directly. If OpenSSL itself fails
// (only possible when the library is broken or memory is exhausted) the process aborts with a
// message on stderr, rather than hand back a digest that is not one.
//
// Example:
//   Digest256 h = crypto::Sha256(token);                       // credentials at rest are hashes
//   std::string id = crypto::Sha256Hex("hello");              // "2cf24dba..."
//   Digest256 mac = crypto::HmacSha256(key.reveal_span(), AsBytes(message));
//   if (!crypto::ConstantTimeEquals(mac, presented)) ...       // never compare MACs with ==
//
//   crypto::Sha256Hasher h;                                   // incremental
//   h.Update(prev_hash); h.Update(canonical_json);
//   Digest256 link = h.Finish();
#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace bulwark::crypto {

using Digest256 = std::array<std::uint8_t, 32>;
using Digest160 = std::array<std::uint8_t, 20>;

// Views the characters of a string as bytes (no copy; valid as long as `s` is).
inline std::span<const std::uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

Digest256 Sha256(std::span<const std::uint8_t> data);
Digest256 Sha256(std::string_view data);
// Lowercase hex of Sha256(data): 64 characters.
std::string Sha256Hex(std::string_view data);

// HMAC-SHA-256 with a key of any length (including empty; longer than 64 bytes is hashed).
Digest256 HmacSha256(std::span<const std::uint8_t> key, std::span<const std::uint8_t> data);
// HMAC-SHA-1: for HOTP/TOTP interoperability only. Do not use it for anything new.
Digest160 HmacSha1(std::span<const std::uint8_t> key, std::span<const std::uint8_t> data);

// Incremental SHA-256. Not thread-safe; one hasher per computation. Finish() may be called once;
// after it the hasher is reset and may be reused.
class Sha256Hasher {
 public:
  Sha256Hasher();
  ~Sha256Hasher();
  Sha256Hasher(const Sha256Hasher&) = delete;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;

  void Update(std::span<const std::uint8_t> data);
  void Update(std::string_view data) { Update(AsBytes(data)); }
  Digest256 Finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bulwark::crypto

#pragma once
// Text encodings of binary data: base64 (RFC 4648 section 4, padded), base64url (section 5,
// unpadded) and lowercase hex.
//
// Decoders are strict, because an encoding that accepts several spellings of the same bytes
// lets an attacker make "different" tokens that compare equal after decoding: they reject
// whitespace, wrong alphabet, wrong or missing padding (std), any padding (url), impossible
// lengths, and non-zero unused trailing bits. On bad input they return kInvalidArgument with
// reason "malformed_encoding" and never echo the input in the message.
//
// Example:
//   std::string t = crypto::Base64UrlEncode(bytes);          // "q83vEjRW..."
//   BULWARK_ASSIGN_OR_RETURN(auto raw, crypto::Base64UrlDecode(t));
//   BULWARK_ASSIGN_OR_RETURN(SecretBytes key, crypto::Base64DecodeSecret(env_value));
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "crypto/secret_bytes.h"

namespace bulwark::crypto {

std::string Base64Encode(std::span<const std::uint8_t> bytes);
StatusOr<std::vector<std::uint8_t>> Base64Decode(std::string_view text);
// Decodes straight into a SecretBytes, so no unwiped copy of the key is left on the heap.
StatusOr<SecretBytes> Base64DecodeSecret(std::string_view text);

std::string Base64UrlEncode(std::span<const std::uint8_t> bytes);
StatusOr<std::vector<std::uint8_t>> Base64UrlDecode(std::string_view text);

// RFC 4648 section 6 base32, upper case, unpadded: how authenticator apps take a TOTP secret
// (otpauth:// URIs, `oathtool --base32`). Encode only: Bulwark never reads base32 back.
std::string Base32Encode(std::span<const std::uint8_t> bytes);

// Lowercase. Decoding accepts upper and lower case digits, and requires an even length.
std::string HexEncode(std::span<const std::uint8_t> bytes);
StatusOr<std::vector<std::uint8_t>> HexDecode(std::string_view text);

}  // namespace bulwark::crypto

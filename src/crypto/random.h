#pragma once
// The CSPRNG (OpenSSL's RAND_bytes, seeded from the OS). Every nonce, salt, token and key in
// Bulwark comes from here; there is no other source of randomness for security.
//
// A failure of the generator is never papered over: it is kInternal ("internal_error") and the
// caller must fail the operation (a predictable token is worse than an error).
//
// Example:
//   BULWARK_ASSIGN_OR_RETURN(std::string token, crypto::RandomTokenBase64Url(32));  // 256 bits
//   BULWARK_ASSIGN_OR_RETURN(SecretBytes dek, crypto::RandomSecret(32));
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "core/status.h"
#include "crypto/secret_bytes.h"

namespace bulwark::crypto {

// Fills `out` (any size, including 0). kInternal if the generator fails; `out` is then undefined.
Status RandomBytes(std::span<std::uint8_t> out);

// `n` random bytes in a SecretBytes (n may be 0).
StatusOr<SecretBytes> RandomSecret(std::size_t n);

// `nbytes` random bytes as unpadded base64url (URL- and header-safe), e.g. for bearer tokens.
StatusOr<std::string> RandomTokenBase64Url(std::size_t nbytes);

// `nbytes` random bytes as lowercase hex (2*nbytes characters), e.g. for ids.
StatusOr<std::string> RandomHex(std::size_t nbytes);

}  // namespace bulwark::crypto

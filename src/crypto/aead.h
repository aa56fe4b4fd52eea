#pragma once
// AES-256-GCM authenticated encryption: 32-byte key, 12-byte nonce, 16-byte tag, optional AAD.
//
// The AAD is how a ciphertext is bound to where it belongs (tenant, row, version): decrypting
// it with any other AAD fails, so a ciphertext copied to another row is useless. A nonce must
// never repeat under one key; unless a caller has a counter it can prove unique, it should use
// SealRandomNonce, which draws a fresh 96-bit nonce from the CSPRNG per record.
//
// Errors: wrong key/nonce size or a ciphertext shorter than the tag (or nonce+tag) is
// kInvalidArgument ("invalid_aead_input"); a failed tag check on Open is kIntegrity
// ("integrity_error") and nothing of the plaintext is returned; OpenSSL failures are kInternal.
//
// Thread-safety: all functions are safe to call concurrently (each thread keeps its own
// OpenSSL context; it holds no key material between calls).
//
// Example:
//   const std::string aad = "secret|" + tenant_id + "|" + path + "|" + std::to_string(version);
//   BULWARK_ASSIGN_OR_RETURN(std::vector<uint8_t> sealed,
//                            crypto::SealRandomNonce(dek, AsBytes(value), AsBytes(aad)));
//   ...
//   BULWARK_ASSIGN_OR_RETURN(SecretBytes plain, crypto::OpenRandomNonce(dek, sealed, AsBytes(aad)));
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/status.h"
#include "crypto/secret_bytes.h"

namespace bulwark::crypto {

inline constexpr std::size_t kAes256GcmKeySize = 32;
inline constexpr std::size_t kGcmNonceSize = 12;
inline constexpr std::size_t kGcmTagSize = 16;

// Returns ciphertext || tag (plaintext.size() + 16 bytes).
StatusOr<std::vector<std::uint8_t>> Seal(const SecretBytes& key, std::span<const std::uint8_t> nonce,
                                         std::span<const std::uint8_t> plaintext,
                                         std::span<const std::uint8_t> aad);

// As Seal, writing ciphertext || tag into `out`, which must be exactly plaintext.size() + 16
// bytes (else kInvalidArgument). No allocation: for hot paths that reuse a buffer.
Status SealInto(const SecretBytes& key, std::span<const std::uint8_t> nonce,
                std::span<const std::uint8_t> plaintext, std::span<const std::uint8_t> aad,
                std::span<std::uint8_t> out);

// Takes ciphertext || tag as produced by Seal. kIntegrity if the key, nonce, AAD or any byte is
// not what was sealed.
StatusOr<SecretBytes> Open(const SecretBytes& key, std::span<const std::uint8_t> nonce,
                           std::span<const std::uint8_t> ciphertext_and_tag,
                           std::span<const std::uint8_t> aad);

// Returns nonce || ciphertext || tag with a fresh random nonce (28 bytes of overhead).
StatusOr<std::vector<std::uint8_t>> SealRandomNonce(const SecretBytes& key,
                                                    std::span<const std::uint8_t> plaintext,
                                                    std::span<const std::uint8_t> aad);

// Takes nonce || ciphertext || tag as produced by SealRandomNonce.
StatusOr<SecretBytes> OpenRandomNonce(const SecretBytes& key, std::span<const std::uint8_t> sealed,
                                      std::span<const std::uint8_t> aad);

}  // namespace bulwark::crypto

#pragma once
// Signatures: Ed25519 (RFC 8032) for everything Bulwark signs (audit checkpoints, receipts), and
// RSA PKCS#1 v1.5 with SHA-256 verification only, for tokens issued by others (e.g. an IdP's
// RS256 JWTs).
//
// Verification functions return a bool and are fail-closed: any malformed key, signature or
// size is simply "not valid". Functions that take a private key return kInvalidArgument
// ("invalid_key") for a wrong-size key and kInternal if OpenSSL fails.
//
// Example:
//   BULWARK_ASSIGN_OR_RETURN(Ed25519KeyPair kp, crypto::GenerateEd25519KeyPair());
//   BULWARK_ASSIGN_OR_RETURN(Ed25519Signature sig, crypto::Ed25519Sign(kp.private_key, msg));
//   bool ok = crypto::Ed25519Verify(kp.public_key, msg, sig);
//
//   BULWARK_ASSIGN_OR_RETURN(RsaPublicKey idp, crypto::RsaPublicKey::FromPem(pem_text));
//   if (!crypto::RsaPkcs1Sha256Verify(idp, signed_part, signature)) return Unauthenticated(...);
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "core/status.h"
#include "crypto/secret_bytes.h"

namespace bulwark::crypto {

inline constexpr std::size_t kEd25519PrivateKeySize = 32;  // the RFC 8032 seed
inline constexpr std::size_t kEd25519PublicKeySize = 32;
inline constexpr std::size_t kEd25519SignatureSize = 64;

using Ed25519PublicKey = std::array<std::uint8_t, kEd25519PublicKeySize>;
using Ed25519Signature = std::array<std::uint8_t, kEd25519SignatureSize>;

struct Ed25519KeyPair {
  SecretBytes private_key;  // 32-byte seed
  Ed25519PublicKey public_key;
};

// A fresh key pair from the CSPRNG.
StatusOr<Ed25519KeyPair> GenerateEd25519KeyPair();

// The public key of a 32-byte private key (seed).
StatusOr<Ed25519PublicKey> Ed25519PublicKeyFromPrivate(const SecretBytes& private_key);

// The id Bulwark gives a signing key: "ed25519:" + the first 16 hex digits of SHA-256(public key).
// Ledger checkpoints and receipts name their key this way, so a verifier can tell rotated keys apart.
std::string Ed25519KeyId(const Ed25519PublicKey& public_key);

// Deterministic (RFC 8032): the same key and message always give the same signature.
StatusOr<Ed25519Signature> Ed25519Sign(const SecretBytes& private_key, std::span<const std::uint8_t> message);

// True only if `signature` (64 bytes) is a valid signature of `message` under `public_key`
// (32 bytes). False for any wrong size, an invalid point, or a non-canonical S.
bool Ed25519Verify(std::span<const std::uint8_t> public_key, std::span<const std::uint8_t> message,
                   std::span<const std::uint8_t> signature);

// An Ed25519 public key from PEM SubjectPublicKeyInfo ("-----BEGIN PUBLIC KEY-----"), as written
// by `openssl pkey -pubout`. Text before the PEM block is ignored; only the first block is read.
// kInvalidArgument ("invalid_key") if it does not parse or is not an Ed25519 key.
//
// Example:
//   BULWARK_ASSIGN_OR_RETURN(Ed25519PublicKey k, crypto::Ed25519PublicKeyFromPem(file_text));
StatusOr<Ed25519PublicKey> Ed25519PublicKeyFromPem(std::string_view pem);

// The PEM SubjectPublicKeyInfo of `public_key` (ends with a newline), readable by
// `openssl pkey -pubin` and by Ed25519PublicKeyFromPem. kInternal only if OpenSSL fails.
StatusOr<std::string> Ed25519PublicKeyToPem(const Ed25519PublicKey& public_key);

// An RSA public key of at least 2048 bits. Move-only; immutable after parsing, so one key may
// be used by many threads at once.
class RsaPublicKey {
 public:
  // SubjectPublicKeyInfo ("-----BEGIN PUBLIC KEY-----"). kInvalidArgument ("invalid_key") if it
  // does not parse, is not RSA, or has fewer than 2048 or more than 16384 bits.
  static StatusOr<RsaPublicKey> FromPem(std::string_view pem);
  // The same, DER-encoded.
  static StatusOr<RsaPublicKey> FromDer(std::span<const std::uint8_t> der);

  RsaPublicKey(RsaPublicKey&&) noexcept;
  RsaPublicKey& operator=(RsaPublicKey&&) noexcept;
  ~RsaPublicKey();

  int bits() const;

  struct Impl;  // OpenSSL's key; private to sign.cc

 private:
  explicit RsaPublicKey(std::unique_ptr<Impl> impl);
  friend bool RsaPkcs1Sha256Verify(const RsaPublicKey&, std::span<const std::uint8_t>,
                                   std::span<const std::uint8_t>);
  std::unique_ptr<Impl> impl_;
};

// True only if `signature` is a valid RSASSA-PKCS1-v1_5 SHA-256 signature of `message` (the
// message itself, not its hash) under `key`.
bool RsaPkcs1Sha256Verify(const RsaPublicKey& key, std::span<const std::uint8_t> message,
                          std::span<const std::uint8_t> signature);

}  // namespace bulwark::crypto

#include "crypto/kdf.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <climits>

#include "crypto/internal.h"

namespace bulwark::crypto {
namespace {

EVP_KDF* HkdfKdf() {
  static EVP_KDF* k = [] {
    EVP_KDF* x = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
    if (x == nullptr) internal::FatalOpenSsl("fetch HKDF");
    return x;
  }();
  return k;
}

// OSSL_PARAM wants non-const pointers even for inputs it only reads.
void* Mut(const std::uint8_t* p) {
  return const_cast<unsigned char*>(internal::NonNull(p));
}

}  // namespace

StatusOr<SecretBytes> HkdfSha256(std::span<const std::uint8_t> ikm, std::span<const std::uint8_t> salt,
                                 std::span<const std::uint8_t> info, std::size_t out_len) {
  if (out_len == 0 || out_len > kHkdfSha256MaxOutput) {
    return Status::InvalidArgument("invalid_kdf_length", "HKDF-SHA-256 output must be 1..8160 bytes");
  }
  internal::KdfCtxPtr ctx(EVP_KDF_CTX_new(HkdfKdf()));
  if (ctx == nullptr) return Status::Internal("HKDF context allocation failed");
  OSSL_PARAM params[5];
  std::size_t n = 0;
  params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>("SHA2-256"), 0);
  params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, Mut(ikm.data()), ikm.size());
  if (!salt.empty()) {
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, Mut(salt.data()), salt.size());
  }
  params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, Mut(info.data()), info.size());
  params[n++] = OSSL_PARAM_construct_end();
  SecretBytes out(out_len);
  if (EVP_KDF_derive(ctx.get(), out.reveal_mutable_span().data(), out_len, params) != 1) {
    return Status::Internal("HKDF-SHA-256 derivation failed");
  }
  return out;
}

StatusOr<SecretBytes> Pbkdf2HmacSha256(std::span<const std::uint8_t> password,
                                       std::span<const std::uint8_t> salt, std::uint32_t iterations,
                                       std::size_t out_len) {
  if (iterations == 0 || iterations > INT_MAX) {
    return Status::InvalidArgument("invalid_kdf_iterations", "PBKDF2 iterations out of range");
  }
  if (out_len == 0 || out_len > 1024) {
    return Status::InvalidArgument("invalid_kdf_length", "PBKDF2 output must be 1..1024 bytes");
  }
  if (password.size() > INT_MAX || salt.size() > INT_MAX) {
    return Status::InvalidArgument("invalid_kdf_input", "PBKDF2 input too large");
  }
  SecretBytes out(out_len);
  if (PKCS5_PBKDF2_HMAC(reinterpret_cast<const char*>(internal::NonNull(password.data())),
                        static_cast<int>(password.size()), internal::NonNull(salt.data()),
                        static_cast<int>(salt.size()), static_cast<int>(iterations), internal::Sha256Md(),
                        static_cast<int>(out_len), out.reveal_mutable_span().data()) != 1) {
    return Status::Internal("PBKDF2-HMAC-SHA-256 derivation failed");
  }
  return out;
}

}  // namespace bulwark::crypto

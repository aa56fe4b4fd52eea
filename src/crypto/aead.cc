#include "crypto/aead.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <climits>

#include "crypto/internal.h"
#include "crypto/random.h"

namespace bulwark::crypto {
namespace {

Status BadInput(const char* message) { return Status::InvalidArgument("invalid_aead_input", message); }

// One cipher context per thread, reused across calls, which saves allocating and freeing the
// context per record. Crypt() resets it on every exit, so no key schedule outlives a call.
EVP_CIPHER_CTX* ThreadCipherCtx() {
  thread_local internal::CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  return ctx.get();
}

Status CheckSizes(const SecretBytes& key, std::span<const std::uint8_t> nonce,
                  std::span<const std::uint8_t> aad, std::size_t text_len) {
  if (key.size() != kAes256GcmKeySize) return BadInput("AES-256-GCM key must be 32 bytes");
  if (nonce.size() != kGcmNonceSize) return BadInput("AES-256-GCM nonce must be 12 bytes");
  if (text_len > INT_MAX - 32 || aad.size() > INT_MAX) return BadInput("AES-256-GCM input too large");
  return Status::Ok();
}

// Encrypts or decrypts in place of `out` (`in` and `out` same length). For decryption `tag` is
// the expected tag; for encryption it receives the tag.
Status Crypt(bool encrypt, const SecretBytes& key, std::span<const std::uint8_t> nonce,
             std::span<const std::uint8_t> in, std::span<const std::uint8_t> aad, std::uint8_t* out,
             std::uint8_t* tag) {
  EVP_CIPHER_CTX* ctx = ThreadCipherCtx();
  if (ctx == nullptr) return Status::Internal("cipher context allocation failed");
  // Reset on every exit path: drops the key schedule and any partial state.
  struct Scrub {
    EVP_CIPHER_CTX* c;
    ~Scrub() { EVP_CIPHER_CTX_reset(c); }
  } scrub{ctx};
  const EVP_CIPHER* cipher = internal::Aes256GcmCipher();
  const unsigned char* k = key.reveal_span().data();
  const int ok = encrypt ? EVP_EncryptInit_ex2(ctx, cipher, k, nonce.data(), nullptr)
                         : EVP_DecryptInit_ex2(ctx, cipher, k, nonce.data(), nullptr);
  if (ok != 1) return Status::Internal("AES-256-GCM init failed");
  int len = 0;
  if (!aad.empty()) {
    const int r = encrypt ? EVP_EncryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size()))
                          : EVP_DecryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size()));
    if (r != 1) return Status::Internal("AES-256-GCM AAD failed");
  }
  if (!in.empty()) {
    const int r = encrypt ? EVP_EncryptUpdate(ctx, out, &len, in.data(), static_cast<int>(in.size()))
                          : EVP_DecryptUpdate(ctx, out, &len, in.data(), static_cast<int>(in.size()));
    if (r != 1 || static_cast<std::size_t>(len) != in.size()) return Status::Internal("AES-256-GCM update failed");
  }
  int final_len = 0;
  if (encrypt) {
    if (EVP_EncryptFinal_ex(ctx, out + in.size(), &final_len) != 1 || final_len != 0) {
      return Status::Internal("AES-256-GCM final failed");
    }
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, static_cast<int>(kGcmTagSize), tag) != 1) {
      return Status::Internal("AES-256-GCM tag failed");
    }
    return Status::Ok();
  }
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kGcmTagSize), tag) != 1) {
    return Status::Internal("AES-256-GCM set tag failed");
  }
  if (EVP_DecryptFinal_ex(ctx, out + in.size(), &final_len) != 1) {
    return Status::Integrity("ciphertext failed authentication");
  }
  return Status::Ok();
}

}  // namespace

Status SealInto(const SecretBytes& key, std::span<const std::uint8_t> nonce,
                std::span<const std::uint8_t> plaintext, std::span<const std::uint8_t> aad,
                std::span<std::uint8_t> out) {
  BULWARK_RETURN_IF_ERROR(CheckSizes(key, nonce, aad, plaintext.size()));
  if (out.size() != plaintext.size() + kGcmTagSize) return BadInput("output must be plaintext size + 16");
  return Crypt(true, key, nonce, plaintext, aad, out.data(), out.data() + plaintext.size());
}

StatusOr<std::vector<std::uint8_t>> Seal(const SecretBytes& key, std::span<const std::uint8_t> nonce,
                                         std::span<const std::uint8_t> plaintext,
                                         std::span<const std::uint8_t> aad) {
  BULWARK_RETURN_IF_ERROR(CheckSizes(key, nonce, aad, plaintext.size()));
  std::vector<std::uint8_t> out(plaintext.size() + kGcmTagSize);
  BULWARK_RETURN_IF_ERROR(Crypt(true, key, nonce, plaintext, aad, out.data(), out.data() + plaintext.size()));
  return out;
}

StatusOr<SecretBytes> Open(const SecretBytes& key, std::span<const std::uint8_t> nonce,
                           std::span<const std::uint8_t> ciphertext_and_tag,
                           std::span<const std::uint8_t> aad) {
  if (ciphertext_and_tag.size() < kGcmTagSize) return BadInput("ciphertext shorter than the tag");
  const std::size_t n = ciphertext_and_tag.size() - kGcmTagSize;
  BULWARK_RETURN_IF_ERROR(CheckSizes(key, nonce, aad, n));
  // The tag buffer must be writable for OpenSSL's ctrl call.
  std::uint8_t tag[kGcmTagSize];
  std::copy(ciphertext_and_tag.begin() + static_cast<std::ptrdiff_t>(n), ciphertext_and_tag.end(), tag);
  SecretBytes plain(n);
  std::uint8_t scratch = 0;  // a non-null output pointer when the plaintext is empty
  std::uint8_t* out = n == 0 ? &scratch : plain.reveal_mutable_span().data();
  Status st = Crypt(false, key, nonce, ciphertext_and_tag.first(n), aad, out, tag);
  if (!st.ok()) return st;  // `plain` (unauthenticated bytes) is wiped by its destructor
  return plain;
}

StatusOr<std::vector<std::uint8_t>> SealRandomNonce(const SecretBytes& key,
                                                    std::span<const std::uint8_t> plaintext,
                                                    std::span<const std::uint8_t> aad) {
  std::uint8_t nonce[kGcmNonceSize];
  BULWARK_RETURN_IF_ERROR(RandomBytes(nonce));
  BULWARK_RETURN_IF_ERROR(CheckSizes(key, nonce, aad, plaintext.size()));
  std::vector<std::uint8_t> out(kGcmNonceSize + plaintext.size() + kGcmTagSize);
  std::copy(std::begin(nonce), std::end(nonce), out.begin());
  std::uint8_t* ct = out.data() + kGcmNonceSize;
  BULWARK_RETURN_IF_ERROR(Crypt(true, key, nonce, plaintext, aad, ct, ct + plaintext.size()));
  return out;
}

StatusOr<SecretBytes> OpenRandomNonce(const SecretBytes& key, std::span<const std::uint8_t> sealed,
                                      std::span<const std::uint8_t> aad) {
  if (sealed.size() < kGcmNonceSize + kGcmTagSize) return BadInput("sealed data shorter than nonce and tag");
  return Open(key, sealed.first(kGcmNonceSize), sealed.subspan(kGcmNonceSize), aad);
}

}  // namespace bulwark::crypto

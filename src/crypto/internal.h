#pragma once
// Private to src/crypto: RAII for OpenSSL objects and the one place that reports a broken library.
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <memory>

namespace bulwark::crypto::internal {

// Writes `what` and the OpenSSL error queue to stderr and aborts. For failures that cannot
// happen with a working library and valid arguments (hashing, fetching built-in algorithms).
[[noreturn]] void FatalOpenSsl(const char* what);

struct MdCtxFree { void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); } };
struct CipherCtxFree { void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); } };
struct MacCtxFree { void operator()(EVP_MAC_CTX* p) const { EVP_MAC_CTX_free(p); } };
struct KdfCtxFree { void operator()(EVP_KDF_CTX* p) const { EVP_KDF_CTX_free(p); } };
struct PkeyFree { void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); } };
struct PkeyCtxFree { void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); } };

using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;
using MacCtxPtr = std::unique_ptr<EVP_MAC_CTX, MacCtxFree>;
using KdfCtxPtr = std::unique_ptr<EVP_KDF_CTX, KdfCtxFree>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;

// Algorithms fetched once per process (fetching is a locked lookup; these are immutable and
// shared by all threads). Abort if the default provider lacks them.
const EVP_MD* Sha256Md();
const EVP_MD* Sha1Md();
const EVP_CIPHER* Aes256GcmCipher();
EVP_MAC* HmacMac();

// An empty span's data() may be null; OpenSSL treats some null pointers as "not given".
inline const unsigned char* NonNull(const unsigned char* p) {
  static const unsigned char kEmpty = 0;
  return p != nullptr ? p : &kEmpty;
}

}  // namespace bulwark::crypto::internal

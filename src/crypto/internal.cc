#include "crypto/internal.h"

#include <openssl/err.h>

#include <cstdio>
#include <cstdlib>

namespace bulwark::crypto::internal {

void FatalOpenSsl(const char* what) {
  std::fprintf(stderr, "bulwark: fatal OpenSSL failure: %s\n", what);
  ERR_print_errors_fp(stderr);
  std::abort();
}

const EVP_MD* Sha256Md() {
  static EVP_MD* md = [] {
    EVP_MD* m = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
    if (m == nullptr) FatalOpenSsl("fetch SHA2-256");
    return m;
  }();
  return md;
}

const EVP_MD* Sha1Md() {
  static EVP_MD* md = [] {
    EVP_MD* m = EVP_MD_fetch(nullptr, "SHA1", nullptr);
    if (m == nullptr) FatalOpenSsl("fetch SHA1");
    return m;
  }();
  return md;
}

const EVP_CIPHER* Aes256GcmCipher() {
  static EVP_CIPHER* c = [] {
    EVP_CIPHER* x = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
    if (x == nullptr) FatalOpenSsl("fetch AES-256-GCM");
    return x;
  }();
  return c;
}

EVP_MAC* HmacMac() {
  static EVP_MAC* m = [] {
    EVP_MAC* x = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (x == nullptr) FatalOpenSsl("fetch HMAC");
    return x;
  }();
  return m;
}

}  // namespace bulwark::crypto::internal

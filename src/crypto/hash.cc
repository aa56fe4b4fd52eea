#include "crypto/hash.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "crypto/encoding.h"
#include "crypto/internal.h"

namespace bulwark::crypto {
namespace {

using internal::FatalOpenSsl;

// One digest context per thread, reinitialised per call: saves an allocation per hash on the
// hot path (API-key lookups hash every presented token). SHA-256 state holds no key.
EVP_MD_CTX* ThreadMdCtx() {
  thread_local internal::MdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx == nullptr) FatalOpenSsl("EVP_MD_CTX_new");
  return ctx.get();
}

template <std::size_t N>
std::array<std::uint8_t, N> Hmac(const char* digest_name, std::span<const std::uint8_t> key,
                                 std::span<const std::uint8_t> data) {
  // A fresh context per call, freed (and so cleansed) on return: the keyed state never outlives
  // the call.
  internal::MacCtxPtr ctx(EVP_MAC_CTX_new(internal::HmacMac()));
  if (ctx == nullptr) FatalOpenSsl("EVP_MAC_CTX_new");
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest_name), 0),
      OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(ctx.get(), internal::NonNull(key.data()), key.size(), params) != 1) {
    FatalOpenSsl("EVP_MAC_init");
  }
  if (!data.empty() && EVP_MAC_update(ctx.get(), data.data(), data.size()) != 1) {
    FatalOpenSsl("EVP_MAC_update");
  }
  std::array<std::uint8_t, N> out{};
  std::size_t len = 0;
  if (EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) != 1 || len != N) {
    FatalOpenSsl("EVP_MAC_final");
  }
  return out;
}

}  // namespace

Digest256 Sha256(std::span<const std::uint8_t> data) {
  EVP_MD_CTX* ctx = ThreadMdCtx();
  Digest256 out{};
  unsigned int len = 0;
  if (EVP_DigestInit_ex2(ctx, internal::Sha256Md(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx, data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(ctx, out.data(), &len) != 1 || len != out.size()) {
    FatalOpenSsl("SHA-256");
  }
  return out;
}

Digest256 Sha256(std::string_view data) { return Sha256(AsBytes(data)); }

std::string Sha256Hex(std::string_view data) { return HexEncode(Sha256(data)); }

Digest256 HmacSha256(std::span<const std::uint8_t> key, std::span<const std::uint8_t> data) {
  return Hmac<32>("SHA2-256", key, data);
}

Digest160 HmacSha1(std::span<const std::uint8_t> key, std::span<const std::uint8_t> data) {
  return Hmac<20>("SHA1", key, data);
}

struct Sha256Hasher::Impl {
  internal::MdCtxPtr ctx;
  void Init() {
    if (EVP_DigestInit_ex2(ctx.get(), internal::Sha256Md(), nullptr) != 1) FatalOpenSsl("SHA-256 init");
  }
};

Sha256Hasher::Sha256Hasher() : impl_(std::make_unique<Impl>()) {
  impl_->ctx.reset(EVP_MD_CTX_new());
  if (impl_->ctx == nullptr) FatalOpenSsl("EVP_MD_CTX_new");
  impl_->Init();
}

Sha256Hasher::~Sha256Hasher() = default;

void Sha256Hasher::Update(std::span<const std::uint8_t> data) {
  if (data.empty()) return;
  if (EVP_DigestUpdate(impl_->ctx.get(), data.data(), data.size()) != 1) FatalOpenSsl("SHA-256 update");
}

Digest256 Sha256Hasher::Finish() {
  Digest256 out{};
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(impl_->ctx.get(), out.data(), &len) != 1 || len != out.size()) {
    FatalOpenSsl("SHA-256 final");
  }
  impl_->Init();
  return out;
}

}  // namespace bulwark::crypto

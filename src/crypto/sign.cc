#include "crypto/sign.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <climits>

#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/internal.h"

namespace bulwark::crypto {
namespace {

using internal::MdCtxPtr;
using internal::PkeyPtr;

Status InvalidKey(const char* message) { return Status::InvalidArgument("invalid_key", message); }

StatusOr<PkeyPtr> Ed25519FromPrivate(const SecretBytes& private_key) {
  if (private_key.size() != kEd25519PrivateKeySize) return InvalidKey("Ed25519 private key must be 32 bytes");
  PkeyPtr pkey(EVP_PKEY_new_raw_private_key_ex(nullptr, "ED25519", nullptr, private_key.reveal_span().data(),
                                               private_key.size()));
  if (pkey == nullptr) return Status::Internal("Ed25519 key import failed");
  return pkey;
}

StatusOr<Ed25519PublicKey> RawPublic(EVP_PKEY* pkey) {
  Ed25519PublicKey pub{};
  std::size_t len = pub.size();
  if (EVP_PKEY_get_raw_public_key(pkey, pub.data(), &len) != 1 || len != pub.size()) {
    return Status::Internal("Ed25519 public key export failed");
  }
  return pub;
}

}  // namespace

StatusOr<Ed25519KeyPair> GenerateEd25519KeyPair() {
  internal::PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "ED25519", nullptr));
  if (ctx == nullptr || EVP_PKEY_keygen_init(ctx.get()) != 1) return Status::Internal("Ed25519 keygen init failed");
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_keygen(ctx.get(), &raw) != 1) return Status::Internal("Ed25519 keygen failed");
  PkeyPtr pkey(raw);
  SecretBytes priv(kEd25519PrivateKeySize);
  std::size_t len = priv.size();
  if (EVP_PKEY_get_raw_private_key(pkey.get(), priv.reveal_mutable_span().data(), &len) != 1 ||
      len != kEd25519PrivateKeySize) {
    return Status::Internal("Ed25519 private key export failed");
  }
  BULWARK_ASSIGN_OR_RETURN(Ed25519PublicKey pub, RawPublic(pkey.get()));
  return Ed25519KeyPair{std::move(priv), pub};
}

StatusOr<Ed25519PublicKey> Ed25519PublicKeyFromPrivate(const SecretBytes& private_key) {
  BULWARK_ASSIGN_OR_RETURN(PkeyPtr pkey, Ed25519FromPrivate(private_key));
  return RawPublic(pkey.get());
}

StatusOr<Ed25519Signature> Ed25519Sign(const SecretBytes& private_key, std::span<const std::uint8_t> message) {
  BULWARK_ASSIGN_OR_RETURN(PkeyPtr pkey, Ed25519FromPrivate(private_key));
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx == nullptr) return Status::Internal("digest context allocation failed");
  if (EVP_DigestSignInit_ex(ctx.get(), nullptr, nullptr, nullptr, nullptr, pkey.get(), nullptr) != 1) {
    return Status::Internal("Ed25519 sign init failed");
  }
  Ed25519Signature sig{};
  std::size_t len = sig.size();
  if (EVP_DigestSign(ctx.get(), sig.data(), &len, internal::NonNull(message.data()), message.size()) != 1 ||
      len != sig.size()) {
    return Status::Internal("Ed25519 sign failed");
  }
  return sig;
}

bool Ed25519Verify(std::span<const std::uint8_t> public_key, std::span<const std::uint8_t> message,
                   std::span<const std::uint8_t> signature) {
  if (public_key.size() != kEd25519PublicKeySize || signature.size() != kEd25519SignatureSize) return false;
  PkeyPtr pkey(EVP_PKEY_new_raw_public_key_ex(nullptr, "ED25519", nullptr, public_key.data(), public_key.size()));
  if (pkey == nullptr) return false;
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx == nullptr) return false;
  if (EVP_DigestVerifyInit_ex(ctx.get(), nullptr, nullptr, nullptr, nullptr, pkey.get(), nullptr) != 1) return false;
  return EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), internal::NonNull(message.data()),
                          message.size()) == 1;
}

StatusOr<Ed25519PublicKey> Ed25519PublicKeyFromPem(std::string_view pem) {
  if (pem.size() > INT_MAX) return InvalidKey("not a valid public key");
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())),
                                                &BIO_free);
  if (bio == nullptr) return Status::Internal("BIO allocation failed");
  PkeyPtr pkey(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (pkey == nullptr) return InvalidKey("not a valid public key");
  if (EVP_PKEY_is_a(pkey.get(), "ED25519") != 1) return InvalidKey("not an Ed25519 public key");
  Ed25519PublicKey pub{};
  std::size_t len = pub.size();
  if (EVP_PKEY_get_raw_public_key(pkey.get(), pub.data(), &len) != 1 || len != pub.size()) {
    return InvalidKey("not a valid Ed25519 public key");
  }
  return pub;
}

StatusOr<std::string> Ed25519PublicKeyToPem(const Ed25519PublicKey& public_key) {
  PkeyPtr pkey(EVP_PKEY_new_raw_public_key_ex(nullptr, "ED25519", nullptr, public_key.data(), public_key.size()));
  if (pkey == nullptr) return Status::Internal("Ed25519 public key import failed");
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  if (bio == nullptr) return Status::Internal("BIO allocation failed");
  if (PEM_write_bio_PUBKEY(bio.get(), pkey.get()) != 1) return Status::Internal("PEM encoding failed");
  char* data = nullptr;
  const long n = BIO_ctrl(bio.get(), BIO_CTRL_INFO, 0, static_cast<void*>(&data));  // BIO_get_mem_data
  if (n <= 0 || data == nullptr) return Status::Internal("PEM encoding failed");
  return std::string(data, static_cast<std::size_t>(n));
}

struct RsaPublicKey::Impl {
  PkeyPtr pkey;
};

RsaPublicKey::RsaPublicKey(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RsaPublicKey::RsaPublicKey(RsaPublicKey&&) noexcept = default;
RsaPublicKey& RsaPublicKey::operator=(RsaPublicKey&&) noexcept = default;
RsaPublicKey::~RsaPublicKey() = default;

int RsaPublicKey::bits() const { return impl_ ? EVP_PKEY_get_bits(impl_->pkey.get()) : 0; }

namespace {

StatusOr<RsaPublicKey::Impl> CheckRsa(EVP_PKEY* raw) {
  PkeyPtr pkey(raw);
  if (pkey == nullptr) return InvalidKey("not a valid public key");
  if (EVP_PKEY_is_a(pkey.get(), "RSA") != 1) return InvalidKey("not an RSA public key");
  const int bits = EVP_PKEY_get_bits(pkey.get());
  if (bits < 2048 || bits > 16384) return InvalidKey("RSA key must be 2048 to 16384 bits");
  return RsaPublicKey::Impl{std::move(pkey)};
}

}  // namespace

StatusOr<RsaPublicKey> RsaPublicKey::FromPem(std::string_view pem) {
  if (pem.size() > INT_MAX) return InvalidKey("not a valid public key");
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())),
                                                &BIO_free);
  if (bio == nullptr) return Status::Internal("BIO allocation failed");
  BULWARK_ASSIGN_OR_RETURN(Impl impl, CheckRsa(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr)));
  return RsaPublicKey(std::make_unique<Impl>(std::move(impl)));
}

StatusOr<RsaPublicKey> RsaPublicKey::FromDer(std::span<const std::uint8_t> der) {
  if (der.empty() || der.size() > LONG_MAX) return InvalidKey("not a valid public key");
  const unsigned char* p = der.data();
  EVP_PKEY* raw = d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size()));
  if (raw != nullptr && p != der.data() + der.size()) {  // trailing garbage
    EVP_PKEY_free(raw);
    return InvalidKey("not a valid public key");
  }
  BULWARK_ASSIGN_OR_RETURN(Impl impl, CheckRsa(raw));
  return RsaPublicKey(std::make_unique<Impl>(std::move(impl)));
}

bool RsaPkcs1Sha256Verify(const RsaPublicKey& key, std::span<const std::uint8_t> message,
                          std::span<const std::uint8_t> signature) {
  if (!key.impl_ || signature.empty()) return false;
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx == nullptr) return false;
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  if (EVP_DigestVerifyInit_ex(ctx.get(), &pctx, "SHA256", nullptr, nullptr, key.impl_->pkey.get(), nullptr) != 1) {
    return false;
  }
  if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) return false;
  return EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), internal::NonNull(message.data()),
                          message.size()) == 1;
}

std::string Ed25519KeyId(const Ed25519PublicKey& public_key) {
  return "ed25519:" + HexEncode(Sha256(std::span<const std::uint8_t>(public_key))).substr(0, 16);
}

}  // namespace bulwark::crypto

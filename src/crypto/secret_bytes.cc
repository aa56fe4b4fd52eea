#include "crypto/secret_bytes.h"

#include <openssl/crypto.h>

#include <cstring>
#include <utility>

namespace bulwark::crypto {

SecretBytes::SecretBytes(std::size_t n) : data_(n == 0 ? nullptr : new std::uint8_t[n]()), size_(n) {}

SecretBytes SecretBytes::CopyFrom(std::span<const std::uint8_t> bytes) {
  SecretBytes out(bytes.size());
  if (!bytes.empty()) std::memcpy(out.data_.get(), bytes.data(), bytes.size());
  return out;
}

SecretBytes SecretBytes::FromString(std::string&& s) {
  SecretBytes out(s.size());
  if (!s.empty()) {
    std::memcpy(out.data_.get(), s.data(), s.size());
    OPENSSL_cleanse(s.data(), s.size());
  }
  s.clear();
  s.shrink_to_fit();
  return out;
}

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(std::move(other.data_)), size_(std::exchange(other.size_, 0)) {}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    Wipe();
    data_ = std::move(other.data_);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

SecretBytes::~SecretBytes() { Wipe(); }

SecretBytes SecretBytes::Clone() const { return CopyFrom(reveal_span()); }

std::string_view SecretBytes::reveal_string_view() const {
  if (size_ == 0) return {};
  return {reinterpret_cast<const char*>(data_.get()), size_};
}

bool SecretBytes::Equals(const SecretBytes& other) const {
  if (size_ != other.size_) return false;
  if (size_ == 0) return true;
  return CRYPTO_memcmp(data_.get(), other.data_.get(), size_) == 0;
}

void SecretBytes::Wipe() {
  if (data_ != nullptr) OPENSSL_cleanse(data_.get(), size_);
  data_.reset();
  size_ = 0;
}

}  // namespace bulwark::crypto

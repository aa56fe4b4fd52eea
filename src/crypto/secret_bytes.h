#pragma once
// SecretBytes: key material, passwords and plaintext of secrets.
//
// It owns its bytes on the heap, is move-only, and wipes them (OPENSSL_cleanse) when it is
// destroyed, assigned over, or moved from. It cannot be printed: streaming it is a compile error
// and there is no conversion to std::string. Reading the bytes takes a call whose name says what
// it does (`reveal_span()`), so a reviewer can grep for every place a secret leaves the type.
//
// Example:
//   BULWARK_ASSIGN_OR_RETURN(SecretBytes key, crypto::RandomSecret(32));
//   SecretBytes pw = SecretBytes::FromString(std::move(password_from_request));  // wipes source
//   if (key.Equals(other)) { ... }                                  // constant time
//   DoSomething(key.reveal_span());                                 // std::span<const uint8_t>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace bulwark::crypto {

class SecretBytes {
 public:
  // Empty secret (size 0).
  SecretBytes() = default;
  // `n` zero bytes, to be filled through reveal_mutable_span().
  explicit SecretBytes(std::size_t n);

  // Copies `bytes`; the caller still owns (and should wipe) the source.
  static SecretBytes CopyFrom(std::span<const std::uint8_t> bytes);
  // Copies the characters of `s`, then wipes `s` and leaves it empty. Takes an rvalue so the
  // caller gives up the string visibly.
  static SecretBytes FromString(std::string&& s);

  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  // The source is left empty; its bytes move with the buffer, no copy remains behind.
  SecretBytes(SecretBytes&& other) noexcept;
  // Wipes this object's bytes before taking `other`'s.
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  ~SecretBytes();

  // An explicit deep copy (copying a secret should be a decision, not an accident).
  SecretBytes Clone() const;

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // The bytes, for passing to a primitive. The span is valid until this object is destroyed,
  // moved from, or Wipe()d. Never log or persist what it points to.
  std::span<const std::uint8_t> reveal_span() const { return {data_.get(), size_}; }
  std::span<std::uint8_t> reveal_mutable_span() { return {data_.get(), size_}; }
  // The same bytes as characters (for passwords that a library wants as text).
  std::string_view reveal_string_view() const;

  // Constant-time in the contents; the sizes are not secret (different sizes: false at once).
  bool Equals(const SecretBytes& other) const;

  // Wipes and releases the bytes now; size() becomes 0.
  void Wipe();

 private:
  std::unique_ptr<std::uint8_t[]> data_;
  std::size_t size_ = 0;
};

// Deliberately not printable: `std::cout << secret` does not compile.
std::ostream& operator<<(std::ostream&, const SecretBytes&) = delete;

}  // namespace bulwark::crypto

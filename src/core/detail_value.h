#pragma once
// A plain value attached to a record by name: text, an integer or a boolean. The request
// context carries them (http::RequestContext::audit_details) for the audit stage to put on the
// request's record (audit::Event::details holds the same type), so transport and handlers
// need no audit type. docs/design.md "The request pipeline".
//
// A secret can never become one: building a DetailValue from crypto::SecretBytes does not
// compile. An immutable value type; thread-safe as any const object.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace bulwark::crypto {
class SecretBytes;
}

namespace bulwark::core {

class DetailValue {
 public:
  DetailValue(std::string_view v) : kind_(Kind::kText), text_(v) {}  // NOLINT: implicit by design
  DetailValue(const char* v) : kind_(Kind::kText), text_(v) {}       // NOLINT
  DetailValue(std::string v) : kind_(Kind::kText), text_(std::move(v)) {}  // NOLINT
  DetailValue(std::int64_t v) : kind_(Kind::kInt), int_(v) {}        // NOLINT
  DetailValue(int v) : kind_(Kind::kInt), int_(v) {}                 // NOLINT
  DetailValue(bool v) : kind_(Kind::kBool), bool_(v) {}              // NOLINT
  // A secret can never become a detail.
  DetailValue(const crypto::SecretBytes&) = delete;

  enum class Kind { kText, kInt, kBool };
  Kind kind() const { return kind_; }
  const std::string& text() const { return text_; }
  std::int64_t integer() const { return int_; }
  bool boolean() const { return bool_; }

 private:
  Kind kind_;
  std::string text_;
  std::int64_t int_ = 0;
  bool bool_ = false;
};

}  // namespace bulwark::core

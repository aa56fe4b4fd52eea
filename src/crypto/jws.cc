#include "crypto/jws.h"

#include <boost/json/value.hpp>
#include <utility>

#include "core/canonical_json.h"
#include "crypto/encoding.h"

namespace bulwark::crypto {
namespace {

Status Malformed() {
  return Status::InvalidArgument("malformed_jws", "the token is not a well-formed JWS");
}

StatusOr<boost::json::object> StrictObject(std::string_view b64) {
  StatusOr<std::vector<std::uint8_t>> raw = Base64UrlDecode(b64);
  if (!raw.ok()) return Malformed();
  StatusOr<boost::json::value> v =
      core::ParseStrictJson({reinterpret_cast<const char*>(raw->data()), raw->size()});
  if (!v.ok() || !v->is_object()) return Malformed();
  return std::move(v->as_object());
}

}  // namespace

StatusOr<CompactJws> ParseCompactJws(std::string_view token, std::size_t max_bytes) {
  if (token.empty() || token.size() > max_bytes) return Malformed();
  const std::size_t dot1 = token.find('.');
  if (dot1 == std::string_view::npos) return Malformed();
  const std::size_t dot2 = token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return Malformed();
  }
  const std::string_view header_b64 = token.substr(0, dot1);
  const std::string_view payload_b64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
  const std::string_view sig_b64 = token.substr(dot2 + 1);
  if (header_b64.empty() || payload_b64.empty() || sig_b64.empty()) return Malformed();

  CompactJws out;
  BULWARK_ASSIGN_OR_RETURN(out.header, StrictObject(header_b64));
  StatusOr<std::vector<std::uint8_t>> sig = Base64UrlDecode(sig_b64);
  if (!sig.ok()) return Malformed();
  out.signature = std::move(*sig);
  out.signing_input = token.substr(0, dot2);
  out.payload_b64 = payload_b64;
  return out;
}

StatusOr<boost::json::object> JwsPayloadObject(const CompactJws& jws) {
  return StrictObject(jws.payload_b64);
}

}  // namespace bulwark::crypto

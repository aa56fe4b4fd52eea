#include "identity/tokens.h"

#include <algorithm>

#include "core/ascii.h"
#include "crypto/random.h"

namespace bulwark::identity {

StatusOr<IssuedToken> NewToken(std::string_view prefix) {
  BULWARK_ASSIGN_OR_RETURN(std::string random, crypto::RandomTokenBase64Url(kTokenRandomBytes));
  IssuedToken t;
  t.text = std::string(prefix) + random;
  t.hash = crypto::Sha256(t.text);
  return t;
}

crypto::Digest256 HashToken(std::string_view text) { return crypto::Sha256(text); }

bool LooksLikeToken(std::string_view text, std::string_view prefix) {
  if (text.size() > kMaxTokenLength || !text.starts_with(prefix)) return false;
  const std::string_view rest = text.substr(prefix.size());
  if (rest.size() != 43) return false;  // 32 bytes, unpadded base64url
  return std::all_of(rest.begin(), rest.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  });
}

store::Value TokenHashValue(const crypto::Digest256& hash) {
  return store::Value::Bytes(std::span<const std::uint8_t>(hash));
}

StatusOr<std::optional<store::Value>> ConsumeOnce(store::Transaction& tx, std::string_view table,
                                                  std::string_view used_column,
                                                  std::string_view prefix, std::string_view token,
                                                  std::int64_t now) {
  if (!LooksLikeToken(token, prefix)) return std::optional<store::Value>();
  store::Value hash = TokenHashValue(HashToken(token));
  const std::string sql = "UPDATE " + std::string(table) + " SET " + std::string(used_column) +
                          " = ? WHERE token_hash = ? AND " + std::string(used_column) +
                          " IS NULL AND expires_at > ?";
  BULWARK_ASSIGN_OR_RETURN(std::int64_t changed,
                           tx.Exec(sql, {store::Value::Int(now), hash, store::Value::Int(now)}));
  if (changed != 1) return std::optional<store::Value>();
  return std::optional<store::Value>(std::move(hash));
}

StatusOr<std::string> NewId(std::string_view prefix) {
  BULWARK_ASSIGN_OR_RETURN(std::string hex, crypto::RandomHex(12));
  return std::string(prefix) + hex;
}

StatusOr<std::string> NormalizeEmail(std::string_view email) {
  while (!email.empty() && email.front() == ' ') email.remove_prefix(1);
  while (!email.empty() && email.back() == ' ') email.remove_suffix(1);
  const auto bad = [] {
    return Status::InvalidArgument("invalid_email", "not a valid email address");
  };
  if (email.empty() || email.size() > 254) return bad();
  const auto at = email.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 >= email.size() ||
      email.find('@', at + 1) != std::string_view::npos) {
    return bad();
  }
  const std::string_view domain = email.substr(at + 1);
  if (domain.find('.') == std::string_view::npos || domain.front() == '.' || domain.back() == '.')
    return bad();
  std::string out;
  out.reserve(email.size());
  for (char c : email) {
    const auto u = static_cast<unsigned char>(c);
    // Printable ASCII without the characters that would break a header or a display.
    if (u <= 0x20 || u >= 0x7F || c == '<' || c == '>' || c == '"' || c == ',' || c == ';' ||
        c == '\\')
      return bad();
    out.push_back(core::AsciiLower(c));
  }
  return out;
}

}  // namespace bulwark::identity

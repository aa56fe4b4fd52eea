#include "receipts/receipt.h"

#include <array>

#include "core/canonical_json.h"
#include "crypto/encoding.h"

namespace bulwark::receipts {

bool IsKnownKind(std::string_view k) {
  static constexpr std::array<std::string_view, 15> kKinds = {
      kind::kKeyRotate,        kind::kKeyRetire,        kind::kKeyRotateData,
      kind::kKeyRotateSigning, kind::kKeyRetireSigning, kind::kApiKeyCreate,
      kind::kApiKeyRevoke,     kind::kRoleChange,       kind::kDownloadGrant,
      kind::kBackupVerified,   kind::kLicenceActivated, kind::kIdpConfigChange,
      kind::kBreakglassStart,  kind::kBreakglassEnd,    kind::kDevSample};
  for (std::string_view known : kKinds) {
    if (k == known) return true;
  }
  return false;
}

bool IsReceiptId(std::string_view id) {
  if (id.size() != kReceiptIdPrefix.size() + 2 * kReceiptIdRandomBytes ||
      !id.starts_with(kReceiptIdPrefix)) {
    return false;
  }
  for (char c : id.substr(kReceiptIdPrefix.size())) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string Commitment(std::span<const std::uint8_t> salt, std::string_view value_canonical) {
  crypto::Sha256Hasher h;
  h.Update(salt);
  h.Update(value_canonical);
  return crypto::HexEncode(h.Finish());
}

namespace {

// Members are appended in RFC 8785 order by the callers below. The payload and disclosures were
// checked canonical (hence valid UTF-8) when issued or loaded, so appending cannot fail.
void AppendString(std::string& out, std::string_view s) {
  (void)core::AppendCanonicalString(out, s);
}

}  // namespace

std::string Receipt::FullJson() const {
  std::string out = "{\"disclosures\":";
  out += disclosures.empty() ? std::string("{}") : disclosures;
  out += ",\"payload\":";
  AppendString(out, payload);
  out += ",\"signature\":";
  AppendString(out, crypto::Base64Encode(signature));
  out += "}";
  return out;
}

std::string Receipt::ProjectionJson() const {
  std::string out = "{\"payload\":";
  AppendString(out, payload);
  out += ",\"signature\":";
  AppendString(out, crypto::Base64Encode(signature));
  out += "}";
  return out;
}

}  // namespace bulwark::receipts

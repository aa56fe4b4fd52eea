#include "receipts/verify.h"

#include <sys/stat.h>

#include <boost/json/value.hpp>
#include <fstream>
#include <sstream>
#include <utility>

#include "core/canonical_json.h"
#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "keyring/signing_keys.h"
#include "store/store.h"

namespace bulwark::receipts {
namespace {

namespace json = boost::json;

// Recomputed here from the format, not taken from receipt.h (see the header comment).
constexpr std::string_view kType = "bulwark.receipt.v1";
constexpr std::size_t kSaltBytes = 16;
constexpr std::size_t kMaxFileBytes = 256u * 1024 * 1024;

bool IsLowerHex(std::string_view s, std::size_t len) {
  if (s.size() != len) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

ReceiptReport Fail(ReceiptReport r, std::string reason, std::string detail) {
  r.ok = false;
  r.reason = std::move(reason);
  r.detail = std::move(detail);
  return r;
}

// A strictly parsed JSON value: no duplicate names, valid UTF-8, numbers a double holds.
bool StrictParse(std::string_view text, json::value& out) {
  StatusOr<json::value> v = core::ParseStrictJson(text);
  if (!v.ok()) return false;
  out = std::move(*v);
  return true;
}

const json::string* StringMember(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  return v != nullptr ? v->if_string() : nullptr;
}

// Rule 3: the payload's shape. Fills id, tenant, kind, seq, prev and the field counts.
ReceiptReport CheckPayload(ReceiptReport r, const json::object& p,
                           const std::string& verified_key_id, const json::object* disclosures) {
  static constexpr std::string_view kMembers[] = {"fields", "id",  "issued_at", "key_id", "kind",
                                                  "prev",   "seq", "tenant",    "type"};
  if (p.size() != std::size(kMembers))
    return Fail(std::move(r), "malformed", "the payload has unexpected members");
  for (std::string_view m : kMembers) {
    if (!p.contains(m))
      return Fail(std::move(r), "malformed", "the payload has no \"" + std::string(m) + "\"");
  }
  const json::string* type = StringMember(p, "type");
  const json::string* id = StringMember(p, "id");
  const json::string* tenant = StringMember(p, "tenant");
  const json::string* kind = StringMember(p, "kind");
  const json::string* issued = StringMember(p, "issued_at");
  const json::string* key_id = StringMember(p, "key_id");
  if (type == nullptr || *type != kType)
    return Fail(std::move(r), "malformed", "the payload is not bulwark.receipt.v1");
  if (id == nullptr || !id->starts_with("rcpt_") ||
      !IsLowerHex(std::string_view(*id).substr(std::min<std::size_t>(5, id->size())), 32)) {
    return Fail(std::move(r), "malformed", "the payload's id is not a receipt id");
  }
  r.id = std::string(*id);
  if (tenant == nullptr || tenant->empty() || kind == nullptr || kind->empty() ||
      issued == nullptr || key_id == nullptr) {
    return Fail(std::move(r), "malformed", "tenant, kind, issued_at and key_id must be strings");
  }
  r.tenant = std::string(*tenant);
  r.kind = std::string(*kind);
  const json::value& seq = p.at("seq");
  if (!seq.is_int64() || seq.as_int64() < 1)
    return Fail(std::move(r), "malformed", "seq must be an integer >= 1");
  r.seq = seq.as_int64();
  const json::value& prev = p.at("prev");
  if (prev.is_null()) {
    if (r.seq != 1) return Fail(std::move(r), "malformed", "prev is null but seq is not 1");
  } else if (!prev.is_string() || !IsLowerHex(prev.as_string(), 64) || r.seq == 1) {
    return Fail(std::move(r), "malformed",
                "prev must be 64 hex digits, and null exactly when seq is 1");
  } else {
    r.prev = std::string(prev.as_string());
  }
  if (*key_id != verified_key_id) {
    return Fail(
        std::move(r), "key_id_mismatch",
        "the payload names key " + std::string(*key_id) + " but was signed by " + verified_key_id);
  }
  const json::object* fields = p.at("fields").if_object();
  if (fields == nullptr) return Fail(std::move(r), "malformed", "fields must be an object");
  for (const auto& f : *fields) {
    const json::object* o = f.value().if_object();
    if (o == nullptr || !o->contains("_sd")) continue;
    const json::string* c = StringMember(*o, "_sd");
    if (o->size() != 1 || c == nullptr || !IsLowerHex(*c, 64)) {
      return Fail(std::move(r), "malformed",
                  "field \"" + std::string(f.key()) + "\" has a malformed commitment");
    }
    ++r.redacted;
  }
  // Rule 4: each disclosure opens its field's commitment.
  if (disclosures != nullptr) {
    for (const auto& d : *disclosures) {
      const std::string name(d.key());
      const json::value* field = fields->if_contains(name);
      const json::object* commitment = field != nullptr ? field->if_object() : nullptr;
      if (commitment == nullptr || !commitment->contains("_sd")) {
        return Fail(std::move(r), "disclosure_mismatch",
                    "disclosure \"" + name + "\" names no redacted field");
      }
      const json::object* disc = d.value().if_object();
      const json::string* salt_b64 = disc != nullptr ? StringMember(*disc, "salt") : nullptr;
      if (disc == nullptr || disc->size() != 2 || salt_b64 == nullptr || !disc->contains("value")) {
        return Fail(std::move(r), "malformed", "disclosure \"" + name + "\" is not {salt, value}");
      }
      auto salt = crypto::Base64Decode(*salt_b64);
      if (!salt.ok() || salt->size() != kSaltBytes) {
        return Fail(std::move(r), "malformed", "disclosure \"" + name + "\" has a malformed salt");
      }
      auto value = core::CanonicalJson(disc->at("value"));
      if (!value.ok())
        return Fail(std::move(r), "malformed", "disclosure \"" + name + "\" has a malformed value");
      crypto::Sha256Hasher h;
      h.Update(std::span<const std::uint8_t>(*salt));
      h.Update(*value);
      if (crypto::HexEncode(h.Finish()) != commitment->at("_sd").as_string()) {
        return Fail(std::move(r), "disclosure_mismatch",
                    "disclosure \"" + name + "\" does not match the signed commitment");
      }
      ++r.disclosed;
    }
  }
  r.ok = true;
  return r;
}

// The key named `kid` (crypto::Ed25519KeyId) among `trusted`, or nullptr.
const crypto::Ed25519PublicKey* TrustedKeyNamed(
    const std::vector<crypto::Ed25519PublicKey>& trusted, std::string_view kid) {
  for (const auto& k : trusted) {
    if (crypto::Ed25519KeyId(k) == kid) return &k;
  }
  return nullptr;
}

// Rule 2: the trusted key whose signature `sig` over `payload` is. A payload names its key
// (key_id), so after a rotation the one key of that kid is tried; a payload too damaged to name
// one is tried against each trusted key (it will then fail rule 3). nullptr, with `why`, if none
// verifies.
const crypto::Ed25519PublicKey* SignerOf(std::string_view payload,
                                         std::span<const std::uint8_t> sig,
                                         const std::vector<crypto::Ed25519PublicKey>& trusted,
                                         std::string& why) {
  json::value p;
  const json::string* kid = nullptr;
  if (StrictParse(payload, p) && p.is_object()) kid = StringMember(p.as_object(), "key_id");
  if (kid != nullptr) {
    const crypto::Ed25519PublicKey* k = TrustedKeyNamed(trusted, *kid);
    if (k == nullptr) {
      why = "the receipt names key " + std::string(*kid) + ", which is not among the " +
            std::to_string(trusted.size()) + " trusted key(s)";
      return nullptr;
    }
    if (crypto::Ed25519Verify(*k, crypto::AsBytes(payload), sig)) return k;
    why = "the signature does not verify under the trusted key " + std::string(*kid);
    return nullptr;
  }
  for (const auto& k : trusted) {
    if (crypto::Ed25519Verify(k, crypto::AsBytes(payload), sig)) return &k;
  }
  why = "the signature does not verify under any trusted key";
  return nullptr;
}

StatusOr<std::string> ReadFile(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return Status::Unavailable("unreadable", path + " is not a readable file");
  }
  if (static_cast<std::uint64_t>(st.st_size) > kMaxFileBytes) {
    return Status::InvalidArgument("too_large", path + " is too large");
  }
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::Unavailable("unreadable", path + " cannot be read");
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

ReceiptReport VerifyReceiptDocument(std::string_view document,
                                    const std::vector<crypto::Ed25519PublicKey>& trusted) {
  ReceiptReport r;
  json::value doc;
  if (!StrictParse(document, doc) || !doc.is_object()) {
    return Fail(std::move(r), "malformed", "not a JSON object (or duplicate names, invalid UTF-8)");
  }
  const json::object& o = doc.as_object();
  const json::string* payload = StringMember(o, "payload");
  const json::string* sig_b64 = StringMember(o, "signature");
  const json::value* disc = o.if_contains("disclosures");
  const std::size_t expected = disc != nullptr ? 3 : 2;
  if (payload == nullptr || sig_b64 == nullptr || o.size() != expected ||
      (disc != nullptr && !disc->is_object())) {
    return Fail(std::move(r), "malformed", "a receipt is {payload, signature[, disclosures]}");
  }
  r.hash = crypto::Sha256Hex(*payload);
  // Rule 2 before anything is read from the payload: altered bytes are a bad signature.
  auto sig = crypto::Base64Decode(*sig_b64);
  if (!sig.ok() || sig->size() != crypto::kEd25519SignatureSize) {
    return Fail(std::move(r), "malformed", "the signature is not base64 of 64 bytes");
  }
  std::string why;
  const crypto::Ed25519PublicKey* signer = SignerOf(*payload, *sig, trusted, why);
  if (signer == nullptr) {
    // Name the receipt if the payload is readable, so the report says which one failed.
    json::value p;
    if (StrictParse(*payload, p) && p.is_object()) {
      if (const json::string* id = StringMember(p.as_object(), "id")) r.id = std::string(*id);
    }
    return Fail(std::move(r), "bad_signature", why);
  }
  if (!core::IsCanonical(*payload))
    return Fail(std::move(r), "malformed", "the payload is not canonical JSON");
  json::value p;
  if (!StrictParse(*payload, p) || !p.is_object())
    return Fail(std::move(r), "malformed", "the payload is not an object");
  return CheckPayload(std::move(r), p.as_object(), crypto::Ed25519KeyId(*signer),
                      disc != nullptr ? &disc->as_object() : nullptr);
}

SeriesReport VerifyReceiptText(std::string_view text,
                               const std::vector<crypto::Ed25519PublicKey>& trusted) {
  SeriesReport out;
  std::vector<std::pair<std::string_view, std::size_t>> docs;  // document, line number
  json::value whole;
  if (StrictParse(text, whole)) {
    docs.emplace_back(text, 1);
  } else {
    std::size_t line_no = 0;
    std::size_t pos = 0;
    while (pos <= text.size()) {
      std::size_t nl = text.find('\n', pos);
      if (nl == std::string_view::npos) nl = text.size();
      std::string_view line = text.substr(pos, nl - pos);
      ++line_no;
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
        line.remove_suffix(1);
      while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
      if (!line.empty()) docs.emplace_back(line, line_no);
      pos = nl + 1;
    }
  }
  if (docs.empty()) {
    out.failed_id = "line 1";
    out.reason = "malformed";
    out.detail = "the file holds no receipt";
    return out;
  }
  for (std::size_t i = 0; i < docs.size(); ++i) {
    ReceiptReport r = VerifyReceiptDocument(docs[i].first, trusted);
    const std::string name = r.id.empty() ? "line " + std::to_string(docs[i].second) : r.id;
    if (r.ok && i > 0) {
      const ReceiptReport& before = out.receipts.back();
      if (r.tenant != before.tenant) {
        r = Fail(std::move(r), "tenant_mismatch",
                 "tenant " + r.tenant + " follows tenant " + before.tenant);
      } else if (r.seq != before.seq + 1) {
        r = Fail(std::move(r), "chain_gap",
                 "seq " + std::to_string(r.seq) + " follows seq " + std::to_string(before.seq) +
                     " (expected " + std::to_string(before.seq + 1) + ")");
      } else if (r.prev != before.hash) {
        r = Fail(std::move(r), "chain_broken",
                 "prev does not name the hash of seq " + std::to_string(before.seq));
      }
    }
    out.receipts.push_back(r);
    if (!r.ok) {
      out.failed_id = name;
      out.reason = r.reason;
      out.detail = r.detail;
      return out;
    }
  }
  out.ok = true;
  return out;
}

StatusOr<std::vector<crypto::Ed25519PublicKey>> ReadTrustedKeys(const std::string& pem_file) {
  BULWARK_ASSIGN_OR_RETURN(std::string text, ReadFile(pem_file));
  std::vector<crypto::Ed25519PublicKey> keys;
  constexpr std::string_view kBegin = "-----BEGIN PUBLIC KEY-----";
  constexpr std::string_view kEnd = "-----END PUBLIC KEY-----";
  std::size_t pos = 0;
  while ((pos = text.find(kBegin, pos)) != std::string::npos) {
    const std::size_t end = text.find(kEnd, pos);
    if (end == std::string::npos)
      return Status::InvalidArgument("invalid_key", "an unterminated PEM block");
    BULWARK_ASSIGN_OR_RETURN(crypto::Ed25519PublicKey k,
                             crypto::Ed25519PublicKeyFromPem(
                                 std::string_view(text).substr(pos, end + kEnd.size() - pos)));
    keys.push_back(k);
    pos = end + kEnd.size();
  }
  if (keys.empty())
    return Status::InvalidArgument("invalid_key", "no PEM public key in " + pem_file);
  return keys;
}

int RunReceiptVerify(const std::string& file, const std::string& pubkey_file, std::ostream& out,
                     std::ostream& err) {
  return RunReceiptVerify(
      file,
      pubkey_file.empty() ? std::vector<std::string>{} : std::vector<std::string>{pubkey_file},
      out, err);
}

int RunReceiptVerify(const std::string& file, const std::vector<std::string>& pubkey_files,
                     std::ostream& out, std::ostream& err) {
  if (file.empty() || pubkey_files.empty()) {
    err << "receipt verify: usage: bulwark receipt verify FILE --pubkey PEM_FILE [--pubkey ...]\n";
    return 2;
  }
  std::vector<crypto::Ed25519PublicKey> keys;
  for (const std::string& pubkey_file : pubkey_files) {
    auto more = ReadTrustedKeys(pubkey_file);
    if (!more.ok()) {
      err << "receipt verify: error: --pubkey: " << more.status().message() << "\n";
      return 2;
    }
    keys.insert(keys.end(), more->begin(), more->end());
  }
  auto text = ReadFile(file);
  if (!text.ok()) {
    err << "receipt verify: error: " << text.status().message() << "\n";
    return 2;
  }
  SeriesReport rep = VerifyReceiptText(*text, keys);
  for (const ReceiptReport& r : rep.receipts) {
    if (!r.ok) continue;
    out << "receipt verify: OK: " << r.id << " tenant " << r.tenant << " seq " << r.seq << " kind "
        << r.kind << " (" << r.redacted << " redacted, " << r.disclosed << " disclosed)\n";
  }
  if (!rep.ok) {
    err << "receipt verify: FAILED: " << rep.failed_id << ": " << rep.reason << ": " << rep.detail
        << "\n";
    return 1;
  }
  if (rep.receipts.size() > 1) {
    out << "receipt verify: OK: chain of " << rep.receipts.size() << " receipts of tenant "
        << rep.receipts.front().tenant << ", seq " << rep.receipts.front().seq << ".."
        << rep.receipts.back().seq << "\n";
  }
  return 0;
}

int RunReceiptPubkey(const store::Opener& database, std::ostream& out, std::ostream& err) {
  return RunReceiptPubkey(database, "", out, err);
}

int RunReceiptPubkey(const store::Opener& database, const std::string& kid, std::ostream& out,
                     std::ostream& err) {
  auto db = database();
  if (!db.ok()) {
    err << "receipt pubkey: error: " << db.status().message() << "\n";
    return 2;
  }
  auto tx = (*db)->Begin(store::TxMode::kRead);
  if (!tx.ok()) {
    err << "receipt pubkey: error: " << tx.status().message() << "\n";
    return 2;
  }
  auto tables = (*tx)->HasTable("receipt_signing_keys");
  if (!tables.ok() || !*tables) {
    err << "receipt pubkey: error: the database has no receipt tables\n";
    return 2;
  }
  auto rows = (*tx)->Query("SELECT key_id, " + store::BlobColumn(**db, "public_key") +
                           " FROM receipt_signing_keys ORDER BY created_at, key_id");
  if (!rows.ok()) {
    err << "receipt pubkey: error: " << rows.status().message() << "\n";
    return 2;
  }
  const auto retired = keyring::RetiredSigningKeys(**tx, keyring::SigningKind::kReceipt);
  int printed = 0;
  for (const store::Row& row : *rows) {
    if (!row[0].is_text() || !row[1].is_bytes() ||
        row[1].as_bytes().size() != crypto::kEd25519PublicKeySize)
      continue;
    if (!kid.empty() && row[0].as_text() != kid) continue;
    crypto::Ed25519PublicKey k{};
    std::copy(row[1].as_bytes().begin(), row[1].as_bytes().end(), k.begin());
    auto pem = crypto::Ed25519PublicKeyToPem(k);
    if (!pem.ok()) continue;
    out << "# " << row[0].as_text() << keyring::RetiredNote(retired, row[0].as_text()) << "\n"
        << *pem;
    ++printed;
  }
  if (!kid.empty() && printed == 0) {
    err << "receipt pubkey: error: no receipt signing key " << kid << "\n";
    return 1;
  }
  return 0;
}

}  // namespace bulwark::receipts

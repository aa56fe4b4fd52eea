#include "audit/verify.h"

#include <algorithm>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <deque>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "core/canonical_json.h"
#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "store/sqlite/sqlite_store.h"
#include "store/store.h"

namespace bulwark::audit {

std::string_view DamageKindName(DamageKind kind) {
  switch (kind) {
    case DamageKind::kNone:
      return "none";
    case DamageKind::kModifiedEntry:
      return "modified_entry";
    case DamageKind::kDeletedEntry:
      return "deleted_entry";
    case DamageKind::kInsertedEntry:
      return "inserted_entry";
    case DamageKind::kReorderedEntries:
      return "reordered_entries";
    case DamageKind::kTruncatedTail:
      return "truncated_tail";
    case DamageKind::kUnsigned:
      return "unsigned_ledger";
    case DamageKind::kBadCheckpointSignature:
      return "bad_checkpoint_signature";
    case DamageKind::kCheckpointMismatch:
      return "checkpoint_mismatch";
    case DamageKind::kMalformed:
      return "malformed";
    case DamageKind::kRolledBack:
      return "rolled_back";
    case DamageKind::kUnsignedTail:
      return "unsigned_tail";
  }
  return "unknown";
}

namespace {

using Bytes = std::vector<std::uint8_t>;
using crypto::Digest256;

constexpr std::string_view kGenesisPrefix = "bulwark-ledger-v1|";
constexpr std::string_view kCheckpointType = "bulwark.audit.checkpoint.v1";
constexpr std::int64_t kPageRows = 4096;

// Recomputed from the format, not taken from the writer (see the header comment).
Digest256 Genesis(std::string_view ledger_id) {
  crypto::Sha256Hasher h;
  h.Update(kGenesisPrefix);
  h.Update(ledger_id);
  return h.Finish();
}

Digest256 Link(crypto::Sha256Hasher& h, std::span<const std::uint8_t> prev,
               std::string_view entry) {
  h.Update(prev);
  h.Update(entry);
  return h.Finish();
}

bool Same(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

std::string Hex(std::span<const std::uint8_t> b) { return crypto::HexEncode(b); }

std::string S(std::int64_t v) { return std::to_string(v); }

// ---- Database source --------------------------------------------------------------------------

Bytes AsBlob(const store::Value& v) {
  if (v.is_bytes()) return v.as_bytes();
  if (v.is_text()) return Bytes(v.as_text().begin(), v.as_text().end());
  return {};
}

std::string AsString(const store::Value& v) {
  if (v.is_text()) return v.as_text();
  if (v.is_bytes()) return std::string(v.as_bytes().begin(), v.as_bytes().end());
  if (v.is_int()) return std::to_string(v.as_int());
  return {};
}

class DatabaseSource final : public LedgerSource {
 public:
  static StatusOr<std::unique_ptr<LedgerSource>> Open(std::unique_ptr<store::Store> db) {
    auto src = std::unique_ptr<DatabaseSource>(new DatabaseSource());
    src->store_ = std::move(db);
    BULWARK_ASSIGN_OR_RETURN(src->tx_, src->store_->Begin(store::TxMode::kRead));
    BULWARK_RETURN_IF_ERROR(src->Load());
    return std::unique_ptr<LedgerSource>(std::move(src));
  }

  const LedgerHeader& header() const override { return header_; }
  std::string_view origin() const override { return "database"; }

  StatusOr<bool> Next(LedgerItem& item) override {
    if (page_pos_ >= page_.size() && !entries_done_) BULWARK_RETURN_IF_ERROR(FetchPage());
    const bool have_row = page_pos_ < page_.size();
    const std::int64_t row_seq = have_row ? page_[page_pos_][0].as_int() : 0;
    if (next_cp_ < checkpoints_.size() && (!have_row || checkpoints_[next_cp_].size < row_seq)) {
      item.type = LedgerItem::Type::kCheckpoint;
      item.checkpoint = std::move(checkpoints_[next_cp_++]);
      return true;
    }
    if (!have_row) return false;
    store::Row& r = page_[page_pos_++];
    item.type = LedgerItem::Type::kEntry;
    item.entry.seq = row_seq;
    item.entry.entry = AsString(r[1]);
    item.entry.prev_hash = AsBlob(r[2]);
    item.entry.hash = AsBlob(r[3]);
    return true;
  }

 private:
  DatabaseSource() = default;

  Status Load() {
    for (const char* table :
         {"audit_ledger_meta", "audit_ledger", "audit_signing_keys", "audit_checkpoints"}) {
      BULWARK_ASSIGN_OR_RETURN(const bool present, tx_->HasTable(table));
      if (!present)
        return Status::FailedPrecondition("no_audit_ledger",
                                          "the database has no audit ledger tables");
    }
    BULWARK_ASSIGN_OR_RETURN(store::Rows meta,
                             tx_->Query("SELECT ledger_id FROM audit_ledger_meta"));
    if (meta.size() > 1) {
      header_.problem =
          "audit_ledger_meta has " + S(static_cast<std::int64_t>(meta.size())) + " rows, not one";
    } else if (meta.size() == 1) {
      header_.has_ledger_id = true;
      header_.ledger_id = AsString(meta[0][0]);
    }
    BULWARK_ASSIGN_OR_RETURN(store::Rows keys,
                             tx_->Query("SELECT key_id, " + BlobColumn("public_key") +
                                        " FROM audit_signing_keys ORDER BY created_at, key_id"));
    for (const store::Row& k : keys)
      header_.keys.push_back(LedgerKey{AsString(k[0]), AsBlob(k[1])});
    // Checkpoints are few (one per many entries) and are needed in size order to be interleaved.
    BULWARK_ASSIGN_OR_RETURN(
        store::Rows cps, tx_->Query("SELECT id, size, " + BlobColumn("head_hash") + ", " +
                                    BlobColumn("body") + ", key_id, " + BlobColumn("signature") +
                                    " FROM audit_checkpoints ORDER BY size, id"));
    for (const store::Row& c : cps) {
      LedgerCheckpoint cp;
      cp.id = c[0].is_int() ? c[0].as_int() : 0;
      cp.has_columns = true;
      // A size column holding something other than an integer cannot match any body: -1 makes
      // it disagree with the body, so the checkpoint is reported rather than skipped.
      cp.size = c[1].is_int() ? c[1].as_int() : -1;
      cp.head_hash = AsBlob(c[2]);
      cp.body = AsString(c[3]);
      cp.key_id = AsString(c[4]);
      cp.signature = AsBlob(c[5]);
      checkpoints_.push_back(std::move(cp));
    }
    return Status::Ok();
  }

  // Pages by seq inside the one read transaction: a consistent snapshot, bounded memory.
  Status FetchPage() {
    BULWARK_ASSIGN_OR_RETURN(
        page_,
        tx_->Query("SELECT seq, " + BlobColumn("entry") + ", " + BlobColumn("prev_hash") + ", " +
                       BlobColumn("hash") + " FROM audit_ledger WHERE seq > ? ORDER BY seq LIMIT ?",
                   {store::Value::Int(last_seq_), store::Value::Int(kPageRows)}));
    page_pos_ = 0;
    if (static_cast<std::int64_t>(page_.size()) < kPageRows) entries_done_ = true;
    if (!page_.empty()) last_seq_ = page_.back()[0].as_int();
    return Status::Ok();
  }

  std::string BlobColumn(std::string_view column) const {
    return store::BlobColumn(*store_, column);
  }

  std::unique_ptr<store::Store> store_;
  std::unique_ptr<store::Transaction> tx_;
  LedgerHeader header_;
  std::vector<LedgerCheckpoint> checkpoints_;
  std::size_t next_cp_ = 0;
  store::Rows page_;
  std::size_t page_pos_ = 0;
  std::int64_t last_seq_ = INT64_MIN;
  bool entries_done_ = false;
};

// ---- Export source ----------------------------------------------------------------------------

const boost::json::string* Str(const boost::json::object& o, std::string_view k) {
  const boost::json::value* v = o.if_contains(k);
  return v != nullptr ? v->if_string() : nullptr;
}

std::optional<std::int64_t> Int(const boost::json::object& o, std::string_view k) {
  const boost::json::value* v = o.if_contains(k);
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    return static_cast<std::int64_t>(v->get_uint64());
  }
  return std::nullopt;
}

// Text or, for bytes that are not UTF-8 (only in a damaged ledger), "<key>_base64".
std::optional<std::string> TextOrBase64(const boost::json::object& o, std::string_view k) {
  if (const boost::json::string* s = Str(o, k)) return std::string(s->data(), s->size());
  if (const boost::json::string* b = Str(o, std::string(k) + "_base64")) {
    auto raw = crypto::Base64Decode(std::string_view(b->data(), b->size()));
    if (raw.ok()) return std::string(raw->begin(), raw->end());
  }
  return std::nullopt;
}

std::optional<Bytes> Decoded(const boost::json::object& o, std::string_view k, bool hex) {
  const boost::json::string* s = Str(o, k);
  if (s == nullptr) return std::nullopt;
  std::string_view t(s->data(), s->size());
  auto raw = hex ? crypto::HexDecode(t) : crypto::Base64Decode(t);
  if (!raw.ok()) return std::nullopt;
  return std::move(raw).value();
}

// A {"type":"checkpoint",...} line's fields (the caller has checked the type).
std::optional<LedgerCheckpoint> CheckpointFrom(const boost::json::object& o) {
  std::optional<std::int64_t> id = Int(o, "id");
  std::optional<std::string> body = TextOrBase64(o, "body");
  const boost::json::string* key_id = Str(o, "key_id");
  std::optional<Bytes> sig = Decoded(o, "signature", /*hex=*/false);
  if (!id || !body || key_id == nullptr || !sig) return std::nullopt;
  LedgerCheckpoint cp;
  cp.id = *id;
  cp.body = std::move(*body);
  cp.key_id.assign(key_id->data(), key_id->size());
  cp.signature = std::move(*sig);
  return cp;
}

// "YYYY-MM-DDTHH:MM:SS[.fraction]Z" as microseconds since the epoch; nullopt for anything else.
std::optional<std::int64_t> UtcMicros(std::string_view t) {
  auto num = [&](std::size_t at, std::size_t len) -> std::optional<int> {
    if (at + len > t.size()) return std::nullopt;
    int v = 0;
    for (std::size_t i = at; i < at + len; ++i) {
      if (t[i] < '0' || t[i] > '9') return std::nullopt;
      v = v * 10 + (t[i] - '0');
    }
    return v;
  };
  if (t.size() < 20 || t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' ||
      t[16] != ':' || t.back() != 'Z') {
    return std::nullopt;
  }
  const auto y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2), mi = num(14, 2),
             sec = num(17, 2);
  if (!y || !mo || !d || !h || !mi || !sec || *h > 23 || *mi > 59 || *sec > 60) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year(*y),
                                        std::chrono::month(static_cast<unsigned>(*mo)),
                                        std::chrono::day(static_cast<unsigned>(*d))};
  if (!ymd.ok()) return std::nullopt;
  std::int64_t micros = 0;
  if (t.size() > 20) {  // ".f...fZ"
    if (t[19] != '.' || t.size() < 22) return std::nullopt;
    const std::string_view frac = t.substr(20, t.size() - 21);
    if (frac.size() > 9) return std::nullopt;
    std::int64_t scale = 100'000;
    for (char c : frac) {
      if (c < '0' || c > '9') return std::nullopt;
      micros += (c - '0') * scale;
      scale /= 10;
    }
  }
  const std::int64_t days = std::chrono::sys_days(ymd).time_since_epoch().count();
  return ((days * 24 + *h) * 60 + *mi) * 60'000'000LL + std::int64_t{*sec} * 1'000'000 + micros;
}

class ExportSource final : public LedgerSource {
 public:
  static StatusOr<std::unique_ptr<LedgerSource>> Open(const std::string& path) {
    auto src = std::unique_ptr<ExportSource>(new ExportSource());
    src->in_.open(path, std::ios::binary);
    if (!src->in_) return Status::Unavailable("export_unavailable", "cannot read the export file");
    std::string line;
    if (!std::getline(src->in_, line)) return NotAnExport();
    src->line_no_ = 1;
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(line, ec);
    if (ec || !v.is_object()) return NotAnExport();
    const boost::json::object& o = v.get_object();
    const boost::json::string* type = Str(o, "type");
    const boost::json::string* format = Str(o, "format");
    if (type == nullptr || *type != "header" || format == nullptr ||
        *format != "bulwark-audit-export-v1") {
      return NotAnExport();
    }
    LedgerHeader& h = src->header_;
    if (const boost::json::string* id = Str(o, "ledger_id")) {
      h.has_ledger_id = true;
      h.ledger_id.assign(id->data(), id->size());
    } else if (const boost::json::value* idv = o.if_contains("ledger_id");
               idv == nullptr || !idv->is_null()) {
      h.problem = "export header: ledger_id is not a string";
    }
    const boost::json::value* keys = o.if_contains("public_keys");
    if (keys == nullptr || !keys->is_array()) {
      h.problem = "export header: public_keys is not a list";
    } else {
      for (const boost::json::value& k : keys->get_array()) {
        const boost::json::object* ko = k.if_object();
        const boost::json::string* kid = ko != nullptr ? Str(*ko, "key_id") : nullptr;
        std::optional<Bytes> pub =
            ko != nullptr ? Decoded(*ko, "public_key", /*hex=*/false) : std::nullopt;
        if (kid == nullptr || !pub) {
          h.problem = "export header: a public key entry is not {key_id, public_key (base64)}";
          break;
        }
        h.keys.push_back(LedgerKey{std::string(kid->data(), kid->size()), std::move(*pub)});
      }
    }
    return std::unique_ptr<LedgerSource>(std::move(src));
  }

  const LedgerHeader& header() const override { return header_; }
  std::string_view origin() const override { return "export header"; }

  StatusOr<bool> Next(LedgerItem& item) override {
    std::string line;
    while (true) {
      if (!std::getline(in_, line)) {
        if (in_.bad())
          return Status::Unavailable("export_unavailable", "reading the export file failed");
        return false;
      }
      ++line_no_;
      if (!line.empty()) break;  // blank lines carry nothing
    }
    auto bad = [&](std::string why) {
      item.type = LedgerItem::Type::kMalformed;
      item.problem = "export line " + S(line_no_) + ": " + std::move(why);
      return true;
    };
    boost::json::monotonic_resource mr(buffer_, sizeof buffer_);
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(line, ec, &mr);
    if (ec || !v.is_object()) return bad("not a JSON object");
    const boost::json::object& o = v.get_object();
    const boost::json::string* type = Str(o, "type");
    if (type != nullptr && *type == "entry") {
      std::optional<std::int64_t> seq = Int(o, "seq");
      std::optional<std::string> entry = TextOrBase64(o, "entry");
      std::optional<Bytes> prev = Decoded(o, "prev_hash", /*hex=*/true);
      std::optional<Bytes> hash = Decoded(o, "hash", /*hex=*/true);
      if (!seq || !entry || !prev || !hash)
        return bad("an entry needs seq, entry, prev_hash (hex) and hash (hex)");
      item.type = LedgerItem::Type::kEntry;
      item.entry.seq = *seq;
      item.entry.entry = std::move(*entry);
      item.entry.prev_hash = std::move(*prev);
      item.entry.hash = std::move(*hash);
      return true;
    }
    if (type != nullptr && *type == "checkpoint") {
      std::optional<LedgerCheckpoint> cp = CheckpointFrom(o);
      if (!cp) return bad("a checkpoint needs id, body, key_id and signature (base64)");
      item.type = LedgerItem::Type::kCheckpoint;
      item.checkpoint = std::move(*cp);
      return true;
    }
    return bad("unknown line type");
  }

 private:
  ExportSource() = default;
  static Status NotAnExport() {
    return Status::InvalidArgument("not_an_export",
                                   "the file does not start with a bulwark audit export header");
  }

  std::ifstream in_;
  LedgerHeader header_;
  std::int64_t line_no_ = 0;
  unsigned char buffer_[8192];
};

// ---- The verifier -----------------------------------------------------------------------------

struct EntryFacts {
  bool json_ok = false;
  std::int64_t seq = 0;    // the entry's own "seq" when json_ok
  std::optional<std::int64_t> time_us;  // the entry's "time", when it is a UTC time
  bool canonical = false;  // the entry is exactly its RFC 8785 form
  std::string problem;     // why !json_ok
};

// A string as RFC 8785 writes it (the canonical module's escaper). Strings come from a parsed
// document, so they are valid UTF-8; if not, the entry cannot be canonical and the check fails.
void AppendJcsString(std::string_view str, std::string& out) {
  if (!core::AppendCanonicalString(out, str).ok()) out += "\x00invalid";
}

// RFC 8785 form of the value shapes an audit entry is made of (objects with ASCII member names,
// strings, integers within +-2^53, booleans, null, arrays), appended to `out`. Returns false for
// anything else (a fraction, a non-ASCII name, a larger integer): the caller then asks
// core::IsCanonical, which handles every value but costs several times more. An entry is
// canonical when this form reproduces it byte for byte; members must also come in strictly
// increasing order, which for ASCII names is the UTF-16 order RFC 8785 prescribes.
bool AppendCanonicalSubset(const boost::json::value& v, std::string& out, int depth) {
  if (depth > 64) return false;
  switch (v.kind()) {
    case boost::json::kind::null:
      out += "null";
      return true;
    case boost::json::kind::bool_:
      out += v.get_bool() ? "true" : "false";
      return true;
    case boost::json::kind::int64: {
      const std::int64_t i = v.get_int64();
      constexpr std::int64_t kMaxExact = std::int64_t{1} << 53;
      if (i > kMaxExact || i < -kMaxExact) return false;
      out += std::to_string(i);
      return true;
    }
    case boost::json::kind::uint64:
    case boost::json::kind::double_:
      return false;
    case boost::json::kind::string:
      AppendJcsString(std::string_view(v.get_string().data(), v.get_string().size()), out);
      return true;
    case boost::json::kind::array: {
      out += '[';
      bool first = true;
      for (const boost::json::value& e : v.get_array()) {
        if (!first) out += ',';
        first = false;
        if (!AppendCanonicalSubset(e, out, depth + 1)) return false;
      }
      out += ']';
      return true;
    }
    case boost::json::kind::object: {
      out += '{';
      std::string_view prev;
      bool first = true;
      for (const auto& m : v.get_object()) {
        const std::string_view key(m.key().data(), m.key().size());
        if (std::any_of(key.begin(), key.end(),
                        [](char c) { return static_cast<unsigned char>(c) >= 0x80; })) {
          return false;
        }
        if (!first && !(prev < key)) return false;
        if (!first) out += ',';
        first = false;
        prev = key;
        AppendJcsString(key, out);
        out += ':';
        if (!AppendCanonicalSubset(m.value(), out, depth + 1)) return false;
      }
      out += '}';
      return true;
    }
  }
  return false;
}

// One parse per entry; the DOM lives in a stack buffer, so the common case does not allocate.
EntryFacts Examine(std::string_view entry) {
  EntryFacts f;
  unsigned char buf[4096];
  boost::json::monotonic_resource mr(buf, sizeof buf);
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(entry, ec, &mr);
  if (ec) {
    f.problem = "entry is not JSON";
    return f;
  }
  if (!v.is_object()) {
    f.problem = "entry is not a JSON object";
    return f;
  }
  std::optional<std::int64_t> seq = Int(v.get_object(), "seq");
  if (!seq) {
    f.problem = "entry has no integer \"seq\"";
    return f;
  }
  f.json_ok = true;
  f.seq = *seq;
  if (const boost::json::string* t = Str(v.get_object(), "time")) {
    f.time_us = UtcMicros(std::string_view(t->data(), t->size()));
  }
  std::string form;
  form.reserve(entry.size());
  if (AppendCanonicalSubset(v, form, 0)) {
    f.canonical = form == entry;
  } else {
    f.canonical = core::IsCanonical(entry);
  }
  return f;
}

struct Buffered {
  LedgerItem item;
  std::optional<EntryFacts> facts;  // filled on first use
  const EntryFacts& Facts() {
    if (!facts) facts = Examine(item.entry.entry);
    return *facts;
  }
};

struct Finding {
  DamageKind kind = DamageKind::kNone;
  std::int64_t seq = 0;
  std::string detail;
};

struct CheckpointBody {
  std::string ledger_id;
  std::int64_t size = 0;
  Bytes head_hash;
  std::string key_id;
  std::optional<std::int64_t> time_us;
};

std::optional<CheckpointBody> ParseBody(std::string_view body, std::string& why) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) {
    why = "body is not a JSON object";
    return std::nullopt;
  }
  const boost::json::object& o = v.get_object();
  const boost::json::string* type = Str(o, "type");
  const boost::json::string* ledger = Str(o, "ledger_id");
  const boost::json::string* head = Str(o, "head_hash");
  const boost::json::string* key = Str(o, "key_id");
  std::optional<std::int64_t> size = Int(o, "size");
  if (type == nullptr || *type != kCheckpointType || ledger == nullptr || head == nullptr ||
      key == nullptr || !size || *size < 0 || Str(o, "time") == nullptr || o.size() != 6) {
    why = "body is not a bulwark.audit.checkpoint.v1 object";
    return std::nullopt;
  }
  auto hh = crypto::HexDecode(std::string_view(head->data(), head->size()));
  if (!hh.ok() || hh->size() != 32 ||
      crypto::HexEncode(*hh) != std::string_view(head->data(), head->size())) {
    why = "body head_hash is not 64 lowercase hex digits";
    return std::nullopt;
  }
  if (!core::IsCanonical(body)) {
    why = "body is not canonical JSON (RFC 8785)";
    return std::nullopt;
  }
  const boost::json::string* time = Str(o, "time");
  return CheckpointBody{std::string(ledger->data(), ledger->size()), *size, std::move(hh).value(),
                        std::string(key->data(), key->size()),
                        UtcMicros(std::string_view(time->data(), time->size()))};
}


// Key selection: a checkpoint names the key that signed it (key_id, crypto::Ed25519KeyId of the
// public key), so among trusted keys from before and after rotations that one is tried.
const crypto::Ed25519PublicKey* TrustedKeyFor(const std::vector<crypto::Ed25519PublicKey>& trusted,
                                              std::string_view key_id) {
  for (const crypto::Ed25519PublicKey& k : trusted) {
    if (crypto::Ed25519KeyId(k) == key_id) return &k;
  }
  return nullptr;
}

class Verifier {
 public:
  Verifier(LedgerSource& source, const std::vector<crypto::Ed25519PublicKey>& trusted,
           const VerifyOptions& options)
      : source_(source), trusted_(trusted), options_(options) {}

  StatusOr<VerifyReport> Run() {
    const LedgerHeader& h = source_.header();
    report_.keys_from_source = trusted_.empty();
    if (!h.problem.empty()) return Damage(DamageKind::kMalformed, 0, h.problem);
    if (h.has_ledger_id) {
      Digest256 g = Genesis(h.ledger_id);
      head_.assign(g.begin(), g.end());
    }
    prev_head_ = head_;
    if (options_.since) TrustCheckpoint(*options_.since);
    while (true) {
      if (buffer_.empty()) {
        BULWARK_ASSIGN_OR_RETURN(bool more, Pull());
        if (!more) break;
      }
      Buffered cur = std::move(buffer_.front());
      buffer_.pop_front();
      switch (cur.item.type) {
        case LedgerItem::Type::kMalformed:
          return Damage(DamageKind::kMalformed, n_ + 1, cur.item.problem);
        case LedgerItem::Type::kCheckpoint:
          OnCheckpoint(cur.item.checkpoint);
          break;
        case LedgerItem::Type::kEntry: {
          if (!h.has_ledger_id) {
            return Damage(DamageKind::kMalformed, n_ + 1,
                          "entries exist but the ledger has no ledger_id");
          }
          BULWARK_ASSIGN_OR_RETURN(std::optional<Finding> f, CheckEntry(cur));
          if (f) return Damage(f->kind, f->seq, std::move(f->detail));
          Accept(cur.item.entry);
          CheckTail(cur.Facts());
          break;
        }
      }
    }
    return Finish();
  }

 private:
  StatusOr<bool> Pull() {
    Buffered b;
    BULWARK_ASSIGN_OR_RETURN(bool more, source_.Next(b.item));
    if (more) buffer_.push_back(std::move(b));
    return more;
  }

  // The next entry after the current one (checkpoints in between stay buffered), or null.
  StatusOr<Buffered*> PeekEntry() {
    for (std::size_t i = 0;; ++i) {
      if (i == buffer_.size()) {
        BULWARK_ASSIGN_OR_RETURN(bool more, Pull());
        if (!more) return nullptr;
      }
      if (buffer_[i].item.type == LedgerItem::Type::kEntry) return &buffer_[i];
      if (buffer_[i].item.type == LedgerItem::Type::kMalformed) return nullptr;
    }
  }

  static std::optional<Finding> Found(DamageKind kind, std::int64_t seq, std::string detail) {
    return Finding{kind, seq, std::move(detail)};
  }

  StatusOr<std::optional<Finding>> CheckEntry(Buffered& cur) {
    const LedgerRow& row = cur.item.entry;
    const std::int64_t k = n_ + 1;
    const Digest256 computed = Link(hasher_, head_, row.entry);
    const bool linked = Same(row.prev_hash, head_);
    const bool hash_ok = Same(computed, row.hash);
    // Consistent with its own prev_hash: the row itself was not edited after it was hashed.
    const bool self_ok = linked ? hash_ok : Same(Link(hasher_, row.prev_hash, row.entry), row.hash);
    if (linked && hash_ok && row.seq == k) {
      const EntryFacts& f = cur.Facts();
      if (f.json_ok && f.seq == k) {  // the common case
        if (f.canonical) return std::optional<Finding>();
        return Found(DamageKind::kMalformed, k,
                     "entry " + S(k) + " is not canonical JSON (RFC 8785)");
      }
    }

    // 1. The row is not where its seq says.
    if (row.seq != k) {
      BULWARK_ASSIGN_OR_RETURN(Buffered * next, PeekEntry());
      if (row.seq == k + 1 && next != nullptr && next->item.entry.seq == k) {
        return Found(DamageKind::kReorderedEntries, k,
                     "rows " + S(k) + " and " + S(k + 1) + " are exchanged");
      }
      if (row.seq > k) {
        return Found(DamageKind::kDeletedEntry, k,
                     row.seq == k + 1
                         ? "entry " + S(k) + " is missing"
                         : "entries " + S(k) + " to " + S(row.seq - 1) + " are missing");
      }
      if (n_ >= 1 && Same(row.prev_hash, prev_head_)) {
        return Found(DamageKind::kInsertedEntry, k - 1,
                     "entry " + S(k - 1) + " is not in the chain: the next row (seq " + S(row.seq) +
                         ") links to entry " + S(k - 2) + " and repeats a seq");
      }
      return Found(DamageKind::kMalformed, k,
                   "row seq " + S(row.seq) + " appears after seq " + S(n_));
    }

    // 2. The entry's own seq disagrees with its position.
    const EntryFacts& facts = cur.Facts();
    if (facts.json_ok && facts.seq != k) {
      if (facts.seq == k + 1) {
        BULWARK_ASSIGN_OR_RETURN(Buffered * next, PeekEntry());
        if (next != nullptr && next->Facts().json_ok && next->Facts().seq == k) {
          return Found(DamageKind::kReorderedEntries, k,
                       "entries " + S(k) + " and " + S(k + 1) + " are exchanged");
        }
      }
      if (facts.seq == k - 1 && (!linked || self_ok)) {
        return Found(DamageKind::kInsertedEntry, k - 1,
                     "an entry was inserted at seq " + S(k - 1) + ": the original entry " +
                         S(k - 1) + " now sits at row " + S(k) + " and later rows were renumbered");
      }
      if (facts.seq > k && !linked && self_ok) {
        return Found(DamageKind::kDeletedEntry, k,
                     "row " + S(k) + " holds entry " + S(facts.seq) + ": entries " + S(k) + " to " +
                         S(facts.seq - 1) + " were deleted and later rows renumbered");
      }
    }

    // 3. This row links past the row before it: that row was inserted.
    if (!linked && n_ >= 1 && Same(row.prev_hash, prev_head_)) {
      return Found(DamageKind::kInsertedEntry, k - 1,
                   "entry " + S(k - 1) + " is not in the chain: entry " + S(k) +
                       " links to entry " + S(k - 2));
    }

    // 4. This row is bad and the next one links past it, or repeats its seq: this row was inserted.
    if (!(linked && hash_ok)) {
      BULWARK_ASSIGN_OR_RETURN(Buffered * next, PeekEntry());
      if (next != nullptr && (Same(next->item.entry.prev_hash, head_) ||
                              (next->Facts().json_ok && next->Facts().seq == k))) {
        return Found(
            DamageKind::kInsertedEntry, k,
            "entry " + S(k) + " is not in the chain: the next row links to entry " + S(k - 1));
      }
    }

    // 5. A broken link.
    if (!linked) {
      if (n_ == 0) {
        return Found(DamageKind::kModifiedEntry, 1,
                     "prev_hash of entry 1 is not the genesis value of ledger " +
                         source_.header().ledger_id);
      }
      if (self_ok) {
        return Found(DamageKind::kModifiedEntry, k - 1,
                     "entry " + S(k - 1) + " was rewritten and its hash recomputed: entry " + S(k) +
                         "'s prev_hash still names the original (" + Hex(row.prev_hash) + ")");
      }
      return Found(DamageKind::kModifiedEntry, k,
                   "the prev_hash stored with entry " + S(k) + " was altered");
    }
    // 6. The entry itself.
    if (!hash_ok) {
      return Found(DamageKind::kModifiedEntry, k,
                   "SHA-256(prev_hash || entry) is " + Hex(computed) + ", the stored hash is " +
                       Hex(row.hash));
    }
    // 7. The chain holds; the content does not.
    if (!facts.json_ok) return Found(DamageKind::kMalformed, k, facts.problem);
    return Found(DamageKind::kMalformed, k, "entry " + S(k) + " says \"seq\":" + S(facts.seq));
  }

  void Accept(const LedgerRow& row) {
    ++n_;
    report_.bytes += static_cast<std::int64_t>(row.entry.size());
    prev_head_ = std::move(head_);
    head_ = row.hash;  // equal to the recomputed hash: CheckEntry found no difference
    auto it = pending_.find(n_);
    if (it != pending_.end()) {
      for (const Pending& p : it->second) CompareHead(p.id, n_, p.head);
      pending_.erase(it);
    }
    if (anchor_ && anchor_->size == n_) CompareAnchor();
  }

  // ---- The trusted checkpoint (VerifyOptions::since) ----

  void TrustCheckpoint(const LedgerCheckpoint& cp) {
    const std::string name = "the trusted checkpoint (key_id " + cp.key_id + ")";
    std::string why;
    std::optional<CheckpointBody> body = ParseBody(cp.body, why);
    const std::int64_t size = body ? body->size : 0;
    if (!SignatureValid(cp)) {
      Note(bad_signature_, DamageKind::kBadCheckpointSignature, size,
           name + ": its signature does not verify under " +
               (trusted_.empty() ? "the ledger's key of that key_id" : "any trusted key"));
      return;
    }
    if (!body) {
      Note(bad_body_, DamageKind::kMalformed, size, name + ": " + why);
      return;
    }
    if (body->ledger_id != source_.header().ledger_id || body->key_id != cp.key_id) {
      Note(mismatch_, DamageKind::kCheckpointMismatch, size,
           name + " belongs to ledger " + body->ledger_id + ", not to " +
               source_.header().ledger_id);
      return;
    }
    anchor_ = std::move(body);
    if (anchor_->size == 0) CompareAnchor();
  }

  void CompareAnchor() {
    const std::int64_t size = anchor_->size;
    if (Same(anchor_->head_hash, head_)) {
      anchor_reached_ = true;
      signed_through_ = std::max(signed_through_, size);
      StartTail(size, anchor_->time_us);
      return;
    }
    Note(mismatch_, DamageKind::kCheckpointMismatch, size,
         "the trusted checkpoint signs head " + Hex(anchor_->head_hash) + " for size " + S(size) +
             ", the ledger's hash at that size is " + Hex(head_) +
             ": the history it vouches for was rewritten");
  }

  // ---- The unsigned tail (VerifyOptions::tail) ----

  // A valid checkpoint vouches for the first `size` entries: what follows is the tail again.
  void StartTail(std::int64_t size, std::optional<std::int64_t> time_us) {
    if (size < tail_from_) return;
    tail_from_ = size;
    tail_time_us_ = time_us;
    tail_excess_ = Finding{};
  }

  void CheckTail(const EntryFacts& facts) {
    const TailPolicy& p = options_.tail;
    if (n_ <= tail_from_ || tail_excess_.kind != DamageKind::kNone) return;
    std::string problem;
    if (p.max_entries > 0 && n_ - tail_from_ > p.max_entries) {
      problem = "more than " + S(p.max_entries) + " entries are unsigned " + After();
    } else if (p.max_age_us > 0 && tail_time_us_ && !facts.time_us) {
      problem = "unsigned entry " + S(n_) + " " + After() + " has no UTC time";
    } else if (p.max_age_us > 0 && tail_time_us_ && *facts.time_us - *tail_time_us_ > p.max_age_us) {
      problem = "unsigned entry " + S(n_) + " " + After() + " is dated " +
                S((*facts.time_us - *tail_time_us_) / 1'000'000) +
                " s after that checkpoint; the policy allows " + S(p.max_age_us / 1'000'000) + " s";
    } else {
      return;
    }
    tail_excess_ = Finding{
        DamageKind::kUnsignedTail, n_,
        problem + ": the entries after seq " + S(tail_from_) +
            " may have been rewritten and the checkpoints covering them deleted (a running server "
            "signs at least every audit.checkpoint_every entries and audit.checkpoint_interval_ms)"};
  }

  std::string After() const {
    return tail_from_ == 0 ? std::string("with no valid checkpoint before them")
                           : "after the last valid checkpoint (size " + S(tail_from_) + ")";
  }


  // ---- Checkpoints ----

  struct Pending {
    std::int64_t id;
    Bytes head;
  };

  void Note(Finding& slot, DamageKind kind, std::int64_t seq, std::string detail) {
    if (slot.kind == DamageKind::kNone) slot = Finding{kind, seq, std::move(detail)};
  }

  bool SignatureValid(const LedgerCheckpoint& cp) const {
    const auto body = crypto::AsBytes(cp.body);
    if (!trusted_.empty()) {
      if (const crypto::Ed25519PublicKey* k = TrustedKeyFor(trusted_, cp.key_id)) {
        return crypto::Ed25519Verify(*k, body, cp.signature);
      }
      // A key_id that is not a kid Bulwark computes (a ledger written by another tool): any
      // trusted key may have signed it.
      return std::any_of(trusted_.begin(), trusted_.end(), [&](const crypto::Ed25519PublicKey& k) {
        return crypto::Ed25519Verify(k, body, cp.signature);
      });
    }
    for (const LedgerKey& k : source_.header().keys) {
      if (k.key_id == cp.key_id) return crypto::Ed25519Verify(k.public_key, body, cp.signature);
    }
    return false;
  }

  void OnCheckpoint(const LedgerCheckpoint& cp) {
    ++report_.checkpoints;
    std::string why;
    std::optional<CheckpointBody> body = ParseBody(cp.body, why);
    const std::int64_t size = cp.has_columns ? cp.size : (body ? body->size : 0);
    const std::string name = "checkpoint " + S(cp.id) + " (size " + S(size) + ")";
    if (!SignatureValid(cp)) {
      std::string d = name + ": the signature does not verify under ";
      if (!trusted_.empty()) {
        d += TrustedKeyFor(trusted_, cp.key_id) != nullptr
                 ? "the trusted key " + cp.key_id
                 : "any trusted key (none has its key_id " + cp.key_id + ")";
      } else {
        const auto& keys = source_.header().keys;
        const bool known = std::any_of(keys.begin(), keys.end(),
                                       [&](const LedgerKey& k) { return k.key_id == cp.key_id; });
        d += known ? "key " + cp.key_id : "an unknown key_id " + cp.key_id;
      }
      Note(bad_signature_, DamageKind::kBadCheckpointSignature, size, std::move(d));
      return;
    }
    if (!body) {
      Note(bad_body_, DamageKind::kMalformed, size, name + ": " + why);
      return;
    }
    if (body->ledger_id != source_.header().ledger_id) {
      Note(mismatch_, DamageKind::kCheckpointMismatch, size,
           name + " belongs to ledger " + body->ledger_id);
      return;
    }
    if (body->key_id != cp.key_id ||
        (cp.has_columns && (cp.size != body->size || !Same(cp.head_hash, body->head_hash)))) {
      Note(mismatch_, DamageKind::kCheckpointMismatch, size,
           name + ": its stored columns disagree with its signed body");
      return;
    }
    checkpoint_times_[cp.id] = body->time_us;
    if (body->size == n_) {
      CompareHead(cp.id, n_, body->head_hash);
    } else if (body->size > n_) {
      pending_[body->size].push_back(Pending{cp.id, body->head_hash});
    } else {
      Note(bad_body_, DamageKind::kMalformed, size,
           name + " is out of place: it follows entry " + S(n_) + ", not entry " + S(body->size));
    }
  }

  void CompareHead(std::int64_t id, std::int64_t size, const Bytes& signed_head) {
    if (Same(signed_head, head_)) {
      signed_through_ = std::max(signed_through_, size);
      auto it = checkpoint_times_.find(id);
      std::optional<std::int64_t> time;
      if (it != checkpoint_times_.end()) {
        time = it->second;
        checkpoint_times_.erase(it);
      }
      StartTail(size, time);
      return;
    }
    Note(mismatch_, DamageKind::kCheckpointMismatch, size,
         "checkpoint " + S(id) + " signs head " + Hex(signed_head) + " for size " + S(size) +
             ", the ledger's hash at that size is " + Hex(head_));
  }

  StatusOr<VerifyReport> Finish() {
    if (!pending_.empty()) {
      const auto& last = *pending_.rbegin();
      Note(truncated_, DamageKind::kTruncatedTail, n_ + 1,
           "signed checkpoint " + S(last.second.front().id) + " covers " + S(last.first) +
               " entries, only " + S(n_) + " are present");
    }
    for (Finding* f : {&bad_signature_, &bad_body_, &mismatch_, &truncated_}) {
      if (f->kind != DamageKind::kNone) return Damage(f->kind, f->seq, std::move(f->detail));
    }
    if (anchor_ && !anchor_reached_) {
      return Damage(DamageKind::kRolledBack, n_ + 1,
                    "the trusted checkpoint covers " + S(anchor_->size) + " entries, the ledger " +
                        "holds only " + S(n_) +
                        ": it was rolled back to an older copy or truncated");
    }
    // A chain rebuilt from genesis by someone without the signing key has no checkpoint a trusted
    // key verifies: with trusted keys, entries with no such checkpoint at all are refused.
    if (!trusted_.empty() && n_ > 0 && signed_through_ == 0) {
      return Damage(
          DamageKind::kUnsigned, 1,
          "no checkpoint signed by a trusted key covers any of the " + S(n_) +
              " entries (the ledger may have been rebuilt; a running server checkpoints every "
              "audit.checkpoint_every entries and at shutdown)");
    }
    if (tail_excess_.kind != DamageKind::kNone) {
      return Damage(tail_excess_.kind, tail_excess_.seq, std::move(tail_excess_.detail));
    }
    report_.ok = true;
    report_.kind = DamageKind::kNone;
    report_.seq = 0;
    report_.entries = n_;
    report_.head_hash = Hex(head_);
    if (trusted_.empty()) {
      report_.detail = "checkpoint signatures checked only against the " +
                       S(static_cast<std::int64_t>(source_.header().keys.size())) +
                       " key(s) in the " + std::string(source_.origin()) +
                       " itself; give a trusted public key (--pubkey) for independent assurance";
    } else {
      report_.detail = "checkpoint signatures checked against " +
                       S(static_cast<std::int64_t>(trusted_.size())) +
                       " trusted key(s); signed through seq " + S(signed_through_) + " of " + S(n_);
    }
    if (anchor_) {
      report_.detail += "; extends the trusted checkpoint of size " + S(anchor_->size);
    }
    return report_;
  }

  StatusOr<VerifyReport> Damage(DamageKind kind, std::int64_t seq, std::string detail) {
    report_.ok = false;
    report_.kind = kind;
    report_.seq = seq;
    report_.detail = std::move(detail);
    report_.entries = n_;
    report_.head_hash = Hex(head_);
    return report_;
  }

  std::int64_t signed_through_ = 0;  // the largest size a valid checkpoint vouches for
  LedgerSource& source_;
  const std::vector<crypto::Ed25519PublicKey>& trusted_;
  const VerifyOptions& options_;
  std::optional<CheckpointBody> anchor_;  // the trusted checkpoint, once its signature held
  bool anchor_reached_ = false;
  std::map<std::int64_t, std::optional<std::int64_t>> checkpoint_times_;  // by checkpoint id
  std::int64_t tail_from_ = 0;                // entries up to here are vouched for
  std::optional<std::int64_t> tail_time_us_;  // the time of the checkpoint that vouches
  Finding tail_excess_;                       // the first entry past the allowance
  crypto::Sha256Hasher hasher_;  // reused: Finish() resets it
  VerifyReport report_;
  std::deque<Buffered> buffer_;
  std::int64_t n_ = 0;  // entries verified so far
  Bytes head_;          // hash of entry n_ (genesis when 0)
  Bytes prev_head_;     // hash of entry n_-1
  std::map<std::int64_t, std::vector<Pending>>
      pending_;  // checkpoints ahead of the stream, by size
  Finding bad_signature_, bad_body_, mismatch_, truncated_;
};

StatusOr<std::vector<crypto::Ed25519PublicKey>> ReadTrustedKeys(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::Unavailable("pubkey_unavailable", "cannot read the public key file");
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string text = ss.str();
  constexpr std::string_view kBegin = "-----BEGIN PUBLIC KEY-----";
  std::vector<crypto::Ed25519PublicKey> keys;
  for (std::size_t at = text.find(kBegin); at != std::string::npos;
       at = text.find(kBegin, at + 1)) {
    BULWARK_ASSIGN_OR_RETURN(crypto::Ed25519PublicKey k,
                             crypto::Ed25519PublicKeyFromPem(std::string_view(text).substr(at)));
    keys.push_back(k);
  }
  if (keys.empty())
    return Status::InvalidArgument("invalid_key", "the public key file holds no PEM public key");
  return keys;
}

}  // namespace

StatusOr<std::unique_ptr<LedgerSource>> OpenStoreSource(std::unique_ptr<store::Store> store) {
  return DatabaseSource::Open(std::move(store));
}

StatusOr<std::unique_ptr<LedgerSource>> OpenDatabaseSource(const std::string& db_path) {
  BULWARK_ASSIGN_OR_RETURN(std::unique_ptr<store::Store> db, store::OpenSqliteFileAsIs(db_path));
  return OpenStoreSource(std::move(db));
}

StatusOr<std::unique_ptr<LedgerSource>> OpenExportSource(const std::string& export_path) {
  return ExportSource::Open(export_path);
}

TailPolicy TailPolicyFor(std::int64_t checkpoint_every, std::int64_t checkpoint_interval_ms) {
  return TailPolicy{.max_entries = checkpoint_every,
                    .max_age_us = (checkpoint_interval_ms + kTailSlackSeconds * 1000) * 1000};
}

StatusOr<CheckpointClaim> OpenTrustedCheckpoint(const LedgerCheckpoint& cp,
                                               const std::vector<crypto::Ed25519PublicKey>& keys) {
  const auto body = crypto::AsBytes(cp.body);
  if (std::none_of(keys.begin(), keys.end(), [&](const crypto::Ed25519PublicKey& k) {
        return crypto::Ed25519Verify(k, body, cp.signature);
      })) {
    return Status::InvalidArgument("checkpoint_signature_invalid",
                                   "the checkpoint's signature does not verify under the ledger's key");
  }
  return ReadCheckpointBody(cp.body);
}

StatusOr<CheckpointClaim> ReadCheckpointBody(std::string_view body) {
  std::string why;
  std::optional<CheckpointBody> b = ParseBody(body, why);
  if (!b) return Status::InvalidArgument("checkpoint_malformed", "the checkpoint's " + why);
  return CheckpointClaim{std::move(b->ledger_id), b->size, std::move(b->head_hash),
                         std::move(b->key_id)};
}

StatusOr<LedgerCheckpoint> ParseCheckpointLine(std::string_view line) {
  const Status bad = Status::InvalidArgument(
      "not_a_checkpoint",
      "not a checkpoint line as `bulwark audit export` writes it ({\"type\":\"checkpoint\",...})");
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(line, ec);
  if (ec || !v.is_object()) return bad;
  const boost::json::string* type = Str(v.get_object(), "type");
  if (type == nullptr || *type != "checkpoint") return bad;
  std::optional<LedgerCheckpoint> cp = CheckpointFrom(v.get_object());
  if (!cp) return bad;
  return std::move(*cp);
}

StatusOr<LedgerCheckpoint> ReadCheckpointFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::Unavailable("checkpoint_unavailable", "cannot read " + path);
  std::string line;
  while (std::getline(f, line)) {
    if (line.find_first_not_of(" \t\r") != std::string::npos) return ParseCheckpointLine(line);
  }
  if (f.bad()) return Status::Unavailable("checkpoint_unavailable", "cannot read " + path);
  return ParseCheckpointLine("");
}

StatusOr<VerifyReport> VerifyLedger(LedgerSource& source,
                                    const std::vector<crypto::Ed25519PublicKey>& trusted,
                                    const VerifyOptions& options) {
  Verifier v(source, trusted, options);
  return v.Run();
}

StatusOr<VerifyReport> VerifyDatabase(const std::string& db_path,
                                      const std::vector<crypto::Ed25519PublicKey>& trusted,
                                      const VerifyOptions& options) {
  return VerifyStore([&] { return store::OpenSqliteFileAsIs(db_path); }, trusted, options);
}

StatusOr<VerifyReport> VerifyStore(const store::Opener& database,
                                   const std::vector<crypto::Ed25519PublicKey>& trusted,
                                   const VerifyOptions& options) {
  BULWARK_ASSIGN_OR_RETURN(std::unique_ptr<store::Store> db, database());
  BULWARK_ASSIGN_OR_RETURN(std::unique_ptr<LedgerSource> src, OpenStoreSource(std::move(db)));
  return VerifyLedger(*src, trusted, options);
}

StatusOr<VerifyReport> VerifyExport(const std::string& export_path,
                                    const std::vector<crypto::Ed25519PublicKey>& trusted,
                                    const VerifyOptions& options) {
  BULWARK_ASSIGN_OR_RETURN(std::unique_ptr<LedgerSource> src, OpenExportSource(export_path));
  return VerifyLedger(*src, trusted, options);
}

int RunAuditVerify(const store::Opener& database, const std::string& export_file,
                   const std::string& pubkey_pem_file, std::ostream& out, std::ostream& err,
                   const std::string& since_checkpoint_file, const TailPolicy& tail) {
  return RunAuditVerify(database, export_file,
                        pubkey_pem_file.empty() ? std::vector<std::string>{}
                                                : std::vector<std::string>{pubkey_pem_file},
                        out, err, since_checkpoint_file, tail);
}

int RunAuditVerify(const store::Opener& database, const std::string& export_file,
                   const std::vector<std::string>& pubkey_pem_files, std::ostream& out,
                   std::ostream& err,
                   const std::string& since_checkpoint_file, const TailPolicy& tail) {
  if (static_cast<bool>(database) == !export_file.empty()) {
    err << "audit verify: error: give either the database (--data, --config) or --export\n";
    return 2;
  }
  std::vector<crypto::Ed25519PublicKey> trusted;
  for (const std::string& pubkey_pem_file : pubkey_pem_files) {
    auto keys = ReadTrustedKeys(pubkey_pem_file);
    if (!keys.ok()) {
      err << "audit verify: error: " << keys.status().ToString() << "\n";
      return 2;
    }
    trusted.insert(trusted.end(), keys->begin(), keys->end());
  }
  VerifyOptions options{.tail = tail};
  if (!since_checkpoint_file.empty()) {
    auto cp = ReadCheckpointFile(since_checkpoint_file);
    if (!cp.ok()) {
      err << "audit verify: error: " << cp.status().ToString() << "\n";
      return 2;
    }
    options.since = std::move(cp).value();
  }
  const auto start = std::chrono::steady_clock::now();
  StatusOr<VerifyReport> r = Status::Internal("unreachable");
  if (!export_file.empty()) {
    r = VerifyExport(export_file, trusted, options);
  } else {
    r = VerifyStore(database, trusted, options);
  }
  if (!r.ok()) {
    err << "audit verify: error: " << r.status().ToString() << "\n";
    return 2;
  }
  if (!r->ok) {
    err << "audit verify: FAILED: " << DamageKindName(r->kind) << " at seq " << r->seq << ": "
        << r->detail << "\n";
    return 1;
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto rate =
      static_cast<std::int64_t>(secs > 0 ? static_cast<double>(r->entries) / secs : 0.0);
  out << "audit verify: OK: " << r->entries << " entries, " << r->checkpoints
      << " checkpoints, head " << r->head_hash << ", " << rate << " entries/s\n";
  if (r->keys_from_source) {
    err << "audit verify: warning: " << r->detail << "\n";
  } else {
    out << "audit verify: " << r->detail << "\n";
  }
  return 0;
}

}  // namespace bulwark::audit

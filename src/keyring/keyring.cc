#include "keyring/keyring.h"

#include <string>

#include "core/clock.h"
#include "crypto/aead.h"
#include "crypto/compare.h"
#include "crypto/hash.h"
#include "crypto/kdf.h"
#include "crypto/random.h"
#include "keyring/internal.h"

namespace bulwark::keyring {
namespace internal {

using crypto::SecretBytes;

namespace {

constexpr std::string_view kCheckLabel = "bulwark keyring check v1";

bool IsRawKindName(std::string_view n) { return n == "base64" || n == "file"; }

Status Malformed() { return Status::Integrity("the keyring_kek row is malformed"); }

}  // namespace

Status WrongMasterKey(std::string detail) {
  return Status::FailedPrecondition(
      "wrong_master_key", "the master key does not match the one this data was sealed with (" +
                              std::move(detail) +
                              "); nothing was changed. Start with the original master key.");
}

crypto::Digest256 CheckValue(const SecretBytes& kek) {
  return crypto::HmacSha256(kek.reveal_span(), crypto::AsBytes(kCheckLabel));
}

StatusOr<std::optional<SecretBytes>> CheckSource(const MasterKeySource& source) {
  if (source.kind == MasterKeySourceKind::kPassword) {
    if (source.pbkdf2_iterations < kMinPbkdf2Iterations) {
      return Status::InvalidArgument(
          "weak_kdf_iterations",
          "PBKDF2 iterations for the master password must be at least 100000");
    }
    if (source.material.empty()) {
      return Status::InvalidArgument("invalid_master_key", "the master password is empty");
    }
    return std::optional<SecretBytes>();
  }
  if (source.kind == MasterKeySourceKind::kFile) {
    BULWARK_ASSIGN_OR_RETURN(SecretBytes k, ReadKeyFile(source.file_path));
    return std::optional<SecretBytes>(std::move(k));
  }
  std::string_view text = source.material.reveal_string_view();
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
    text.remove_suffix(1);
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  BULWARK_ASSIGN_OR_RETURN(SecretBytes k, DecodeBase64Kek(text));
  return std::optional<SecretBytes>(std::move(k));
}

bool SameKindClass(MasterKeySourceKind kind, const KekRow& row) {
  return IsRawKindName(row.source_kind) == (kind != MasterKeySourceKind::kPassword);
}

StatusOr<SecretBytes> KekForRow(const MasterKeySource& source,
                                const std::optional<SecretBytes>& raw, const KekRow& row) {
  if (raw.has_value()) return raw->Clone();
  return crypto::Pbkdf2HmacSha256(source.material.reveal_span(), row.salt, row.iterations,
                                  kKekSize);
}

bool KekMatches(const SecretBytes& kek, const KekRow& row) {
  return crypto::ConstantTimeEquals(CheckValue(kek), row.check_value);
}

StatusOr<std::vector<KekRow>> ReadKekRows(store::Transaction& tx) {
  BULWARK_ASSIGN_OR_RETURN(
      store::Rows rows,
      tx.Query("SELECT version, source_kind, salt, iterations, check_value, created_at, "
               "retired_at FROM keyring_kek ORDER BY version DESC"));
  std::vector<KekRow> out;
  out.reserve(rows.size());
  for (const store::Row& r : rows) {
    if (r.size() != 7 || !r[0].is_int() || !r[1].is_text() || !r[4].is_bytes() || !r[5].is_text() ||
        !(r[6].is_null() || r[6].is_text())) {
      return Malformed();
    }
    if (r[0].as_int() < 1 || r[0].as_int() > UINT32_MAX) return Malformed();
    KekRow row;
    row.version = static_cast<std::uint32_t>(r[0].as_int());
    row.source_kind = r[1].as_text();
    row.check_value = r[4].as_bytes();
    row.created_at = r[5].as_text();
    if (r[6].is_text()) row.retired_at = r[6].as_text();
    if (row.source_kind == "password") {
      if (!r[2].is_bytes() || r[2].as_bytes().size() < kSaltSize || !r[3].is_int() ||
          r[3].as_int() < kMinPbkdf2Iterations || r[3].as_int() > UINT32_MAX) {
        return Malformed();
      }
      row.salt = r[2].as_bytes();
      row.iterations = static_cast<std::uint32_t>(r[3].as_int());
    } else if (!IsRawKindName(row.source_kind)) {
      return Malformed();
    }
    out.push_back(std::move(row));
  }
  return out;
}

namespace {

constexpr std::size_t kMaxKeyIdSize = 256;
constexpr std::size_t kMaxPurposeSize = 64;

Status ValidateSlot(std::string_view key_id, std::string_view purpose) {
  if (key_id.empty() || key_id.size() > kMaxKeyIdSize) {
    return Status::InvalidArgument("invalid_key_id", "key id must be 1..256 bytes");
  }
  // No '|' (or anything else outside this set): the AAD ends with "|<purpose>", so a purpose
  // without '|' keeps (key_id, purpose) -> AAD one-to-one.
  bool ok = !purpose.empty() && purpose.size() <= kMaxPurposeSize;
  for (char c : purpose) {
    ok = ok &&
         ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-');
  }
  if (!ok)
    return Status::InvalidArgument("invalid_purpose", "key purpose must be 1..64 of [a-z0-9_.-]");
  return Status::Ok();
}

std::string WrapAad(std::uint8_t format, std::uint32_t kek_version, std::string_view key_id,
                    std::string_view purpose) {
  std::string aad = format == kWrapFormatV1 ? "bulwark-wrap-v1|" : "bulwark-wrap-v2|";
  aad += std::to_string(kek_version);
  aad += '|';
  aad += key_id;
  if (format != kWrapFormatV1) {
    aad += '|';
    aad += purpose;
  }
  return aad;
}

}  // namespace

StatusOr<std::vector<std::uint8_t>> WrapUnder(const SecretBytes& kek, std::uint32_t kek_version,
                                              std::span<const std::uint8_t> key,
                                              std::string_view key_id, std::string_view purpose) {
  BULWARK_RETURN_IF_ERROR(ValidateSlot(key_id, purpose));
  std::vector<std::uint8_t> out(kWrapOverhead + key.size());
  out[0] = kWrapFormatV2;
  for (int i = 0; i < 4; ++i) out[1 + i] = static_cast<std::uint8_t>(kek_version >> (24 - 8 * i));
  const std::span<std::uint8_t> nonce(out.data() + 5, crypto::kGcmNonceSize);
  BULWARK_RETURN_IF_ERROR(crypto::RandomBytes(nonce));
  const std::string aad = WrapAad(kWrapFormatV2, kek_version, key_id, purpose);
  BULWARK_RETURN_IF_ERROR(
      crypto::SealInto(kek, nonce, key, crypto::AsBytes(aad),
                       std::span<std::uint8_t>(out).subspan(5 + crypto::kGcmNonceSize)));
  return out;
}

StatusOr<std::uint32_t> WrappedKekVersion(std::span<const std::uint8_t> wrapped) {
  if (wrapped.size() < kWrapOverhead) return Status::Integrity("wrapped key is truncated");
  if (wrapped[0] != kWrapFormatV1 && wrapped[0] != kWrapFormatV2) {
    return Status::Integrity("wrapped key has an unknown format");
  }
  std::uint32_t version = 0;
  for (int i = 0; i < 4; ++i) version = (version << 8) | wrapped[1 + static_cast<std::size_t>(i)];
  return version;
}

}  // namespace internal

namespace {

using crypto::SecretBytes;
using internal::KekRow;
using store::Value;

// The KEK of `source` and the non-retired version it matches, or wrong_master_key. `rows` is
// every keyring_kek row (ReadKekRows).
struct Matched {
  std::uint32_t version = 0;
  SecretBytes kek;
};
StatusOr<Matched> MatchAnyLive(const MasterKeySource& source, const std::optional<SecretBytes>& raw,
                               const std::vector<KekRow>& rows) {
  bool kind_seen = false;
  for (const KekRow& row : rows) {
    if (row.retired_at.has_value() || !internal::SameKindClass(source.kind, row)) continue;
    kind_seen = true;
    BULWARK_ASSIGN_OR_RETURN(SecretBytes kek, internal::KekForRow(source, raw, row));
    if (internal::KekMatches(kek, row)) return Matched{row.version, std::move(kek)};
  }
  return internal::WrongMasterKey(kind_seen ? "it matches no current master key version"
                                            : "no current master key version was sealed with a "
                                              "key of this kind (raw key or password)");
}

}  // namespace

StatusOr<std::unique_ptr<Keyring>> Keyring::Open(const MasterKeySource& source,
                                                 store::Store& store) {
  // Everything that can be checked without the store is checked first.
  BULWARK_ASSIGN_OR_RETURN(std::optional<SecretBytes> raw_kek, internal::CheckSource(source));

  // Two attempts: if another process completes first boot between our read and our write, the
  // second round verifies against the row it wrote.
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::vector<KekRow> rows;
    {
      BULWARK_ASSIGN_OR_RETURN(auto rtx, store.Begin(store::TxMode::kRead));
      BULWARK_ASSIGN_OR_RETURN(rows, internal::ReadKekRows(*rtx));
    }  // read transaction ends (rolled back: it wrote nothing)

    const KekRow* active = nullptr;
    for (const KekRow& row : rows) {
      if (!row.retired_at.has_value()) {
        active = &row;  // rows are highest version first
        break;
      }
    }
    if (active != nullptr) {
      if (!internal::SameKindClass(source.kind, *active)) {
        return internal::WrongMasterKey(
            source.kind == MasterKeySourceKind::kPassword
                ? "the data was sealed with a raw key, but a password was given"
                : "the data was sealed with a password-derived key, but a raw key was given");
      }
      BULWARK_ASSIGN_OR_RETURN(SecretBytes kek, internal::KekForRow(source, raw_kek, *active));
      if (!internal::KekMatches(kek, *active)) {
        return internal::WrongMasterKey("key-check value mismatch");
      }
      auto state = std::make_shared<State>();
      state->active = active->version;
      state->keks.emplace(active->version, std::move(kek));
      return std::unique_ptr<Keyring>(new Keyring(std::move(state)));
    }
    if (!rows.empty()) {
      return Status::FailedPrecondition("no_active_master_key",
                                        "every master key version is retired; nothing was changed");
    }

    // First boot: derive, then insert version 1 under the write lock if the table is still empty.
    std::vector<std::uint8_t> salt;
    SecretBytes kek;
    if (raw_kek.has_value()) {
      kek = raw_kek->Clone();
    } else {
      salt.resize(internal::kSaltSize);
      BULWARK_RETURN_IF_ERROR(crypto::RandomBytes(salt));
      BULWARK_ASSIGN_OR_RETURN(kek, crypto::Pbkdf2HmacSha256(source.material.reveal_span(), salt,
                                                             source.pbkdf2_iterations, kKekSize));
    }
    const crypto::Digest256 kcv = internal::CheckValue(kek);
    BULWARK_ASSIGN_OR_RETURN(auto wtx, store.Begin(store::TxMode::kWrite));
    BULWARK_ASSIGN_OR_RETURN(store::Rows count, wtx->Query("SELECT COUNT(*) FROM keyring_kek"));
    if (count.size() != 1 || count[0].size() != 1 || !count[0][0].is_int()) {
      return Status::Integrity("the keyring_kek row is malformed");
    }
    if (count[0][0].as_int() != 0) continue;  // lost the race: verify against the winner's row
    const bool password = source.kind == MasterKeySourceKind::kPassword;
    BULWARK_RETURN_IF_ERROR(
        wtx->Exec("INSERT INTO keyring_kek (version, source_kind, salt, iterations, check_value, "
                  "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                  {Value::Int(1), Value::Text(std::string(SourceKindName(source.kind))),
                   password ? Value::Bytes(salt) : Value::Null(),
                   password ? Value::Int(source.pbkdf2_iterations) : Value::Null(),
                   Value::Bytes(kcv), Value::Text(core::NowIso8601Micros())})
            .status());
    BULWARK_RETURN_IF_ERROR(wtx->Commit());
    auto state = std::make_shared<State>();
    state->active = 1;
    state->keks.emplace(1, std::move(kek));
    return std::unique_ptr<Keyring>(new Keyring(std::move(state)));
  }
  return Status::Unavailable("store_busy",
                             "the keyring changed while it was being opened; try again");
}

StatusOr<std::unique_ptr<Keyring>> Keyring::OpenAnyVersion(const MasterKeySource& source,
                                                           store::Store& store) {
  BULWARK_ASSIGN_OR_RETURN(std::optional<SecretBytes> raw_kek, internal::CheckSource(source));
  std::vector<KekRow> rows;
  {
    BULWARK_ASSIGN_OR_RETURN(auto rtx, store.Begin(store::TxMode::kRead));
    BULWARK_ASSIGN_OR_RETURN(rows, internal::ReadKekRows(*rtx));
  }
  if (rows.empty()) {
    return Status::FailedPrecondition(
        "no_master_key", "this data has no master key yet; start the server once to create it");
  }
  BULWARK_ASSIGN_OR_RETURN(Matched m, MatchAnyLive(source, raw_kek, rows));
  auto state = std::make_shared<State>();
  state->active = m.version;
  state->keks.emplace(m.version, std::move(m.kek));
  return std::unique_ptr<Keyring>(new Keyring(std::move(state)));
}

Status Keyring::Reload(const MasterKeySource& source, store::Store& store) {
  BULWARK_ASSIGN_OR_RETURN(std::optional<SecretBytes> raw_kek, internal::CheckSource(source));
  std::vector<KekRow> rows;
  {
    BULWARK_ASSIGN_OR_RETURN(auto rtx, store.Begin(store::TxMode::kRead));
    BULWARK_ASSIGN_OR_RETURN(rows, internal::ReadKekRows(*rtx));
  }
  BULWARK_ASSIGN_OR_RETURN(Matched m, MatchAnyLive(source, raw_kek, rows));
  // Copy-on-write: build the next state from the current one and publish it in one swap. The
  // lock is held across the copy so that two Reloads cannot drop each other's version.
  std::lock_guard<std::mutex> lock(mu_);
  if (state_->keks.contains(m.version)) return Status::Ok();
  auto next = std::make_shared<State>();
  for (const auto& [version, kek] : state_->keks) next->keks.emplace(version, kek.Clone());
  next->keks.emplace(m.version, std::move(m.kek));
  next->active = next->keks.rbegin()->first;
  state_ = std::move(next);
  return Status::Ok();
}

std::shared_ptr<const Keyring::State> Keyring::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return state_;
}

std::uint32_t Keyring::kek_version() const { return Snapshot()->active; }

std::vector<std::uint32_t> Keyring::held_versions() const {
  const auto state = Snapshot();
  std::vector<std::uint32_t> out;
  for (const auto& entry : state->keks) out.push_back(entry.first);
  return out;
}

bool Keyring::holds_version(std::uint32_t version) const {
  return Snapshot()->keks.contains(version);
}

StatusOr<std::vector<std::uint8_t>> Keyring::Wrap(std::span<const std::uint8_t> key,
                                                  std::string_view key_id,
                                                  std::string_view purpose) const {
  const auto state = Snapshot();
  return internal::WrapUnder(state->keks.at(state->active), state->active, key, key_id, purpose);
}

StatusOr<SecretBytes> Keyring::Unwrap(std::span<const std::uint8_t> wrapped,
                                      std::string_view key_id, std::string_view purpose) const {
  BULWARK_RETURN_IF_ERROR(internal::ValidateSlot(key_id, purpose));
  BULWARK_ASSIGN_OR_RETURN(std::uint32_t version, internal::WrappedKekVersion(wrapped));
  const auto state = Snapshot();
  const auto it = state->keks.find(version);
  if (it == state->keks.end()) {
    return Status::Integrity("wrapped key was sealed under master key version " +
                             std::to_string(version) + ", which this keyring does not hold");
  }
  const std::string aad = internal::WrapAad(wrapped[0], version, key_id, purpose);
  auto key = crypto::Open(it->second, wrapped.subspan(5, crypto::kGcmNonceSize),
                          wrapped.subspan(5 + crypto::kGcmNonceSize), crypto::AsBytes(aad));
  if (!key.ok()) {
    if (key.status().code() == ErrorCode::kIntegrity) {
      return Status::Integrity("wrapped key failed authentication");
    }
    return key.status();
  }
  return std::move(key).value();
}

Status Keyring::ReloadPending(store::Transaction& tx, std::span<const std::uint8_t> wrapped) const {
  const auto version = internal::WrappedKekVersion(wrapped);
  if (!version.ok() || holds_version(*version) || *version <= kek_version()) return Status::Ok();
  BULWARK_ASSIGN_OR_RETURN(store::Rows rows,
                           tx.Query("SELECT 1 FROM keyring_kek WHERE version = ?",
                                    {Value::Int(static_cast<std::int64_t>(*version))}));
  if (rows.empty()) return Status::Ok();
  return Status::Unavailable("master_key_reload_required",
                             "the master key was rotated; this server must reload it");
}

StatusOr<SecretBytes> Keyring::GetOrCreateKey(store::Transaction& tx, std::string_view key_id,
                                              std::string_view purpose, std::size_t len) const {
  BULWARK_RETURN_IF_ERROR(internal::ValidateSlot(key_id, purpose));
  if (len == 0 || len > 1024) {
    return Status::InvalidArgument("invalid_key_length", "key length must be 1..1024 bytes");
  }
  BULWARK_ASSIGN_OR_RETURN(store::Rows rows,
                           tx.Query("SELECT purpose, wrapped FROM wrapped_keys WHERE id = ?",
                                    {Value::Text(std::string(key_id))}));
  if (!rows.empty()) {
    const store::Row& r = rows[0];
    if (r.size() != 2 || !r[0].is_text() || !r[1].is_bytes()) {
      return Status::Integrity("wrapped_keys row is malformed");
    }
    if (r[0].as_text() != purpose) {
      return Status::FailedPrecondition("key_purpose_mismatch",
                                        "a key with this id exists for another purpose");
    }
    StatusOr<SecretBytes> unwrapped = Unwrap(r[1].as_bytes(), key_id, purpose);
    if (!unwrapped.ok()) {
      BULWARK_RETURN_IF_ERROR(ReloadPending(tx, r[1].as_bytes()));
      return unwrapped.status();
    }
    SecretBytes key = std::move(unwrapped).value();
    if (key.size() != len) {
      return Status::FailedPrecondition("key_length_mismatch",
                                        "a key with this id exists with another length");
    }
    return key;
  }
  BULWARK_ASSIGN_OR_RETURN(SecretBytes key, crypto::RandomSecret(len));
  // One snapshot for the blob and its kek_version column, even if a Reload lands meanwhile.
  const auto state = Snapshot();
  // Never seal a new key under a version the store has moved past (rotated or retired) while
  // this process has not reloaded: no later holder of only the new key could open it.
  BULWARK_ASSIGN_OR_RETURN(
      store::Rows active,
      tx.Query("SELECT MAX(version) FROM keyring_kek WHERE retired_at IS NULL"));
  if (active.empty() || active[0].empty() || active[0][0].is_null() ||
      active[0][0].as_int() != static_cast<std::int64_t>(state->active)) {
    return Status::Unavailable("master_key_reload_required",
                               "the master key was rotated; this server must reload it (SIGHUP "
                               "or POST /api/v1/ops/keyring/reload) before it seals new keys");
  }
  BULWARK_ASSIGN_OR_RETURN(std::vector<std::uint8_t> wrapped,
                           internal::WrapUnder(state->keks.at(state->active), state->active,
                                               key.reveal_span(), key_id, purpose));
  BULWARK_RETURN_IF_ERROR(
      tx.Exec("INSERT INTO wrapped_keys (id, purpose, kek_version, wrapped, created_at) "
              "VALUES (?, ?, ?, ?, ?)",
              {Value::Text(std::string(key_id)), Value::Text(std::string(purpose)),
               Value::Int(state->active), Value::Bytes(std::move(wrapped)),
               Value::Text(core::NowIso8601Micros())})
          .status());
  return key;
}

}  // namespace bulwark::keyring

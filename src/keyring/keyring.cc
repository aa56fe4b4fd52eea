#include "keyring/keyring.h"

#include <string>

#include "core/clock.h"
#include "crypto/aead.h"
#include "crypto/compare.h"
#include "crypto/hash.h"
#include "crypto/kdf.h"
#include "crypto/random.h"

namespace bulwark::keyring {
namespace {

using crypto::SecretBytes;
using store::Value;

constexpr std::string_view kCheckLabel = "bulwark keyring check v1";
constexpr std::size_t kSaltSize = 16;
constexpr std::size_t kMaxKeyIdSize = 256;

Status WrongMasterKey(std::string detail) {
  return Status::FailedPrecondition(
      "wrong_master_key",
      "the master key does not match the one this data was sealed with (" + std::move(detail) +
          "); nothing was changed. Start with the original master key.");
}

bool IsRawKind(MasterKeySourceKind k) { return k != MasterKeySourceKind::kPassword; }
bool IsRawKindName(std::string_view n) { return n == "base64" || n == "file"; }

crypto::Digest256 CheckValue(const SecretBytes& kek) {
  return crypto::HmacSha256(kek.reveal_span(), crypto::AsBytes(kCheckLabel));
}

Status ValidateKeyId(std::string_view key_id) {
  if (key_id.empty() || key_id.size() > kMaxKeyIdSize) {
    return Status::InvalidArgument("invalid_key_id", "key id must be 1..256 bytes");
  }
  return Status::Ok();
}

std::string WrapAad(std::uint32_t kek_version, std::string_view key_id) {
  std::string aad = "bulwark-wrap-v1|";
  aad += std::to_string(kek_version);
  aad += '|';
  aad += key_id;
  return aad;
}

// The raw KEK for base64 and file sources (a password needs the salt from the store first).
StatusOr<SecretBytes> RawKek(const MasterKeySource& source) {
  if (source.kind == MasterKeySourceKind::kFile) return ReadKeyFile(source.file_path);
  std::string_view text = source.material.reveal_string_view();
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.remove_suffix(1);
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  return DecodeBase64Kek(text);
}

StatusOr<SecretBytes> PasswordKek(const MasterKeySource& source, std::span<const std::uint8_t> salt,
                                  std::uint32_t iterations) {
  return crypto::Pbkdf2HmacSha256(source.material.reveal_span(), salt, iterations, kKekSize);
}

struct ActiveRow {
  std::uint32_t version = 0;
  std::string source_kind;
  std::vector<std::uint8_t> salt;
  std::uint32_t iterations = 0;
  std::vector<std::uint8_t> check_value;
};

Status Malformed() { return Status::Integrity("the keyring_kek row is malformed"); }

// Reads the active row. `*total` receives the number of rows (0: first boot).
StatusOr<std::optional<ActiveRow>> ReadActive(store::Transaction& tx, std::int64_t* total) {
  BULWARK_ASSIGN_OR_RETURN(store::Rows count, tx.Query("SELECT COUNT(*) FROM keyring_kek"));
  if (count.size() != 1 || count[0].size() != 1 || !count[0][0].is_int()) return Malformed();
  *total = count[0][0].as_int();
  BULWARK_ASSIGN_OR_RETURN(
      store::Rows rows,
      tx.Query("SELECT version, source_kind, salt, iterations, check_value FROM keyring_kek "
               "WHERE retired_at IS NULL ORDER BY version DESC LIMIT 1"));
  if (rows.empty()) return std::optional<ActiveRow>();
  const store::Row& r = rows[0];
  if (r.size() != 5 || !r[0].is_int() || !r[1].is_text() || !r[4].is_bytes()) return Malformed();
  ActiveRow row;
  if (r[0].as_int() < 1 || r[0].as_int() > UINT32_MAX) return Malformed();
  row.version = static_cast<std::uint32_t>(r[0].as_int());
  row.source_kind = r[1].as_text();
  row.check_value = r[4].as_bytes();
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
  return std::optional<ActiveRow>(std::move(row));
}

}  // namespace

Keyring::Keyring(SecretBytes kek, std::uint32_t kek_version) : kek_(std::move(kek)), kek_version_(kek_version) {}

StatusOr<std::unique_ptr<Keyring>> Keyring::Open(const MasterKeySource& source, store::Store& store) {
  // Everything that can be checked without the store is checked first.
  std::optional<SecretBytes> raw_kek;
  if (source.kind == MasterKeySourceKind::kPassword) {
    if (source.pbkdf2_iterations < kMinPbkdf2Iterations) {
      return Status::InvalidArgument("weak_kdf_iterations",
                                     "PBKDF2 iterations for the master password must be at least 100000");
    }
    if (source.material.empty()) return Status::InvalidArgument("invalid_master_key", "the master password is empty");
  } else {
    BULWARK_ASSIGN_OR_RETURN(SecretBytes k, RawKek(source));
    raw_kek.emplace(std::move(k));
  }

  // Two attempts: if another process completes first boot between our read and our write, the
  // second round verifies against the row it wrote.
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::int64_t total = 0;
    std::optional<ActiveRow> active;
    {
      BULWARK_ASSIGN_OR_RETURN(auto rtx, store.Begin(store::TxMode::kRead));
      BULWARK_ASSIGN_OR_RETURN(active, ReadActive(*rtx, &total));
    }  // read transaction ends (rolled back: it wrote nothing)

    if (active.has_value()) {
      const bool row_raw = IsRawKindName(active->source_kind);
      if (row_raw != IsRawKind(source.kind)) {
        return WrongMasterKey(row_raw ? "the data was sealed with a raw key, but a password was given"
                                      : "the data was sealed with a password-derived key, but a raw key was given");
      }
      SecretBytes kek;
      if (raw_kek.has_value()) {
        kek = std::move(*raw_kek);
      } else {
        BULWARK_ASSIGN_OR_RETURN(kek, PasswordKek(source, active->salt, active->iterations));
      }
      if (!crypto::ConstantTimeEquals(CheckValue(kek), active->check_value)) {
        return WrongMasterKey("key-check value mismatch");
      }
      return std::unique_ptr<Keyring>(new Keyring(std::move(kek), active->version));
    }
    if (total != 0) {
      return Status::FailedPrecondition("no_active_master_key",
                                        "every master key version is retired; nothing was changed");
    }

    // First boot: derive, then insert version 1 under the write lock if the table is still empty.
    std::vector<std::uint8_t> salt;
    SecretBytes kek;
    if (raw_kek.has_value()) {
      kek = raw_kek->Clone();
    } else {
      salt.resize(kSaltSize);
      BULWARK_RETURN_IF_ERROR(crypto::RandomBytes(salt));
      BULWARK_ASSIGN_OR_RETURN(kek, PasswordKek(source, salt, source.pbkdf2_iterations));
    }
    const crypto::Digest256 kcv = CheckValue(kek);
    BULWARK_ASSIGN_OR_RETURN(auto wtx, store.Begin(store::TxMode::kWrite));
    BULWARK_ASSIGN_OR_RETURN(store::Rows count, wtx->Query("SELECT COUNT(*) FROM keyring_kek"));
    if (count.size() != 1 || count[0].size() != 1 || !count[0][0].is_int()) return Malformed();
    if (count[0][0].as_int() != 0) continue;  // lost the race: verify against the winner's row
    const bool password = source.kind == MasterKeySourceKind::kPassword;
    BULWARK_RETURN_IF_ERROR(
        wtx->Exec("INSERT INTO keyring_kek (version, source_kind, salt, iterations, check_value, created_at) "
                  "VALUES (?, ?, ?, ?, ?, ?)",
                  {Value::Int(1), Value::Text(std::string(SourceKindName(source.kind))),
                   password ? Value::Bytes(salt) : Value::Null(),
                   password ? Value::Int(source.pbkdf2_iterations) : Value::Null(), Value::Bytes(kcv),
                   Value::Text(core::NowIso8601Micros())})
            .status());
    BULWARK_RETURN_IF_ERROR(wtx->Commit());
    return std::unique_ptr<Keyring>(new Keyring(std::move(kek), 1));
  }
  return Status::Unavailable("store_busy", "the keyring changed while it was being opened; try again");
}

StatusOr<std::vector<std::uint8_t>> Keyring::Wrap(std::span<const std::uint8_t> key, std::string_view key_id) const {
  BULWARK_RETURN_IF_ERROR(ValidateKeyId(key_id));
  std::vector<std::uint8_t> out(kWrapOverhead + key.size());
  out[0] = kWrapFormatV1;
  for (int i = 0; i < 4; ++i) out[1 + i] = static_cast<std::uint8_t>(kek_version_ >> (24 - 8 * i));
  const std::span<std::uint8_t> nonce(out.data() + 5, crypto::kGcmNonceSize);
  BULWARK_RETURN_IF_ERROR(crypto::RandomBytes(nonce));
  const std::string aad = WrapAad(kek_version_, key_id);
  BULWARK_RETURN_IF_ERROR(crypto::SealInto(kek_, nonce, key, crypto::AsBytes(aad),
                                           std::span<std::uint8_t>(out).subspan(5 + crypto::kGcmNonceSize)));
  return out;
}

StatusOr<SecretBytes> Keyring::Unwrap(std::span<const std::uint8_t> wrapped, std::string_view key_id) const {
  BULWARK_RETURN_IF_ERROR(ValidateKeyId(key_id));
  if (wrapped.size() < kWrapOverhead) return Status::Integrity("wrapped key is truncated");
  if (wrapped[0] != kWrapFormatV1) return Status::Integrity("wrapped key has an unknown format");
  std::uint32_t version = 0;
  for (int i = 0; i < 4; ++i) version = (version << 8) | wrapped[1 + static_cast<std::size_t>(i)];
  if (version != kek_version_) {
    return Status::Integrity("wrapped key was sealed under master key version " + std::to_string(version) +
                             ", which this keyring does not hold");
  }
  const std::string aad = WrapAad(version, key_id);
  auto key = crypto::Open(kek_, wrapped.subspan(5, crypto::kGcmNonceSize), wrapped.subspan(5 + crypto::kGcmNonceSize),
                          crypto::AsBytes(aad));
  if (!key.ok()) {
    if (key.status().code() == ErrorCode::kIntegrity) return Status::Integrity("wrapped key failed authentication");
    return key.status();
  }
  return std::move(key).value();
}

StatusOr<SecretBytes> Keyring::GetOrCreateKey(store::Transaction& tx, std::string_view key_id,
                                              std::string_view purpose, std::size_t len) const {
  BULWARK_RETURN_IF_ERROR(ValidateKeyId(key_id));
  if (len == 0 || len > 1024) return Status::InvalidArgument("invalid_key_length", "key length must be 1..1024 bytes");
  BULWARK_ASSIGN_OR_RETURN(store::Rows rows, tx.Query("SELECT purpose, wrapped FROM wrapped_keys WHERE id = ?",
                                                      {Value::Text(std::string(key_id))}));
  if (!rows.empty()) {
    const store::Row& r = rows[0];
    if (r.size() != 2 || !r[0].is_text() || !r[1].is_bytes()) return Status::Integrity("wrapped_keys row is malformed");
    if (r[0].as_text() != purpose) {
      return Status::FailedPrecondition("key_purpose_mismatch", "a key with this id exists for another purpose");
    }
    BULWARK_ASSIGN_OR_RETURN(SecretBytes key, Unwrap(r[1].as_bytes(), key_id));
    if (key.size() != len) {
      return Status::FailedPrecondition("key_length_mismatch", "a key with this id exists with another length");
    }
    return key;
  }
  BULWARK_ASSIGN_OR_RETURN(SecretBytes key, crypto::RandomSecret(len));
  BULWARK_ASSIGN_OR_RETURN(std::vector<std::uint8_t> wrapped, Wrap(key.reveal_span(), key_id));
  BULWARK_RETURN_IF_ERROR(
      tx.Exec("INSERT INTO wrapped_keys (id, purpose, kek_version, wrapped, created_at) VALUES (?, ?, ?, ?, ?)",
              {Value::Text(std::string(key_id)), Value::Text(std::string(purpose)), Value::Int(kek_version_),
               Value::Bytes(std::move(wrapped)), Value::Text(core::NowIso8601Micros())})
          .status());
  return key;
}

}  // namespace bulwark::keyring

#include "keyring/rotation.h"

#include <algorithm>
#include <map>
#include <string>

#include "core/clock.h"
#include "crypto/compare.h"
#include "crypto/kdf.h"
#include "crypto/random.h"
#include "keyring/internal.h"

namespace bulwark::keyring {
namespace {

using crypto::SecretBytes;
using internal::KekRow;
using store::Value;

const KekRow* ActiveRow(const std::vector<KekRow>& rows) {
  for (const KekRow& row : rows) {  // highest version first
    if (!row.retired_at.has_value()) return &row;
  }
  return nullptr;
}

Status KeyringChanged() {
  return Status::Conflict("keyring_changed",
                          "the master key versions changed while rotating; nothing was changed. "
                          "Run the command again.");
}

}  // namespace

StatusOr<PreparedMasterKey> PrepareMasterKey(const MasterKeySource& new_source,
                                             store::Store& store) {
  BULWARK_ASSIGN_OR_RETURN(std::optional<SecretBytes> raw, internal::CheckSource(new_source));
  std::vector<KekRow> rows;
  {
    BULWARK_ASSIGN_OR_RETURN(auto rtx, store.Begin(store::TxMode::kRead));
    BULWARK_ASSIGN_OR_RETURN(rows, internal::ReadKekRows(*rtx));
  }
  const KekRow* active = ActiveRow(rows);
  if (active == nullptr) {
    return Status::FailedPrecondition(
        "no_master_key", rows.empty() ? "this data has no master key yet; start the server once"
                                      : "every master key version is retired");
  }
  // Is it a key this store has seen? Retired versions too: a retired key is never reused.
  for (const KekRow& row : rows) {
    if (!internal::SameKindClass(new_source.kind, row)) continue;
    BULWARK_ASSIGN_OR_RETURN(SecretBytes kek, internal::KekForRow(new_source, raw, row));
    if (!internal::KekMatches(kek, row)) continue;
    if (row.retired_at.has_value()) {
      return Status::FailedPrecondition("master_key_retired",
                                        "the new master key is that of retired version " +
                                            std::to_string(row.version) + "; choose a new key");
    }
    if (row.version != active->version) {
      return Status::FailedPrecondition("master_key_not_new",
                                        "the new master key is that of version " +
                                            std::to_string(row.version) +
                                            ", older than the active version " +
                                            std::to_string(active->version) + "; choose a new key");
    }
    return PreparedMasterKey{.kek = std::move(kek),
                             .source_kind = row.source_kind,
                             .salt = row.salt,
                             .iterations = row.iterations,
                             .existing_version = row.version};
  }
  PreparedMasterKey next;
  next.source_kind = std::string(SourceKindName(new_source.kind));
  if (raw.has_value()) {
    next.kek = std::move(*raw);
  } else {
    next.salt.resize(internal::kSaltSize);
    BULWARK_RETURN_IF_ERROR(crypto::RandomBytes(next.salt));
    next.iterations = new_source.pbkdf2_iterations;  // >= 100000: CheckSource
    BULWARK_ASSIGN_OR_RETURN(next.kek,
                             crypto::Pbkdf2HmacSha256(new_source.material.reveal_span(), next.salt,
                                                      next.iterations, kKekSize));
  }
  return next;
}

StatusOr<RotationResult> Rotate(store::Transaction& tx, const Keyring& current,
                                const PreparedMasterKey& next) {
  if (next.kek.size() != kKekSize) {
    return Status::InvalidArgument("invalid_master_key", "the new master key is not prepared");
  }
  BULWARK_ASSIGN_OR_RETURN(std::vector<KekRow> rows, internal::ReadKekRows(tx));
  const KekRow* active = ActiveRow(rows);
  if (active == nullptr) return KeyringChanged();
  const crypto::Digest256 kcv = internal::CheckValue(next.kek);

  RotationResult result;
  if (next.existing_version.has_value()) {
    // A re-run: the version must still be the active one, with this very key.
    if (active->version != *next.existing_version ||
        !crypto::ConstantTimeEquals(kcv, active->check_value)) {
      return KeyringChanged();
    }
    result.to_version = active->version;
  } else {
    for (const KekRow& row : rows) {
      // The same raw key inserted meanwhile by another rotation (a password has a fresh salt).
      if (crypto::ConstantTimeEquals(kcv, row.check_value)) return KeyringChanged();
    }
    const std::uint32_t max_version = rows.front().version;  // highest first, retired included
    if (max_version == UINT32_MAX)
      return Status::Integrity("the keyring_kek versions are exhausted");
    result.to_version = max_version + 1;
    result.from_version = active->version;
    result.created_version = true;
    const bool password = next.source_kind == "password";
    BULWARK_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO keyring_kek (version, source_kind, salt, iterations, check_value, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                {Value::Int(result.to_version), Value::Text(next.source_kind),
                 password ? Value::Bytes(next.salt) : Value::Null(),
                 password ? Value::Int(next.iterations) : Value::Null(), Value::Bytes(kcv),
                 Value::Text(core::NowIso8601Micros())})
            .status());
  }

  BULWARK_ASSIGN_OR_RETURN(store::Rows keys,
                           tx.Query("SELECT id, purpose, kek_version, wrapped FROM wrapped_keys "
                                    "WHERE kek_version <> ? ORDER BY id",
                                    {Value::Int(result.to_version)}));
  if (keys.empty() && !result.created_version) {
    return Status::FailedPrecondition(
        "nothing_to_rotate", "the new master key is already the active version (" +
                                 std::to_string(result.to_version) +
                                 ") and every data key is sealed under it; nothing was changed");
  }
  // Every version needed must be held, before anything is re-sealed.
  std::map<std::uint32_t, std::int64_t> missing;
  for (const store::Row& r : keys) {
    if (r.size() != 4 || !r[0].is_text() || !r[1].is_text() || !r[2].is_int() || !r[3].is_bytes()) {
      return Status::Integrity("wrapped_keys row is malformed");
    }
    BULWARK_ASSIGN_OR_RETURN(std::uint32_t v, internal::WrappedKekVersion(r[3].as_bytes()));
    if (static_cast<std::int64_t>(v) != r[2].as_int()) {
      return Status::Integrity("a wrapped key's master key version does not match its row");
    }
    if (!current.holds_version(v)) ++missing[v];
    if (!result.created_version) result.from_version = std::max(result.from_version, v);
  }
  if (!missing.empty()) {
    std::string what;
    for (const auto& [v, n] : missing) {
      what +=
          (what.empty() ? "" : ", ") + std::to_string(n) + " under version " + std::to_string(v);
    }
    return Status::FailedPrecondition(
        "master_key_version_not_held",
        "data keys are sealed under a master key version that neither the configured key nor "
        "the new key opens (" +
            what +
            "); run the rotation with the configuration naming that version's key; nothing was "
            "changed");
  }
  for (const store::Row& r : keys) {
    const std::string& id = r[0].as_text();
    const std::string& purpose = r[1].as_text();
    BULWARK_ASSIGN_OR_RETURN(SecretBytes key, current.Unwrap(r[3].as_bytes(), id, purpose));
    BULWARK_ASSIGN_OR_RETURN(
        std::vector<std::uint8_t> wrapped,
        internal::WrapUnder(next.kek, result.to_version, key.reveal_span(), id, purpose));
    BULWARK_RETURN_IF_ERROR(
        tx.Exec("UPDATE wrapped_keys SET kek_version = ?, wrapped = ? WHERE id = ?",
                {Value::Int(result.to_version), Value::Bytes(std::move(wrapped)), Value::Text(id)})
            .status());
    ++result.rewrapped;
  }
  return result;
}

Status Retire(store::Transaction& tx, std::uint32_t version) {
  BULWARK_ASSIGN_OR_RETURN(std::vector<KekRow> rows, internal::ReadKekRows(tx));
  const KekRow* target = nullptr;
  for (const KekRow& row : rows) {
    if (row.version == version) target = &row;
  }
  if (target == nullptr) {
    return Status::NotFound("kek_version_not_found",
                            "there is no master key version " + std::to_string(version));
  }
  if (target->retired_at.has_value()) {
    return Status::FailedPrecondition("kek_version_retired",
                                      "master key version " + std::to_string(version) +
                                          " was already retired at " + *target->retired_at);
  }
  const KekRow* active = ActiveRow(rows);
  if (active != nullptr && active->version == version) {
    return Status::FailedPrecondition(
        "kek_version_active", "master key version " + std::to_string(version) +
                                  " is the active version; rotate to a new key before retiring it");
  }
  BULWARK_ASSIGN_OR_RETURN(
      store::Rows count,
      tx.Query("SELECT COUNT(*) FROM wrapped_keys WHERE kek_version = ?", {Value::Int(version)}));
  if (count.size() != 1 || count[0].size() != 1 || !count[0][0].is_int()) {
    return Status::Integrity("wrapped_keys count is malformed");
  }
  if (const std::int64_t n = count[0][0].as_int(); n != 0) {
    return Status::FailedPrecondition(
        "kek_version_in_use",
        std::to_string(n) + " wrapped key(s) are still sealed under master key version " +
            std::to_string(version) + "; run `bulwark key rotate` again to re-wrap them");
  }
  return tx
      .Exec("UPDATE keyring_kek SET retired_at = ? WHERE version = ? AND retired_at IS NULL",
            {Value::Text(core::NowIso8601Micros()), Value::Int(version)})
      .status();
}

StatusOr<std::vector<KekVersionInfo>> ListVersions(store::Transaction& tx) {
  BULWARK_ASSIGN_OR_RETURN(std::vector<KekRow> rows, internal::ReadKekRows(tx));
  BULWARK_ASSIGN_OR_RETURN(
      store::Rows counts,
      tx.Query("SELECT kek_version, COUNT(*) FROM wrapped_keys GROUP BY kek_version"));
  std::map<std::int64_t, std::int64_t> per_version;
  for (const store::Row& r : counts) {
    if (r.size() != 2 || !r[0].is_int() || !r[1].is_int()) {
      return Status::Integrity("wrapped_keys count is malformed");
    }
    per_version[r[0].as_int()] = r[1].as_int();
  }
  const KekRow* active = ActiveRow(rows);
  std::vector<KekVersionInfo> out;
  for (auto it = rows.rbegin(); it != rows.rend(); ++it) {
    out.push_back({.version = it->version,
                   .source_kind = it->source_kind,
                   .created_at = it->created_at,
                   .retired_at = it->retired_at,
                   .wrapped_keys = per_version[it->version],
                   .active = active != nullptr && active->version == it->version});
  }
  return out;
}

}  // namespace bulwark::keyring

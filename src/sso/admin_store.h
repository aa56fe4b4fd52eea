#pragma once
// The SQL of SSO administration (migration "sso_admin"): connections, claimed domains, the
// (issuer, subject) identities SSO accounts are keyed by, and the tenant's require_sso switch.
// Parameterized statements for both backends, run in the caller's transaction; no rule is
// decided here (sso/connections.h, sso/domains.h, sso/accounts.h decide).
//
// Errors: the store's (kUnavailable when it cannot be reached); a UNIQUE violation is the store's
// kConflict, which the services turn into their own reason. Thread-safety: stateless functions.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "store/store.h"

namespace bulwark::sso::admin_store {

// ---- connections ----------------------------------------------------------------------------

struct ConnectionRow {
  std::string id;
  std::string tenant_id;
  std::string preset;
  std::string issuer;
  std::string client_id;
  std::string settings;  // JSON: what has no column of its own
  bool enabled = true;
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
  std::string updated_by;
};

Status InsertConnection(store::Transaction& tx, const ConnectionRow& row,
                        const std::vector<std::uint8_t>& sealed_secret, std::string_view key_id);
// Replaces the columns of row.id in row.tenant_id (and the secret when `sealed_secret` is given).
// Returns whether a row changed.
StatusOr<bool> UpdateConnection(store::Transaction& tx, const ConnectionRow& row,
                                const std::vector<std::uint8_t>* sealed_secret,
                                std::string_view key_id);
StatusOr<bool> DeleteConnection(store::Transaction& tx, std::string_view tenant_id,
                                std::string_view id);
StatusOr<std::optional<ConnectionRow>> SelectConnection(store::Transaction& tx,
                                                        std::string_view tenant_id,
                                                        std::string_view id);
StatusOr<std::vector<ConnectionRow>> SelectConnections(store::Transaction& tx,
                                                       std::string_view tenant_id);
// Whether the tenant has another connection (not `except_id`) of `issuer`.
StatusOr<bool> IssuerTaken(store::Transaction& tx, std::string_view tenant_id,
                           std::string_view issuer, std::string_view except_id);

struct SealedSecret {
  std::vector<std::uint8_t> sealed;
  std::string key_id;
};
StatusOr<std::optional<SealedSecret>> SelectSealedSecret(store::Transaction& tx,
                                                         std::string_view tenant_id,
                                                         std::string_view id);

// ---- domains --------------------------------------------------------------------------------

struct DomainRow {
  std::string tenant_id;
  std::string domain;
  std::string token;
  std::int64_t created_at = 0;
  std::optional<std::int64_t> verified_at;
};

Status InsertDomain(store::Transaction& tx, const DomainRow& row);
StatusOr<std::optional<DomainRow>> SelectDomain(store::Transaction& tx, std::string_view tenant_id,
                                                std::string_view domain);
StatusOr<std::vector<DomainRow>> SelectDomains(store::Transaction& tx, std::string_view tenant_id);
StatusOr<std::int64_t> CountDomains(store::Transaction& tx, std::string_view tenant_id);
Status MarkDomainVerified(store::Transaction& tx, std::string_view tenant_id,
                          std::string_view domain, std::int64_t now);
StatusOr<bool> DeleteDomain(store::Transaction& tx, std::string_view tenant_id,
                            std::string_view domain);
// Removes every claim of `domain` by a deleted tenant (a deleted tenant's verification must not
// hold a domain forever); returns how many.
StatusOr<std::int64_t> ReleaseDeletedTenantsClaims(store::Transaction& tx, std::string_view domain);
// Whether a tenant other than `tenant_id` has verified `domain`.
StatusOr<bool> VerifiedElsewhere(store::Transaction& tx, std::string_view tenant_id,
                                 std::string_view domain);

// ---- identities -----------------------------------------------------------------------------

struct IdentityRow {
  std::string issuer;
  std::string subject;
  std::string user_id;
  std::string connection_id;
  std::string email;
};

StatusOr<std::optional<IdentityRow>> SelectIdentity(store::Transaction& tx,
                                                    std::string_view issuer,
                                                    std::string_view subject);
Status InsertIdentity(store::Transaction& tx, const IdentityRow& row, std::int64_t now);
Status TouchIdentity(store::Transaction& tx, std::string_view issuer, std::string_view subject,
                     std::string_view email, std::int64_t now);

struct UserRow {
  std::string id;
  bool disabled = false;
};
// The user with this (normalized) email, disabled or not.
StatusOr<std::optional<UserRow>> SelectUserByEmail(store::Transaction& tx, std::string_view email);
StatusOr<std::optional<UserRow>> SelectUser(store::Transaction& tx, std::string_view user_id);

// ---- the tenant's switch --------------------------------------------------------------------

// kNotFound "tenant_not_found" for a tenant that does not exist or is deleted.
StatusOr<bool> RequireSso(store::Transaction& tx, std::string_view tenant_id);
Status SetRequireSso(store::Transaction& tx, std::string_view tenant_id, bool on);

}  // namespace bulwark::sso::admin_store

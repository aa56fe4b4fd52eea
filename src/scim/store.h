#pragma once
// The SCIM store statements (migration "scim", store/migrations.cc): the tenant's SCIM token
// (its SHA-256 only), its SCIM Users (each linked to one global user, with a SCIM id of the
// tenant's own so tenants cannot correlate people), its Groups and their members. Every
// statement is parameterized and takes the tenant: nothing here reaches another tenant's rows.
//
// Runs inside the caller's transaction. Errors: the store's (a unique violation is kConflict
// "constraint_violation"). Thread-safe as the transaction is (one thread per transaction).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "crypto/hash.h"
#include "store/store.h"

namespace bulwark::scim::db {

struct TokenRow {
  std::string tenant_id;
  std::string id;
  crypto::Digest256 hash{};
};

// Replaces the tenant's token (at most one per tenant) with this one.
Status PutToken(store::Transaction& tx, std::string_view tenant_id, std::string_view id,
                const crypto::Digest256& hash, std::string_view created_by, std::int64_t now);
// Whether a token was there to delete.
StatusOr<bool> DeleteToken(store::Transaction& tx, std::string_view tenant_id);
// The token of id `id` (of a tenant not deleted), or nullopt.
StatusOr<std::optional<TokenRow>> FindToken(store::Transaction& tx, std::string_view id);

struct UserRow {
  std::string id;       // the SCIM id (per tenant)
  std::string user_id;  // the global user
  std::string doc;      // the normalised writable attributes, JSON
  bool active = true;
  std::string suspended_role;  // the role held when suspended ("" none)
  std::int64_t version = 1;
  std::string created;        // ISO 8601
  std::string last_modified;  // ISO 8601
};

Status InsertUser(store::Transaction& tx, std::string_view tenant_id, const UserRow& row,
                  std::string_view user_name_key);
Status UpdateUser(store::Transaction& tx, std::string_view tenant_id, const UserRow& row,
                  std::string_view user_name_key);
Status SetSuspendedRole(store::Transaction& tx, std::string_view tenant_id, std::string_view id,
                        std::string_view role);
StatusOr<std::optional<UserRow>> GetUser(store::Transaction& tx, std::string_view tenant_id,
                                         std::string_view id);
// The SCIM user whose userName (lower-cased) is `key`, or linked to global user `user_id`.
StatusOr<std::optional<UserRow>> FindUserByName(store::Transaction& tx,
                                                std::string_view tenant_id, std::string_view key);
StatusOr<std::optional<UserRow>> FindUserByUserId(store::Transaction& tx,
                                                  std::string_view tenant_id,
                                                  std::string_view user_id);
// The tenant's users, oldest first.
StatusOr<std::vector<UserRow>> ListUsers(store::Transaction& tx, std::string_view tenant_id);
Status DeleteUser(store::Transaction& tx, std::string_view tenant_id, std::string_view id);

struct GroupRow {
  std::string id;
  std::string doc;  // displayName, externalId: JSON
  std::int64_t version = 1;
  std::string created;
  std::string last_modified;
};

Status InsertGroup(store::Transaction& tx, std::string_view tenant_id, const GroupRow& row);
Status UpdateGroup(store::Transaction& tx, std::string_view tenant_id, const GroupRow& row);
StatusOr<std::optional<GroupRow>> GetGroup(store::Transaction& tx, std::string_view tenant_id,
                                           std::string_view id);
StatusOr<std::vector<GroupRow>> ListGroups(store::Transaction& tx, std::string_view tenant_id);
Status DeleteGroup(store::Transaction& tx, std::string_view tenant_id, std::string_view id);

// The SCIM user ids in group `group_id`, sorted.
StatusOr<std::vector<std::string>> MembersOf(store::Transaction& tx, std::string_view tenant_id,
                                             std::string_view group_id);
Status AddGroupMember(store::Transaction& tx, std::string_view tenant_id,
                      std::string_view group_id, std::string_view member_id);
Status RemoveGroupMember(store::Transaction& tx, std::string_view tenant_id,
                         std::string_view group_id, std::string_view member_id);
// The ids of the groups SCIM user `member_id` is in, sorted.
StatusOr<std::vector<std::string>> GroupsOf(store::Transaction& tx, std::string_view tenant_id,
                                            std::string_view member_id);
// Every (group id, member id) of the tenant.
StatusOr<std::vector<std::pair<std::string, std::string>>> AllGroupMembers(
    store::Transaction& tx, std::string_view tenant_id);
Status ForgetMember(store::Transaction& tx, std::string_view tenant_id,
                    std::string_view member_id);

}  // namespace bulwark::scim::db

#pragma once
// The SCIM 2.0 service (RFC 7643/7644): a tenant's Users and Groups, with no HTTP and no SQL text.
// The route adapter (api/scim_routes.h) parses the request, calls one method inside one write
// transaction and commits it with the change's ledger record (what ScimChange says).
//
//   ScimChange change;
//   BULWARK_ASSIGN_OR_RETURN(json::object user, scim.CreateUser(tx, tenant_id, body, now, change));
//   ... commit with the record ... ; scim.AfterCommit(tenant_id, change);
//
// Users: userName is the member's email (users are global by email; a SCIM User links to one
// and keeps an id of the tenant's own), unique per tenant ignoring case (409 "uniqueness"), and
// cannot be changed to another address (400 "mutability": deprovision and provision again).
// active false / DELETE end the member's access at once (scim/access.h). Groups: members are
// User ids of the same tenant (400 "invalid_value" otherwise); a membership change re-maps the
// roles of the members it touches. A resource of another tenant is not found (404
// "scim_not_found"). Lists are evaluated in memory over the tenant's resources (filter.h),
// sorted by creation, paginated 1-based with count capped at ScimOptions::max_results.
//
// Errors: kInvalidArgument with the scimType as reason ("invalid_filter", "invalid_syntax",
// "invalid_path", "invalid_value", "no_target", "mutability"), kConflict "uniqueness",
// kNotFound "scim_not_found", kPermissionDenied "scim_owner_protected", the store's.
// Thread-safe: holds references to thread-safe services, which must outlive it.
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/detail_value.h"
#include "core/status.h"
#include "scim/access.h"
#include "scim/schema.h"
#include "store/store.h"

namespace bulwark::scim {

struct ScimOptions {
  // Prefix of meta.location ("https://bulwark.example.com"); empty: locations are paths.
  std::string base_url;
  std::int64_t max_results = 200;  // the cap on count
};

// What a change did: for its ledger record (never a token or secret) and, after the commit, the
// caches to drop.
struct ScimChange {
  std::string resource;  // "scim_user:<id>", "scim_group:<id>"
  std::vector<std::pair<std::string, core::DetailValue>> details;
  std::vector<std::string> members;  // global user ids whose access changed
};

struct ListQuery {
  std::string filter;  // empty: all
  std::int64_t start_index = 1;
  std::int64_t count = -1;  // -1: not given (the cap)
  std::string attributes;  // comma-separated, or empty
  std::string excluded_attributes;
};

class ScimService {
 public:
  ScimService(MemberAccess& access, ScimOptions options)
      : access_(access), options_(std::move(options)) {}

  StatusOr<boost::json::object> CreateUser(store::Transaction& tx, std::string_view tenant,
                                           const boost::json::value& body, std::int64_t now,
                                           ScimChange& change);
  StatusOr<boost::json::object> GetUser(store::Transaction& tx, std::string_view tenant,
                                        std::string_view id);
  StatusOr<boost::json::object> ReplaceUser(store::Transaction& tx, std::string_view tenant,
                                            std::string_view id, const boost::json::value& body,
                                            std::int64_t now, ScimChange& change);
  StatusOr<boost::json::object> PatchUser(store::Transaction& tx, std::string_view tenant,
                                          std::string_view id, const boost::json::value& body,
                                          std::int64_t now, ScimChange& change);
  Status DeleteUser(store::Transaction& tx, std::string_view tenant, std::string_view id,
                    std::int64_t now, ScimChange& change);

  StatusOr<boost::json::object> CreateGroup(store::Transaction& tx, std::string_view tenant,
                                            const boost::json::value& body, std::int64_t now,
                                            ScimChange& change);
  StatusOr<boost::json::object> GetGroup(store::Transaction& tx, std::string_view tenant,
                                         std::string_view id);
  StatusOr<boost::json::object> ReplaceGroup(store::Transaction& tx, std::string_view tenant,
                                             std::string_view id, const boost::json::value& body,
                                             std::int64_t now, ScimChange& change);
  StatusOr<boost::json::object> PatchGroup(store::Transaction& tx, std::string_view tenant,
                                           std::string_view id, const boost::json::value& body,
                                           std::int64_t now, ScimChange& change);
  Status DeleteGroup(store::Transaction& tx, std::string_view tenant, std::string_view id,
                     std::int64_t now, ScimChange& change);

  // A ListResponse of the kind's resources.
  StatusOr<boost::json::object> List(store::Transaction& tx, std::string_view tenant,
                                     ResourceKind kind, const ListQuery& query);

  // Keeps the attributes a client asked for (RFC 7644 3.9): id and schemas always.
  // kInvalidArgument "invalid_value" for a name no schema defines.
  static StatusOr<boost::json::object> Project(ResourceKind kind, boost::json::object resource,
                                               std::string_view attributes,
                                               std::string_view excluded);

  // Drops the caches of the members whose access the change touched. Call after the commit.
  void AfterCommit(std::string_view tenant, const ScimChange& change);

 private:
  struct LoadedGroup;
  StatusOr<boost::json::object> RenderUser(store::Transaction& tx, std::string_view tenant,
                                           const db::UserRow& row);
  StatusOr<boost::json::object> RenderGroup(store::Transaction& tx, std::string_view tenant,
                                            const db::GroupRow& row);
  StatusOr<boost::json::object> StoreUser(store::Transaction& tx, std::string_view tenant,
                                          db::UserRow row, boost::json::object doc,
                                          std::int64_t now, ScimChange& change);
  StatusOr<boost::json::object> StoreGroup(store::Transaction& tx, std::string_view tenant,
                                           db::GroupRow row, boost::json::object doc,
                                           std::int64_t now, ScimChange& change);
  Status Reevaluate(store::Transaction& tx, std::string_view tenant, std::string_view member_id,
                    std::int64_t now, ScimChange& change);
  std::string Location(ResourceKind kind, std::string_view id) const;

  MemberAccess& access_;
  const ScimOptions options_;
};

}  // namespace bulwark::scim

#include "scim/service.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <algorithm>
#include <map>
#include <optional>

#include "core/clock.h"
#include "core/text_list.h"
#include "crypto/random.h"
#include "identity/directory.h"
#include "identity/tokens.h"
#include "scim/filter.h"
#include "scim/patch.h"
#include "scim/resource_util.h"

namespace bulwark::scim {

namespace json = boost::json;

namespace internal {

StatusOr<std::string> NewScimId() {
  BULWARK_ASSIGN_OR_RETURN(std::string hex, crypto::RandomHex(16));
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

StatusOr<json::object> ParseDoc(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return Status::Integrity("a stored SCIM resource is not an object");
  return std::move(v.as_object());
}

Status NotFound(std::string_view kind) {
  return Status::NotFound("scim_not_found", "no such " + std::string(kind));
}

std::string ETag(std::int64_t version) { return "W/\"" + std::to_string(version) + "\""; }

json::object Meta(std::string_view type, const std::string& created, const std::string& modified,
                  std::int64_t version, std::string location) {
  return json::object{{"resourceType", type},
                      {"created", created},
                      {"lastModified", modified},
                      {"location", std::move(location)},
                      {"version", internal::ETag(version)}};
}

}  // namespace internal

namespace {

using internal::NotFound;
using internal::Meta;
using internal::ParseDoc;

// The group ids and names, and who is in which, loaded once for a whole list.
struct GroupIndex {
  std::map<std::string, std::string> names;                      // id -> displayName
  std::map<std::string, std::vector<std::string>> of_member;     // member id -> group ids
};

StatusOr<GroupIndex> LoadGroupIndex(store::Transaction& tx, std::string_view tenant) {
  GroupIndex index;
  BULWARK_ASSIGN_OR_RETURN(auto groups, db::ListGroups(tx, tenant));
  for (const auto& g : groups) {
    BULWARK_ASSIGN_OR_RETURN(json::object doc, ParseDoc(g.doc));
    const json::value* name = doc.if_contains("displayName");
    index.names[g.id] = name != nullptr && name->is_string() ? std::string(name->as_string()) : "";
  }
  BULWARK_ASSIGN_OR_RETURN(auto pairs, db::AllGroupMembers(tx, tenant));
  for (auto& [group, member] : pairs) index.of_member[member].push_back(group);
  return index;
}

std::string UserNameKey(const json::object& doc) {
  const json::value* v = doc.if_contains("userName");
  if (v == nullptr || !v->is_string()) return "";
  auto email = identity::NormalizeEmail(v->as_string());
  return email.ok() ? *email : "";
}

// The names of the top-level attributes whose values differ between two documents.
std::string ChangedAttributes(const json::object& before, const json::object& after) {
  std::vector<std::string> names;
  for (const auto& kv : after) {
    const json::value* old = before.if_contains(kv.key());
    if (old == nullptr || *old != kv.value()) names.emplace_back(kv.key());
  }
  for (const auto& kv : before) {
    if (!after.contains(kv.key())) names.emplace_back(kv.key());
  }
  return core::JoinList(names, ' ');
}


std::string LocationOf(std::string_view base_url, ResourceKind kind, std::string_view id) {
  return std::string(base_url) +
         (kind == ResourceKind::kUser ? "/scim/v2/Users/" : "/scim/v2/Groups/") + std::string(id);
}

// A User as served: its stored attributes, active, its groups (read-only) and meta.
StatusOr<json::object> UserJson(const db::UserRow& row, GroupIndex& index,
                                std::string_view base_url) {
  BULWARK_ASSIGN_OR_RETURN(json::object doc, ParseDoc(row.doc));
  json::object out{{"schemas", json::array{kUserSchema}}, {"id", row.id}};
  for (auto& kv : doc) out[kv.key()] = std::move(kv.value());
  out["active"] = row.active;
  json::array groups;
  for (const auto& gid : index.of_member[row.id]) {
    groups.push_back(json::object{{"value", gid},
                                  {"display", index.names[gid]},
                                  {"$ref", LocationOf(base_url, ResourceKind::kGroup, gid)},
                                  {"type", "direct"}});
  }
  out["groups"] = std::move(groups);
  out["meta"] = Meta("User", row.created, row.last_modified, row.version,
                     LocationOf(base_url, ResourceKind::kUser, row.id));
  return out;
}

}  // namespace

std::string ScimService::Location(ResourceKind kind, std::string_view id) const {
  return LocationOf(options_.base_url, kind, id);
}

StatusOr<json::object> ScimService::RenderUser(store::Transaction& tx, std::string_view tenant,
                                               const db::UserRow& row) {
  BULWARK_ASSIGN_OR_RETURN(GroupIndex index, LoadGroupIndex(tx, tenant));
  return UserJson(row, index, options_.base_url);
}

StatusOr<json::object> ScimService::StoreUser(store::Transaction& tx, std::string_view tenant,
                                              db::UserRow row, json::object doc, std::int64_t now,
                                              ScimChange& change) {
  const bool is_new = row.user_id.empty();
  bool active = true;
  if (const json::value* a = doc.if_contains("active")) active = a->is_bool() && a->as_bool();
  doc.erase("active");
  const std::string key = UserNameKey(doc);
  if (key.empty()) {
    return Status::InvalidArgument("invalid_value", "userName must be the member's email address");
  }
  json::object before;
  if (!is_new) {
    BULWARK_ASSIGN_OR_RETURN(before, ParseDoc(row.doc));
    if (UserNameKey(before) != key) {
      return Status::InvalidArgument(
          "mutability", "userName is the member's email and cannot change to another address; "
                        "deprovision the user and provision the new address");
    }
  }
  BULWARK_ASSIGN_OR_RETURN(auto same_name, db::FindUserByName(tx, tenant, key));
  if (same_name && same_name->id != row.id) {
    return Status::Conflict("uniqueness", "a User with this userName exists in this tenant");
  }
  if (is_new) {
    BULWARK_ASSIGN_OR_RETURN(row.user_id, identity::directory::EnsureUser(tx, key, now));
  }
  const bool was_active = row.active;
  row.active = active;
  std::vector<std::string> group_names;
  if (!is_new) {
    BULWARK_ASSIGN_OR_RETURN(auto gids, db::GroupsOf(tx, tenant, row.id));
    for (const auto& gid : gids) {
      BULWARK_ASSIGN_OR_RETURN(auto g, db::GetGroup(tx, tenant, gid));
      if (!g) continue;
      BULWARK_ASSIGN_OR_RETURN(json::object gdoc, ParseDoc(g->doc));
      for (const char* k : {"displayName", "externalId"}) {
        const json::value* v = gdoc.if_contains(k);
        if (v != nullptr && v->is_string()) group_names.emplace_back(v->as_string());
      }
    }
  }
  BULWARK_ASSIGN_OR_RETURN(AccessChange access,
                           access_.Apply(tx, tenant, row, group_names, now));
  row.doc = json::serialize(doc);
  row.last_modified = core::NowIso8601Micros();
  Status stored;
  if (is_new) {
    row.created = row.last_modified;
    stored = db::InsertUser(tx, tenant, row, key);
  } else {
    ++row.version;
    stored = db::UpdateUser(tx, tenant, row, key);
  }
  // A concurrent request that took the same userName first: the unique key refused this one.
  if (stored.code() == ErrorCode::kConflict) {
    return Status::Conflict("uniqueness", "a User with this userName exists in this tenant");
  }
  BULWARK_RETURN_IF_ERROR(stored);
  change.resource = "scim_user:" + row.id;
  change.details.emplace_back("changed", ChangedAttributes(before, doc));
  change.details.emplace_back("active", row.active);
  if (!is_new && was_active != row.active) change.details.emplace_back("active_changed", true);
  if (access.changed) {
    change.members.push_back(row.user_id);
    change.details.emplace_back("role_before", access.role_before);
    change.details.emplace_back("role_after", access.role_after);
    change.details.emplace_back("signins_ended", access.sessions_revoked);
    change.details.emplace_back("keys_disabled", access.api_keys_revoked);
  }
  return RenderUser(tx, tenant, row);
}

StatusOr<json::object> ScimService::CreateUser(store::Transaction& tx, std::string_view tenant,
                                               const json::value& body, std::int64_t now,
                                               ScimChange& change) {
  BULWARK_ASSIGN_OR_RETURN(json::object doc, NormalizeResource(ResourceKind::kUser, body));
  db::UserRow row;
  BULWARK_ASSIGN_OR_RETURN(row.id, internal::NewScimId());
  return StoreUser(tx, tenant, std::move(row), std::move(doc), now, change);
}

StatusOr<json::object> ScimService::GetUser(store::Transaction& tx, std::string_view tenant,
                                            std::string_view id) {
  BULWARK_ASSIGN_OR_RETURN(auto row, db::GetUser(tx, tenant, id));
  if (!row) return NotFound("User");
  return RenderUser(tx, tenant, *row);
}

StatusOr<json::object> ScimService::ReplaceUser(store::Transaction& tx, std::string_view tenant,
                                                std::string_view id, const json::value& body,
                                                std::int64_t now, ScimChange& change) {
  BULWARK_ASSIGN_OR_RETURN(auto row, db::GetUser(tx, tenant, id));
  if (!row) return NotFound("User");
  BULWARK_ASSIGN_OR_RETURN(json::object doc, NormalizeResource(ResourceKind::kUser, body));
  return StoreUser(tx, tenant, std::move(*row), std::move(doc), now, change);
}

StatusOr<json::object> ScimService::PatchUser(store::Transaction& tx, std::string_view tenant,
                                              std::string_view id, const json::value& body,
                                              std::int64_t now, ScimChange& change) {
  BULWARK_ASSIGN_OR_RETURN(auto ops, ParsePatchRequest(body));
  BULWARK_ASSIGN_OR_RETURN(auto row, db::GetUser(tx, tenant, id));
  if (!row) return NotFound("User");
  BULWARK_ASSIGN_OR_RETURN(json::object doc, ParseDoc(row->doc));
  doc["active"] = row->active;
  BULWARK_RETURN_IF_ERROR(ApplyPatch(ResourceKind::kUser, doc, ops));
  if (!doc.contains("active")) doc["active"] = true;  // removing active is the default, true
  return StoreUser(tx, tenant, std::move(*row), std::move(doc), now, change);
}

Status ScimService::DeleteUser(store::Transaction& tx, std::string_view tenant,
                               std::string_view id, std::int64_t now, ScimChange& change) {
  BULWARK_ASSIGN_OR_RETURN(auto row, db::GetUser(tx, tenant, id));
  if (!row) return NotFound("User");
  BULWARK_ASSIGN_OR_RETURN(AccessChange access, access_.Remove(tx, tenant, *row, now));
  BULWARK_RETURN_IF_ERROR(db::ForgetMember(tx, tenant, row->id));
  BULWARK_RETURN_IF_ERROR(db::DeleteUser(tx, tenant, row->id));
  change.resource = "scim_user:" + row->id;
  change.details.emplace_back("deleted", true);
  if (access.changed) {
    change.members.push_back(row->user_id);
    change.details.emplace_back("role_before", access.role_before);
    change.details.emplace_back("signins_ended", access.sessions_revoked);
    change.details.emplace_back("keys_disabled", access.api_keys_revoked);
  }
  return Status::Ok();
}

StatusOr<json::object> ScimService::List(store::Transaction& tx, std::string_view tenant,
                                         ResourceKind kind, const ListQuery& query) {
  std::optional<Filter> filter;
  if (!query.filter.empty()) {
    BULWARK_ASSIGN_OR_RETURN(filter, ParseFilter(kind, query.filter));
  }
  // Checked before any work, so a bad name is refused even on an empty list.
  BULWARK_RETURN_IF_ERROR(
      Project(kind, json::object{}, query.attributes, query.excluded_attributes).status());
  std::vector<json::object> matched;
  if (kind == ResourceKind::kUser) {
    BULWARK_ASSIGN_OR_RETURN(auto rows, db::ListUsers(tx, tenant));
    BULWARK_ASSIGN_OR_RETURN(GroupIndex index, LoadGroupIndex(tx, tenant));
    for (const auto& row : rows) {
      BULWARK_ASSIGN_OR_RETURN(json::object out, UserJson(row, index, options_.base_url));
      if (!filter || filter->Matches(out)) matched.push_back(std::move(out));
    }
  } else {
    BULWARK_ASSIGN_OR_RETURN(auto rows, db::ListGroups(tx, tenant));
    for (const auto& row : rows) {
      BULWARK_ASSIGN_OR_RETURN(json::object out, RenderGroup(tx, tenant, row));
      if (!filter || filter->Matches(out)) matched.push_back(std::move(out));
    }
  }
  const std::int64_t total = static_cast<std::int64_t>(matched.size());
  const std::int64_t start = std::max<std::int64_t>(query.start_index, 1);
  std::int64_t count = query.count < 0 ? options_.max_results : query.count;
  count = std::min(count, options_.max_results);
  json::array resources;
  for (std::int64_t i = start - 1; i < total && i < start - 1 + count; ++i) {
    BULWARK_ASSIGN_OR_RETURN(
        json::object p, Project(kind, std::move(matched[static_cast<std::size_t>(i)]),
                                query.attributes, query.excluded_attributes));
    resources.push_back(std::move(p));
  }
  const auto items = static_cast<std::int64_t>(resources.size());
  return json::object{{"schemas", json::array{kListSchema}},
                      {"totalResults", total},
                      {"startIndex", start},
                      {"itemsPerPage", items},
                      {"Resources", std::move(resources)}};
}

void ScimService::AfterCommit(std::string_view tenant, const ScimChange& change) {
  for (const auto& user_id : change.members) access_.Invalidate(tenant, user_id);
}

}  // namespace bulwark::scim

// The SCIM service's Groups, the re-mapping of their members' roles, and attribute projection.
#include <boost/json/serialize.hpp>
#include <set>

#include "core/clock.h"
#include "scim/patch.h"
#include "scim/resource_util.h"
#include "scim/service.h"

namespace bulwark::scim {

namespace json = boost::json;

namespace {

using internal::NotFound;
using internal::ParseDoc;

// The member ids of a normalised Group document (its "members" taken out of it).
std::set<std::string> TakeMembers(json::object& doc) {
  std::set<std::string> out;
  if (const json::value* m = doc.if_contains("members"); m != nullptr && m->is_array()) {
    for (const json::value& e : m->as_array()) {
      const json::value* v = e.is_object() ? e.as_object().if_contains("value") : nullptr;
      if (v != nullptr && v->is_string()) out.emplace(v->as_string());
    }
  }
  doc.erase("members");
  return out;
}

std::vector<std::string_view> SplitList(std::string_view s) {
  std::vector<std::string_view> out;
  while (!s.empty()) {
    const std::size_t comma = s.find(',');
    std::string_view part = s.substr(0, comma);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    if (!part.empty()) out.push_back(part);
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace

StatusOr<json::object> ScimService::RenderGroup(store::Transaction& tx, std::string_view tenant,
                                                const db::GroupRow& row) {
  BULWARK_ASSIGN_OR_RETURN(json::object doc, ParseDoc(row.doc));
  BULWARK_ASSIGN_OR_RETURN(auto members, db::MembersOf(tx, tenant, row.id));
  json::object out{{"schemas", json::array{kGroupSchema}}, {"id", row.id}};
  for (auto& kv : doc) out[kv.key()] = std::move(kv.value());
  json::array list;
  for (const auto& m : members) {
    json::object e{{"value", m}, {"$ref", Location(ResourceKind::kUser, m)}, {"type", "User"}};
    BULWARK_ASSIGN_OR_RETURN(auto user, db::GetUser(tx, tenant, m));
    if (user) {
      BULWARK_ASSIGN_OR_RETURN(json::object udoc, ParseDoc(user->doc));
      if (const json::value* n = udoc.if_contains("userName")) e["display"] = *n;
    }
    list.push_back(std::move(e));
  }
  out["members"] = std::move(list);
  out["meta"] = internal::Meta("Group", row.created, row.last_modified, row.version,
                               Location(ResourceKind::kGroup, row.id));
  return out;
}

Status ScimService::Reevaluate(store::Transaction& tx, std::string_view tenant,
                               std::string_view member_id, std::int64_t now, ScimChange& change) {
  BULWARK_ASSIGN_OR_RETURN(auto row, db::GetUser(tx, tenant, member_id));
  if (!row) return Status::Ok();
  std::vector<std::string> names;
  BULWARK_ASSIGN_OR_RETURN(auto gids, db::GroupsOf(tx, tenant, member_id));
  for (const auto& gid : gids) {
    BULWARK_ASSIGN_OR_RETURN(auto g, db::GetGroup(tx, tenant, gid));
    if (!g) continue;
    BULWARK_ASSIGN_OR_RETURN(json::object doc, ParseDoc(g->doc));
    for (const char* k : {"displayName", "externalId"}) {
      const json::value* v = doc.if_contains(k);
      if (v != nullptr && v->is_string()) names.emplace_back(v->as_string());
    }
  }
  const std::string suspended_before = row->suspended_role;
  BULWARK_ASSIGN_OR_RETURN(AccessChange access, access_.Apply(tx, tenant, *row, names, now));
  if (row->suspended_role != suspended_before) {
    BULWARK_RETURN_IF_ERROR(db::SetSuspendedRole(tx, tenant, row->id, row->suspended_role));
  }
  if (access.changed) {
    change.members.push_back(row->user_id);
    change.details.emplace_back("role_change:" + row->id,
                                access.role_before + "->" + access.role_after);
  }
  return Status::Ok();
}

StatusOr<json::object> ScimService::StoreGroup(store::Transaction& tx, std::string_view tenant,
                                               db::GroupRow row, json::object doc,
                                               std::int64_t now, ScimChange& change) {
  const bool is_new = row.created.empty();
  std::set<std::string> wanted = TakeMembers(doc);
  for (const auto& m : wanted) {
    BULWARK_ASSIGN_OR_RETURN(auto user, db::GetUser(tx, tenant, m));
    if (!user) {
      return Status::InvalidArgument("invalid_value",
                                     "a member's value must be the id of a User of this tenant");
    }
  }
  std::set<std::string> had;
  bool renamed = is_new;
  if (!is_new) {
    BULWARK_ASSIGN_OR_RETURN(auto current, db::MembersOf(tx, tenant, row.id));
    had.insert(current.begin(), current.end());
    BULWARK_ASSIGN_OR_RETURN(json::object before, ParseDoc(row.doc));
    renamed = before != doc;
  }
  row.doc = json::serialize(doc);
  row.last_modified = core::NowIso8601Micros();
  if (is_new) {
    row.created = row.last_modified;
    BULWARK_RETURN_IF_ERROR(db::InsertGroup(tx, tenant, row));
  } else {
    ++row.version;
    BULWARK_RETURN_IF_ERROR(db::UpdateGroup(tx, tenant, row));
  }
  std::int64_t added = 0;
  std::int64_t removed = 0;
  for (const auto& m : wanted) {
    if (had.contains(m)) continue;
    BULWARK_RETURN_IF_ERROR(db::AddGroupMember(tx, tenant, row.id, m));
    ++added;
  }
  for (const auto& m : had) {
    if (wanted.contains(m)) continue;
    BULWARK_RETURN_IF_ERROR(db::RemoveGroupMember(tx, tenant, row.id, m));
    ++removed;
  }
  change.resource = "scim_group:" + row.id;
  change.details.emplace_back("members_added", added);
  change.details.emplace_back("members_removed", removed);
  // A member's role follows its groups' names: re-map whoever joined or left, and everyone when
  // the group's name or external id changed.
  std::set<std::string> touched;
  for (const auto& m : wanted) {
    if (renamed || !had.contains(m)) touched.insert(m);
  }
  for (const auto& m : had) {
    if (renamed || !wanted.contains(m)) touched.insert(m);
  }
  for (const auto& m : touched) BULWARK_RETURN_IF_ERROR(Reevaluate(tx, tenant, m, now, change));
  return RenderGroup(tx, tenant, row);
}

StatusOr<json::object> ScimService::CreateGroup(store::Transaction& tx, std::string_view tenant,
                                                const json::value& body, std::int64_t now,
                                                ScimChange& change) {
  BULWARK_ASSIGN_OR_RETURN(json::object doc, NormalizeResource(ResourceKind::kGroup, body));
  db::GroupRow row;
  BULWARK_ASSIGN_OR_RETURN(row.id, internal::NewScimId());
  return StoreGroup(tx, tenant, std::move(row), std::move(doc), now, change);
}

StatusOr<json::object> ScimService::GetGroup(store::Transaction& tx, std::string_view tenant,
                                             std::string_view id) {
  BULWARK_ASSIGN_OR_RETURN(auto row, db::GetGroup(tx, tenant, id));
  if (!row) return NotFound("Group");
  return RenderGroup(tx, tenant, *row);
}

StatusOr<json::object> ScimService::ReplaceGroup(store::Transaction& tx, std::string_view tenant,
                                                 std::string_view id, const json::value& body,
                                                 std::int64_t now, ScimChange& change) {
  BULWARK_ASSIGN_OR_RETURN(auto row, db::GetGroup(tx, tenant, id));
  if (!row) return NotFound("Group");
  BULWARK_ASSIGN_OR_RETURN(json::object doc, NormalizeResource(ResourceKind::kGroup, body));
  return StoreGroup(tx, tenant, std::move(*row), std::move(doc), now, change);
}

StatusOr<json::object> ScimService::PatchGroup(store::Transaction& tx, std::string_view tenant,
                                               std::string_view id, const json::value& body,
                                               std::int64_t now, ScimChange& change) {
  BULWARK_ASSIGN_OR_RETURN(auto ops, ParsePatchRequest(body));
  BULWARK_ASSIGN_OR_RETURN(auto row, db::GetGroup(tx, tenant, id));
  if (!row) return NotFound("Group");
  BULWARK_ASSIGN_OR_RETURN(json::object doc, ParseDoc(row->doc));
  BULWARK_ASSIGN_OR_RETURN(auto members, db::MembersOf(tx, tenant, row->id));
  json::array list;
  for (const auto& m : members) list.push_back(json::object{{"value", m}});
  if (!list.empty()) doc["members"] = std::move(list);
  BULWARK_RETURN_IF_ERROR(ApplyPatch(ResourceKind::kGroup, doc, ops));
  return StoreGroup(tx, tenant, std::move(*row), std::move(doc), now, change);
}

Status ScimService::DeleteGroup(store::Transaction& tx, std::string_view tenant,
                                std::string_view id, std::int64_t now, ScimChange& change) {
  BULWARK_ASSIGN_OR_RETURN(auto row, db::GetGroup(tx, tenant, id));
  if (!row) return NotFound("Group");
  BULWARK_ASSIGN_OR_RETURN(auto members, db::MembersOf(tx, tenant, row->id));
  BULWARK_RETURN_IF_ERROR(db::DeleteGroup(tx, tenant, row->id));
  change.resource = "scim_group:" + row->id;
  change.details.emplace_back("deleted", true);
  change.details.emplace_back("members_removed", static_cast<std::int64_t>(members.size()));
  for (const auto& m : members) BULWARK_RETURN_IF_ERROR(Reevaluate(tx, tenant, m, now, change));
  return Status::Ok();
}

StatusOr<json::object> ScimService::Project(ResourceKind kind, json::object resource,
                                            std::string_view attributes,
                                            std::string_view excluded) {
  struct Named {
    const AttrDef* attr;
    const AttrDef* sub;
  };
  const auto resolve = [kind](std::string_view list) -> StatusOr<std::vector<Named>> {
    std::vector<Named> out;
    for (std::string_view name : SplitList(list)) {
      if (IsIgnoredAttr(kind, name)) continue;
      name = StripSchemaPrefix(kind, name);
      const std::size_t dot = name.find('.');
      const AttrDef* a = FindAttr(kind, name.substr(0, dot));
      const AttrDef* s = a != nullptr && dot != std::string_view::npos
                             ? FindSub(*a, name.substr(dot + 1))
                             : nullptr;
      if (a == nullptr || (dot != std::string_view::npos && s == nullptr)) {
        return Status::InvalidArgument("invalid_value",
                                       "attributes and excludedAttributes name known attributes");
      }
      out.push_back({a, s});
    }
    return out;
  };
  BULWARK_ASSIGN_OR_RETURN(auto keep, resolve(attributes));
  BULWARK_ASSIGN_OR_RETURN(auto drop, resolve(excluded));
  const auto trim_sub = [](json::value& v, std::string_view sub, bool keep_only) {
    const auto one = [&](json::value& e) {
      if (!e.is_object()) return;
      if (keep_only) {
        json::object kept;
        if (const json::value* x = e.as_object().if_contains(sub)) kept[sub] = *x;
        e = std::move(kept);
      } else {
        e.as_object().erase(sub);
      }
    };
    if (v.is_array()) {
      for (json::value& e : v.as_array()) one(e);
    } else {
      one(v);
    }
  };
  if (!keep.empty()) {
    json::object out;
    for (const char* always : {"schemas", "id"}) {
      if (const json::value* v = resource.if_contains(always)) out[always] = *v;
    }
    for (const Named& n : keep) {
      json::value* v = resource.if_contains(n.attr->name);
      if (v == nullptr) continue;
      if (n.sub == nullptr) {
        out[n.attr->name] = *v;
        continue;
      }
      json::value copy = *v;
      trim_sub(copy, n.sub->name, true);
      if (json::value* have = out.if_contains(n.attr->name); have != nullptr && have->is_object() &&
                                                              copy.is_object()) {
        for (auto& kv : copy.as_object()) have->as_object()[kv.key()] = kv.value();
      } else if (out.if_contains(n.attr->name) == nullptr) {
        out[n.attr->name] = std::move(copy);
      }
    }
    resource = std::move(out);
  }
  for (const Named& n : drop) {
    if (n.attr->name == "id") continue;  // returned always
    if (n.sub == nullptr) {
      resource.erase(n.attr->name);
    } else if (json::value* v = resource.if_contains(n.attr->name)) {
      trim_sub(*v, n.sub->name, false);
    }
  }
  return resource;
}

}  // namespace bulwark::scim

#include "scim/patch.h"

#include <optional>

#include "scim/filter.h"

namespace bulwark::scim {
namespace {

namespace json = boost::json;

constexpr std::size_t kMaxOperations = 1000;

Status InvalidPath(std::string m) { return Status::InvalidArgument("invalid_path", std::move(m)); }
Status InvalidValue(std::string m) {
  return Status::InvalidArgument("invalid_value", std::move(m));
}
Status Immutable(std::string_view attr) {
  return Status::InvalidArgument("mutability",
                                 "attribute " + std::string(attr) + " cannot be changed");
}

struct Target {
  bool ignored = false;
  const AttrDef* attr = nullptr;
  std::optional<Filter> filter;
  const AttrDef* sub = nullptr;
};

StatusOr<Target> ParsePath(ResourceKind kind, std::string_view path) {
  Target t;
  if (IsIgnoredAttr(kind, path)) {
    t.ignored = true;
    return t;
  }
  path = StripSchemaPrefix(kind, path);
  const std::size_t open = path.find('[');
  std::string_view head = path.substr(0, std::min(open, path.find('.')));
  std::string_view rest = path.substr(head.size());
  t.attr = FindAttr(kind, head);
  if (t.attr == nullptr) return InvalidPath("the path names an unknown attribute");
  if (!rest.empty() && rest.front() == '[') {
    const std::size_t close = rest.rfind(']');
    if (close == std::string_view::npos) return InvalidPath("a '[' in the path is not closed");
    if (!t.attr->multi || t.attr->type != AttrType::kComplex) {
      return InvalidPath("a value filter needs a multi-valued complex attribute");
    }
    auto f = ParseElementFilter(kind, *t.attr, rest.substr(1, close - 1));
    if (!f.ok()) return InvalidPath("the path's value filter does not parse");
    t.filter = std::move(*f);
    rest = rest.substr(close + 1);
  }
  if (!rest.empty()) {
    if (rest.front() != '.' || t.attr->type != AttrType::kComplex) {
      return InvalidPath("the path does not parse");
    }
    t.sub = FindSub(*t.attr, rest.substr(1));
    if (t.sub == nullptr) return InvalidPath("the path names an unknown sub-attribute");
  }
  if (t.attr->mutability == Mutability::kReadOnly) return Immutable(t.attr->name);
  return t;
}

StatusOr<json::value> NormalizeScalar(const AttrDef& def, const json::value& v) {
  if (def.type == AttrType::kBoolean) {
    if (v.is_bool()) return v;
    if (v.is_string()) {
      if (IEquals(v.as_string(), "true")) return json::value(true);
      if (IEquals(v.as_string(), "false")) return json::value(false);
    }
    return InvalidValue("attribute " + std::string(def.name) + " is a boolean");
  }
  if (!v.is_string()) return InvalidValue("attribute " + std::string(def.name) + " is a string");
  return v;
}

StatusOr<json::value> NormalizeComplex(const AttrDef& def, const json::value& v) {
  if (!v.is_object()) {
    return InvalidValue("attribute " + std::string(def.name) + " takes an object");
  }
  json::object out;
  for (const auto& kv : v.as_object()) {
    const AttrDef* sub = FindSub(def, kv.key());
    if (sub == nullptr) {
      return InvalidValue("attribute " + std::string(def.name) + " has no sub-attribute " +
                          std::string(kv.key().substr(0, 64)));
    }
    if (kv.value().is_null()) continue;
    BULWARK_ASSIGN_OR_RETURN(json::value n, NormalizeScalar(*sub, kv.value()));
    out[sub->name] = std::move(n);
  }
  return json::value(std::move(out));
}

json::value* Find(json::object& o, std::string_view name) {
  auto it = o.find(name);
  return it == o.end() ? nullptr : &it->value();
}

// Merges the sub-attributes of `from` into `into` (both objects).
void Merge(json::value& into, const json::value& from) {
  if (!into.is_object()) into = json::object();
  for (const auto& kv : from.as_object()) into.as_object()[kv.key()] = kv.value();
}

bool SameElement(const AttrDef& def, const json::value& a, const json::value& b) {
  const json::value* va = a.is_object() ? a.as_object().if_contains("value") : nullptr;
  const json::value* vb = b.is_object() ? b.as_object().if_contains("value") : nullptr;
  if (va == nullptr || vb == nullptr) return a == b;
  const AttrDef* sub = FindSub(def, "value");
  return sub != nullptr && CompareValues(*sub, *va, CompareOp::kEq, *vb);
}

Status AddOrReplace(json::object& res, const Target& t, const json::value& raw, bool replace) {
  const AttrDef& a = *t.attr;
  const std::string key(a.name);
  if (t.sub != nullptr) {
    BULWARK_ASSIGN_OR_RETURN(json::value v, NormalizeScalar(*t.sub, raw));
    if (t.sub->mutability != Mutability::kReadWrite && a.multi) return Immutable(t.sub->name);
    if (!a.multi) {
      json::value& obj = res[key];
      if (!obj.is_object()) obj = json::object();
      obj.as_object()[t.sub->name] = std::move(v);
      return Status::Ok();
    }
    json::value& arr = res[key];
    if (!arr.is_array()) arr = json::array();
    bool matched = false;
    for (json::value& e : arr.as_array()) {
      if (t.filter && !ElementMatches(*t.filter, e)) continue;
      if (!e.is_object()) e = json::object();
      e.as_object()[t.sub->name] = v;
      matched = true;
    }
    if (matched) return Status::Ok();
    json::object created;
    if (t.filter) {
      auto terms = EqualityTerms(*t.filter);
      if (terms.empty()) return Status::InvalidArgument("no_target", "the path selects no value");
      for (auto& [def, val] : terms) created[def->name] = val;
    }
    created[t.sub->name] = std::move(v);
    arr.as_array().push_back(std::move(created));
    return Status::Ok();
  }
  if (a.type != AttrType::kComplex) {
    BULWARK_ASSIGN_OR_RETURN(json::value v, NormalizeScalar(a, raw));
    res[key] = std::move(v);
    return Status::Ok();
  }
  if (!a.multi) {
    BULWARK_ASSIGN_OR_RETURN(json::value v, NormalizeComplex(a, raw));
    Merge(res[key], v);  // RFC 7644 3.5.2.1 and 3.5.2.3: sub-attributes not given stay
    return Status::Ok();
  }
  BULWARK_ASSIGN_OR_RETURN(json::value v, NormalizeValue(a, raw));
  json::value& arr = res[key];
  if (!arr.is_array()) arr = json::array();
  if (t.filter) {
    if (!v.as_array().empty() && v.as_array().size() != 1) {
      return InvalidValue("a value path takes one value");
    }
    bool matched = false;
    for (json::value& e : arr.as_array()) {
      if (!ElementMatches(*t.filter, e)) continue;
      matched = true;
      if (!v.as_array().empty()) Merge(e, v.as_array()[0]);
    }
    if (matched) return Status::Ok();
    auto terms = EqualityTerms(*t.filter);
    if (terms.empty()) return Status::InvalidArgument("no_target", "the path selects no value");
    json::value created = json::object();
    for (auto& [def, val] : terms) created.as_object()[def->name] = val;
    if (!v.as_array().empty()) Merge(created, v.as_array()[0]);
    arr.as_array().push_back(std::move(created));
    return Status::Ok();
  }
  if (replace) arr = json::array();
  for (json::value& e : v.as_array()) {
    bool dup = false;
    for (const json::value& have : arr.as_array()) dup = dup || SameElement(a, have, e);
    if (!dup) arr.as_array().push_back(std::move(e));
  }
  return Status::Ok();
}

Status Remove(json::object& res, const Target& t, const json::value& value) {
  const AttrDef& a = *t.attr;
  json::value* cur = Find(res, a.name);
  if (cur == nullptr) return Status::Ok();
  if (!a.multi) {
    if (t.sub != nullptr) {
      if (cur->is_object()) cur->as_object().erase(t.sub->name);
    } else {
      res.erase(a.name);
    }
    return Status::Ok();
  }
  if (!cur->is_array()) {
    res.erase(a.name);
    return Status::Ok();
  }
  json::array& arr = cur->as_array();
  if (!t.filter && t.sub == nullptr && !value.is_null()) {
    BULWARK_ASSIGN_OR_RETURN(json::value listed, NormalizeValue(a, value));
    json::array kept;
    for (json::value& e : arr) {
      bool drop = false;
      for (const json::value& l : listed.as_array()) drop = drop || SameElement(a, e, l);
      if (!drop) kept.push_back(std::move(e));
    }
    arr = std::move(kept);
    return Status::Ok();
  }
  if (t.sub != nullptr) {
    if (t.sub->mutability != Mutability::kReadWrite) return Immutable(t.sub->name);
    for (json::value& e : arr) {
      if ((!t.filter || ElementMatches(*t.filter, e)) && e.is_object()) {
        e.as_object().erase(t.sub->name);
      }
    }
    return Status::Ok();
  }
  if (!t.filter) {
    res.erase(a.name);
    return Status::Ok();
  }
  json::array kept;
  for (json::value& e : arr) {
    if (!ElementMatches(*t.filter, e)) kept.push_back(std::move(e));
  }
  arr = std::move(kept);
  return Status::Ok();
}

Status ApplyOne(ResourceKind kind, json::object& res, const PatchOp& op) {
  if (!op.has_path) {
    if (op.kind == PatchOp::Kind::kRemove) {
      return Status::InvalidArgument("no_target", "remove needs a path");
    }
    if (!op.value.is_object()) {
      return InvalidValue("an operation without a path takes an object of attributes");
    }
    for (const auto& kv : op.value.as_object()) {
      // Okta repeats the id in a value object ({"id": ..., "displayName": ...}): a read-only
      // attribute there is ignored, as in a PUT body (RFC 7643 2.2); through a path it is refused.
      const AttrDef* named = FindAttr(kind, kv.key().substr(0, kv.key().find('.')));
      if (named != nullptr && named->mutability == Mutability::kReadOnly) continue;
      BULWARK_ASSIGN_OR_RETURN(Target t, ParsePath(kind, kv.key()));
      if (t.ignored) continue;
      if (t.filter) return InvalidPath("a value object's keys are attribute names");
      BULWARK_RETURN_IF_ERROR(
          AddOrReplace(res, t, kv.value(), op.kind == PatchOp::Kind::kReplace));
    }
    return Status::Ok();
  }
  BULWARK_ASSIGN_OR_RETURN(Target t, ParsePath(kind, op.path));
  if (t.ignored) return Status::Ok();
  if (op.kind == PatchOp::Kind::kRemove) return Remove(res, t, op.value);
  if (op.value.is_null()) return InvalidValue("add and replace need a value");
  return AddOrReplace(res, t, op.value, op.kind == PatchOp::Kind::kReplace);
}

}  // namespace

StatusOr<std::vector<PatchOp>> ParsePatchRequest(const json::value& body) {
  const auto bad = [](std::string m) { return Status::InvalidArgument("invalid_syntax", m); };
  if (!body.is_object()) return bad("the body is not a PatchOp");
  const json::object& o = body.as_object();
  const json::value* schemas = o.if_contains("schemas");
  bool is_patch = false;
  if (schemas != nullptr && schemas->is_array()) {
    for (const auto& s : schemas->as_array()) {
      is_patch = is_patch || (s.is_string() && IEquals(s.as_string(), kPatchSchema));
    }
  }
  if (!is_patch) return bad("schemas must name " + std::string(kPatchSchema));
  const json::value* ops = nullptr;
  for (const auto& kv : o) {
    if (IEquals(kv.key(), "Operations")) ops = &kv.value();
  }
  if (ops == nullptr || !ops->is_array() || ops->as_array().empty()) {
    return bad("Operations must be a non-empty array");
  }
  if (ops->as_array().size() > kMaxOperations) return bad("at most 1000 operations");
  std::vector<PatchOp> out;
  for (const json::value& e : ops->as_array()) {
    if (!e.is_object()) return bad("an operation is an object");
    PatchOp op;
    bool have_op = false;
    for (const auto& kv : e.as_object()) {
      if (IEquals(kv.key(), "op")) {
        if (!kv.value().is_string()) return bad("op is a string");
        const std::string_view name = kv.value().as_string();
        have_op = true;
        if (IEquals(name, "add")) {
          op.kind = PatchOp::Kind::kAdd;
        } else if (IEquals(name, "replace")) {
          op.kind = PatchOp::Kind::kReplace;
        } else if (IEquals(name, "remove")) {
          op.kind = PatchOp::Kind::kRemove;
        } else {
          return bad("op is add, replace or remove");
        }
      } else if (IEquals(kv.key(), "path")) {
        if (!kv.value().is_string()) return InvalidPath("path is a string");
        op.has_path = !kv.value().as_string().empty();
        op.path = std::string(kv.value().as_string());
      } else if (IEquals(kv.key(), "value")) {
        op.value = kv.value();
      } else {
        return bad("an operation has op, path and value only");
      }
    }
    if (!have_op) return bad("an operation needs op");
    out.push_back(std::move(op));
  }
  return out;
}

Status ApplyPatch(ResourceKind kind, json::object& resource, const std::vector<PatchOp>& ops) {
  for (const PatchOp& op : ops) BULWARK_RETURN_IF_ERROR(ApplyOne(kind, resource, op));
  // Empty complex values and multi-valued attributes are unassigned (RFC 7644 3.5.2.2: "If no
  // other values remain after removal of the selected values, the multi-valued attribute SHALL be
  // considered unassigned").
  for (auto it = resource.begin(); it != resource.end();) {
    const json::value& v = it->value();
    if (v.is_null() || (v.is_object() && v.as_object().empty()) ||
        (v.is_array() && v.as_array().empty())) {
      it = resource.erase(it);
    } else {
      ++it;
    }
  }
  return CheckRequired(kind, resource);
}

StatusOr<json::value> NormalizeValue(const AttrDef& def, const json::value& value) {
  if (def.type != AttrType::kComplex) {
    if (!def.multi) return NormalizeScalar(def, value);
    return InvalidValue("unsupported multi-valued simple attribute");
  }
  if (!def.multi) return NormalizeComplex(def, value);
  json::array out;
  if (value.is_array()) {
    for (const json::value& e : value.as_array()) {
      BULWARK_ASSIGN_OR_RETURN(json::value n, NormalizeComplex(def, e));
      out.push_back(std::move(n));
    }
  } else {
    BULWARK_ASSIGN_OR_RETURN(json::value n, NormalizeComplex(def, value));
    out.push_back(std::move(n));
  }
  return json::value(std::move(out));
}

StatusOr<json::object> NormalizeResource(ResourceKind kind, const json::value& body) {
  if (!body.is_object()) {
    return Status::InvalidArgument("invalid_syntax", "the body is not a resource object");
  }
  json::object out;
  for (const auto& kv : body.as_object()) {
    if (IsIgnoredAttr(kind, kv.key())) continue;
    const AttrDef* def = FindAttr(kind, kv.key());
    if (def == nullptr) {
      return Status::InvalidArgument(
          "invalid_syntax",
          "unknown attribute " + std::string(kv.key().substr(0, 64)) + " (see /scim/v2/Schemas)");
    }
    // RFC 7643 2.2: a client's values of read-only attributes are ignored.
    if (def->mutability == Mutability::kReadOnly || kv.value().is_null()) continue;
    BULWARK_ASSIGN_OR_RETURN(json::value v, NormalizeValue(*def, kv.value()));
    out[def->name] = std::move(v);
  }
  BULWARK_RETURN_IF_ERROR(CheckRequired(kind, out));
  return out;
}

Status CheckRequired(ResourceKind kind, const json::object& resource) {
  for (const AttrDef& a : AttributesOf(kind)) {
    if (!a.required) continue;
    const json::value* v = resource.if_contains(a.name);
    if (v == nullptr || !v->is_string() || v->as_string().empty()) {
      return InvalidValue("attribute " + std::string(a.name) + " is required");
    }
  }
  return Status::Ok();
}

}  // namespace bulwark::scim

#include "api/body.h"

#include <algorithm>
#include <span>

namespace bulwark::api {
namespace {

StatusOr<JsonFields> CheckBody(const http::RequestContext& ctx, std::span<const FieldSpec> fields) {
  const auto bad = [&] {
    std::string expected = "expected a JSON object with";
    for (const FieldSpec& f : fields) {
      expected += " \"" + std::string(f.name) + "\" (";
      expected += f.kind == FieldSpec::Kind::kString ? "string"
                  : f.kind == FieldSpec::Kind::kInt  ? "integer"
                  : f.kind == FieldSpec::Kind::kBool ? "boolean"
                                                     : "array of strings";
      expected += f.required ? ")" : ", optional)";
    }
    return Status::InvalidArgument("invalid_body", expected);
  };
  const boost::json::object* o = ctx.json.if_object();
  if (o == nullptr) return bad();
  for (const auto& kv : *o) {
    const auto spec = std::find_if(fields.begin(), fields.end(),
                                   [&](const FieldSpec& f) { return f.name == kv.key(); });
    if (spec == fields.end()) return bad();
    const boost::json::value& v = kv.value();
    switch (spec->kind) {
      case FieldSpec::Kind::kString:
        if (!v.is_string()) return bad();
        break;
      case FieldSpec::Kind::kInt:
        if (!v.is_int64()) return bad();
        break;
      case FieldSpec::Kind::kBool:
        if (!v.is_bool()) return bad();
        break;
      case FieldSpec::Kind::kStringArray:
        if (!v.is_array() || v.get_array().size() > 256) return bad();
        for (const auto& e : v.get_array()) {
          if (!e.is_string()) return bad();
        }
        break;
    }
  }
  for (const FieldSpec& f : fields) {
    if (f.required && !o->contains(f.name)) return bad();
  }
  return JsonFields(*o);
}

}  // namespace

std::string_view JsonFields::String(std::string_view name) const {
  const auto* v = o_.if_contains(name);
  if (v == nullptr || !v->is_string()) return {};
  return v->get_string();
}

std::vector<std::string> JsonFields::Strings(std::string_view name) const {
  std::vector<std::string> out;
  const auto* v = o_.if_contains(name);
  if (v == nullptr || !v->is_array()) return out;
  for (const auto& e : v->get_array()) {
    if (e.is_string()) out.emplace_back(e.get_string());
  }
  return out;
}

std::optional<bool> JsonFields::Bool(std::string_view name) const {
  const auto* v = o_.if_contains(name);
  if (v == nullptr || !v->is_bool()) return std::nullopt;
  return v->get_bool();
}

std::optional<std::int64_t> JsonFields::Int(std::string_view name) const {
  const auto* v = o_.if_contains(name);
  if (v == nullptr || !v->is_int64()) return std::nullopt;
  return v->get_int64();
}

StatusOr<JsonFields> JsonBody(const http::RequestContext& ctx,
                              std::initializer_list<FieldSpec> fields) {
  return CheckBody(ctx, std::span<const FieldSpec>(fields.begin(), fields.size()));
}

StatusOr<JsonFields> JsonBody(const http::RequestContext& ctx,
                              std::initializer_list<std::string_view> required,
                              std::initializer_list<std::string_view> optional) {
  std::vector<FieldSpec> fields;
  for (auto r : required) fields.push_back({.name = r});
  for (auto o : optional) fields.push_back({.name = o, .required = false});
  return CheckBody(ctx, fields);
}

}  // namespace bulwark::api

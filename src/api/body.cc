#include "api/body.h"

#include <algorithm>

namespace bulwark::api {

std::string_view JsonFields::String(std::string_view name) const {
  const auto* v = o_.if_contains(name);
  if (v == nullptr || !v->is_string()) return {};
  return v->get_string();
}

StatusOr<JsonFields> JsonBody(const http::RequestContext& ctx,
                              std::initializer_list<std::string_view> required,
                              std::initializer_list<std::string_view> optional) {
  const auto bad = [&] {
    std::string expected = "expected a JSON object with string members";
    for (auto r : required) expected += " \"" + std::string(r) + "\"";
    if (optional.size() > 0) {
      expected += " (optional:";
      for (auto o : optional) expected += " \"" + std::string(o) + "\"";
      expected += ")";
    }
    return Status::InvalidArgument("invalid_body", expected);
  };
  const boost::json::object* o = ctx.json.if_object();
  if (o == nullptr) return bad();
  for (const auto& kv : *o) {
    const std::string_view key = kv.key();
    const bool known = std::find(required.begin(), required.end(), key) != required.end() ||
                       std::find(optional.begin(), optional.end(), key) != optional.end();
    if (!known || !kv.value().is_string()) return bad();
  }
  for (auto r : required) {
    if (!o->contains(r)) return bad();
  }
  return JsonFields(*o);
}

}  // namespace bulwark::api

#include "core/json_merge_patch.h"

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>

#include "core/json_text.h"

namespace bulwark::core {
namespace {

// `text` as compact JSON with exact numbers: MemberTextExact of a wrapper object.
std::optional<std::string> Exact(std::string_view text) {
  std::string wrapped = "{\"v\":";
  wrapped += text;
  wrapped += '}';
  return MemberTextExact(wrapped, "v");
}

// Both texts are compact and exact (Exact); their parsed forms say only what is an object and
// which members it has, in order. Each member's text is taken from the text it came from.
std::optional<std::string> Merge(std::string_view target_text, const boost::json::value& target,
                                 std::string_view patch_text, const boost::json::value& patch) {
  const boost::json::object* p = patch.if_object();
  if (p == nullptr) return std::string(patch_text);
  const boost::json::object* t = target.if_object();
  std::string out = "{";
  const auto add = [&](std::string_view key, std::string_view value) {
    if (out.size() > 1) out += ',';
    AppendJsonString(out, key);
    out += ':';
    out += value;
  };
  static const boost::json::value kNull;
  if (t != nullptr) {
    for (const auto& member : *t) {
      const std::string_view key = member.key();
      auto own = MemberTextExact(target_text, key);
      if (!own) return std::nullopt;
      const boost::json::value* change = p->if_contains(key);
      if (change == nullptr) {
        add(key, *own);
        continue;
      }
      if (change->is_null()) continue;
      auto change_text = MemberTextExact(patch_text, key);
      if (!change_text) return std::nullopt;
      auto merged = Merge(*own, member.value(), *change_text, *change);
      if (!merged) return std::nullopt;
      add(key, *merged);
    }
  }
  for (const auto& member : *p) {
    const std::string_view key = member.key();
    if (member.value().is_null() || (t != nullptr && t->contains(key))) continue;
    auto change_text = MemberTextExact(patch_text, key);
    if (!change_text) return std::nullopt;
    auto merged = Merge("null", kNull, *change_text, member.value());
    if (!merged) return std::nullopt;
    add(key, *merged);
  }
  out += '}';
  return out;
}

}  // namespace

std::optional<std::string> MergePatchText(std::string_view target, std::string_view patch) {
  auto target_text = Exact(target);
  auto patch_text = Exact(patch);
  if (!target_text || !patch_text) return std::nullopt;
  boost::system::error_code ec;
  boost::json::parse_options opts;
  opts.max_depth = 32;
  const boost::json::value t = boost::json::parse(*target_text, ec, {}, opts);
  if (ec) return std::nullopt;
  const boost::json::value p = boost::json::parse(*patch_text, ec, {}, opts);
  if (ec) return std::nullopt;
  return Merge(*target_text, t, *patch_text, p);
}

}  // namespace bulwark::core

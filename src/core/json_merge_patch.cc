#include "core/json_merge_patch.h"

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <vector>

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

// The text of each member's value of a compact JSON object, in order, found in one pass (so a
// merge is linear in the size of its texts, however many members they have). `text` is compact
// JSON already parsed once (Exact), so only strings and nesting need tracking.
std::optional<std::vector<std::string_view>> MemberValues(std::string_view text) {
  if (text.size() < 2 || text.front() != '{' || text.back() != '}') return std::nullopt;
  std::vector<std::string_view> out;
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  std::size_t value_start = std::string_view::npos;
  for (std::size_t i = 1; i + 1 < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '{':
      case '[':
        ++depth;
        break;
      case '}':
      case ']':
        --depth;
        break;
      case ':':
        if (depth == 0 && value_start == std::string_view::npos) value_start = i + 1;
        break;
      case ',':
        if (depth == 0) {
          if (value_start == std::string_view::npos) return std::nullopt;
          out.push_back(text.substr(value_start, i - value_start));
          value_start = std::string_view::npos;
        }
        break;
      default:
        break;
    }
  }
  if (value_start != std::string_view::npos) {
    out.push_back(text.substr(value_start, text.size() - 1 - value_start));
  }
  return out;
}

// Both texts are compact and exact (Exact); their parsed forms say only what is an object and
// which members it has, in order. Each member's text is taken from the text it came from.
std::optional<std::string> Merge(std::string_view target_text, const boost::json::value& target,
                                 std::string_view patch_text, const boost::json::value& patch) {
  const boost::json::object* p = patch.if_object();
  if (p == nullptr) return std::string(patch_text);
  const auto patch_values = MemberValues(patch_text);
  // A count that differs (a duplicate key the parse folded) is refused, never guessed at.
  if (!patch_values || patch_values->size() != p->size()) return std::nullopt;
  const boost::json::object* t = target.if_object();
  std::string out = "{";
  const auto add = [&](std::string_view key, std::string_view value) {
    if (out.size() > 1) out += ',';
    AppendJsonString(out, key);
    out += ':';
    out += value;
  };
  const auto patch_text_of = [&](boost::json::object::const_iterator it) {
    return (*patch_values)[static_cast<std::size_t>(it - p->begin())];
  };
  static const boost::json::value kNull;
  if (t != nullptr) {
    const auto target_values = MemberValues(target_text);
    if (!target_values || target_values->size() != t->size()) return std::nullopt;
    std::size_t i = 0;
    for (const auto& member : *t) {
      const std::string_view key = member.key();
      const std::string_view own = (*target_values)[i++];
      const auto change = p->find(key);
      if (change == p->end()) {
        add(key, own);
        continue;
      }
      if (change->value().is_null()) continue;
      auto merged = Merge(own, member.value(), patch_text_of(change), change->value());
      if (!merged) return std::nullopt;
      add(key, *merged);
    }
  }
  for (auto it = p->begin(); it != p->end(); ++it) {
    const std::string_view key = it->key();
    if (it->value().is_null() || (t != nullptr && t->contains(key))) continue;
    auto merged = Merge("null", kNull, patch_text_of(it), it->value());
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

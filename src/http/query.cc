#include "http/query.h"

#include <algorithm>

#include "core/json_text.h"

namespace bulwark::http {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool Decode(std::string_view in, std::string* out) {
  out->clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out->push_back(' ');
    } else if (in[i] == '%') {
      const int hi = i + 1 < in.size() ? HexValue(in[i + 1]) : -1;
      const int lo = i + 2 < in.size() ? HexValue(in[i + 2]) : -1;
      if (hi < 0 || lo < 0) return false;
      out->push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out->push_back(in[i]);
    }
  }
  return core::IsValidUtf8(*out);
}

}  // namespace

StatusOr<QueryParams> ParseQuery(std::string_view query, const std::vector<std::string_view>& allowed) {
  QueryParams params;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    std::string name;
    std::string value;
    if (!Decode(pair.substr(0, eq), &name) ||
        !Decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), &value)) {
      return Status::InvalidArgument("invalid_query", "the query string is not validly encoded");
    }
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      std::string shown = name.substr(0, 64);
      return Status::InvalidArgument("invalid_query", "unknown query parameter \"" + shown + "\"");
    }
    for (const auto& [k, v] : params) {
      if (k == name) return Status::InvalidArgument("invalid_query", "query parameter \"" + name + "\" repeated");
    }
    params.emplace_back(std::move(name), std::move(value));
  }
  return params;
}

std::string_view QueryValue(const QueryParams& params, std::string_view name) {
  for (const auto& [k, v] : params) {
    if (k == name) return v;
  }
  return {};
}

bool QueryHas(const QueryParams& params, std::string_view name) {
  return std::any_of(params.begin(), params.end(),
                     [&](const auto& kv) { return kv.first == name; });
}

}  // namespace bulwark::http

#include "http/cookies.h"

#include "crypto/compare.h"

namespace bulwark::http {

std::string_view CookieValue(const Request& req, std::string_view name) {
  const auto [first, last] = req.equal_range(bhttp::field::cookie);
  for (auto it = first; it != last; ++it) {
    std::string_view rest = it->value();
    while (!rest.empty()) {
      const auto semi = rest.find(';');
      std::string_view pair = rest.substr(0, semi);
      rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
      while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
      const auto eq = pair.find('=');
      if (eq == std::string_view::npos) continue;
      if (pair.substr(0, eq) == name) return pair.substr(eq + 1);
    }
  }
  return {};
}

std::string SetCookie(std::string_view name, std::string_view value, std::int64_t max_age_s,
                      bool http_only, SameSite same_site) {
  std::string out(name);
  out += '=';
  out += value;
  out += "; Path=/; Max-Age=" + std::to_string(max_age_s) + "; Secure";
  if (http_only) out += "; HttpOnly";
  out += same_site == SameSite::kLax ? "; SameSite=Lax" : "; SameSite=Strict";
  return out;
}

bool CsrfTokenMatches(const Request& req) {
  const std::string_view expected = CookieValue(req, kCsrfCookie);
  return expected.size() >= 32 && crypto::ConstantTimeEquals(expected, req[kCsrfHeader]);
}

bool IsSafeMethod(Verb method) {
  return method == Verb::get || method == Verb::head || method == Verb::options;
}

}  // namespace bulwark::http

#pragma once
// Reading request cookies and writing Set-Cookie values for the browser-mode session.
//
// Browser mode keeps the access and refresh tokens in `__Host-` cookies: HttpOnly (no script can
// read them), Secure, SameSite=Strict, Path=/ and no Domain (the __Host- prefix makes browsers
// refuse anything else, so a sibling subdomain cannot plant one). A third, script-readable
// `__Host-bulwark_csrf` cookie carries the CSRF token that every state-changing request made with
// the cookies must echo in X-CSRF-Token (double submit; a cross-site page can neither read it
// nor set it).
#include <cstdint>
#include <string>
#include <string_view>

#include "http/types.h"

namespace bulwark::http {

inline constexpr std::string_view kAccessCookie = "__Host-bulwark_access";
inline constexpr std::string_view kRefreshCookie = "__Host-bulwark_refresh";
inline constexpr std::string_view kCsrfCookie = "__Host-bulwark_csrf";
inline constexpr std::string_view kCsrfHeader = "X-CSRF-Token";

// The value of cookie `name` in the request's Cookie header(s), or empty. The first one wins.
std::string_view CookieValue(const Request& req, std::string_view name);

// SameSite=Lax only for a cookie that must come back on a top-level navigation from another
// site (the SSO sign-in attempt's, read at the identity provider's redirect to the callback).
enum class SameSite { kStrict, kLax };

// A Set-Cookie value: `name=value; Path=/; Max-Age=N; Secure; [HttpOnly;] SameSite=Strict`.
// max_age_s 0 deletes the cookie.
std::string SetCookie(std::string_view name, std::string_view value, std::int64_t max_age_s,
                      bool http_only, SameSite same_site = SameSite::kStrict);

// True when the request echoes its __Host-bulwark_csrf cookie (at least 32 characters) in the
// X-CSRF-Token header, compared in constant time.
bool CsrfTokenMatches(const Request& req);

// True for methods that change nothing (GET, HEAD, OPTIONS): the only ones a cookie-authenticated
// request may make without the CSRF token.
bool IsSafeMethod(Verb method);

}  // namespace bulwark::http

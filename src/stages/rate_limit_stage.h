#pragma once
// Stages 3b and 4b: rate limits per route, keyed by client address, API key or tenant, over
// token buckets (token_buckets.h; shared by every node when they share a PostgreSQL store). A
// refused request gets 429 `rate_limited` with Retry-After (whole seconds, rounded up) and is
// recorded like every refusal.
//
// Rules come from defaults (identity's auth routes, API keys, refused requests) overridden and
// extended by the `rate_limit.rules` setting, one rule per string:
//   "POST /api/v1/auth/verify ip 20/10m"      route label, key, rate
//   "* api_key 600/1m"                         every route, per API key
// Keys:
//   ip       the client address (the forwarded one only behind a trusted proxy; IPv6 clients
//            share one bucket per /64), before authentication;
//   refused  the client address, charged by each of its requests refused before it
//            authenticated (401, 403, an operator route's 404: IsUnauthenticatedRefusal). Once
//            spent, the address's requests are answered 429 before authentication until a
//            token is back, so a flood of bad or missing credentials costs neither the
//            credential checks nor one ledger entry each;
//   api_key  the API key authentication established, whichever header carried it (X-API-Key,
//            Authorization, X-Vault-Token): charged after authentication, so only the key's
//            holder can spend its budget. A key created with its own rate (rate_limit) is held
//            to that too, on every route: the stricter of the two decides;
//   scim     the SCIM token authentication established (a tenant has one at a time), after
//            authentication; default "* scim 1200/1m";
//   tenant   the tenant authentication established (never the X-Tenant-ID header), after
//            authentication: anonymous requests spend no tenant's budget, and a request that
//            names no tenant is still counted to its own;
//   email    a key the handler knows only after parsing the body (the email of a magic-link
//            request), through TakeFor().
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "http/stages.h"
#include "stages/token_buckets.h"

namespace bulwark::stages {

struct RateLimitRule {
  enum class Key { kIp, kApiKey, kTenant, kEmail, kRefused, kScim };
  std::string route;  // a route label ("POST /api/v1/auth/request") or "*"
  Key key = Key::kIp;
  RateRule rate;
};

// Parses one `rate_limit.rules` entry. kInvalidArgument "invalid_rate_rule".
StatusOr<RateLimitRule> ParseRateLimitRule(std::string_view text);

// The built-in rules (issue 4 defaults), then `configured` entries replacing a default with the
// same route and key or adding to them.
StatusOr<std::vector<RateLimitRule>> RateLimitRules(const std::vector<std::string>& configured);

class RouteRateLimiter : public http::RateLimiter {
 public:
  RouteRateLimiter(std::vector<RateLimitRule> rules, std::shared_ptr<RateBuckets> buckets);
  Status Check(http::RequestContext& ctx) override;
  Status CheckAuthenticated(http::RequestContext& ctx) override;
  void NoteRefused(http::RequestContext& ctx) override;

  // For a handler: applies the rules of this route with key kind `key` to `value` (e.g. the
  // normalized email). On refusal adds Retry-After to ctx and returns 429.
  Status TakeFor(http::RequestContext& ctx, RateLimitRule::Key key, std::string_view value);

 private:
  Status Take(http::RequestContext& ctx, std::string_view key, const RateRule& rate);

  std::vector<RateLimitRule> rules_;
  std::shared_ptr<RateBuckets> buckets_;

  // The `refused` buckets found spent, by bucket name, until a token is back: their requests
  // are answered 429 before authentication. Bounded: when full, what has expired goes, and if
  // nothing has, the table starts over (which only lets a spent address try once more).
  static constexpr std::size_t kMaxHeld = 100'000;
  std::mutex held_mu_;
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> held_until_;
};

}  // namespace bulwark::stages

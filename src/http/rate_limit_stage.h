#pragma once
// Stage 3b: rate limits per route, keyed by client address, API key or tenant, over token
// buckets (token_buckets.h; shared by every node when they share a PostgreSQL store). A refused request gets 429 `rate_limited` with Retry-After
// (whole seconds, rounded up) and is recorded like every refusal.
//
// Rules come from defaults (identity's auth routes, API keys) overridden and extended by the
// `rate_limit.rules` setting, one rule per string:
//   "POST /api/v1/auth/verify ip 20/10m"      route label, key, rate
//   "* api_key 600/1m"                         every route, per API key
// Keys: ip (the client address, which is the forwarded one only behind a trusted proxy; IPv6
// clients share one bucket per /64),
// api_key (the key id a request presents, before it is verified, so floods of bad keys are
// limited too), tenant (X-Tenant-ID). Keys a handler knows only after parsing the body (the
// email of a magic-link request) use the same buckets through Take().
#include <memory>
#include <string>
#include <vector>

#include "http/stages.h"
#include "http/token_buckets.h"

namespace bulwark::http {

struct RateLimitRule {
  enum class Key { kIp, kApiKey, kTenant, kEmail };
  std::string route;  // a route label ("POST /api/v1/auth/request") or "*"
  Key key = Key::kIp;
  RateRule rate;
};

// Parses one `rate_limit.rules` entry. kInvalidArgument "invalid_rate_rule".
StatusOr<RateLimitRule> ParseRateLimitRule(std::string_view text);

// The built-in rules (issue 4 defaults), then `configured` entries replacing a default with the
// same route and key or adding to them.
StatusOr<std::vector<RateLimitRule>> RateLimitRules(const std::vector<std::string>& configured);

class RouteRateLimiter : public RateLimiter {
 public:
  RouteRateLimiter(std::vector<RateLimitRule> rules, std::shared_ptr<RateBuckets> buckets);
  Status Check(RequestContext& ctx) override;

  // For a handler: applies the rules of this route with key kind `key` to `value` (e.g. the
  // normalized email). On refusal adds Retry-After to ctx and returns 429.
  Status TakeFor(RequestContext& ctx, RateLimitRule::Key key, std::string_view value);

 private:
  Status Take(RequestContext& ctx, std::string_view key, const RateRule& rate);

  std::vector<RateLimitRule> rules_;
  std::shared_ptr<RateBuckets> buckets_;
};

}  // namespace bulwark::http

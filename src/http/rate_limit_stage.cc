#include "http/rate_limit_stage.h"

#include <chrono>

#include "crypto/hash.h"

namespace bulwark::http {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kApiKeyPrefix = "bwk_";

std::string_view KeyName(RateLimitRule::Key k) {
  switch (k) {
    case RateLimitRule::Key::kIp:
      return "ip";
    case RateLimitRule::Key::kApiKey:
      return "api_key";
    case RateLimitRule::Key::kTenant:
      return "tenant";
    case RateLimitRule::Key::kEmail:
      return "email";
  }
  return "ip";
}

// The bucket of the API key a request presents: a digest of the whole key, not its id. Ids are
// not secret (members list them, audit records name them), so a bucket keyed by id would let
// anyone drain a victim key's limit; only the key's holder can charge this one. Empty if none.
std::string PresentedKeyBucket(const Request& req) {
  std::string_view key = req["X-API-Key"];
  if (key.empty()) {
    const std::string_view auth = req[bhttp::field::authorization];
    if (auth.starts_with("Bearer ")) key = auth.substr(7);
  }
  if (!key.starts_with(kApiKeyPrefix) || key.size() > 256) return {};
  return crypto::Sha256Hex(key).substr(0, 32);
}

}  // namespace

StatusOr<RateLimitRule> ParseRateLimitRule(std::string_view text) {
  const auto bad = [] {
    return Status::InvalidArgument(
        "invalid_rate_rule",
        "a rate limit rule is \"METHOD /path key count/period\" or \"* key count/period\" "
        "with key ip, api_key, tenant or email");
  };
  std::vector<std::string_view> parts;
  while (!text.empty()) {
    const auto sp = text.find(' ');
    if (sp != 0) parts.push_back(text.substr(0, sp));
    if (sp == std::string_view::npos) break;
    text.remove_prefix(sp + 1);
  }
  RateLimitRule rule;
  std::size_t i = 0;
  if (parts.size() == 3 && parts[0] == "*") {
    rule.route = "*";
    i = 1;
  } else if (parts.size() == 4 && parts[1].starts_with("/")) {
    rule.route = std::string(parts[0]) + " " + std::string(parts[1]);
    i = 2;
  } else {
    return bad();
  }
  if (parts[i] == "ip") {
    rule.key = RateLimitRule::Key::kIp;
  } else if (parts[i] == "api_key") {
    rule.key = RateLimitRule::Key::kApiKey;
  } else if (parts[i] == "tenant") {
    rule.key = RateLimitRule::Key::kTenant;
  } else if (parts[i] == "email") {
    rule.key = RateLimitRule::Key::kEmail;
  } else {
    return bad();
  }
  auto rate = ParseRateRule(parts[i + 1]);
  if (!rate.ok()) return bad();
  rule.rate = *rate;
  return rule;
}

StatusOr<std::vector<RateLimitRule>> RateLimitRules(const std::vector<std::string>& configured) {
  std::vector<RateLimitRule> rules;
  for (std::string_view d :
       {"POST /api/v1/auth/request ip 5/10m", "POST /api/v1/auth/request email 5/10m",
        "POST /api/v1/auth/verify ip 20/10m", "POST /api/v1/auth/refresh ip 600/1m",
        "POST /api/v1/auth/mfa/verify ip 30/10m", "POST /api/v1/auth/accept-invite ip 20/10m",
        "GET /public/receipts/{id} ip 120/1m", "* api_key 600/1m"}) {
    BULWARK_ASSIGN_OR_RETURN(RateLimitRule r, ParseRateLimitRule(d));
    rules.push_back(std::move(r));
  }
  for (const std::string& text : configured) {
    BULWARK_ASSIGN_OR_RETURN(RateLimitRule r, ParseRateLimitRule(text));
    bool replaced = false;
    for (RateLimitRule& existing : rules) {
      if (existing.route == r.route && existing.key == r.key) {
        existing = r;
        replaced = true;
      }
    }
    if (!replaced) rules.push_back(std::move(r));
  }
  return rules;
}

RouteRateLimiter::RouteRateLimiter(std::vector<RateLimitRule> rules,
                                   std::shared_ptr<RateBuckets> buckets)
    : rules_(std::move(rules)), buckets_(std::move(buckets)) {}

Status RouteRateLimiter::Take(RequestContext& ctx, std::string_view key, const RateRule& rate) {
  BULWARK_ASSIGN_OR_RETURN(const auto wait, buckets_->TakeNow(key, rate));
  if (wait.count() == 0) return Status::Ok();
  const auto seconds = (wait.count() + 999) / 1000;
  ctx.extra_headers.emplace_back("Retry-After", std::to_string(seconds));
  return Status(ErrorCode::kRateLimited, "rate_limited", "too many requests; retry later");
}

Status RouteRateLimiter::TakeFor(RequestContext& ctx, RateLimitRule::Key key,
                                 std::string_view value) {
  for (const RateLimitRule& rule : rules_) {
    if (rule.key != key || (rule.route != "*" && rule.route != ctx.route->label)) continue;
    std::string bucket(KeyName(key));
    bucket += ':';
    bucket += value;
    bucket += '|';
    bucket += rule.route;
    BULWARK_RETURN_IF_ERROR(Take(ctx, bucket, rule.rate));
  }
  return Status::Ok();
}

Status RouteRateLimiter::Check(RequestContext& ctx) {
  for (const RateLimitRule& rule : rules_) {
    if (rule.route != "*" && rule.route != ctx.route->label) continue;
    std::string key(KeyName(rule.key));
    key += ':';
    switch (rule.key) {
      case RateLimitRule::Key::kIp:
        key += ctx.client.ClientNetwork();
        break;
      case RateLimitRule::Key::kApiKey: {
        const std::string id = PresentedKeyBucket(ctx.req);
        if (id.empty()) continue;
        key += id;
        break;
      }
      case RateLimitRule::Key::kTenant: {
        const std::string_view tenant = ctx.req["X-Tenant-ID"];
        if (tenant.empty() || tenant.size() > 64) continue;
        key += tenant;
        break;
      }
      case RateLimitRule::Key::kEmail:
        continue;  // the handler applies it (TakeFor)
    }
    key += '|';
    key += rule.route;
    BULWARK_RETURN_IF_ERROR(Take(ctx, key, rule.rate));
  }
  return Status::Ok();
}

}  // namespace bulwark::http

#include "stages/rate_limit_stage.h"

#include <chrono>

namespace bulwark::stages {
namespace {

using namespace std::chrono_literals;

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
    case RateLimitRule::Key::kRefused:
      return "refused";
    case RateLimitRule::Key::kScim:
      return "scim";
  }
  return "ip";
}

bool Applies(const RateLimitRule& rule, const http::RequestContext& ctx) {
  return rule.route == "*" || rule.route == ctx.route->label;
}

std::string BucketName(RateLimitRule::Key key, std::string_view value, std::string_view route) {
  std::string name(KeyName(key));
  name += ':';
  name += value;
  name += '|';
  name += route;
  return name;
}

}  // namespace

StatusOr<RateLimitRule> ParseRateLimitRule(std::string_view text) {
  const auto bad = [] {
    return Status::InvalidArgument(
        "invalid_rate_rule",
        "a rate limit rule is \"METHOD /path key count/period\" or \"* key count/period\" "
        "with key ip, refused, api_key, scim, tenant or email");
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
  } else if (parts[i] == "refused") {
    rule.key = RateLimitRule::Key::kRefused;
  } else if (parts[i] == "scim") {
    rule.key = RateLimitRule::Key::kScim;
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
        "GET /public/receipts/{id} ip 120/1m", "GET /api/v1/sso/login ip 60/10m",
        "GET /api/v1/sso/callback/{connection} ip 60/10m",
        "POST /api/v1/sso/backchannel-logout/{connection} ip 120/1m", "* api_key 600/1m",
        "* scim 1200/1m", "* refused 120/1m"}) {
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

Status RouteRateLimiter::Take(http::RequestContext& ctx, std::string_view key,
                              const RateRule& rate) {
  BULWARK_ASSIGN_OR_RETURN(const auto wait, buckets_->TakeNow(key, rate));
  if (wait.count() == 0) return Status::Ok();
  const auto seconds = (wait.count() + 999) / 1000;
  ctx.extra_headers.emplace_back("Retry-After", std::to_string(seconds));
  return Status(ErrorCode::kRateLimited, "rate_limited", "too many requests; retry later");
}

Status RouteRateLimiter::TakeFor(http::RequestContext& ctx, RateLimitRule::Key key,
                                 std::string_view value) {
  for (const RateLimitRule& rule : rules_) {
    if (rule.key != key || !Applies(rule, ctx)) continue;
    BULWARK_RETURN_IF_ERROR(Take(ctx, BucketName(key, value, rule.route), rule.rate));
  }
  return Status::Ok();
}

Status RouteRateLimiter::Check(http::RequestContext& ctx) {
  std::string network;
  for (const RateLimitRule& rule : rules_) {
    if (!Applies(rule, ctx)) continue;
    if (rule.key != RateLimitRule::Key::kIp && rule.key != RateLimitRule::Key::kRefused) continue;
    if (network.empty()) network = ctx.client.ClientNetwork();
    const std::string bucket = BucketName(rule.key, network, rule.route);
    if (rule.key == RateLimitRule::Key::kIp) {
      BULWARK_RETURN_IF_ERROR(Take(ctx, bucket, rule.rate));
      continue;
    }
    // `refused`: only looked at here; NoteRefused() spends it.
    const auto now = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point until;
    {
      std::lock_guard<std::mutex> lock(held_mu_);
      const auto it = held_until_.find(bucket);
      if (it == held_until_.end()) continue;
      if (it->second <= now) {
        held_until_.erase(it);
        continue;
      }
      until = it->second;
    }
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count();
    ctx.extra_headers.emplace_back("Retry-After", std::to_string((wait + 999) / 1000));
    return Status(ErrorCode::kRateLimited, "rate_limited",
                  "too many refused requests from this address; retry later");
  }
  return Status::Ok();
}

Status RouteRateLimiter::CheckAuthenticated(http::RequestContext& ctx) {
  const core::Principal& p = ctx.principal;
  const bool is_key = p.kind == core::Principal::Kind::kApiKey && !p.id.empty();
  const bool is_scim = p.kind == core::Principal::Kind::kScimToken && !p.id.empty();
  for (const RateLimitRule& rule : rules_) {
    if (!Applies(rule, ctx)) continue;
    if ((rule.key == RateLimitRule::Key::kApiKey && is_key) ||
        (rule.key == RateLimitRule::Key::kScim && is_scim)) {
      BULWARK_RETURN_IF_ERROR(Take(ctx, BucketName(rule.key, p.id, rule.route), rule.rate));
    } else if (rule.key == RateLimitRule::Key::kTenant && !p.tenant_id.empty()) {
      BULWARK_RETURN_IF_ERROR(Take(ctx, BucketName(rule.key, p.tenant_id, rule.route), rule.rate));
    }
  }
  if (is_key && !p.rate_limit.empty()) {
    // The key's own rate, set by its creator and stored with it: one bucket over every route.
    auto own = ParseRateRule(p.rate_limit);
    if (!own.ok()) return Status::Integrity("an API key has a malformed rate limit");
    BULWARK_RETURN_IF_ERROR(Take(ctx, "api_key_own:" + p.id, *own));
  }
  return Status::Ok();
}

void RouteRateLimiter::NoteRefused(http::RequestContext& ctx) {
  std::string network;
  for (const RateLimitRule& rule : rules_) {
    if (rule.key != RateLimitRule::Key::kRefused || !Applies(rule, ctx)) continue;
    if (network.empty()) network = ctx.client.ClientNetwork();
    std::string bucket = BucketName(rule.key, network, rule.route);
    const auto wait = buckets_->TakeNow(bucket, rule.rate);
    // A shared store that cannot be reached: this refusal is not counted (it was refused anyway).
    if (!wait.ok() || wait->count() == 0) continue;
    const auto until = std::chrono::steady_clock::now() + *wait;
    std::lock_guard<std::mutex> lock(held_mu_);
    if (held_until_.size() >= kMaxHeld && !held_until_.contains(bucket)) {
      const auto now = std::chrono::steady_clock::now();
      std::erase_if(held_until_, [&](const auto& e) { return e.second <= now; });
      if (held_until_.size() >= kMaxHeld) held_until_.clear();
    }
    held_until_[std::move(bucket)] = until;
  }
}

}  // namespace bulwark::stages

#include "http/pipeline.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/json/parse.hpp>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <optional>

#include "core/ascii.h"
#include "core/json_text.h"
#include "core/log.h"
#include "crypto/random.h"
#include "http/errors.h"
#include "http/query.h"

namespace bulwark::http {
namespace {

constexpr std::string_view kPermissionsPolicy =
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
    "payment=(), usb=(), interest-cohort=()";
constexpr std::string_view kCsp = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";
// A page route's (RouteSpec::page): its own script and same-origin requests, nothing inline,
// nothing from elsewhere, no framing, no form posts.
constexpr std::string_view kPageCsp =
    "default-src 'none'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'";
constexpr std::string_view kHsts = "max-age=31536000; includeSubDomains";
constexpr std::string_view kCorsAllowHeaders =
    "Authorization, Content-Type, X-API-Key, X-Tenant-ID, X-Request-ID, X-CSRF-Token";

// A request id is a correlation id, not a credential: it must be unique, not unpredictable. Each
// thread draws a random 64-bit prefix once from the CSPRNG and counts from there, which keeps the
// CSPRNG off the per-request path.
std::string NewRequestId() {
  struct State {
    std::uint64_t prefix = 0;
    std::uint64_t counter = 0;
    bool seeded = false;
  };
  thread_local State st;
  if (!st.seeded) {
    std::array<std::uint8_t, 8> seed{};
    if (!crypto::RandomBytes(seed).ok()) return "unavailable";
    for (auto b : seed) st.prefix = (st.prefix << 8) | b;
    st.seeded = true;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(32, '0');
  const std::uint64_t parts[2] = {st.prefix, ++st.counter};
  for (int p = 0; p < 2; ++p) {
    for (int i = 0; i < 16; ++i)
      id[static_cast<std::size_t>(p * 16 + i)] = kHex[(parts[p] >> (60 - 4 * i)) & 0xF];
  }
  return id;
}

bool IsRequestIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-' || c == ':';
}

// The media type without parameters, lower-cased; and whether any charset parameter is utf-8.
// `scim`: application/scim+json is JSON too (RFC 7644 section 3.1).
bool IsJsonContentType(std::string_view ct, bool scim) {
  const std::string lower = core::AsciiLower(ct);
  const auto semi = lower.find(';');
  std::string_view type = std::string_view(lower).substr(0, semi);
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  if (type != "application/json" && !(scim && type == "application/scim+json")) return false;
  if (semi == std::string::npos) return true;
  const auto cs = lower.find("charset=", semi);
  if (cs == std::string::npos) return true;
  std::string_view charset = std::string_view(lower).substr(cs + 8);
  charset = charset.substr(0, charset.find(';'));
  return charset == "utf-8" || charset == "\"utf-8\"";
}

// "{}" with optional whitespace around and inside: an empty JSON object.
bool IsEmptyJsonObject(std::string_view body) {
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!body.empty() && blank(body.front())) body.remove_prefix(1);
  while (!body.empty() && blank(body.back())) body.remove_suffix(1);
  if (body.size() < 2 || body.front() != '{' || body.back() != '}') return false;
  body = body.substr(1, body.size() - 2);
  return std::all_of(body.begin(), body.end(), blank);
}

// The headers every response carries, as one block per (cacheable, production) pair.
std::string BuildSecurityHeaders(bool cacheable, bool production, bool page = false) {
  std::string h;
  h += "X-Content-Type-Options: nosniff\r\n";
  h += "Referrer-Policy: no-referrer\r\n";
  h += "Permissions-Policy: " + std::string(kPermissionsPolicy) + "\r\n";
  h += "X-Frame-Options: DENY\r\n";
  h += "Content-Security-Policy: " + std::string(page ? kPageCsp : kCsp) + "\r\n";
  h += cacheable ? "Cache-Control: public, max-age=60\r\n"
                 : "Cache-Control: no-store\r\nPragma: no-cache\r\n";
  if (production) h += "Strict-Transport-Security: " + std::string(kHsts) + "\r\n";
  h += "Vary: Origin\r\n";
  return h;
}

std::string_view SecurityHeaders(bool cacheable, bool production) {
  static const std::string kBlocks[4] = {
      BuildSecurityHeaders(false, false), BuildSecurityHeaders(false, true),
      BuildSecurityHeaders(true, false), BuildSecurityHeaders(true, true)};
  return kBlocks[(cacheable ? 2 : 0) + (production ? 1 : 0)];
}

std::string_view PageSecurityHeaders(bool production) {
  static const std::string kBlocks[2] = {BuildSecurityHeaders(false, false, true),
                                         BuildSecurityHeaders(false, true, true)};
  return kBlocks[production ? 1 : 0];
}

}  // namespace

Pipeline::Pipeline(PipelineOptions options, const Router& router, Metrics& metrics,
                   PipelineStages stages)
    : options_(std::move(options)),
      router_(router),
      metrics_(metrics),
      stages_(std::move(stages)) {}

std::string Pipeline::RequestIdFor(const Request& req) const {
  const auto given = req["X-Request-ID"];
  if (!given.empty() && given.size() <= 128 &&
      std::all_of(given.begin(), given.end(), IsRequestIdChar)) {
    return std::string(given);
  }
  return NewRequestId();
}

core::IpAddress Pipeline::ClientAddress(const Request& req, const core::IpAddress& peer) const {
  if (options_.trusted_proxies.empty() || !core::AnyContains(options_.trusted_proxies, peer)) {
    return peer;
  }
  // Walk X-Forwarded-For from the right, skipping our own trusted proxies: the first address
  // that is not one of them is the client. A malformed entry stops the walk at the last good hop.
  core::IpAddress client = peer;
  std::string all;
  const auto [first, last] = req.equal_range("X-Forwarded-For");
  for (auto it = first; it != last; ++it) {
    if (!all.empty()) all += ",";
    all += std::string(it->value());
  }
  std::string_view rest(all);
  while (!rest.empty()) {
    const auto comma = rest.rfind(',');
    std::string_view hop = comma == std::string_view::npos ? rest : rest.substr(comma + 1);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(0, comma);
    while (!hop.empty() && hop.front() == ' ') hop.remove_prefix(1);
    while (!hop.empty() && hop.back() == ' ') hop.remove_suffix(1);
    auto ip = core::IpAddress::Parse(hop);
    if (!ip.ok()) break;
    client = *ip;
    if (!core::AnyContains(options_.trusted_proxies, client)) break;
  }
  return client;
}

Pipeline::Admission Pipeline::Admit(const Request& header_only, std::size_t fallback) const {
  std::string_view target = header_only.target();
  const Router::Match m = router_.Find(header_only.method(), target.substr(0, target.find('?')));
  return {.body_limit = Router::BodyLimit(m, fallback),
          .runs_inline = m.route != nullptr &&
                         (m.route->inline_io || (m.route->reads_only && options_.local_reads))};
}

Status Pipeline::DecodeBody(RequestContext& ctx) {
  const std::string& body = ctx.req.body();
  if (ctx.route->body == BodyKind::kNone) {
    // A change that takes no body accepts none, an empty one, or an empty JSON object alike
    // (`curl -XPOST`, `-d ''`, `-d '{}'`): none of them says anything. Anything else is refused.
    const Verb m = ctx.req.method();
    const bool change = m == Verb::post || m == Verb::put || m == Verb::delete_ || m == Verb::patch;
    if (!body.empty() && !(change && IsEmptyJsonObject(body))) {
      return Status::InvalidArgument("unexpected_body", "this route does not take a request body");
    }
    return Status::Ok();
  }
  if (ctx.route->body == BodyKind::kForm) {
    const std::string type = core::AsciiLower(ctx.req[bhttp::field::content_type]);
    if (type.substr(0, type.find(';')) != "application/x-www-form-urlencoded") {
      return Status(ErrorCode::kUnsupportedMedia, "unsupported_media_type",
                    "the request body must be application/x-www-form-urlencoded");
    }
    BULWARK_ASSIGN_OR_RETURN(ctx.form, ParseQuery(body, {}));
    return Status::Ok();
  }
  if (ctx.route->surface == Surface::kVault) {
    // Vault reads every request body as JSON whatever its Content-Type, and its Go client (so the
    // vault CLI, Agent, consul-template, Terraform) sends none; an empty body is an empty object.
    if (body.empty()) {
      ctx.json = boost::json::object();
      return Status::Ok();
    }
  } else if (!IsJsonContentType(ctx.req[bhttp::field::content_type],
                                ctx.route->surface == Surface::kScim)) {
    return Status(ErrorCode::kUnsupportedMedia, "unsupported_media_type",
                  "the request body must be application/json; charset=utf-8");
  }
  if (!core::IsValidUtf8(body)) {
    return Status::InvalidArgument("invalid_utf8", "the request body is not valid UTF-8");
  }
  boost::system::error_code ec;
  boost::json::parse_options opts;
  opts.max_depth = 32;
  ctx.json = boost::json::parse(body, ec, {}, opts);
  if (ec == boost::json::error::exponent_overflow) {
    // Valid JSON (RFC 8259 sets no range), but an exponent past what the parser counts in.
    return Status::InvalidArgument("number_out_of_range",
                                   "a number in the request body has an exponent too large to read");
  }
  if (ec) return Status::InvalidArgument("malformed_json", "the request body is not valid JSON");
  if (core::HasDuplicateKeys(body, opts.max_depth)) {
    return Status::InvalidArgument("duplicate_key", "the request body names a member twice");
  }
  return Status::Ok();
}

bool Pipeline::HandlePreflight(RequestContext& ctx, Response* out) {
  if (ctx.req.method() != Verb::options) return false;
  Reply reply;
  const auto origin = ctx.req[bhttp::field::origin];
  const auto wanted = ctx.req[bhttp::field::access_control_request_method];
  if (origin.empty() || wanted.empty()) {
    // A plain OPTIONS: say what the path accepts.
    const auto m = router_.Find(Verb::unknown, ctx.path);
    if (m.kind == Router::Match::Kind::kNotFound || !Disclosable(ctx, m)) return false;
    reply.status = 204;
    reply.headers.emplace_back("Allow", m.allow.empty() ? "OPTIONS" : m.allow + ", OPTIONS");
    *out = Finish(ctx, std::move(reply));
    return true;
  }
  const bool allowed =
      std::find(options_.cors_allowed_origins.begin(), options_.cors_allowed_origins.end(),
                origin) != options_.cors_allowed_origins.end();
  const auto m = router_.Find(bhttp::string_to_verb(wanted), ctx.path);
  if (!allowed || m.kind != Router::Match::Kind::kFound) {
    *out = Finish(ctx, Status::PermissionDenied(
                           "cors_denied", "cross-origin request not allowed for this origin"));
    return true;
  }
  reply.status = 204;
  reply.headers.emplace_back("Access-Control-Allow-Methods", std::string(wanted));
  reply.headers.emplace_back("Access-Control-Allow-Headers", std::string(kCorsAllowHeaders));
  reply.headers.emplace_back("Access-Control-Max-Age", "600");
  *out = Finish(ctx, std::move(reply));
  return true;
}

bool Pipeline::HostAllowed(const RequestContext& ctx) const {
  std::string_view host = ctx.req[bhttp::field::host];
  // No Host at all is HTTP/1.0 (the server refuses 1.1 without one); a browser always sends it,
  // so its absence cannot be a rebinding page.
  if (host.empty()) return true;
  if (host.front() == '[') {
    const auto close = host.find(']');
    return close != std::string_view::npos &&
           core::IpAddress::Parse(host.substr(1, close - 1)).ok();
  }
  host = host.substr(0, host.rfind(':') == std::string_view::npos ? host.size() : host.rfind(':'));
  if (host == "localhost" || core::IpAddress::Parse(host).ok()) return true;
  return std::find(options_.allowed_hosts.begin(), options_.allowed_hosts.end(), host) !=
         options_.allowed_hosts.end();
}

// A path served only by operator routes exists only for operators: anyone else gets the same
// 404 for every method, so 405/Allow and OPTIONS cannot reveal it.
bool Pipeline::Disclosable(RequestContext& ctx, const Router::Match& m) {
  if (m.kind == Router::Match::Kind::kFound || !m.all_internal || m.any_route == nullptr)
    return true;
  const Route* saved = ctx.route;
  ctx.route = m.any_route;
  const bool operator_ok = stages_.authenticator->Authenticate(ctx).ok();
  ctx.route = saved;
  ctx.principal = {};
  return operator_ok;
}

StatusOr<Reply> Pipeline::RunStages(RequestContext& ctx) {
  // 3. Route lookup, then the rate limiter.
  if (ctx.req.method() == Verb::trace || ctx.req.method() == Verb::connect) {
    return Status(ErrorCode::kMethodNotAllowed, "method_not_allowed",
                  "TRACE and CONNECT are refused");
  }
  Verb method = ctx.req.method();
  if (router_.SurfaceOf(ctx.path) == Surface::kVault) {
    // Vault clients list with the LIST method, on a path that may end in '/'.
    if (method == Verb::unknown && ctx.req.method_string() == "LIST") {
      method = Verb::get;
      ctx.vault_list = true;
    }
    if (ctx.path.size() > 4 && ctx.path.back() == '/') ctx.path.remove_suffix(1);
  }
  const Router::Match match = router_.Find(method, ctx.path);
  if (match.kind == Router::Match::Kind::kNotFound) {
    return Status::NotFound("not_found", "no such route");
  }
  if (!Disclosable(ctx, match)) {
    ctx.route = match.any_route;  // recorded as a refusal on that operator route
    return Status::NotFound("not_found", "no such route");
  }
  if (match.kind == Router::Match::Kind::kMethodNotAllowed) {
    ctx.extra_headers.emplace_back("Allow", match.allow);
    return Status(ErrorCode::kMethodNotAllowed, "method_not_allowed",
                  "method not allowed on this route");
  }
  if (ctx.vault_list && !match.route->accepts_list) {
    // LIST reads keys under metadata/ only; on data/ it must not turn into a read of the value.
    // Answered as a 405 for a method the path lacks (an operator-only path stays a 404).
    const Router::Match any = router_.Find(Verb::unknown, ctx.path);
    if (!Disclosable(ctx, any)) return Status::NotFound("not_found", "no such route");
    ctx.extra_headers.emplace_back("Allow", any.allow);
    return Status(ErrorCode::kMethodNotAllowed, "method_not_allowed",
                  "LIST is allowed only on metadata paths");
  }
  ctx.route = match.route;
  ctx.params = match.params;
  if ((ctx.route->auth == AuthDecision::kInternal || ctx.path.starts_with("/api/v1/local/")) &&
      !HostAllowed(ctx)) {
    return TransportStatus(TransportError::kMisdirected, "this host name is not served here");
  }
  if (Status s = stages_.rate_limiter->Check(ctx); !s.ok()) {
    if (s.code() == ErrorCode::kRateLimited) metrics_.RateLimited();
    return s;
  }
  // 4-6. Who is asking, for which tenant, and may they. The limits keyed by a credential or a
  // tenant are charged to what authentication established, never to what a header claims.
  BULWARK_RETURN_IF_ERROR(stages_.authenticator->Authenticate(ctx));
  ctx.authenticated = ctx.principal.kind != core::Principal::Kind::kAnonymous;
  if (Status s = stages_.rate_limiter->CheckAuthenticated(ctx); !s.ok()) {
    if (s.code() == ErrorCode::kRateLimited) metrics_.RateLimited();
    return s;
  }
  if (ctx.route->tenant_scoped) BULWARK_RETURN_IF_ERROR(stages_.tenant_guard->Check(ctx));
  BULWARK_RETURN_IF_ERROR(stages_.authorizer->Authorize(ctx));
  // Vault response wrapping is not offered: a client that asks for a wrapped answer must not get
  // the secret in plaintext instead (which is what ignoring the header would do).
  if (ctx.route->surface == Surface::kVault &&
      ctx.req.find("X-Vault-Wrap-TTL") != ctx.req.end()) {
    return Status::InvalidArgument("wrapping_unsupported",
                                   "response wrapping (X-Vault-Wrap-TTL) is not supported here; "
                                   "send the request without it");
  }
  // 7. Body, then the handler.
  BULWARK_RETURN_IF_ERROR(DecodeBody(ctx));
  return ctx.route->handler(ctx);
}

// One request from its stages to its answer; shared by the thread that ran the stages and the
// completion of its record.
struct Pipeline::InFlight {
  InFlight(const Request& r, const core::IpAddress& peer, Resume res, Respond resp, bool rej)
      : ctx{.req = r, .start = std::chrono::steady_clock::now(), .peer = peer, .client = peer},
        resume(std::move(res)),
        respond(std::move(resp)),
        rejected(rej) {}
  RequestContext ctx;
  StatusOr<Reply> reply = Status::Internal("no reply");
  Status audit;
  Resume resume;
  Respond respond;
  const bool rejected;  // refused before it was whole: answered whatever the ledger says
  std::atomic<bool> recorded_or_returned{false};
};

namespace {

Response BareFailure(std::string_view fixed_headers, std::string request_id) {
  return Response{.status = 500,
                  .keep_alive = false,
                  .fixed_headers = fixed_headers,
                  .request_id = std::move(request_id)};
}

Status UnhandledFailure() { return Status::Internal("unhandled exception"); }

}  // namespace

void Pipeline::HandleAsync(const Request& req, const core::IpAddress& peer, bool tls, Resume resume,
                           Respond respond) noexcept {
  metrics_.RequestStarted();
  std::shared_ptr<InFlight> f;
  try {
    f = std::make_shared<InFlight>(req, peer, std::move(resume), std::move(respond), false);
  } catch (...) {
    metrics_.RequestFinished();
    return respond(BareFailure(SecurityHeaders(false, options_.production), std::string()));
  }
  RequestContext& ctx = f->ctx;
  Response res;
  try {
    ctx.request_id = RequestIdFor(req);
    ctx.client = ClientAddress(req, peer);
    ctx.via_trusted_proxy = core::AnyContains(options_.trusted_proxies, peer);
    ctx.tls = tls;
    const std::string_view target = req.target();
    const auto q = target.find('?');
    ctx.path = target.substr(0, q);
    ctx.query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);

    if (ctx.path.empty() || ctx.path.front() != '/') {
      res = Finish(
          ctx, Status::InvalidArgument("malformed_target", "the request target must be a path"));
    } else if (!HandlePreflight(ctx, &res)) {
      f->reply = RunStages(ctx);
      // 8. The record is durable before anything leaves; if it cannot be, nothing leaves.
      const Status outcome = f->reply.status();
      // Recorded with the native status (a bad Vault token counts as the 401 it is).
      const unsigned http_status = f->reply.ok() ? f->reply->status : HttpStatusFor(outcome);
      if (IsUnauthenticatedRefusal(http_status, ctx)) stages_.rate_limiter->NoteRefused(ctx);
      return Audit(f, http_status, outcome);
    }
  } catch (const std::exception& e) {
    log::Error("request.unhandled_exception", {{"what", e.what()}, {"path", ctx.path}},
               ctx.request_id);
    f->reply = UnhandledFailure();
    return Audit(f, 500, f->reply.status());
  } catch (...) {
    log::Error("request.unhandled_exception", {{"what", "unknown"}, {"path", ctx.path}},
               ctx.request_id);
    f->reply = UnhandledFailure();
    return Audit(f, 500, f->reply.status());
  }
  Deliver(*f, std::move(res));
}

// Hands the request to stage 8. Whichever comes second, the record's outcome or Record's
// return, completes the request: on this thread when the outcome came at once, else on the
// connection's thread through Resume.
void Pipeline::Audit(const std::shared_ptr<InFlight>& f, unsigned http_status,
                     const Status& outcome) {
  stages_.audit->Record(f->ctx, http_status, outcome, [this, f](Status a) {
    f->audit = std::move(a);
    if (f->recorded_or_returned.exchange(true, std::memory_order_acq_rel)) {
      f->resume([this, f] { Complete(f); });
    }
  });
  if (f->recorded_or_returned.exchange(true, std::memory_order_acq_rel)) Complete(f);
}

void Pipeline::Complete(const std::shared_ptr<InFlight>& f) noexcept {
  RequestContext& ctx = f->ctx;
  Response res;
  try {
    if (!f->audit.ok()) {
      log::Error("audit.record_failed", {{"reason", f->audit.reason()}}, ctx.request_id);
      // A request refused before it was whole is answered anyway; anything else: no audit, no
      // response.
      if (!f->rejected) {
        f->reply = Status::Unavailable("audit_unavailable", "the audit ledger cannot be written");
      }
    }
    res = f->reply.ok() ? Finish(ctx, std::move(*f->reply)) : Finish(ctx, f->reply.status());
  } catch (...) {
    res = BareFailure(SecurityHeaders(false, options_.production), ctx.request_id);
  }
  Deliver(*f, std::move(res));
}

void Pipeline::Deliver(InFlight& f, Response res) noexcept {
  if (f.rejected) {
    res.keep_alive = false;
    metrics_.RecordRequest(Metrics::kUnmatched, res.status,
                           std::chrono::steady_clock::now() - f.ctx.start);
  } else {
    metrics_.RequestFinished();
    metrics_.RecordRequest(f.ctx.route ? f.ctx.route->index : Metrics::kUnmatched, res.status,
                           std::chrono::steady_clock::now() - f.ctx.start);
  }
  try {
    f.respond(std::move(res));
  } catch (...) {
    log::Error("request.respond_failed", {}, f.ctx.request_id);
  }
}

void Pipeline::RejectAsync(const Request* req, const core::IpAddress& peer, const Status& status,
                           Resume resume, Respond respond) noexcept {
  static const Request kEmpty;
  std::shared_ptr<InFlight> f;
  try {
    f = std::make_shared<InFlight>(req ? *req : kEmpty, peer, std::move(resume), std::move(respond),
                                   true);
    f->ctx.request_id = RequestIdFor(f->ctx.req);
    // A request refused before its route was found (a body over the limit) on the SCIM surface
    // answers in SCIM's shape (Finish picks the surface by the path); elsewhere the path stays
    // unset, as before.
    const std::string_view target = f->ctx.req.target();
    if (router_.SurfaceOf(target) == Surface::kScim) f->ctx.path = target.substr(0, target.find('?'));
    f->reply = status;
  } catch (...) {
    Respond& r = f ? f->respond : respond;
    return r(BareFailure(SecurityHeaders(false, options_.production), std::string()));
  }
  Audit(f, HttpStatusFor(status), status);
}

namespace {

// Waits on this thread for the response an asynchronous entry point hands over: `start` gets the
// Resume (the completion runs where the record's outcome arrives) and the Respond to call.
template <class Start>
Response Await(Start start) {
  struct Waiter {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<Response> res;
  };
  auto w = std::make_shared<Waiter>();
  start([](std::function<void()> f) { f(); },
        [w](Response r) {
          std::lock_guard lock(w->mu);
          w->res = std::move(r);
          w->cv.notify_all();
        });
  std::unique_lock lock(w->mu);
  w->cv.wait(lock, [&] { return w->res.has_value(); });
  return std::move(*w->res);
}

}  // namespace

Response Pipeline::Handle(const Request& req, const core::IpAddress& peer, bool tls) noexcept {
  return Await([&](Resume resume, Respond respond) {
    HandleAsync(req, peer, tls, std::move(resume), std::move(respond));
  });
}

Response Pipeline::Reject(const Request* req, const core::IpAddress& peer,
                          const Status& status) noexcept {
  return Await([&](Resume resume, Respond respond) {
    RejectAsync(req, peer, status, std::move(resume), std::move(respond));
  });
}

Response Pipeline::Finish(RequestContext& ctx, Reply reply) {
  Response res;
  res.status = reply.status;
  res.version = ctx.req.version() == 10 ? 10 : 11;
  res.keep_alive = ctx.req.keep_alive();
  res.head = ctx.req.method() == Verb::head;
  res.content_type = reply.content_type;
  res.request_id = ctx.request_id;
  res.body = std::move(reply.body);
  res.headers = std::move(reply.headers);
  ApplyHeaders(ctx, res, ctx.route != nullptr && ctx.route->public_cache && reply.status < 400);
  if (ctx.route != nullptr && ctx.route->page && reply.status < 400) {
    res.fixed_headers = PageSecurityHeaders(options_.production);
  }
  return res;
}

Response Pipeline::Finish(RequestContext& ctx, const Status& error) {
  Reply reply;
  // The route's surface; before a route is known, the surface mounted at the path.
  const Surface surface = ctx.route != nullptr ? ctx.route->surface : router_.SurfaceOf(ctx.path);
  if (surface == Surface::kVault) {
    reply.status = VaultHttpStatusFor(error);
    reply.body = VaultErrorBody(error);
  } else if (surface == Surface::kScim) {
    reply.status = HttpStatusFor(error);
    reply.body = ScimErrorBody(error);
    reply.content_type = kScimContentType;
  } else {
    reply.status = HttpStatusFor(error);
    reply.body = ErrorBody(error, ctx.request_id);
  }
  if (error.code() == ErrorCode::kInternal || error.code() == ErrorCode::kIntegrity) {
    log::Error("request.failed", {{"reason", error.reason()}, {"detail", error.message()}},
               ctx.request_id);
  }
  return Finish(ctx, std::move(reply));
}

void Pipeline::ApplyHeaders(const RequestContext& ctx, Response& res, bool cacheable) const {
  res.fixed_headers = SecurityHeaders(cacheable, options_.production);
  for (auto& h : ctx.extra_headers) res.headers.push_back(h);
  const auto origin = ctx.req[bhttp::field::origin];
  if (!origin.empty() &&
      std::find(options_.cors_allowed_origins.begin(), options_.cors_allowed_origins.end(),
                origin) != options_.cors_allowed_origins.end()) {
    res.headers.emplace_back("Access-Control-Allow-Origin", std::string(origin));
    res.headers.emplace_back("Access-Control-Allow-Credentials", "true");
    res.headers.emplace_back("Access-Control-Expose-Headers", "X-Request-ID, Retry-After");
  }
}

}  // namespace bulwark::http

// The request pipeline, driven directly (no sockets). Responses are inspected through their
// serialized HTTP bytes, parsed back with Beast, so the tests see what a client would.
#include "http/pipeline.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "http/baseline_stages.h"
#include "http/errors.h"

namespace bulwark::http {
namespace {

using ClientResponse = bhttp::response<bhttp::string_body>;

constexpr std::string_view kOperatorToken = "op-token-7c1e9a3f5b2d8e4a6c0f9b1d3e5a7c9f";
constexpr std::string_view kAllowedOrigin = "https://app.example.com";

core::IpAddress Ip(std::string_view s) {
  auto ip = core::IpAddress::Parse(s);
  EXPECT_TRUE(ip.ok()) << s;
  return ip.ok() ? *ip : core::IpAddress();
}

std::vector<core::Cidr> Cidrs(const std::vector<std::string>& v) {
  auto c = core::ParseCidrList(v);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? *c : std::vector<core::Cidr>{};
}

// Serializes `res` and parses the bytes back as a client would.
ClientResponse ToClient(const Response& res, bool head_request = false) {
  std::string wire;
  res.SerializeTo(wire);
  bhttp::response_parser<bhttp::string_body> parser;
  parser.eager(true);
  if (head_request) parser.skip(true);
  boost::system::error_code ec;
  std::size_t offset = 0;
  while (!parser.is_done() && offset < wire.size()) {
    const std::size_t n = parser.put(boost::asio::buffer(wire.data() + offset, wire.size() - offset), ec);
    if (ec == bhttp::error::need_more) {
      ec = {};
      if (n == 0) break;
    }
    if (ec) break;
    offset += n;
  }
  if (!parser.is_done() && !ec) parser.put_eof(ec);
  EXPECT_FALSE(ec) << "unparseable response: " << ec.message() << "\n" << wire;
  EXPECT_TRUE(parser.is_done()) << wire;
  EXPECT_EQ(offset, wire.size()) << "trailing bytes after the response:\n" << wire;
  return parser.release();
}

std::string Header(const ClientResponse& r, std::string_view name) {
  auto it = r.find(name);
  return it == r.end() ? std::string("<absent>") : std::string(it->value());
}

boost::json::object ErrorOf(const ClientResponse& r) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(r.body(), ec);
  EXPECT_FALSE(ec) << r.body();
  if (ec || !v.is_object() || !v.as_object().contains("error")) {
    ADD_FAILURE() << "not an error body: " << r.body();
    return {};
  }
  return v.as_object().at("error").as_object();
}

std::string ErrorCodeOf(const ClientResponse& r) {
  const boost::json::object e = ErrorOf(r);
  const boost::json::value* c = e.if_contains("code");
  return c != nullptr && c->is_string() ? std::string(c->as_string()) : "<none>";
}

// --- stage doubles ----------------------------------------------------------------------------

class SwitchableRateLimiter : public RateLimiter {
 public:
  Status Check(RequestContext& ctx) override {
    if (!limited) return Status::Ok();
    ctx.extra_headers.emplace_back("Retry-After", "30");
    return Status(ErrorCode::kRateLimited, "rate_limited", "too many requests");
  }
  bool limited = false;
};

class RecordingAudit : public AuditRecorder {
 public:
  struct Entry {
    unsigned http_status;
    std::string reason;
    std::string request_id;
  };
  void Record(RequestContext& ctx, unsigned http_status, const Status& outcome,
              Done done) noexcept override {
    entries.push_back({http_status, outcome.reason(), ctx.request_id});
    Status result =
        fail ? Status::Unavailable("ledger_down", "the ledger cannot be reached") : Status::Ok();
    if (!later) return done(result);
    // As the ledger does: the outcome arrives after Record returned; the test delivers it, on
    // another thread, when it chooses (CompleteLater).
    deferred.push_back([done = std::move(done), result] { done(result); });
  }
  // Delivers the oldest deferred outcome from another thread, as the ledger's writer does.
  void CompleteLater() {
    std::function<void()> next = std::move(deferred.front());
    deferred.erase(deferred.begin());
    std::thread(std::move(next)).join();
  }
  bool later = false;
  std::vector<std::function<void()>> deferred;
  bool fail = false;
  std::vector<Entry> entries;
};

// --- fixture ----------------------------------------------------------------------------------

class HttpPipelineTest : public ::testing::Test {
 protected:
  HttpPipelineTest() { BuildRouter(); }

  void BuildRouter() {
    auto add = [&](RouteSpec spec) {
      const std::string label = spec.pattern;
      const Status st = router_.Add(std::move(spec));
      ASSERT_TRUE(st.ok()) << label << ": " << st.ToString();
    };
    add({.method = Verb::get, .pattern = "/livez", .auth = AuthDecision::kPublic, .inline_io = true,
         .handler = [this](RequestContext&) -> StatusOr<Reply> {
           ++livez_calls_;
           return Reply{.status = 200, .body = R"({"status":"ok"})"};
         }});
    add({.method = Verb::get, .pattern = "/echo-client", .auth = AuthDecision::kPublic,
         .handler = [](RequestContext& ctx) -> StatusOr<Reply> {
           return Reply{.status = 200, .body = ctx.client.ToString(), .content_type = "text/plain; charset=utf-8"};
         }});
    add({.method = Verb::post, .pattern = "/api/v1/items", .auth = AuthDecision::kPublic,
         .body = BodyKind::kJson,
         .handler = [this](RequestContext& ctx) -> StatusOr<Reply> {
           ++items_calls_;
           seen_json_ = boost::json::serialize(ctx.json);
           return Reply{.status = 201, .body = R"({"created":true})"};
         }});
    add({.method = Verb::post, .pattern = "/api/v1/form", .auth = AuthDecision::kPublic,
         .body = BodyKind::kForm,
         .handler = [this](RequestContext& ctx) -> StatusOr<Reply> {
           ++items_calls_;
           seen_json_.clear();
           for (const auto& [k, v] : ctx.form) seen_json_ += k + "=" + v + ";";
           return Reply{.status = 200, .body = "{}"};
         }});
    add({.method = Verb::get, .pattern = "/metrics", .auth = AuthDecision::kInternal,
         .handler = [](RequestContext& ctx) -> StatusOr<Reply> {
           return Reply{.status = 200, .body = "ops " + ctx.principal.auth_method,
                        .content_type = "text/plain; charset=utf-8"};
         }});
    add({.method = Verb::get, .pattern = "/boom", .auth = AuthDecision::kPublic,
         .handler = [](RequestContext&) -> StatusOr<Reply> {
           throw std::runtime_error("sqlite: disk I/O error at /srv/bulwark/data/bulwark.db");
         }});
    add({.method = Verb::get, .pattern = "/api/v1/me", .auth = AuthDecision::kSession,
         .handler = [this](RequestContext&) -> StatusOr<Reply> {
           ++me_calls_;
           return Reply{};
         }});
    add({.method = Verb::get, .pattern = "/openapi.json", .auth = AuthDecision::kPublic,
         .public_cache = true,
         .handler = [](RequestContext&) -> StatusOr<Reply> { return Reply{.body = "{}"}; }});
    add({.method = Verb::get,
         .pattern = "/reads/{path*}",
         .auth = AuthDecision::kPublic,
         .reads_only = true,
         .handler = [](RequestContext&) -> StatusOr<Reply> { return Reply{.body = "{}"}; }});
    add({.method = Verb::put,
         .pattern = "/uploads/{name}",
         .auth = AuthDecision::kPublic,
         .body = BodyKind::kJson,
         .max_body_bytes = 1 << 20,
         .handler = [](RequestContext&) -> StatusOr<Reply> { return Reply{.body = "{}"}; }});
    add({.method = Verb::get, .pattern = "/inject", .auth = AuthDecision::kPublic,
         .handler = [](RequestContext&) -> StatusOr<Reply> {
           Reply r;
           r.headers.emplace_back("X-Note", "a\r\nSet-Cookie: evil=1");
           return r;
         }});
    std::vector<std::string> labels;
    for (const Route& r : router_.routes()) labels.push_back(r.label);
    metrics_.SetRoutes(std::move(labels));
  }

  Pipeline MakePipeline(bool production = true, bool local_reads = false) {
    PipelineOptions options;
    options.production = production;
    options.local_reads = local_reads;
    options.trusted_proxies = Cidrs({"10.0.0.0/8"});
    options.cors_allowed_origins = {std::string(kAllowedOrigin)};
    PipelineStages stages;
    stages.rate_limiter = limiter_;
    stages.authenticator = std::make_shared<BaselineAuthenticator>(
        Cidrs({"192.0.2.0/24"}),
        std::optional<crypto::SecretBytes>(crypto::SecretBytes::FromString(std::string(kOperatorToken))));
    stages.tenant_guard = std::make_shared<DenyTenantGuard>();
    stages.authorizer = std::make_shared<DenyByDefaultAuthorizer>();
    stages.audit = audit_;
    return Pipeline(std::move(options), router_, metrics_, std::move(stages));
  }

  static Request Get(std::string target) { return Request{Verb::get, target, 11}; }
  static Request PostJson(std::string target, std::string body,
                          std::string content_type = "application/json") {
    Request req{Verb::post, target, 11};
    if (!content_type.empty()) req.set(bhttp::field::content_type, content_type);
    req.body() = std::move(body);
    req.prepare_payload();
    return req;
  }

  ClientResponse Send(const Request& req, std::string_view peer = "203.0.113.5", bool production = true) {
    Pipeline p = MakePipeline(production);
    const Response res = p.Handle(req, Ip(peer), false);
    return ToClient(res, req.method() == Verb::head);
  }

  Router router_;
  Metrics metrics_;
  std::shared_ptr<SwitchableRateLimiter> limiter_ = std::make_shared<SwitchableRateLimiter>();
  std::shared_ptr<RecordingAudit> audit_ = std::make_shared<RecordingAudit>();
  int livez_calls_ = 0;
  int items_calls_ = 0;
  int me_calls_ = 0;
  std::string seen_json_;
};

void ExpectSecurityHeaders(const ClientResponse& r, bool production) {
  EXPECT_EQ(Header(r, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(Header(r, "Referrer-Policy"), "no-referrer");
  const std::string pp = Header(r, "Permissions-Policy");
  EXPECT_NE(pp, "<absent>");
  EXPECT_NE(pp.find("camera=()"), std::string::npos) << pp;
  EXPECT_NE(pp.find("geolocation=()"), std::string::npos) << pp;
  EXPECT_EQ(Header(r, "X-Frame-Options"), "DENY");
  EXPECT_NE(Header(r, "Content-Security-Policy").find("frame-ancestors 'none'"), std::string::npos)
      << Header(r, "Content-Security-Policy");
  if (production) {
    const std::string hsts = Header(r, "Strict-Transport-Security");
    EXPECT_TRUE(hsts.starts_with("max-age=")) << hsts;
  } else {
    EXPECT_EQ(Header(r, "Strict-Transport-Security"), "<absent>");
  }
}

const std::regex kGeneratedId("[0-9a-f]{32}");

// --- success path and headers -----------------------------------------------------------------

TEST_F(HttpPipelineTest, OkWithAllSecurityHeadersInProduction) {
  Request req = Get("/livez");
  req.set("X-Request-ID", "client-req.42:a_b");
  const ClientResponse r = Send(req);
  EXPECT_EQ(r.result_int(), 200u);
  EXPECT_EQ(r.body(), R"({"status":"ok"})");
  EXPECT_EQ(Header(r, "Content-Type"), "application/json; charset=utf-8");
  EXPECT_EQ(Header(r, "Cache-Control"), "no-store");
  EXPECT_EQ(Header(r, "X-Request-ID"), "client-req.42:a_b");
  ExpectSecurityHeaders(r, /*production=*/true);
  EXPECT_EQ(livez_calls_, 1);
}

TEST_F(HttpPipelineTest, NoHstsOutsideProduction) {
  const ClientResponse r = Send(Get("/livez"), "203.0.113.5", /*production=*/false);
  EXPECT_EQ(r.result_int(), 200u);
  ExpectSecurityHeaders(r, /*production=*/false);
  EXPECT_EQ(Header(r, "Cache-Control"), "no-store");
}

TEST_F(HttpPipelineTest, ErrorsCarrySecurityHeadersToo) {
  const ClientResponse r = Send(Get("/nope"));
  EXPECT_EQ(r.result_int(), 404u);
  ExpectSecurityHeaders(r, true);
  EXPECT_EQ(Header(r, "Cache-Control"), "no-store");
  EXPECT_EQ(Header(r, "Content-Type"), "application/json; charset=utf-8");
}

TEST_F(HttpPipelineTest, QueryStringIsNotPartOfThePath) {
  const ClientResponse r = Send(Get("/livez?verbose=1"));
  EXPECT_EQ(r.result_int(), 200u);
}

TEST_F(HttpPipelineTest, PublicCacheRouteMayBeCached) {
  const ClientResponse r = Send(Get("/openapi.json"));
  EXPECT_EQ(r.result_int(), 200u);
  EXPECT_NE(Header(r, "Cache-Control"), "no-store");
  EXPECT_EQ(Header(r, "Cache-Control").find("private"), std::string::npos);
}

TEST_F(HttpPipelineTest, HeadReturnsHeadersWithoutBody) {
  std::string wire;
  Pipeline p = MakePipeline();
  const Response res = p.Handle(Request{Verb::head, "/livez", 11}, Ip("203.0.113.5"), false);
  res.SerializeTo(wire);
  EXPECT_TRUE(wire.ends_with("\r\n\r\n")) << wire;
  const ClientResponse r = ToClient(res, /*head_request=*/true);
  EXPECT_EQ(r.result_int(), 200u);
  EXPECT_EQ(Header(r, "Content-Length"), std::to_string(std::string_view(R"({"status":"ok"})").size()));
}

TEST_F(HttpPipelineTest, HandlerHeaderValuesCannotSplitTheResponse) {
  const ClientResponse r = Send(Get("/inject"));
  EXPECT_EQ(r.result_int(), 200u);
  EXPECT_EQ(Header(r, "Set-Cookie"), "<absent>");
  EXPECT_EQ(Header(r, "X-Note"), "aSet-Cookie: evil=1");
}

// --- request id -------------------------------------------------------------------------------

TEST_F(HttpPipelineTest, RequestIdGeneratedWhenAbsent) {
  const ClientResponse r = Send(Get("/livez"));
  EXPECT_TRUE(std::regex_match(Header(r, "X-Request-ID"), kGeneratedId)) << Header(r, "X-Request-ID");
}

TEST_F(HttpPipelineTest, RequestIdRegeneratedWhenInvalid) {
  for (const std::string& bad : {std::string("has space"), std::string("<script>"), std::string(129, 'a'),
                                 std::string("quote\"d"), std::string("semi;colon"), std::string("caf\xC3\xA9")}) {
    Request req = Get("/nope");
    req.set("X-Request-ID", bad);
    const ClientResponse r = Send(req);
    const std::string rid = Header(r, "X-Request-ID");
    EXPECT_TRUE(std::regex_match(rid, kGeneratedId)) << bad << " -> " << rid;
    // The error body carries the same id as the header.
    EXPECT_EQ(std::string(ErrorOf(r).at("request_id").as_string()), rid);
  }
  Request max_len = Get("/livez");
  max_len.set("X-Request-ID", std::string(128, 'b'));
  EXPECT_EQ(Header(Send(max_len), "X-Request-ID"), std::string(128, 'b'));
}

TEST_F(HttpPipelineTest, GeneratedRequestIdsAreUnique) {
  Pipeline p = MakePipeline();
  const Response a = p.Handle(Get("/livez"), Ip("203.0.113.5"), false);
  const Response b = p.Handle(Get("/livez"), Ip("203.0.113.5"), false);
  EXPECT_NE(Header(ToClient(a), "X-Request-ID"), Header(ToClient(b), "X-Request-ID"));
}

// --- routing ----------------------------------------------------------------------------------

TEST_F(HttpPipelineTest, UnknownPathIs404WithErrorShape) {
  Request req = Get("/nope");
  req.set("X-Request-ID", "rid-404");
  const ClientResponse r = Send(req);
  EXPECT_EQ(r.result_int(), 404u);
  const boost::json::object e = ErrorOf(r);
  EXPECT_EQ(e.at("code").as_string(), "not_found");
  EXPECT_EQ(e.at("request_id").as_string(), "rid-404");
  EXPECT_TRUE(e.contains("message"));
}

TEST_F(HttpPipelineTest, TraversalPathsAre404) {
  for (const char* t : {"//livez", "/./livez", "/x/../livez", "/livez/.", "/livez/"}) {
    EXPECT_EQ(Send(Get(t)).result_int(), 404u) << t;
  }
  EXPECT_EQ(livez_calls_, 0);
}

TEST_F(HttpPipelineTest, WrongMethodIs405WithAllow) {
  const ClientResponse r = Send(Request{Verb::delete_, "/livez", 11});
  EXPECT_EQ(r.result_int(), 405u);
  EXPECT_EQ(Header(r, "Allow"), "GET, HEAD");
  EXPECT_EQ(ErrorCodeOf(r), "method_not_allowed");
  const ClientResponse p = Send(Request{Verb::get, "/api/v1/items", 11});
  EXPECT_EQ(p.result_int(), 405u);
  EXPECT_EQ(Header(p, "Allow"), "POST");
}

TEST_F(HttpPipelineTest, TraceIsAlways405) {
  const ClientResponse r = Send(Request{Verb::trace, "/livez", 11});
  EXPECT_EQ(r.result_int(), 405u);
  EXPECT_EQ(r.body().find("TRACE /livez HTTP"), std::string::npos);  // no echo of the request
  EXPECT_EQ(Send(Request{Verb::trace, "/nope", 11}).result_int(), 405u);
  EXPECT_EQ(livez_calls_, 0);
}

TEST_F(HttpPipelineTest, NonPathTargetIs400) {
  const ClientResponse r = Send(Get("http://evil.example/livez"));
  EXPECT_EQ(r.result_int(), 400u);
  EXPECT_EQ(ErrorCodeOf(r), "malformed_target");
}

// --- bodies -----------------------------------------------------------------------------------

TEST_F(HttpPipelineTest, FormRouteParsesUrlEncodedFieldsAndRefusesAnythingElse) {
  const ClientResponse ok =
      Send(PostJson("/api/v1/form", "logout_token=a.b%2Bc&x=%20y", "application/x-www-form-urlencoded"));
  EXPECT_EQ(ok.result_int(), 200u);
  EXPECT_EQ(seen_json_, "logout_token=a.b+c;x= y;");
  const ClientResponse json = Send(PostJson("/api/v1/form", R"({"logout_token":"a"})"));
  EXPECT_EQ(json.result_int(), 415u);
  EXPECT_EQ(ErrorCodeOf(json), "unsupported_media_type");
  for (const std::string& bad : {std::string("a=%zz"), std::string("a=1&a=2")}) {
    const ClientResponse r = Send(PostJson("/api/v1/form", bad, "application/x-www-form-urlencoded"));
    EXPECT_EQ(r.result_int(), 400u) << bad;
  }
  EXPECT_EQ(items_calls_, 1);
}

TEST_F(HttpPipelineTest, JsonRouteRefusesWrongContentType) {
  for (const std::string& ct : {std::string("text/plain"), std::string(""),
                                std::string("application/json; charset=iso-8859-1"),
                                std::string("application/jsonp")}) {
    const ClientResponse r = Send(PostJson("/api/v1/items", R"({"name":"a"})", ct));
    EXPECT_EQ(r.result_int(), 415u) << "'" << ct << "'";
    EXPECT_EQ(ErrorCodeOf(r), "unsupported_media_type") << ct;
  }
  EXPECT_EQ(items_calls_, 0);
}

TEST_F(HttpPipelineTest, JsonRouteRefusesInvalidUtf8) {
  const ClientResponse r = Send(PostJson("/api/v1/items", "{\"name\":\"\xC0\x80\"}"));
  EXPECT_EQ(r.result_int(), 400u);
  EXPECT_EQ(ErrorCodeOf(r), "invalid_utf8");
  const ClientResponse s = Send(PostJson("/api/v1/items", "{\"name\":\"\xED\xA0\x80\"}"));
  EXPECT_EQ(s.result_int(), 400u);
  EXPECT_EQ(ErrorCodeOf(s), "invalid_utf8");
  EXPECT_EQ(items_calls_, 0);
}

TEST_F(HttpPipelineTest, JsonRouteRefusesMalformedJson) {
  for (const char* body : {R"({"name":)", "", "{'name':'a'}", R"({"a":1}{"b":2})", "[1,2,]"}) {
    const ClientResponse r = Send(PostJson("/api/v1/items", body));
    EXPECT_EQ(r.result_int(), 400u) << body;
    EXPECT_EQ(ErrorCodeOf(r), "malformed_json") << body;
  }
  EXPECT_EQ(items_calls_, 0);
}

TEST_F(HttpPipelineTest, JsonRouteRefusesExcessiveNesting) {
  const std::string deep = std::string(200, '[') + std::string(200, ']');
  const ClientResponse r = Send(PostJson("/api/v1/items", deep));
  EXPECT_EQ(r.result_int(), 400u);
  EXPECT_EQ(items_calls_, 0);
}

TEST_F(HttpPipelineTest, JsonRouteHandlerSeesParsedBody) {
  const ClientResponse r =
      Send(PostJson("/api/v1/items", R"({"name":"caf\u00e9","n":3})", "Application/JSON; charset=UTF-8"));
  EXPECT_EQ(r.result_int(), 201u) << r.body();
  EXPECT_EQ(r.body(), R"({"created":true})");
  EXPECT_EQ(items_calls_, 1);
  EXPECT_EQ(seen_json_, "{\"name\":\"caf\xC3\xA9\",\"n\":3}");
}

TEST_F(HttpPipelineTest, BodyOnGetRouteIs400) {
  Request req = Get("/livez");
  req.body() = "surprise";
  req.prepare_payload();
  const ClientResponse r = Send(req);
  EXPECT_EQ(r.result_int(), 400u);
  EXPECT_EQ(ErrorCodeOf(r), "unexpected_body");
  EXPECT_EQ(livez_calls_, 0);
}

// --- failures ---------------------------------------------------------------------------------

TEST_F(HttpPipelineTest, ThrowingHandlerIs500WithoutLeakingTheException) {
  Request req = Get("/boom");
  req.set("X-Request-ID", "rid-boom");
  const ClientResponse r = Send(req);
  EXPECT_EQ(r.result_int(), 500u);
  const boost::json::object e = ErrorOf(r);
  EXPECT_EQ(e.at("code").as_string(), "internal_error");
  EXPECT_EQ(e.at("request_id").as_string(), "rid-boom");
  EXPECT_EQ(Header(r, "X-Request-ID"), "rid-boom");
  for (std::string_view leak : {"sqlite", "disk I/O", "/srv", "bulwark.db", "runtime_error"}) {
    EXPECT_EQ(r.body().find(leak), std::string::npos) << leak << " leaked: " << r.body();
  }
  ExpectSecurityHeaders(r, true);
}

TEST_F(HttpPipelineTest, ThrowingHandlerIsStillAudited) {
  // docs/design.md step 8: the audit record is made before any response leaves, whatever the outcome.
  Request req = Get("/boom");
  req.set("X-Request-ID", "rid-boom-audit");
  const ClientResponse r = Send(req);
  EXPECT_EQ(r.result_int(), 500u);
  ASSERT_EQ(audit_->entries.size(), 1u) << "the failed request left no audit record";
  EXPECT_EQ(audit_->entries[0].http_status, 500u);
  EXPECT_EQ(audit_->entries[0].request_id, "rid-boom-audit");
}

TEST_F(HttpPipelineTest, RateLimitedIs429WithRetryAfter) {
  limiter_->limited = true;
  const ClientResponse r = Send(Get("/livez"));
  EXPECT_EQ(r.result_int(), 429u);
  EXPECT_EQ(Header(r, "Retry-After"), "30");
  EXPECT_EQ(ErrorCodeOf(r), "rate_limited");
  EXPECT_EQ(livez_calls_, 0);
  EXPECT_NE(metrics_.Render().find("bulwark_http_rate_limited_total 1\n"), std::string::npos);
}

TEST_F(HttpPipelineTest, FailingAuditTurnsResponseInto503) {
  audit_->fail = true;
  const ClientResponse r = Send(Get("/livez"));
  EXPECT_EQ(r.result_int(), 503u);
  EXPECT_EQ(ErrorCodeOf(r), "audit_unavailable");
  EXPECT_EQ(r.body().find("status\":\"ok"), std::string::npos);  // the handler's body never leaves
  ExpectSecurityHeaders(r, true);
  ASSERT_EQ(audit_->entries.size(), 1u);
  EXPECT_EQ(audit_->entries[0].http_status, 200u);  // what was about to be sent
}

TEST_F(HttpPipelineTest, FailingAuditAlsoTurnsErrorsInto503) {
  audit_->fail = true;
  const ClientResponse r = Send(PostJson("/api/v1/items", "{"));
  EXPECT_EQ(r.result_int(), 503u);
  EXPECT_EQ(ErrorCodeOf(r), "audit_unavailable");
}

// The record's outcome arriving later, on another thread: the response is built only then, and
// runs where Resume puts it (the connection's thread); nothing is handed over before.
TEST_F(HttpPipelineTest, ALaterRecordCompletesThroughResumeAndOnlyThen) {
  for (const bool fail : {false, true}) {
    audit_->later = true;
    audit_->fail = fail;
    Pipeline p = MakePipeline();
    const Request req = Get("/livez");
    std::mutex mu;
    std::condition_variable cv;
    std::vector<std::function<void()>> resumed;
    std::optional<Response> got;
    p.HandleAsync(
        req, Ip("203.0.113.5"), false,
        [&](std::function<void()> f) {
          std::lock_guard lock(mu);
          resumed.push_back(std::move(f));
          cv.notify_all();
        },
        [&](Response r) { got = std::move(r); });
    EXPECT_EQ(livez_calls_, fail ? 2 : 1);  // the handler ran before the record
    EXPECT_FALSE(got.has_value());          // Record returned, its outcome has not come
    {
      std::lock_guard lock(mu);
      EXPECT_TRUE(resumed.empty());
    }
    ASSERT_EQ(audit_->deferred.size(), 1u);
    audit_->CompleteLater();
    {
      std::unique_lock lock(mu);
      ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(5), [&] { return !resumed.empty(); }));
    }
    EXPECT_FALSE(got.has_value());  // not before the connection's thread runs the completion
    resumed[0]();
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(resumed.size(), 1u);
    const ClientResponse r = ToClient(*got);
    EXPECT_EQ(r.result_int(), fail ? 503u : 200u);
    if (fail) {
      EXPECT_EQ(ErrorCodeOf(r), "audit_unavailable");
    }
  }
}

TEST_F(HttpPipelineTest, AuditSeesOutcomeOfEveryRoutedRequest) {
  Request a = Get("/livez");
  a.set("X-Request-ID", "rid-a");
  Send(a);
  Send(Get("/nope"));
  Send(Get("/api/v1/me"));
  ASSERT_EQ(audit_->entries.size(), 3u);
  EXPECT_EQ(audit_->entries[0].http_status, 200u);
  EXPECT_EQ(audit_->entries[0].request_id, "rid-a");
  EXPECT_EQ(audit_->entries[1].http_status, 404u);
  EXPECT_EQ(audit_->entries[1].reason, "not_found");
  EXPECT_EQ(audit_->entries[2].http_status, 401u);
}

// --- authentication ---------------------------------------------------------------------------

TEST_F(HttpPipelineTest, SessionRouteIs401WithoutCredential) {
  const ClientResponse r = Send(Get("/api/v1/me"));
  EXPECT_EQ(r.result_int(), 401u);
  EXPECT_EQ(ErrorCodeOf(r), "authentication_required");
  EXPECT_EQ(Header(r, "Cache-Control"), "no-store");
  EXPECT_EQ(me_calls_, 0);
}

TEST_F(HttpPipelineTest, InternalRouteIs404ToOutsiders) {
  const ClientResponse outsider = Send(Get("/metrics"), "203.0.113.5");
  EXPECT_EQ(outsider.result_int(), 404u);
  EXPECT_EQ(ErrorCodeOf(outsider), "not_found");
  // Indistinguishable from a route that does not exist (apart from the request id).
  const ClientResponse missing = Send(Get("/metricz"), "203.0.113.5");
  EXPECT_EQ(ErrorOf(outsider).at("message"), ErrorOf(missing).at("message"));

  Request wrong = Get("/metrics");
  wrong.set(bhttp::field::authorization, "Bearer not-the-token");
  EXPECT_EQ(Send(wrong, "203.0.113.5").result_int(), 404u);
}

TEST_F(HttpPipelineTest, InternalRouteForOperators) {
  const ClientResponse by_network = Send(Get("/metrics"), "192.0.2.10");
  EXPECT_EQ(by_network.result_int(), 200u);
  EXPECT_EQ(by_network.body(), "ops operator_cidr");
  EXPECT_EQ(Header(by_network, "Cache-Control"), "no-store");

  Request with_token = Get("/metrics");
  with_token.set(bhttp::field::authorization, "Bearer " + std::string(kOperatorToken));
  const ClientResponse by_token = Send(with_token, "203.0.113.5");
  EXPECT_EQ(by_token.result_int(), 200u);
  EXPECT_EQ(by_token.body(), "ops operator_token");
}

TEST_F(HttpPipelineTest, ForwardedForDoesNotGrantOperatorAccess) {
  // The operator check looks at the peer, never at a forwarded client address.
  Request req = Get("/metrics");
  req.set("X-Forwarded-For", "192.0.2.10");
  EXPECT_EQ(Send(req, "203.0.113.5").result_int(), 404u);
}

TEST_F(HttpPipelineTest, InternalRouteExistenceNotDisclosedByOtherMethods) {
  // An internal route answers 404 to outsiders "so the route's existence is not disclosed"
  // (baseline_stages.h). Other methods on its path must not tell it apart from a missing path.
  const ClientResponse missing = Send(Request{Verb::delete_, "/metricz", 11}, "203.0.113.5");
  const ClientResponse internal = Send(Request{Verb::delete_, "/metrics", 11}, "203.0.113.5");
  EXPECT_EQ(missing.result_int(), 404u);
  EXPECT_EQ(internal.result_int(), missing.result_int());
  EXPECT_EQ(Header(internal, "Allow"), "<absent>");

  const ClientResponse opt_missing = Send(Request{Verb::options, "/metricz", 11}, "203.0.113.5");
  const ClientResponse opt_internal = Send(Request{Verb::options, "/metrics", 11}, "203.0.113.5");
  EXPECT_EQ(opt_internal.result_int(), opt_missing.result_int());
  EXPECT_EQ(Header(opt_internal, "Allow"), "<absent>");
}

// --- client address ---------------------------------------------------------------------------

TEST_F(HttpPipelineTest, ForwardedForHonouredOnlyFromTrustedProxy) {
  Request req = Get("/echo-client");
  req.set("X-Forwarded-For", "198.51.100.7");
  EXPECT_EQ(Send(req, "10.1.1.1").body(), "198.51.100.7");     // trusted proxy
  EXPECT_EQ(Send(req, "203.0.113.5").body(), "203.0.113.5");   // anyone else: ignored
  EXPECT_EQ(Send(Get("/echo-client"), "10.1.1.1").body(), "10.1.1.1");  // no header: the peer
}

TEST_F(HttpPipelineTest, ForwardedForTakesRightmostUntrustedHop) {
  Request chain = Get("/echo-client");
  chain.set("X-Forwarded-For", "1.1.1.1, 198.51.100.7, 10.9.9.9");
  EXPECT_EQ(Send(chain, "10.1.1.1").body(), "198.51.100.7");

  Request garbage = Get("/echo-client");
  garbage.set("X-Forwarded-For", "not-an-ip");
  EXPECT_EQ(Send(garbage, "10.1.1.1").body(), "10.1.1.1");
}

// --- CORS -------------------------------------------------------------------------------------

TEST_F(HttpPipelineTest, CorsAllowedOriginEchoed) {
  Request req = Get("/livez");
  req.set(bhttp::field::origin, kAllowedOrigin);
  const ClientResponse r = Send(req);
  EXPECT_EQ(r.result_int(), 200u);
  EXPECT_EQ(Header(r, "Access-Control-Allow-Origin"), kAllowedOrigin);
}

TEST_F(HttpPipelineTest, CorsOtherOriginNotEchoed) {
  for (const char* origin : {"https://evil.example", "https://app.example.com.evil.example", "null",
                             "http://app.example.com"}) {
    Request req = Get("/livez");
    req.set(bhttp::field::origin, origin);
    const ClientResponse r = Send(req);
    EXPECT_EQ(r.result_int(), 200u);
    EXPECT_EQ(Header(r, "Access-Control-Allow-Origin"), "<absent>") << origin;
    EXPECT_EQ(Header(r, "Access-Control-Allow-Credentials"), "<absent>") << origin;
  }
}

TEST_F(HttpPipelineTest, PreflightAllowed) {
  Request req{Verb::options, "/api/v1/items", 11};
  req.set(bhttp::field::origin, kAllowedOrigin);
  req.set(bhttp::field::access_control_request_method, "POST");
  const ClientResponse r = Send(req);
  EXPECT_EQ(r.result_int(), 204u);
  EXPECT_EQ(Header(r, "Access-Control-Allow-Origin"), kAllowedOrigin);
  EXPECT_NE(Header(r, "Access-Control-Allow-Methods").find("POST"), std::string::npos);
  EXPECT_EQ(items_calls_, 0);
}

TEST_F(HttpPipelineTest, PreflightDenied) {
  Request evil{Verb::options, "/api/v1/items", 11};
  evil.set(bhttp::field::origin, "https://evil.example");
  evil.set(bhttp::field::access_control_request_method, "POST");
  const ClientResponse r = Send(evil);
  EXPECT_EQ(r.result_int(), 403u);
  EXPECT_EQ(ErrorCodeOf(r), "cors_denied");
  EXPECT_EQ(Header(r, "Access-Control-Allow-Origin"), "<absent>");
  EXPECT_EQ(Header(r, "Access-Control-Allow-Methods"), "<absent>");

  // Allowed origin, but a method the path does not accept.
  Request wrong_method{Verb::options, "/api/v1/items", 11};
  wrong_method.set(bhttp::field::origin, kAllowedOrigin);
  wrong_method.set(bhttp::field::access_control_request_method, "DELETE");
  const ClientResponse w = Send(wrong_method);
  EXPECT_EQ(w.result_int(), 403u);
  EXPECT_EQ(ErrorCodeOf(w), "cors_denied");
}

TEST_F(HttpPipelineTest, PlainOptionsListsAllowedMethods) {
  const ClientResponse r = Send(Request{Verb::options, "/livez", 11});
  EXPECT_EQ(r.result_int(), 204u);
  EXPECT_EQ(Header(r, "Allow"), "GET, HEAD, OPTIONS");
  ExpectSecurityHeaders(r, true);
  EXPECT_EQ(Send(Request{Verb::options, "/nope", 11}).result_int(), 404u);
}

TEST_F(HttpPipelineTest, RunsInlineOnlyForInlineRoutes) {
  Pipeline p = MakePipeline();
  EXPECT_TRUE(p.Admit(Get("/livez"), 0).runs_inline);
  EXPECT_TRUE(p.Admit(Get("/livez?x=1"), 0).runs_inline);
  EXPECT_TRUE(p.Admit(Request{Verb::head, "/livez", 11}, 0).runs_inline);
  EXPECT_FALSE(p.Admit(Get("/echo-client"), 0).runs_inline);
  EXPECT_FALSE(p.Admit(Get("/metrics"), 0).runs_inline);
  EXPECT_FALSE(p.Admit(Get("/nope"), 0).runs_inline);
  EXPECT_FALSE(p.Admit(Request{Verb::post, "/livez", 11}, 0).runs_inline);
  // A route that only reads runs inline only where reads are local (SQLite).
  EXPECT_FALSE(p.Admit(Get("/reads/a/b"), 0).runs_inline);
  Pipeline local = MakePipeline(true, /*local_reads=*/true);
  EXPECT_TRUE(local.Admit(Get("/reads/a/b"), 0).runs_inline);
  EXPECT_FALSE(local.Admit(Get("/echo-client"), 0).runs_inline);
  EXPECT_FALSE(local.Admit(Get("/metrics"), 0).runs_inline);
}

TEST_F(HttpPipelineTest, BodyLimitFollowsTheRoute) {
  Pipeline p = MakePipeline();
  EXPECT_EQ(p.Admit(Request{Verb::post, "/api/v1/items?x=1", 11}, 4096).body_limit, 4096u);
  EXPECT_EQ(p.Admit(Get("/nope"), 123).body_limit, 123u);
  // One lookup decides both: the route's own limit, and where it runs.
  const auto upload = p.Admit(Request{Verb::put, "/uploads/a.json?x=1", 11}, 4096);
  EXPECT_EQ(upload.body_limit, std::size_t{1} << 20);
  EXPECT_FALSE(upload.runs_inline);
  EXPECT_EQ(p.Admit(Request{Verb::post, "/uploads/a.json", 11}, 4096).body_limit, 4096u);  // 405
  const auto read = MakePipeline(true, /*local_reads=*/true).Admit(Get("/reads/a"), 77);
  EXPECT_EQ(read.body_limit, 77u);
  EXPECT_TRUE(read.runs_inline);
}

// --- metrics ----------------------------------------------------------------------------------

TEST_F(HttpPipelineTest, EveryRequestIsCounted) {
  Pipeline p = MakePipeline();
  for (int i = 0; i < 3; ++i) (void)p.Handle(Get("/livez"), Ip("203.0.113.5"), false);
  (void)p.Handle(Get("/nope"), Ip("203.0.113.5"), false);
  (void)p.Handle(Get("/boom"), Ip("203.0.113.5"), false);
  const std::string out = metrics_.Render();
  EXPECT_NE(out.find("bulwark_http_requests_total{route=\"GET /livez\",status=\"200\"} 3\n"), std::string::npos)
      << out;
  EXPECT_NE(out.find("bulwark_http_requests_total{route=\"unmatched\",status=\"404\"} 1\n"), std::string::npos);
  EXPECT_NE(out.find("bulwark_http_requests_total{route=\"GET /boom\",status=\"500\"} 1\n"), std::string::npos);
  EXPECT_EQ(metrics_.in_flight(), 0);
}

TEST_F(HttpPipelineTest, RejectGetsTheSameShape) {
  Pipeline p = MakePipeline();
  Request header_only = Get("/api/v1/items");
  header_only.set("X-Request-ID", "rid-big");
  const Response res = p.Reject(&header_only, Ip("203.0.113.5"),
                                Status(ErrorCode::kPayloadTooLarge, "payload_too_large", "too big"));
  const ClientResponse r = ToClient(res);
  EXPECT_EQ(r.result_int(), 413u);
  EXPECT_EQ(ErrorCodeOf(r), "payload_too_large");
  EXPECT_EQ(Header(r, "X-Request-ID"), "rid-big");
  EXPECT_FALSE(r.keep_alive());
  ExpectSecurityHeaders(r, true);

  const ClientResponse n = ToClient(p.Reject(nullptr, Ip("203.0.113.5"),
                                             TransportStatus(TransportError::kHeadersTooLarge, "x")));
  EXPECT_EQ(n.result_int(), 431u);
  EXPECT_TRUE(std::regex_match(Header(n, "X-Request-ID"), kGeneratedId));
}

}  // namespace
}  // namespace bulwark::http

#include "http/errors.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <string>

namespace bulwark::http {
namespace {

TEST(HttpErrorsTest, HttpStatusForEveryErrorCode) {
  const std::pair<ErrorCode, unsigned> table[] = {
      {ErrorCode::kOk, 200},
      {ErrorCode::kInvalidArgument, 400},
      {ErrorCode::kUnauthenticated, 401},
      {ErrorCode::kPermissionDenied, 403},
      {ErrorCode::kNotFound, 404},
      {ErrorCode::kMethodNotAllowed, 405},
      {ErrorCode::kConflict, 409},
      {ErrorCode::kPayloadTooLarge, 413},
      {ErrorCode::kUnsupportedMedia, 415},
      {ErrorCode::kUnprocessable, 422},
      {ErrorCode::kRateLimited, 429},
      {ErrorCode::kInternal, 500},
      {ErrorCode::kIntegrity, 500},
      {ErrorCode::kUnavailable, 503},
      {ErrorCode::kFailedPrecondition, 409},
  };
  // The table covers every enumerator (kFailedPrecondition is the last one).
  EXPECT_EQ(std::size(table), static_cast<std::size_t>(ErrorCode::kFailedPrecondition) + 1);
  for (const auto& [code, http] : table) {
    EXPECT_EQ(HttpStatusFor(code), http) << static_cast<int>(code);
  }
}

// The transport's own conditions keep their statuses, bodies and reasons on both surfaces, and a
// domain Status with the same code is still a 400.
TEST(HttpErrorsTest, TransportErrorsMapAtTheEdge) {
  const Status misdirected = TransportStatus(TransportError::kMisdirected, "this host name is not served here");
  EXPECT_EQ(HttpStatusFor(misdirected), 421u);
  EXPECT_EQ(VaultHttpStatusFor(misdirected), 421u);
  EXPECT_EQ(misdirected.reason(), "misdirected_request");
  EXPECT_EQ(ErrorBody(misdirected, "r1"),
            "{\"error\":{\"code\":\"misdirected_request\",\"message\":\"this host name is not served "
            "here\",\"request_id\":\"r1\"}}");
  const Status large = TransportStatus(TransportError::kHeadersTooLarge, "the request header exceeds 8192 bytes");
  EXPECT_EQ(HttpStatusFor(large), 431u);
  EXPECT_EQ(VaultHttpStatusFor(large), 431u);
  EXPECT_EQ(large.reason(), "headers_too_large");
  EXPECT_EQ(VaultErrorBody(large), "{\"errors\":[\"headers_too_large: the request header exceeds 8192 bytes\"]}");
  EXPECT_EQ(HttpStatusFor(Status::InvalidArgument("malformed_json", "x")), 400u);
  EXPECT_EQ(VaultHttpStatusFor(Status::Conflict("cas_mismatch", "x")), 400u);
  EXPECT_EQ(VaultHttpStatusFor(Status::Unauthenticated("bad_token", "x")), 403u);
}

boost::json::object ParseBody(const std::string& body) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  EXPECT_FALSE(ec) << body;
  if (ec || !v.is_object()) return {};
  return v.as_object();
}

TEST(HttpErrorsTest, BodyShape) {
  const std::string body =
      ErrorBody(Status::PermissionDenied("tenant_mismatch", "the credential belongs to another tenant"),
                "req-abc");
  const boost::json::object o = ParseBody(body);
  ASSERT_EQ(o.size(), 1u) << body;
  ASSERT_TRUE(o.contains("error"));
  const boost::json::object& e = o.at("error").as_object();
  EXPECT_EQ(e.size(), 3u);
  EXPECT_EQ(e.at("code").as_string(), "tenant_mismatch");
  EXPECT_EQ(e.at("message").as_string(), "the credential belongs to another tenant");
  EXPECT_EQ(e.at("request_id").as_string(), "req-abc");
}

TEST(HttpErrorsTest, InternalHidesItsMessage) {
  const std::string body =
      ErrorBody(Status::Internal("sqlite: no such table: users at /srv/bulwark/src/store.cc:42"), "r9");
  EXPECT_EQ(body.find("sqlite"), std::string::npos) << body;
  EXPECT_EQ(body.find("/srv"), std::string::npos) << body;
  const boost::json::object e = ParseBody(body).at("error").as_object();
  EXPECT_EQ(e.at("code").as_string(), "internal_error");
  EXPECT_EQ(e.at("message").as_string(), "internal error; quote the request id to the operator");
  EXPECT_EQ(e.at("request_id").as_string(), "r9");
}

TEST(HttpErrorsTest, SpecialCharactersAreEscaped) {
  const std::string msg = "bad \"name\" \\ with\nnewline and \x01 and \xC0\x80";
  const std::string rid = "rid\"}}";
  const std::string body = ErrorBody(Status::InvalidArgument("bad_\"reason", msg), rid);
  EXPECT_EQ(body.find('\n'), std::string::npos);
  const boost::json::object o = ParseBody(body);
  ASSERT_EQ(o.size(), 1u);
  const boost::json::object& e = o.at("error").as_object();
  EXPECT_EQ(e.at("code").as_string(), "bad_\"reason");
  EXPECT_EQ(std::string(e.at("message").as_string()),
            "bad \"name\" \\ with\nnewline and \x01 and \xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(e.at("request_id").as_string(), rid);
}

TEST(HttpErrorsTest, EmptyReasonBecomesGenericCode) {
  const boost::json::object o = ParseBody(ErrorBody(Status(ErrorCode::kNotFound, "", "gone"), "r"));
  EXPECT_EQ(o.at("error").as_object().at("code").as_string(), "error");
}

}  // namespace
}  // namespace bulwark::http

#include "http/errors.h"

#include "core/json_text.h"

namespace bulwark::http {
namespace {

struct TransportCondition {
  TransportError error;
  std::string_view reason;
  unsigned http_status;
};
constexpr TransportCondition kTransportConditions[] = {
    {TransportError::kMisdirected, "misdirected_request", 421},
    {TransportError::kHeadersTooLarge, "headers_too_large", 431},
};

// The transport condition a Status stands for, or null for a domain condition.
const TransportCondition* TransportConditionOf(const Status& status) {
  if (status.code() != ErrorCode::kInvalidArgument) return nullptr;
  for (const TransportCondition& c : kTransportConditions) {
    if (status.reason() == c.reason) return &c;
  }
  return nullptr;
}

}  // namespace

Status TransportStatus(TransportError error, std::string message) {
  for (const TransportCondition& c : kTransportConditions) {
    if (c.error == error) return {ErrorCode::kInvalidArgument, std::string(c.reason), std::move(message)};
  }
  return Status::Internal("unknown transport error");
}

unsigned HttpStatusFor(const Status& status) {
  if (const TransportCondition* c = TransportConditionOf(status)) return c->http_status;
  return HttpStatusFor(status.code());
}

unsigned HttpStatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk: return 200;
    case ErrorCode::kInvalidArgument: return 400;
    case ErrorCode::kUnauthenticated: return 401;
    case ErrorCode::kPermissionDenied: return 403;
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kMethodNotAllowed: return 405;
    case ErrorCode::kConflict: return 409;
    case ErrorCode::kFailedPrecondition: return 409;
    case ErrorCode::kPayloadTooLarge: return 413;
    case ErrorCode::kUnsupportedMedia: return 415;
    case ErrorCode::kUnprocessable: return 422;
    case ErrorCode::kRateLimited: return 429;
    case ErrorCode::kInternal: return 500;
    case ErrorCode::kIntegrity: return 500;
    case ErrorCode::kUnavailable: return 503;
  }
  return 500;
}

std::string ErrorBody(const Status& status, std::string_view request_id) {
  std::string body;
  body.reserve(96 + status.message().size());
  body += "{\"error\":{\"code\":";
  core::AppendJsonString(body, status.reason().empty() ? std::string_view("error") : status.reason());
  body += ",\"message\":";
  // Internal failures never show their detail to the client: it is in the server log.
  if (status.code() == ErrorCode::kInternal || status.code() == ErrorCode::kIntegrity) {
    core::AppendJsonString(body, "internal error; quote the request id to the operator");
  } else {
    core::AppendJsonString(body, status.message());
  }
  body += ",\"request_id\":";
  core::AppendJsonString(body, request_id);
  body += "}}";
  return body;
}

unsigned VaultHttpStatusFor(const Status& status) {
  if (const TransportCondition* c = TransportConditionOf(status)) return c->http_status;
  switch (status.code()) {
    case ErrorCode::kUnauthenticated: return 403;
    case ErrorCode::kConflict: return 400;
    default: return HttpStatusFor(status.code());
  }
}

std::string VaultErrorBody(const Status& status) {
  std::string text(status.reason().empty() ? std::string_view("error") : status.reason());
  text += ": ";
  if (status.code() == ErrorCode::kInternal || status.code() == ErrorCode::kIntegrity) {
    text += "internal error; quote the request id to the operator";
  } else {
    text += status.message();
  }
  std::string body = "{\"errors\":[";
  core::AppendJsonString(body, text);
  body += "]}";
  return body;
}

std::string ScimErrorBody(const Status& status) {
  static constexpr std::pair<std::string_view, std::string_view> kScimTypes[] = {
      {"invalid_filter", "invalidFilter"}, {"invalid_syntax", "invalidSyntax"},
      {"invalid_path", "invalidPath"},     {"invalid_value", "invalidValue"},
      {"no_target", "noTarget"},           {"mutability", "mutability"},
      {"uniqueness", "uniqueness"},        {"too_many", "tooMany"},
      {"sensitive", "sensitive"}};
  const unsigned http_status = HttpStatusFor(status);
  std::string_view scim_type;
  for (const auto& [reason, type] : kScimTypes) {
    if (status.reason() == reason) scim_type = type;
  }
  if (scim_type.empty() && http_status == 400) scim_type = "invalidSyntax";
  std::string detail(status.reason().empty() ? std::string_view("error") : status.reason());
  detail += ": ";
  if (status.code() == ErrorCode::kInternal || status.code() == ErrorCode::kIntegrity) {
    detail += "internal error; quote the request id to the operator";
  } else {
    detail += status.message();
  }
  std::string body = "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:Error\"],\"status\":";
  core::AppendJsonString(body, std::to_string(http_status));
  if (!scim_type.empty()) {
    body += ",\"scimType\":";
    core::AppendJsonString(body, scim_type);
  }
  body += ",\"detail\":";
  core::AppendJsonString(body, detail);
  body += "}";
  return body;
}

}  // namespace bulwark::http

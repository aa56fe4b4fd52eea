#include "http/errors.h"

#include "core/json_text.h"

namespace bulwark::http {

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
    case ErrorCode::kLengthRequired: return 411;
    case ErrorCode::kPayloadTooLarge: return 413;
    case ErrorCode::kUnsupportedMedia: return 415;
    case ErrorCode::kUnprocessable: return 422;
    case ErrorCode::kRateLimited: return 429;
    case ErrorCode::kMisdirected: return 421;
    case ErrorCode::kHeadersTooLarge: return 431;
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

bool IsVaultSurface(std::string_view path) { return path.starts_with("/v1/"); }

unsigned VaultHttpStatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kUnauthenticated: return 403;
    case ErrorCode::kConflict: return 400;
    default: return HttpStatusFor(code);
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

}  // namespace bulwark::http

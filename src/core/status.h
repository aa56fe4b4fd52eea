#pragma once
// Status and StatusOr<T>: the typed errors every layer returns on the request path.
//
// A Status has a category (ErrorCode: the condition, never a transport's; the HTTP layer maps
// it to a status code in one place, src/http/errors.cc) and a stable machine-readable reason
// ("malformed_json", "tenant_mismatch") that clients may match on. The message is for humans
// and must never hold a secret, an internal path or SQL: it is sent to clients as is.
//
// Example (tests/unit/core/status_example_test.cc compiles and runs it, and holds it equal):
//   StatusOr<int> ParsePort(std::string_view text) {
//     if (text.empty()) return Status::InvalidArgument("invalid_port", "the port is empty");
//     int port = 0;
//     for (char c : text) {
//       if (c < '0' || c > '9') return Status::InvalidArgument("invalid_port", "not a number");
//       port = port * 10 + (c - '0');
//       if (port > 65535) return Status::InvalidArgument("invalid_port", "over 65535");
//     }
//     return port;
//   }
//
//   Status AddPort(std::string_view text, std::vector<int>& ports) {
//     StatusOr<int> port = ParsePort(text);
//     if (!port.ok()) return port.status();  // propagate
//     ports.push_back(*port);
//     return Status::Ok();
//   }
//
//   Status AddPorts(std::string_view a, std::string_view b, std::vector<int>& ports) {
//     BULWARK_RETURN_IF_ERROR(AddPort(a, ports));  // the same, as a macro
//     BULWARK_ASSIGN_OR_RETURN(int port, ParsePort(b));
//     ports.push_back(port);
//     return Status::Ok();
//   }
//
// Thread safety: Status and StatusOr are values; distinct objects may be used from distinct
// threads, one object only with external synchronisation.
#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace bulwark {

enum class ErrorCode {
  kOk = 0,
  kInvalidArgument,     // 400: the request is malformed or a value is out of range
  kUnauthenticated,     // 401: no valid credential
  kPermissionDenied,    // 403: authenticated, but not allowed
  kNotFound,            // 404: absent, or owned by another tenant
  kMethodNotAllowed,    // 405
  kConflict,            // 409: check-and-set mismatch, duplicate
  kPayloadTooLarge,     // 413
  kUnsupportedMedia,    // 415
  kUnprocessable,       // 422: well-formed but semantically invalid
  kRateLimited,         // 429
  kInternal,            // 500: a bug or an invariant broken; details only in the log
  kIntegrity,           // 500: stored data failed authentication (tampering)
  kUnavailable,         // 503: a dependency (store, ledger) cannot be reached; never "allow"
  kFailedPrecondition,  // 409/500 depending on context: state does not allow the operation
};

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK

  Status(ErrorCode code, std::string reason, std::string message)
      : code_(code), reason_(std::move(reason)), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string reason, std::string message) {
    return {ErrorCode::kInvalidArgument, std::move(reason), std::move(message)};
  }
  static Status Unauthenticated(std::string reason, std::string message) {
    return {ErrorCode::kUnauthenticated, std::move(reason), std::move(message)};
  }
  static Status PermissionDenied(std::string reason, std::string message) {
    return {ErrorCode::kPermissionDenied, std::move(reason), std::move(message)};
  }
  static Status NotFound(std::string reason, std::string message) {
    return {ErrorCode::kNotFound, std::move(reason), std::move(message)};
  }
  static Status Conflict(std::string reason, std::string message) {
    return {ErrorCode::kConflict, std::move(reason), std::move(message)};
  }
  static Status Unprocessable(std::string reason, std::string message) {
    return {ErrorCode::kUnprocessable, std::move(reason), std::move(message)};
  }
  static Status Internal(std::string message) {
    return {ErrorCode::kInternal, "internal_error", std::move(message)};
  }
  static Status Integrity(std::string message) {
    return {ErrorCode::kIntegrity, "integrity_error", std::move(message)};
  }
  static Status Unavailable(std::string reason, std::string message) {
    return {ErrorCode::kUnavailable, std::move(reason), std::move(message)};
  }
  static Status FailedPrecondition(std::string reason, std::string message) {
    return {ErrorCode::kFailedPrecondition, std::move(reason), std::move(message)};
  }

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  // Stable, machine-readable; empty when ok().
  const std::string& reason() const { return reason_; }
  // Human-readable and safe to show to a client.
  const std::string& message() const { return message_; }

  // "reason: message", for logs and CLI output.
  std::string ToString() const {
    if (ok()) return "ok";
    return reason_ + ": " + message_;
  }

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string reason_;
  std::string message_;
};

// Holds either a T or a non-OK Status. Accessing the value of an error is a bug (asserts).
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design
  StatusOr(Status status) : v_(std::move(status)) {  // NOLINT: implicit by design
    assert(!std::get<Status>(v_).ok() && "StatusOr built from an OK Status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }

  T& value() & {
    assert(ok());
    return std::get<T>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<T>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<T>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace bulwark

#define BULWARK_CONCAT_INNER_(a, b) a##b
#define BULWARK_CONCAT_(a, b) BULWARK_CONCAT_INNER_(a, b)

// Propagates a non-OK Status from an expression returning Status. The variable gets a unique
// name, so the macro nests (a lambda passed to one may use another) without shadowing.
#define BULWARK_RETURN_IF_ERROR(expr) \
  BULWARK_RETURN_IF_ERROR_IMPL_(BULWARK_CONCAT_(bulwark_st_, __COUNTER__), expr)
#define BULWARK_RETURN_IF_ERROR_IMPL_(st, expr) \
  do {                                          \
    ::bulwark::Status st = (expr);              \
    if (!st.ok()) return st;                    \
  } while (0)
// Declares `lhs` from a StatusOr expression, or returns its Status.
//   BULWARK_ASSIGN_OR_RETURN(auto row, tx->QueryOne(...));
#define BULWARK_ASSIGN_OR_RETURN(lhs, expr)                 \
  auto BULWARK_CONCAT_(bulwark_so_, __LINE__) = (expr);     \
  if (!BULWARK_CONCAT_(bulwark_so_, __LINE__).ok())         \
    return BULWARK_CONCAT_(bulwark_so_, __LINE__).status(); \
  lhs = std::move(BULWARK_CONCAT_(bulwark_so_, __LINE__)).value()

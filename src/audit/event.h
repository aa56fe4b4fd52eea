#pragma once
// One audit event: who did what to which resource in which tenant, with what result.
//
// The only way to write a record is through the ledger (ledger.h / writer.h), and an event can
// carry no secret by construction: a detail value is text, an integer or a boolean, and building
// one from crypto::SecretBytes does not compile. A detail whose name looks like a credential
// (token, password, api_key, ...) is stored as "[redacted]" whatever its value.
//
//   audit::Event e{.actor = {audit::ActorKind::kApiKey, key_id}, .tenant = tenant_id,
//                  .action = "secret.read", .resource = "prod/db/password",
//                  .result = audit::Result::kSuccess};
//   e.details.emplace_back("version", 3);
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace bulwark::crypto {
class SecretBytes;
}

namespace bulwark::audit {

// Version of the entry schema; part of every entry ("v").
inline constexpr int kEventSchemaVersion = 1;

enum class ActorKind { kAnonymous, kUser, kApiKey, kOperator, kSystem };
std::string_view ActorKindName(ActorKind k);

enum class Result { kSuccess, kDenied, kError };
std::string_view ResultName(Result r);

class DetailValue {
 public:
  DetailValue(std::string_view v) : kind_(Kind::kText), text_(v) {}  // NOLINT: implicit by design
  DetailValue(const char* v) : kind_(Kind::kText), text_(v) {}       // NOLINT
  DetailValue(std::string v) : kind_(Kind::kText), text_(std::move(v)) {}  // NOLINT
  DetailValue(std::int64_t v) : kind_(Kind::kInt), int_(v) {}        // NOLINT
  DetailValue(int v) : kind_(Kind::kInt), int_(v) {}                 // NOLINT
  DetailValue(bool v) : kind_(Kind::kBool), bool_(v) {}              // NOLINT
  // A secret can never become an audit detail.
  DetailValue(const crypto::SecretBytes&) = delete;

  enum class Kind { kText, kInt, kBool };
  Kind kind() const { return kind_; }
  const std::string& text() const { return text_; }
  std::int64_t integer() const { return int_; }
  bool boolean() const { return bool_; }

 private:
  Kind kind_;
  std::string text_;
  std::int64_t int_ = 0;
  bool bool_ = false;
};

struct Actor {
  ActorKind kind = ActorKind::kAnonymous;
  std::string id;  // user id, API key id; empty for anonymous
};

struct Event {
  std::string time;  // UTC ISO-8601 with microseconds; when empty, stamped as its entry is built:
                     // when submitted (AuditWriter::Submit, Record), or in the writer's batch
                     // for a change. Not an order: seq is.
  Actor actor;
  std::string tenant;  // empty: no tenant (stored as null)
  std::string action;  // dotted verb: "secret.read", "auth.verify", "http.denied"
  std::string resource;
  Result result = Result::kSuccess;
  std::string reason;  // stable reason code for denied/error ("tenant_mismatch")
  std::string request_id;
  std::string client;      // client address
  std::string user_agent;  // sanitized and truncated when the entry is built
  std::string auth_method;
  bool break_glass = false;
  std::vector<std::pair<std::string, DetailValue>> details;
};

// The canonical JSON (RFC 8785) bytes of `event` as ledger entry `seq` — exactly what is hashed
// and stored. Fails (InvalidArgument) if the action is empty or a field is not valid UTF-8
// after sanitizing.
StatusOr<std::string> EntryBytes(const Event& event, std::int64_t seq);

// The same bytes built before the entry's seq is known, so the work can be done on the caller's
// thread rather than the ledger writer's: EntryBytes(event, seq) == prepared.Fill(seq) when the
// event has a time. An event without one is stamped now. The queryable columns of the entry's
// index row are taken from the same event, so the two cannot disagree.
struct PreparedEntry {
  std::string before_seq;  // up to and including "seq":
  std::string after_seq;   // from the member after seq to the closing brace
  std::string time;        // the stamp the entry holds
  std::string tenant;
  ActorKind actor_kind = ActorKind::kAnonymous;
  std::string actor_id;
  std::string action;
  Result result = Result::kSuccess;
  StatusOr<std::string> Fill(std::int64_t seq) const;
};
StatusOr<PreparedEntry> PrepareEntry(const Event& event);

}  // namespace bulwark::audit

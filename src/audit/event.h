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

#include "core/detail_value.h"
#include "core/status.h"

namespace bulwark::audit {

// Version of the entry schema; part of every entry ("v").
inline constexpr int kEventSchemaVersion = 1;

enum class ActorKind { kAnonymous, kUser, kApiKey, kOperator, kSystem, kScimToken };
std::string_view ActorKindName(ActorKind k);

enum class Result { kSuccess, kDenied, kError };
std::string_view ResultName(Result r);

// A detail's value: text, an integer or a boolean (core/detail_value.h); never a secret.
using DetailValue = core::DetailValue;

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

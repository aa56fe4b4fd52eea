#include "audit/event.h"

#include <algorithm>
#include <boost/json.hpp>

#include "core/canonical_json.h"
#include "core/clock.h"
#include "core/json_text.h"
#include "core/log.h"

namespace bulwark::audit {
namespace {

constexpr std::size_t kMaxUserAgent = 256;
constexpr std::size_t kMaxField = 1024;

// Printable text only, at most `max` bytes: control characters dropped, invalid UTF-8 replaced
// by U+FFFD, and never a character cut in two at the limit.
std::string Sanitize(std::string_view in, std::size_t max) {
  in = core::Utf8Prefix(in, max);
  // The usual case: nothing to drop or replace.
  if (std::none_of(in.begin(), in.end(),
                   [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; }) &&
      core::IsValidUtf8(in)) {
    return std::string(in);
  }
  std::string out;
  out.reserve(in.size());
  for (unsigned char c : in) {
    if (c < 0x20 || c == 0x7F) continue;
    out.push_back(static_cast<char>(c));
  }
  if (!core::IsValidUtf8(out)) {
    std::string quoted;
    core::AppendJsonString(quoted, out);  // replaces invalid sequences with U+FFFD
    boost::system::error_code ec;
    auto v = boost::json::parse(quoted, ec);
    out = ec ? std::string() : std::string(v.as_string());
    // Each replacement is three bytes where the invalid one was one: cut back to the limit.
    out.resize(core::Utf8Prefix(out, max).size());
  }
  return out;
}

// The entry is written member by member in RFC 8785 order (the names below are ASCII and listed
// sorted), which is what core::CanonicalJson would produce from the same object, without
// building one: every request pays for this (on its own thread when the event needs no change
// to amend it, see PrepareEntry; else on the ledger writer's).
class EntryWriter {
 public:
  explicit EntryWriter(std::string& out) : out_(out) {}
  Status Name(std::string_view name) {
    out_.push_back(first_ ? '{' : ',');
    first_ = false;
    BULWARK_RETURN_IF_ERROR(core::AppendCanonicalString(out_, name));
    out_.push_back(':');
    return Status::Ok();
  }
  Status Text(std::string_view name, std::string_view v) {
    BULWARK_RETURN_IF_ERROR(Name(name));
    return core::AppendCanonicalString(out_, v);
  }
  // Empty: null; else the sanitized text.
  Status TextOrNull(std::string_view name, const std::string& v, std::size_t max) {
    if (v.empty()) return Raw(name, "null");
    return Text(name, Sanitize(v, max));
  }
  Status Int(std::string_view name, std::int64_t v) {
    BULWARK_RETURN_IF_ERROR(Name(name));
    return core::AppendCanonicalInteger(out_, v);
  }
  Status Bool(std::string_view name, bool v) { return Raw(name, v ? "true" : "false"); }
  Status Raw(std::string_view name, std::string_view json) {
    BULWARK_RETURN_IF_ERROR(Name(name));
    out_ += json;
    return Status::Ok();
  }
  void Close() { out_ += first_ ? "{}" : "}"; }

 private:
  std::string& out_;
  bool first_ = true;
};

// The details object: names sanitized, credential-looking names redacted, a repeated name keeps
// its last value, members in RFC 8785 order.
Status AppendDetails(std::string& out, const std::vector<std::pair<std::string, DetailValue>>& in) {
  std::vector<std::pair<std::string, const DetailValue*>> members;
  members.reserve(in.size());
  for (const auto& [name, value] : in) {
    std::string key = Sanitize(name, 64);
    auto same =
        std::find_if(members.begin(), members.end(), [&](const auto& m) { return m.first == key; });
    if (same != members.end()) {
      same->second = &value;
    } else {
      members.emplace_back(std::move(key), &value);
    }
  }
  std::sort(members.begin(), members.end(),
            [](const auto& a, const auto& b) { return core::CanonicalNameLess(a.first, b.first); });
  EntryWriter w(out);
  for (const auto& [key, value] : members) {
    if (log::IsCredentialName(key)) {
      BULWARK_RETURN_IF_ERROR(w.Text(key, "[redacted]"));
      continue;
    }
    switch (value->kind()) {
      case DetailValue::Kind::kText:
        BULWARK_RETURN_IF_ERROR(w.Text(key, Sanitize(value->text(), kMaxField)));
        break;
      case DetailValue::Kind::kInt:
        BULWARK_RETURN_IF_ERROR(w.Int(key, value->integer()));
        break;
      case DetailValue::Kind::kBool:
        BULWARK_RETURN_IF_ERROR(w.Bool(key, value->boolean()));
        break;
    }
  }
  w.Close();
  return Status::Ok();
}

}  // namespace

std::string_view ActorKindName(ActorKind k) {
  switch (k) {
    case ActorKind::kAnonymous: return "anonymous";
    case ActorKind::kUser: return "user";
    case ActorKind::kApiKey: return "api_key";
    case ActorKind::kOperator: return "operator";
    case ActorKind::kSystem: return "system";
    case ActorKind::kScimToken: return "scim_token";
  }
  return "anonymous";
}

std::string_view ResultName(Result r) {
  switch (r) {
    case Result::kSuccess: return "success";
    case Result::kDenied: return "denied";
    case Result::kError: return "error";
  }
  return "error";
}

StatusOr<PreparedEntry> PrepareEntry(const Event& e) {
  if (e.action.empty()) return Status::InvalidArgument("invalid_event", "an audit event needs an action");
  PreparedEntry prepared;
  prepared.time = e.time.empty() ? core::NowIso8601Micros() : e.time;
  std::string out;
  out.reserve(512);
  EntryWriter w(out);
  BULWARK_RETURN_IF_ERROR(w.Text("action", Sanitize(e.action, 128)));
  {
    BULWARK_RETURN_IF_ERROR(w.Name("actor"));
    EntryWriter a(out);
    BULWARK_RETURN_IF_ERROR(a.TextOrNull("id", e.actor.id, kMaxField));
    BULWARK_RETURN_IF_ERROR(a.Text("kind", ActorKindName(e.actor.kind)));
    a.Close();
  }
  BULWARK_RETURN_IF_ERROR(w.TextOrNull("auth_method", e.auth_method, kMaxField));
  BULWARK_RETURN_IF_ERROR(w.Bool("break_glass", e.break_glass));
  BULWARK_RETURN_IF_ERROR(w.TextOrNull("client", e.client, kMaxField));
  BULWARK_RETURN_IF_ERROR(w.Name("details"));
  BULWARK_RETURN_IF_ERROR(AppendDetails(out, e.details));
  BULWARK_RETURN_IF_ERROR(w.TextOrNull("reason", e.reason, kMaxField));
  BULWARK_RETURN_IF_ERROR(w.TextOrNull("request_id", e.request_id, kMaxField));
  BULWARK_RETURN_IF_ERROR(w.TextOrNull("resource", e.resource, kMaxField));
  BULWARK_RETURN_IF_ERROR(w.Text("result", ResultName(e.result)));
  BULWARK_RETURN_IF_ERROR(w.Name("seq"));
  const std::size_t seq_at = out.size();
  BULWARK_RETURN_IF_ERROR(w.TextOrNull("tenant", e.tenant, kMaxField));
  BULWARK_RETURN_IF_ERROR(w.Text("time", prepared.time));
  BULWARK_RETURN_IF_ERROR(w.TextOrNull("user_agent", e.user_agent, kMaxUserAgent));
  BULWARK_RETURN_IF_ERROR(w.Int("v", kEventSchemaVersion));
  w.Close();
  prepared.after_seq = out.substr(seq_at);
  out.resize(seq_at);
  prepared.before_seq = std::move(out);
  // The index columns (audit_index) hold what the entry says, so that they can be checked
  // against it (audit/query.h).
  prepared.tenant = e.tenant.empty() ? std::string() : Sanitize(e.tenant, kMaxField);
  prepared.actor_kind = e.actor.kind;
  prepared.actor_id = e.actor.id.empty() ? std::string() : Sanitize(e.actor.id, kMaxField);
  prepared.action = Sanitize(e.action, 128);
  prepared.result = e.result;
  return prepared;
}

StatusOr<std::string> PreparedEntry::Fill(std::int64_t seq) const {
  std::string out;
  out.reserve(before_seq.size() + 20 + after_seq.size());
  out += before_seq;
  BULWARK_RETURN_IF_ERROR(core::AppendCanonicalInteger(out, seq));
  out += after_seq;
  return out;
}

StatusOr<std::string> EntryBytes(const Event& e, std::int64_t seq) {
  BULWARK_ASSIGN_OR_RETURN(PreparedEntry prepared, PrepareEntry(e));
  return prepared.Fill(seq);
}

}  // namespace bulwark::audit

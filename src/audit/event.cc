#include "audit/event.h"

#include <boost/json.hpp>

#include "core/canonical_json.h"
#include "core/clock.h"
#include "core/json_text.h"
#include "core/log.h"

namespace bulwark::audit {
namespace {

constexpr std::size_t kMaxUserAgent = 256;
constexpr std::size_t kMaxField = 1024;

// Printable text only, bounded: control characters dropped, invalid UTF-8 replaced.
std::string Sanitize(std::string_view in, std::size_t max) {
  std::string out;
  for (unsigned char c : in.substr(0, max)) {
    if (c < 0x20 || c == 0x7F) continue;
    out.push_back(static_cast<char>(c));
  }
  if (!core::IsValidUtf8(out)) {
    std::string quoted;
    core::AppendJsonString(quoted, out);  // replaces invalid sequences with U+FFFD
    boost::system::error_code ec;
    auto v = boost::json::parse(quoted, ec);
    out = ec ? std::string() : std::string(v.as_string());
  }
  return out;
}

boost::json::value OrNull(const std::string& s) {
  if (s.empty()) return nullptr;
  return boost::json::value(Sanitize(s, kMaxField));
}

}  // namespace

std::string_view ActorKindName(ActorKind k) {
  switch (k) {
    case ActorKind::kAnonymous: return "anonymous";
    case ActorKind::kUser: return "user";
    case ActorKind::kApiKey: return "api_key";
    case ActorKind::kOperator: return "operator";
    case ActorKind::kSystem: return "system";
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

StatusOr<std::string> EntryBytes(const Event& e, std::int64_t seq) {
  if (e.action.empty()) return Status::InvalidArgument("invalid_event", "an audit event needs an action");
  boost::json::object details;
  for (const auto& [name, value] : e.details) {
    const std::string key = Sanitize(name, 64);
    if (log::IsCredentialName(key)) {
      details[key] = "[redacted]";
      continue;
    }
    switch (value.kind()) {
      case DetailValue::Kind::kText: details[key] = Sanitize(value.text(), kMaxField); break;
      case DetailValue::Kind::kInt: details[key] = value.integer(); break;
      case DetailValue::Kind::kBool: details[key] = value.boolean(); break;
    }
  }
  boost::json::object o{
      {"v", kEventSchemaVersion},
      {"seq", seq},
      {"time", e.time.empty() ? core::NowIso8601Micros() : e.time},
      {"actor", boost::json::object{{"kind", ActorKindName(e.actor.kind)}, {"id", OrNull(e.actor.id)}}},
      {"tenant", OrNull(e.tenant)},
      {"action", Sanitize(e.action, 128)},
      {"resource", OrNull(e.resource)},
      {"result", ResultName(e.result)},
      {"reason", OrNull(e.reason)},
      {"request_id", OrNull(e.request_id)},
      {"client", OrNull(e.client)},
      {"user_agent", e.user_agent.empty() ? boost::json::value(nullptr)
                                          : boost::json::value(Sanitize(e.user_agent, kMaxUserAgent))},
      {"auth_method", OrNull(e.auth_method)},
      {"break_glass", e.break_glass},
      {"details", std::move(details)},
  };
  return core::CanonicalJson(o);
}

}  // namespace bulwark::audit

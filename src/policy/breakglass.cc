#include "policy/breakglass.h"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "core/text_list.h"
#include "crypto/random.h"
#include "policy/roles.h"
#include "policy/tenant_policy.h"
#include "policy/secret_path.h"

namespace bulwark::policy::breakglass {
namespace {

using store::Value;

constexpr std::string_view kColumns =
    "id, tenant_id, user_id, session_id, reason, scope_verbs, scope_path_prefix, started_at, "
    "expires_at, ended_at, "
    "end_reason";

Grant FromRow(const store::Row& r) {
  Grant g{.id = r[0].as_text(),
          .tenant_id = r[1].as_text(),
          .user_id = r[2].as_text(),
          .session_id = r[3].as_text(),
          .reason = r[4].as_text(),
          .verbs = core::SplitList(r[5].as_text(), ' '),
          .path_prefix = r[6].as_text(),
          .started_at = r[7].as_int(),
          .expires_at = r[8].as_int()};
  if (!r[9].is_null()) g.ended_at = r[9].as_int();
  if (!r[10].is_null()) g.end_reason = r[10].as_text();
  return g;
}

std::string_view Trimmed(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// Characters, not bytes: UTF-8 continuation bytes (10xxxxxx) do not start one. The body is
// valid UTF-8 (the pipeline refuses anything else).
std::size_t CharacterCount(std::string_view s) {
  return static_cast<std::size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

bool ValidPathPrefix(std::string_view p) {
  if (p.size() > 256 || p.starts_with('/') || p.find("..") != std::string_view::npos) return false;
  return std::all_of(p.begin(), p.end(),
                     [](char c) { return policy::IsSegmentChar(c) || c == '/'; });
}

}  // namespace

StatusOr<Grant> Activate(store::Transaction& tx, const Request& req, bool server_enabled,
                         std::int64_t now) {
  if (!server_enabled) {
    return Status::PermissionDenied("breakglass_disabled",
                                    "break-glass is not enabled on this server");
  }
  BULWARK_ASSIGN_OR_RETURN(TenantPolicy tenant, LoadTenantPolicy(tx, req.tenant_id));
  if (!tenant.breakglass_enabled) {
    return Status::PermissionDenied("breakglass_disabled",
                                    "break-glass is not enabled for this tenant");
  }
  BULWARK_ASSIGN_OR_RETURN(auto member,
                           tx.Query("SELECT breakglass_designated FROM memberships "
                                    "WHERE tenant_id = ? AND user_id = ?",
                                    {Value::Text(req.tenant_id), Value::Text(req.user_id)}));
  if (member.empty() || member[0][0].as_int() == 0) {
    return Status::PermissionDenied("breakglass_not_designated",
                                    "this account is not designated for break-glass");
  }
  if (CharacterCount(Trimmed(req.reason)) < kMinReasonLength || req.reason.size() > 4000) {
    return Status::InvalidArgument(
        "reason_too_short", "give a reason of at least 20 characters (and at most 4000 bytes)");
  }
  if (req.ttl_s < 60 || req.ttl_s > kMaxTtlSeconds) {
    return Status::InvalidArgument("invalid_ttl", "break-glass lasts 60 seconds to 60 minutes");
  }
  std::vector<std::string> verbs = req.verbs;
  std::sort(verbs.begin(), verbs.end());
  verbs.erase(std::unique(verbs.begin(), verbs.end()), verbs.end());
  if (verbs.empty() && req.path_prefix.empty()) {
    return Status::InvalidArgument("invalid_scope",
                                   "name the verbs and/or the secret path prefix it covers");
  }
  for (const auto& v : verbs) {
    // Break-glass never reaches its own switches: it cannot extend or re-grant itself.
    if (!IsKnownVerb(v) || v == "breakglass.activate" || v == "settings.update") {
      return Status::InvalidArgument("invalid_scope", "not a verb break-glass may grant: " + v);
    }
  }
  if (!ValidPathPrefix(req.path_prefix)) {
    return Status::InvalidArgument("invalid_scope",
                                   "a path prefix is relative, without '..', of [A-Za-z0-9/._-]");
  }
  BULWARK_ASSIGN_OR_RETURN(auto open, OpenGrant(tx, req.session_id, now));
  if (open)
    return Status::Conflict("breakglass_active",
                            "this session already holds an open break-glass grant");
  Grant g{.tenant_id = req.tenant_id,
          .user_id = req.user_id,
          .session_id = req.session_id,
          .reason = req.reason,
          .verbs = verbs,
          .path_prefix = req.path_prefix,
          .started_at = now,
          .expires_at = now + req.ttl_s};
  BULWARK_ASSIGN_OR_RETURN(std::string hex, crypto::RandomHex(12));
  g.id = "bg_" + hex;
  BULWARK_RETURN_IF_ERROR(
      tx.Exec("INSERT INTO breakglass_grants(id, tenant_id, user_id, session_id, reason, "
              "scope_verbs, scope_path_prefix, started_at, expires_at) "
              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
              {Value::Text(g.id), Value::Text(g.tenant_id), Value::Text(g.user_id),
               Value::Text(g.session_id), Value::Text(g.reason),
               Value::Text(core::JoinList(verbs, ' ')), Value::Text(g.path_prefix),
               Value::Int(g.started_at), Value::Int(g.expires_at)})
          .status());
  return g;
}

StatusOr<std::optional<Grant>> OpenGrant(store::Transaction& tx, std::string_view session_id,
                                         std::int64_t now) {
  BULWARK_ASSIGN_OR_RETURN(
      auto rows, tx.Query("SELECT " + std::string(kColumns) +
                              " FROM breakglass_grants WHERE session_id = ? AND ended_at IS NULL "
                              "AND expires_at > ?",
                          {Value::Text(std::string(session_id)), Value::Int(now)}));
  if (rows.empty()) return std::optional<Grant>();
  return std::optional<Grant>(FromRow(rows[0]));
}

StatusOr<Grant> EndForSession(store::Transaction& tx, std::string_view session_id,
                              std::int64_t now) {
  BULWARK_ASSIGN_OR_RETURN(auto open, OpenGrant(tx, session_id, now));
  if (!open)
    return Status::NotFound("breakglass_not_active", "no open break-glass grant for this session");
  BULWARK_RETURN_IF_ERROR(tx.Exec("UPDATE breakglass_grants SET ended_at = ?, end_reason = 'ended' "
                                  "WHERE id = ? AND ended_at IS NULL",
                                  {Value::Int(now), Value::Text(open->id)})
                              .status());
  open->ended_at = now;
  open->end_reason = "ended";
  return *open;
}

StatusOr<std::vector<std::string>> DueGrants(store::Transaction& tx, std::int64_t now) {
  BULWARK_ASSIGN_OR_RETURN(
      auto rows,
      tx.Query("SELECT id FROM breakglass_grants WHERE ended_at IS NULL AND expires_at <= ?",
               {Value::Int(now)}));
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(r[0].as_text());
  return out;
}

StatusOr<std::optional<Grant>> EndExpiredGrant(store::Transaction& tx, std::string_view grant_id) {
  BULWARK_ASSIGN_OR_RETURN(auto rows,
                           tx.Query("SELECT " + std::string(kColumns) +
                                        " FROM breakglass_grants WHERE id = ? AND ended_at IS NULL",
                                    {Value::Text(std::string(grant_id))}));
  if (rows.empty()) return std::optional<Grant>();
  Grant g = FromRow(rows[0]);
  BULWARK_RETURN_IF_ERROR(
      tx.Exec("UPDATE breakglass_grants SET ended_at = ?, end_reason = 'expired' "
              "WHERE id = ? AND ended_at IS NULL",
              {Value::Int(g.expires_at), Value::Text(g.id)})
          .status());
  g.ended_at = g.expires_at;
  g.end_reason = "expired";
  return std::optional<Grant>(std::move(g));
}

StatusOr<std::vector<Grant>> EndTenantGrants(store::Transaction& tx, std::string_view tenant_id,
                                             std::int64_t now, std::string_view reason) {
  BULWARK_ASSIGN_OR_RETURN(
      auto rows, tx.Query("SELECT " + std::string(kColumns) +
                              " FROM breakglass_grants WHERE tenant_id = ? AND ended_at IS NULL",
                          {Value::Text(std::string(tenant_id))}));
  std::vector<Grant> out;
  for (const auto& r : rows) {
    Grant g = FromRow(r);
    const std::int64_t at = std::min(now, g.expires_at);
    BULWARK_RETURN_IF_ERROR(
        tx.Exec("UPDATE breakglass_grants SET ended_at = ?, end_reason = ? WHERE id = ?",
                {Value::Int(at), Value::Text(std::string(reason)), Value::Text(g.id)})
            .status());
    g.ended_at = at;
    g.end_reason = std::string(reason);
    out.push_back(std::move(g));
  }
  return out;
}

StatusOr<std::vector<Ended>> EndWithReceipts(const receipts::ReceiptService& receipts,
                                             store::Transaction& tx, const Ending& which,
                                             std::int64_t now) {
  std::vector<Grant> grants;
  switch (which.kind) {
    case Ending::Kind::kSession: {
      BULWARK_ASSIGN_OR_RETURN(auto open, OpenGrant(tx, which.id, now));
      if (!open) break;
      BULWARK_ASSIGN_OR_RETURN(Grant ended, EndForSession(tx, which.id, now));
      grants.push_back(std::move(ended));
      break;
    }
    case Ending::Kind::kExpired: {
      BULWARK_ASSIGN_OR_RETURN(auto ended, EndExpiredGrant(tx, which.id));
      if (ended) grants.push_back(std::move(*ended));
      break;
    }
    case Ending::Kind::kTenant: {
      BULWARK_ASSIGN_OR_RETURN(grants, EndTenantGrants(tx, which.id, now, which.reason));
      break;
    }
  }
  std::vector<Ended> out;
  for (Grant& g : grants) {
    BULWARK_ASSIGN_OR_RETURN(receipts::Receipt r, IssueReceipt(receipts, tx, g, true));
    out.push_back({std::move(g), std::move(r)});
  }
  return out;
}

Status Designate(store::Transaction& tx, std::string_view tenant_id, std::string_view user_id,
                 bool designated) {
  BULWARK_ASSIGN_OR_RETURN(
      std::int64_t changed,
      tx.Exec(
          "UPDATE memberships SET breakglass_designated = ? WHERE tenant_id = ? AND user_id = ?",
          {Value::Int(designated ? 1 : 0), Value::Text(std::string(tenant_id)),
           Value::Text(std::string(user_id))}));
  if (changed != 1) return Status::NotFound("member_not_found", "no such member");
  return Status::Ok();
}

StatusOr<receipts::Receipt> IssueReceipt(const receipts::ReceiptService& receipts,
                                         store::Transaction& tx, const Grant& g, bool ending) {
  boost::json::array verbs;
  for (const auto& v : g.verbs) verbs.emplace_back(v);
  boost::json::object fields{{"grant_id", g.id},
                             {"user_id", g.user_id},
                             {"reason", g.reason},
                             {"scope_verbs", std::move(verbs)},
                             {"scope_path_prefix", g.path_prefix},
                             {"started_at", g.started_at},
                             {"expires_at", g.expires_at}};
  if (ending) {
    fields["ended_at"] = g.ended_at.value_or(0);
    fields["end_reason"] = g.end_reason;
  }
  return receipts.Issue(tx, g.tenant_id,
                        ending ? receipts::kind::kBreakglassEnd : receipts::kind::kBreakglassStart,
                        fields, {"reason", "user_id"});
}

}  // namespace bulwark::policy::breakglass

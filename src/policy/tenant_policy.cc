#include "policy/tenant_policy.h"

#include "core/text_list.h"

namespace bulwark::policy {
namespace {

using store::Value;

std::string Join(const std::vector<core::Cidr>& cidrs) {
  std::vector<std::string> texts;
  for (const auto& c : cidrs) texts.push_back(c.ToString());
  return core::JoinList(texts, ',');
}

}  // namespace

StatusOr<std::vector<core::Cidr>> ParseAllowlist(const std::vector<std::string>& entries) {
  if (entries.size() > kMaxAllowlistEntries) {
    return Status::InvalidArgument("too_many_networks", "an allowlist holds at most 64 networks");
  }
  std::vector<core::Cidr> out;
  for (const auto& e : entries) {
    auto c = core::Cidr::Parse(e);
    if (!c.ok()) return Status::InvalidArgument("invalid_cidr", "not a network (CIDR): " + e);
    out.push_back(*c);
  }
  return out;
}

StatusOr<TenantPolicy> LoadTenantPolicy(store::Transaction& tx, std::string_view tenant_id) {
  BULWARK_ASSIGN_OR_RETURN(
      auto rows, tx.Query("SELECT ip_allowlist, breakglass_enabled, name FROM tenants WHERE id = ?",
                          {Value::Text(std::string(tenant_id))}));
  if (rows.empty()) return Status::NotFound("tenant_not_found", "no such tenant");
  TenantPolicy p;
  for (const std::string& entry : core::SplitList(rows[0][0].as_text(), ',')) {
    auto c = core::Cidr::Parse(entry);
    if (!c.ok()) return Status::Integrity("a tenant allowlist is malformed");
    p.allowlist.push_back(*c);
  }
  p.breakglass_enabled = rows[0][1].as_int() != 0;
  p.name = rows[0][2].as_text();
  return p;
}

Status SetIpAllowlist(store::Transaction& tx, std::string_view tenant_id,
                      const std::vector<core::Cidr>& allowlist) {
  BULWARK_ASSIGN_OR_RETURN(
      std::int64_t changed,
      tx.Exec("UPDATE tenants SET ip_allowlist = ? WHERE id = ?",
              {Value::Text(Join(allowlist)), Value::Text(std::string(tenant_id))}));
  if (changed != 1) return Status::NotFound("tenant_not_found", "no such tenant");
  return Status::Ok();
}

Status SetBreakglassEnabled(store::Transaction& tx, std::string_view tenant_id, bool enabled) {
  BULWARK_ASSIGN_OR_RETURN(
      std::int64_t changed,
      tx.Exec("UPDATE tenants SET breakglass_enabled = ? WHERE id = ?",
              {Value::Int(enabled ? 1 : 0), Value::Text(std::string(tenant_id))}));
  if (changed != 1) return Status::NotFound("tenant_not_found", "no such tenant");
  return Status::Ok();
}

Status CheckClientAllowed(store::Transaction& tx, std::string_view tenant_id,
                          const core::IpAddress& client) {
  BULWARK_ASSIGN_OR_RETURN(TenantPolicy p, LoadTenantPolicy(tx, tenant_id));
  if (!p.allowlist.empty() && !core::AnyContains(p.allowlist, client)) {
    return Status::PermissionDenied("ip_not_allowed",
                                    "this tenant does not accept requests from this address");
  }
  return Status::Ok();
}

StatusOr<std::shared_ptr<const TenantPolicy>> TenantPolicies::Get(std::string_view tenant_id) {
  const std::uint64_t epoch = cache_.Epoch();
  if (auto hit = cache_.Find(tenant_id)) return *hit;
  BULWARK_ASSIGN_OR_RETURN(auto tx, store_.Begin(store::TxMode::kRead));
  BULWARK_ASSIGN_OR_RETURN(TenantPolicy p, LoadTenantPolicy(*tx, tenant_id));
  auto shared = std::make_shared<const TenantPolicy>(std::move(p));
  cache_.Insert(tenant_id, shared, epoch);
  return shared;
}

void TenantPolicies::Invalidate(std::string_view tenant_id) { cache_.Invalidate(tenant_id); }

}  // namespace bulwark::policy

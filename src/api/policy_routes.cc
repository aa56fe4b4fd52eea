// Path policies and groups over HTTP. Changing them grants or takes away access to secret data,
// so every change needs policies.update and a recent MFA step-up (an API key cannot), is
// recorded with the change, and applies from the next request (the PathAccess cache is dropped
// for the tenant once the change has committed).
//   PUT    /api/v1/policies/{name}  {"rules": [{"path": "dev/*", "capabilities": ["read"]}]}
//   PUT    /api/v1/policies/{name}/attachments/{kind}/{id}    kind: user, api_key, group
//   PUT    /api/v1/groups/{name}    {"members": ["<user id>", ...]}
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "api/body.h"
#include "api/policy_routes.h"
#include "api/recorded_commit.h"
#include "core/clock.h"
#include "core/text_list.h"
#include "stages/ledger_audit_stage.h"

namespace bulwark::api {
namespace {

using http::AuthDecision;
using http::BodyKind;
using http::Reply;
using http::RequestContext;
using http::Verb;
namespace json = boost::json;

constexpr std::size_t kPolicyBody = 64 * 1024;

Status Ready(const PolicyRouteDeps& d) {
  if (d.path_access == nullptr) return SecretsUnavailable();
  return Status::Ok();
}

json::object PolicyJson(const policy::PolicyInfo& p) {
  json::array rules;
  for (const auto& r : p.rules) {
    json::array caps;
    for (const auto& c : policy::CapabilityNames(r.capabilities)) caps.emplace_back(c);
    rules.push_back(json::object{{"path", r.pattern}, {"capabilities", std::move(caps)}});
  }
  json::array attached;
  for (const auto& a : p.attachments) {
    attached.push_back(json::object{{"kind", policy::SubjectKindName(a.kind)}, {"id", a.id}});
  }
  return json::object{{"name", p.name},
                      {"rules", std::move(rules)},
                      {"attachments", std::move(attached)},
                      {"created_at", p.created_at},
                      {"updated_at", p.updated_at},
                      {"updated_by", p.updated_by}};
}

StatusOr<std::vector<policy::PathRule>> RulesFromBody(const RequestContext& ctx) {
  const auto bad = [](std::string why) { return Status::InvalidArgument("invalid_rules", why); };
  const json::object* o = ctx.json.if_object();
  if (o == nullptr || o->size() != 1 || !o->contains("rules")) {
    return Status::InvalidArgument("invalid_body", "the body is {\"rules\": [...]}");
  }
  const json::array* a = o->at("rules").if_array();
  if (a == nullptr || a->empty() || a->size() > policy::kMaxRulesPerPolicy) {
    return bad("rules is an array of 1 to 256 rules");
  }
  std::vector<policy::PathRule> out;
  for (const json::value& item : *a) {
    const json::object* r = item.if_object();
    if (r == nullptr || r->size() != 2 || !r->contains("path") || !r->at("path").is_string() ||
        !r->contains("capabilities") || !r->at("capabilities").is_array()) {
      return bad("a rule is {\"path\": pattern, \"capabilities\": [names]}");
    }
    std::vector<std::string> caps;
    for (const json::value& c : r->at("capabilities").as_array()) {
      if (!c.is_string()) return bad("capabilities are names");
      caps.emplace_back(c.as_string());
    }
    BULWARK_ASSIGN_OR_RETURN(
        auto rule, policy::ParsePathRule(std::string_view(r->at("path").as_string()), caps));
    out.push_back(std::move(rule));
  }
  return out;
}

// A change of policies, attachments or groups: the guarded store change, which describes itself
// in its event's details and hands `refused` to its guard.
using PolicyChange = std::function<Status(store::Transaction&, audit::Event&,
                                          policy::path_policies::GrantRefusal& refused)>;

// Runs a policy change with its record, then drops the tenant's cached rules. A change that fails
// is undone and its event dropped. When it gave what its author does not hold (grant_not_held),
// the refusal the pipeline records carries what the change tried (the details it gave its event,
// checked by the store change, which ran before the guard refused) and the pattern and the
// capabilities its author lacks there. Other failures are recorded bare: a change refused before
// it ran (owner_required) or by the store (a member not found) never checked what it was given.
Status CommitPolicyChange(const PolicyRouteDeps& d, RequestContext& ctx, std::string resource,
                          const PolicyChange& change) {
  audit::Event e = stages::LedgerAuditStage::EventFor(ctx, 200, Status::Ok());
  e.resource = std::move(resource);
  policy::path_policies::GrantRefusal refused;
  std::vector<std::pair<std::string, audit::DetailValue>> attempted;
  const Status s = CommitRecorded(*d.writer, ctx,
      [&](store::Transaction& tx, audit::Event& ev) -> Status {
        const std::size_t own = ev.details.size();
        Status st = change(tx, ev, refused);
        if (!st.ok() && ev.details.size() >= own) {
          attempted.assign(ev.details.begin() + static_cast<std::ptrdiff_t>(own), ev.details.end());
        }
        return st;
      },
      std::move(e));
  if (!s.ok()) {
    if (s.reason() == "grant_not_held" && !refused.pattern.empty()) {
      ctx.audit_details.insert(ctx.audit_details.end(), attempted.begin(), attempted.end());
      ctx.audit_details.emplace_back("pattern", refused.pattern);
      ctx.audit_details.emplace_back("missing", refused.missing);
    }
    return s;
  }
  d.path_access->InvalidateTenant(ctx.principal.tenant_id);
  return Status::Ok();
}

StatusOr<Reply> ListPolicies(const PolicyRouteDeps& d, RequestContext& ctx) {
  BULWARK_ASSIGN_OR_RETURN(auto tx, d.store->Begin(store::TxMode::kRead));
  BULWARK_ASSIGN_OR_RETURN(auto list, policy::path_policies::List(*tx, ctx.principal.tenant_id));
  json::array out;
  for (const auto& p : list) out.push_back(PolicyJson(p));
  return Reply{.body = json::serialize(json::object{{"policies", std::move(out)}})};
}

StatusOr<Reply> GetPolicy(const PolicyRouteDeps& d, RequestContext& ctx) {
  BULWARK_ASSIGN_OR_RETURN(auto tx, d.store->Begin(store::TxMode::kRead));
  BULWARK_ASSIGN_OR_RETURN(
      auto p, policy::path_policies::Get(*tx, ctx.principal.tenant_id, ctx.param("name")));
  return Reply{.body = json::serialize(PolicyJson(p))};
}

StatusOr<Reply> PutPolicy(const PolicyRouteDeps& d, RequestContext& ctx) {
  BULWARK_RETURN_IF_ERROR(Ready(d));
  BULWARK_RETURN_IF_ERROR(policy::ValidatePolicyName(ctx.param("name")));
  BULWARK_ASSIGN_OR_RETURN(auto rules, RulesFromBody(ctx));
  bool created = false;
  const std::string name(ctx.param("name"));
  BULWARK_RETURN_IF_ERROR(CommitPolicyChange(
      d, ctx, "policy:" + name,
      [&](store::Transaction& tx, audit::Event& ev,
          policy::path_policies::GrantRefusal& refused) -> Status {
        std::vector<std::string> summary;
        for (const auto& r : rules) {
          summary.push_back(r.pattern + "=" +
                            core::JoinList(policy::CapabilityNames(r.capabilities), '|'));
        }
        ev.details.emplace_back("rules", core::JoinList(summary, ' '));
        return policy::path_policies::GuardPolicyChange(
            tx, ctx.principal.tenant_id, ctx.principal, name,
            [&]() -> Status {
              BULWARK_ASSIGN_OR_RETURN(
                  created, policy::path_policies::Put(tx, ctx.principal.tenant_id, name, rules,
                                                      ctx.principal.id, core::NowUnixSeconds()));
              return Status::Ok();
            },
            &refused);
      }));
  BULWARK_ASSIGN_OR_RETURN(auto tx, d.store->Begin(store::TxMode::kRead));
  BULWARK_ASSIGN_OR_RETURN(auto p, policy::path_policies::Get(*tx, ctx.principal.tenant_id, name));
  return Reply{.status = created ? 201u : 200u, .body = json::serialize(PolicyJson(p))};
}

StatusOr<Reply> DeletePolicy(const PolicyRouteDeps& d, RequestContext& ctx) {
  BULWARK_RETURN_IF_ERROR(Ready(d));
  const std::string name(ctx.param("name"));
  BULWARK_RETURN_IF_ERROR(CommitPolicyChange(
      d, ctx, "policy:" + name,
      [&](store::Transaction& tx, audit::Event&,
          policy::path_policies::GrantRefusal& refused) -> Status {
        return policy::path_policies::GuardPolicyChange(
            tx, ctx.principal.tenant_id, ctx.principal, name,
            [&] { return policy::path_policies::Delete(tx, ctx.principal.tenant_id, name); },
            &refused);
      }));
  return Reply{.status = 204};
}

StatusOr<policy::Attachment> SubjectParam(const RequestContext& ctx) {
  const auto kind = policy::ParseSubjectKind(ctx.param("kind"));
  if (!kind) {
    return Status::InvalidArgument("invalid_subject", "attach to a user, api_key or group");
  }
  const std::string_view id = ctx.param("id");
  if (id.empty() || id.size() > 128) {
    return Status::InvalidArgument("invalid_subject", "the subject id is 1-128 characters");
  }
  return policy::Attachment{*kind, std::string(id)};
}

StatusOr<Reply> Attach(const PolicyRouteDeps& d, RequestContext& ctx) {
  BULWARK_RETURN_IF_ERROR(Ready(d));
  BULWARK_ASSIGN_OR_RETURN(auto subject, SubjectParam(ctx));
  const std::string name(ctx.param("name"));
  BULWARK_RETURN_IF_ERROR(CommitPolicyChange(
      d, ctx, "policy:" + name,
      [&](store::Transaction& tx, audit::Event& ev,
          policy::path_policies::GrantRefusal& refused) -> Status {
        ev.details.emplace_back(
            "subject", std::string(policy::SubjectKindName(subject.kind)) + ":" + subject.id);
        return policy::path_policies::GuardAttachmentChange(
            tx, ctx.principal.tenant_id, ctx.principal, subject,
            [&] {
              return policy::path_policies::Attach(tx, ctx.principal.tenant_id, name, subject,
                                                   ctx.principal.id, core::NowUnixSeconds())
                  .status();
            },
            &refused);
      }));
  return Reply{.status = 204};
}

StatusOr<Reply> Detach(const PolicyRouteDeps& d, RequestContext& ctx) {
  BULWARK_RETURN_IF_ERROR(Ready(d));
  BULWARK_ASSIGN_OR_RETURN(auto subject, SubjectParam(ctx));
  const std::string name(ctx.param("name"));
  BULWARK_RETURN_IF_ERROR(CommitPolicyChange(
      d, ctx, "policy:" + name,
      [&](store::Transaction& tx, audit::Event& ev,
          policy::path_policies::GrantRefusal& refused) -> Status {
        ev.details.emplace_back(
            "subject", std::string(policy::SubjectKindName(subject.kind)) + ":" + subject.id);
        return policy::path_policies::GuardAttachmentChange(
            tx, ctx.principal.tenant_id, ctx.principal, subject,
            [&]() -> Status {
              BULWARK_ASSIGN_OR_RETURN(
                  bool detached,
                  policy::path_policies::Detach(tx, ctx.principal.tenant_id, name, subject));
              if (!detached) {
                return Status::NotFound("attachment_not_found", "the policy is not attached to it");
              }
              return Status::Ok();
            },
            &refused);
      }));
  return Reply{.status = 204};
}

StatusOr<Reply> ListGroups(const PolicyRouteDeps& d, RequestContext& ctx) {
  BULWARK_ASSIGN_OR_RETURN(auto tx, d.store->Begin(store::TxMode::kRead));
  BULWARK_ASSIGN_OR_RETURN(auto groups,
                           policy::path_policies::ListGroups(*tx, ctx.principal.tenant_id));
  json::array out;
  for (const auto& g : groups) {
    json::array members;
    for (const auto& m : g.members) members.emplace_back(m);
    out.push_back(json::object{
        {"name", g.name}, {"created_at", g.created_at}, {"members", std::move(members)}});
  }
  return Reply{.body = json::serialize(json::object{{"groups", std::move(out)}})};
}

StatusOr<Reply> PutGroup(const PolicyRouteDeps& d, RequestContext& ctx) {
  BULWARK_RETURN_IF_ERROR(Ready(d));
  BULWARK_RETURN_IF_ERROR(policy::ValidatePolicyName(ctx.param("name")));
  BULWARK_ASSIGN_OR_RETURN(
      JsonFields body, JsonBody(ctx, {{.name = "members", .kind = FieldSpec::Kind::kStringArray}}));
  const std::vector<std::string> members = body.Strings("members");
  const std::string name(ctx.param("name"));
  bool created = false;
  BULWARK_RETURN_IF_ERROR(CommitPolicyChange(
      d, ctx, "group:" + name,
      [&](store::Transaction& tx, audit::Event& ev,
          policy::path_policies::GrantRefusal& refused) -> Status {
        ev.details.emplace_back("members", core::JoinList(members, ' '));
        return policy::path_policies::GuardGroupChange(
            tx, ctx.principal.tenant_id, ctx.principal, name, &members,
            [&]() -> Status {
              BULWARK_ASSIGN_OR_RETURN(
                  created, policy::path_policies::PutGroup(tx, ctx.principal.tenant_id, name,
                                                           members, core::NowUnixSeconds()));
              return Status::Ok();
            },
            &refused);
      }));
  return Reply{.status = created ? 201u : 204u};
}

StatusOr<Reply> DeleteGroup(const PolicyRouteDeps& d, RequestContext& ctx) {
  BULWARK_RETURN_IF_ERROR(Ready(d));
  const std::string name(ctx.param("name"));
  BULWARK_RETURN_IF_ERROR(CommitPolicyChange(
      d, ctx, "group:" + name,
      [&](store::Transaction& tx, audit::Event&,
          policy::path_policies::GrantRefusal& refused) -> Status {
        return policy::path_policies::GuardGroupChange(
            tx, ctx.principal.tenant_id, ctx.principal, name, nullptr,
            [&] { return policy::path_policies::DeleteGroup(tx, ctx.principal.tenant_id, name); },
            &refused);
      }));
  return Reply{.status = 204};
}

}  // namespace

Status AddPolicyRoutes(http::Router& router, PolicyRouteDeps deps) {
  using H = RouteFn<PolicyRouteDeps>;
  struct Def {
    Verb method;
    const char* pattern;
    const char* permission;
    bool change;  // a change: MFA step-up, recorded
    bool body;
    const char* action;
    const char* summary;
    H handler;
  };
  const Def defs[] = {
      {Verb::get, "/api/v1/policies", "policies.read", false, false, "",
       "The tenant's path policies with their rules and attachments.", ListPolicies},
      {Verb::get, "/api/v1/policies/{name}", "policies.read", false, false, "policy.read",
       "One path policy.", GetPolicy},
      {Verb::put, "/api/v1/policies/{name}", "policies.update", true, true, "policy.write",
       "Create or replace a path policy: rules of path patterns and capabilities (MFA step-up).",
       PutPolicy},
      {Verb::delete_, "/api/v1/policies/{name}", "policies.update", true, false, "policy.delete",
       "Delete a path policy and its attachments (MFA step-up).", DeletePolicy},
      {Verb::put, "/api/v1/policies/{name}/attachments/{kind}/{id}", "policies.update", true, false,
       "policy.attach",
       "Attach a policy to a member (user), an API key (api_key) or a group (MFA step-up).",
       Attach},
      {Verb::delete_, "/api/v1/policies/{name}/attachments/{kind}/{id}", "policies.update", true,
       false, "policy.detach", "Detach a policy (MFA step-up).", Detach},
      {Verb::get, "/api/v1/groups", "policies.read", false, false, "",
       "The tenant's groups of members (policies attach to groups).", ListGroups},
      {Verb::put, "/api/v1/groups/{name}", "policies.update", true, true, "group.write",
       "Create a group or replace its members ({\"members\": [user ids]}) (MFA step-up).",
       PutGroup},
      {Verb::delete_, "/api/v1/groups/{name}", "policies.update", true, false, "group.delete",
       "Delete a group and its attachments (MFA step-up).", DeleteGroup},
  };
  for (const Def& def : defs) {
    BULWARK_RETURN_IF_ERROR(router.Add({
        .method = def.method,
        .pattern = def.pattern,
        .auth = def.change ? AuthDecision::kSession : AuthDecision::kEither,
        .permission = def.permission,
        .tenant_scoped = true,
        .mfa_step_up = def.change,
        .body = def.body ? BodyKind::kJson : BodyKind::kNone,
        .max_body_bytes = def.body ? kPolicyBody : 0,
        .audit_action = def.action,
        .summary = def.summary,
        .handler = Bind(deps, def.handler),
    }));
  }
  return Status::Ok();
}

}  // namespace bulwark::api

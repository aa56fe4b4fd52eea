#include "policy/path_policy_store.h"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <map>
#include <set>

#include "core/text_list.h"
#include "policy/secret_path.h"

namespace bulwark::policy {
namespace {

using store::Value;
namespace json = boost::json;

Value Text(std::string_view s) { return Value::Text(std::string(s)); }

Status PolicyNotFound() { return Status::NotFound("policy_not_found", "no such policy"); }
Status GroupNotFound() { return Status::NotFound("group_not_found", "no such group"); }
Status SubjectNotFound() {
  return Status::NotFound("subject_not_found", "no such member, API key or group in this tenant");
}

std::string EncodeRules(const std::vector<PathRule>& rules) {
  json::array a;
  for (const PathRule& r : rules) {
    json::array caps;
    for (const auto& c : CapabilityNames(r.capabilities)) caps.emplace_back(c);
    a.push_back(json::object{{"path", r.pattern}, {"capabilities", std::move(caps)}});
  }
  return json::serialize(a);
}

// Rules are stored only after ParsePathRule accepted them; a row that does not parse back was
// altered outside Bulwark.
StatusOr<std::vector<PathRule>> DecodeRules(const std::string& text) {
  const auto bad = [] { return Status::Integrity("a stored path policy is malformed"); };
  boost::system::error_code ec;
  const json::value v = json::parse(text, ec);
  if (ec || !v.is_array()) return bad();
  std::vector<PathRule> out;
  for (const json::value& item : v.as_array()) {
    const json::object* o = item.if_object();
    if (o == nullptr || !o->contains("path") || !o->at("path").is_string() ||
        !o->contains("capabilities") || !o->at("capabilities").is_array()) {
      return bad();
    }
    std::vector<std::string> caps;
    for (const json::value& c : o->at("capabilities").as_array()) {
      if (!c.is_string()) return bad();
      caps.emplace_back(c.as_string());
    }
    auto rule = ParsePathRule(std::string_view(o->at("path").as_string()), caps);
    if (!rule.ok()) return bad();
    out.push_back(std::move(*rule));
  }
  return out;
}

// `sql` selects with exactly two parameters.
StatusOr<bool> Exists(store::Transaction& tx, std::string_view sql, std::string_view a,
                      std::string_view b) {
  BULWARK_ASSIGN_OR_RETURN(auto rows, tx.Query(sql, {Text(a), Text(b)}));
  return !rows.empty();
}

StatusOr<bool> PolicyExists(store::Transaction& tx, std::string_view tenant,
                            std::string_view name) {
  return Exists(tx, "SELECT 1 FROM path_policies WHERE tenant_id = ? AND name = ?", tenant, name);
}

StatusOr<bool> IsMember(store::Transaction& tx, std::string_view tenant, std::string_view user) {
  return Exists(tx, "SELECT 1 FROM memberships WHERE tenant_id = ? AND user_id = ?", tenant, user);
}

StatusOr<bool> SubjectExists(store::Transaction& tx, std::string_view tenant, const Attachment& s) {
  switch (s.kind) {
    case SubjectKind::kUser:
      return IsMember(tx, tenant, s.id);
    case SubjectKind::kApiKey:
      return Exists(tx,
                    "SELECT 1 FROM api_keys WHERE tenant_id = ? AND id = ? AND revoked_at IS NULL",
                    tenant, s.id);
    case SubjectKind::kGroup:
      return Exists(tx, "SELECT 1 FROM member_groups WHERE tenant_id = ? AND name = ?", tenant,
                    s.id);
  }
  return false;
}

StatusOr<std::vector<Attachment>> AttachmentsOf(store::Transaction& tx, std::string_view tenant,
                                                std::string_view name) {
  BULWARK_ASSIGN_OR_RETURN(
      auto rows, tx.Query("SELECT subject_kind, subject_id FROM policy_attachments "
                          "WHERE tenant_id = ? AND policy_name = ? ORDER BY subject_kind, "
                          "subject_id",
                          {Text(tenant), Text(name)}));
  std::vector<Attachment> out;
  for (const auto& r : rows) {
    const auto kind = ParseSubjectKind(r[0].as_text());
    if (!kind) return Status::Integrity("a policy attachment is malformed");
    out.push_back({*kind, r[1].as_text()});
  }
  return out;
}

StatusOr<PolicyInfo> PolicyFromRow(store::Transaction& tx, std::string_view tenant,
                                   const store::Row& r) {
  PolicyInfo p{.name = r[0].as_text(),
               .created_at = r[2].as_int(),
               .updated_at = r[3].as_int(),
               .updated_by = r[4].as_text()};
  BULWARK_ASSIGN_OR_RETURN(p.rules, DecodeRules(r[1].as_text()));
  BULWARK_ASSIGN_OR_RETURN(p.attachments, AttachmentsOf(tx, tenant, p.name));
  return p;
}

constexpr std::string_view kPolicyColumns =
    "SELECT name, rules, created_at, updated_at, updated_by FROM path_policies ";

}  // namespace

std::string_view SubjectKindName(SubjectKind kind) {
  switch (kind) {
    case SubjectKind::kUser:
      return "user";
    case SubjectKind::kApiKey:
      return "api_key";
    case SubjectKind::kGroup:
      return "group";
  }
  return "user";
}

std::optional<SubjectKind> ParseSubjectKind(std::string_view name) {
  for (SubjectKind k : {SubjectKind::kUser, SubjectKind::kApiKey, SubjectKind::kGroup}) {
    if (SubjectKindName(k) == name) return k;
  }
  return std::nullopt;
}

Status ValidatePolicyName(std::string_view name) {
  if (name.empty() || name.size() > 64 ||
      !std::all_of(name.begin(), name.end(), policy::IsSegmentChar) || name == "." ||
      name == "..") {
    return Status::InvalidArgument("invalid_name", "a name is 1-64 of [A-Za-z0-9._-]");
  }
  return Status::Ok();
}

namespace path_policies {

StatusOr<bool> Put(store::Transaction& tx, std::string_view tenant, std::string_view name,
                   const std::vector<PathRule>& rules, std::string_view actor, std::int64_t now) {
  BULWARK_RETURN_IF_ERROR(ValidatePolicyName(name));
  if (rules.empty() || rules.size() > kMaxRulesPerPolicy) {
    return Status::InvalidArgument("invalid_rules", "a policy has 1 to 256 rules");
  }
  BULWARK_ASSIGN_OR_RETURN(bool exists, PolicyExists(tx, tenant, name));
  const std::string encoded = EncodeRules(rules);
  if (exists) {
    BULWARK_RETURN_IF_ERROR(
        tx.Exec("UPDATE path_policies SET rules = ?, updated_at = ?, updated_by = ? "
                "WHERE tenant_id = ? AND name = ?",
                {Value::Text(encoded), Value::Int(now), Text(actor), Text(tenant), Text(name)})
            .status());
    return false;
  }
  BULWARK_RETURN_IF_ERROR(
      tx.Exec("INSERT INTO path_policies (tenant_id, name, rules, created_at, updated_at, "
              "updated_by) VALUES (?, ?, ?, ?, ?, ?)",
              {Text(tenant), Text(name), Value::Text(encoded), Value::Int(now), Value::Int(now),
               Text(actor)})
          .status());
  return true;
}

StatusOr<PolicyInfo> Get(store::Transaction& tx, std::string_view tenant, std::string_view name) {
  BULWARK_RETURN_IF_ERROR(ValidatePolicyName(name));
  BULWARK_ASSIGN_OR_RETURN(
      auto rows, tx.Query(std::string(kPolicyColumns) + "WHERE tenant_id = ? AND name = ?",
                          {Text(tenant), Text(name)}));
  if (rows.empty()) return PolicyNotFound();
  return PolicyFromRow(tx, tenant, rows[0]);
}

StatusOr<std::vector<PolicyInfo>> List(store::Transaction& tx, std::string_view tenant) {
  BULWARK_ASSIGN_OR_RETURN(
      auto rows,
      tx.Query(std::string(kPolicyColumns) + "WHERE tenant_id = ? ORDER BY name", {Text(tenant)}));
  std::vector<PolicyInfo> out;
  for (const auto& r : rows) {
    BULWARK_ASSIGN_OR_RETURN(PolicyInfo p, PolicyFromRow(tx, tenant, r));
    out.push_back(std::move(p));
  }
  return out;
}

Status Delete(store::Transaction& tx, std::string_view tenant, std::string_view name) {
  BULWARK_RETURN_IF_ERROR(ValidatePolicyName(name));
  BULWARK_ASSIGN_OR_RETURN(bool exists, PolicyExists(tx, tenant, name));
  if (!exists) return PolicyNotFound();
  BULWARK_RETURN_IF_ERROR(
      tx.Exec("DELETE FROM policy_attachments WHERE tenant_id = ? AND policy_name = ?",
              {Text(tenant), Text(name)})
          .status());
  return tx
      .Exec("DELETE FROM path_policies WHERE tenant_id = ? AND name = ?",
            {Text(tenant), Text(name)})
      .status();
}

StatusOr<bool> Attach(store::Transaction& tx, std::string_view tenant, std::string_view name,
                      const Attachment& subject, std::string_view actor, std::int64_t now) {
  BULWARK_RETURN_IF_ERROR(ValidatePolicyName(name));
  BULWARK_ASSIGN_OR_RETURN(bool exists, PolicyExists(tx, tenant, name));
  if (!exists) return PolicyNotFound();
  BULWARK_ASSIGN_OR_RETURN(bool subject_exists, SubjectExists(tx, tenant, subject));
  if (!subject_exists) return SubjectNotFound();
  BULWARK_ASSIGN_OR_RETURN(
      std::int64_t n,
      tx.Exec("INSERT INTO policy_attachments (tenant_id, policy_name, subject_kind, subject_id, "
              "attached_at, attached_by) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
              {Text(tenant), Text(name), Text(SubjectKindName(subject.kind)), Text(subject.id),
               Value::Int(now), Text(actor)}));
  return n > 0;
}

StatusOr<bool> Detach(store::Transaction& tx, std::string_view tenant, std::string_view name,
                      const Attachment& subject) {
  BULWARK_RETURN_IF_ERROR(ValidatePolicyName(name));
  BULWARK_ASSIGN_OR_RETURN(bool exists, PolicyExists(tx, tenant, name));
  if (!exists) return PolicyNotFound();
  BULWARK_ASSIGN_OR_RETURN(
      std::int64_t n,
      tx.Exec("DELETE FROM policy_attachments WHERE tenant_id = ? AND policy_name = ? AND "
              "subject_kind = ? AND subject_id = ?",
              {Text(tenant), Text(name), Text(SubjectKindName(subject.kind)), Text(subject.id)}));
  return n > 0;
}

StatusOr<bool> PutGroup(store::Transaction& tx, std::string_view tenant, std::string_view name,
                        const std::vector<std::string>& members, std::int64_t now) {
  BULWARK_RETURN_IF_ERROR(ValidatePolicyName(name));
  const std::set<std::string> unique(members.begin(), members.end());
  if (unique.size() > kMaxGroupMembers) {
    return Status::InvalidArgument("too_many_members", "a group has at most 256 members");
  }
  for (const auto& user : unique) {
    BULWARK_ASSIGN_OR_RETURN(bool member, IsMember(tx, tenant, user));
    if (!member) return SubjectNotFound();
  }
  BULWARK_ASSIGN_OR_RETURN(
      bool exists,
      Exists(tx, "SELECT 1 FROM member_groups WHERE tenant_id = ? AND name = ?", tenant, name));
  if (!exists) {
    BULWARK_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO member_groups (tenant_id, name, created_at) VALUES (?, ?, ?)",
                {Text(tenant), Text(name), Value::Int(now)})
            .status());
  }
  BULWARK_RETURN_IF_ERROR(
      tx.Exec("DELETE FROM group_members WHERE tenant_id = ? AND group_name = ?",
              {Text(tenant), Text(name)})
          .status());
  for (const auto& user : unique) {
    BULWARK_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO group_members (tenant_id, group_name, user_id) VALUES (?, ?, ?)",
                {Text(tenant), Text(name), Text(user)})
            .status());
  }
  return !exists;
}

Status DeleteGroup(store::Transaction& tx, std::string_view tenant, std::string_view name) {
  BULWARK_RETURN_IF_ERROR(ValidatePolicyName(name));
  BULWARK_ASSIGN_OR_RETURN(
      bool exists,
      Exists(tx, "SELECT 1 FROM member_groups WHERE tenant_id = ? AND name = ?", tenant, name));
  if (!exists) return GroupNotFound();
  BULWARK_RETURN_IF_ERROR(
      tx.Exec("DELETE FROM policy_attachments WHERE tenant_id = ? AND subject_kind = 'group' AND "
              "subject_id = ?",
              {Text(tenant), Text(name)})
          .status());
  BULWARK_RETURN_IF_ERROR(
      tx.Exec("DELETE FROM group_members WHERE tenant_id = ? AND group_name = ?",
              {Text(tenant), Text(name)})
          .status());
  return tx
      .Exec("DELETE FROM member_groups WHERE tenant_id = ? AND name = ?",
            {Text(tenant), Text(name)})
      .status();
}

StatusOr<std::vector<GroupInfo>> ListGroups(store::Transaction& tx, std::string_view tenant) {
  BULWARK_ASSIGN_OR_RETURN(
      auto rows,
      tx.Query("SELECT name, created_at FROM member_groups WHERE tenant_id = ? ORDER BY name",
               {Text(tenant)}));
  std::vector<GroupInfo> out;
  for (const auto& r : rows) out.push_back({.name = r[0].as_text(), .created_at = r[1].as_int()});
  BULWARK_ASSIGN_OR_RETURN(
      auto members, tx.Query("SELECT group_name, user_id FROM group_members WHERE tenant_id = ? "
                             "ORDER BY group_name, user_id",
                             {Text(tenant)}));
  for (const auto& m : members) {
    for (auto& g : out) {
      if (g.name == m[0].as_text()) g.members.push_back(m[1].as_text());
    }
  }
  return out;
}

namespace {

// The policies attached to a subject, directly or (for a user) through its groups: name, rules.
StatusOr<store::Rows> AttachedPolicies(store::Transaction& tx, std::string_view tenant,
                                       SubjectKind kind, std::string_view id) {
  constexpr std::string_view kDirect =
      "SELECT p.name, p.rules FROM path_policies p JOIN policy_attachments a "
      "ON a.tenant_id = p.tenant_id AND a.policy_name = p.name "
      "WHERE p.tenant_id = ? AND a.subject_kind = ? AND a.subject_id = ?";
  if (kind != SubjectKind::kUser) {
    return tx.Query(std::string(kDirect) + " ORDER BY 1",
                    {Text(tenant), Text(SubjectKindName(kind)), Text(id)});
  }
  return tx.Query(
      std::string(kDirect) +
          " UNION SELECT p.name, p.rules FROM path_policies p JOIN policy_attachments a "
          "ON a.tenant_id = p.tenant_id AND a.policy_name = p.name "
          "JOIN group_members g ON g.tenant_id = a.tenant_id AND g.group_name = a.subject_id "
          "WHERE p.tenant_id = ? AND a.subject_kind = 'group' AND g.user_id = ? ORDER BY 1",
      {Text(tenant), Text(SubjectKindName(kind)), Text(id), Text(tenant), Text(id)});
}

}  // namespace

StatusOr<std::vector<std::string>> PolicyNamesFor(store::Transaction& tx, std::string_view tenant,
                                                  SubjectKind kind, std::string_view id) {
  BULWARK_ASSIGN_OR_RETURN(auto rows, AttachedPolicies(tx, tenant, kind, id));
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(r[0].as_text());
  return out;
}

StatusOr<std::vector<PathRule>> RulesFor(store::Transaction& tx, std::string_view tenant,
                                         SubjectKind kind, std::string_view id) {
  BULWARK_ASSIGN_OR_RETURN(auto rows, AttachedPolicies(tx, tenant, kind, id));
  std::vector<PathRule> out;
  for (const auto& r : rows) {
    BULWARK_ASSIGN_OR_RETURN(auto rules, DecodeRules(r[1].as_text()));
    out.insert(out.end(), std::make_move_iterator(rules.begin()),
               std::make_move_iterator(rules.end()));
  }
  return out;
}

Status ForgetMember(store::Transaction& tx, std::string_view tenant, std::string_view user_id) {
  BULWARK_RETURN_IF_ERROR(
      tx.Exec("DELETE FROM policy_attachments WHERE tenant_id = ? AND subject_kind = 'api_key' "
              "AND subject_id IN (SELECT id FROM api_keys WHERE tenant_id = ? AND created_by = ?)",
              {Text(tenant), Text(tenant), Text(user_id)})
          .status());
  BULWARK_RETURN_IF_ERROR(
      tx.Exec("DELETE FROM policy_attachments WHERE tenant_id = ? AND subject_kind = 'user' AND "
              "subject_id = ?",
              {Text(tenant), Text(user_id)})
          .status());
  return tx
      .Exec("DELETE FROM group_members WHERE tenant_id = ? AND user_id = ?",
            {Text(tenant), Text(user_id)})
      .status();
}

namespace {

enum class Standing { kOwner, kMember, kGone };

// The actor's role now, in the change's transaction (not the one its session cached).
StatusOr<Standing> StandingOf(store::Transaction& tx, std::string_view tenant,
                              const core::Principal& actor) {
  // Only a signed-in member reaches these routes (they take a step-up, which API keys cannot).
  if (actor.kind != core::Principal::Kind::kUser) return Standing::kGone;
  BULWARK_ASSIGN_OR_RETURN(
      auto role, tx.Query("SELECT role FROM memberships WHERE tenant_id = ? AND user_id = ?",
                          {Text(tenant), Text(actor.id)}));
  if (role.empty()) return Standing::kGone;  // removed since the request was authorized
  return role[0][0].as_text() == "owner" ? Standing::kOwner : Standing::kMember;
}

Status OwnerRequired() {
  return Status::PermissionDenied(
      "owner_required",
      "only an owner may change path policies that reach the caller's own account, API keys or "
      "groups");
}

// True if one of `subjects` is `user`, a key it made or a group it is in, or `user` is joining.
StatusOr<bool> ReachesSelf(store::Transaction& tx, std::string_view tenant, const std::string& user,
                           const std::vector<Attachment>& subjects,
                           const std::vector<std::string>& joining) {
  if (std::find(joining.begin(), joining.end(), user) != joining.end()) return true;
  for (const Attachment& s : subjects) {
    if (s.kind == SubjectKind::kUser) {
      if (s.id == user) return true;
      continue;
    }
    const std::string_view sql =
        s.kind == SubjectKind::kApiKey
            ? "SELECT 1 FROM api_keys WHERE tenant_id = ? AND id = ? AND created_by = ?"
            : "SELECT 1 FROM group_members WHERE tenant_id = ? AND group_name = ? AND user_id = ?";
    BULWARK_ASSIGN_OR_RETURN(auto rows, tx.Query(sql, {Text(tenant), Text(s.id), Text(user)}));
    if (!rows.empty()) return true;
  }
  return false;
}

using Holder = std::pair<SubjectKind, std::string>;

// Who holds which policies in a tenant, read with a fixed number of queries however many members
// and groups a change reaches (it runs under the writers' lock): every attachment, every group
// membership, and each policy's stored rules, decoded only when asked for.
struct AccessSnapshot {
  std::map<Holder, std::set<std::string>> attached;           // subject -> policy names
  std::map<std::string, std::vector<std::string>> groups_of;  // user id -> group names
  std::map<std::string, std::string, std::less<>> stored;     // policy name -> rules (JSON)
  std::map<std::string, std::vector<PathRule>, std::less<>> decoded;

  // The names of the policies that apply to `h` (a user's include its groups'): what
  // AttachedPolicies asks the store, answered from the snapshot.
  std::set<std::string> NamesFor(const Holder& h) const {
    std::set<std::string> names;
    const auto add = [&](const Holder& s) {
      const auto it = attached.find(s);
      if (it != attached.end()) names.insert(it->second.begin(), it->second.end());
    };
    add(h);
    if (h.first == SubjectKind::kUser) {
      const auto g = groups_of.find(h.second);
      if (g != groups_of.end()) {
        for (const auto& group : g->second) add({SubjectKind::kGroup, group});
      }
    }
    return names;
  }

  StatusOr<std::vector<PathRule>> RulesOf(const std::set<std::string>& names) {
    std::vector<PathRule> out;
    for (const auto& name : names) {
      auto it = decoded.find(name);
      if (it == decoded.end()) {
        const auto text = stored.find(name);
        if (text == stored.end()) return Status::Integrity("a policy attachment has no policy");
        BULWARK_ASSIGN_OR_RETURN(auto rules, DecodeRules(text->second));
        it = decoded.emplace(name, std::move(rules)).first;
      }
      out.insert(out.end(), it->second.begin(), it->second.end());
    }
    return out;
  }
};

StatusOr<AccessSnapshot> TakeSnapshot(store::Transaction& tx, std::string_view tenant) {
  AccessSnapshot snap;
  BULWARK_ASSIGN_OR_RETURN(
      auto attachments,
      tx.Query("SELECT subject_kind, subject_id, policy_name FROM policy_attachments "
               "WHERE tenant_id = ?",
               {Text(tenant)}));
  for (const auto& r : attachments) {
    const auto kind = ParseSubjectKind(r[0].as_text());
    if (!kind) return Status::Integrity("a policy attachment is malformed");
    snap.attached[{*kind, r[1].as_text()}].insert(r[2].as_text());
  }
  BULWARK_ASSIGN_OR_RETURN(
      auto members, tx.Query("SELECT user_id, group_name FROM group_members WHERE tenant_id = ?",
                             {Text(tenant)}));
  for (const auto& r : members) snap.groups_of[r[0].as_text()].push_back(r[1].as_text());
  BULWARK_ASSIGN_OR_RETURN(
      auto policies,
      tx.Query("SELECT name, rules FROM path_policies WHERE tenant_id = ?", {Text(tenant)}));
  for (const auto& r : policies) snap.stored.emplace(r[0].as_text(), r[1].as_text());
  return snap;
}

// The members, API keys and groups whose path access a change of `subjects` (and `joining`) can
// alter: a group stands for its members, and for itself, so that nothing is staged on an empty
// group that an owner's later "add this member" would hand out unseen.
std::set<Holder> Holders(const AccessSnapshot& snap, const std::vector<Attachment>& subjects,
                         const std::vector<std::string>& joining) {
  std::set<Holder> out;
  for (const Attachment& s : subjects) {
    out.emplace(s.kind, s.id);
    if (s.kind != SubjectKind::kGroup) continue;
    for (const auto& [user, groups] : snap.groups_of) {
      if (std::find(groups.begin(), groups.end(), s.id) != groups.end()) {
        out.emplace(SubjectKind::kUser, user);
      }
    }
  }
  for (const auto& u : joining) out.emplace(SubjectKind::kUser, u);
  return out;
}

Status Guarded(store::Transaction& tx, std::string_view tenant, const core::Principal& actor,
               const std::vector<Attachment>& subjects, const std::vector<std::string>& joining,
               const StoreChange& change, GrantRefusal* refused) {
  BULWARK_ASSIGN_OR_RETURN(const Standing standing, StandingOf(tx, tenant, actor));
  if (standing == Standing::kOwner) return change();
  if (standing == Standing::kGone) return OwnerRequired();
  BULWARK_ASSIGN_OR_RETURN(bool self, ReachesSelf(tx, tenant, actor.id, subjects, joining));
  if (self) return OwnerRequired();

  BULWARK_ASSIGN_OR_RETURN(AccessSnapshot before, TakeSnapshot(tx, tenant));
  BULWARK_ASSIGN_OR_RETURN(const auto own,
                           before.RulesOf(before.NamesFor({SubjectKind::kUser, actor.id})));
  const std::set<Holder> holders = Holders(before, subjects, joining);
  BULWARK_RETURN_IF_ERROR(change());
  BULWARK_ASSIGN_OR_RETURN(AccessSnapshot after, TakeSnapshot(tx, tenant));
  // Holders with the same policies before and after gain the same: compare each pair once.
  std::set<std::pair<std::set<std::string>, std::set<std::string>>> compared;
  std::map<std::string, std::uint8_t> gained;  // over all holders: each pattern checked once
  for (const Holder& h : holders) {
    auto names = std::make_pair(before.NamesFor(h), after.NamesFor(h));
    if (!compared.insert(names).second) continue;
    BULWARK_ASSIGN_OR_RETURN(const auto rules_before, before.RulesOf(names.first));
    BULWARK_ASSIGN_OR_RETURN(const auto rules_after, after.RulesOf(names.second));
    for (const PathRule& g : Gained(rules_before, rules_after)) {
      gained[g.pattern] |= g.capabilities;
    }
  }
  const HeldAccess held(own);
  for (const auto& [pattern, caps] : gained) {
    if (held.Holds(pattern, caps)) continue;
    std::uint8_t missing = 0;  // named in the refusal: the capabilities the caller lacks there
    for (std::uint8_t bit = kCapCreate; bit <= kCapList;
         bit = static_cast<std::uint8_t>(bit << 1)) {
      if ((caps & bit) != 0 && !held.Holds(pattern, bit)) missing |= bit;
    }
    GrantRefusal what{pattern, core::JoinList(CapabilityNames(missing), ',')};
    Status refusal = Status::PermissionDenied(
        "grant_not_held", "only an owner may give path access it does not hold itself: " +
                              what.missing + " on " + pattern);
    if (refused != nullptr) *refused = std::move(what);
    return refusal;
  }
  return Status::Ok();
}

}  // namespace

Status GuardPolicyChange(store::Transaction& tx, std::string_view tenant,
                         const core::Principal& actor, std::string_view name,
                         const StoreChange& change, GrantRefusal* refused) {
  BULWARK_ASSIGN_OR_RETURN(auto attached, AttachmentsOf(tx, tenant, name));
  return Guarded(tx, tenant, actor, attached, {}, change, refused);
}

Status GuardAttachmentChange(store::Transaction& tx, std::string_view tenant,
                             const core::Principal& actor, const Attachment& subject,
                             const StoreChange& change, GrantRefusal* refused) {
  return Guarded(tx, tenant, actor, {subject}, {}, change, refused);
}

Status GuardGroupChange(store::Transaction& tx, std::string_view tenant,
                        const core::Principal& actor, std::string_view name,
                        const std::vector<std::string>* members, const StoreChange& change,
                        GrantRefusal* refused) {
  static const std::vector<std::string> kNone;
  return Guarded(tx, tenant, actor, {Attachment{SubjectKind::kGroup, std::string(name)}},
                 members != nullptr ? *members : kNone, change, refused);
}

}  // namespace path_policies

bool UnderPrefix(std::string_view prefix, std::string_view path) {
  if (prefix.empty()) return false;
  if (prefix.back() == '/') return path.starts_with(prefix);
  return path == prefix || (path.starts_with(prefix) && path[prefix.size()] == '/');
}

StatusOr<std::shared_ptr<const std::vector<PathRule>>> PathAccess::Rules(const core::Principal& p) {
  SubjectKind kind;
  if (p.kind == core::Principal::Kind::kUser) {
    kind = SubjectKind::kUser;
  } else if (p.kind == core::Principal::Kind::kApiKey) {
    kind = SubjectKind::kApiKey;
  } else {
    return std::make_shared<const std::vector<PathRule>>();
  }
  std::string key = p.tenant_id;
  key += '\0';
  key += SubjectKindName(kind);
  key += '\0';
  key += p.id;
  const auto epoch = cache_.Epoch();
  if (auto hit = cache_.Find(key)) return hit->rules;
  auto tx = store_.Begin(store::TxMode::kRead);
  if (!tx.ok()) return Status::Unavailable("policy_unavailable", "path policies cannot be read");
  auto rules = path_policies::RulesFor(**tx, p.tenant_id, kind, p.id);
  if (!rules.ok()) {
    if (rules.status().code() == ErrorCode::kIntegrity) return rules.status();
    return Status::Unavailable("policy_unavailable", "path policies cannot be read");
  }
  auto shared = std::make_shared<const std::vector<PathRule>>(std::move(*rules));
  cache_.Insert(key, Entry{p.tenant_id, shared}, epoch);
  return shared;
}

std::uint8_t CapabilitiesOf(const std::vector<PathRule>& rules, const core::Principal& p,
                            std::string_view path) {
  std::uint8_t caps = Decide(rules, path);
  if (p.break_glass && UnderPrefix(p.breakglass_path_prefix, path)) {
    caps |= kCapCreate | kCapRead | kCapUpdate | kCapDelete | kCapList;
  }
  return caps;
}

StatusOr<std::uint8_t> PathAccess::Capabilities(const core::Principal& p, std::string_view path) {
  BULWARK_ASSIGN_OR_RETURN(auto rules, Rules(p));
  return CapabilitiesOf(*rules, p, path);
}

void PathAccess::InvalidateTenant(std::string_view tenant) {
  cache_.InvalidateIf([&](const Entry& e) { return e.tenant == tenant; });
}

}  // namespace bulwark::policy

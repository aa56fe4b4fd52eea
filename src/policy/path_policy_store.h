#pragma once
// Path policies as a tenant stores them: named policies of rules (policy/path_policy.h), attached
// to members, API keys and groups of members; and PathAccess, which answers "what may this
// principal do at this path" on every secret request from a per-process cache.
//
// A principal's rules are the rules of every policy attached to it; for a member also those of
// every group it belongs to. Nothing attached: nothing allowed. An open break-glass grant with a
// secret path prefix adds every capability under that prefix (its verbs still gate which
// operations the route allows).
//
//   BULWARK_ASSIGN_OR_RETURN(std::uint8_t caps, access.Capabilities(ctx.principal, path));
//   if ((caps & policy::kCapRead) == 0) -> 403 path_denied
//   ...
//   access.InvalidateTenant(tenant);   // after any policy, attachment or group change committed
//
// Every function below runs inside the caller's transaction. Names of policies and groups are
// 1..64 of [A-Za-z0-9._-]. Errors: kInvalidArgument "invalid_name"; kNotFound "policy_not_found",
// "group_not_found", "subject_not_found" (no such member, API key or group in this tenant:
// another tenant's ids are simply not found).
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/invalidated_cache.h"
#include "core/principal.h"
#include "core/status.h"
#include "policy/path_policy.h"
#include "store/store.h"

namespace bulwark::policy {

inline constexpr std::size_t kMaxRulesPerPolicy = 256;
inline constexpr std::size_t kMaxGroupMembers = 256;

enum class SubjectKind { kUser, kApiKey, kGroup };
// "user", "api_key", "group".
std::string_view SubjectKindName(SubjectKind kind);
std::optional<SubjectKind> ParseSubjectKind(std::string_view name);

struct Attachment {
  SubjectKind kind = SubjectKind::kUser;
  std::string id;  // user id, API key id or group name
};

struct PolicyInfo {
  std::string name;
  std::vector<PathRule> rules;
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
  std::string updated_by;
  std::vector<Attachment> attachments;
};

struct GroupInfo {
  std::string name;
  std::int64_t created_at = 0;
  std::vector<std::string> members;  // user ids, sorted
};

Status ValidatePolicyName(std::string_view name);

namespace path_policies {

// Creates or replaces the policy `name` (1..kMaxRulesPerPolicy rules). Returns true if created.
StatusOr<bool> Put(store::Transaction& tx, std::string_view tenant, std::string_view name,
                   const std::vector<PathRule>& rules, std::string_view actor, std::int64_t now);
StatusOr<PolicyInfo> Get(store::Transaction& tx, std::string_view tenant, std::string_view name);
// Sorted by name.
StatusOr<std::vector<PolicyInfo>> List(store::Transaction& tx, std::string_view tenant);
// Removes the policy and every attachment of it.
Status Delete(store::Transaction& tx, std::string_view tenant, std::string_view name);

// Attaches the policy to a member, an active API key or a group of this tenant. Attaching twice
// is not an error. Returns true if newly attached.
StatusOr<bool> Attach(store::Transaction& tx, std::string_view tenant, std::string_view name,
                      const Attachment& subject, std::string_view actor, std::int64_t now);
// Returns true if it was attached.
StatusOr<bool> Detach(store::Transaction& tx, std::string_view tenant, std::string_view name,
                      const Attachment& subject);

// Creates or replaces the group `name` with exactly `members` (user ids of current members,
// at most kMaxGroupMembers). Returns true if created.
StatusOr<bool> PutGroup(store::Transaction& tx, std::string_view tenant, std::string_view name,
                        const std::vector<std::string>& members, std::int64_t now);
// Removes the group, its membership and its attachments.
Status DeleteGroup(store::Transaction& tx, std::string_view tenant, std::string_view name);
StatusOr<std::vector<GroupInfo>> ListGroups(store::Transaction& tx, std::string_view tenant);

// The rules that apply to a subject (for a user, also through its groups).
StatusOr<std::vector<PathRule>> RulesFor(store::Transaction& tx, std::string_view tenant,
                                         SubjectKind kind, std::string_view id);

// The names of the policies that apply to a subject (for a user, also through its groups).
StatusOr<std::vector<std::string>> PolicyNamesFor(store::Transaction& tx, std::string_view tenant,
                                                  SubjectKind kind, std::string_view id);

// Drops a removed member's attachments (its own and its API keys') and group memberships.
Status ForgetMember(store::Transaction& tx, std::string_view tenant, std::string_view user_id);

// What a change refused with "grant_not_held" gave that its author does not hold (below).
struct GrantRefusal {
  std::string pattern;
  std::string missing;  // the capabilities the author lacks on `pattern`, as the refusal names
                        // them: "read,list"
};

// Path policies bind whoever may change them (`policies.update`). The three functions below
// wrap every change of policies, attachments and groups: each runs `change` (the store call, in
// the same transaction) only if the actor may make it, and keeps it only if it gives no one more
// than the actor holds. Owners may make any change. Anyone else:
//  - may not change what reaches its own path access: a policy attached to its account, to an
//    API key it made or to a group it is in, an attachment there, such a group, or a group change
//    that takes it in. kPermissionDenied "owner_required", before `change` runs.
//  - may not give anyone a capability on a path unless its own rules (attached to it directly or
//    through its groups; an open break-glass grant does not count) give that capability on that
//    path: the path access of every member, API key and group the change reaches is taken before
//    and after `change` (a group's own rules count even while it has no members), and each
//    capability gained (policy::Gained: additions and removals alike, so lifting a colleague's deny
//    gives what it held back) must be held (policy::HoldsOver). kPermissionDenied "grant_not_held",
//    naming a pattern; the caller's transaction must then be rolled back, undoing `change`.
// So an admin bound to dev/* cannot reach prod/*: not by attaching "*" to itself, nor by giving
// prod/* to a second account it invited, nor by having that account lift its own deny. What it
// gave stays when it is narrowed later: the check is made at each change.
//  - GuardPolicyChange: policy `name` rewritten or deleted (reaches what it is attached to).
//  - GuardAttachmentChange: a policy attached to or detached from `subject`.
//  - GuardGroupChange: group `name` set to `members`, or deleted (`members` null).
// On "grant_not_held", `refused` (if given) learns the pattern and the capabilities the actor
// lacks there, for the refusal's audit record; it is left untouched otherwise.
using StoreChange = std::function<Status()>;
Status GuardPolicyChange(store::Transaction& tx, std::string_view tenant,
                         const core::Principal& actor, std::string_view name,
                         const StoreChange& change, GrantRefusal* refused = nullptr);
Status GuardAttachmentChange(store::Transaction& tx, std::string_view tenant,
                             const core::Principal& actor, const Attachment& subject,
                             const StoreChange& change, GrantRefusal* refused = nullptr);
Status GuardGroupChange(store::Transaction& tx, std::string_view tenant,
                        const core::Principal& actor, std::string_view name,
                        const std::vector<std::string>* members, const StoreChange& change,
                        GrantRefusal* refused = nullptr);

}  // namespace path_policies

// True if `path` lies under a break-glass grant's `prefix` ("prod/db" covers prod/db and
// prod/db/...; "prod/" covers prod/...). An empty prefix covers nothing.
bool UnderPrefix(std::string_view prefix, std::string_view path);

// The capability bits `rules` (a principal's) and its open break-glass grant give on `path`.
std::uint8_t CapabilitiesOf(const std::vector<PathRule>& rules, const core::Principal& p,
                            std::string_view path);

class PathAccess {
 public:
  explicit PathAccess(store::Store& store) : store_(store) {}

  // The capability bits `p` holds on `path` (a valid secret path). kUnavailable if the store
  // cannot be read (never "no policies").
  StatusOr<std::uint8_t> Capabilities(const core::Principal& p, std::string_view path);
  // The principal's rules (cached).
  StatusOr<std::shared_ptr<const std::vector<PathRule>>> Rules(const core::Principal& p);

  void InvalidateTenant(std::string_view tenant);

 private:
  struct Entry {
    std::string tenant;
    std::shared_ptr<const std::vector<PathRule>> rules;
  };
  store::Store& store_;
  core::InvalidatedCache<Entry> cache_{10000};
};

}  // namespace bulwark::policy

// The path-policy store against a real migrated store, on SQLite and on a real PostgreSQL 15
// (pg_server.h): policies created, listed, replaced and deleted; attachments to members, API keys
// and groups; groups and their members; what applies to a subject; one tenant never reaching
// another's; and every bad input refused with nothing stored changed.
#include "policy/path_policy_store.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "../store/pg_server.h"
#include "../store/store_test_util.h"
#include "crypto/encoding.h"
#include "identity/api_keys.h"
#include "identity/directory.h"
#include "store/migrate.h"
#include "store/postgres/pg_store.h"

namespace bulwark::policy {
namespace {

namespace pp = path_policies;
using store::TxMode;

constexpr std::int64_t kNow = 1'800'000'000;

PathRule Rule(std::string_view pattern, const std::vector<std::string>& caps) {
  auto r = ParsePathRule(pattern, caps);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return *r;
}

std::vector<std::string> Patterns(const std::vector<PathRule>& rules) {
  std::vector<std::string> out;
  for (const auto& r : rules) out.push_back(r.pattern);
  return out;
}

std::string BackendName(const ::testing::TestParamInfo<std::string>& p) { return p.param; }

// Two tenants in a fresh database of the backend the parameter names: "acme" (owner ada, admin
// bob, member cy, one API key of bob's) and "other" (owner eve).
class PathPolicyStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgresql") {
      auto& pg = bulwark::testing::SharedPgServer();
      ASSERT_TRUE(pg.ok()) << pg.error();
      auto s = store::OpenPostgresStore({.url = pg.NewDatabase(), .pool_size = 2});
      ASSERT_TRUE(s.ok()) << s.status().ToString();
      store_ = std::move(*s);
    } else {
      store_ = store::testing::MustOpen(store::testing::Options(dir_.File("db.sqlite")));
    }
    ASSERT_NE(store_, nullptr);
    ASSERT_TRUE(store::Migrate(*store_).ok());
    auto tx = store_->Begin(TxMode::kWrite);
    ASSERT_TRUE(tx.ok());
    auto acme = identity::directory::CreateTenant(**tx, "acme", "ada@acme.test", kNow);
    auto other = identity::directory::CreateTenant(**tx, "other", "eve@other.test", kNow);
    ASSERT_TRUE(acme.ok() && other.ok());
    tenant_ = acme->tenant_id;
    ada_ = acme->owner_user_id;
    other_ = other->tenant_id;
    eve_ = other->owner_user_id;
    for (auto [email, role, id] : {std::tuple{"bob@acme.test", Role::kAdmin, &bob_},
                                   std::tuple{"cy@acme.test", Role::kMember, &cy_}}) {
      auto user = identity::directory::EnsureUser(**tx, email, kNow);
      ASSERT_TRUE(user.ok());
      *id = *user;
      ASSERT_TRUE(identity::directory::AddMember(**tx, tenant_, *id, role, kNow).ok());
    }
    identity::ApiKeyService keys(*store_);
    auto key = keys.Create(**tx,
                           {.tenant_id = tenant_,
                            .name = "ci",
                            .scopes = {"secrets.read"},
                            .creator_role = Role::kAdmin,
                            .created_by = bob_},
                           kNow);
    ASSERT_TRUE(key.ok()) << key.status().ToString();
    key_ = key->info.id;
    ASSERT_TRUE((*tx)->Commit().ok());
  }

  // Runs `fn(tx)` in a write transaction, committed only when it succeeds (a failed change is
  // rolled back, as the audit writer does).
  template <typename Fn>
  auto Write(Fn fn) {
    auto tx = store_->Begin(TxMode::kWrite);
    EXPECT_TRUE(tx.ok());
    auto result = fn(**tx);
    if (result.ok()) {
      EXPECT_TRUE((*tx)->Commit().ok());
    }
    return result;
  }
  // The same for a call that returns a Status.
  template <typename Fn>
  Status Do(Fn fn) {
    return Write([&](store::Transaction& tx) -> StatusOr<bool> {
             BULWARK_RETURN_IF_ERROR(fn(tx));
             return true;
           })
        .status();
  }
  template <typename Fn>
  auto Read(Fn fn) {
    auto tx = store_->Begin(TxMode::kRead);
    EXPECT_TRUE(tx.ok());
    return fn(**tx);
  }

  StatusOr<bool> Put(std::string_view tenant, std::string_view name,
                     const std::vector<PathRule>& rules, std::int64_t now = kNow) {
    return Write([&](auto& tx) { return pp::Put(tx, tenant, name, rules, "usr_ada", now); });
  }
  StatusOr<bool> Attach(std::string_view tenant, std::string_view name, const Attachment& s) {
    return Write([&](auto& tx) { return pp::Attach(tx, tenant, name, s, "usr_ada", kNow); });
  }
  StatusOr<bool> Detach(std::string_view tenant, std::string_view name, const Attachment& s) {
    return Write([&](auto& tx) { return pp::Detach(tx, tenant, name, s); });
  }
  StatusOr<bool> PutGroup(std::string_view tenant, std::string_view name,
                          const std::vector<std::string>& members) {
    return Write([&](auto& tx) { return pp::PutGroup(tx, tenant, name, members, kNow); });
  }
  StatusOr<std::vector<std::string>> PatternsFor(std::string_view tenant, SubjectKind kind,
                                                 std::string_view id) {
    return Read([&](auto& tx) -> StatusOr<std::vector<std::string>> {
      BULWARK_ASSIGN_OR_RETURN(auto rules, pp::RulesFor(tx, tenant, kind, id));
      return Patterns(rules);
    });
  }

  // Every row of the tables the path-policy store writes, both tenants, as text: what a refused
  // change must leave exactly as it was.
  std::string Stored() {
    return Read([&](store::Transaction& tx) {
      std::string out;
      for (const char* sql : {"SELECT * FROM path_policies ORDER BY 1, 2",
                              "SELECT * FROM policy_attachments ORDER BY 1, 2, 3, 4",
                              "SELECT * FROM member_groups ORDER BY 1, 2",
                              "SELECT * FROM group_members ORDER BY 1, 2, 3"}) {
        auto rows = tx.Query(sql);
        EXPECT_TRUE(rows.ok()) << sql;
        if (!rows.ok()) continue;
        out += sql;
        out += '\n';
        for (const auto& r : *rows) {
          for (const auto& v : r) {
            if (v.is_null()) out += "NULL";
            if (v.is_int()) out += std::to_string(v.as_int());
            if (v.is_text()) out += v.as_text();
            if (v.is_bytes()) out += crypto::HexEncode(v.as_bytes());
            out += '|';
          }
          out += '\n';
        }
      }
      return out;
    });
  }

  store::testing::TempDir dir_;
  std::unique_ptr<store::Store> store_;
  std::string tenant_, other_, ada_, bob_, cy_, eve_, key_;
};

INSTANTIATE_TEST_SUITE_P(Backends, PathPolicyStoreTest, ::testing::Values("sqlite", "postgresql"),
                         BackendName);

TEST_P(PathPolicyStoreTest, CreateGetListReplaceDelete) {
  EXPECT_EQ(*Put(tenant_, "readers", {Rule("dev/*", {"read", "list"})}), true);  // created
  EXPECT_EQ(*Put(tenant_, "admins", {Rule("prod/+/db", {"read"}), Rule("prod/*", {"deny"})}),
            true);
  auto got = Read([&](auto& tx) { return pp::Get(tx, tenant_, "readers"); });
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->name, "readers");
  ASSERT_EQ(got->rules.size(), 1u);
  EXPECT_EQ(got->rules[0].pattern, "dev/*");
  EXPECT_EQ(got->rules[0].capabilities, kCapRead | kCapList);
  EXPECT_EQ(got->created_at, kNow);
  EXPECT_EQ(got->updated_at, kNow);
  EXPECT_EQ(got->updated_by, "usr_ada");
  EXPECT_TRUE(got->attachments.empty());

  // Listed by name, each with its rules in the order written.
  auto list = Read([&](auto& tx) { return pp::List(tx, tenant_); });
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "admins");
  EXPECT_EQ(Patterns((*list)[0].rules), (std::vector<std::string>{"prod/+/db", "prod/*"}));
  EXPECT_EQ((*list)[0].rules[1].capabilities, kCapDeny);
  EXPECT_EQ((*list)[1].name, "readers");

  // Replaced: the rules change, created_at stays, updated_at moves on.
  EXPECT_EQ(*Put(tenant_, "readers", {Rule("dev/app/*", {"read"})}, kNow + 60), false);
  got = Read([&](auto& tx) { return pp::Get(tx, tenant_, "readers"); });
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(Patterns(got->rules), std::vector<std::string>{"dev/app/*"});
  EXPECT_EQ(got->rules[0].capabilities, kCapRead);
  EXPECT_EQ(got->created_at, kNow);
  EXPECT_EQ(got->updated_at, kNow + 60);

  // Deleted: gone from Get and List; deleting again is not found.
  ASSERT_TRUE(Do([&](auto& tx) { return pp::Delete(tx, tenant_, "readers"); }).ok());
  EXPECT_EQ(Read([&](auto& tx) { return pp::Get(tx, tenant_, "readers"); }).status().reason(),
            "policy_not_found");
  list = Read([&](auto& tx) { return pp::List(tx, tenant_); });
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].name, "admins");
  EXPECT_EQ(Do([&](auto& tx) { return pp::Delete(tx, tenant_, "readers"); }).reason(),
            "policy_not_found");
}

TEST_P(PathPolicyStoreTest, AttachmentsToMembersKeysAndGroups) {
  ASSERT_TRUE(Put(tenant_, "dev", {Rule("dev/*", {"read"})}).ok());
  ASSERT_TRUE(Put(tenant_, "ops", {Rule("ops/*", {"read", "update"})}).ok());
  ASSERT_TRUE(Put(tenant_, "ci", {Rule("ci/*", {"read"})}).ok());
  EXPECT_EQ(*PutGroup(tenant_, "team", {bob_, cy_}), true);

  EXPECT_EQ(*Attach(tenant_, "dev", {SubjectKind::kUser, bob_}), true);
  EXPECT_EQ(*Attach(tenant_, "dev", {SubjectKind::kUser, bob_}), false);  // twice: no error
  EXPECT_EQ(*Attach(tenant_, "ops", {SubjectKind::kGroup, "team"}), true);
  EXPECT_EQ(*Attach(tenant_, "ci", {SubjectKind::kApiKey, key_}), true);
  EXPECT_EQ(*Attach(tenant_, "dev", {SubjectKind::kGroup, "team"}), true);

  // A policy shows what it is attached to, ordered by kind then id.
  auto dev = Read([&](auto& tx) { return pp::Get(tx, tenant_, "dev"); });
  ASSERT_TRUE(dev.ok());
  ASSERT_EQ(dev->attachments.size(), 2u);
  EXPECT_EQ(dev->attachments[0].kind, SubjectKind::kGroup);
  EXPECT_EQ(dev->attachments[0].id, "team");
  EXPECT_EQ(dev->attachments[1].kind, SubjectKind::kUser);
  EXPECT_EQ(dev->attachments[1].id, bob_);

  // A member's rules include its groups'; the same policy through two ways counts once.
  EXPECT_EQ(*PatternsFor(tenant_, SubjectKind::kUser, bob_),
            (std::vector<std::string>{"dev/*", "ops/*"}));
  EXPECT_EQ(*PatternsFor(tenant_, SubjectKind::kUser, cy_),
            (std::vector<std::string>{"dev/*", "ops/*"}));
  EXPECT_EQ(*PatternsFor(tenant_, SubjectKind::kApiKey, key_), std::vector<std::string>{"ci/*"});
  EXPECT_EQ(*PatternsFor(tenant_, SubjectKind::kGroup, "team"),
            (std::vector<std::string>{"dev/*", "ops/*"}));
  EXPECT_TRUE(PatternsFor(tenant_, SubjectKind::kUser, ada_)->empty());  // nothing attached
  EXPECT_EQ(*Read([&](auto& tx) { return pp::PolicyNamesFor(tx, tenant_, SubjectKind::kUser, cy_); }),
            (std::vector<std::string>{"dev", "ops"}));

  // Detached: true once, then false; the group's way still reaches bob.
  EXPECT_EQ(*Detach(tenant_, "dev", {SubjectKind::kUser, bob_}), true);
  EXPECT_EQ(*Detach(tenant_, "dev", {SubjectKind::kUser, bob_}), false);
  EXPECT_EQ(*PatternsFor(tenant_, SubjectKind::kUser, bob_),
            (std::vector<std::string>{"dev/*", "ops/*"}));
  // A deleted policy takes its attachments with it.
  ASSERT_TRUE(Do([&](auto& tx) { return pp::Delete(tx, tenant_, "dev"); }).ok());
  EXPECT_EQ(*PatternsFor(tenant_, SubjectKind::kUser, bob_), std::vector<std::string>{"ops/*"});
  auto rows = Read([&](auto& tx) {
    return tx.Query("SELECT COUNT(*) FROM policy_attachments WHERE policy_name = 'dev'");
  });
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ((*rows)[0][0].as_int(), 0);
}

TEST_P(PathPolicyStoreTest, GroupsReplaceTheirMembersAndDeleteCleanly) {
  EXPECT_EQ(*PutGroup(tenant_, "team", {cy_, bob_, cy_}), true);  // repeats count once
  auto groups = Read([&](auto& tx) { return pp::ListGroups(tx, tenant_); });
  ASSERT_TRUE(groups.ok());
  ASSERT_EQ(groups->size(), 1u);
  EXPECT_EQ((*groups)[0].name, "team");
  EXPECT_EQ((*groups)[0].created_at, kNow);
  std::vector<std::string> both = {bob_, cy_};
  std::sort(both.begin(), both.end());
  EXPECT_EQ((*groups)[0].members, both);

  EXPECT_EQ(*PutGroup(tenant_, "team", {cy_}), false);  // replaced: exactly these members
  EXPECT_EQ(*PutGroup(tenant_, "empty", {}), true);
  groups = Read([&](auto& tx) { return pp::ListGroups(tx, tenant_); });
  ASSERT_TRUE(groups.ok());
  ASSERT_EQ(groups->size(), 2u);
  EXPECT_EQ((*groups)[0].name, "empty");
  EXPECT_TRUE((*groups)[0].members.empty());
  EXPECT_EQ((*groups)[1].members, std::vector<std::string>{cy_});

  ASSERT_TRUE(Put(tenant_, "ops", {Rule("ops/*", {"read"})}).ok());
  ASSERT_TRUE(Attach(tenant_, "ops", {SubjectKind::kGroup, "team"}).ok());
  EXPECT_EQ(*PatternsFor(tenant_, SubjectKind::kUser, cy_), std::vector<std::string>{"ops/*"});
  EXPECT_TRUE(PatternsFor(tenant_, SubjectKind::kUser, bob_)->empty());  // left the group

  // Deleting the group removes its membership and its attachments; the policy stays.
  ASSERT_TRUE(Do([&](auto& tx) { return pp::DeleteGroup(tx, tenant_, "team"); }).ok());
  EXPECT_TRUE(PatternsFor(tenant_, SubjectKind::kUser, cy_)->empty());
  auto ops = Read([&](auto& tx) { return pp::Get(tx, tenant_, "ops"); });
  ASSERT_TRUE(ops.ok());
  EXPECT_TRUE(ops->attachments.empty());
  groups = Read([&](auto& tx) { return pp::ListGroups(tx, tenant_); });
  ASSERT_TRUE(groups.ok());
  ASSERT_EQ(groups->size(), 1u);
  EXPECT_EQ((*groups)[0].name, "empty");
  EXPECT_EQ(Do([&](auto& tx) { return pp::DeleteGroup(tx, tenant_, "team"); }).reason(),
            "group_not_found");
}

TEST_P(PathPolicyStoreTest, ForgetMemberDropsItsAttachmentsKeysAndGroups) {
  ASSERT_TRUE(Put(tenant_, "dev", {Rule("dev/*", {"read"})}).ok());
  ASSERT_TRUE(PutGroup(tenant_, "team", {bob_, cy_}).ok());
  ASSERT_TRUE(Attach(tenant_, "dev", {SubjectKind::kUser, bob_}).ok());
  ASSERT_TRUE(Attach(tenant_, "dev", {SubjectKind::kUser, cy_}).ok());
  ASSERT_TRUE(Attach(tenant_, "dev", {SubjectKind::kApiKey, key_}).ok());  // bob made it
  ASSERT_TRUE(Do([&](auto& tx) { return pp::ForgetMember(tx, tenant_, bob_); }).ok());
  auto dev = Read([&](auto& tx) { return pp::Get(tx, tenant_, "dev"); });
  ASSERT_TRUE(dev.ok());
  ASSERT_EQ(dev->attachments.size(), 1u);  // only cy's own
  EXPECT_EQ(dev->attachments[0].id, cy_);
  EXPECT_TRUE(PatternsFor(tenant_, SubjectKind::kApiKey, key_)->empty());
  auto groups = Read([&](auto& tx) { return pp::ListGroups(tx, tenant_); });
  ASSERT_TRUE(groups.ok());
  EXPECT_EQ((*groups)[0].members, std::vector<std::string>{cy_});
}

TEST_P(PathPolicyStoreTest, TenantsNeverReachEachOther) {
  ASSERT_TRUE(Put(tenant_, "shared-name", {Rule("acme/*", {"read"})}).ok());
  EXPECT_EQ(*Put(other_, "shared-name", {Rule("other/*", {"read"})}), true);  // its own
  ASSERT_TRUE(Attach(tenant_, "shared-name", {SubjectKind::kUser, bob_}).ok());
  ASSERT_TRUE(Attach(other_, "shared-name", {SubjectKind::kUser, eve_}).ok());
  ASSERT_TRUE(PutGroup(tenant_, "team", {bob_}).ok());
  ASSERT_TRUE(Put(tenant_, "acme-only", {Rule("x/*", {"read"})}).ok());

  auto mine = Read([&](auto& tx) { return pp::List(tx, tenant_); });
  auto theirs = Read([&](auto& tx) { return pp::List(tx, other_); });
  ASSERT_TRUE(mine.ok() && theirs.ok());
  EXPECT_EQ(mine->size(), 2u);
  ASSERT_EQ(theirs->size(), 1u);
  EXPECT_EQ(Patterns((*theirs)[0].rules), std::vector<std::string>{"other/*"});
  EXPECT_EQ(*PatternsFor(tenant_, SubjectKind::kUser, bob_), std::vector<std::string>{"acme/*"});
  EXPECT_EQ(*PatternsFor(other_, SubjectKind::kUser, eve_), std::vector<std::string>{"other/*"});
  EXPECT_TRUE(PatternsFor(other_, SubjectKind::kUser, bob_)->empty());
  EXPECT_TRUE(Read([&](auto& tx) { return pp::ListGroups(tx, other_); })->empty());

  // Another tenant's policy, member, key and group are simply not found.
  const std::string before = Stored();
  EXPECT_EQ(Read([&](auto& tx) { return pp::Get(tx, other_, "acme-only"); }).status().reason(),
            "policy_not_found");
  EXPECT_EQ(Attach(other_, "acme-only", {SubjectKind::kUser, eve_}).status().reason(),
            "policy_not_found");
  EXPECT_EQ(Attach(tenant_, "acme-only", {SubjectKind::kUser, eve_}).status().reason(),
            "subject_not_found");
  EXPECT_EQ(Attach(other_, "shared-name", {SubjectKind::kApiKey, key_}).status().reason(),
            "subject_not_found");
  EXPECT_EQ(Attach(other_, "shared-name", {SubjectKind::kGroup, "team"}).status().reason(),
            "subject_not_found");
  EXPECT_EQ(PutGroup(other_, "team", {bob_}).status().reason(), "subject_not_found");
  EXPECT_EQ(Do([&](auto& tx) { return pp::Delete(tx, other_, "acme-only"); }).reason(),
            "policy_not_found");
  EXPECT_EQ(Do([&](auto& tx) { return pp::DeleteGroup(tx, other_, "team"); }).reason(),
            "group_not_found");
  EXPECT_EQ(*Detach(other_, "shared-name", {SubjectKind::kUser, bob_}), false);
  ASSERT_TRUE(Do([&](auto& tx) { return pp::ForgetMember(tx, other_, bob_); }).ok());
  EXPECT_EQ(Stored(), before);
}

TEST_P(PathPolicyStoreTest, BadInputIsRefusedWithNothingChanged) {
  ASSERT_TRUE(Put(tenant_, "dev", {Rule("dev/*", {"read"})}).ok());
  ASSERT_TRUE(PutGroup(tenant_, "team", {bob_}).ok());
  ASSERT_TRUE(Attach(tenant_, "dev", {SubjectKind::kGroup, "team"}).ok());
  const std::string before = Stored();

  const std::vector<PathRule> ok_rules = {Rule("a/*", {"read"})};
  for (const std::string& bad : {std::string(), std::string("."), std::string(".."),
                                 std::string("a/b"), std::string("a b"), std::string(65, 'x'),
                                 std::string("caf\xc3\xa9"), std::string("nul\0x", 5)}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(Put(tenant_, bad, ok_rules).status().reason(), "invalid_name");
    EXPECT_EQ(Read([&](auto& tx) { return pp::Get(tx, tenant_, bad); }).status().reason(),
              "invalid_name");
    EXPECT_EQ(Do([&](auto& tx) { return pp::Delete(tx, tenant_, bad); }).reason(),
              "invalid_name");
    EXPECT_EQ(Attach(tenant_, bad, {SubjectKind::kUser, bob_}).status().reason(), "invalid_name");
    EXPECT_EQ(Detach(tenant_, bad, {SubjectKind::kUser, bob_}).status().reason(), "invalid_name");
    EXPECT_EQ(PutGroup(tenant_, bad, {bob_}).status().reason(), "invalid_name");
    EXPECT_EQ(Do([&](auto& tx) { return pp::DeleteGroup(tx, tenant_, bad); }).reason(),
              "invalid_name");
  }
  EXPECT_TRUE(ValidatePolicyName(std::string(64, 'x')).ok());  // the longest name

  // Rules: none, or more than a policy holds; the existing policy keeps its rules.
  EXPECT_EQ(Put(tenant_, "dev", {}).status().reason(), "invalid_rules");
  EXPECT_EQ(Put(tenant_, "dev", std::vector<PathRule>(kMaxRulesPerPolicy + 1, ok_rules[0]))
                .status()
                .reason(),
            "invalid_rules");
  EXPECT_EQ(Put(tenant_, "new", {}).status().reason(), "invalid_rules");

  // Attachments: to a policy or subject that does not exist, or a revoked key.
  EXPECT_EQ(Attach(tenant_, "nope", {SubjectKind::kUser, bob_}).status().reason(),
            "policy_not_found");
  EXPECT_EQ(Detach(tenant_, "nope", {SubjectKind::kUser, bob_}).status().reason(),
            "policy_not_found");
  EXPECT_EQ(Attach(tenant_, "dev", {SubjectKind::kUser, "usr_nobody"}).status().reason(),
            "subject_not_found");
  EXPECT_EQ(Attach(tenant_, "dev", {SubjectKind::kGroup, "nogroup"}).status().reason(),
            "subject_not_found");
  EXPECT_EQ(Attach(tenant_, "dev", {SubjectKind::kApiKey, "nokey"}).status().reason(),
            "subject_not_found");

  // Groups: a non-member among the members, or too many of them; the group keeps its members.
  EXPECT_EQ(PutGroup(tenant_, "team", {cy_, "usr_nobody"}).status().reason(),
            "subject_not_found");
  EXPECT_EQ(PutGroup(tenant_, "fresh", {eve_}).status().reason(), "subject_not_found");
  std::vector<std::string> crowd;
  for (std::size_t i = 0; i <= kMaxGroupMembers; ++i) crowd.push_back("usr_" + std::to_string(i));
  EXPECT_EQ(PutGroup(tenant_, "team", crowd).status().reason(), "too_many_members");
  EXPECT_EQ(Stored(), before);

  // A revoked API key can no longer be given a policy.
  identity::ApiKeyService keys(*store_);
  ASSERT_TRUE(Write([&](auto& tx) { return keys.Revoke(tx, tenant_, key_, kNow); }).ok());
  EXPECT_EQ(Attach(tenant_, "dev", {SubjectKind::kApiKey, key_}).status().reason(),
            "subject_not_found");
  EXPECT_EQ(Stored(), before);
}

TEST_P(PathPolicyStoreTest, RulesAlteredOutsideBulwarkAreAnIntegrityError) {
  ASSERT_TRUE(Put(tenant_, "dev", {Rule("dev/*", {"read"})}).ok());
  ASSERT_TRUE(Attach(tenant_, "dev", {SubjectKind::kUser, bob_}).ok());
  for (const char* stored : {"not json", R"({"path":"dev/*"})", R"([{"path":"dev/*"}])",
                             R"([{"path":"dev/*","capabilities":["fly"]}])",
                             R"([{"path":"/abs","capabilities":["read"]}])"}) {
    SCOPED_TRACE(stored);
    ASSERT_TRUE(Write([&](store::Transaction& tx) {
                  return tx.Exec("UPDATE path_policies SET rules = ? WHERE name = 'dev'",
                                 {store::Value::Text(stored)});
                }).ok());
    EXPECT_EQ(Read([&](auto& tx) { return pp::Get(tx, tenant_, "dev"); }).status().code(),
              ErrorCode::kIntegrity);
    EXPECT_EQ(PatternsFor(tenant_, SubjectKind::kUser, bob_).status().code(),
              ErrorCode::kIntegrity);
  }
}

TEST_P(PathPolicyStoreTest, PathAccessAnswersFromItsCacheUntilInvalidated) {
  ASSERT_TRUE(Put(tenant_, "dev", {Rule("dev/*", {"read", "list"})}).ok());
  ASSERT_TRUE(Attach(tenant_, "dev", {SubjectKind::kUser, bob_}).ok());
  PathAccess access(*store_);
  core::Principal bob{.kind = core::Principal::Kind::kUser, .id = bob_, .tenant_id = tenant_};
  EXPECT_EQ(*access.Capabilities(bob, "dev/db"), kCapRead | kCapList);
  EXPECT_EQ(*access.Capabilities(bob, "prod/db"), 0);

  ASSERT_TRUE(Detach(tenant_, "dev", {SubjectKind::kUser, bob_}).ok());
  EXPECT_EQ(*access.Capabilities(bob, "dev/db"), kCapRead | kCapList);  // still cached
  access.InvalidateTenant(other_);
  EXPECT_EQ(*access.Capabilities(bob, "dev/db"), kCapRead | kCapList);  // another tenant's
  access.InvalidateTenant(tenant_);
  EXPECT_EQ(*access.Capabilities(bob, "dev/db"), 0);

  // A break-glass grant adds every capability under its prefix, nothing beyond it.
  core::Principal glass = bob;
  glass.break_glass = true;
  glass.breakglass_path_prefix = "prod/db";
  EXPECT_EQ(*access.Capabilities(glass, "prod/db/password"),
            kCapCreate | kCapRead | kCapUpdate | kCapDelete | kCapList);
  EXPECT_EQ(*access.Capabilities(glass, "prod/dbx"), 0);
}

TEST_P(PathPolicyStoreTest, AMemberMayNotGrantWhatItDoesNotHold) {
  ASSERT_TRUE(Put(tenant_, "dev", {Rule("dev/*", {"read"})}).ok());
  ASSERT_TRUE(Attach(tenant_, "dev", {SubjectKind::kUser, bob_}).ok());
  ASSERT_TRUE(Put(tenant_, "wide", {Rule("prod/*", {"read"})}).ok());
  const std::string before = Stored();
  const core::Principal bob{.kind = core::Principal::Kind::kUser, .id = bob_, .tenant_id = tenant_};
  const Attachment to_cy{SubjectKind::kUser, cy_};

  // bob (an admin bound to dev/*) gives cy prod/*: refused, and the rolled-back change is gone.
  pp::GrantRefusal refused;
  const Status s = Do([&](auto& tx) {
    return pp::GuardAttachmentChange(
        tx, tenant_, bob, to_cy,
        [&] { return pp::Attach(tx, tenant_, "wide", to_cy, bob_, kNow).status(); }, &refused);
  });
  EXPECT_EQ(s.reason(), "grant_not_held");
  EXPECT_EQ(refused.pattern, "prod/*");
  EXPECT_EQ(refused.missing, "read");
  EXPECT_EQ(Stored(), before);
  // Nor may bob change what reaches itself.
  EXPECT_EQ(Do([&](auto& tx) {
              return pp::GuardPolicyChange(tx, tenant_, bob, "dev", [] { return Status::Ok(); });
            }).reason(),
            "owner_required");
  // What bob holds, bob may give; an owner may give anything.
  EXPECT_TRUE(Do([&](auto& tx) {
                return pp::GuardAttachmentChange(tx, tenant_, bob, to_cy, [&] {
                  return pp::Attach(tx, tenant_, "dev", to_cy, bob_, kNow).status();
                });
              }).ok());
  const core::Principal ada{.kind = core::Principal::Kind::kUser, .id = ada_, .tenant_id = tenant_};
  EXPECT_TRUE(Do([&](auto& tx) {
                return pp::GuardAttachmentChange(tx, tenant_, ada, to_cy, [&] {
                  return pp::Attach(tx, tenant_, "wide", to_cy, ada_, kNow).status();
                });
              }).ok());
  EXPECT_EQ(*PatternsFor(tenant_, SubjectKind::kUser, cy_),
            (std::vector<std::string>{"dev/*", "prod/*"}));
}

}  // namespace
}  // namespace bulwark::policy

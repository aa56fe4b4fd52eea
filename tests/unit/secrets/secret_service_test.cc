// The secrets service without HTTP: a plain caller against a real migrated store, keyring and
// vault, with path policies attached. Write, read, versions, delete everything, check-and-set
// conflicts and path-policy refusals, each with what the route adapters record of it (resource,
// details, alert) and, for a refusal, nothing stored.
#include "secrets/secret_service.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "../keyed_store_env.h"
#include "identity/directory.h"
#include "policy/path_policy.h"

namespace bulwark::secrets {
namespace {

constexpr std::int64_t kNow = 1'800'000'000;

// The details recorded, as "name=value" text, in order.
std::vector<std::string> DetailText(const Recorded& r) {
  std::vector<std::string> out;
  for (const auto& [name, value] : r.details) {
    switch (value.kind()) {
      case audit::DetailValue::Kind::kText:
        out.push_back(name + "=" + value.text());
        break;
      case audit::DetailValue::Kind::kInt:
        out.push_back(name + "=" + std::to_string(value.integer()));
        break;
      case audit::DetailValue::Kind::kBool:
        out.push_back(name + "=" + (value.boolean() ? "true" : "false"));
        break;
    }
  }
  return out;
}

struct Env : bulwark::testing::KeyedStore {
  Vault vault;
  policy::PathAccess access;
  SecretService service;
  core::Principal owner;    // holds every capability on app/*, read on ro/*
  core::Principal nobody;   // another member of the tenant, no policy attached
  std::vector<Recorded> commits;  // what each committed change recorded
  CommitFn commit;

  Env() : vault(*keys), access(*store), service(*store, vault, access) {
    auto tx = store->Begin(store::TxMode::kWrite);
    auto created = identity::directory::CreateTenant(**tx, "acme", "ada@acme.test", kNow);
    EXPECT_TRUE(created.ok());
    owner = {.kind = core::Principal::Kind::kUser,
             .id = created->owner_user_id,
             .tenant_id = created->tenant_id,
             .auth_method = "session"};
    nobody = owner;
    nobody.id = "usr_nobody";
    const std::uint8_t all = policy::kCapCreate | policy::kCapRead | policy::kCapUpdate |
                             policy::kCapDelete | policy::kCapList;
    EXPECT_TRUE(policy::path_policies::Put(**tx, owner.tenant_id, "apps",
                                           {{"app/*", all}, {"ro/*", policy::kCapRead}},
                                           owner.id, kNow)
                    .ok());
    EXPECT_TRUE(policy::path_policies::Attach(**tx, owner.tenant_id, "apps",
                                              {policy::SubjectKind::kUser, owner.id}, owner.id,
                                              kNow)
                    .ok());
    EXPECT_TRUE((*tx)->Commit().ok());
    // The route adapter's commit writes the record with the change; this one keeps the record.
    commit = [this](Recorded& recorded, const RecordedChange& change) -> Status {
      BULWARK_ASSIGN_OR_RETURN(auto t, store->Begin(store::TxMode::kWrite));
      BULWARK_RETURN_IF_ERROR(change(*t, recorded));
      BULWARK_RETURN_IF_ERROR(t->Commit());
      commits.push_back(recorded);
      return Status::Ok();
    };
  }

  Caller As(const core::Principal& p) const { return Caller{p, commit}; }

  StatusOr<std::string> ReadText(const core::Principal& p, std::string_view path,
                                 std::optional<std::int64_t> version = std::nullopt) {
    Recorded r;
    BULWARK_ASSIGN_OR_RETURN(SecretValue v, service.Read(As(p), path, version, r));
    const auto bytes = v.data.reveal_span();
    return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
};

TEST(SecretService, WriteThenReadRecordsThePathAndTheVersion) {
  Env env;
  auto v1 = env.service.Write(env.As(env.owner), "app/db", R"({"password":"one"})", std::nullopt);
  ASSERT_TRUE(v1.ok()) << v1.status().ToString();
  EXPECT_EQ(v1->version, 1);
  EXPECT_EQ(v1->created_by, env.owner.id);
  ASSERT_EQ(env.commits.size(), 1u);
  EXPECT_EQ(env.commits[0].resource, "secret:app/db");
  EXPECT_EQ(DetailText(env.commits[0]), std::vector<std::string>{"version=1"});

  ASSERT_TRUE(env.service.Write(env.As(env.owner), "app/db", R"({"password":"two"})", 1).ok());
  Recorded read;
  auto value = env.service.Read(env.As(env.owner), "app/db", std::nullopt, read);
  ASSERT_TRUE(value.ok()) << value.status().ToString();
  EXPECT_EQ(value->version.version, 2);
  EXPECT_EQ(read.resource, "secret:app/db");
  EXPECT_EQ(DetailText(read), std::vector<std::string>{"version=2"});
  EXPECT_TRUE(read.alert.empty());
  EXPECT_TRUE(read.reason.empty());
  EXPECT_EQ(*env.ReadText(env.owner, "app/db", 1), R"({"password":"one"})");
  // A read is recorded by the caller (before the value leaves), never committed as a change.
  EXPECT_EQ(env.commits.size(), 2u);
}

TEST(SecretService, CheckAndSetConflictChangesNothing) {
  Env env;
  ASSERT_TRUE(env.service.Write(env.As(env.owner), "app/db", R"({"a":1})", 0).ok());
  auto again = env.service.Write(env.As(env.owner), "app/db", R"({"a":2})", 0);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), ErrorCode::kConflict);
  EXPECT_EQ(again.status().reason(), "cas_mismatch");
  auto stale = env.service.Write(env.As(env.owner), "app/db", R"({"a":3})", 5);
  EXPECT_EQ(stale.status().reason(), "cas_mismatch");
  auto negative = env.service.Write(env.As(env.owner), "app/db", R"({"a":4})", -1);
  EXPECT_EQ(negative.status().reason(), "invalid_cas");
  EXPECT_EQ(env.commits.size(), 1u);  // only the first write committed
  EXPECT_EQ(*env.ReadText(env.owner, "app/db"), R"({"a":1})");
}

TEST(SecretService, PathPoliciesRefuseAlikeWhetherOrNotThePathExists) {
  Env env;
  ASSERT_TRUE(env.service.Write(env.As(env.owner), "app/db", R"({"a":1})", std::nullopt).ok());
  for (std::string_view path : {"app/db", "app/none"}) {
    Recorded r;
    auto read = env.service.Read(env.As(env.nobody), path, std::nullopt, r);
    EXPECT_EQ(read.status().code(), ErrorCode::kPermissionDenied) << path;
    EXPECT_EQ(read.status().reason(), "path_denied");
    // Nothing for the record beyond the refusal: the caller names the request itself.
    EXPECT_TRUE(r.resource.empty());
    EXPECT_TRUE(r.details.empty());
    EXPECT_EQ(env.service.Write(env.As(env.nobody), path, R"({"a":2})", std::nullopt)
                  .status()
                  .reason(),
              "path_denied");
    EXPECT_EQ(env.service.DeleteAll(env.As(env.nobody), path).reason(), "path_denied");
    EXPECT_EQ(env.service.Metadata(env.As(env.nobody), path).status().reason(), "path_denied");
  }
  // Read on ro/* allows reading, not writing; the refusal names the capabilities it lacks.
  auto ro = env.service.Write(env.As(env.owner), "ro/x", R"({"a":1})", std::nullopt);
  EXPECT_EQ(ro.status().reason(), "path_denied");
  EXPECT_NE(ro.status().message().find("create or update on ro/x"), std::string::npos)
      << ro.status().message();
  EXPECT_EQ(env.ReadText(env.owner, "ro/x").status().reason(), "secret_not_found");
  // An invalid path is refused before any policy is asked.
  EXPECT_EQ(env.service.Write(env.As(env.owner), "app/../x", "{}", std::nullopt).status().reason(),
            "invalid_path");
  EXPECT_EQ(env.commits.size(), 1u);  // none of the refused calls changed anything
  EXPECT_EQ(*env.ReadText(env.owner, "app/db"), R"({"a":1})");
}

TEST(SecretService, VersionsAreDeletedRestoredAndDestroyedWithTheirRecord) {
  Env env;
  const Caller owner = env.As(env.owner);
  ASSERT_TRUE(env.service.Write(owner, "app/db", R"({"v":1})", std::nullopt).ok());
  ASSERT_TRUE(env.service.Write(owner, "app/db", R"({"v":2})", std::nullopt).ok());
  env.commits.clear();

  ASSERT_TRUE(env.service.ChangeVersions(owner, "app/db", VersionAction::kSoftDelete, {1}).ok());
  EXPECT_EQ(env.ReadText(env.owner, "app/db", 1).status().reason(), "secret_not_found");
  ASSERT_TRUE(env.service.ChangeVersions(owner, "app/db", VersionAction::kUndelete, {1}).ok());
  EXPECT_EQ(*env.ReadText(env.owner, "app/db", 1), R"({"v":1})");
  ASSERT_TRUE(env.service.ChangeVersions(owner, "app/db", VersionAction::kDestroy, {1, 2}).ok());
  EXPECT_EQ(env.ReadText(env.owner, "app/db", 2).status().reason(), "secret_not_found");
  ASSERT_EQ(env.commits.size(), 3u);
  for (const Recorded& r : env.commits) EXPECT_EQ(r.resource, "secret:app/db");
  EXPECT_EQ(DetailText(env.commits[0]), std::vector<std::string>{"versions=1"});
  EXPECT_EQ(DetailText(env.commits[2]), std::vector<std::string>{"versions=1,2"});

  ASSERT_TRUE(env.service.Write(owner, "app/db", R"({"v":3})", std::nullopt).ok());
  ASSERT_TRUE(env.service.SoftDeleteCurrent(owner, "app/db").ok());
  EXPECT_EQ(DetailText(env.commits.back()), std::vector<std::string>{"versions=current"});
  EXPECT_EQ(env.ReadText(env.owner, "app/db").status().reason(), "secret_not_found");

  // No versions named is refused, never read as "the current one".
  const std::size_t before = env.commits.size();
  EXPECT_EQ(env.service.ChangeVersions(owner, "app/db", VersionAction::kDestroy, {}).reason(),
            "invalid_versions");
  EXPECT_EQ(env.commits.size(), before);

  auto meta = env.service.Metadata(owner, "app/db");
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ(meta->current_version, 3);
  ASSERT_TRUE(env.service.DeleteAll(owner, "app/db").ok());
  EXPECT_EQ(env.commits.back().resource, "secret:app/db");
  EXPECT_TRUE(env.commits.back().details.empty());
  EXPECT_EQ(env.service.Metadata(owner, "app/db").status().code(), ErrorCode::kNotFound);
}

TEST(SecretService, MetadataChangesRecordTheSettingsAndLoweringNeedsDelete) {
  Env env;
  const Caller owner = env.As(env.owner);
  MetadataUpdate update;
  update.max_versions = 5;
  update.cas_required = true;
  ASSERT_TRUE(env.service.UpdateMetadata(owner, "app/cfg", update).ok());
  ASSERT_EQ(env.commits.size(), 1u);
  EXPECT_EQ(env.commits[0].resource, "secret:app/cfg");
  EXPECT_EQ(DetailText(env.commits[0]),
            (std::vector<std::string>{"max_versions=5", "cas_required=true"}));
  auto meta = env.service.Metadata(owner, "app/cfg");
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ(meta->max_versions, 5);
  EXPECT_TRUE(meta->cas_required);
  EXPECT_EQ(env.service.UpdateMetadata(env.As(env.nobody), "app/cfg", update).reason(),
            "path_denied");
}

TEST(SecretService, ListShowsOnlyWhatTheCallerMaySee) {
  Env env;
  const Caller owner = env.As(env.owner);
  ASSERT_TRUE(env.service.Write(owner, "app/db/password", "{}", std::nullopt).ok());
  ASSERT_TRUE(env.service.Write(owner, "app/api", "{}", std::nullopt).ok());
  auto top = env.service.List(owner, "", false);
  ASSERT_TRUE(top.ok()) << top.status().ToString();
  EXPECT_EQ(*top, std::vector<std::string>{"app/"});
  auto level = env.service.List(owner, "app", false);
  ASSERT_TRUE(level.ok());
  EXPECT_EQ(*level, (std::vector<std::string>{"api", "db/"}));
  auto all = env.service.List(owner, "app/", true);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, (std::vector<std::string>{"api", "db/password"}));
  auto none = env.service.List(env.As(env.nobody), "", true);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

}  // namespace
}  // namespace bulwark::secrets

// SSO administration against a real migrated store: connection input checks, the sealed client
// secret (never in a receipt), the role source, domain verification through a fake resolver,
// ResolveSignIn's every rule and the require-SSO magic-link gate.
#include <gtest/gtest.h>

#include <map>

#include "../keyed_store_env.h"
#include "identity/directory.h"
#include "receipts/service.h"
#include "sso/accounts.h"
#include "sso/admin_store.h"
#include "sso/connections.h"
#include "sso/domains.h"

namespace bulwark::sso {
namespace {

using policy::Role;
namespace json = boost::json;

constexpr std::string_view kSecret = "s3cr3t-client-value-XYZ";

class FakeResolver : public TxtResolver {
 public:
  std::map<std::string, std::vector<std::string>> records;
  bool down = false;
  StatusOr<std::vector<std::string>> LookupTxt(std::string_view name) const override {
    if (down) return Status::Unavailable("dns_unavailable", "down");
    auto it = records.find(std::string(name));
    return it == records.end() ? std::vector<std::string>() : it->second;
  }
};

struct Env : bulwark::testing::KeyedStore {
  std::unique_ptr<receipts::ReceiptService> receipts;
  std::unique_ptr<ConnectionService> svc;
  FakeResolver resolver;
  DomainService domains{resolver};
  identity::directory::CreatedTenant tenant;
  identity::directory::CreatedTenant other;

  Env() {
    receipts = std::move(*receipts::ReceiptService::Open(*store, *keys));
    svc = std::make_unique<ConnectionService>(*keys, *receipts, ConnectionLimits{});
    auto tx = store->Begin(store::TxMode::kWrite);
    tenant = *identity::directory::CreateTenant(**tx, "acme", "ada@acme.test", 1000);
    other = *identity::directory::CreateTenant(**tx, "other", "bob@other.test", 1000);
    EXPECT_TRUE((*tx)->Commit().ok());
  }

  json::object GenericBody() {
    return json::object{{"preset", "generic"},
                        {"issuer", "https://idp.example.test"},
                        {"client_id", "bulwark"},
                        {"client_secret", kSecret},
                        {"allowed_domains", json::array{"Example.TEST"}},
                        {"role_mapping", json::object{{"groups", json::object{{"eng", "member"},
                                                                              {"ops", "admin"}}}}}};
  }

  std::string ReasonOf(const json::object& body, bool creating = true) {
    auto in = svc->ParseInput(body, creating);
    return in.ok() ? "ok" : in.status().reason();
  }

  Connection MustCreate(json::object body, std::string_view tenant_id) {
    auto in = svc->ParseInput(body, true);
    EXPECT_TRUE(in.ok()) << in.status().ToString();
    auto c = Write([&](store::Transaction& tx) {
      return svc->Create(tx, tenant_id, "usr_actor", std::move(*in), 2000);
    });
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c->connection;
  }

  void VerifyDomain(std::string_view tenant_id, std::string_view name) {
    auto claimed = Write([&](store::Transaction& tx) { return domains.Claim(tx, tenant_id, name, 1); });
    ASSERT_TRUE(claimed.ok()) << claimed.status().ToString();
    resolver.records[claimed->RecordName()] = {"v=spf1 -all", claimed->TxtRecord()};
    auto proven = domains.ProveRecord(*store, tenant_id, name);
    ASSERT_TRUE(proven.ok()) << proven.status().ToString();
    auto marked = Write([&](store::Transaction& tx) {
      return domains.MarkVerified(tx, tenant_id, *proven, 2);
    });
    ASSERT_TRUE(marked.ok()) << marked.status().ToString();
  }

  std::int64_t Count(std::string_view sql) {
    auto tx = store->Begin(store::TxMode::kRead);
    return (*(*tx)->Query(sql))[0][0].as_int();
  }
};

TEST(SsoConnections, ParsesDefaultsPerPreset) {
  Env env;
  auto in = env.svc->ParseInput(env.GenericBody(), true);
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  EXPECT_EQ(in->fields.scopes, (std::vector<std::string>{"openid", "email", "profile"}));
  EXPECT_EQ(in->fields.allowed_domains, (std::vector<std::string>{"example.test"}));
  EXPECT_EQ(in->fields.max_session_s, 8 * 3600);  // no back-channel logout: the shorter default
  EXPECT_EQ(in->fields.groups_claim, "groups");

  auto google = env.svc->ParseInput(
      json::object{{"preset", "google"}, {"client_id", "x"}, {"client_secret", "y"},
                   {"allowed_domains", json::array{"acme.test"}},
                   {"hd_values", json::array{"acme.test"}}},
      true);
  ASSERT_TRUE(google.ok()) << google.status().ToString();
  EXPECT_EQ(google->fields.issuer, kGoogleIssuer);

  auto entra = env.svc->ParseInput(
      json::object{{"preset", "entra"}, {"client_id", "x"}, {"client_secret", "y"},
                   {"allowed_domains", json::array{"acme.test"}},
                   {"entra_tenants", json::array{"72F988BF-86F1-41AF-91AB-2D7CD011DB47"}},
                   {"backchannel_logout", true}},
      true);
  ASSERT_TRUE(entra.ok()) << entra.status().ToString();
  EXPECT_EQ(entra->fields.issuer, kEntraIssuerTemplate);
  EXPECT_EQ(entra->fields.entra_tenants[0], "72f988bf-86f1-41af-91ab-2d7cd011db47");
  EXPECT_EQ(entra->fields.max_session_s, 7 * 24 * 3600);
}

TEST(SsoConnections, RefusesBadInputWithStableReasons) {
  Env env;
  auto with = [&](std::string_view key, json::value v) {
    json::object b = env.GenericBody();
    b[key] = std::move(v);
    return env.ReasonOf(b);
  };
  auto without = [&](std::string_view key) {
    json::object b = env.GenericBody();
    b.erase(key);
    return env.ReasonOf(b);
  };
  EXPECT_EQ(with("preset", "azure"), "invalid_preset");
  EXPECT_EQ(with("issuer", "http://idp.example.test"), "invalid_issuer");
  EXPECT_EQ(with("issuer", "https://idp.example.test/?x=1"), "invalid_issuer");
  EXPECT_EQ(with("issuer", "https://login.microsoftonline.com/{tenantid}/v2.0"), "invalid_issuer");
  EXPECT_EQ(with("issuer", "http://127.0.0.1:8443"), "ok");
  EXPECT_EQ(without("issuer"), "invalid_issuer");
  EXPECT_EQ(with("client_id", ""), "invalid_client_id");
  EXPECT_EQ(without("client_secret"), "invalid_client_secret");
  EXPECT_EQ(with("client_secret", "has space"), "invalid_client_secret");
  EXPECT_EQ(with("scopes", json::array{"email"}), "invalid_scopes");
  EXPECT_EQ(with("allowed_domains", json::array{"not a domain"}), "invalid_domain");
  EXPECT_EQ(with("allowed_domains", json::array{}), "invalid_domain");
  EXPECT_EQ(with("role_mapping", json::object{{"default_role", "owner"}}), "owner_not_mappable");
  EXPECT_EQ(with("max_session_s", 9 * 3600), "invalid_max_session");
  EXPECT_EQ(with("max_session_s", 10), "invalid_max_session");
  EXPECT_EQ(with("hd_values", json::array{"example.test"}), "invalid_body");
  EXPECT_EQ(with("surprise", 1), "invalid_body");
  json::object google{{"preset", "google"}, {"client_id", "x"}, {"client_secret", "y"},
                      {"allowed_domains", json::array{"acme.test"}}};
  EXPECT_EQ(env.ReasonOf(google), "hd_required");
  google["issuer"] = "https://evil.example.test";
  EXPECT_EQ(env.ReasonOf(google), "invalid_issuer");
  json::object entra{{"preset", "entra"}, {"client_id", "x"}, {"client_secret", "y"},
                     {"allowed_domains", json::array{"acme.test"}}};
  EXPECT_EQ(env.ReasonOf(entra), "entra_tenants_required");
  entra["entra_tenants"] = json::array{"not-a-guid"};
  EXPECT_EQ(env.ReasonOf(entra), "invalid_entra_tenant");
  // On update the secret may be left out (it is kept).
  json::object b = env.GenericBody();
  b.erase("client_secret");
  EXPECT_EQ(env.ReasonOf(b, false), "ok");
}

TEST(SsoConnections, SecretSealedBoundAndNeverInReceipts) {
  Env env;
  Connection c = env.MustCreate(env.GenericBody(), env.tenant.tenant_id);
  {
    auto tx = env.store->Begin(store::TxMode::kRead);
    auto secret = env.svc->ClientSecret(**tx, c);
    ASSERT_TRUE(secret.ok()) << secret.status().ToString();
    EXPECT_EQ(secret->reveal_string_view(), kSecret);
    // The stored bytes are not the secret, and another tenant cannot reach the row.
    auto rows = (*tx)->Query("SELECT client_secret_sealed FROM sso_connections");
    std::string stored(rows->at(0)[0].as_bytes().begin(), rows->at(0)[0].as_bytes().end());
    EXPECT_EQ(stored.find(kSecret), std::string::npos);
    EXPECT_FALSE(env.svc->Get(**tx, env.other.tenant_id, c.id)->has_value());
    Connection moved = c;
    moved.tenant_id = env.other.tenant_id;
    EXPECT_FALSE(env.svc->ClientSecret(**tx, moved).ok());
  }
  // A ciphertext copied onto another connection of the tenant does not open there (AAD).
  json::object b2 = env.GenericBody();
  b2["issuer"] = "https://idp2.example.test";
  Connection c2 = env.MustCreate(b2, env.tenant.tenant_id);
  ASSERT_TRUE(env.Write([&](store::Transaction& tx) {
                   return tx.Exec("UPDATE sso_connections SET client_secret_sealed = (SELECT "
                                  "client_secret_sealed FROM sso_connections WHERE id = ?) "
                                  "WHERE id = ?",
                                  {store::Value::Text(c.id), store::Value::Text(c2.id)});
                 }).ok());
  {
    auto tx = env.store->Begin(store::TxMode::kRead);
    EXPECT_EQ(env.svc->ClientSecret(**tx, c2).status().code(), ErrorCode::kIntegrity);
    auto all = (*tx)->Query("SELECT payload, disclosures FROM receipts");
    ASSERT_GE(all->size(), 2u);
    for (const auto& r : *all) {
      std::string row;
      for (const auto& col : r) {
        if (col.is_text()) row += col.as_text();
        if (col.is_bytes()) row.append(col.as_bytes().begin(), col.as_bytes().end());
      }
      EXPECT_EQ(row.find(kSecret), std::string::npos);
      EXPECT_NE(row.find("idp.config_change"), std::string::npos);
    }
  }
}

TEST(SsoConnections, UpdateKeepsOrReplacesSecretAndConflictsAreRefused) {
  Env env;
  Connection c = env.MustCreate(env.GenericBody(), env.tenant.tenant_id);
  json::object b = env.GenericBody();
  b.erase("client_secret");
  b["enabled"] = false;
  auto in = env.svc->ParseInput(b, false);
  ASSERT_TRUE(in.ok());
  auto up = env.Write([&](store::Transaction& tx) {
    return env.svc->Update(tx, env.tenant.tenant_id, c.id, "usr_actor", std::move(*in), 3000);
  });
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  EXPECT_FALSE(up->client_secret_changed);
  {
    auto tx = env.store->Begin(store::TxMode::kRead);
    EXPECT_EQ(env.svc->ClientSecret(**tx, c)->reveal_string_view(), kSecret);
    EXPECT_FALSE((*env.svc->Get(**tx, env.tenant.tenant_id, c.id))->enabled);
  }
  // The same issuer twice in one tenant: 409; in another tenant: fine.
  auto dup = env.svc->ParseInput(env.GenericBody(), true);
  auto refused = env.Write([&](store::Transaction& tx) {
    return env.svc->Create(tx, env.tenant.tenant_id, "usr_actor", std::move(*dup), 1);
  });
  EXPECT_EQ(refused.status().reason(), "connection_exists");
  env.MustCreate(env.GenericBody(), env.other.tenant_id);
  // Another tenant's connection is not found for update or delete.
  auto in2 = env.svc->ParseInput(env.GenericBody(), false);
  auto cross = env.Write([&](store::Transaction& tx) {
    return env.svc->Update(tx, env.other.tenant_id, c.id, "usr_x", std::move(*in2), 1);
  });
  EXPECT_EQ(cross.status().reason(), "connection_not_found");
  auto del = env.Write([&](store::Transaction& tx) {
    return env.svc->Delete(tx, env.other.tenant_id, c.id, "usr_x", 1);
  });
  EXPECT_EQ(del.status().reason(), "connection_not_found");
  EXPECT_EQ(env.Count("SELECT COUNT(*) FROM sso_connections"), 2);
}

TEST(SsoConnections, RoleSourceIsTheUnionOfEnabledConnections) {
  Env env;
  env.MustCreate(env.GenericBody(), env.tenant.tenant_id);
  json::object b = env.GenericBody();
  b["issuer"] = "https://idp2.example.test";
  b["role_mapping"] = json::object{{"groups", json::object{{"eng", "admin"}, {"qa", "viewer"}}},
                                   {"default_role", "viewer"}};
  env.MustCreate(b, env.tenant.tenant_id);
  json::object off = env.GenericBody();
  off["issuer"] = "https://idp3.example.test";
  off["enabled"] = false;
  off["role_mapping"] = json::object{{"groups", json::object{{"sec", "admin"}}}};
  env.MustCreate(off, env.tenant.tenant_id);
  ConnectionRoleSource source;
  auto tx = env.store->Begin(store::TxMode::kRead);
  auto map = source.ForTenant(**tx, env.tenant.tenant_id);
  ASSERT_TRUE(map.ok());
  std::vector<std::string> eng{"eng"}, sec{"sec"}, none{};
  EXPECT_EQ(RoleForGroups(*map, eng), Role::kAdmin);
  EXPECT_EQ(RoleForGroups(*map, sec), Role::kViewer);  // the disabled one's group is not mapped
  EXPECT_EQ(map->default_role, Role::kViewer);
  EXPECT_TRUE(source.ForTenant(**tx, env.other.tenant_id)->entries.empty());
}

TEST(SsoDomains, ClaimVerifyAndRefusals) {
  Env env;
  auto claimed = env.Write([&](store::Transaction& tx) {
    return env.domains.Claim(tx, env.tenant.tenant_id, "Example.TEST.", 1);
  });
  ASSERT_TRUE(claimed.ok());
  EXPECT_EQ(claimed->domain, "example.test");
  EXPECT_EQ(claimed->RecordName(), "_bulwark-challenge.example.test");
  EXPECT_EQ(claimed->TxtRecord(), "bulwark-domain-verification=" + claimed->token);
  EXPECT_EQ(env.domains.ProveRecord(*env.store, env.tenant.tenant_id, "example.test")
                .status().reason(), "domain_record_missing");
  env.resolver.records[claimed->RecordName()] = {"bulwark-domain-verification=wrong"};
  EXPECT_EQ(env.domains.ProveRecord(*env.store, env.tenant.tenant_id, "example.test")
                .status().reason(), "domain_token_mismatch");
  env.resolver.down = true;
  EXPECT_EQ(env.domains.ProveRecord(*env.store, env.tenant.tenant_id, "example.test")
                .status().reason(), "dns_unavailable");
  env.resolver.down = false;
  EXPECT_EQ(env.domains.ProveRecord(*env.store, env.other.tenant_id, "example.test")
                .status().reason(), "domain_not_found");
  env.resolver.records[claimed->RecordName()] = {claimed->TxtRecord()};
  auto proven = env.domains.ProveRecord(*env.store, env.tenant.tenant_id, "example.test");
  ASSERT_TRUE(proven.ok());
  ASSERT_TRUE(env.Write([&](store::Transaction& tx) {
                   return env.domains.MarkVerified(tx, env.tenant.tenant_id, *proven, 5);
                 }).ok());
  // The other tenant claims it too, publishes its own record, and is refused at verification.
  auto theirs = env.Write([&](store::Transaction& tx) {
    return env.domains.Claim(tx, env.other.tenant_id, "example.test", 1);
  });
  ASSERT_TRUE(theirs.ok());
  env.resolver.records[theirs->RecordName()] = {theirs->TxtRecord()};
  auto their_proof = env.domains.ProveRecord(*env.store, env.other.tenant_id, "example.test");
  ASSERT_TRUE(their_proof.ok());
  auto refused = env.Write([&](store::Transaction& tx) {
    return env.domains.MarkVerified(tx, env.other.tenant_id, *their_proof, 6);
  });
  EXPECT_EQ(refused.status().reason(), "domain_verified_elsewhere");
  EXPECT_EQ(env.Count("SELECT COUNT(*) FROM sso_domains WHERE verified_at IS NOT NULL"), 1);
  // Once the first tenant is deleted, its verification no longer holds the domain.
  ASSERT_TRUE(env.Write([&](store::Transaction& tx) {
                   return tx.Exec("UPDATE tenants SET deleted_at = 7 WHERE id = ?",
                                  {store::Value::Text(env.tenant.tenant_id)});
                 }).ok());
  auto after = env.Write([&](store::Transaction& tx) {
    return env.domains.MarkVerified(tx, env.other.tenant_id, *their_proof, 8);
  });
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(env.Count("SELECT COUNT(*) FROM sso_domains"), 1);
  for (std::string_view bad : {"", "nodot", "-a.test", "a-.test", "a..test", "a b.test", "é.test"}) {
    EXPECT_EQ(NormalizeDomain(bad).status().reason(), "invalid_domain") << bad;
  }
}

struct SignInEnv : Env {
  Connection conn;
  SignInEnv() {
    VerifyDomain(tenant.tenant_id, "example.test");
    conn = MustCreate(GenericBody(), tenant.tenant_id);
  }
  ExternalIdentity Who(std::string sub, std::string email, std::vector<std::string> groups) {
    return ExternalIdentity{.issuer = conn.issuer, .subject = std::move(sub),
                            .email = std::move(email), .email_verified = true,
                            .groups = std::move(groups)};
  }
  StatusOr<SignIn> Resolve(const Connection& c, const ExternalIdentity& id) {
    return Write([&](store::Transaction& tx) { return ResolveSignIn(tx, c, id, 5000); });
  }
  std::string Reason(const Connection& c, const ExternalIdentity& id) {
    auto r = Resolve(c, id);
    if (r.ok() && !r->refused.ok()) return r->refused.reason();
    return r.ok() ? "ok" : r.status().reason();
  }
};

TEST(SsoAccounts, JitCreatesThenRolesAreFullyReplaced) {
  SignInEnv env;
  auto first = env.Resolve(env.conn, env.Who("sub-1", "eve@example.test", {"ops", "eng"}));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(first->created);
  EXPECT_TRUE(first->membership_created);
  EXPECT_EQ(first->role, Role::kAdmin);
  auto second = env.Resolve(env.conn, env.Who("sub-1", "eve@example.test", {"eng"}));
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->created);
  EXPECT_EQ(second->user_id, first->user_id);
  EXPECT_EQ(second->previous_role, Role::kAdmin);
  EXPECT_EQ(second->role, Role::kMember);  // the old group's role is gone
  auto tx = env.store->Begin(store::TxMode::kRead);
  auto m = identity::directory::GetMember(**tx, env.tenant.tenant_id, first->user_id);
  EXPECT_EQ((*m)->role, Role::kMember);
}

TEST(SsoAccounts, EachRefusalHasItsReasonAndWritesNothing) {
  SignInEnv env;
  const auto users = env.Count("SELECT COUNT(*) FROM users");
  ExternalIdentity unverified = env.Who("s", "eve@example.test", {"eng"});
  unverified.email_verified = false;
  EXPECT_EQ(env.Reason(env.conn, unverified), "email_unverified");
  EXPECT_EQ(env.Reason(env.conn, env.Who("s", "eve@unverified.test", {"eng"})),
            "domain_unverified");
  // Verified by the tenant but not among the connection's allowed domains.
  env.VerifyDomain(env.tenant.tenant_id, "other-allowed.test");
  EXPECT_EQ(env.Reason(env.conn, env.Who("s", "eve@other-allowed.test", {"eng"})),
            "domain_unverified");
  EXPECT_EQ(env.Reason(env.conn, env.Who("s", "eve@example.test", {"nothing"})), "no_role_mapped");
  ExternalIdentity overage = env.Who("s", "eve@example.test", {"ops"});
  overage.groups_overage = true;
  EXPECT_EQ(env.Reason(env.conn, overage), "no_role_mapped");
  Connection disabled = env.conn;
  disabled.enabled = false;
  EXPECT_EQ(env.Reason(disabled, env.Who("s", "eve@example.test", {"eng"})), "sso_disabled");
  Connection google = env.conn;
  google.preset = Preset::kGoogle;
  google.hd_values = {"example.test"};
  ExternalIdentity g = env.Who("s", "eve@example.test", {"eng"});
  g.hd = "gmail.com";
  EXPECT_EQ(env.Reason(google, g), "hd_mismatch");
  g.hd = "";
  EXPECT_EQ(env.Reason(google, g), "hd_mismatch");
  Connection entra = env.conn;
  entra.preset = Preset::kEntra;
  entra.entra_tenants = {"72f988bf-86f1-41af-91ab-2d7cd011db47"};
  ExternalIdentity e = env.Who("", "eve@example.test", {"eng"});
  e.tid = "00000000-0000-0000-0000-000000000000";
  e.subject = EntraSubject(e.tid, "oid-1");
  EXPECT_EQ(env.Reason(entra, e), "tenant_not_allowed");
  e.tid = entra.entra_tenants[0];
  EXPECT_EQ(env.Reason(entra, e), "tenant_not_allowed");  // the subject names another tid
  e.subject = EntraSubject(e.tid, "");
  EXPECT_EQ(env.Reason(entra, e), "tenant_not_allowed");  // no oid
  e.subject = EntraSubject(e.tid, "oid-1");
  EXPECT_EQ(env.Reason(entra, e), "ok");
  EXPECT_EQ(env.Count("SELECT COUNT(*) FROM users"), users + 1);  // only the last one
}

TEST(SsoAccounts, NeverLinksByEmail) {
  SignInEnv env;
  // An account made by magic link (not linked to any identity): an IdP asserting its email is
  // refused, whatever the subject.
  ASSERT_TRUE(env.Write([&](store::Transaction& tx) {
                   return identity::directory::EnsureUser(tx, "mallory@example.test", 1);
                 }).ok());
  EXPECT_EQ(env.Reason(env.conn, env.Who("any", "mallory@example.test", {"eng"})),
            "identity_conflict");
  // An account linked to subject A: subject B with the same email is refused.
  ASSERT_TRUE(env.Resolve(env.conn, env.Who("A", "eve@example.test", {"eng"})).ok());
  EXPECT_EQ(env.Reason(env.conn, env.Who("B", "eve@example.test", {"eng"})), "identity_conflict");
  // Subject A changing its email at the IdP keeps the same account.
  auto moved = env.Resolve(env.conn, env.Who("A", "eve2@example.test", {"eng"}));
  ASSERT_TRUE(moved.ok());
  EXPECT_FALSE(moved->created);
}

TEST(SsoAccounts, OwnersAreNeverMadeNorDemoted) {
  SignInEnv env;
  // The mapping cannot produce an owner (ParseGroupRoleMap refuses it); an existing owner linked
  // to an identity stays owner whatever the groups say, even with none mapped.
  auto linked = env.Resolve(env.conn, env.Who("owner-sub", "olga@example.test", {"eng"}));
  ASSERT_TRUE(linked.ok());
  ASSERT_TRUE(env.Write([&](store::Transaction& tx) {
                   return identity::directory::ChangeRole(tx, env.tenant.tenant_id, Role::kOwner,
                                                          linked->user_id, Role::kOwner);
                 }).ok());
  auto again = env.Resolve(env.conn, env.Who("owner-sub", "olga@example.test", {"viewers-only"}));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->role, Role::kOwner);
  EXPECT_EQ(again->previous_role, Role::kOwner);
}

TEST(SsoAccounts, GroupsMappingToNoRoleRemoveAnExistingMemberButAnOverageDoesNot) {
  SignInEnv env;
  auto in = env.Resolve(env.conn, env.Who("m", "mia@example.test", {"ops"}));
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  auto role = [&]() {
    auto tx = env.store->Begin(store::TxMode::kRead);
    auto m = identity::directory::GetMember(**tx, env.tenant.tenant_id, in->user_id);
    return *m ? std::string(policy::RoleName((*m)->role)) : std::string("none");
  };
  // An overage gives no role even with a default_role (docs/sso.md): the groups are unknown.
  Connection with_default = env.conn;
  with_default.role_map.default_role = Role::kViewer;
  ExternalIdentity overage = env.Who("m", "mia@example.test", {});
  overage.groups_overage = true;
  EXPECT_EQ(env.Reason(with_default, overage), "no_role_mapped");
  EXPECT_EQ(env.Reason(with_default, env.Who("n", "nia@example.test", {"unmapped"})), "ok");
  EXPECT_EQ(role(), "admin");  // unknown groups: refused, nothing concluded
  auto none = env.Resolve(env.conn, env.Who("m", "mia@example.test", {"unmapped"}));
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_EQ(none->refused.reason(), "no_role_mapped");
  EXPECT_TRUE(none->membership_removed);
  EXPECT_EQ(none->previous_role, Role::kAdmin);
  EXPECT_EQ(role(), "none");  // the role is replaced by none, not left over
}

TEST(SsoRequire, MagicLinkGateAndItsPreconditions) {
  SignInEnv env;
  const std::string t = env.tenant.tenant_id;
  const std::string owner = env.tenant.owner_user_id;
  auto member = env.Resolve(env.conn, env.Who("m", "mia@example.test", {"eng"}));
  ASSERT_TRUE(member.ok());
  auto check = [&](const std::string& user) {
    auto tx = env.store->Begin(store::TxMode::kRead);
    return CheckMagicLink(**tx, t, user);
  };
  EXPECT_EQ(*check(member->user_id), MagicLinkUse::kAllowed);
  // Turning it on needs a break-glass owner.
  EXPECT_EQ(env.Write([&](store::Transaction& tx) -> StatusOr<bool> {
                 BULWARK_RETURN_IF_ERROR(SetRequiresSso(tx, t, true));
                 return true;
               }).status().reason(),
            "no_breakglass_owner");
  ASSERT_TRUE(env.Write([&](store::Transaction& tx) {
                   return tx.Exec("UPDATE memberships SET breakglass_designated = 1 WHERE "
                                  "user_id = ?", {store::Value::Text(owner)});
                 }).ok());
  ASSERT_TRUE(env.Write([&](store::Transaction& tx) -> StatusOr<bool> {
                   BULWARK_RETURN_IF_ERROR(SetRequiresSso(tx, t, true));
                   return true;
                 }).ok());
  EXPECT_EQ(check(member->user_id).status().reason(), "sso_required");
  EXPECT_EQ(*check(owner), MagicLinkUse::kBreakglass);
  // Another tenant is unaffected.
  auto tx = env.store->Begin(store::TxMode::kRead);
  EXPECT_EQ(*CheckMagicLink(**tx, env.other.tenant_id, env.other.owner_user_id),
            MagicLinkUse::kAllowed);
}

}  // namespace
}  // namespace bulwark::sso

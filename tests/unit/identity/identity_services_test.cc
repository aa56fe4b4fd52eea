// The identity services against a real migrated SQLite store: tenants and owner rules, magic
// links (single use, expiry), sessions (rotation, reuse, revocation seen on the next check),
// TOTP (replay, lockout, recovery codes, sealed seeds) and invitations.
#include <gtest/gtest.h>

#include <thread>

#include "../keyed_store_env.h"
#include "core/clock.h"
#include "crypto/encoding.h"
#include "crypto/totp.h"
#include "stages/rate_limit_stage.h"
#include "identity/api_keys.h"
#include "identity/directory.h"
#include "identity/invites.h"
#include "identity/magic_links.h"
#include "identity/mfa.h"
#include "identity/sessions.h"
#include "identity/tokens.h"

namespace bulwark::identity {
namespace {

using policy::Role;
using store::TxMode;
using store::Value;

constexpr std::int64_t kNow = 1'800'000'000;

struct Env : bulwark::testing::KeyedStore {
  std::int64_t Count(const std::string& sql) {
    auto tx = store->Begin(TxMode::kRead);
    auto rows = (*tx)->Query(sql);
    EXPECT_TRUE(rows.ok());
    return (*rows)[0][0].as_int();
  }
};

std::vector<std::uint8_t> Base32Decode(std::string_view s) {
  std::vector<std::uint8_t> out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (char c : s) {
    const int v = c >= 'A' && c <= 'Z' ? c - 'A' : c - '2' + 26;
    buffer = (buffer << 5) | static_cast<std::uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      out.push_back(static_cast<std::uint8_t>(buffer >> (bits - 8)));
      bits -= 8;
    }
  }
  return out;
}

// ---- tokens --------------------------------------------------------------------------------

TEST(IdentityTokensTest, TokensAreUniquePrefixedAndStoredOnlyAsTheirHash) {
  auto a = NewToken("bwm_");
  auto b = NewToken("bwm_");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->text, b->text);
  EXPECT_TRUE(LooksLikeToken(a->text, "bwm_"));
  EXPECT_FALSE(LooksLikeToken(a->text, "bwr_"));
  EXPECT_EQ(a->hash, HashToken(a->text));
  EXPECT_FALSE(LooksLikeToken(a->text + "x", "bwm_"));
  EXPECT_FALSE(LooksLikeToken(a->text.substr(0, a->text.size() - 1), "bwm_"));
  EXPECT_FALSE(LooksLikeToken("bwm_" + std::string(42, 'A') + "=", "bwm_"));
  EXPECT_FALSE(LooksLikeToken(std::string(200, 'a'), "bwm_"));
}

TEST(IdentityTokensTest, EmailsAreNormalizedOrRefused) {
  EXPECT_EQ(*NormalizeEmail("  Ada@Acme.TEST "), "ada@acme.test");
  for (const char* bad : {"", "ada", "@acme.test", "ada@", "ada@acme", "a@b@c.d", "ada@.acme",
                          "ada@acme.", "a da@acme.test", "ada@acme.test\r\nBcc: x@y.z",
                          "<ada@acme.test>", "ada\"@acme.test", "ad\xC3\xA9@acme.test"}) {
    EXPECT_EQ(NormalizeEmail(bad).status().reason(), "invalid_email") << bad;
  }
  EXPECT_FALSE(NormalizeEmail(std::string(250, 'a') + "@b.cd").ok());
}

// ---- directory -----------------------------------------------------------------------------

TEST(DirectoryTest, CreateTenantMakesTheOwnerAndRefusesDuplicatesAndBadNames) {
  Env env;
  auto t = env.Write(
      [](auto& tx) { return directory::CreateTenant(tx, "acme", "Ada@acme.test", kNow); });
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(
      env.Write([](auto& tx) { return directory::CreateTenant(tx, "acme", "bo@x.test", kNow); })
          .status()
          .reason(),
      "tenant_exists");
  for (const char* bad : {"", "Acme", "-acme", "ac me", "acme/../x", "ácme"}) {
    EXPECT_EQ(
        env.Write([&](auto& tx) { return directory::CreateTenant(tx, bad, "bo@x.test", kNow); })
            .status()
            .reason(),
        "invalid_tenant_name")
        << bad;
  }
  EXPECT_EQ(env.Count("SELECT COUNT(*) FROM tenants"), 1);
  EXPECT_EQ(env.Count("SELECT COUNT(*) FROM users"), 1);
  auto tx = env.store->Begin(TxMode::kRead);
  auto members = directory::ListMembers(**tx, t->tenant_id);
  ASSERT_TRUE(members.ok());
  ASSERT_EQ(members->size(), 1u);
  EXPECT_EQ((*members)[0].email, "ada@acme.test");
  EXPECT_EQ((*members)[0].role, Role::kOwner);
}

TEST(DirectoryTest, OwnerRulesAndTheLastOwner) {
  Env env;
  auto t = env.Write(
      [](auto& tx) { return directory::CreateTenant(tx, "acme", "ada@acme.test", kNow); });
  ASSERT_TRUE(t.ok());
  const std::string tenant = t->tenant_id, ada = t->owner_user_id;
  auto bo = env.Write([&](auto& tx) -> StatusOr<std::string> {
    BULWARK_ASSIGN_OR_RETURN(std::string id, directory::EnsureUser(tx, "bo@acme.test", kNow));
    BULWARK_RETURN_IF_ERROR(directory::AddMember(tx, tenant, id, Role::kAdmin, kNow));
    return id;
  });
  ASSERT_TRUE(bo.ok());
  const auto change = [&](Role actor, const std::string& who, Role to) {
    return env.Write([&](auto& tx) -> StatusOr<bool> {
      BULWARK_RETURN_IF_ERROR(directory::ChangeRole(tx, tenant, actor, who, to));
      return true;
    });
  };
  const auto remove = [&](Role actor, const std::string& who) {
    return env.Write([&](auto& tx) -> StatusOr<bool> {
      BULWARK_RETURN_IF_ERROR(directory::RemoveMember(tx, tenant, actor, who));
      return true;
    });
  };
  EXPECT_EQ(change(Role::kAdmin, ada, Role::kMember).status().reason(),
            "owner_required");  // admin on an owner
  EXPECT_EQ(change(Role::kAdmin, *bo, Role::kOwner).status().reason(),
            "owner_required");  // admin makes owner
  EXPECT_EQ(remove(Role::kAdmin, ada).status().reason(), "owner_required");
  EXPECT_EQ(change(Role::kOwner, ada, Role::kAdmin).status().reason(), "last_owner");
  EXPECT_EQ(remove(Role::kOwner, ada).status().reason(), "last_owner");
  EXPECT_EQ(change(Role::kOwner, "usr_nobody", Role::kViewer).status().reason(),
            "member_not_found");
  EXPECT_TRUE(change(Role::kOwner, *bo, Role::kOwner).ok());
  EXPECT_TRUE(change(Role::kOwner, ada, Role::kViewer).ok());  // no longer the last owner
  EXPECT_TRUE(remove(Role::kOwner, ada).ok());
  EXPECT_EQ(env.Count("SELECT COUNT(*) FROM memberships"), 1);
}

// ---- magic links ---------------------------------------------------------------------------

TEST(MagicLinkTest, SingleUseAndExpiry) {
  Env env;
  auto t = env.Write(
      [](auto& tx) { return directory::CreateTenant(tx, "acme", "ada@acme.test", kNow); });
  auto link =
      env.Write([&](auto& tx) { return magic_links::Issue(tx, t->owner_user_id, kNow, 900); });
  ASSERT_TRUE(link.ok());
  auto first = env.Write([&](auto& tx) { return magic_links::Consume(tx, link->text, kNow + 10); });
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, t->owner_user_id);
  EXPECT_EQ(env.Write([&](auto& tx) { return magic_links::Consume(tx, link->text, kNow + 11); })
                .status()
                .reason(),
            "invalid_token");
  auto late =
      env.Write([&](auto& tx) { return magic_links::Issue(tx, t->owner_user_id, kNow, 900); });
  EXPECT_EQ(env.Write([&](auto& tx) { return magic_links::Consume(tx, late->text, kNow + 900); })
                .status()
                .reason(),
            "invalid_token");
  for (const std::string& bad : std::vector<std::string>{"", "bwm_", "bwr_" + late->text.substr(4),
                                                         std::string(4096, 'a')}) {
    EXPECT_EQ(
        env.Write([&](auto& tx) { return magic_links::Consume(tx, bad, kNow); }).status().code(),
        ErrorCode::kUnauthenticated);
  }
  EXPECT_EQ(env.Count("SELECT COUNT(*) FROM magic_links WHERE consumed_at IS NOT NULL"), 1);
}

TEST(MagicLinkTest, ConcurrentConsumersExactlyOneWins) {
  Env env;
  auto t = env.Write(
      [](auto& tx) { return directory::CreateTenant(tx, "acme", "ada@acme.test", kNow); });
  for (int round = 0; round < 5; ++round) {
    auto link =
        env.Write([&](auto& tx) { return magic_links::Issue(tx, t->owner_user_id, kNow, 900); });
    std::atomic<int> wins{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) {
      threads.emplace_back([&] {
        if (env.Write([&](auto& tx) { return magic_links::Consume(tx, link->text, kNow + 1); })
                .ok())
          ++wins;
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(wins.load(), 1) << round;
  }
}

// ---- sessions ------------------------------------------------------------------------------

struct SessionEnv : Env {
  std::unique_ptr<SessionService> sessions;
  directory::CreatedTenant tenant;
  SessionEnv() {
    auto s = SessionService::Open(*store, *keys, {});
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    sessions = std::move(*s);
    tenant =
        *Write([](auto& tx) { return directory::CreateTenant(tx, "acme", "ada@acme.test", kNow); });
  }
  SessionTokens Start(std::int64_t now) {
    return *Write(
        [&](auto& tx) { return sessions->Start(tx, tenant.owner_user_id, tenant.tenant_id, now); });
  }
  RefreshResult Refresh(const std::string& token, std::int64_t now) {
    return *Write([&](auto& tx) { return sessions->Refresh(tx, token, now); });
  }
};

TEST(SessionTest, AccessTokenAuthenticatesWithTheStoredRole) {
  SessionEnv env;
  const std::int64_t now = core::NowUnixSeconds();
  SessionTokens t = env.Start(now);
  auto p = env.sessions->Authenticate(t.access_token, now);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->kind, core::Principal::Kind::kUser);
  EXPECT_EQ(p->id, env.tenant.owner_user_id);
  EXPECT_EQ(p->tenant_id, env.tenant.tenant_id);
  EXPECT_EQ(p->role, "owner");
  EXPECT_EQ(p->session_id, t.session_id);
  EXPECT_EQ(env.sessions->Authenticate(t.access_token, now + 900 + 31).status().reason(),
            "token_expired");  // past 30 s of leeway
  EXPECT_EQ(env.sessions->Authenticate(t.access_token + "x", now).status().code(),
            ErrorCode::kUnauthenticated);
  EXPECT_EQ(env.sessions->Authenticate(t.refresh_token, now).status().code(),
            ErrorCode::kUnauthenticated);
}

TEST(SessionTest, RefreshRotatesAndAReuseRevokesTheWholeFamily) {
  SessionEnv env;
  const std::int64_t now = core::NowUnixSeconds();
  SessionTokens t0 = env.Start(now);
  RefreshResult r1 = env.Refresh(t0.refresh_token, now + 1);
  ASSERT_TRUE(r1.status.ok()) << r1.status.ToString();
  ASSERT_TRUE(r1.tokens);
  EXPECT_NE(r1.tokens->refresh_token, t0.refresh_token);
  ASSERT_TRUE(env.sessions->Authenticate(r1.tokens->access_token, now + 1).ok());
  // The rotated token comes back: the thief or the victim, either way the family ends.
  RefreshResult reuse = env.Refresh(t0.refresh_token, now + 2);
  EXPECT_TRUE(reuse.reused);
  EXPECT_EQ(reuse.status.reason(), "refresh_reused");
  EXPECT_EQ(reuse.session_id, t0.session_id);
  env.sessions->InvalidateSession(reuse.session_id);
  EXPECT_EQ(env.sessions->Authenticate(r1.tokens->access_token, now + 2).status().reason(),
            "session_revoked");
  RefreshResult after = env.Refresh(r1.tokens->refresh_token, now + 3);
  EXPECT_FALSE(after.tokens);
  EXPECT_EQ(after.status.reason(), "session_revoked");
  EXPECT_EQ(env.Refresh("bwr_" + std::string(43, 'A'), now).status.reason(),
            "invalid_refresh_token");
}

TEST(SessionTest, IdleAndAbsoluteTimeoutsEndTheSession) {
  SessionEnv env;
  const std::int64_t now = core::NowUnixSeconds();
  SessionTokens t = env.Start(now);
  RefreshResult idle = env.Refresh(t.refresh_token, now + SessionOptions{}.idle_timeout_s + 1);
  EXPECT_EQ(idle.status.reason(), "session_expired");
  SessionTokens t2 = env.Start(now);
  std::string refresh = t2.refresh_token;
  // Refreshing within the idle window keeps it alive, but never past the absolute timeout.
  std::int64_t at = now;
  while (at + 3600 < now + SessionOptions{}.absolute_timeout_s) {
    at += 3600;
    RefreshResult r = env.Refresh(refresh, at);
    ASSERT_TRUE(r.status.ok()) << at - now;
    refresh = r.tokens->refresh_token;
  }
  EXPECT_EQ(env.Refresh(refresh, now + SessionOptions{}.absolute_timeout_s).status.reason(),
            "session_expired");
}

// An SSO connection without back-channel logout starts sessions with a shorter absolute life;
// a longer override than the configured one is held to the configured one.
TEST(SessionTest, AnAbsoluteLifeOverrideEndsTheSessionSooner) {
  SessionEnv env;
  const std::int64_t now = core::NowUnixSeconds();
  auto start = [&](std::int64_t life) {
    return *env.Write([&](auto& tx) {
      return env.sessions->Start(tx, env.tenant.owner_user_id, env.tenant.tenant_id, now, life);
    });
  };
  SessionTokens short_lived = start(600);
  EXPECT_TRUE(env.Refresh(short_lived.refresh_token, now + 599).status.ok());
  SessionTokens again = start(600);
  EXPECT_EQ(env.Refresh(again.refresh_token, now + 600).status.reason(), "session_expired");
  SessionTokens capped = start(SessionOptions{}.absolute_timeout_s * 2);
  std::string refresh = capped.refresh_token;
  for (std::int64_t at = now + 3600; at < now + SessionOptions{}.absolute_timeout_s; at += 3600) {
    RefreshResult r = env.Refresh(refresh, at);
    ASSERT_TRUE(r.status.ok());
    refresh = r.tokens->refresh_token;
  }
  EXPECT_EQ(env.Refresh(refresh, now + SessionOptions{}.absolute_timeout_s).status.reason(),
            "session_expired");
}

TEST(SessionTest, RevocationAndRemovalAreSeenOnTheNextCheckDespiteTheCache) {
  SessionEnv env;
  const std::int64_t now = core::NowUnixSeconds();
  SessionTokens a = env.Start(now);
  SessionTokens b = env.Start(now);
  ASSERT_TRUE(env.sessions->Authenticate(a.access_token, now).ok());  // cached now
  ASSERT_TRUE(env.sessions->Authenticate(b.access_token, now).ok());
  ASSERT_TRUE(env.Write([&](auto& tx) -> StatusOr<bool> {
                   BULWARK_RETURN_IF_ERROR(env.sessions->Revoke(tx, a.session_id, "logout", now));
                   return true;
                 })
                  .ok());
  env.sessions->InvalidateSession(a.session_id);
  EXPECT_EQ(env.sessions->Authenticate(a.access_token, now).status().reason(), "session_revoked");
  EXPECT_TRUE(env.sessions->Authenticate(b.access_token, now).ok());
  // The member goes: every session of theirs in the tenant ends.
  ASSERT_TRUE(env.Write([&](auto& tx) -> StatusOr<bool> {
                   BULWARK_RETURN_IF_ERROR(tx.Exec("DELETE FROM memberships").status());
                   return true;
                 })
                  .ok());
  env.sessions->InvalidateMember(env.tenant.tenant_id, env.tenant.owner_user_id);
  EXPECT_EQ(env.sessions->Authenticate(b.access_token, now).status().reason(), "session_revoked");
}

TEST(SessionTest, TheSigningKeySurvivesARestartAndTokensStillVerify) {
  SessionEnv env;
  const std::int64_t now = core::NowUnixSeconds();
  SessionTokens t = env.Start(now);
  auto again = SessionService::Open(*env.store, *env.keys, {});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->jwks(), env.sessions->jwks());
  EXPECT_TRUE((*again)->Authenticate(t.access_token, now).ok());
  SessionOptions bad;
  bad.access_ttl_s = 901;
  EXPECT_FALSE(SessionService::Open(*env.store, *env.keys, bad).ok());
}

TEST(SessionTest, OnlyARecentSignInIsRecentAndRefreshDoesNotMakeItSo) {
  SessionEnv env;
  const std::int64_t now = core::NowUnixSeconds();
  SessionTokens t = env.Start(now);
  const auto recent = [&](std::int64_t at) {
    return env.Write([&](auto& tx) -> StatusOr<bool> {
      BULWARK_RETURN_IF_ERROR(env.sessions->RequireRecentSignIn(tx, t.session_id, at, 600));
      return true;
    });
  };
  EXPECT_TRUE(recent(now + 600).ok());
  ASSERT_TRUE(env.Refresh(t.refresh_token, now + 601).status.ok());
  EXPECT_EQ(recent(now + 601).status().reason(), "reauthentication_required");
}

// ---- MFA -----------------------------------------------------------------------------------

struct MfaEnv : Env {
  MfaService mfa{*keys, MfaOptions{.recovery_iterations = 1000}};
  std::string user;
  crypto::SecretBytes seed;
  MfaEnv() {
    user = Write([](auto& tx) {
             return directory::CreateTenant(tx, "acme", "ada@acme.test", kNow);
           })->owner_user_id;
    auto e = Write([&](auto& tx) { return mfa.Enroll(tx, user, "ada@acme.test", "acme", kNow); });
    EXPECT_TRUE(e.ok());
    // The issuer names the tenant, URL-encoded in the label and in the parameter alike.
    EXPECT_EQ(e->otpauth_uri,
              "otpauth://totp/Bulwark%20%28acme%29:ada@acme.test?secret=" + e->secret_base32 +
                  "&issuer=Bulwark%20%28acme%29&algorithm=SHA1&digits=6&period=30");
    EXPECT_TRUE(e->qr_code_data_uri.starts_with("data:image/svg+xml;base64,"));
    seed = crypto::SecretBytes::CopyFrom(Base32Decode(e->secret_base32));
  }
  std::string Code(std::int64_t t) { return *crypto::Totp(seed, t, {}); }
  RecoveryCodeSet Codes() { return *mfa.PrepareRecoveryCodes(); }
  MfaCheck Verify(const std::string& code, std::int64_t t) {
    auto proof = mfa.PrepareRecoveryProof(*store, user, code);
    EXPECT_TRUE(proof.ok());
    return *Write([&](auto& tx) { return mfa.Verify(tx, user, code, t, &*proof); });
  }
};

TEST(MfaTest, ConfirmThenStepUpOnceEveryCode) {
  MfaEnv env;
  EXPECT_EQ(env.Verify(env.Code(kNow), kNow).status.reason(),
            "mfa_not_enrolled");  // not confirmed yet
  auto c = env.Write(
      [&](auto& tx) { return env.mfa.Confirm(tx, env.user, env.Code(kNow), kNow, env.Codes()); });
  ASSERT_TRUE(c.ok() && c->status.ok()) << c->status.ToString();
  EXPECT_EQ(c->recovery_codes.size(), 10u);
  // The confirmation code's step is spent: the same code is a replay.
  EXPECT_EQ(env.Verify(env.Code(kNow), kNow).status.reason(), "mfa_invalid_code");
  EXPECT_TRUE(env.Verify(env.Code(kNow + 30), kNow + 30).status.ok());
  EXPECT_EQ(env.Verify(env.Code(kNow + 30), kNow + 31).status.reason(),
            "mfa_invalid_code");  // replay
  // One step of drift either side, not two; an older step than the last accepted never.
  EXPECT_TRUE(env.Verify(env.Code(kNow + 90), kNow + 60).status.ok());
  EXPECT_EQ(env.Verify(env.Code(kNow + 60), kNow + 60).status.reason(), "mfa_invalid_code");
  EXPECT_EQ(env.Verify(env.Code(kNow + 210), kNow + 150).status.reason(), "mfa_invalid_code");
  EXPECT_EQ(env.Write([&](auto& tx) { return env.mfa.Enroll(tx, env.user, "x", "acme", kNow); })
                .status()
                .reason(),
            "mfa_already_enrolled");
}

TEST(MfaTest, FiveFailuresLockForFifteenMinutes) {
  MfaEnv env;
  ASSERT_TRUE(env.Write([&](auto& tx) {
                   return env.mfa.Confirm(tx, env.user, env.Code(kNow), kNow, env.Codes());
                 })
                  ->status.ok());
  const std::int64_t t = kNow + 300;
  for (int i = 1; i <= 4; ++i) {
    MfaCheck c = env.Verify("000000", t);
    EXPECT_EQ(c.status.reason(), "mfa_invalid_code");
    EXPECT_EQ(c.failures, i);
  }
  MfaCheck fifth = env.Verify("000000", t);
  EXPECT_EQ(fifth.status.reason(), "mfa_locked");
  EXPECT_TRUE(fifth.locked_now);
  EXPECT_EQ(env.Verify(env.Code(t), t).status.reason(), "mfa_locked");  // even the right code
  EXPECT_TRUE(env.Verify(env.Code(t + 901), t + 901).status.ok());      // the lock ends
}

TEST(MfaTest, RecoveryCodesWorkOnceEach) {
  MfaEnv env;
  auto c = env.Write(
      [&](auto& tx) { return env.mfa.Confirm(tx, env.user, env.Code(kNow), kNow, env.Codes()); });
  const std::string code = c->recovery_codes[3];
  MfaCheck ok = env.Verify(code, kNow + 100);
  EXPECT_TRUE(ok.status.ok());
  EXPECT_TRUE(ok.used_recovery_code);
  EXPECT_EQ(env.Verify(code, kNow + 101).status.reason(), "mfa_invalid_code");
  std::string lower = c->recovery_codes[4];
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char ch) { return std::tolower(ch); });
  EXPECT_TRUE(env.Verify(lower, kNow + 102).status.ok());
  std::string wrong = c->recovery_codes[5];
  wrong[0] = '6';  // another code's index
  EXPECT_EQ(env.Verify(wrong, kNow + 103).status.reason(), "mfa_invalid_code");
}

TEST(MfaTest, SeedsAreSealedAndBoundToTheirUser) {
  MfaEnv env;
  ASSERT_TRUE(env.Write([&](auto& tx) {
                   return env.mfa.Confirm(tx, env.user, env.Code(kNow), kNow, env.Codes());
                 })
                  ->status.ok());
  {
    auto tx = env.store->Begin(TxMode::kRead);
    auto rows = (*tx)->Query("SELECT sealed_seed FROM mfa_totp");
    const auto& sealed = (*rows)[0][0].as_bytes();
    const auto raw = env.seed.reveal_span();
    EXPECT_EQ(std::search(sealed.begin(), sealed.end(), raw.begin(), raw.end()), sealed.end());
  }
  // Copy the sealed seed to another user: it does not open there.
  auto other = env.Write([](auto& tx) { return directory::EnsureUser(tx, "eve@acme.test", kNow); });
  ASSERT_TRUE(
      env.Write([&](auto& tx) -> StatusOr<bool> {
           BULWARK_RETURN_IF_ERROR(
               tx.Exec("INSERT INTO mfa_totp(user_id, sealed_seed, confirmed, created_at) "
                       "SELECT ?, sealed_seed, 1, created_at FROM mfa_totp WHERE user_id = ?",
                       {Value::Text(*other), Value::Text(env.user)})
                   .status());
           return true;
         })
          .ok());
  auto tx = env.store->Begin(TxMode::kWrite);
  EXPECT_EQ(env.mfa.Verify(**tx, *other, env.Code(kNow + 60), kNow + 60).status().code(),
            ErrorCode::kIntegrity);
}

// ---- invitations ---------------------------------------------------------------------------

TEST(InviteTest, AcceptOnceJoinsWithTheRole) {
  Env env;
  auto t = env.Write(
      [](auto& tx) { return directory::CreateTenant(tx, "acme", "ada@acme.test", kNow); });
  EXPECT_EQ(env.Write([&](auto& tx) {
                 return invites::Create(tx, t->tenant_id, Role::kAdmin, "bo@acme.test",
                                        Role::kOwner, t->owner_user_id, kNow);
               })
                .status()
                .reason(),
            "owner_required");
  EXPECT_EQ(env.Write([&](auto& tx) {
                 return invites::Create(tx, t->tenant_id, Role::kOwner, "ada@acme.test",
                                        Role::kMember, t->owner_user_id, kNow);
               })
                .status()
                .reason(),
            "already_member");
  auto inv = env.Write([&](auto& tx) {
    return invites::Create(tx, t->tenant_id, Role::kAdmin, "bo@acme.test", Role::kMember,
                           t->owner_user_id, kNow);
  });
  ASSERT_TRUE(inv.ok());
  auto joined =
      env.Write([&](auto& tx) { return invites::Accept(tx, inv->token.text, kNow + 60); });
  ASSERT_TRUE(joined.ok()) << joined.status().ToString();
  EXPECT_EQ(joined->tenant_id, t->tenant_id);
  EXPECT_EQ(joined->role, Role::kMember);
  EXPECT_EQ(env.Write([&](auto& tx) { return invites::Accept(tx, inv->token.text, kNow + 61); })
                .status()
                .reason(),
            "invalid_token");
  auto expired = env.Write([&](auto& tx) {
    return invites::Create(tx, t->tenant_id, Role::kAdmin, "cy@acme.test", Role::kViewer,
                           t->owner_user_id, kNow);
  });
  EXPECT_EQ(env.Write([&](auto& tx) {
                 return invites::Accept(tx, expired->token.text, kNow + invites::kTtlSeconds);
               })
                .status()
                .reason(),
            "invalid_token");
  EXPECT_EQ(env.Count("SELECT COUNT(*) FROM memberships"), 2);
}

TEST(InviteTest, AnInvitationLapsesWhenItsCreatorCouldNoLongerGrantIt) {
  Env env;
  auto t = env.Write(
      [](auto& tx) { return directory::CreateTenant(tx, "acme", "ada@acme.test", kNow); });
  auto bo = env.Write([&](auto& tx) -> StatusOr<std::string> {
    BULWARK_ASSIGN_OR_RETURN(std::string id, directory::EnsureUser(tx, "bo@acme.test", kNow));
    BULWARK_RETURN_IF_ERROR(directory::AddMember(tx, t->tenant_id, id, Role::kAdmin, kNow));
    return id;
  });
  // An admin about to be removed invites an address they control as admin...
  auto inv = env.Write([&](auto& tx) {
    return invites::Create(tx, t->tenant_id, Role::kAdmin, "mallory@evil.test", Role::kAdmin, *bo,
                           kNow);
  });
  ASSERT_TRUE(inv.ok());
  ASSERT_TRUE(env.Write([&](auto& tx) -> StatusOr<bool> {
                   BULWARK_RETURN_IF_ERROR(
                       directory::RemoveMember(tx, t->tenant_id, Role::kOwner, *bo));
                   return true;
                 })
                  .ok());
  // ...and the invitation dies with their membership.
  EXPECT_EQ(env.Write([&](auto& tx) { return invites::Accept(tx, inv->token.text, kNow + 60); })
                .status()
                .reason(),
            "invalid_token");
  EXPECT_EQ(env.Count("SELECT COUNT(*) FROM memberships"), 1);
  EXPECT_EQ(env.Count("SELECT COUNT(*) FROM invites WHERE accepted_at IS NOT NULL"),
            0);  // rolled back
}

// ---- rate-limit rules ----------------------------------------------------------------------

TEST(RateLimitRulesTest, DefaultsAndOverrides) {
  auto rules = stages::RateLimitRules({});
  ASSERT_TRUE(rules.ok());
  const auto find = [&](const std::vector<stages::RateLimitRule>& rs, std::string_view route,
                        stages::RateLimitRule::Key k) {
    for (const auto& r : rs) {
      if (r.route == route && r.key == k) return stages::FormatRateRule(r.rate);
    }
    return std::string();
  };
  using K = stages::RateLimitRule::Key;
  EXPECT_EQ(find(*rules, "POST /api/v1/auth/request", K::kIp), "5/10m");
  EXPECT_EQ(find(*rules, "POST /api/v1/auth/request", K::kEmail), "5/10m");
  EXPECT_EQ(find(*rules, "POST /api/v1/auth/verify", K::kIp), "20/10m");
  EXPECT_EQ(find(*rules, "POST /api/v1/auth/accept-invite", K::kIp), "20/10m");
  EXPECT_EQ(find(*rules, "*", K::kApiKey), "600/1m");
  auto custom = stages::RateLimitRules({"POST /api/v1/auth/verify ip 3/1m", "* tenant 100/1s"});
  ASSERT_TRUE(custom.ok());
  EXPECT_EQ(find(*custom, "POST /api/v1/auth/verify", K::kIp), "3/1m");
  EXPECT_EQ(find(*custom, "*", K::kTenant), "100/1s");
  EXPECT_EQ(custom->size(), rules->size() + 1);
  for (const char* bad : {"", "nonsense", "POST /x ip", "POST /x cookie 1/1m", "POST /x ip 0/1m",
                          "POST x ip 1/1m", "* ip 1/1m extra", "POST /x ip 5/10"}) {
    EXPECT_EQ(stages::RateLimitRules({bad}).status().reason(), "invalid_rate_rule") << bad;
  }
}

}  // namespace
}  // namespace bulwark::identity

namespace bulwark::identity {
namespace {

// ---- API keys ------------------------------------------------------------------------------

struct KeyEnv : Env {
  ApiKeyService keys_service{*store, std::chrono::milliseconds(50)};
  directory::CreatedTenant tenant;
  KeyEnv() {
    tenant =
        *Write([](auto& tx) { return directory::CreateTenant(tx, "acme", "ada@acme.test", kNow); });
  }
  StatusOr<CreatedApiKey> Create(ApiKeyRequest r) {
    if (r.tenant_id.empty()) r.tenant_id = tenant.tenant_id;
    if (r.created_by.empty()) r.created_by = tenant.owner_user_id;
    return Write([&](auto& tx) { return keys_service.Create(tx, r, kNow); });
  }
};

core::IpAddress Ip(const char* s) { return *core::IpAddress::Parse(s); }

TEST(ApiKeyTest, FormatIsScannableAndTheChecksumCatchesLookAlikes) {
  KeyEnv env;
  auto k = env.Create({.name = "ci", .scopes = {"secrets.read"}, .creator_role = Role::kAdmin});
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  EXPECT_EQ(k->key.size(), kApiKeyLength);
  EXPECT_TRUE(k->key.starts_with("bwk_" + k->info.id + "_"));
  EXPECT_TRUE(ApiKeyChecksumValid(k->key));
  EXPECT_EQ(ApiKeyId(k->key), k->info.id);
  std::string flipped = k->key;
  flipped[30] = flipped[30] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(ApiKeyChecksumValid(flipped));
  EXPECT_FALSE(ApiKeyChecksumValid(k->key.substr(0, 70)));
  EXPECT_FALSE(ApiKeyChecksumValid(""));
  // Stored: the hash only.
  auto tx = env.store->Begin(TxMode::kRead);
  auto rows = (*tx)->Query("SELECT secret_hash FROM api_keys");
  EXPECT_EQ((*rows)[0][0].as_bytes().size(), 32u);
}

TEST(ApiKeyTest, ScopesAreASubsetOfTheCreatorsVerbs) {
  KeyEnv env;
  EXPECT_EQ(env.Create({.name = "x", .scopes = {"members.invite"}, .creator_role = Role::kMember})
                .status()
                .reason(),
            "scope_not_held");
  EXPECT_EQ(
      env.Create({.name = "x", .scopes = {"*"}, .creator_role = Role::kOwner}).status().reason(),
      "invalid_scope");
  EXPECT_EQ(env.Create({.name = "x", .scopes = {}, .creator_role = Role::kOwner}).status().reason(),
            "invalid_scope");
  EXPECT_EQ(env.Create({.name = "", .scopes = {"secrets.read"}, .creator_role = Role::kOwner})
                .status()
                .reason(),
            "invalid_name");
  EXPECT_EQ(env.Create({.name = "x",
                        .scopes = {"secrets.read"},
                        .creator_role = Role::kOwner,
                        .expires_at = kNow})
                .status()
                .reason(),
            "invalid_expiry");
  EXPECT_EQ(env.Create({.name = "x",
                        .scopes = {"secrets.read"},
                        .creator_role = Role::kOwner,
                        .cidrs = {"10.0.0.1/8"}})
                .status()
                .reason(),
            "invalid_cidr");
  EXPECT_EQ(env.Count("SELECT COUNT(*) FROM api_keys"), 0);
  auto ok = env.Create({.name = "x",
                        .scopes = {"secrets.read", "secrets.list", "secrets.read"},
                        .creator_role = Role::kMember});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->info.scopes, (std::vector<std::string>{"secrets.list", "secrets.read"}));
}

TEST(ApiKeyTest, AuthenticateChecksSecretRevocationExpiryAndBinding) {
  KeyEnv env;
  const std::int64_t now = kNow + 10;
  auto k = env.Create({.name = "ci",
                       .scopes = {"secrets.read"},
                       .creator_role = Role::kOwner,
                       .expires_at = kNow + 3600,
                       .cidrs = {"10.0.0.0/8", "2001:db8::/32"}});
  ASSERT_TRUE(k.ok());
  auto p = env.keys_service.Authenticate(k->key, Ip("10.1.2.3"), now);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->kind, core::Principal::Kind::kApiKey);
  EXPECT_EQ(p->id, k->info.id);
  EXPECT_EQ(p->tenant_id, env.tenant.tenant_id);
  EXPECT_EQ(p->scopes, std::vector<std::string>{"secrets.read"});
  EXPECT_TRUE(env.keys_service.Authenticate(k->key, Ip("2001:db8::1"), now).ok());
  EXPECT_EQ(env.keys_service.Authenticate(k->key, Ip("192.0.2.1"), now).status().reason(),
            "apikey_address_refused");
  EXPECT_EQ(env.keys_service.Authenticate(k->key, Ip("10.1.2.3"), kNow + 3600).status().reason(),
            "apikey_expired");
  // Another key with the same id but another secret (checksum made valid) is refused.
  const std::string body = k->key.substr(0, 4 + 16 + 1) + std::string(43, 'A');
  const crypto::Digest256 d = crypto::Sha256(body);
  const std::string forged = body + "_" + crypto::Base64UrlEncode(d).substr(0, 6);
  ASSERT_TRUE(ApiKeyChecksumValid(forged));
  std::string refused;
  EXPECT_EQ(env.keys_service.Authenticate(forged, Ip("10.1.2.3"), now, &refused).status().reason(),
            "invalid_api_key");
  EXPECT_EQ(refused, k->info.id);
  // Revoked: refused from the next request on, despite the cache.
  auto revoked = env.Write(
      [&](auto& tx) { return env.keys_service.Revoke(tx, env.tenant.tenant_id, k->info.id, now); });
  ASSERT_TRUE(revoked.ok() && *revoked);
  auto again = env.Write(
      [&](auto& tx) { return env.keys_service.Revoke(tx, env.tenant.tenant_id, k->info.id, now); });
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);  // already revoked
  env.keys_service.Invalidate(k->info.id);
  EXPECT_EQ(env.keys_service.Authenticate(k->key, Ip("10.1.2.3"), now).status().reason(),
            "apikey_revoked");
}

TEST(ApiKeyTest, AnotherTenantsKeyIsNotFoundForRevocation) {
  KeyEnv env;
  auto k = env.Create({.name = "ci", .scopes = {"secrets.read"}, .creator_role = Role::kOwner});
  auto other = env.Write(
      [](auto& tx) { return directory::CreateTenant(tx, "other", "eve@other.test", kNow); });
  auto r = env.Write(
      [&](auto& tx) { return env.keys_service.Revoke(tx, other->tenant_id, k->info.id, kNow); });
  EXPECT_EQ(r.status().reason(), "apikey_not_found");
  EXPECT_EQ(env.Count("SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NULL"), 1);
}

TEST(ApiKeyTest, LastUsedIsWrittenInBatches) {
  KeyEnv env;
  auto k = env.Create({.name = "ci", .scopes = {"secrets.read"}, .creator_role = Role::kOwner});
  for (int i = 0; i < 100; ++i)
    ASSERT_TRUE(env.keys_service.Authenticate(k->key, Ip("127.0.0.1"), kNow + i).ok());
  ASSERT_TRUE(env.keys_service.Flush().ok());
  auto tx = env.store->Begin(TxMode::kRead);
  auto rows = (*tx)->Query("SELECT last_used_at FROM api_keys");
  EXPECT_EQ((*rows)[0][0].as_int(), kNow + 99);
}

}  // namespace
}  // namespace bulwark::identity

namespace bulwark::identity {
namespace {

// The real SQLite store, switched to answer like an unreachable one: what a credential check
// must then say is 503, never "allow".
class SwitchableStore : public store::Store {
 public:
  explicit SwitchableStore(store::Store& real) : real_(real) {}
  StatusOr<std::unique_ptr<store::Transaction>> Begin(store::TxMode mode) override {
    if (down) return Status::Unavailable("store_unavailable", "the store cannot be reached");
    return real_.Begin(mode);
  }
  std::vector<store::HealthCheck> CheckHealth() override { return real_.CheckHealth(); }
  StatusOr<int> SchemaVersion() override { return real_.SchemaVersion(); }
  store::Backend backend() const override { return real_.backend(); }
  bool down = false;

 private:
  store::Store& real_;
};

TEST(CredentialCheckTest, AnUncheckableCredentialIsUnavailableNeverAllowed) {
  Env env;
  SwitchableStore store(*env.store);
  auto sessions = SessionService::Open(store, *env.keys, {});
  ASSERT_TRUE(sessions.ok());
  ApiKeyService keys(store, std::chrono::hours(1));
  auto t = env.Write(
      [](auto& tx) { return directory::CreateTenant(tx, "acme", "ada@acme.test", kNow); });
  const std::int64_t now = core::NowUnixSeconds();
  auto tokens = env.Write(
      [&](auto& tx) { return (*sessions)->Start(tx, t->owner_user_id, t->tenant_id, now); });
  auto key = env.Write([&](auto& tx) {
    return keys.Create(tx,
                       {.tenant_id = t->tenant_id,
                        .name = "ci",
                        .scopes = {"apikeys.read"},
                        .creator_role = Role::kOwner,
                        .created_by = t->owner_user_id},
                       now);
  });
  ASSERT_TRUE(tokens.ok() && key.ok());
  store.down = true;
  const auto ip = *core::IpAddress::Parse("127.0.0.1");
  EXPECT_EQ((*sessions)->Authenticate(tokens->access_token, now).status().code(),
            ErrorCode::kUnavailable);
  EXPECT_EQ(keys.Authenticate(key->key, ip, now).status().code(), ErrorCode::kUnavailable);
  store.down = false;
  EXPECT_TRUE((*sessions)->Authenticate(tokens->access_token, now).ok());
  EXPECT_TRUE(keys.Authenticate(key->key, ip, now).ok());
  keys.Stop();
}

}  // namespace
}  // namespace bulwark::identity

namespace bulwark::identity {
namespace {

TEST(ApiKeyCreatorTest, AKeyHoldsAtMostItsCreatorsVerbsAndNothingOnceTheyLeave) {
  Env env;
  ApiKeyService keys(*env.store, std::chrono::hours(1));
  auto t = env.Write(
      [](auto& tx) { return directory::CreateTenant(tx, "acme", "ada@acme.test", kNow); });
  auto bo = env.Write([&](auto& tx) -> StatusOr<std::string> {
    BULWARK_ASSIGN_OR_RETURN(std::string id, directory::EnsureUser(tx, "bo@acme.test", kNow));
    BULWARK_RETURN_IF_ERROR(directory::AddMember(tx, t->tenant_id, id, Role::kAdmin, kNow));
    return id;
  });
  auto key = env.Write([&](auto& tx) {
    return keys.Create(tx,
                       {.tenant_id = t->tenant_id,
                        .name = "ci",
                        .scopes = {"audit.read", "secrets.read"},
                        .creator_role = Role::kAdmin,
                        .created_by = *bo},
                       kNow);
  });
  ASSERT_TRUE(key.ok());
  const auto ip = *core::IpAddress::Parse("127.0.0.1");
  EXPECT_EQ(keys.Authenticate(key->key, ip, kNow)->scopes,
            (std::vector<std::string>{"audit.read", "secrets.read"}));
  const auto role_change = [&](Role to) {
    return env.Write([&](auto& tx) -> StatusOr<bool> {
      BULWARK_RETURN_IF_ERROR(directory::ChangeRole(tx, t->tenant_id, Role::kOwner, *bo, to));
      return true;
    });
  };
  ASSERT_TRUE(role_change(Role::kMember).ok());
  keys.InvalidateTenant(t->tenant_id);
  EXPECT_EQ(keys.Authenticate(key->key, ip, kNow)->scopes,
            std::vector<std::string>{"secrets.read"});
  ASSERT_TRUE(env.Write([&](auto& tx) -> StatusOr<bool> {
                   BULWARK_RETURN_IF_ERROR(
                       directory::RemoveMember(tx, t->tenant_id, Role::kOwner, *bo));
                   return true;
                 })
                  .ok());
  keys.InvalidateTenant(t->tenant_id);
  EXPECT_EQ(keys.Authenticate(key->key, ip, kNow).status().reason(), "apikey_revoked");
  keys.Stop();
}

}  // namespace
}  // namespace bulwark::identity

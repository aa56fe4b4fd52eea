// The SSO sign-in attempt (sso/login_state.h) and the flow's rows (sso/flow_store.h) against a
// real migrated SQLite store: single use, expiry, the browser binding, nothing secret stored.
#include <gtest/gtest.h>

#include "../keyed_store_env.h"
#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "sso/flow_store.h"
#include "sso/login_state.h"

namespace bulwark::sso {
namespace {

using store::TxMode;

constexpr std::int64_t kNow = 1'800'000'000;

struct Env : bulwark::testing::KeyedStore {
  std::int64_t Count(const std::string& sql) {
    auto tx = store->Begin(TxMode::kRead);
    auto rows = (*tx)->Query(sql);
    EXPECT_TRUE(rows.ok());
    return (*rows)[0][0].as_int();
  }
  login_state::Started Begin() {
    auto s = Write([&](auto& tx) {
      return login_state::Begin(tx, "ten_1", "conn_1", "/after", kNow);
    });
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return *s;
  }
};

TEST(SsoLoginStateTest, ConsumedOnceWithTheCookieGivesTheNonceAndVerifierTheAttemptSent) {
  Env env;
  const auto s = env.Begin();
  EXPECT_EQ(s.state.size(), 43u);
  EXPECT_EQ(s.browser_binding.size(), 43u);
  EXPECT_NE(s.state, s.nonce);
  auto p = env.Write([&](auto& tx) {
    return login_state::Consume(tx, s.state, s.browser_binding, kNow + 5);
  });
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->tenant_id, "ten_1");
  EXPECT_EQ(p->connection_id, "conn_1");
  EXPECT_EQ(p->redirect_after, "/after");
  EXPECT_EQ(p->nonce, s.nonce);
  // S256: the challenge sent is base64url(SHA-256(verifier)).
  EXPECT_EQ(crypto::Base64UrlEncode(crypto::Sha256(p->code_verifier)), s.code_challenge);
  EXPECT_GE(p->code_verifier.size(), 43u);

  auto again = env.Write([&](auto& tx) {
    return login_state::Consume(tx, s.state, s.browser_binding, kNow + 6);
  });
  EXPECT_EQ(again.status().reason(), "sso_state_invalid");
}

TEST(SsoLoginStateTest, AnotherBrowsersCookieOrNoneIsRefusedAndLeavesTheAttemptUnspent) {
  Env env;
  const auto s = env.Begin();
  const auto other = env.Begin();
  for (const std::string& cookie : {other.browser_binding, std::string()}) {
    auto r = env.Write([&](auto& tx) { return login_state::Consume(tx, s.state, cookie, kNow); });
    EXPECT_EQ(r.status().reason(), "sso_browser_mismatch");
  }
  EXPECT_EQ(env.Count("SELECT COUNT(*) FROM sso_login_states WHERE consumed_at IS NOT NULL"), 0);
  EXPECT_TRUE(env.Write([&](auto& tx) {
                   return login_state::Consume(tx, s.state, s.browser_binding, kNow);
                 }).ok());
}

TEST(SsoLoginStateTest, ExpiredUnknownAndMalformedStatesAreOneRefusal) {
  Env env;
  const auto s = env.Begin();
  for (const std::string& state : {s.state + "x", std::string(43, 'A'), std::string("")}) {
    auto r = env.Write([&](auto& tx) {
      return login_state::Consume(tx, state, s.browser_binding, kNow);
    });
    EXPECT_EQ(r.status().reason(), "sso_state_invalid");
  }
  auto late = env.Write([&](auto& tx) {
    return login_state::Consume(tx, s.state, s.browser_binding, kNow + login_state::kTtlSeconds);
  });
  EXPECT_EQ(late.status().reason(), "sso_state_invalid");
}

TEST(SsoLoginStateTest, NeitherStateNonceVerifierNorCookieIsStoredInTheClear) {
  Env env;
  const auto s = env.Begin();
  auto tx = env.store->Begin(TxMode::kRead);
  auto rows = (*tx)->Query("SELECT state_hash, binding_hash FROM sso_login_states");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  const auto state_hash = crypto::Sha256(s.state);
  const auto binding_hash = crypto::Sha256(s.browser_binding);
  EXPECT_EQ((*rows)[0][0].as_bytes(), std::vector<std::uint8_t>(state_hash.begin(), state_hash.end()));
  EXPECT_EQ((*rows)[0][1].as_bytes(),
            std::vector<std::uint8_t>(binding_hash.begin(), binding_hash.end()));
}

TEST(SsoFlowStoreTest, LogoutJtiIsSpentOncePerConnection) {
  Env env;
  auto first = env.Write([&](auto& tx) {
    return flow_store::SpendLogoutJti(tx, "conn_1", "jti-1", kNow + 60);
  });
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(*first);
  auto again = env.Write([&](auto& tx) {
    return flow_store::SpendLogoutJti(tx, "conn_1", "jti-1", kNow + 60);
  });
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  auto elsewhere = env.Write([&](auto& tx) {
    return flow_store::SpendLogoutJti(tx, "conn_2", "jti-1", kNow + 60);
  });
  EXPECT_TRUE(elsewhere.ok() && *elsewhere);
}

TEST(SsoFlowStoreTest, LinkedSessionsMatchBySidOrSubjectWithinTheConnection) {
  Env env;
  for (const auto& l : {flow_store::SessionLink{"ses_a", "ten_1", "conn_1", "sub-1", "sid-1"},
                        flow_store::SessionLink{"ses_b", "ten_1", "conn_1", "sub-1", "sid-2"},
                        flow_store::SessionLink{"ses_c", "ten_1", "conn_2", "sub-1", "sid-1"}}) {
    ASSERT_TRUE(env.Write([&](auto& tx) -> StatusOr<bool> {
                      BULWARK_RETURN_IF_ERROR(flow_store::LinkSession(tx, l, kNow));
                      return true;
                    }).ok());
  }
  auto tx = env.store->Begin(TxMode::kRead);
  auto by_sid = flow_store::LinkedSessions(**tx, "conn_1", "sid-1", "");
  ASSERT_TRUE(by_sid.ok());
  ASSERT_EQ(by_sid->size(), 1u);
  EXPECT_EQ((*by_sid)[0].session_id, "ses_a");
  auto by_sub = flow_store::LinkedSessions(**tx, "conn_1", "", "sub-1");
  ASSERT_TRUE(by_sub.ok());
  EXPECT_EQ(by_sub->size(), 2u);
  auto none = flow_store::LinkedSessions(**tx, "conn_1", "", "");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

}  // namespace
}  // namespace bulwark::sso

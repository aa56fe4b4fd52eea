// Signed receipts: issue, read, tenant isolation, per-tenant chains, redaction commitments,
// projections that verify, tampering that does not, and a store that refuses to rewrite them.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <fstream>
#include <sstream>
#include <thread>

#include "../keyed_store_env.h"
#include "../store/store_test_util.h"
#include "api/receipt_routes.h"
#include "audit/ledger.h"
#include "audit/writer.h"
#include "core/canonical_json.h"
#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "keyring/keyring.h"
#include "receipts/receipt.h"
#include "receipts/service.h"
#include "receipts/verify.h"
#include "store/migrate.h"

namespace bulwark::receipts {
namespace {

namespace json = boost::json;
using store::TxMode;
using store::Value;
using store::testing::TempDir;

struct Fixture : bulwark::testing::KeyedStore {
  std::unique_ptr<ReceiptService> service;

  Fixture() {
    auto s = ReceiptService::Open(*store, *keys);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    service = std::move(*s);
  }

  std::vector<crypto::Ed25519PublicKey> Trusted() const { return {service->public_key()}; }

  // Issues one receipt in its own write transaction.
  StatusOr<Receipt> Issue(const std::string& tenant, const json::object& fields,
                          const std::vector<std::string>& redact = {},
                          std::string_view k = kind::kApiKeyCreate) {
    auto tx = store->Begin(TxMode::kWrite);
    if (!tx.ok()) return tx.status();
    auto r = service->Issue(**tx, tenant, k, fields, redact);
    if (!r.ok()) return r;
    Status c = (*tx)->Commit();
    if (!c.ok()) return c;
    return r;
  }

  Receipt MustIssue(const std::string& tenant, const json::object& fields,
                    const std::vector<std::string>& redact = {}) {
    auto r = Issue(tenant, fields, redact);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : Receipt{};
  }

  std::int64_t Count(const std::string& sql) {
    auto tx = store->Begin(TxMode::kRead);
    auto rows = (*tx)->Query(sql);
    EXPECT_TRUE(rows.ok());
    return rows.ok() && !rows->empty() ? (*rows)[0][0].as_int() : -1;
  }
};

json::object Payload(const Receipt& r) { return json::parse(r.payload).as_object(); }

// Replaces `from` by `to` in a JSON document's payload string (the payload is embedded escaped).
std::string Tamper(std::string doc, const std::string& from, const std::string& to) {
  const auto at = doc.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) doc.replace(at, from.size(), to);
  return doc;
}

TEST(ReceiptServiceTest, IssuedReceiptIsCanonicalSignedAndReadBack) {
  Fixture f;
  Receipt r = f.MustIssue("acme", {{"name", "ci-deploy"}, {"scopes", json::array{"secrets.read"}}});
  EXPECT_TRUE(IsReceiptId(r.id)) << r.id;
  EXPECT_EQ(r.seq, 1);
  EXPECT_TRUE(core::IsCanonical(r.payload));
  EXPECT_TRUE(
      crypto::Ed25519Verify(f.service->public_key(), crypto::AsBytes(r.payload), r.signature));
  json::object p = Payload(r);
  EXPECT_EQ(p.at("type"), "bulwark.receipt.v1");
  EXPECT_EQ(p.at("tenant"), "acme");
  EXPECT_EQ(p.at("kind"), "apikey.create");
  EXPECT_TRUE(p.at("prev").is_null());
  EXPECT_EQ(std::string(p.at("key_id").as_string()), f.service->key_id());
  EXPECT_EQ(p.at("fields").at("name"), "ci-deploy");

  auto got = f.service->Get("acme", r.id);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->payload, r.payload);
  EXPECT_EQ(got->signature, r.signature);
  EXPECT_EQ(got->kind, "apikey.create");
  EXPECT_EQ(got->FullJson(), r.FullJson());
  EXPECT_TRUE(core::IsCanonical(r.FullJson()));
  EXPECT_TRUE(core::IsCanonical(r.ProjectionJson()));
}

TEST(ReceiptServiceTest, AnotherTenantsReceiptIsNotFound) {
  Fixture f;
  Receipt r = f.MustIssue("acme", {{"name", "x"}});
  for (auto [tenant, id] :
       std::vector<std::pair<std::string, std::string>>{{"globex", r.id},
                                                        {"", r.id},
                                                        {"acme", "rcpt_" + std::string(32, '0')},
                                                        {"acme", "not-an-id"},
                                                        {"acme", r.id + "0"}}) {
    auto got = f.service->Get(tenant, id);
    ASSERT_FALSE(got.ok()) << tenant << " " << id;
    EXPECT_EQ(got.status().code(), ErrorCode::kNotFound);
    EXPECT_EQ(got.status().reason(), "receipt_not_found");
  }
  // The projection is public by design: any id, whatever its tenant.
  auto pub = f.service->PublicProjection(r.id);
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(*pub, r.ProjectionJson());
  EXPECT_EQ(f.service->PublicProjection("rcpt_" + std::string(32, 'a')).status().code(),
            ErrorCode::kNotFound);
}

TEST(ReceiptServiceTest, EachTenantHasItsOwnHashChain) {
  Fixture f;
  std::vector<Receipt> a, b;
  for (int i = 0; i < 3; ++i) {
    a.push_back(f.MustIssue("acme", {{"n", i}}));
    if (i < 2) b.push_back(f.MustIssue("globex", {{"n", i}}));
  }
  for (const auto* chain : {&a, &b}) {
    for (std::size_t i = 0; i < chain->size(); ++i) {
      const Receipt& r = (*chain)[i];
      EXPECT_EQ(r.seq, static_cast<std::int64_t>(i + 1));
      json::object p = Payload(r);
      if (i == 0) {
        EXPECT_TRUE(p.at("prev").is_null());
      } else {
        EXPECT_EQ(p.at("prev").as_string(), crypto::Sha256Hex((*chain)[i - 1].payload));
      }
      EXPECT_EQ(r.hash, crypto::Sha256(r.payload));
    }
  }
  auto series = f.service->Series("acme", 1, 100);
  ASSERT_TRUE(series.ok());
  ASSERT_EQ(series->size(), 3u);
  std::string lines;
  for (const Receipt& r : *series) lines += r.ProjectionJson() + "\n";
  SeriesReport rep = VerifyReceiptText(lines, f.Trusted());
  EXPECT_TRUE(rep.ok) << rep.reason << " " << rep.detail;
}

TEST(ReceiptServiceTest, ConcurrentIssuersFormOneGapFreeChain) {
  Fixture f;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&f, &failures, t] {
      for (int i = 0; i < 5; ++i) {
        if (!f.Issue("acme", {{"t", t}, {"i", i}}).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto series = f.service->Series("acme", 1, 1000);
  ASSERT_TRUE(series.ok());
  ASSERT_EQ(series->size(), 30u);
  std::string lines;
  for (const Receipt& r : *series) lines += r.ProjectionJson() + "\n";
  SeriesReport rep = VerifyReceiptText(lines, f.Trusted());
  EXPECT_TRUE(rep.ok) << rep.failed_id << " " << rep.reason << " " << rep.detail;
}

TEST(ReceiptServiceTest, RedactedFieldIsSignedOnlyAsACommitmentThatItsDisclosureOpens) {
  Fixture f;
  Receipt r = f.MustIssue(
      "acme", {{"email", "alice@example.com"}, {"storage_key", "s3://b/k1"}, {"role", "admin"}},
      {"email", "storage_key"});
  EXPECT_EQ(r.payload.find("alice@example.com"), std::string::npos);
  EXPECT_EQ(r.ProjectionJson().find("alice@example.com"), std::string::npos);
  EXPECT_EQ(r.ProjectionJson().find("s3://b/k1"), std::string::npos);
  EXPECT_NE(r.FullJson().find("alice@example.com"), std::string::npos);

  json::object fields = Payload(r).at("fields").as_object();
  EXPECT_EQ(fields.at("role"), "admin");
  const std::string commitment(fields.at("email").at("_sd").as_string());
  ASSERT_EQ(commitment.size(), 64u);
  json::object disc = json::parse(r.disclosures).as_object();
  auto salt = crypto::Base64Decode(disc.at("email").at("salt").as_string());
  ASSERT_TRUE(salt.ok());
  EXPECT_EQ(salt->size(), kDisclosureSaltBytes);
  EXPECT_EQ(Commitment(*salt, R"("alice@example.com")"), commitment);
  // Two receipts of the same value do not share a commitment (fresh salt each time).
  Receipt r2 = f.MustIssue("acme", {{"email", "alice@example.com"}}, {"email"});
  EXPECT_NE(Payload(r2).at("fields").at("email").at("_sd").as_string(), commitment);
}

TEST(ReceiptServiceTest, ProjectionAndFullReceiptVerifyAndTamperingFails) {
  Fixture f;
  Receipt r = f.MustIssue("acme", {{"email", "alice@example.com"}, {"role", "admin"}}, {"email"});

  ReceiptReport full = VerifyReceiptDocument(r.FullJson(), f.Trusted());
  EXPECT_TRUE(full.ok) << full.reason << " " << full.detail;
  EXPECT_EQ(full.id, r.id);
  EXPECT_EQ(full.redacted, 1);
  EXPECT_EQ(full.disclosed, 1);
  ReceiptReport proj = VerifyReceiptDocument(r.ProjectionJson(), f.Trusted());
  EXPECT_TRUE(proj.ok) << proj.reason << " " << proj.detail;
  EXPECT_EQ(proj.disclosed, 0);

  // One byte of the payload changed: the signature fails.
  ReceiptReport changed =
      VerifyReceiptDocument(Tamper(r.ProjectionJson(), "admin", "admim"), f.Trusted());
  EXPECT_FALSE(changed.ok);
  EXPECT_EQ(changed.reason, "bad_signature");
  EXPECT_EQ(changed.id, r.id);
  // Another key: not trusted.
  auto other = crypto::GenerateEd25519KeyPair();
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(VerifyReceiptDocument(r.ProjectionJson(), {other->public_key}).reason, "bad_signature");
  // A disclosure whose value was changed no longer opens the commitment.
  ReceiptReport lied = VerifyReceiptDocument(
      Tamper(r.FullJson(), "alice@example.com", "mallory@example.com"), f.Trusted());
  EXPECT_FALSE(lied.ok);
  EXPECT_EQ(lied.reason, "disclosure_mismatch");
  // A disclosure for a field that was never redacted is refused.
  json::object doc = json::parse(r.FullJson()).as_object();
  doc["disclosures"].as_object()["role"] = doc["disclosures"].as_object()["email"];
  EXPECT_EQ(VerifyReceiptDocument(json::serialize(doc), f.Trusted()).reason, "disclosure_mismatch");
  // Extra members and duplicate names are malformed.
  EXPECT_EQ(VerifyReceiptDocument(
                Tamper(r.ProjectionJson(), "{\"payload\"", "{\"x\":1,\"payload\""), f.Trusted())
                .reason,
            "malformed");
  EXPECT_EQ(VerifyReceiptDocument(
                Tamper(r.ProjectionJson(), "{\"payload\"", "{\"signature\":\"\",\"payload\""),
                f.Trusted())
                .reason,
            "malformed");
}

TEST(ReceiptServiceTest, SeriesWithAMissingReorderedOrForeignReceiptFails) {
  Fixture f;
  std::vector<Receipt> rs;
  for (int i = 0; i < 5; ++i) rs.push_back(f.MustIssue("acme", {{"n", i}}));
  Receipt foreign = f.MustIssue("globex", {{"n", 0}});
  auto lines = [](const std::vector<const Receipt*>& v) {
    std::string out;
    for (const Receipt* r : v) out += r->ProjectionJson() + "\n";
    return out;
  };
  SeriesReport all =
      VerifyReceiptText(lines({&rs[0], &rs[1], &rs[2], &rs[3], &rs[4]}), f.Trusted());
  EXPECT_TRUE(all.ok) << all.reason;
  EXPECT_EQ(all.receipts.size(), 5u);
  // A window that starts inside the chain is anchored by its prev.
  EXPECT_TRUE(VerifyReceiptText(lines({&rs[2], &rs[3]}), f.Trusted()).ok);

  SeriesReport gap = VerifyReceiptText(lines({&rs[0], &rs[1], &rs[3], &rs[4]}), f.Trusted());
  EXPECT_FALSE(gap.ok);
  EXPECT_EQ(gap.reason, "chain_gap");
  EXPECT_EQ(gap.failed_id, rs[3].id);
  SeriesReport swapped = VerifyReceiptText(lines({&rs[0], &rs[2], &rs[1]}), f.Trusted());
  EXPECT_EQ(swapped.reason, "chain_gap");
  SeriesReport mixed = VerifyReceiptText(lines({&rs[0], &foreign}), f.Trusted());
  EXPECT_EQ(mixed.reason, "tenant_mismatch");
  SeriesReport bad_line = VerifyReceiptText(lines({&rs[0]}) + "not json\n", f.Trusted());
  EXPECT_EQ(bad_line.reason, "malformed");
  EXPECT_EQ(bad_line.failed_id, "line 2");
}

TEST(ReceiptServiceTest, InvalidRequestsAreRefusedAndNothingIsStored) {
  Fixture f;
  EXPECT_EQ(f.Issue("acme", {{"a", 1}}, {}, "apikey.creat").status().reason(), "invalid_kind");
  EXPECT_EQ(f.Issue("", {{"a", 1}}).status().reason(), "invalid_tenant");
  EXPECT_EQ(f.Issue("ac me", {{"a", 1}}).status().reason(), "invalid_tenant");
  EXPECT_EQ(f.Issue("acme", {{"a", 1}}, {"b"}).status().reason(), "invalid_field");
  EXPECT_EQ(f.Issue("acme", {{"Bad-Name", 1}}).status().reason(), "invalid_field");
  EXPECT_EQ(f.Issue("acme", {{"a", json::object{{"_sd", "00"}}}}).status().reason(),
            "invalid_field");
  EXPECT_EQ(f.Issue("acme", {{"a", std::string(20000, 'x')}}).status().reason(),
            "receipt_too_large");
  EXPECT_EQ(f.Count("SELECT COUNT(*) FROM receipts"), 0);
}

TEST(ReceiptServiceTest, StoreRefusesUpdateAndDeleteOfReceiptsAndKeys) {
  Fixture f;
  Receipt r = f.MustIssue("acme", {{"n", 1}});
  for (const char* sql :
       {"UPDATE receipts SET seq = 7", "DELETE FROM receipts",
        "UPDATE receipts SET payload = X'00'", "UPDATE receipt_signing_keys SET key_id = 'x'",
        "DELETE FROM receipt_signing_keys"}) {
    auto tx = f.store->Begin(TxMode::kWrite);
    ASSERT_TRUE(tx.ok());
    EXPECT_FALSE((*tx)->Exec(sql).ok()) << sql;
  }
  auto got = f.service->Get("acme", r.id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->payload, r.payload);
}

TEST(ReceiptServiceTest, SigningKeyPersistsAcrossOpens) {
  Fixture f;
  auto again = ReceiptService::Open(*f.store, *f.keys);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->key_id(), f.service->key_id());
  EXPECT_EQ((*again)->public_key(), f.service->public_key());
  EXPECT_EQ(f.Count("SELECT COUNT(*) FROM receipt_signing_keys"), 1);
  EXPECT_EQ(f.service->key_id(), crypto::Ed25519KeyId(f.service->public_key()));
}

TEST(ReceiptServiceTest, IssueRecordedCommitsChangeReceiptAndAuditTogether) {
  Fixture f;
  auto ledger = audit::Ledger::Open(*f.store, *f.keys);
  ASSERT_TRUE(ledger.ok());
  audit::AuditWriter writer(*f.store, **ledger, {});
  audit::Event ev{.tenant = "acme", .action = "apikey.create", .resource = "apikey"};
  auto r =
      f.service->IssueRecorded(writer, ev, "acme", kind::kApiKeyCreate, {{"api_key_id", "k1"}},
                               {"api_key_id"}, [](store::Transaction& tx) {
                                 return tx.Exec("CREATE TABLE side_effect(x INTEGER)").status();
                               });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(f.Count("SELECT COUNT(*) FROM receipts"), 1);
  EXPECT_EQ(f.Count("SELECT COUNT(*) FROM side_effect"), 0);  // the table exists
  {
    auto tx = f.store->Begin(TxMode::kRead);
    auto rows = (*tx)->Query("SELECT CAST(entry AS BLOB) FROM audit_ledger");
    ASSERT_TRUE(rows.ok());
    ASSERT_EQ(rows->size(), 1u);
    const auto& e = (*rows)[0][0].as_bytes();
    EXPECT_NE(std::string(e.begin(), e.end()).find(r->id), std::string::npos);
  }
  // A failing change leaves neither a receipt nor an audit record.
  auto failed = f.service->IssueRecorded(
      writer, ev, "acme", kind::kApiKeyCreate, {{"n", 1}}, {},
      [](store::Transaction&) { return Status::Conflict("exists", "exists"); });
  EXPECT_EQ(failed.status().reason(), "exists");
  EXPECT_EQ(f.Count("SELECT COUNT(*) FROM receipts"), 1);
  EXPECT_EQ(f.Count("SELECT COUNT(*) FROM audit_ledger"), 1);
  writer.Stop();
}

TEST(ReceiptServiceTest, VerifyCommandExitCodes) {
  Fixture f;
  Receipt r = f.MustIssue("acme", {{"email", "a@b.c"}}, {"email"});
  auto pem = crypto::Ed25519PublicKeyToPem(f.service->public_key());
  ASSERT_TRUE(pem.ok());
  const std::string pub = f.dir.File("pub.pem"), good = f.dir.File("r.json"),
                    bad = f.dir.File("bad.json");
  std::ofstream(pub) << "# " << f.service->key_id() << "\n" << *pem;
  std::ofstream(good) << r.FullJson();
  std::ofstream(bad) << Tamper(r.ProjectionJson(), "\\\"seq\\\":1", "\\\"seq\\\":2");
  std::ostringstream out, err;
  EXPECT_EQ(RunReceiptVerify(good, pub, out, err), 0) << err.str();
  EXPECT_EQ(err.str(), "");
  out.str("");
  EXPECT_EQ(RunReceiptVerify(bad, pub, out, err), 1);
  // What is wrong goes to the error stream, not with the results.
  EXPECT_NE(err.str().find("FAILED: " + r.id + ": bad_signature"), std::string::npos) << err.str();
  EXPECT_EQ(out.str(), "");
  EXPECT_EQ(RunReceiptVerify(good, "", out, err), 2);
  EXPECT_EQ(RunReceiptVerify(good, f.dir.File("missing.pem"), out, err), 2);
  EXPECT_EQ(RunReceiptVerify(f.dir.File("missing.json"), pub, out, err), 2);
  EXPECT_EQ(out.str(), "");
  std::ostringstream keys;
  EXPECT_EQ(RunReceiptPubkey([&] { return store::OpenSqliteFileAsIs(f.dir.File("db.sqlite")); },
                             keys, err),
            0);
  EXPECT_NE(keys.str().find(*pem), std::string::npos);
  EXPECT_NE(keys.str().find(f.service->key_id()), std::string::npos);
}

TEST(ReceiptRoutesTest, RoutesDeclareTheirDecisionsAndTheDevRouteOnlyWithTheOverlay) {
  for (bool overlay : {false, true}) {
    http::Router router;
    ASSERT_TRUE(api::AddReceiptRoutes(router, {}, overlay).ok());
    ASSERT_EQ(router.routes().size(), overlay ? 4u : 3u);
    const http::Route& member = router.routes()[0];
    EXPECT_EQ(member.pattern, "/api/v1/receipts/{id}");
    EXPECT_EQ(member.auth, http::AuthDecision::kEither);
    EXPECT_EQ(member.permission, "receipts.read");
    EXPECT_TRUE(member.tenant_scoped);
    EXPECT_EQ(member.audit_action, "receipt.read");
    const http::Route& pub = router.routes()[1];
    EXPECT_EQ(pub.pattern, "/public/receipts/{id}");
    EXPECT_EQ(pub.auth, http::AuthDecision::kPublic);
    EXPECT_FALSE(pub.tenant_scoped);
    const http::Route& keys = router.routes()[2];
    EXPECT_EQ(keys.pattern, "/.well-known/bulwark/receipt-keys");
    EXPECT_EQ(keys.auth, http::AuthDecision::kPublic);
    EXPECT_TRUE(keys.public_cache);
    EXPECT_FALSE(keys.tenant_scoped);
  }
}

}  // namespace
}  // namespace bulwark::receipts

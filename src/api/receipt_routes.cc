#include "api/receipt_routes.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "api/recorded_commit.h"
#include "core/json_text.h"
#include "crypto/sign.h"
#include "stages/ledger_audit_stage.h"

namespace bulwark::api {
namespace {

using http::AuthDecision;
using http::Reply;
using http::RequestContext;
using http::Verb;

Status NotServing() {
  return Status::Unavailable("receipts_unavailable", "the receipt service is not available");
}

StatusOr<Reply> IssueSample(const ReceiptRouteDeps& deps, RequestContext& ctx) {
  if (deps.service == nullptr || deps.writer == nullptr) return NotServing();
  const boost::json::object* body = ctx.json.if_object();
  const boost::json::value* tenant = body != nullptr ? body->if_contains("tenant") : nullptr;
  const boost::json::value* email = body != nullptr ? body->if_contains("email") : nullptr;
  if (tenant == nullptr || !tenant->is_string() || email == nullptr || !email->is_string() ||
      body->size() != 2) {
    return Status::InvalidArgument("invalid_body",
                                   "expected {\"tenant\": string, \"email\": string}");
  }
  const std::string tenant_id(tenant->as_string());
  audit::Event event = stages::LedgerAuditStage::EventFor(ctx, 201, Status::Ok());
  event.tenant = tenant_id;
  boost::json::object fields{{"email", email->as_string()},
                             {"note", "sample receipt issued by the dev overlay"}};
  receipts::Receipt r;
  // The receipt and its record committed together.
  BULWARK_RETURN_IF_ERROR(CommitRecorded(ctx, [&]() -> Status {
    BULWARK_ASSIGN_OR_RETURN(r, deps.service->IssueRecorded(*deps.writer, std::move(event),
                                                            tenant_id, receipts::kind::kDevSample,
                                                            fields, {"email"}));
    return Status::Ok();
  }));
  std::string out = "{\"id\":";
  core::AppendJsonString(out, r.id);
  out += ",\"receipt\":" + r.FullJson() + "}";
  return Reply{.status = 201, .body = std::move(out)};
}

// A public lookup that found nothing is recorded (someone probing for receipt ids, or a link
// gone wrong): anonymous, as "receipt.public_lookup" denied receipt_not_found with the id asked
// for (at most 64 bytes of it). The route is limited per address (the default rate-limit rules),
// which bounds how fast these records can be written. A lookup that finds its receipt is not
// recorded: the receipt is public by its tenant's choice.
void RecordFailedLookup(const ReceiptRouteDeps& deps, RequestContext& ctx, const Status& status) {
  if (deps.writer == nullptr) return;
  audit::Event event = stages::LedgerAuditStage::EventFor(ctx, 404, status);
  event.action = "receipt.public_lookup";
  event.resource = "receipt:" + std::string(core::Utf8Prefix(ctx.param("id"), 64));
  // The request still answers 404 if this fails; the pipeline does not record it again.
  static_cast<void>(RecordNow(*deps.writer, ctx, std::move(event)));
}

// The keys of one kind, oldest first, as receipt-keys lists them.
Status AppendKeys(boost::json::array& out, std::string_view kind,
                  const keyring::SigningKeySet& set) {
  for (const keyring::PublicSigningKey& k : set.keys) {
    BULWARK_ASSIGN_OR_RETURN(std::string pem, crypto::Ed25519PublicKeyToPem(k.public_key));
    out.push_back(boost::json::object{
        {"kind", kind},
        {"kid", k.kid},
        {"alg", "EdDSA"},
        {"status", k.retired_at ? "retired" : "active"},
        {"signing", k.kid == set.active.kid},
        {"generation", k.generation},
        {"created_at", k.created_at},
        {"retired_at", k.retired_at ? boost::json::value(*k.retired_at) : boost::json::value()},
        {"public_key_pem", std::move(pem)}});
  }
  return Status::Ok();
}

StatusOr<Reply> ReceiptKeys(const ReceiptRouteDeps& deps) {
  if (deps.service == nullptr || deps.ledger == nullptr) return NotServing();
  boost::json::array keys;
  BULWARK_RETURN_IF_ERROR(AppendKeys(keys, "receipt", *deps.service->signing_keys()));
  BULWARK_RETURN_IF_ERROR(AppendKeys(keys, "ledger", *deps.ledger->signing_keys()));
  return Reply{.body = boost::json::serialize(boost::json::object{{"keys", std::move(keys)}})};
}

}  // namespace

Status AddReceiptRoutes(http::Router& router, ReceiptRouteDeps deps, bool local_overlay) {
  BULWARK_RETURN_IF_ERROR(router.Add({
      .method = Verb::get,
      .pattern = "/api/v1/receipts/{id}",
      .auth = AuthDecision::kEither,
      .permission = "receipts.read",
      .tenant_scoped = true,
      .audit_action = "receipt.read",
      .summary =
          "A signed receipt of the caller's tenant, with its disclosures (redacted field values).",
      .handler = [deps](RequestContext& ctx) -> StatusOr<Reply> {
        if (deps.service == nullptr) return NotServing();
        // The tenant comes from the credential, never from the request.
        BULWARK_ASSIGN_OR_RETURN(receipts::Receipt r,
                                 deps.service->Get(ctx.principal.tenant_id, ctx.param("id")));
        return Reply{.body = r.FullJson()};
      },
  }));
  BULWARK_RETURN_IF_ERROR(router.Add({
      .method = Verb::get,
      .pattern = "/public/receipts/{id}",
      .auth = AuthDecision::kPublic,
      .public_cache = true,  // a receipt never changes
      .summary = "The public projection of a receipt: payload and signature, redacted fields as "
                 "commitments. A lookup that finds nothing is recorded.",
      .handler = [deps](RequestContext& ctx) -> StatusOr<Reply> {
        if (deps.service == nullptr) return NotServing();
        StatusOr<std::string> projection = deps.service->PublicProjection(ctx.param("id"));
        if (!projection.ok() && projection.status().code() == ErrorCode::kNotFound) {
          RecordFailedLookup(deps, ctx, projection.status());
        }
        BULWARK_RETURN_IF_ERROR(projection.status());
        return Reply{.body = std::move(*projection)};
      },
  }));
  BULWARK_RETURN_IF_ERROR(router.Add({
      .method = Verb::get,
      .pattern = "/.well-known/bulwark/receipt-keys",
      .auth = AuthDecision::kPublic,
      .public_cache = true,
      .summary = "The public keys (PEM, kid, active or retired) that verify receipts and the "
                 "audit ledger's checkpoints, every generation.",
      .handler = [deps](RequestContext&) -> StatusOr<Reply> { return ReceiptKeys(deps); },
  }));
  if (!local_overlay) return Status::Ok();
  return router.Add({
      .method = Verb::post,
      .pattern = "/api/v1/local/receipts",
      .auth = AuthDecision::kPublic,
      .body = http::BodyKind::kJson,
      .max_body_bytes = 4096,
      .audit_action = "receipt.issue",
      .summary =
          "Dev overlay: issue a sample receipt (email redacted) for a tenant. Dev mode only.",
      .handler = [deps](RequestContext& ctx) -> StatusOr<Reply> { return IssueSample(deps, ctx); },
  });
}

}  // namespace bulwark::api

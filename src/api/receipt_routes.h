#pragma once
// The receipt API (format: receipts/receipt.h, service: receipts/service.h).
//
//   GET  /api/v1/receipts/{id}    either; tenant-scoped; permission receipts.read; recorded as
//                                 receipt.read. The full receipt (disclosures included) of the
//                                 caller's tenant; another tenant's id answers 404. Until identity
//                                 lands every caller is refused with 401.
//   GET  /public/receipts/{id}    public. The public projection only: payload and signature, the
//                                 redacted fields as commitments. An unknown id is a 404 in the
//                                 standard error shape. Ids are 128-bit random, so the projection
//                                 reaches only whoever was handed the id. Rate limiting comes from
//                                 the pipeline's RateLimiter stage (per-ip buckets arrive with the
//                                 identity issue's limiter; until then NoRateLimits is in force).
//   POST /api/v1/local/receipts   dev overlay only (never registered otherwise): issues a
//                                 "dev.sample" receipt for {"tenant": "...", "email": "..."} with
//                                 the email redacted, recorded in the audit ledger in the same
//                                 transaction; answers 201 {"id": ..., "receipt": <full receipt>}.
//                                 Exists so tests can exercise receipts before any feature issues
//                                 them.
#include "audit/writer.h"
#include "http/router.h"
#include "receipts/service.h"

namespace bulwark::api {

struct ReceiptRouteDeps {
  const receipts::ReceiptService* service =
      nullptr;                           // null (e.g. `bulwark routes`): requests get 503
  audit::AuditWriter* writer = nullptr;  // failed public lookups, the dev overlay's issue route
};

// Adds the two receipt routes, and the dev route when `local_overlay` is true.
Status AddReceiptRoutes(http::Router& router, ReceiptRouteDeps deps, bool local_overlay);

}  // namespace bulwark::api

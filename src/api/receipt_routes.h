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
//   GET  /.well-known/bulwark/receipt-keys   public, cacheable. The public halves of the keys
//                                 that sign receipts and the audit ledger's checkpoints, every
//                                 generation (docs/receipts.md):
//                                   {"keys":[{"kind":"receipt"|"ledger","kid":"ed25519:...",
//                                     "alg":"EdDSA","status":"active"|"retired","signing":bool,
//                                     "generation":1,"created_at":"...","retired_at":"..."|null,
//                                     "public_key_pem":"-----BEGIN PUBLIC KEY-----\n..."}]}
//                                 A retired key signs nothing new but stays listed: the receipts
//                                 and checkpoints it signed are still evidence.
//   POST /api/v1/local/receipts   dev overlay only (never registered otherwise): issues a
//                                 "dev.sample" receipt for {"tenant": "...", "email": "..."} with
//                                 the email redacted, recorded in the audit ledger in the same
//                                 transaction; answers 201 {"id": ..., "receipt": <full receipt>}.
//                                 Exists so tests can exercise receipts before any feature issues
//                                 them.
#include "audit/ledger.h"
#include "audit/writer.h"
#include "http/router.h"
#include "receipts/service.h"

namespace bulwark::api {

struct ReceiptRouteDeps {
  const receipts::ReceiptService* service =
      nullptr;                            // null (e.g. `bulwark routes`): requests get 503
  audit::AuditWriter* writer = nullptr;   // failed public lookups, the dev overlay's issue route
  const audit::Ledger* ledger = nullptr;  // its checkpoint keys, for receipt-keys; null: 503
};

// Adds the three public and tenant receipt routes, and the dev route when `local_overlay` is true.
Status AddReceiptRoutes(http::Router& router, ReceiptRouteDeps deps, bool local_overlay);

}  // namespace bulwark::api

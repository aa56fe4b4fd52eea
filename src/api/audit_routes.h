#pragma once
// The audit query API: GET /api/v1/audit/events (tenant-scoped, permission audit.read).
#include "http/router.h"
#include "store/store.h"

namespace bulwark::api {

Status AddAuditRoutes(http::Router& router, store::Store* store);

}  // namespace bulwark::api

#pragma once
// The sign-in page the mailed link opens (<public_url>/login#token=bwm_...), served in dev mode
// with the local overlay: GET /login (HTML) and GET /login.js (its script, same origin). The
// script reads the token from the link's fragment (or ?token=), removes it from the address bar
// and history, exchanges it once with POST /api/v1/auth/verify and shows the access token and
// what to do next. The page's CSP allows only its own script and same-origin requests
// (http::kPageCsp); nothing inline.
//
// Production serves neither: the link points at server.public_url, where the deployment's own
// application serves /login and posts the fragment's token to /api/v1/auth/verify
// (docs/configuration.md, server.public_url).
#include "core/status.h"
#include "http/router.h"

namespace bulwark::api {

Status AddLoginPageRoutes(http::Router& router);

}  // namespace bulwark::api

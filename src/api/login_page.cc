#include "api/login_page.h"

namespace bulwark::api {
namespace {

using http::AuthDecision;
using http::Reply;
using http::RequestContext;
using http::Verb;

constexpr std::string_view kLoginHtml = R"(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Bulwark sign-in (dev)</title>
<script src="/login.js" defer></script>
</head>
<body>
<h1>Bulwark sign-in (dev)</h1>
<p id="status">Signing in&hellip;</p>
<noscript><p>This page needs JavaScript to read the sign-in link. Without it, post the token
after <code>#token=</code> in the link to <code>/api/v1/auth/verify</code>.</p></noscript>
<div id="done" hidden>
<p>Signed in. In a shell, set the access token (valid 15 minutes):</p>
<pre id="export"></pre>
<p>Then, for example:</p>
<pre id="next"></pre>
</div>
</body>
</html>
)";

// Reads the token, takes it out of the address bar, exchanges it once, shows the result. Every
// value reaches the page through textContent only.
constexpr std::string_view kLoginJs = R"('use strict';
(function () {
  function tokenFromLink() {
    var hash = new URLSearchParams(window.location.hash.replace(/^#/, ''));
    var query = new URLSearchParams(window.location.search);
    return hash.get('token') || query.get('token') || '';
  }
  function say(text) { document.getElementById('status').textContent = text; }
  function start() {
    var token = tokenFromLink();
    // The token is single use; keep it out of the history and any later copy of the address.
    window.history.replaceState(null, '', window.location.pathname);
    if (!/^bwm_[A-Za-z0-9_-]{1,200}$/.test(token)) {
      say('This page completes a sign-in link: open the link from the mail (dev: ' +
          window.location.origin + '/api/v1/local/outbox). Request one with POST /api/v1/auth/request.');
      return;
    }
    fetch('/api/v1/auth/verify', {
      method: 'POST',
      headers: {'Content-Type': 'application/json'},
      body: JSON.stringify({token: token}),
      credentials: 'same-origin',
      cache: 'no-store'
    }).then(function (res) {
      return res.json().then(function (body) { return {ok: res.ok, body: body}; });
    }).then(function (r) {
      if (!r.ok || !r.body.access_token) {
        var e = (r.body && r.body.error) || {};
        say('Sign-in refused: ' + (e.code || 'error') + ': ' + (e.message || '') +
            ' (a link works once and for 15 minutes; request a new one).');
        return;
      }
      say('Signed in.');
      document.getElementById('export').textContent =
          "export ACCESS_TOKEN='" + r.body.access_token + "'";
      document.getElementById('next').textContent =
          'curl -s ' + window.location.origin + '/api/v1/me -H "Authorization: Bearer $ACCESS_TOKEN"\n' +
          'curl -s ' + window.location.origin + '/api/v1/secrets/dev/hello -H "Authorization: Bearer $ACCESS_TOKEN"';
      document.getElementById('done').hidden = false;
    }).catch(function () { say('The server could not be reached.'); });
  }
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
)";

}  // namespace

Status AddLoginPageRoutes(http::Router& router) {
  BULWARK_RETURN_IF_ERROR(router.Add({
      .method = Verb::get,
      .pattern = "/login",
      .auth = AuthDecision::kPublic,
      .inline_io = true,
      .page = true,
      .summary = "Dev overlay: the page the mailed sign-in link opens; its script completes the "
                 "sign-in (POST /api/v1/auth/verify). Dev mode only.",
      .handler = [](RequestContext&) -> StatusOr<Reply> {
        return Reply{.body = std::string(kLoginHtml), .content_type = "text/html; charset=utf-8"};
      },
  }));
  return router.Add({
      .method = Verb::get,
      .pattern = "/login.js",
      .auth = AuthDecision::kPublic,
      .inline_io = true,
      .summary = "Dev overlay: the sign-in page's script. Dev mode only.",
      .handler = [](RequestContext&) -> StatusOr<Reply> {
        return Reply{.body = std::string(kLoginJs),
                     .content_type = "text/javascript; charset=utf-8"};
      },
  });
}

}  // namespace bulwark::api

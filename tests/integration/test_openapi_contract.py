"""docs/openapi.yaml describes what the binary answers, not just which routes it has.

One representative call per documented operation (CALLS below, in order, against one dev server
with operator token) and the JSON body of every answer validated against the schema the document
gives for that operation and status (OpenAPI 3.1 schemas are JSON Schema 2020-12). The calls reach
success where a test can, and the documented error shapes besides: the native {"error": {...}} and
the Vault surface's {"errors": [...]}. A documented operation without a representative call fails
the test, so a new route must add one here.

Also: @redocly/cli lints the document with zero errors, and a client generated from it offline
(swagger-typescript-api, tests/peers) writes and reads a secret through the real server."""
import json
import os
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator, RefResolver

from conftest import random_token
from identity_helpers import (INVITE_RE, LOOSE, MAGIC_RE, accept, bearer, create_tenant, invite,
                              mail_count, post, send_json, sign_in, step_up, totp, wait_mail)
from vault_helpers import api_key, attach, owner, put_policy

REPO = Path(__file__).resolve().parents[2]
DOC_PATH = REPO / "docs/openapi.yaml"
PEERS = REPO / "tests/peers"
METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}
NODE_ENV = {"REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true", "NO_COLOR": "1"}


def load_doc():
    return yaml.safe_load(DOC_PATH.read_text())


def documented_operations(doc):
    return {(m.upper(), p): op for p, item in doc["paths"].items() for m, op in item.items()
            if m in METHODS}


# --------------------------------------------------------------------------------------------
# The representative calls. Each takes the World and returns the server's response; they run in
# this order (later ones rely on what earlier ones made). Several calls per operation are allowed
# (a success and a documented error); every documented operation needs at least one.


class World:
    def __init__(self, srv, op_token):
        self.srv = srv
        self.op = {"Authorization": f"Bearer {op_token}"}
        self.doc, self.tokens, self.codes = owner(srv, "acme")
        self.h = bearer(self.tokens)
        put_policy(srv, self.tokens, self.codes, "all",
                   {"*": ["create", "read", "update", "delete", "list"]})
        attach(srv, self.tokens, self.codes, "all", "user", self.doc["owner_user_id"])
        self.key, self.key_id = api_key(srv, self.tokens, self.codes, policy="all")
        self.vault = {"X-Vault-Token": self.key}
        self.member = accept(srv, invite(srv, self.tokens, "mia@acme.test", "member"))
        self.receipt_id = None
        self.stepped_up = time.monotonic()  # owner() and api_key() just stepped up

    def step_up(self):
        """A step-up lasts 5 minutes; the recovery codes (10) would not last for one per call."""
        if time.monotonic() - self.stepped_up > 240:
            step_up(self.srv, self.tokens, self.codes)
            self.stepped_up = time.monotonic()

    def req(self, method, path, doc=None, headers=None):
        if doc is None:
            return self.srv.request(method, path, headers=headers or {}, body="")
        return send_json(self.srv, method, path, doc, headers)


def _fresh_session(w, email):
    """A session of a new tenant's owner (for the logout, refresh and MFA-enrolment calls)."""
    create_tenant(w.srv, email.split("@")[1].split(".")[0], email)
    return sign_in(w.srv, email)


def _scim_token(w):
    w.step_up()
    res = post(w.srv, "/api/v1/scim/token", headers=w.h)
    w.scim_token = res.json().get("token") if res.status == 201 else None
    w.scim_ids = {}
    return res


def _scim(w, method, path, doc=None):
    headers = {"Authorization": f"Bearer {w.scim_token}"}
    if doc is None:
        return w.srv.request(method, "/scim/v2" + path, headers=headers, body="")
    return w.srv.request(method, "/scim/v2" + path, headers={**headers, "Content-Type": "application/scim+json"},
                         body=json.dumps(doc))


def _scim_create(w, kind, doc):
    res = _scim(w, "POST", "/" + kind, doc)
    if res.status == 201:
        w.scim_ids[kind] = res.json()["id"]
    return res


def _local_receipt(w):
    res = w.req("POST", "/api/v1/local/receipts", {"tenant": w.doc["tenant_id"], "email": "r@acme.test"})
    w.receipt_id = res.json().get("id") if res.status == 201 else None
    return res


def _auth_request(w):
    return post(w.srv, "/api/v1/auth/request", {"email": "owner@acme.test"})


def _auth_verify(w):
    seen = mail_count(w.srv, "owner@acme.test")
    post(w.srv, "/api/v1/auth/request", {"email": "owner@acme.test"})
    token = wait_mail(w.srv, "owner@acme.test", MAGIC_RE, seen)
    return post(w.srv, "/api/v1/auth/verify", {"token": token})


def _auth_refresh(w):
    s = _fresh_session(w, "refresh@refresh.test")
    return post(w.srv, "/api/v1/auth/refresh", {"refresh_token": s["refresh_token"]})


def _logout(w):
    s = _fresh_session(w, "out@logout.test")
    return post(w.srv, "/api/v1/auth/logout", headers=bearer(s))


def _accept_invite(w):
    seen = mail_count(w.srv, "ivy@acme.test")
    w.step_up()
    post(w.srv, "/api/v1/invites", {"email": "ivy@acme.test", "role": "viewer"}, w.h)
    token = wait_mail(w.srv, "ivy@acme.test", INVITE_RE, seen)
    return post(w.srv, "/api/v1/auth/accept-invite", {"token": token})


def _totp_start(w):
    w.enrolling = _fresh_session(w, "mfa@mfa.test")
    res = post(w.srv, "/api/v1/auth/mfa/totp", headers=bearer(w.enrolling))
    w.totp_secret = res.json().get("secret") if res.status == 201 else None
    return res


def _totp_confirm(w):
    return post(w.srv, "/api/v1/auth/mfa/totp/confirm", {"code": totp(w.totp_secret)},
                bearer(w.enrolling))


def _mfa_verify(w):
    return post(w.srv, "/api/v1/auth/mfa/verify", {"code": w.codes.pop()}, w.h)


def _invite(w):
    w.step_up()
    return post(w.srv, "/api/v1/invites", {"email": "zed@acme.test", "role": "viewer"}, w.h)


def _apikey_create(w):
    w.step_up()
    res = post(w.srv, "/api/v1/apikeys", {"name": "contract", "scopes": ["secrets.read"]}, w.h)
    w.spare_key_id = res.json().get("id")
    return res


def _apikey_revoke(w):
    w.step_up()
    return w.req("DELETE", f"/api/v1/apikeys/{w.spare_key_id}", headers=w.h)


def _breakglass_on(w):
    w.step_up()
    return w.req("PUT", "/api/v1/settings/breakglass", {"enabled": True}, w.h)


def _designate(w):
    w.step_up()
    return w.req("PUT", f"/api/v1/members/{w.doc['owner_user_id']}/breakglass", {"designated": True}, w.h)


def _breakglass_start(w):
    w.step_up()
    return post(w.srv, "/api/v1/breakglass",
                {"reason": "contract test of the documented shapes", "ttl_s": 600,
                 "verbs": ["audit.read"]}, w.h)


def _s(w, method, path, doc=None, h=None):
    return w.req(method, path, doc, w.h if h is None else h)


def _v(w, method, path, doc=None):
    return w.req(method, path, doc, w.vault)


def _vpatch(w, path, doc):
    """What `vault kv patch`, hvac's patch() and node-vault's update() send: a JSON Merge Patch."""
    return w.req("PATCH", path, doc, {**w.vault, "Content-Type": "application/merge-patch+json"})


def _tenant_delete(w):
    t, tokens, codes = owner(w.srv, "doomed")
    step_up(w.srv, tokens, codes)
    return w.req("DELETE", "/api/v1/tenant", {"confirm": "doomed"}, bearer(tokens))


def _sso_create(w):
    w.step_up()
    res = w.req("POST", "/api/v1/sso/connections",
                {"preset": "generic", "issuer": "https://idp.contract.test", "client_id": "c",
                 "client_secret": "contract-secret", "allowed_domains": ["contract.test"],
                 "role_mapping": {"groups": {"eng": "member"}}}, w.h)
    w.sso_id = res.json().get("id")
    return res


def _sso_update(w):
    w.step_up()
    return w.req("PUT", f"/api/v1/sso/connections/{w.sso_id}",
                 {"preset": "generic", "issuer": "https://idp.contract.test", "client_id": "c2",
                  "allowed_domains": ["contract.test"]}, w.h)

S = "/api/v1/secrets/"
V = "/v1/secret/"
CALLS = [
    ("GET", "/livez", lambda w: w.req("GET", "/livez")),
    ("GET", "/readyz", lambda w: w.req("GET", "/readyz")),
    ("GET", "/healthz", lambda w: w.req("GET", "/healthz")),
    ("GET", "/build-info", lambda w: w.req("GET", "/build-info", headers=w.op)),
    ("GET", "/metrics", lambda w: w.req("GET", "/metrics", headers=w.op)),
    ("POST", "/api/v1/ops/keyring/reload", lambda w: w.req("POST", "/api/v1/ops/keyring/reload", headers=w.op)),
    ("GET", "/.well-known/jwks.json", lambda w: w.req("GET", "/.well-known/jwks.json")),
    ("GET", "/.well-known/openid-configuration",
     lambda w: w.req("GET", "/.well-known/openid-configuration")),
    ("GET", "/.well-known/oauth-authorization-server",
     lambda w: w.req("GET", "/.well-known/oauth-authorization-server")),
    ("GET", "/.well-known/bulwark/receipt-keys",
     lambda w: w.req("GET", "/.well-known/bulwark/receipt-keys")),
    ("GET", "/api/v1/local/outbox", lambda w: w.req("GET", "/api/v1/local/outbox")),
    ("POST", "/api/v1/local/receipts", _local_receipt),
    ("GET", "/api/v1/receipts/{id}", lambda w: _s(w, "GET", f"/api/v1/receipts/{w.receipt_id}")),
    ("GET", "/public/receipts/{id}", lambda w: w.req("GET", f"/public/receipts/{w.receipt_id}")),
    ("GET", "/public/receipts/{id}", lambda w: w.req("GET", "/public/receipts/rcpt_" + "0" * 32)),
    ("POST", "/api/v1/auth/request", _auth_request),
    ("POST", "/api/v1/auth/request", lambda w: w.req("POST", "/api/v1/auth/request", {"mail": 1})),
    ("POST", "/api/v1/auth/verify", _auth_verify),
    ("POST", "/api/v1/auth/verify", lambda w: w.req("POST", "/api/v1/auth/verify", {"token": "x"})),
    ("POST", "/api/v1/auth/refresh", _auth_refresh),
    ("POST", "/api/v1/auth/logout", _logout),
    ("POST", "/api/v1/auth/accept-invite", _accept_invite),
    ("GET", "/api/v1/me", lambda w: _s(w, "GET", "/api/v1/me")),
    ("GET", "/api/v1/me", lambda w: w.req("GET", "/api/v1/me")),  # 401, the native shape
    ("POST", "/api/v1/auth/mfa/totp", _totp_start),
    ("POST", "/api/v1/auth/mfa/totp/confirm", _totp_confirm),
    ("POST", "/api/v1/auth/mfa/verify", _mfa_verify),
    ("GET", "/api/v1/members", lambda w: _s(w, "GET", "/api/v1/members")),
    ("POST", "/api/v1/invites", _invite),
    ("POST", "/api/v1/apikeys", _apikey_create),
    ("GET", "/api/v1/apikeys", lambda w: _s(w, "GET", "/api/v1/apikeys")),
    ("DELETE", "/api/v1/apikeys/{id}", _apikey_revoke),
    ("GET", "/api/v1/whoami", lambda w: _s(w, "GET", "/api/v1/whoami", h={"X-API-Key": w.key})),
    ("GET", "/api/v1/sso/login",
     lambda w: w.req("GET", "/api/v1/sso/login?tenant=nowhere&connection=ssoc_none")),
    ("GET", "/api/v1/sso/callback/{connection}",
     lambda w: w.req("GET", "/api/v1/sso/callback/ssoc_none?state=x&code=y")),
    ("POST", "/api/v1/sso/backchannel-logout/{connection}",
     lambda w: w.srv.request("POST", "/api/v1/sso/backchannel-logout/ssoc_none",
                             headers={"Content-Type": "application/x-www-form-urlencoded"},
                             body="logout_token=x")),
    ("GET", "/api/v1/settings", lambda w: _s(w, "GET", "/api/v1/settings")),
    ("PUT", "/api/v1/settings/ip-allowlist",
     lambda w: (w.step_up(), _s(w, "PUT", "/api/v1/settings/ip-allowlist", {"cidrs": []}))[1]),
    ("PUT", "/api/v1/settings/breakglass", _breakglass_on),
    ("PUT", "/api/v1/members/{user_id}/breakglass", _designate),
    ("GET", "/api/v1/breakglass", lambda w: _s(w, "GET", "/api/v1/breakglass")),
    ("POST", "/api/v1/breakglass", _breakglass_start),
    ("GET", "/api/v1/breakglass", lambda w: _s(w, "GET", "/api/v1/breakglass")),
    ("POST", "/api/v1/breakglass/end", lambda w: _s(w, "POST", "/api/v1/breakglass/end")),
    ("GET", "/api/v1/audit/events", lambda w: _s(w, "GET", "/api/v1/audit/events?limit=3")),
    ("GET", "/api/v1/audit/events", lambda w: _s(w, "GET", "/api/v1/audit/events?limit=0")),
    ("PUT", "/api/v1/policies/{name}",
     lambda w: (w.step_up(), _s(w, "PUT", "/api/v1/policies/readers",
                                {"rules": [{"path": "app/*", "capabilities": ["read"]}]}))[1]),
    ("GET", "/api/v1/policies", lambda w: _s(w, "GET", "/api/v1/policies")),
    ("GET", "/api/v1/policies/{name}", lambda w: _s(w, "GET", "/api/v1/policies/readers")),
    ("PUT", "/api/v1/groups/{name}",
     lambda w: (w.step_up(), _s(w, "PUT", "/api/v1/groups/ops", {"members": [w.member["user_id"]]}))[1]),
    ("GET", "/api/v1/groups", lambda w: _s(w, "GET", "/api/v1/groups")),
    ("PUT", "/api/v1/policies/{name}/attachments/{kind}/{id}",
     lambda w: (w.step_up(), _s(w, "PUT", "/api/v1/policies/readers/attachments/group/ops"))[1]),
    ("DELETE", "/api/v1/policies/{name}/attachments/{kind}/{id}",
     lambda w: (w.step_up(), _s(w, "DELETE", "/api/v1/policies/readers/attachments/group/ops"))[1]),
    ("DELETE", "/api/v1/groups/{name}", lambda w: (w.step_up(), _s(w, "DELETE", "/api/v1/groups/ops"))[1]),
    ("DELETE", "/api/v1/policies/{name}", lambda w: (w.step_up(), _s(w, "DELETE", "/api/v1/policies/readers"))[1]),
    # SSO administration (owner only, changes stepped up).
    ("POST", "/api/v1/sso/connections", _sso_create),
    ("POST", "/api/v1/sso/connections",
     lambda w: (w.step_up(), _s(w, "POST", "/api/v1/sso/connections", {"preset": "okta"}))[1]),  # 400
    ("GET", "/api/v1/sso/connections", lambda w: _s(w, "GET", "/api/v1/sso/connections")),
    ("GET", "/api/v1/sso/connections/{id}", lambda w: _s(w, "GET", f"/api/v1/sso/connections/{w.sso_id}")),
    ("PUT", "/api/v1/sso/connections/{id}", _sso_update),
    ("POST", "/api/v1/sso/domains",
     lambda w: (w.step_up(), _s(w, "POST", "/api/v1/sso/domains", {"domain": "contract.test"}))[1]),
    ("GET", "/api/v1/sso/domains", lambda w: _s(w, "GET", "/api/v1/sso/domains")),
    ("POST", "/api/v1/sso/domains/{domain}/verify",
     lambda w: (w.step_up(), _s(w, "POST", "/api/v1/sso/domains/unclaimed.test/verify"))[1]),  # 404
    ("DELETE", "/api/v1/sso/domains/{domain}",
     lambda w: (w.step_up(), _s(w, "DELETE", "/api/v1/sso/domains/contract.test"))[1]),
    ("GET", "/api/v1/sso/policy", lambda w: _s(w, "GET", "/api/v1/sso/policy")),
    ("PUT", "/api/v1/sso/policy",
     lambda w: (w.step_up(), _s(w, "PUT", "/api/v1/sso/policy", {"require_sso": False}))[1]),
    ("DELETE", "/api/v1/sso/connections/{id}",
     lambda w: (w.step_up(), _s(w, "DELETE", f"/api/v1/sso/connections/{w.sso_id}"))[1]),
    # The native secrets surface, with the API key (a multi-segment path).
    ("PUT", "/api/v1/secrets/{path}", lambda w: _s(w, "PUT", S + "app/db/password", {"data": {"pw": "s3"}},
                                                   h={"X-API-Key": w.key})),
    ("PUT", "/api/v1/secrets/{path}", lambda w: _s(w, "PUT", S + "app/db/password", {"data": {"pw": "s4"}, "cas": 9},
                                                   h={"X-API-Key": w.key})),  # 409 cas_mismatch
    ("GET", "/api/v1/secrets/{path}", lambda w: _s(w, "GET", S + "app/db/password", h={"X-API-Key": w.key})),
    ("GET", "/api/v1/secrets/{path}", lambda w: _s(w, "GET", S + "app/none", h={"X-API-Key": w.key})),
    ("GET", "/api/v1/secrets", lambda w: _s(w, "GET", "/api/v1/secrets?prefix=app/&recursive=true")),
    ("GET", "/api/v1/secret-metadata/{path}", lambda w: _s(w, "GET", "/api/v1/secret-metadata/app/db/password")),
    ("PUT", "/api/v1/secret-metadata/{path}",
     lambda w: _s(w, "PUT", "/api/v1/secret-metadata/app/db/password", {"max_versions": 5})),
    ("POST", "/api/v1/secret-versions/delete/{path}",
     lambda w: _s(w, "POST", "/api/v1/secret-versions/delete/app/db/password", {"versions": [1]})),
    ("POST", "/api/v1/secret-versions/undelete/{path}",
     lambda w: _s(w, "POST", "/api/v1/secret-versions/undelete/app/db/password", {"versions": [1]})),
    ("POST", "/api/v1/secret-versions/destroy/{path}",
     lambda w: (w.step_up(), _s(w, "POST", "/api/v1/secret-versions/destroy/app/db/password", {"versions": [1]}))[1]),
    ("DELETE", "/api/v1/secrets/{path}", lambda w: _s(w, "DELETE", S + "app/db/password")),
    ("DELETE", "/api/v1/secret-metadata/{path}", lambda w: _s(w, "DELETE", "/api/v1/secret-metadata/app/db/password")),
    # The Vault KV v2 surface, with X-Vault-Token.
    ("POST", "/v1/{mount}/data/{path}", lambda w: _v(w, "POST", V + "data/kv/a/b", {"data": {"k": "v1"}})),
    ("PUT", "/v1/{mount}/data/{path}", lambda w: _v(w, "PUT", V + "data/kv/a/b", {"data": {"k": "v2"},
                                                                               "options": {"cas": 2}})),
    ("PUT", "/v1/{mount}/data/{path}", lambda w: _v(w, "PUT", V + "data/kv/a/b", {"data": {"k": "v3"},
                                                                               "options": {"cas": 1}})),  # 400 cas
    ("GET", "/v1/{mount}/data/{path}", lambda w: _v(w, "GET", V + "data/kv/a/b")),
    ("GET", "/v1/{mount}/data/{path}", lambda w: w.req("GET", V + "data/kv/a/b", headers={"X-Vault-Token": "nope"})),
    ("GET", "/v1/{mount}/data/{path}", lambda w: _v(w, "GET", V + "data/kv/none")),
    ("GET", "/v1/{mount}/metadata/{path}", lambda w: _v(w, "GET", V + "metadata/kv/a/b")),
    ("GET", "/v1/{mount}/metadata/{path}", lambda w: _v(w, "GET", V + "metadata/kv?list=true")),
    ("GET", "/v1/{mount}/metadata", lambda w: _v(w, "GET", V + "metadata?list=true")),
    # Mount discovery and engine settings, as the Go client, hvac and node-vault ask for them.
    ("GET", "/v1/sys/internal/ui/mounts/{path}", lambda w: _v(w, "GET", "/v1/sys/internal/ui/mounts/secret/kv/a")),
    ("GET", "/v1/sys/internal/ui/mounts/{path}",
     lambda w: _v(w, "GET", "/v1/sys/internal/ui/mounts/kv/a")),  # 404 unknown_mount
    ("GET", "/v1/sys/mounts-all/{path}", lambda w: _v(w, "GET", "/v1/sys/mounts-all/secret")),
    ("GET", "/v1/sys/mounts", lambda w: _v(w, "GET", "/v1/sys/mounts")),
    ("GET", "/v1/sys/mounts", lambda w: w.req("GET", "/v1/sys/mounts")),  # 403, no token
    ("GET", "/v1/sys/mounts/{mount}/tune", lambda w: _v(w, "GET", "/v1/sys/mounts/secret/tune")),
    ("GET", "/v1/sys/mounts/{mount}/tune", lambda w: _v(w, "GET", "/v1/sys/mounts/kv/tune")),  # 404 unknown_mount
    ("GET", "/v1/{mount}/config", lambda w: _v(w, "GET", V + "config")),
    ("POST", "/v1/{mount}/config", lambda w: _v(w, "POST", V + "config", {"max_versions": 0, "cas_required": False,
                                                                        "delete_version_after": "0s"})),  # 204
    ("POST", "/v1/{mount}/config",
     lambda w: _v(w, "POST", V + "config", {"cas_required": True})),  # 400 unsupported_setting
    # PATCH (JSON Merge Patch) and subkeys.
    ("PATCH", "/v1/{mount}/data/{path}", lambda w: _vpatch(w, V + "data/kv/a/b", {"data": {"k": None, "n": {"m": 1}}})),
    ("PATCH", "/v1/{mount}/data/{path}", lambda w: _v(w, "PATCH", V + "data/kv/a/b", {"data": {"n": 2}})),  # 415
    ("PATCH", "/v1/{mount}/data/{path}", lambda w: _vpatch(w, V + "data/kv/none", {"data": {"n": 2}})),  # 404
    ("GET", "/v1/{mount}/subkeys/{path}", lambda w: _v(w, "GET", V + "subkeys/kv/a/b?depth=1")),
    ("GET", "/v1/{mount}/subkeys/{path}", lambda w: _v(w, "GET", V + "subkeys/kv/a/b?depth=x")),  # 400 invalid_query
    # KV v1 calls on the KV v2 mount, and a KV v2 path with a method it lacks.
    ("GET", "/v1/secret/{path}", lambda w: _v(w, "GET", V + "kv/a/b")),  # 404 kv_v2_mount
    ("GET", "/v1/secret/{path}", lambda w: _v(w, "GET", V + "delete/kv/a/b")),  # 405 method_not_allowed
    ("POST", "/v1/secret/{path}", lambda w: _v(w, "POST", V + "kv/a/b", {"k": "v"})),
    ("PUT", "/v1/secret/{path}", lambda w: _v(w, "PUT", V + "kv/a/b", {"k": "v"})),
    ("PATCH", "/v1/secret/{path}", lambda w: _v(w, "PATCH", V + "kv/a/b", {"k": "v"})),
    ("DELETE", "/v1/secret/{path}", lambda w: _v(w, "DELETE", V + "kv/a/b")),
    ("POST", "/v1/{mount}/metadata/{path}", lambda w: _v(w, "POST", V + "metadata/kv/a/b", {"max_versions": 7})),
    ("PUT", "/v1/{mount}/metadata/{path}", lambda w: _v(w, "PUT", V + "metadata/kv/a/b", {"max_versions": 8})),
    ("POST", "/v1/{mount}/delete/{path}", lambda w: _v(w, "POST", V + "delete/kv/a/b", {"versions": [1]})),
    ("PUT", "/v1/{mount}/delete/{path}", lambda w: _v(w, "PUT", V + "delete/kv/a/b", {"versions": [2]})),
    ("POST", "/v1/{mount}/undelete/{path}", lambda w: _v(w, "POST", V + "undelete/kv/a/b", {"versions": [1]})),
    ("PUT", "/v1/{mount}/undelete/{path}", lambda w: _v(w, "PUT", V + "undelete/kv/a/b", {"versions": [2]})),
    ("POST", "/v1/{mount}/destroy/{path}",
     lambda w: (w.step_up(), w.req("POST", V + "destroy/kv/a/b", {"versions": [1]}, {"X-Vault-Token": w.tokens["access_token"]}))[1]),
    ("PUT", "/v1/{mount}/destroy/{path}", lambda w: _v(w, "PUT", V + "destroy/kv/a/b", {"versions": [2]})),  # 403 mfa
    ("DELETE", "/v1/{mount}/data/{path}", lambda w: _v(w, "DELETE", V + "data/kv/a/b")),
    ("DELETE", "/v1/{mount}/metadata/{path}", lambda w: _v(w, "DELETE", V + "metadata/kv/a/b")),
    ("GET", "/v1/auth/token/lookup-self", lambda w: _v(w, "GET", "/v1/auth/token/lookup-self")),
    ("POST", "/v1/auth/token/renew-self", lambda w: _v(w, "POST", "/v1/auth/token/renew-self")),  # 400
    ("PUT", "/v1/auth/token/renew-self",
     lambda w: _v(w, "PUT", "/v1/auth/token/renew-self", {"increment": "1h"})),  # 400 lease_not_renewable
    ("PUT", "/v1/auth/token/renew-self", lambda w: w.req("PUT", "/v1/auth/token/renew-self")),  # 403, no token
    ("GET", "/v1/sys/health", lambda w: w.req("GET", "/v1/sys/health")),
    ("GET", "/v1/sys/health", lambda w: w.req("GET", "/v1/sys/health?activecode=204")),
    ("GET", "/v1/sys/health", lambda w: w.req("GET", "/v1/sys/health?standbyok=maybe")),  # 400
    # The dev sign-in page the mailed link opens, and its script.
    ("GET", "/login", lambda w: w.req("GET", "/login")),
    ("GET", "/login.js", lambda w: w.req("GET", "/login.js")),
    # SCIM: the token, the discovery documents, Users and Groups, and the token's revocation.
    ("POST", "/api/v1/scim/token", _scim_token),
    ("GET", "/scim/v2/ServiceProviderConfig", lambda w: _scim(w, "GET", "/ServiceProviderConfig")),
    ("GET", "/scim/v2/Schemas", lambda w: _scim(w, "GET", "/Schemas")),
    ("GET", "/scim/v2/ResourceTypes", lambda w: _scim(w, "GET", "/ResourceTypes")),
    ("POST", "/scim/v2/Users", lambda w: _scim_create(w, "Users", {"userName": "sam@acme.test"})),
    ("POST", "/scim/v2/Users", lambda w: _scim(w, "POST", "/Users", {"userName": "SAM@acme.test"})),  # 409
    ("GET", "/scim/v2/Users", lambda w: _scim(w, "GET", '/Users?filter=userName%20eq%20%22sam%40acme.test%22')),
    ("GET", "/scim/v2/Users", lambda w: _scim(w, "GET", '/Users?filter=userName%20eq')),  # 400 invalidFilter
    ("GET", "/scim/v2/Users/{id}", lambda w: _scim(w, "GET", f"/Users/{w.scim_ids['Users']}")),
    ("PUT", "/scim/v2/Users/{id}", lambda w: _scim(w, "PUT", f"/Users/{w.scim_ids['Users']}",
                                                   {"userName": "sam@acme.test", "displayName": "Sam"})),
    ("PATCH", "/scim/v2/Users/{id}", lambda w: _scim(w, "PATCH", f"/Users/{w.scim_ids['Users']}", {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "active", "value": "False"}]})),
    ("POST", "/scim/v2/Groups", lambda w: _scim_create(w, "Groups", {"displayName": "Ops"})),
    ("GET", "/scim/v2/Groups", lambda w: _scim(w, "GET", "/Groups")),
    ("GET", "/scim/v2/Groups/{id}", lambda w: _scim(w, "GET", f"/Groups/{w.scim_ids['Groups']}")),
    ("PUT", "/scim/v2/Groups/{id}", lambda w: _scim(w, "PUT", f"/Groups/{w.scim_ids['Groups']}",
                                                    {"displayName": "Operations"})),
    ("PATCH", "/scim/v2/Groups/{id}", lambda w: _scim(w, "PATCH", f"/Groups/{w.scim_ids['Groups']}", {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Add", "path": "members", "value": [{"value": w.scim_ids["Users"]}]}]})),
    ("DELETE", "/scim/v2/Groups/{id}", lambda w: _scim(w, "DELETE", f"/Groups/{w.scim_ids['Groups']}")),
    ("DELETE", "/scim/v2/Users/{id}", lambda w: _scim(w, "DELETE", f"/Users/{w.scim_ids['Users']}")),
    ("DELETE", "/scim/v2/Users/{id}", lambda w: _scim(w, "DELETE", f"/Users/{w.scim_ids['Users']}")),  # 404
    ("DELETE", "/api/v1/scim/token", lambda w: (w.step_up(), _s(w, "DELETE", "/api/v1/scim/token"))[1]),
    ("GET", "/scim/v2/Users", lambda w: _scim(w, "GET", "/Users")),  # 401: the token is revoked
    # Last: changes and removals.
    ("PATCH", "/api/v1/members/{user_id}",
     lambda w: (w.step_up(), _s(w, "PATCH", f"/api/v1/members/{w.member['user_id']}", {"role": "viewer"}))[1]),
    ("DELETE", "/api/v1/members/{user_id}",
     lambda w: (w.step_up(), _s(w, "DELETE", f"/api/v1/members/{w.member['user_id']}"))[1]),
    ("DELETE", "/api/v1/tenant", _tenant_delete),
]


def schema_validator(doc, schema):
    return Draft202012Validator(schema, resolver=RefResolver("", doc))


def response_spec(doc, op, status):
    spec = op["responses"].get(str(status)) or op["responses"].get(f"{str(status)[0]}XX")
    assert spec is not None, f"status {status} is not documented"
    while "$ref" in spec:
        name = spec["$ref"].split("/")[-1]
        spec = doc["components"]["responses"][name]
    return spec


def test_every_documented_operation_has_a_representative_call():
    ops = set(documented_operations(load_doc()))
    called = {(m, p) for m, p, _ in CALLS}
    assert not ops - called, f"documented operations without a representative call: {sorted(ops - called)}"
    assert not called - ops, f"calls to undocumented operations: {sorted(called - ops)}"


def test_every_body_has_a_schema_and_errors_have_their_surfaces_shape():
    """Every JSON request and response body names a schema, every operation documents a 4xx, and
    errors use the native Error, except on the Vault surface (/v1/), whose errors are VaultError."""
    doc = load_doc()

    def deref(obj, kind):
        while "$ref" in obj:
            obj = doc["components"][kind][obj["$ref"].split("/")[-1]]
        return obj

    for (method, path), op in documented_operations(doc).items():
        label = f"{method} {path}"
        if "requestBody" in op:
            # Inline, not a $ref to components/requestBodies: swagger-typescript-api then sends no
            # Content-Type and the native surface answers 415.
            assert "$ref" not in op["requestBody"], (label, "an inline requestBody")
            for ctype, media in op["requestBody"]["content"].items():
                assert media.get("schema"), (label, "request", ctype)
        assert any(code.startswith("4") for code in op["responses"]), (label, "no 4xx documented")
        for code, resp in op["responses"].items():
            for ctype, media in deref(resp, "responses").get("content", {}).items():
                assert media.get("schema"), (label, code, ctype)
            if code[0] in "45" and path not in ("/readyz", "/healthz"):  # probes: their own body
                want = ("VaultError" if path.startswith("/v1/")
                        else "ScimError" if path.startswith("/scim/v2/") else "Error")
                assert resp == {"$ref": f"#/components/responses/{want}"}, (label, code, resp)


def test_every_answer_matches_its_documented_shape(make_server):
    doc = load_doc()
    ops = documented_operations(doc)
    op_token = random_token()
    srv = make_server(dev=True, settings={**LOOSE, "breakglass.enabled": True},
                      env={"BULWARK_OPERATOR_TOKEN": op_token})
    w = World(srv, op_token)
    failures, seen = [], []
    for method, path, call in CALLS:
        res = call(w)
        label = f"{method} {path} -> {res.status}"
        seen.append((method, path, res.status, res.header("Content-Type"),
                     res.body.decode(errors="replace")))
        op = ops[(method, path)]
        try:
            spec = response_spec(doc, op, res.status)
        except AssertionError as e:
            failures.append(f"{label}: {e}: {res.body[:300]!r}")
            continue
        content = spec.get("content")
        if not content:
            if res.body:
                failures.append(f"{label}: documented without a body, got {res.body[:200]!r}")
            continue
        ctype = (res.header("Content-Type") or "").split(";")[0].strip()
        if ctype not in content:
            failures.append(f"{label}: Content-Type {ctype!r} not in {sorted(content)}")
            continue
        schema = content[ctype].get("schema")
        if ctype == "application/json":
            assert schema, f"{label}: a JSON answer needs a schema"
            body = res.json()
            errors = sorted(schema_validator(doc, schema).iter_errors(body), key=str)
            if errors:
                failures.append(f"{label}: {errors[0].message} at {list(errors[0].absolute_path)} "
                                f"in {json.dumps(body)[:400]}")
    if os.environ.get("OPENAPI_CONTRACT_DUMP"):
        Path(os.environ["OPENAPI_CONTRACT_DUMP"]).write_text(json.dumps(seen, indent=1))
    assert not failures, "\n".join(failures)
    statuses = {s[2] for s in seen}
    # The representative calls reached success and both error shapes, not just refusals.
    assert {200, 201, 204} <= statuses and {400, 401, 403, 404, 405, 409, 415} <= statuses, statuses


# --------------------------------------------------------------------------------------------
# The npm peers (tests/peers, pinned by its lockfile; scripts/setup.sh runs npm ci there).


def npx(tool, *args, cwd=PEERS, timeout=180):
    binary = PEERS / "node_modules" / ".bin" / tool
    if not binary.exists():
        pytest.fail(f"{binary} is missing: run scripts/setup.sh (npm ci in tests/peers)")
    return subprocess.run([str(binary), *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **NODE_ENV})


def test_redocly_lints_the_document_with_zero_errors():
    """@redocly/cli's recommended rules find no error and no warning, besides the few named (with
    why) in .redocly.lint-ignore.yaml at the repository root; the previous document had 72 errors
    and 80 warnings (no security for most operations, `{path*}` templates, an unquoted
    description that parsed as a key)."""
    res = npx("redocly", "lint", DOC_PATH, "--format=json", cwd=REPO)
    report = json.loads(res.stdout[res.stdout.index("{"):]) if "{" in res.stdout else None
    assert report is not None, res
    errors = [p for p in report["problems"] if p["severity"] == "error"]
    assert not errors, json.dumps(errors, indent=1)[:4000]
    warnings = [p for p in report["problems"] if p["severity"] == "warn" and not p.get("ignored")]
    assert not warnings, json.dumps(warnings, indent=1)[:4000]
    assert res.returncode == 0, res.stderr[-2000:]


CLIENT_SCRIPT = r"""
import { Api } from "./Api.js";
const [baseUrl, key, path] = process.argv.slice(2);
const value = JSON.parse(process.env.ROUND_TRIP_VALUE);
// The native surface with X-API-Key, the Vault surface with X-Vault-Token: both from the schemes.
const native = new Api({ baseUrl, securityWorker: () => ({ headers: { "X-API-Key": key } }) });
const vault = new Api({ baseUrl, securityWorker: () => ({ headers: { "X-Vault-Token": key } }) });
const out = {};
out.written = (await native.api.putSecretsByPath(path, { data: value })).data;
out.read = (await native.api.getSecretsByPath(path)).data;
out.vaultWritten = (await vault.v1.vaultPostByMountDataByPath("secret", path, { data: { ...value, v: 2 } })).data;
out.vaultRead = (await vault.v1.vaultGetByMountDataByPath("secret", path)).data;
try {
  await native.api.getSecretsByPath(path + "/missing");
} catch (res) {
  out.missing = { status: res.status, error: res.error };
}
console.log(JSON.stringify(out));
"""


def test_a_client_generated_from_the_document_writes_and_reads_a_secret(make_server, tmp_path):
    """swagger-typescript-api generates a JavaScript client from docs/openapi.yaml offline; node drives
    it against the real server with an API key bound to a path policy: a write and a read of a
    multi-segment path on the native surface and on the Vault surface. The `/` of the path reaches
    the server as it is (the previous document's `{path*}` was no valid template)."""
    out_dir = tmp_path / "client"
    res = npx("swagger-typescript-api", "generate", "--js", "-p", DOC_PATH, "-o", out_dir)
    assert res.returncode == 0 and (out_dir / "Api.js").exists(), res.stdout[-2000:] + res.stderr[-2000:]
    (out_dir / "package.json").write_text('{"type": "module"}\n')
    (out_dir / "round_trip.mjs").write_text(CLIENT_SCRIPT)

    srv = make_server(dev=True, settings=LOOSE)
    _, tokens, codes = owner(srv, "acme")
    put_policy(srv, tokens, codes, "apps", {"apps/*": ["create", "read", "update"]})
    key, _ = api_key(srv, tokens, codes, policy="apps")
    value = {"user": "svc", "password": random_token(16)}
    run = subprocess.run(["node", "round_trip.mjs", srv.url, key, "apps/billing/db"], cwd=out_dir,
                         capture_output=True, text=True, timeout=60,
                         env={**os.environ, "ROUND_TRIP_VALUE": json.dumps(value)})
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout)
    assert out["written"]["path"] == "apps/billing/db" and out["written"]["version"] == 1, out
    assert out["read"]["data"] == value and out["read"]["version"] == 1, out
    assert out["vaultWritten"]["data"]["version"] == 2, out
    assert out["vaultRead"]["data"]["data"] == {**value, "v": 2}, out
    assert out["vaultRead"]["data"]["metadata"]["version"] == 2, out
    assert out["missing"]["status"] == 404, out
    assert out["missing"]["error"]["error"]["code"] == "secret_not_found", out

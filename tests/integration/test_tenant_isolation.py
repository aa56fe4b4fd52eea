"""Tenant isolation over the real binary: tenant B's owner (MFA stepped up) walks every route of
`bulwark routes --dev` against tenant A's resource ids. Every tenant-scoped route answers 404 (or
403 tenant_mismatch when X-Tenant-ID names A), never A's data; A's state does not move; every
refusal is in the audit ledger."""
import json
import re

from conftest import assert_error_body, run_cli
from identity_helpers import (LOOSE, accept, bearer, create_tenant, enroll, invite, ledger, members, post,
                              send_json, sign_in, state, step_up)
from vault_helpers import attach, put_policy

PARAM_RE = re.compile(r"\{([a-z_]+\*?)\}")
# Routes keyed by a name the caller chooses (a secret path, a policy or group name): B may create
# its own under the same name, so they answer B, never A; A's rows must not move.
NAMED = ("/api/v1/secrets/", "/api/v1/secret-", "/v1/{mount}/", "/api/v1/policies/", "/api/v1/groups/",
         "/v1/secret/", "/v1/sys/")
# Plausible bodies for the routes that take one; any other write gets {}.
BODIES = {
    ("POST", "/api/v1/invites"): {"email": "walker@beta.test", "role": "viewer"},
    ("PATCH", "/api/v1/members/{user_id}"): {"role": "viewer"},
    ("POST", "/api/v1/auth/mfa/totp/confirm"): {"code": "000000"},
    ("POST", "/api/v1/auth/mfa/verify"): {"code": "000000"},
    ("POST", "/api/v1/apikeys"): {"name": "walker", "scopes": ["apikeys.read"]},
    ("PUT", "/api/v1/settings/ip-allowlist"): {"cidrs": ["127.0.0.0/8"]},
    ("PUT", "/api/v1/settings/breakglass"): {"enabled": False},
    ("PUT", "/api/v1/members/{user_id}/breakglass"): {"designated": True},
    ("DELETE", "/api/v1/tenant"): {"confirm": "acme"},  # A's name: B may never delete A (nor itself by it)
    ("POST", "/api/v1/breakglass"): {"reason": "walking every route of the router", "ttl_s": 60,
                                     "verbs": ["audit.read"]},
    ("PUT", "/api/v1/secrets/{path*}"): {"data": {"walker": "b"}},
    ("POST", "/v1/{mount}/data/{path*}"): {"data": {"walker": "b"}},
    ("PUT", "/v1/{mount}/data/{path*}"): {"data": {"walker": "b"}},
    ("PATCH", "/v1/{mount}/data/{path*}"): {"data": {"walker": "b"}},
    ("PUT", "/api/v1/policies/{name}"): {"rules": [{"path": "*", "capabilities": ["read"]}]},
    ("PUT", "/api/v1/groups/{name}"): {"members": []},
    ("PUT", "/api/v1/sso/connections/{id}"): {"preset": "generic", "issuer": "https://idp.beta.test",
                                             "client_id": "walker", "client_secret": "walker-secret-0123456789abcdef",
                                             "allowed_domains": ["beta.test"],
                                             "role_mapping": {"groups": {}, "default_role": None}},
}
for _m in ("POST", "PUT"):
    for _op in ("delete", "undelete", "destroy"):
        BODIES[(_m, f"/v1/{{mount}}/{_op}/{{path*}}")] = {"versions": [1]}
for _op in ("delete", "undelete", "destroy"):
    BODIES[("POST", f"/api/v1/secret-versions/{_op}/{{path*}}")] = {"versions": [1]}
NO_BODY = {("POST", "/api/v1/auth/logout"), ("POST", "/api/v1/auth/mfa/totp"), ("POST", "/api/v1/breakglass/end"),
           ("PUT", "/api/v1/policies/{name}/attachments/{kind}/{id}")}


def assert_refused(res, status, code, path):
    """The native error shape, or Vault's on its surface."""
    if path.startswith("/v1/"):
        assert res.status == status, res
        assert list(res.json()) == ["errors"] and res.json()["errors"][0].startswith(code + ":"), res
        return
    assert_error_body(res, status, code)


def routes():
    res = run_cli(["routes", "--dev"])
    assert res.returncode == 0, res
    out = [json.loads(line) for line in res.stdout.splitlines() if line.strip()]
    assert len(out) >= 20, out
    return out


def issue_receipt(srv, tenant_id, email):
    res = post(srv, "/api/v1/local/receipts", {"tenant": tenant_id, "email": email})
    assert res.status == 201, res
    return res.json()["id"]


def tenant_rows(srv, tenant_id, user_ids):
    """Everything stored about one tenant and its members (identity tables and receipts)."""
    s = state(srv)
    mine = lambda row: tenant_id in row or any(u in row for u in user_ids)  # noqa: E731
    return {table: [r for r in rows if mine(r)] for table, rows in s.items()}


def call(srv, route, path, headers):
    key = (route["method"], route["path"])
    if key in NO_BODY:
        return srv.request(route["method"], path, headers=headers, body="")
    if route["method"] in ("POST", "PUT", "PATCH") or key in BODIES:
        doc = BODIES.get(key, {})
        # Vault's PATCH takes a JSON merge patch, as Vault requires.
        ct = "application/merge-patch+json" if key == ("PATCH", "/v1/{mount}/data/{path*}") else "application/json"
        return srv.request(route["method"], path, headers={**headers, "Content-Type": ct},
                           body=json.dumps(doc))
    return srv.request(route["method"], path, headers=headers)


def test_tenant_b_owner_walks_every_route_against_tenant_a(make_server):
    srv = make_server(dev=True, settings=LOOSE)
    a = create_tenant(srv, "acme", "ada@acme.test")
    b = create_tenant(srv, "beta", "bea@beta.test")

    # Tenant A: an owner (MFA), a member, a receipt.
    ada = sign_in(srv, "ada@acme.test")
    _, ada_codes = enroll(srv, ada)
    bob = accept(srv, invite(srv, ada, "bob@acme.test", "member"))
    a_receipt = issue_receipt(srv, a["tenant_id"], "customer@acme.test")
    # A's secret, policy and group.
    put_policy(srv, ada, ada_codes, "a-policy", {"*": ["create", "read", "update", "delete", "list"]})
    attach(srv, ada, ada_codes, "a-policy", "user", a["owner_user_id"])
    step_up(srv, ada, ada_codes)
    assert send_json(srv, "PUT", "/api/v1/groups/a-group", {"members": [bob["user_id"]]}, bearer(ada)).status == 201
    res = send_json(srv, "PUT", "/api/v1/secrets/a-secret/password", {"data": {"pw": "acme-only-value"}},
                    bearer(ada))
    assert res.status == 200, res
    # A's SSO connection (its id is walked like the others) and a claimed domain.
    sso_body = {"preset": "generic", "issuer": "https://idp.acme.test", "client_id": "acme-app",
                "client_secret": "acme-client-secret-value-0123456789", "allowed_domains": ["acme.test"],
                "role_mapping": {"groups": {"eng": "member"}, "default_role": None}}
    res = send_json(srv, "POST", "/api/v1/sso/connections", sso_body, bearer(ada))
    assert res.status == 201, res
    a_connection = res.json()["id"]
    assert send_json(srv, "POST", "/api/v1/sso/domains", {"domain": "acme.test"}, bearer(ada)).status == 201
    a_sso_before = (srv.get(f"/api/v1/sso/connections/{a_connection}", headers=bearer(ada)).json(),
                    srv.get("/api/v1/sso/domains", headers=bearer(ada)).json())
    a_users = [a["owner_user_id"], bob["user_id"]]
    a_secrets = [a["tenant_id"], *a_users, a_receipt, a_connection, "acme-client-secret-value-0123456789", "acme-only-value", "ada@acme.test", "bob@acme.test", "customer@acme.test",
                 ada["session_id"], bob["session_id"]]

    # Tenant B: its owner, signed in and stepped up (enroll() steps up with a recovery code).
    bea = sign_in(srv, "bea@beta.test")
    _, bea_codes = enroll(srv, bea)
    # B may read and write any path of its own tenant: what it cannot reach is A's.
    put_policy(srv, bea, bea_codes, "b-all", {"*": ["create", "read", "update", "delete", "list"]})
    attach(srv, bea, bea_codes, "b-all", "user", b["owner_user_id"])
    step_up(srv, bea, bea_codes)
    b_receipt = issue_receipt(srv, b["tenant_id"], "client@beta.test")
    assert srv.get(f"/api/v1/receipts/{b_receipt}", headers=bearer(bea)).status == 200  # control: B's own
    assert srv.get(f"/api/v1/receipts/{a_receipt}", headers=bearer(ada)).status == 200  # control: A's own

    a_members_before = members(srv, ada)
    a_rows_before = tenant_rows(srv, a["tenant_id"], a_users)
    # Ids of A's resources to put in the path; a random id too.
    a_ids = [*a_users, a_receipt, a["tenant_id"], a_connection, "acme.test", "usr_" + "0" * 24]

    never_sent = ["ada@acme.test", "bob@acme.test", "customer@acme.test", ada["session_id"], bob["session_id"]]

    def leaked_a_data(r, res):
        """A's data in an answer to B. B's own audit entries may repeat the ids B put in its
        requests (that is B's record of B's attempts), but nothing else of A's."""
        text = res.body.decode(errors="replace")
        if r["path"] == "/api/v1/audit/events" and res.status == 200:
            leaks = []
            for e in res.json()["events"]:
                e_text = json.dumps(e)
                if e["tenant"] != b["tenant_id"]:
                    leaks.append(e)
                own = e["actor"].get("id") == b["owner_user_id"]
                leaks += [s for s in (never_sent if own else a_secrets) if s in e_text]
            return leaks
        return [s for s in a_secrets if s in text]

    refusals = []  # (request id, route) for every refused attempt
    checked = set()
    walk = routes()
    scoped = [r for r in walk if r["tenant_scoped"]]
    assert {(r["method"], r["path"]) for r in scoped} >= {
        ("GET", "/api/v1/receipts/{id}"), ("PATCH", "/api/v1/members/{user_id}"),
        ("DELETE", "/api/v1/members/{user_id}"), ("GET", "/api/v1/members"), ("POST", "/api/v1/invites"),
        ("GET", "/api/v1/audit/events"), ("GET", "/api/v1/me")}

    for r in walk:
        if not r["tenant_scoped"]:
            # Public routes (health, JWKS, the public receipt projection, sign-in, refresh,
            # accept-invite, dev overlays, SSO sign-in) and internal operator routes carry no tenant
            # credential: nothing to isolate. SCIM routes take their tenant from the SCIM token alone
            # (walked by test_a_scim_token_walks_every_scim_route_against_another_tenant). No route
            # that takes a member credential may be unscoped.
            assert r["auth"] in ("public", "internal", "scim"), r
            continue
        assert r["auth"] in ("session", "either", "api_key"), r

    def attempts(r):
        params = PARAM_RE.findall(r["path"])
        if not params:
            return [r["path"]]
        if params == ["domain"]:  # a domain name: A's claimed one, and one nobody claimed
            return [r["path"].replace("{domain}", d) for d in ("acme.test", "nowhere.example")]
        if r["path"].startswith(NAMED):
            fill = {"mount": "secret", "path*": "a-secret/password", "name": "a-policy", "kind": "user"}
            names = {"/api/v1/groups/{name}": "a-group"}
            return [PARAM_RE.sub(lambda m: names.get(r["path"], fill.get(m.group(1), a["owner_user_id"])),
                                 r["path"])]
        return [PARAM_RE.sub(v, r["path"]) for v in a_ids]

    # Pass 1: X-Tenant-ID names A. Every tenant-scoped route refuses with 403 tenant_mismatch,
    # whatever the path (logout last, although it must not run either).
    ordered = sorted(scoped, key=lambda r: r["path"] == "/api/v1/auth/logout")
    for r in ordered:
        for path in attempts(r):
            res = call(srv, r, path, bearer(bea, {"X-Tenant-ID": a["tenant_id"]}))
            assert_refused(res, 403, "tenant_mismatch", path)
            refusals.append((res.header("X-Request-ID"), r["method"], path))
            checked.add((r["method"], r["path"]))
    assert srv.get("/api/v1/me", headers=bearer(bea)).status == 200  # B's session survived

    # Pass 2: no header. Routes naming a resource answer 404 for A's ids; the others answer for B
    # only (never A's data). Logout last, since it ends B's session.
    for r in ordered:
        for path in attempts(r):
            res = call(srv, r, path, bearer(bea))
            if r["path"].startswith(NAMED):
                # B's own namespace: B's answer (B's own secret, policy or group, or none).
                assert res.status in (200, 201, 204, 404), (r, path, res)
                if res.status == 404 and not path.startswith("/v1/"):
                    assert res.json()["error"]["code"].endswith("_not_found"), res
            elif PARAM_RE.search(r["path"]):
                assert res.status == 404, (r, path, res)
                assert res.json()["error"]["code"].endswith("_not_found"), res
            else:
                if res.status < 400:
                    assert not leaked_a_data(r, res), (r, path, res)
                else:
                    assert res.status != 500, res
            if res.status >= 400:
                assert not leaked_a_data(r, res), (r, path, res)
                refusals.append((res.header("X-Request-ID"), r["method"], path))
    assert srv.get("/api/v1/me", headers=bearer(bea)).status == 401  # the walk ended with logout
    assert checked == {(r["method"], r["path"]) for r in scoped}

    # A is untouched: same members and roles, same stored rows, its sessions still work, its
    # receipt still readable by A and still not by anyone in B.
    assert members(srv, ada) == a_members_before
    assert tenant_rows(srv, a["tenant_id"], a_users) == a_rows_before
    assert (srv.get(f"/api/v1/sso/connections/{a_connection}", headers=bearer(ada)).json(),
            srv.get("/api/v1/sso/domains", headers=bearer(ada)).json()) == a_sso_before
    assert srv.get("/api/v1/me", headers=bearer(bob)).json()["role"] == "member"
    assert srv.get(f"/api/v1/receipts/{a_receipt}", headers=bearer(ada)).status == 200
    bea2 = sign_in(srv, "bea@beta.test")
    assert_error_body(srv.get(f"/api/v1/receipts/{a_receipt}", headers=bearer(bea2)), 404, "receipt_not_found")

    # B's audit query shows B's events only, even filtered by A's actor.
    res = srv.get("/api/v1/audit/events", headers=bearer(bea2))
    assert res.status == 200, res
    events = res.json()["events"]
    assert events and all(e["tenant"] == b["tenant_id"] for e in events), events
    res = srv.get(f"/api/v1/audit/events?actor={a['owner_user_id']}", headers=bearer(bea2))
    assert res.status in (200, 400), res
    if res.status == 200:
        assert all(e["tenant"] == b["tenant_id"] for e in res.json()["events"]), res

    # Every refusal is in the ledger, denied, with B's owner as the actor.
    assert srv.stop() == 0
    entries = {}
    for e in ledger(srv):
        if e.get("request_id"):
            entries.setdefault(e["request_id"], []).append(e)
    missing = [(rid, m, p) for rid, m, p in refusals
               if not any(e["result"] == "denied" for e in entries.get(rid, []))]
    assert not missing, missing
    for rid, m, p in refusals:
        denied = [e for e in entries[rid] if e["result"] == "denied"]
        assert any(e["actor"]["id"] == b["owner_user_id"] for e in denied), (m, p, denied)


def test_x_tenant_id_must_match_the_credential(make_server):
    srv = make_server(dev=True, settings=LOOSE)
    a = create_tenant(srv, "acme", "ada@acme.test")
    b = create_tenant(srv, "beta", "bea@beta.test")
    bea = sign_in(srv, "bea@beta.test")
    for value in (a["tenant_id"], "acme", "tnt_" + "0" * 24, b["tenant_id"] + "x", b["tenant_id"].upper()):
        res = srv.get("/api/v1/members", headers=bearer(bea, {"X-Tenant-ID": value}))
        assert_error_body(res, 403, "tenant_mismatch")
    res = srv.get("/api/v1/members", headers=bearer(bea, {"X-Tenant-ID": b["tenant_id"]}))
    assert res.status == 200, res
    assert [m["email"] for m in res.json()["members"]] == ["bea@beta.test"]


def test_a_scim_token_walks_every_scim_route_against_another_tenant(make_server):
    """Tenant B's SCIM token against every /scim/v2 route with tenant A's User and Group ids: each
    answers 404 scim_not_found (a resource) or B's own resources only (a list or a document), A's
    SCIM users and groups do not move, and A's token still sees them."""
    srv = make_server(dev=True, settings=LOOSE)
    create_tenant(srv, "acme", "ada@acme.test")
    create_tenant(srv, "beta", "bea@beta.test")
    tokens = {}
    for name, email in (("a", "ada@acme.test"), ("b", "bea@beta.test")):
        owner = sign_in(srv, email)
        _, codes = enroll(srv, owner)
        step_up(srv, owner, codes)
        res = post(srv, "/api/v1/scim/token", headers=bearer(owner))
        assert res.status == 201, res
        tokens[name] = res.json()["token"]

    def scim(token, method, path, doc=None):
        body = json.dumps(doc).encode() if doc is not None else None
        headers = {"Authorization": f"Bearer {token}"}
        if body is not None:
            headers["Content-Type"] = "application/scim+json"
        return srv.request(method, "/scim/v2" + path, body=body, headers=headers)

    res = scim(tokens["a"], "POST", "/Users", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                                                "userName": "carol@acme.test", "externalId": "a-carol",
                                                "active": True})
    assert res.status == 201, res
    a_user = res.json()["id"]
    res = scim(tokens["a"], "POST", "/Groups", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                                                 "displayName": "a-group", "members": [{"value": a_user}]})
    assert res.status == 201, res
    a_group = res.json()["id"]
    a_before = (scim(tokens["a"], "GET", f"/Users/{a_user}").json(),
                scim(tokens["a"], "GET", f"/Groups/{a_group}").json())

    bodies = {"PUT": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "x@beta.test",
                      "displayName": "walker", "active": False},
              "PATCH": {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                        "Operations": [{"op": "replace", "value": {"active": False, "displayName": "walker"}}]}}
    walk = [r for r in routes() if r["auth"] == "scim"]
    assert {(r["method"], r["path"]) for r in walk} >= {
        ("GET", "/scim/v2/Users/{id}"), ("PUT", "/scim/v2/Users/{id}"), ("PATCH", "/scim/v2/Users/{id}"),
        ("DELETE", "/scim/v2/Users/{id}"), ("GET", "/scim/v2/Groups/{id}"), ("PATCH", "/scim/v2/Groups/{id}"),
        ("DELETE", "/scim/v2/Groups/{id}"), ("GET", "/scim/v2/Users"), ("GET", "/scim/v2/Groups")}
    for r in walk:
        sub = r["path"][len("/scim/v2"):]
        if "{id}" in sub:
            ids = [a_group] if sub.startswith("/Groups") else [a_user]
            for rid in ids + [a_user if ids[0] == a_group else a_group]:
                res = scim(tokens["b"], r["method"], sub.replace("{id}", rid), bodies.get(r["method"]))
                assert res.status == 404, (r, res)
                assert res.json()["status"] == "404", res
        elif r["method"] == "GET":
            res = scim(tokens["b"], "GET", sub)
            assert res.status == 200, (r, res)
            text = res.body.decode()
            assert a_user not in text and a_group not in text and "carol@acme.test" not in text, (r, text)
    # A filter naming A's user finds nothing for B.
    res = scim(tokens["b"], "GET", '/Users?filter=userName%20eq%20%22carol@acme.test%22')
    assert res.status == 200 and res.json()["totalResults"] == 0, res
    assert (scim(tokens["a"], "GET", f"/Users/{a_user}").json(),
            scim(tokens["a"], "GET", f"/Groups/{a_group}").json()) == a_before

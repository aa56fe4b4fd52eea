"""SCIM 2.0 (issue #25, item 5) against the real binary: the request sequences Microsoft Entra ID and
Okta document for provisioning, two independent oracles (the npm packages scim2-parse-filter and
scim-patch, run by tests/peers/scim_oracle.mjs) for filter and PATCH semantics, deprovisioning that
cuts off a member's session and API key on the next request (here, and on two nodes sharing
PostgreSQL), and bad input that answers a stable SCIM error and changes nothing.

The sequences replayed:
  - Microsoft Entra ID, "Tutorial: Develop and plan provisioning for a SCIM endpoint in Microsoft
    Entra ID" (learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-
    and-groups), sections "User Operations" and "Group Operations": the random-filter probe
    GET /Users?filter=userName eq "<random guid>" answered by an empty list, POST /Users, GET by
    filter, PATCH with "Replace"/"Add" ops and "False" booleans, POST /Groups, PATCH members Add and
    Remove (value [{"value": id}]), GET /Groups/{id}?excludedAttributes=members, deactivation by
    PATCH active "False", DELETE.
  - Okta, "Okta and SCIM Version 2.0" (developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20):
    GET /Users?filter=userName eq "..."&startIndex=1&count=100, POST /Users, GET /Users/{id},
    PUT /Users/{id} with active false, PATCH {"Operations":[{"op":"replace","value":{"active":false}}]},
    POST /Groups, PATCH Groups members add and remove (members[value eq "..."]), PATCH displayName.

Not collected-by-name helpers live in identity_helpers; the SCIM ones are below."""
import json
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from conftest import PUBLIC_URL, b64key, run_cli
from identity_helpers import LOOSE_RULES, accept, bearer, create_tenant, enroll, invite, ledger, \
    members, post, sign_in, state, step_up
from pg_helpers import db_for, query

ORACLE = Path(__file__).resolve().parents[1] / "peers" / "scim_oracle.mjs"
SCIM_JSON = "application/scim+json"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
SCIM_TABLES = ["scim_tokens", "scim_users", "scim_groups", "scim_group_members"]


def scim(srv, token, method, path, doc=None, content_type=SCIM_JSON, raw=None):
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    body = raw if raw is not None else (json.dumps(doc) if doc is not None else "")
    if body:
        headers["Content-Type"] = content_type
    return srv.request(method, "/scim/v2" + path, headers=headers, body=body)


def ok(res, status=200):
    assert res.status == status, res
    if status != 204:
        assert res.header("Content-Type").startswith(SCIM_JSON), res
        return res.json()
    return None


def scim_error(res, status, scim_type, code):
    """RFC 7644 3.12's error body, with the stable code first in the detail."""
    assert res.status == status, res
    assert res.header("Content-Type").startswith(SCIM_JSON), res
    doc = res.json()
    assert doc["schemas"] == [ERROR_SCHEMA], doc
    assert doc["status"] == str(status), doc
    assert doc.get("scimType") == scim_type, doc
    assert doc["detail"].startswith(code + ":"), doc
    return doc


def patch_ops(*ops):
    return {"schemas": [PATCH_SCHEMA], "Operations": list(ops)}


def make_token(srv, tokens, codes):
    step_up(srv, tokens, codes)
    res = post(srv, "/api/v1/scim/token", headers=bearer(tokens))
    assert res.status == 201, res
    doc = res.json()
    assert doc["token"].startswith("bwscim_") and len(doc["token"]) == 7 + 16 + 1 + 43, doc
    return doc


def snapshot(srv):
    out = state(srv)
    with db_for(srv, readonly=True) as db:
        for table in SCIM_TABLES:
            out[table] = sorted(db.query(f"SELECT * FROM {table}"), key=repr)
    return out


def oracle(request):
    res = subprocess.run(["node", str(ORACLE)], input=json.dumps(request), capture_output=True, text=True,
                         timeout=60, check=True)
    return json.loads(res.stdout)


@pytest.fixture
def env(make_server):
    srv = make_server(dev=True, settings={"rate_limit.rules": LOOSE_RULES})
    create_tenant(srv, "acme", "owner@acme.test")
    owner = sign_in(srv, "owner@acme.test")
    _, codes = enroll(srv, owner)
    made = make_token(srv, owner, codes)
    return {"srv": srv, "owner": owner, "codes": codes, "token": made["token"], "token_id": made["id"]}


def entra_user(user_name, external_id):
    """The body Entra ID's default attribute mapping POSTs (capitalised as it sends it)."""
    return {"schemas": [USER_SCHEMA, ENTERPRISE], "externalId": external_id, "userName": user_name,
            "active": True, "displayName": "Ada Lovelace",
            "emails": [{"primary": True, "type": "work", "value": user_name}],
            "name": {"formatted": "Ada Lovelace", "familyName": "Lovelace", "givenName": "Ada"},
            "title": "Countess", "preferredLanguage": "en-GB",
            ENTERPRISE: {"employeeNumber": "1", "department": "Analytics"}, "roles": []}


def test_entra_provisioning_sequence(env):
    srv, token = env["srv"], env["token"]
    # The connection test: a filter on a random guid finds nothing, and that is a 200.
    probe = ok(scim(srv, token, "GET", f'/Users?filter=userName+eq+%22{uuid.uuid4()}%22'))
    assert probe["totalResults"] == 0 and probe["Resources"] == [], probe
    assert probe["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
    created = ok(scim(srv, token, "POST", "/Users", entra_user("ada@acme.test", "0a21f0f2-8d2a-4f8e")), 201)
    uid = created["id"]
    assert created["userName"] == "ada@acme.test" and created["active"] is True
    assert created["name"] == {"formatted": "Ada Lovelace", "familyName": "Lovelace", "givenName": "Ada"}
    assert "title" not in created and ENTERPRISE not in created  # accepted and ignored
    assert created["meta"]["resourceType"] == "User" and created["meta"]["version"] == 'W/"1"'
    assert created["meta"]["location"].endswith("/scim/v2/Users/" + uid)
    # Get by filter, as Entra matches before it creates.
    found = ok(scim(srv, token, "GET", '/Users?filter=userName+eq+%22Ada%40ACME.test%22'))
    assert [r["id"] for r in found["Resources"]] == [uid]
    found = ok(scim(srv, token, "GET", '/Users?filter=externalId+eq+%220a21f0f2-8d2a-4f8e%22'))
    assert [r["id"] for r in found["Resources"]] == [uid]
    # Attribute updates as Entra sends them.
    patched = ok(scim(srv, token, "PATCH", f"/Users/{uid}", patch_ops(
        {"op": "Replace", "path": "displayName", "value": "Augusta Ada King"},
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "ada@acme.test"},
        {"op": "Add", "path": "name.givenName", "value": "Augusta"},
        {"op": "Replace", "path": f"{ENTERPRISE}:department", "value": "Engines"})))
    assert patched["displayName"] == "Augusta Ada King" and patched["name"]["givenName"] == "Augusta"
    assert patched["meta"]["version"] == 'W/"2"'
    # Groups: created empty, members added then removed by PATCH.
    group = ok(scim(srv, token, "POST", "/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Engineers",
                                                      "externalId": "e1b2", "members": []}), 201)
    gid = group["id"]
    ok(scim(srv, token, "PATCH", f"/Groups/{gid}", patch_ops({"op": "Add", "path": "members",
                                                                "value": [{"value": uid}]})))
    got = ok(scim(srv, token, "GET", f"/Groups/{gid}"))
    assert [m["value"] for m in got["members"]] == [uid]
    assert "members" not in ok(scim(srv, token, "GET", f"/Groups/{gid}?excludedAttributes=members"))
    user = ok(scim(srv, token, "GET", f"/Users/{uid}"))
    assert [g["value"] for g in user["groups"]] == [gid] and user["groups"][0]["display"] == "Engineers"
    listed = ok(scim(srv, token, "GET", '/Groups?filter=displayName+eq+%22engineers%22'))
    assert [g["id"] for g in listed["Resources"]] == [gid]
    ok(scim(srv, token, "PATCH", f"/Groups/{gid}", patch_ops({"op": "Remove", "path": "members",
                                                                "value": [{"value": uid}]})))
    assert ok(scim(srv, token, "GET", f"/Groups/{gid}"))["members"] == []
    # Deactivation with Entra's string boolean, then the hard delete.
    off = ok(scim(srv, token, "PATCH", f"/Users/{uid}", patch_ops({"op": "Replace", "path": "active",
                                                                     "value": "False"})))
    assert off["active"] is False
    found = ok(scim(srv, token, "GET", '/Users?filter=active+eq+false'))
    assert [r["id"] for r in found["Resources"]] == [uid]
    ok(scim(srv, token, "DELETE", f"/Users/{uid}"), 204)
    scim_error(scim(srv, token, "GET", f"/Users/{uid}"), 404, None, "scim_not_found")
    ok(scim(srv, token, "DELETE", f"/Groups/{gid}"), 204)
    # Every change is on the ledger under the SCIM token's id, and the token is nowhere in it.
    entries = ledger(srv)
    actions = [e["action"] for e in entries if e["action"].startswith("scim.")]
    assert actions == ["scim.token.rotate", "scim.user.create", "scim.user.patch", "scim.group.create",
                       "scim.group.patch", "scim.group.patch", "scim.user.patch", "scim.user.delete",
                       "scim.group.delete"], actions
    for e in entries:
        if e["action"].startswith("scim.") and e["action"] != "scim.token.rotate":
            assert e["actor"] == {"kind": "scim_token", "id": env["token_id"]}, e
            assert e["resource"].startswith(("scim_user:", "scim_group:")), e
    assert env["token"] not in json.dumps(entries)


def test_okta_provisioning_sequence(env):
    srv, token = env["srv"], env["token"]
    empty = ok(scim(srv, token, "GET", '/Users?filter=userName+eq+%22bo%40acme.test%22&startIndex=1&count=100'))
    assert empty["totalResults"] == 0
    body = {"schemas": [USER_SCHEMA], "userName": "bo@acme.test", "name": {"givenName": "Bo", "familyName": "Ek"},
            "emails": [{"primary": True, "value": "bo@acme.test", "type": "work"}], "displayName": "Bo Ek",
            "locale": "en-US", "externalId": "00u1", "groups": [], "password": "ignored-Pa55", "active": True}
    created = ok(scim(srv, token, "POST", "/Users", body, content_type="application/json"), 201)
    uid = created["id"]
    assert created["groups"] == [] and "password" not in created
    assert ok(scim(srv, token, "GET", f"/Users/{uid}"))["userName"] == "bo@acme.test"
    put = dict(body, active=False, id=uid)
    assert ok(scim(srv, token, "PUT", f"/Users/{uid}", put))["active"] is False
    on = ok(scim(srv, token, "PATCH", f"/Users/{uid}", patch_ops({"op": "replace", "value": {"active": True}})))
    assert on["active"] is True
    off = ok(scim(srv, token, "PATCH", f"/Users/{uid}", patch_ops({"op": "replace", "value": {"active": False}})))
    assert off["active"] is False
    group = ok(scim(srv, token, "POST", "/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Ops",
                                                      "members": []}), 201)
    gid = group["id"]
    ok(scim(srv, token, "PATCH", f"/Groups/{gid}", patch_ops(
        {"op": "replace", "value": {"id": gid, "displayName": "Operations"}})))
    ok(scim(srv, token, "PATCH", f"/Groups/{gid}", patch_ops(
        {"op": "add", "path": "members", "value": [{"value": uid, "display": "bo@acme.test"}]})))
    assert [m["value"] for m in ok(scim(srv, token, "GET", f"/Groups/{gid}"))["members"]] == [uid]
    ok(scim(srv, token, "PATCH", f"/Groups/{gid}", patch_ops(
        {"op": "remove", "path": f'members[value eq "{uid}"]'})))
    got = ok(scim(srv, token, "GET", f"/Groups/{gid}"))
    assert got["members"] == [] and got["displayName"] == "Operations"
    page = ok(scim(srv, token, "GET", "/Groups?startIndex=1&count=100"))
    assert page["totalResults"] == 1 and page["startIndex"] == 1


def member_with_key(srv, owner, email="ada@acme.test", role="admin"):
    """A member signed in with MFA and holding an API key: (session tokens, the key)."""
    tokens = accept(srv, invite(srv, owner, email, role))
    _, codes = enroll(srv, tokens)
    res = post(srv, "/api/v1/apikeys", {"name": "ci", "scopes": ["apikeys.read"]}, bearer(tokens))
    assert res.status == 201, res
    return tokens, res.json()["key"]


def assert_access(srv, tokens, key, allowed):
    for headers in (bearer(tokens), {"X-API-Key": key}):
        res = srv.get("/api/v1/whoami", headers=headers)
        assert res.status == (200 if allowed else 401), (headers.keys(), res)


DEACTIVATIONS = {
    "entra_patch_false": lambda srv, t, uid: scim(srv, t, "PATCH", f"/Users/{uid}", patch_ops(
        {"op": "Replace", "path": "active", "value": "False"})),
    "okta_no_path": lambda srv, t, uid: scim(srv, t, "PATCH", f"/Users/{uid}", patch_ops(
        {"op": "replace", "value": {"active": False}})),
    "put_active_false": lambda srv, t, uid: scim(srv, t, "PUT", f"/Users/{uid}", {
        "schemas": [USER_SCHEMA], "userName": "ada@acme.test", "active": False}),
    "delete": lambda srv, t, uid: scim(srv, t, "DELETE", f"/Users/{uid}"),
}


@pytest.mark.parametrize("how", sorted(DEACTIVATIONS))
def test_deactivation_cuts_off_session_and_api_key_on_the_next_request(env, how):
    srv, token, owner = env["srv"], env["token"], env["owner"]
    tokens, key = member_with_key(srv, owner)
    assert_access(srv, tokens, key, True)
    # SCIM takes over the existing member (same email): its role is kept.
    uid = ok(scim(srv, token, "POST", "/Users", {"userName": "Ada@acme.test"}), 201)["id"]
    assert ("admin" in [m[2] for m in members(srv, owner) if m[1] == "ada@acme.test"])
    res = DEACTIVATIONS[how](srv, token, uid)
    assert res.status in (200, 204), res
    assert_access(srv, tokens, key, False)  # the very next request
    assert "ada@acme.test" not in [m[1] for m in members(srv, owner)]
    entry = [e for e in ledger(srv) if e["action"].startswith("scim.user.")][-1]
    details = entry["details"]
    assert details["signins_ended"] == 1 and details["keys_disabled"] == 1, entry
    assert details["role_before"] == "admin", entry
    if how == "delete":
        return
    # Re-enabled: the membership (with its role) is back; the old session and key are not.
    on = ok(scim(srv, token, "PATCH", f"/Users/{uid}", patch_ops({"op": "Replace", "path": "active",
                                                                    "value": "True"})))
    assert on["active"] is True
    assert ("ada@acme.test", "admin") in [(m[1], m[2]) for m in members(srv, owner)]
    assert_access(srv, tokens, key, False)
    fresh = sign_in(srv, "ada@acme.test")
    assert srv.get("/api/v1/whoami", headers=bearer(fresh)).status == 200


def test_an_owner_is_never_suspended_by_scim(env):
    srv, token, owner = env["srv"], env["token"], env["owner"]
    uid = ok(scim(srv, token, "POST", "/Users", {"userName": "owner@acme.test"}), 201)["id"]
    before = snapshot(srv)
    scim_error(DEACTIVATIONS["okta_no_path"](srv, token, uid), 403, None, "scim_owner_protected")
    scim_error(scim(srv, token, "DELETE", f"/Users/{uid}"), 403, None, "scim_owner_protected")
    assert snapshot(srv) == before
    assert srv.get("/api/v1/whoami", headers=bearer(owner)).status == 200


FILTERS = [
    'userName eq "u1@acme.test"', 'userName sw "u"', 'userName ew "acme.test"', 'userName co "2@"',
    'displayName eq "Beta"', 'displayName ne "Beta"', 'externalId eq "X-3"', 'active eq false',
    'active eq true and displayName sw "A"', 'displayName eq "Beta" or externalId pr',
    'not (displayName co "a")', 'emails.value co "home"', 'emails[type eq "home"]',
    'emails[type eq "work" and value ew "acme.test"]', 'name.givenName pr', 'name.familyName gt "M"',
    '(displayName sw "A" or displayName sw "B") and not (active eq false)',
]


def test_filters_select_what_scim2_parse_filter_selects(env):
    srv, token = env["srv"], env["token"]
    people = [
        {"userName": "u1@acme.test", "displayName": "Alpha", "externalId": "X-1", "active": True,
         "name": {"givenName": "Al", "familyName": "Zed"}, "emails": [{"value": "u1@acme.test", "type": "work"}]},
        {"userName": "u2@acme.test", "displayName": "Beta", "active": False,
         "emails": [{"value": "u2@home.test", "type": "home"}]},
        {"userName": "u3@acme.test", "displayName": "Gamma", "externalId": "X-3", "active": True,
         "name": {"familyName": "Moe"},
         "emails": [{"value": "u3@acme.test", "type": "work"}, {"value": "u3@home.test", "type": "home"}]},
        {"userName": "v4@acme.test", "displayName": "Aardvark", "active": True,
         "name": {"givenName": "Vi", "familyName": "Adams"}},
    ]
    for p in people:
        ok(scim(srv, token, "POST", "/Users", p), 201)
    everyone = ok(scim(srv, token, "GET", "/Users"))["Resources"]
    assert len(everyone) == 4
    for f in FILTERS:
        mine = ok(scim(srv, token, "GET", "/Users?filter=" + urlquote(f)))
        expected = oracle({"filter": f, "resources": everyone})["ids"]
        assert sorted(r["id"] for r in mine["Resources"]) == sorted(expected), f
        assert mine["totalResults"] == len(expected), f
    # Pagination is 1-based over the same order.
    page = ok(scim(srv, token, "GET", "/Users?startIndex=2&count=2"))
    assert [r["id"] for r in page["Resources"]] == [r["id"] for r in everyone[1:3]]
    assert page["totalResults"] == 4 and page["itemsPerPage"] == 2 and page["startIndex"] == 2
    slim = ok(scim(srv, token, "GET", "/Users?attributes=userName,name.givenName&count=1"))["Resources"][0]
    assert set(slim) == {"schemas", "id", "userName", "name"} and set(slim["name"]) == {"givenName"}


def urlquote(text):
    from urllib.parse import quote
    return quote(text, safe="")


PATCHES = [
    [{"op": "replace", "path": "displayName", "value": "New"}],
    [{"op": "add", "path": "name.givenName", "value": "Given"}, {"op": "remove", "path": "externalId"}],
    [{"op": "replace", "value": {"displayName": "V", "active": False}}],
    [{"op": "add", "path": "emails", "value": [{"value": "x@home.test", "type": "home"}]}],
    [{"op": "replace", "path": 'emails[type eq "work"].value', "value": "w@acme.test"}],
    [{"op": "remove", "path": 'emails[type eq "work"]'}],
    [{"op": "replace", "path": "name", "value": {"familyName": "F"}}],
    [{"op": "add", "path": 'emails[type eq "other"].value', "value": "o@acme.test"}],
]


@pytest.mark.parametrize("n", range(len(PATCHES)))
def test_patch_gives_what_scim_patch_gives(env, n):
    srv, token = env["srv"], env["token"]
    created = ok(scim(srv, token, "POST", "/Users", {
        "userName": f"p{n}@acme.test", "displayName": "Old", "externalId": "E", "active": True,
        "name": {"givenName": "G", "familyName": "L"}, "emails": [{"value": f"p{n}@acme.test", "type": "work"}]}), 201)

    def comparable(resource):
        return {k: v for k, v in resource.items() if k not in ("meta", "groups")}

    expected = oracle({"patch": PATCHES[n], "resource": comparable(created)})
    assert "resource" in expected, expected
    got = ok(scim(srv, token, "PATCH", f"/Users/{created['id']}", patch_ops(*PATCHES[n])))
    assert comparable(got) == comparable(expected["resource"]), PATCHES[n]


def test_bad_input_answers_a_stable_scim_error_and_changes_nothing(env, make_server):
    srv, token = env["srv"], env["token"]
    uid = ok(scim(srv, token, "POST", "/Users", {"userName": "kept@acme.test", "displayName": "Kept"}), 201)["id"]
    # A second tenant with its own token.
    create_tenant(srv, "beta", "owner@beta.test")
    other = sign_in(srv, "owner@beta.test")
    _, codes = enroll(srv, other)
    other_token = make_token(srv, other, codes)["token"]
    before = snapshot(srv)
    long_name = "a" * (300 * 1024)
    cases = [
        (scim(srv, token, "GET", "/Users?filter=" + urlquote('userName eq "x')), 400, "invalidFilter", "invalid_filter"),
        (scim(srv, token, "GET", "/Users?filter=" + urlquote('nosuch eq "x"')), 400, "invalidFilter", "invalid_filter"),
        (scim(srv, token, "POST", "/Users", {"userName": "n@acme.test", "color": "red"}), 400, "invalidSyntax",
         "invalid_syntax"),
        (scim(srv, token, "POST", "/Users", {"userName": "KEPT@acme.test"}), 409, "uniqueness", "uniqueness"),
        (scim(srv, token, "POST", "/Users", {"userName": "not-an-email"}), 400, "invalidValue", "invalid_value"),
        (scim(srv, token, "PATCH", f"/Users/{uid}", patch_ops({"op": "replace", "path": "id", "value": "x"})),
         400, "mutability", "mutability"),
        (scim(srv, token, "PATCH", f"/Users/{uid}", patch_ops({"op": "replace", "path": "meta.created",
                                                                 "value": "x"})), 400, "mutability", "mutability"),
        (scim(srv, token, "PATCH", f"/Users/{uid}", patch_ops({"op": "replace", "path": "userName",
                                                                 "value": "other@acme.test"})),
         400, "mutability", "mutability"),
        (scim(srv, token, "PATCH", f"/Users/{uid}", patch_ops({"op": "replace", "path": "nosuch", "value": 1})),
         400, "invalidPath", "invalid_path"),
        (scim(srv, token, "PATCH", f"/Users/{uid}", patch_ops({"op": "remove"})), 400, "noTarget", "no_target"),
        (scim(srv, token, "PATCH", f"/Users/{uid}", patch_ops({"op": "replace", "path": "active", "value": "no"})),
         400, "invalidValue", "invalid_value"),
        (scim(srv, token, "POST", "/Users", {"userName": "big@acme.test", "displayName": long_name}),
         413, None, "payload_too_large"),
        (scim(srv, token, "POST", "/Users", raw="{not json"), 400, "invalidSyntax", "malformed_json"),
        (scim(srv, token, "POST", "/Users", {"userName": "t@acme.test"}, content_type="text/plain"),
         415, None, "unsupported_media_type"),
        (scim(srv, other_token, "GET", f"/Users/{uid}"), 404, None, "scim_not_found"),
        (scim(srv, other_token, "PATCH", f"/Users/{uid}", patch_ops({"op": "replace", "value": {"active": False}})),
         404, None, "scim_not_found"),
        (scim(srv, other_token, "DELETE", f"/Users/{uid}"), 404, None, "scim_not_found"),
        (scim(srv, "bwscim_" + "0" * 16 + "_" + "A" * 43, "GET", "/Users"), 401, None, "invalid_scim_token"),
        (scim(srv, token[:-1] + ("A" if token[-1] != "A" else "B"), "GET", "/Users"), 401, None,
         "invalid_scim_token"),
        (scim(srv, None, "GET", "/Users"), 401, None, "scim_token_required"),
        (scim(srv, token, "GET", "/Users?startIndex=x"), 400, "invalidValue", "invalid_value"),
        (scim(srv, token, "GET", "/Users?attributes=nosuch"), 400, "invalidValue", "invalid_value"),
    ]
    for res, status, scim_type, code in cases:
        scim_error(res, status, scim_type, code)
    assert snapshot(srv) == before
    # The other tenant sees only its own (empty) directory.
    assert ok(scim(srv, other_token, "GET", "/Users"))["totalResults"] == 0


def test_token_rotation_replaces_at_once_and_revocation_ends_it(env):
    srv, owner, codes, old = env["srv"], env["owner"], env["codes"], env["token"]
    assert ok(scim(srv, old, "GET", "/ServiceProviderConfig"))["patch"] == {"supported": True}
    schemas = ok(scim(srv, old, "GET", "/Schemas"))
    assert {s["id"] for s in schemas["Resources"]} == {USER_SCHEMA, GROUP_SCHEMA}
    types = ok(scim(srv, old, "GET", "/ResourceTypes"))
    assert {t["endpoint"] for t in types["Resources"]} == {"/Users", "/Groups"}
    new = make_token(srv, owner, codes)["token"]
    scim_error(scim(srv, old, "GET", "/Users"), 401, None, "invalid_scim_token")
    ok(scim(srv, new, "GET", "/Users"))
    # Without a recent MFA step-up, and for a non-owner, the token is not handed out.
    res = srv.request("DELETE", "/api/v1/scim/token", headers=bearer(owner))
    assert res.status in (204, 403), res
    if res.status == 403:
        step_up(srv, owner, codes)
        res = srv.request("DELETE", "/api/v1/scim/token", headers=bearer(owner))
    assert res.status == 204, res
    scim_error(scim(srv, new, "GET", "/Users"), 401, None, "invalid_scim_token")
    assert query(srv, "SELECT COUNT(*) FROM scim_tokens") == [(0,)]


def test_a_non_owner_cannot_make_the_token(env):
    srv, owner = env["srv"], env["owner"]
    tokens = accept(srv, invite(srv, owner, "admin@acme.test", "admin"))
    _, codes = enroll(srv, tokens)
    res = post(srv, "/api/v1/scim/token", headers=bearer(tokens))
    assert res.status == 403 and res.json()["error"]["code"] == "owner_required", res
    ok(scim(srv, env["token"], "GET", "/Users"))  # the owner's token still works


@pytest.mark.usefixtures("pg")
def test_deactivation_on_one_node_cuts_off_the_member_on_another(pg, make_server):
    """Two nodes on one PostgreSQL database: SCIM on node 1 deactivates; node 0, which served the
    member a moment before (and cached the session and key), refuses both on the next request."""
    url = pg.new_database()
    key = b64key()
    rules = LOOSE_RULES + ["* api_key 100000/1m"]
    nodes = [make_server(dev=True, name=f"node{i}", env={"BULWARK_MASTER_KEY": key},
                         settings={"rate_limit.rules": rules, "storage.url": url, "server.public_url": PUBLIC_URL})
             for i in range(2)]
    res = run_cli(["tenant", "create", "--dev", "--config", nodes[0].config_path, "--data", nodes[0].data_dir,
                   "--name", "acme", "--owner", "owner@acme.test"], env={"BULWARK_MASTER_KEY": key})
    assert res.returncode == 0, res
    owner = sign_in(nodes[0], "owner@acme.test")
    _, codes = enroll(nodes[0], owner)
    token = make_token(nodes[0], owner, codes)["token"]
    tokens, api = member_with_key(nodes[0], owner)
    assert_access(nodes[0], tokens, api, True)  # cached on node 0 now
    uid = ok(scim(nodes[1], token, "POST", "/Users", {"userName": "ada@acme.test"}), 201)["id"]
    ok(scim(nodes[1], token, "PATCH", f"/Users/{uid}", patch_ops({"op": "replace", "value": {"active": False}})))
    deadline = time.monotonic() + 1.0  # the notification latency, bounded
    while True:
        codes_seen = [nodes[0].get("/api/v1/whoami", headers=h).status for h in (bearer(tokens), {"X-API-Key": api})]
        if codes_seen == [401, 401]:
            break
        assert time.monotonic() < deadline, codes_seen
        time.sleep(0.02)
    assert_access(nodes[1], tokens, api, False)


def test_concurrent_creates_of_one_user_name_make_one_user(env):
    """Eight identity-provider retries racing to create the same userName: one 201, the rest 409
    uniqueness (never a second User, never a 500)."""
    import threading
    srv, token = env["srv"], env["token"]
    statuses, lock = [], threading.Lock()

    def create():
        res = scim(srv, token, "POST", "/Users", {"userName": "race@acme.test"})
        with lock:
            statuses.append((res.status, res.json().get("scimType")))

    threads = [threading.Thread(target=create) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses, key=repr).count((201, None)) == 1, statuses
    assert [s for s in statuses if s[0] != 201] == [(409, "uniqueness")] * 7, statuses
    assert query(srv, "SELECT COUNT(*) FROM scim_users WHERE user_name_key = 'race@acme.test'") == [(1,)]


def test_scim_requests_are_limited_per_token(make_server):
    """The `scim` rate-limit key: the token's budget is its own (the owner's session is not charged)
    and a refusal is 429 in SCIM's shape with Retry-After."""
    srv = make_server(dev=True, settings={"rate_limit.rules": LOOSE_RULES + ["* scim 5/1m"]})
    create_tenant(srv, "acme", "owner@acme.test")
    owner = sign_in(srv, "owner@acme.test")
    _, codes = enroll(srv, owner)
    token = make_token(srv, owner, codes)["token"]
    for _ in range(5):
        ok(scim(srv, token, "GET", "/Users"))
    res = scim(srv, token, "GET", "/Users")
    scim_error(res, 429, None, "rate_limited")
    assert res.header("Retry-After"), res
    assert srv.get("/api/v1/whoami", headers=bearer(owner)).status == 200

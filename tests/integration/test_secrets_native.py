"""The native secrets API (/api/v1/secrets*, /api/v1/secret-*) and path policies (/api/v1/policies*,
/api/v1/groups*) through the real binary: a secret's whole lifecycle; what path policies let each
principal do; bad input answered with a stable 4xx that changes nothing; every read in the ledger
and no value in the ledger or the log. The Vault KV v2 surface is in test_vault_hvac.py."""
import json
import time

import pytest
from conftest import assert_error_body, random_token
from identity_helpers import (JSON, LOOSE, accept, bearer, enroll, invite, ledger, post,
                              send_json, sign_in, state)
from pg_helpers import db_for, query, scan_store
from vault_helpers import owner

S = "/api/v1/secrets/"
META = "/api/v1/secret-metadata/"
VERS = "/api/v1/secret-versions/"
POL = "/api/v1/policies/"
ALL = ["create", "read", "update", "delete", "list"]
VERSION_KEYS = {"path", "version", "created_at", "created_by", "deleted_at", "destroyed"}


@pytest.fixture
def srv(make_server):
    return make_server(dev=True, settings=LOOSE)


class Tenant:
    """A tenant's stepped-up owner (the step-up of enroll() lasts 5 minutes: policy changes
    below need no other), bound to a policy granting everything on every path."""

    def __init__(self, srv, name="acme"):
        self.srv = srv
        self.doc, self.tokens, self.codes = owner(srv, name)
        self.id = self.doc["tenant_id"]
        self.h = bearer(self.tokens)
        self.policy("all", {"*": ALL})
        self.attach("all", "user", self.doc["owner_user_id"])

    def policy(self, name, rules):
        doc = {"rules": [{"path": p, "capabilities": c} for p, c in rules.items()]}
        res = send_json(self.srv, "PUT", POL + name, doc, self.h)
        assert res.status in (200, 201), res
        return res.json()

    def attach(self, name, kind, subject, method="PUT"):
        res = self.srv.request(method, f"{POL}{name}/attachments/{kind}/{subject}", self.h, body="")
        assert res.status == 204, res

    def detach(self, name, kind, subject):
        self.attach(name, kind, subject, "DELETE")

    def member(self, email, role="member"):
        return accept(self.srv, invite(self.srv, self.tokens, email, role))

    def put(self, path, data, h=None, **extra):
        return send_json(self.srv, "PUT", S + path, {"data": data, **extra}, self.h if h is None else h)

    def write(self, path, data):
        res = self.put(path, data)
        assert res.status == 200, res
        return res.json()

    def read(self, path, h=None, query=""):
        return self.srv.get(S + path + query, self.h if h is None else h)

    def meta(self, path, h=None):
        res = self.srv.get(META + path, self.h if h is None else h)
        assert res.status == 200, res
        return res.json()

    def api_key(self, scopes):
        res = post(self.srv, "/api/v1/apikeys", {"name": "k", "scopes": scopes}, self.h)
        assert res.status == 201, res
        return res.json()["key"], res.json()["id"]


def refused(res, status, code):
    """A refusal in the native error shape, never cached."""
    assert_error_body(res, status, code)
    assert res.header("Cache-Control") == "no-store", res.header_list


def versions_rows(srv, path):
    """{version: (sealed, deleted_at, destroyed_at)} of `path`'s stored versions."""
    q = "SELECT version, sealed, deleted_at, destroyed_at FROM secret_versions WHERE path = ?"
    return {r[0]: r[1:] for r in query(srv, q, (path,))}


def tenant_rows(srv, tenant):
    """A tenant's rows in secrets and secret_versions."""
    return tuple(query(srv, f"SELECT * FROM {table} WHERE tenant_id = ? ORDER BY 2, 3", (tenant,))
                 for table in ("secrets", "secret_versions"))


# --------------------------------------------------------------------------------------------
# 1. The lifecycle.


def test_lifecycle_create_read_cas_versions_delete_undelete_destroy_metadata(srv):
    t = Tenant(srv)
    w = t.write("app/db", {"password": "one"})
    assert set(w) == VERSION_KEYS and w["path"] == "app/db" and w["version"] == 1, w
    assert w["deleted_at"] is None and w["destroyed"] is False
    assert w["created_by"] == t.doc["owner_user_id"]
    r = t.read("app/db")
    assert r.status == 200 and r.json()["data"] == {"password": "one"}, r
    assert set(r.json()) == VERSION_KEYS | {"data"} and r.json()["version"] == 1
    # check-and-set: the current version writes; a stale one (or 0 on an existing path) is 409.
    assert t.put("app/db", {"password": "two"}, cas=1).json()["version"] == 2
    before = state(srv)
    refused(t.put("app/db", {"password": "lost"}, cas=1), 409, "cas_mismatch")
    refused(t.put("app/db", {"password": "lost"}, cas=0), 409, "cas_mismatch")
    refused(t.put("app/new", {"a": "b"}, cas=3), 409, "cas_mismatch")
    assert state(srv) == before
    assert t.put("app/new", {"a": "b"}, cas=0).json()["version"] == 1
    t.write("app/db", {"password": "three"})
    assert t.read("app/db", query="?version=1").json()["data"] == {"password": "one"}
    assert t.read("app/db", query="?version=2").json()["data"] == {"password": "two"}
    refused(t.read("app/db", query="?version=4"), 404, "secret_not_found")
    # Soft delete of the current version, then undelete.
    assert srv.request("DELETE", S + "app/db", t.h).status == 204
    refused(t.read("app/db"), 404, "secret_not_found")
    refused(t.read("app/db", query="?version=3"), 404, "secret_not_found")
    v3 = t.meta("app/db")["versions"][2]
    assert v3["version"] == 3 and isinstance(v3["deleted_at"], int) and v3["destroyed"] is False
    assert versions_rows(srv, "app/db")[3][0] is not None  # recoverable: the ciphertext stays
    assert post(srv, VERS + "undelete/app/db", {"versions": [3]}, t.h).status == 204
    assert t.read("app/db").json()["data"] == {"password": "three"}
    # Soft delete of named versions, by query and by the POST route.
    assert srv.request("DELETE", S + "app/db?versions=1,2", t.h).status == 204
    refused(t.read("app/db", query="?version=1"), 404, "secret_not_found")
    assert post(srv, VERS + "undelete/app/db", {"versions": [1, 2]}, t.h).status == 204
    assert post(srv, VERS + "delete/app/db", {"versions": [2]}, t.h).status == 204
    refused(t.read("app/db", query="?version=2"), 404, "secret_not_found")
    assert t.read("app/db", query="?version=1").json()["data"] == {"password": "one"}
    # Destroy: the ciphertext is gone from the database; undelete cannot bring it back.
    assert post(srv, VERS + "destroy/app/db", {"versions": [1]}, t.h).status == 204
    rows = versions_rows(srv, "app/db")
    assert rows[1][0] is None and rows[1][2] is not None and rows[2][0] is not None, rows
    assert post(srv, VERS + "undelete/app/db", {"versions": [1]}, t.h).status == 204
    refused(t.read("app/db", query="?version=1"), 404, "secret_not_found")
    m = t.meta("app/db")
    assert m["current_version"] == 3 and m["oldest_version"] == 1 and m["max_versions"] == 10
    assert [v["destroyed"] for v in m["versions"]] == [True, False, False]
    # Metadata: custom metadata round trip, max_versions prunes at once, cas_required.
    custom = {"owner": "ops", "rotation": "90d"}
    res = send_json(srv, "PUT", META + "app/db",
                    {"custom_metadata": custom, "max_versions": 2, "cas_required": True}, t.h)
    assert res.status == 204, res
    m = t.meta("app/db")
    assert m["custom_metadata"] == custom and m["max_versions"] == 2 and m["cas_required"] is True
    assert [v["version"] for v in m["versions"]] == [2, 3] and m["oldest_version"] == 2
    assert sorted(versions_rows(srv, "app/db")) == [2, 3]
    before = state(srv)
    refused(t.put("app/db", {"password": "no-cas"}), 409, "cas_required")
    assert state(srv) == before
    assert t.put("app/db", {"password": "four"}, cas=3).json()["version"] == 4
    assert sorted(versions_rows(srv, "app/db")) == [3, 4]
    # Delete everything: metadata and every version, for good.
    assert srv.request("DELETE", META + "app/db", t.h).status == 204
    refused(t.read("app/db"), 404, "secret_not_found")
    refused(srv.get(META + "app/db", t.h), 404, "secret_not_found")
    assert versions_rows(srv, "app/db") == {}
    refused(srv.request("DELETE", META + "app/db", t.h), 404, "secret_not_found")
    assert t.read("app/new").json()["data"] == {"a": "b"}  # the neighbour is untouched


def test_list_next_level_and_recursive(srv):
    t = Tenant(srv)
    for p in ["dev/api/key", "dev/db", "prod/db", "prod/api/key", "top"]:
        t.write(p, {"x": "y"})

    def keys(query):
        res = srv.get("/api/v1/secrets" + query, t.h)
        assert res.status == 200 and list(res.json()) == ["keys"], res
        assert res.header("Cache-Control") == "no-store"
        return res.json()["keys"]
    assert keys("") == ["dev/", "prod/", "top"]
    assert keys("?prefix=dev/") == ["api/", "db"]
    assert keys("?prefix=dev/&recursive=false") == ["api/", "db"]
    assert keys("?recursive=true") == ["dev/api/key", "dev/db", "prod/api/key", "prod/db", "top"]
    assert keys("?prefix=prod/&recursive=true") == ["api/key", "db"]
    assert keys("?prefix=nothing/") == []
    refused(srv.get("/api/v1/secrets?recursive=yes", t.h), 400, "invalid_query")
    refused(srv.get("/api/v1/secrets?prefix=../", t.h), 400, "invalid_path")
    refused(srv.get("/api/v1/secrets?prefix=a//", t.h), 400, "invalid_path")
    refused(srv.get("/api/v1/secrets?prefix=dev/&prefix=prod/", t.h), 400, "invalid_query")
    refused(srv.get("/api/v1/secrets?depth=1", t.h), 400, "invalid_query")


def test_list_prefix_without_trailing_slash_is_the_folder_or_refused(srv):
    t = Tenant(srv)
    for p in ["dev/api/key", "dev/db", "development/x", "top"]:
        t.write(p, {"x": "y"})
    # A prefix names a folder, with or without its trailing '/'.
    for prefix, folder in [("dev", ["api/", "db"]), ("dev/", ["api/", "db"]), ("top", []),
                           ("devel", [])]:
        res = srv.get("/api/v1/secrets?prefix=" + prefix, t.h)
        assert res.status == 200 and res.json()["keys"] == folder, res


# --------------------------------------------------------------------------------------------
# 2. Path policies.


def test_most_specific_pattern_decides_and_plus_is_one_segment(srv):
    t = Tenant(srv)
    for p in ["prod/app/x", "prod/db", "dev/a/password", "dev/a/b/password", "dev/a/other"]:
        t.write(p, {"v": p})
    m = t.member("m@acme.test")
    enroll(srv, m)  # stepped up, so that destroy (a step-up route) reaches the path policies
    mh = bearer(m)
    refused(t.read("prod/app/x", mh), 403, "path_denied")  # nothing attached: nothing allowed
    t.policy("prod", {"prod/*": ["deny"], "prod/app/*": ["read"]})
    t.policy("plus", {"dev/+/password": ["read"]})
    t.attach("prod", "user", m["user_id"])
    t.attach("plus", "user", m["user_id"])
    assert t.read("prod/app/x", mh).json()["data"] == {"v": "prod/app/x"}
    assert t.read("dev/a/password", mh).json()["data"] == {"v": "dev/a/password"}
    before = state(srv)
    refused(t.read("prod/db", mh), 403, "path_denied")
    refused(t.read("dev/a/b/password", mh), 403, "path_denied")  # '+' is exactly one segment
    refused(t.read("dev/a/other", mh), 403, "path_denied")
    refused(t.put("prod/app/x", {"v": "overwritten"}, mh), 403, "path_denied")  # read only
    refused(srv.request("DELETE", S + "prod/app/x", mh), 403, "path_denied")
    refused(srv.request("DELETE", META + "prod/db", mh), 403, "path_denied")
    refused(post(srv, VERS + "destroy/prod/app/x", {"versions": [1]}, mh), 403, "path_denied")
    # Denied the same whether or not the path exists.
    refused(t.read("prod/missing", mh), 403, "path_denied")
    assert state(srv) == before
    assert t.read("prod/app/x").json()["data"] == {"v": "prod/app/x"}


def test_create_and_update_are_different_capabilities(srv):
    t = Tenant(srv)
    t.write("up/existing", {"v": "owner"})
    m = t.member("m@acme.test")
    mh = bearer(m)
    t.policy("cu", {"cr/*": ["create"], "up/*": ["update", "read"]})
    t.attach("cu", "user", m["user_id"])
    assert t.put("cr/new", {"v": "1"}, mh).json()["version"] == 1
    before = state(srv)
    refused(t.put("cr/new", {"v": "2"}, mh), 403, "path_denied")  # create cannot overwrite
    refused(t.put("up/fresh", {"v": "1"}, mh), 403, "path_denied")  # update cannot create
    refused(send_json(srv, "PUT", META + "up/fresh", {"max_versions": 3}, mh), 403, "path_denied")
    refused(send_json(srv, "PUT", META + "cr/new", {"max_versions": 3}, mh), 403, "path_denied")
    refused(t.read("cr/new", mh), 403, "path_denied")
    assert state(srv) == before
    assert t.put("up/existing", {"v": "member"}, mh).json()["version"] == 2
    assert t.read("up/existing").json()["data"] == {"v": "member"}
    assert t.read("cr/new").json()["data"] == {"v": "1"}


def test_list_capability_shows_a_path_but_does_not_read_it(srv):
    t = Tenant(srv)
    for p in ["ls/one", "ls/sub/two", "hidden/three"]:
        t.write(p, {"v": "secret-" + p})
    m = t.member("m@acme.test")
    mh = bearer(m)
    t.policy("lister", {"ls/*": ["list"]})
    t.attach("lister", "user", m["user_id"])
    res = srv.get("/api/v1/secrets", mh)
    assert res.status == 200 and res.json()["keys"] == ["ls/"], res
    assert srv.get("/api/v1/secrets?prefix=ls/", mh).json()["keys"] == ["one", "sub/"]
    assert srv.get("/api/v1/secrets?recursive=true", mh).json()["keys"] == ["ls/one", "ls/sub/two"]
    # Metadata (authors, custom metadata, history) needs read: list shows names only.
    refused(srv.get(META + "ls/one", mh), 403, "path_denied")
    refused(srv.get(META + "hidden/three", mh), 403, "path_denied")
    before = state(srv)
    res = t.read("ls/one", mh)
    refused(res, 403, "path_denied")
    assert b"secret-" not in res.body
    refused(t.put("ls/one", {"v": "x"}, mh), 403, "path_denied")
    assert state(srv) == before


def test_group_membership_and_detaching_apply_on_the_next_request(srv):
    t = Tenant(srv)
    t.write("prod/db", {"v": "p"})
    g1, g2 = t.member("g1@acme.test"), t.member("g2@acme.test")
    res = send_json(srv, "PUT", "/api/v1/groups/ops", {"members": [g1["user_id"]]}, t.h)
    assert res.status == 201, res
    t.policy("ops-read", {"prod/db": ["read"]})
    t.attach("ops-read", "group", "ops")
    assert t.read("prod/db", bearer(g1)).status == 200
    refused(t.read("prod/db", bearer(g2)), 403, "path_denied")
    # Replace the members: g1 loses the group's policy and g2 gains it, on the very next request.
    res = send_json(srv, "PUT", "/api/v1/groups/ops", {"members": [g2["user_id"]]}, t.h)
    assert res.status == 204, res
    refused(t.read("prod/db", bearer(g1)), 403, "path_denied")
    assert t.read("prod/db", bearer(g2)).status == 200
    groups = srv.get("/api/v1/groups", t.h).json()["groups"]
    assert [(g["name"], g["members"]) for g in groups] == [("ops", [g2["user_id"]])]
    # Detaching from the group ends it on the next request too.
    t.detach("ops-read", "group", "ops")
    refused(t.read("prod/db", bearer(g2)), 403, "path_denied")
    # A direct attachment, then detached.
    t.attach("ops-read", "user", g1["user_id"])
    assert t.read("prod/db", bearer(g1)).status == 200
    t.detach("ops-read", "user", g1["user_id"])
    refused(t.read("prod/db", bearer(g1)), 403, "path_denied")
    before = state(srv)
    refused(srv.request("DELETE", f"{POL}ops-read/attachments/user/{g1['user_id']}", t.h, body=""),
            404, "attachment_not_found")
    assert state(srv) == before


def test_role_verbs_and_key_scopes_gate_on_top_of_path_policies(srv):
    t = Tenant(srv)
    t.write("prod/db", {"v": "p"})
    v = t.member("v@acme.test", "viewer")
    t.policy("reader", {"*": ["read", "list"]})
    t.attach("reader", "user", v["user_id"])
    key, key_id = t.api_key(["secrets.list"])
    t.attach("reader", "api_key", key_id)
    before = state(srv)
    # A viewer has no secrets.read: the path policy does not widen the role.
    refused(t.read("prod/db", bearer(v)), 403, "permission_denied")
    refused(t.put("prod/db", {"v": "x"}, bearer(v)), 403, "permission_denied")
    assert srv.get("/api/v1/secrets", bearer(v)).json()["keys"] == ["prod/"]  # secrets.list it has
    # A key scoped to secrets.list cannot read, whatever its policy says.
    refused(t.read("prod/db", {"X-API-Key": key}), 403, "permission_denied")
    refused(t.put("prod/db", {"v": "x"}, {"X-API-Key": key}), 403, "permission_denied")
    assert srv.get("/api/v1/secrets", {"X-API-Key": key}).json()["keys"] == ["prod/"]
    assert state(srv) == before
    # The same key with secrets.read reads: the scope was the only thing missing.
    key2, key2_id = t.api_key(["secrets.read"])
    t.attach("reader", "api_key", key2_id)
    assert t.read("prod/db", {"X-API-Key": key2}).json()["data"] == {"v": "p"}


def test_policy_changes_need_a_stepped_up_session(srv):
    t = Tenant(srv)
    fresh = bearer(sign_in(srv, "owner@acme.test"))  # a new session: no step-up yet
    key, key_id = t.api_key(["secrets.read", "policies.read", "policies.update"])
    body = {"rules": [{"path": "*", "capabilities": ["read"]}]}
    uid = t.doc["owner_user_id"]
    before = state(srv)
    for h, status, code in [(fresh, 403, "mfa_required"), ({"X-API-Key": key}, 401, "session_required")]:
        refused(send_json(srv, "PUT", POL + "new", body, h), status, code)
        refused(send_json(srv, "PUT", POL + "all", body, h), status, code)
        refused(srv.request("DELETE", POL + "all", h), status, code)
        refused(srv.request("PUT", f"{POL}all/attachments/api_key/{key_id}", h, body=""), status, code)
        refused(srv.request("DELETE", f"{POL}all/attachments/user/{uid}", h, body=""), status, code)
        refused(send_json(srv, "PUT", "/api/v1/groups/ops", {"members": [uid]}, h), status, code)
    assert state(srv) == before
    # Reading policies needs no step-up; the key may read them too.
    res = srv.get(POL + "all", {"X-API-Key": key})
    assert res.status == 200 and res.json()["rules"] == [{"path": "*", "capabilities": ALL}], res
    assert res.json()["attachments"] == [{"kind": "user", "id": uid}]


def test_bad_policy_bodies_are_refused_with_stable_codes_and_store_nothing(srv):
    t = Tenant(srv)
    m = t.member("m@acme.test")

    def rule(path, caps=("read",)):
        return {"path": path, "capabilities": list(caps)}
    cases = [({"rules": [rule(p)]}, "invalid_pattern")
             for p in ["a/*/b", "../x", "", "a//b", "a/+b", "a/", "*/a", "x" * 513]]
    cases += [({"rules": [rule("a", ["read", "fly"])]}, "invalid_capability"),
              ({"rules": [rule("a", [])]}, "invalid_capability"),
              ({"rules": [{"path": "a", "capabilities": [1]}]}, "invalid_rules"),
              ({"rules": [{"path": "a", "capabilities": ["read"], "x": 1}]}, "invalid_rules"),
              ({"rules": []}, "invalid_rules"), ({"rules": "dev/*"}, "invalid_rules"),
              ({"rules": [rule(f"p{i}") for i in range(257)]}, "invalid_rules"),
              ({"rules": [rule("a")], "extra": 1}, "invalid_body"), ({}, "invalid_body")]
    before = state(srv)
    for doc, code in cases:
        refused(send_json(srv, "PUT", POL + "bad", doc, t.h), 400, code)
        refused(send_json(srv, "PUT", POL + "all", doc, t.h), 400, code)  # no half replace
    refused(send_json(srv, "PUT", POL + "a%20b", {"rules": [rule("a")]}, t.h), 400, "invalid_name")
    refused(srv.request("PUT", POL + "bad", {**JSON, **t.h}, body='{"rules":[],"rules":[]}'), 400,
            "duplicate_key")
    refused(srv.request("PUT", POL + "bad", t.h, body='{"rules":[]}'), 415, "unsupported_media_type")
    # Attachments and groups: unknown subjects, kinds and policies.
    for kind, sid, status, code in [("user", "usr_nope", 404, "subject_not_found"),
                                    ("api_key", "nope", 404, "subject_not_found"),
                                    ("group", "nope", 404, "subject_not_found"),
                                    ("robot", m["user_id"], 400, "invalid_subject")]:
        refused(srv.request("PUT", f"{POL}all/attachments/{kind}/{sid}", t.h, body=""), status, code)
    refused(srv.request("PUT", f"{POL}nopolicy/attachments/user/{m['user_id']}", t.h, body=""), 404,
            "policy_not_found")
    refused(send_json(srv, "PUT", "/api/v1/groups/ops", {"members": [m["user_id"], "usr_nope"]}, t.h),
            404, "subject_not_found")
    refused(send_json(srv, "PUT", "/api/v1/groups/ops", {"members": "x"}, t.h), 400, "invalid_body")
    refused(send_json(srv, "PUT", "/api/v1/groups/a%20b", {"members": []}, t.h), 400, "invalid_name")
    assert state(srv) == before
    assert [p["name"] for p in srv.get("/api/v1/policies", t.h).json()["policies"]] == ["all"]


# --------------------------------------------------------------------------------------------
# 3. Bad input.


def test_invalid_secret_paths(srv):
    t = Tenant(srv)
    t.write("a/b", {"v": "1"})
    before = state(srv)
    # Paths the router cannot name a route with: "//", "." and ".." segments, a trailing '/'.
    not_routed = ["a//b", "a/../b", "a/./b", "../a", "a/b/"]
    # Routed, then refused by the path grammar (the target is not percent-decoded).
    invalid = ["a%20b", "a%2Fb", "%2e%2e/x", "a/%2e", "caf%C3%A9", "a%00b", "a:b", "a*", "+",
               "x" * 513, "a/" * 256 + "b"]
    for p in not_routed + invalid:
        expect = (404, "not_found") if p in not_routed else (400, "invalid_path")
        for res in [t.read(p), t.put(p, {"v": "x"}), srv.request("DELETE", S + p, t.h),
                    srv.get(META + p, t.h), send_json(srv, "PUT", META + p, {"max_versions": 1}, t.h),
                    srv.request("DELETE", META + p, t.h),
                    post(srv, VERS + "destroy/" + p, {"versions": [1]}, t.h)]:
            refused(res, *expect)
    # Raw UTF-8 in the request line.
    raw = (f"GET {S}caf\u00e9 HTTP/1.1\r\nHost: {srv.address}\r\nConnection: close\r\n"
           f"Authorization: {t.h['Authorization']}\r\n\r\n").encode()
    refused(srv.raw(raw), 400, "invalid_path")
    assert state(srv) == before
    assert t.write("y" * 512, {"v": "ok"})["version"] == 1  # 512 bytes is the limit


def test_bad_bodies_and_content_types(srv):
    t = Tenant(srv)
    t.write("app/x", {"v": "1"})
    jh = {**JSON, **t.h}
    cases = [
        ('{"data":"text"}', "invalid_value"), ('{"data":[1]}', "invalid_value"),
        ('{"data":null}', "invalid_value"), ("{}", "invalid_value"), ('{"cas":1}', "invalid_value"),
        ('{"data":{"v":"2"},"extra":1}', "invalid_body"), ("[1]", "invalid_body"),
        ('"x"', "invalid_body"), ('{"data":', "malformed_json"), ("", "malformed_json"),
        ('{"data":{"v":"2"}} x', "malformed_json"),
        ('{"data":' + '{"a":' * 40 + "1" + "}" * 41, "malformed_json"),
        ('{"data":{"v":"2"},"data":{"v":"3"}}', "duplicate_key"),
        ('{"data":{"v":"2","v":"3"}}', "duplicate_key"),
        ('{"data":{"v":"2"},"cas":"1"}', "invalid_cas"), ('{"data":{"v":"2"},"cas":1.5}', "invalid_cas"),
        ('{"data":{"v":"2"},"cas":null}', "invalid_cas"), ('{"data":{"v":"2"},"cas":-1}', "invalid_cas"),
        ('{"data":{"v":"2"},"cas":true}', "invalid_cas"),
    ]
    before = state(srv)
    for body, code in cases:
        refused(srv.request("PUT", S + "app/x", jh, body=body), 400, code)
    refused(srv.request("PUT", S + "app/x", jh, body=b'{"data":{"v":"\xff"}}'), 400, "invalid_utf8")
    for ct in [None, "text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin-1"]:
        h = {**t.h, "Content-Type": ct} if ct else t.h
        refused(srv.request("PUT", S + "app/x", h, body='{"data":{"v":"2"}}'), 415, "unsupported_media_type")
    # Version and metadata bodies.
    for body, code in [('{"versions":["1"]}', "invalid_versions"), ('{"versions":[0]}', "invalid_versions"),
                       ('{"versions":1}', "invalid_versions"), ('{"versions":[]}', "invalid_versions"),
                       ("{}", "invalid_versions"), ('{"versions":[1],"x":1}', "invalid_body")]:
        refused(srv.request("POST", VERS + "destroy/app/x", jh, body=body), 400, code)
        refused(srv.request("POST", VERS + "undelete/app/x", jh, body=body), 400, code)
        refused(srv.request("POST", VERS + "delete/app/x", jh, body=body), 400, code)
    for doc in [{"max_versions": "2"}, {"max_versions": -1}, {"max_versions": 1001},
                {"cas_required": "true"}, {"custom_metadata": {"a": 1}}, {"custom_metadata": "x"},
                {"custom_metadata": {f"k{i}": "v" for i in range(65)}}]:
        refused(send_json(srv, "PUT", META + "app/x", doc, t.h), 400, "invalid_metadata")
    refused(send_json(srv, "PUT", META + "app/x", {"owner": "me"}, t.h), 400, "invalid_body")
    # Bodies where none belongs.
    refused(srv.request("GET", S + "app/x", jh, body="{}"), 400, "unexpected_body")
    refused(srv.request("DELETE", S + "app/x", jh, body='{"versions":[1]}'), 400, "unexpected_body")
    assert state(srv) == before
    assert t.read("app/x").json()["data"] == {"v": "1"}


def test_value_over_the_value_limit_and_body_over_the_route_limit(make_server):
    srv = make_server(dev=True, settings={"secrets.max_value_bytes": 1024, **LOOSE})
    t = Tenant(srv)
    t.write("big", {"v": "small"})
    before = state(srv)
    over = {"v": "y" * (1024 - 7)}  # 1025 bytes as stored
    assert len(json.dumps(over, separators=(",", ":"))) == 1025
    refused(t.put("big", over), 400, "invalid_value")
    refused(t.put("fresh", over), 400, "invalid_value")
    refused(t.put("big", {"v": "y" * (20 * 1024)}), 413, "payload_too_large")
    rows = tenant_rows(srv, t.id)
    refused(send_json(srv, "PUT", META + "big", {"custom_metadata": {"k": "y" * (300 * 1024)}}, t.h),
            413, "payload_too_large")
    # A version list is a small body (16 KiB), whatever the value or metadata limits.
    refused(send_json(srv, "POST", VERS + "delete/big", {"versions": [1] * 6000}, t.h), 413,
            "payload_too_large")
    # A metadata body holds custom metadata at every limit the vault sets (64 members, keys of
    # 128 bytes, values of 512: about 41 KiB); one byte more in a value is the vault's refusal.
    full = {f"{i:03d}" + "k" * 125: "v" * 512 for i in range(64)}
    assert 40 * 1024 < len(json.dumps({"custom_metadata": full})) < 48 * 1024
    refused(send_json(srv, "PUT", META + "big", {"custom_metadata": {**full, "000" + "k" * 125: "v" * 513}},
                      t.h), 400, "invalid_metadata")
    assert state(srv) == before and tenant_rows(srv, t.id) == rows
    at_limit = {"v": "y" * (1024 - 8)}
    assert t.write("big", at_limit)["version"] == 2
    assert t.read("big").json()["data"] == at_limit
    res = send_json(srv, "PUT", META + "big", {"custom_metadata": full}, t.h)
    assert res.status == 204, res
    assert t.meta("big")["custom_metadata"] == full
    # The limits count decoded bytes; ASCII-only JSON (json.dumps' default, hvac's) escapes each
    # two-byte character in six, and each control character too.
    escaped = {f"{i:03d}" + "\u00e9" * 62 + "k": "\u0001" * 512 for i in range(64)}
    assert len(json.dumps({"custom_metadata": escaped})) > 200 * 1024
    res = send_json(srv, "PUT", META + "big", {"custom_metadata": escaped}, t.h)
    assert res.status == 204, res
    assert t.meta("big")["custom_metadata"] == escaped
    vault = send_json(srv, "POST", "/v1/secret/metadata/big", {"custom_metadata": {"a": "b", **full}},
                      {"X-Vault-Token": t.tokens["access_token"]})
    assert vault.status == 400, vault  # 65 members: the vault's refusal, not the body limit's
    vault = send_json(srv, "POST", "/v1/secret/metadata/big", {"custom_metadata": full},
                      {"X-Vault-Token": t.tokens["access_token"]})
    assert vault.status == 204, vault


def test_bad_query_parameters(srv):
    t = Tenant(srv)
    t.write("q", {"v": "1"})
    t.write("q", {"v": "2"})
    before = state(srv)
    for q, code in [("version=0", "invalid_versions"), ("version=-1", "invalid_versions"),
                    ("version=abc", "invalid_versions"), ("version=1.0", "invalid_versions"),
                    ("version=1,2", "invalid_versions"), ("version=%2B1", "invalid_versions"),
                    ("version=99999999999999999", "invalid_versions"),
                    ("version=1&version=2", "invalid_query"), ("version=%zz", "invalid_query"),
                    ("versions=1", "invalid_query"), ("list=true", "invalid_query"),
                    ("version=", "invalid_versions"), ("version", "invalid_versions")]:
        refused(t.read("q", query="?" + q), 400, code)
    for q, code in [("versions=0", "invalid_versions"), ("versions=abc", "invalid_versions"),
                    ("versions=1,,2", "invalid_versions"), ("versions=-1", "invalid_versions"),
                    ("versions=1&versions=2", "invalid_query"), ("version=1", "invalid_query"),
                    ("force=true", "invalid_query"),
                    # named but empty: refused, never read as "the current version"
                    ("versions=", "invalid_versions"), ("versions", "invalid_versions"),
                    ("versions=%20", "invalid_versions"), ("versions=,", "invalid_versions")]:
        refused(srv.request("DELETE", S + "q?" + q, t.h), 400, code)
    assert state(srv) == before
    assert t.read("q", query="?version=%31").json()["data"] == {"v": "1"}  # the value is decoded


def test_versions_above_2_pow_53_are_invalid(srv):
    t = Tenant(srv)
    t.write("q", {"v": "1"})
    refused(t.read("q", query="?version=9007199254740993"), 400, "invalid_versions")
    refused(srv.request("DELETE", S + "q?versions=9007199254740993", t.h), 400, "invalid_versions")


def test_another_tenants_paths_are_its_own_namespace(srv):
    a = Tenant(srv, "acme")
    b = Tenant(srv, "globex")
    a.write("prod/db", {"v": "acme-secret"})
    a.write("prod/db", {"v": "acme-secret-2"})
    rows = tenant_rows(srv, a.id)
    res = b.read("prod/db")
    refused(res, 404, "secret_not_found")
    assert b"acme" not in res.body
    refused(b.read("prod/db", query="?version=1"), 404, "secret_not_found")
    refused(srv.get(META + "prod/db", b.h), 404, "secret_not_found")
    refused(srv.request("DELETE", S + "prod/db", b.h), 404, "secret_not_found")
    refused(srv.request("DELETE", META + "prod/db", b.h), 404, "secret_not_found")
    # Versions that do not exist are ignored (as Vault does): B's own namespace is empty.
    assert post(srv, VERS + "destroy/prod/db", {"versions": [1, 2]}, b.h).status == 204
    assert post(srv, VERS + "delete/prod/db", {"versions": [2]}, b.h).status == 204
    assert srv.get("/api/v1/secrets?recursive=true", b.h).json()["keys"] == []
    # The tenant header cannot point B's credential at A.
    refused(b.read("prod/db", {**b.h, "X-Tenant-ID": a.id}), 403, "tenant_mismatch")
    assert tenant_rows(srv, a.id) == rows and tenant_rows(srv, b.id) == ([], [])
    # A write lands in B's namespace: version 1 there, A's two versions untouched.
    assert b.write("prod/db", {"v": "globex"})["version"] == 1
    assert tenant_rows(srv, a.id) == rows
    assert a.read("prod/db").json()["data"] == {"v": "acme-secret-2"}
    assert b.read("prod/db").json()["data"] == {"v": "globex"}


def test_a_revoked_api_key_is_refused(srv):
    t = Tenant(srv)
    t.write("app/k", {"v": "1"})
    key, key_id = t.api_key(["secrets.read", "secrets.write", "secrets.list"])
    t.attach("all", "api_key", key_id)
    kh = {"X-API-Key": key}
    assert t.read("app/k", kh).json()["data"] == {"v": "1"}
    assert srv.request("DELETE", f"/api/v1/apikeys/{key_id}", t.h).status == 204
    before = state(srv)
    for res in [t.read("app/k", kh), t.put("app/k", {"v": "2"}, kh), srv.get("/api/v1/secrets", kh),
                t.read("app/k", {"Authorization": f"Bearer {key}"}),
                srv.request("DELETE", S + "app/k", kh)]:
        refused(res, 401, "apikey_revoked")
    refused(srv.get(S + "app/k"), 401, "authentication_required")
    assert state(srv) == before
    # An expired key: its expiry moved into the past (as time would) before its first use.
    old, old_id = t.api_key(["secrets.read"])
    t.attach("all", "api_key", old_id)
    with db_for(srv) as db:
        db.execute("UPDATE api_keys SET expires_at = ? WHERE id = ?", (int(time.time()) - 1, old_id))
    before = state(srv)
    refused(t.read("app/k", {"X-API-Key": old}), 401, "apikey_expired")
    refused(t.put("app/k", {"v": "2"}, {"X-API-Key": old}), 401, "apikey_expired")
    assert state(srv) == before


# --------------------------------------------------------------------------------------------
# 4. Records.


def test_every_read_is_recorded_and_no_value_is_logged(srv):
    t = Tenant(srv)
    values = [random_token(), random_token(), random_token()]
    t.write("rec/a", {"token": values[0]})
    t.write("rec/a", {"token": values[1]})
    res = send_json(srv, "PUT", META + "rec/a", {"custom_metadata": {"note": "plain"}}, t.h)
    assert res.status == 204
    # A refused write (cas) with a third value, and a refused read.
    refused(t.put("rec/a", {"token": values[2]}, cas=1), 409, "cas_mismatch")
    m = t.member("m@acme.test")
    refused(t.read("rec/a", bearer(m)), 403, "path_denied")
    reads = []
    for query, version in [("", 2), ("?version=1", 1), ("?version=2", 2)]:
        res = t.read("rec/a", query=query)
        assert res.status == 200 and res.json()["version"] == version, res
        assert res.header("Cache-Control") == "no-store" and res.header("Pragma") == "no-cache"
        reads.append((res.header("X-Request-ID"), version))
    for res in [t.put("rec/b", {"v": "x"}), srv.get(META + "rec/a", t.h), srv.get("/api/v1/secrets", t.h),
                srv.request("DELETE", S + "rec/b", t.h)]:
        assert res.status in (200, 204) and res.header("Cache-Control") == "no-store", res
    entries = ledger(srv)
    ok = [e for e in entries if e["action"] == "secret.read" and e["result"] == "success"]
    assert [(e["request_id"], e["details"]["version"]) for e in ok] == reads, ok
    for e in ok:
        assert e["resource"] == "secret:rec/a" and e["details"]["status"] == 200, e
        assert e["actor"] == {"id": t.doc["owner_user_id"], "kind": "user"} and e["tenant"] == t.id
    denied = [e for e in entries if e["action"] == "secret.read" and e["result"] == "denied"]
    assert len(denied) == 1 and denied[0]["actor"]["id"] == m["user_id"], denied
    writes = [e for e in entries if e["action"] == "secret.write" and e["result"] == "success"]
    assert [e["details"].get("version") for e in writes] == [1, 2, 1], writes
    assert [e["resource"] for e in writes] == ["secret:rec/a", "secret:rec/a", "secret:rec/b"]
    # No value anywhere in the ledger, the log, the database files or any stored row in the clear.
    blob = json.dumps(entries)
    log = srv.stderr_text
    files = b"".join(p.read_bytes() for p in srv.data_dir.glob("bulwark.db*"))
    for v in values:
        assert v not in blob and v not in log and v.encode() not in files, v
    scan_store(srv, [v.encode() for v in values])


def test_lowering_max_versions_removes_history_so_it_needs_delete(srv):
    t = Tenant(srv)
    for i in range(4):
        t.write("keep/x", {"v": str(i)})
    m = t.member("keeper@acme.test")
    mh = bearer(m)
    t.policy("keeper", {"keep/*": ["read", "update"]})
    t.attach("keeper", "user", m["user_id"])
    before = state(srv), tenant_rows(srv, t.id)
    refused(send_json(srv, "PUT", META + "keep/x", {"max_versions": 1}, mh), 403, "path_denied")
    assert (state(srv), tenant_rows(srv, t.id)) == before
    res = send_json(srv, "PUT", META + "keep/x", {"max_versions": 20}, mh)  # raising keeps all
    assert res.status == 204, res
    for i in range(4, 15):
        t.write("keep/x", {"v": str(i)})  # 15 versions, all kept under max_versions 20
    # 0 asks for the server default, 10: below this secret's 20, so it prunes five versions and
    # is a delete as well, on either surface.
    before = state(srv), tenant_rows(srv, t.id)
    refused(send_json(srv, "PUT", META + "keep/x", {"max_versions": -1}, mh), 400, "invalid_metadata")
    refused(send_json(srv, "PUT", META + "keep/x", {"max_versions": 0}, mh), 403, "path_denied")
    vault = send_json(srv, "POST", "/v1/secret/metadata/keep/x", {"max_versions": 0},
                      {"X-Vault-Token": m["access_token"]})
    assert vault.status == 403, vault
    assert (state(srv), tenant_rows(srv, t.id)) == before
    assert len(t.meta("keep/x", mh)["versions"]) == 15
    t.policy("keeper", {"keep/*": ["read", "update", "delete"]})
    res = send_json(srv, "PUT", META + "keep/x", {"max_versions": 0}, mh)
    assert res.status == 204, res
    assert [v["version"] for v in t.meta("keep/x", mh)["versions"]] == list(range(6, 16))
    res = send_json(srv, "PUT", META + "keep/x", {"max_versions": 1}, mh)
    assert res.status == 204, res
    assert [v["version"] for v in t.meta("keep/x", mh)["versions"]] == [15]


# Numbers a double cannot hold are kept exactly as sent (issue #22, 7): Vault keeps a value's
# number literals as written (Go's json.Number), and so does this server, on both surfaces.
EXACT_NUMBERS = ('{"big":12345678901234567890123,"neg":-98765432109876543210,'
                 '"huge":1e400,"fine":1.50,"tiny":1E-400,"list":[18446744073709551616,0.1]}')


def test_number_literals_kept_exactly_as_sent(srv):
    t = Tenant(srv)
    res = srv.request("PUT", S + "num/exact", {**JSON, **t.h},
                      body='{"data": ' + EXACT_NUMBERS.replace(",", ", ") + "}")
    assert res.status == 200, res
    # The stored value reads back digit for digit; a JSON parser with arbitrary precision
    # (Python's ints) sees the very integers sent.
    read = t.read("num/exact")
    assert read.status == 200, read
    assert '"data":' + EXACT_NUMBERS in read.body.decode(), read.body
    assert read.json()["data"]["big"] == 12345678901234567890123
    assert read.json()["data"]["list"][0] == 2 ** 64
    # Through the same client library a Vault user would use for plain JSON: requests.
    import requests
    r = requests.get(srv.url + S + "num/exact", headers=t.h, timeout=10)
    assert r.json()["data"]["neg"] == -98765432109876543210
    assert "1.2345678901234568E22" not in r.text and "1e99999" not in r.text.lower()
    # A number Boost cannot read at all (an exponent past INT_MAX) is valid JSON all the same:
    # a clear 400 that names the number, and nothing stored.
    before = t.meta("num/exact")
    bad = srv.request("PUT", S + "num/exact", {**JSON, **t.h}, body='{"data":{"n":1e9999999999}}')
    refused(bad, 400, "number_out_of_range")
    assert "number" in bad.json()["error"]["message"]
    assert t.meta("num/exact") == before

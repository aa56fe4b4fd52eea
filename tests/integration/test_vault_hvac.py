"""The Vault KV v2-compatible surface driven by python3-hvac (Debian's), a client no one here wrote:
create, read, update with check-and-set, versions, soft delete, undelete, destroy, metadata, list,
token lookup, health, namespaces; path policies deciding what a token may touch, whatever its role;
ciphertexts moved between rows or tenants failing to open, recorded and alerted."""
import functools
import json
import time

import hvac
import hvac.exceptions as hx
import pytest
from conftest import assert_error_body
from identity_helpers import LOOSE, accept, bearer, enroll, invite, ledger, step_up
from pg_helpers import db_for, query
from vault_helpers import api_key, as_member, attach, owner, policy_doc, put_policy


@pytest.fixture
def srv(make_server):
    return make_server(dev=True, settings=LOOSE)


def client(srv, token, namespace=None):
    return hvac.Client(url=srv.url, token=token, namespace=namespace, timeout=10)


def full_access(srv, tenant="acme"):
    """An owner, and an hvac client on an API key bound to a policy granting everything."""
    doc, tokens, codes = owner(srv, tenant)
    put_policy(srv, tokens, codes, "all", {"*": ["create", "read", "update", "delete", "list"]})
    key, key_id = api_key(srv, tokens, codes, policy="all")
    return doc, tokens, codes, client(srv, key), key


def test_hvac_create_read_update_cas_versions(srv):
    _, _, _, c, _ = full_access(srv)
    kv = c.secrets.kv.v2
    w = kv.create_or_update_secret("app/db", {"password": "s3cret-1"})
    assert w["data"]["version"] == 1 and w["data"]["destroyed"] is False
    r = kv.read_secret_version("app/db")
    assert r["data"]["data"] == {"password": "s3cret-1"}
    assert r["data"]["metadata"]["version"] == 1 and r["data"]["metadata"]["deletion_time"] == ""
    # check-and-set: the right version writes, a stale one is Vault's 400 (InvalidRequest).
    assert kv.create_or_update_secret("app/db", {"password": "s3cret-2"}, cas=1)["data"]["version"] == 2
    with pytest.raises(hx.InvalidRequest):
        kv.create_or_update_secret("app/db", {"password": "lost"}, cas=1)
    with pytest.raises(hx.InvalidRequest):
        kv.create_or_update_secret("app/new", {"a": "b"}, cas=1)  # cas 1 on a path with none
    assert kv.create_or_update_secret("app/new", {"a": "b"}, cas=0)["data"]["version"] == 1
    with pytest.raises(hx.InvalidRequest):
        kv.create_or_update_secret("app/new", {"a": "c"}, cas=0)  # cas 0: only if absent
    assert kv.read_secret_version("app/db")["data"]["data"] == {"password": "s3cret-2"}
    assert kv.read_secret_version("app/db", version=1)["data"]["data"] == {"password": "s3cret-1"}
    # patch is hvac's read + write with cas.
    kv.patch("app/db", {"user": "ada"})
    assert kv.read_secret_version("app/db")["data"]["data"] == {"password": "s3cret-2", "user": "ada"}
    with pytest.raises(hx.InvalidPath):
        kv.read_secret_version("app/missing")


def test_hvac_soft_delete_undelete_destroy_and_metadata(srv):
    doc, tokens, codes, c, key = full_access(srv)
    kv = c.secrets.kv.v2
    for i in range(1, 4):
        kv.create_or_update_secret("svc/token", {"v": str(i)})
    kv.delete_latest_version_of_secret("svc/token")
    with pytest.raises(hx.InvalidPath):
        kv.read_secret_version("svc/token")
    kv.undelete_secret_versions("svc/token", versions=[3])
    assert kv.read_secret_version("svc/token")["data"]["data"] == {"v": "3"}
    kv.delete_secret_versions("svc/token", versions=[1, 2])
    with pytest.raises(hx.InvalidPath):
        kv.read_secret_version("svc/token", version=2)
    kv.undelete_secret_versions("svc/token", versions=[2])
    assert kv.read_secret_version("svc/token", version=2)["data"]["data"] == {"v": "2"}
    # Destroying takes a stepped-up session (an API key gets mfa_required): the owner's token.
    attach(srv, tokens, codes, "all", "user", doc["owner_user_id"])
    step_up(srv, tokens, codes)
    client(srv, tokens["access_token"]).secrets.kv.v2.destroy_secret_versions("svc/token", versions=[1])
    kv.undelete_secret_versions("svc/token", versions=[1])  # destroyed stays destroyed
    with pytest.raises(hx.InvalidPath):
        kv.read_secret_version("svc/token", version=1)
    # Vault's answer for a deleted or destroyed version: 404 with that version's metadata and no
    # value (what hvac's raise_on_deleted_version=False returns); a version that never was, or a
    # caller who may not read, gets the usual error.
    h = {"X-Vault-Token": key}
    kv.delete_secret_versions("svc/token", versions=[2, 3])
    for query_string, version, destroyed in (("?version=1", 1, True), ("?version=2", 2, False),
                                              ("", 3, False)):
        res = srv.get("/v1/secret/data/svc/token" + query_string, headers=h)
        assert res.status == 404 and res.header("Cache-Control") == "no-store", res
        doc = res.json()["data"]
        assert doc["data"] is None and doc["metadata"]["version"] == version, doc
        assert doc["metadata"]["destroyed"] is destroyed and doc["metadata"]["deletion_time"] != ""
        # Recorded as a refused read of that version, with why.
        entry = ledger(srv)[-1]
        assert (entry["action"], entry["resource"], entry["result"]) == \
            ("secret.read", "secret:svc/token", "denied"), entry
        assert entry["details"] == {"status": 404, "version": version}, entry
        assert entry["reason"] == ("version_destroyed" if destroyed else "version_deleted"), entry
    res = srv.get("/v1/secret/data/svc/token?version=9", headers=h)
    assert res.status == 404 and list(res.json()) == ["errors"], res
    res = srv.get("/v1/secret/data/svc/token?version=2", headers={"X-Vault-Token": "bogus"})
    assert res.status == 403 and list(res.json()) == ["errors"], res
    kv.undelete_secret_versions("svc/token", versions=[2, 3])
    meta = kv.read_secret_metadata("svc/token")["data"]
    assert meta["current_version"] == 3 and meta["oldest_version"] == 1
    assert meta["versions"]["1"]["destroyed"] is True
    assert meta["versions"]["1"]["deletion_time"] != ""
    assert meta["versions"]["2"]["deletion_time"] == "" and meta["versions"]["3"]["destroyed"] is False
    # The destroyed version's ciphertext is gone from the database.
    sealed = dict(query(srv, "SELECT version, sealed FROM secret_versions WHERE path='svc/token'"))
    assert sealed[1] is None and sealed[2] is not None
    # Metadata settings: max_versions prunes, cas_required makes writes without cas fail.
    kv.update_metadata("svc/token", max_versions=2, cas_required=True)
    meta = kv.read_secret_metadata("svc/token")["data"]
    assert meta["max_versions"] == 2 and meta["cas_required"] is True
    assert sorted(meta["versions"]) == ["2", "3"]
    with pytest.raises(hx.InvalidRequest):
        kv.create_or_update_secret("svc/token", {"v": "4"})
    assert kv.create_or_update_secret("svc/token", {"v": "4"}, cas=3)["data"]["version"] == 4
    kv.delete_metadata_and_all_versions("svc/token")
    with pytest.raises(hx.InvalidPath):
        kv.read_secret_metadata("svc/token")
    with pytest.raises(hx.InvalidPath):
        kv.read_secret_version("svc/token")
    # As in Vault, a delete answers 204 whether or not the secret exists, so a delete never tells
    # which paths held one and a client may repeat it. The record says nothing was found, once.
    kv.create_or_update_secret("svc/other", {"v": "1"})
    _, _, _, beta, _ = full_access(srv, "beta")  # another tenant holds the very path
    beta.secrets.kv.v2.create_or_update_secret("never/was", {"v": "beta"})

    def stored():
        return [query(srv, f"SELECT * FROM {t} ORDER BY 1, 2, 3") for t in ("secrets", "secret_versions")]
    before = stored()
    assert len(before[0]) == 2 and len(before[1]) == 2, before
    for delete, action in ((kv.delete_latest_version_of_secret, "secret.delete"),
                           (kv.delete_metadata_and_all_versions, "secret.metadata.delete")):
        for path in ("svc/token", "never/was", "never/was"):
            size = len(ledger(srv))
            assert delete(path).status_code == 204
            entries = ledger(srv)
            assert len(entries) == size + 1, entries[size:]
            assert (entries[-1]["action"], entries[-1]["resource"], entries[-1]["result"]) == \
                (action, f"secret:{path}", "success"), entries[-1]
            assert entries[-1]["details"] == {"status": 204, "found": False}, entries[-1]
    assert stored() == before
    assert beta.secrets.kv.v2.read_secret_version("never/was")["data"]["data"] == {"v": "beta"}
    # A caller without delete there is refused before anything is looked up, found or not.
    put_policy(srv, tokens, codes, "look", {"*": ["read", "list"]})
    look, _ = api_key(srv, tokens, codes, policy="look")
    for path in ("/v1/secret/data/svc/other", "/v1/secret/metadata/svc/other",
                 "/v1/secret/data/never/was", "/v1/secret/metadata/never/was"):
        res = srv.request("DELETE", path, {"X-Vault-Token": look})
        assert res.status == 403 and res.json()["errors"][0].startswith("path_denied: "), res
    assert stored() == before


def test_hvac_list_shows_folders_and_only_what_the_token_may_see(srv):
    doc, tokens, codes, c, _ = full_access(srv)
    kv = c.secrets.kv.v2
    for p in ["dev/api/key", "dev/db", "prod/db", "prod/api/key", "top"]:
        kv.create_or_update_secret(p, {"x": "y"})
    assert sorted(kv.list_secrets("")["data"]["keys"]) == ["dev/", "prod/", "top"]
    assert sorted(kv.list_secrets("dev")["data"]["keys"]) == ["api/", "db"]
    assert sorted(kv.list_secrets("dev/")["data"]["keys"]) == ["api/", "db"]
    with pytest.raises(hx.InvalidPath):
        kv.list_secrets("nothing-here")
    # A token bound to dev/* sees dev only: Vault would list prod to it too.
    put_policy(srv, tokens, codes, "dev-only", {"dev/*": ["read", "list"]})
    dev_key, _ = api_key(srv, tokens, codes, policy="dev-only")
    dc = client(srv, dev_key).secrets.kv.v2
    assert dc.list_secrets("")["data"]["keys"] == ["dev/"]
    with pytest.raises(hx.InvalidPath):
        dc.list_secrets("prod")
    # LIST through GET ?list=true as well.
    res = srv.get("/v1/secret/metadata/dev?list=true", headers={"X-Vault-Token": dev_key})
    assert res.status == 200 and sorted(res.json()["data"]["keys"]) == ["api/", "db"], res


def policy_tables(srv):
    """Every row of the tables that say who holds which path policies."""
    return {t: query(srv, f"SELECT * FROM {t} ORDER BY 1, 2, 3")
            for t in ("path_policies", "policy_attachments", "member_groups", "group_members")}


def test_dev_prod_policy_an_admin_bound_to_dev_cannot_touch_prod(srv):
    doc, tokens, codes, c, _ = full_access(srv)
    c.secrets.kv.v2.create_or_update_secret("prod/db/password", {"password": "prod-secret"})
    c.secrets.kv.v2.create_or_update_secret("dev/db/password", {"password": "dev-secret"})
    # An admin holds every secret verb; bound to dev/* it still cannot read prod.
    admin_invite = invite(srv, tokens, "admin@acme.test", "admin")
    admin = accept(srv, admin_invite)
    put_policy(srv, tokens, codes, "dev", {"dev/*": ["create", "read", "update", "delete", "list"]})
    attach(srv, tokens, codes, "dev", "user", admin["user_id"])
    ac = client(srv, admin["access_token"]).secrets.kv.v2
    assert ac.read_secret_version("dev/db/password")["data"]["data"] == {"password": "dev-secret"}
    with pytest.raises(hx.Forbidden):
        ac.read_secret_version("prod/db/password")
    with pytest.raises(hx.Forbidden):
        ac.create_or_update_secret("prod/db/password", {"password": "overwritten"})
    with pytest.raises(hx.Forbidden):
        ac.delete_metadata_and_all_versions("prod/db/password")
    with pytest.raises(hx.Forbidden):
        ac.read_secret_metadata("prod/db/password")
    # Native API: the same decision.
    res = srv.get("/api/v1/secrets/prod/db/password", headers=bearer(admin))
    assert res.status == 403 and res.json()["error"]["code"] == "path_denied", res
    res = srv.get("/api/v1/secrets/dev/db/password", headers=bearer(admin))
    assert res.status == 200 and res.json()["data"] == {"password": "dev-secret"}, res
    # Nothing changed in prod.
    assert c.secrets.kv.v2.read_secret_version("prod/db/password")["data"]["data"] == {
        "password": "prod-secret"}
    # A policy change applies to the very next request: deny wins at the same pattern.
    put_policy(srv, tokens, codes, "dev-deny", {"dev/*": ["deny"]})
    attach(srv, tokens, codes, "dev-deny", "user", admin["user_id"])
    with pytest.raises(hx.Forbidden):
        ac.read_secret_version("dev/db/password")
    # Refusals are recorded with the path.
    denied = [e for e in ledger(srv) if e["action"] == "secret.read" and e["result"] == "denied"]
    assert any("prod/db/password" in e["resource"] for e in denied), denied


def test_an_admin_bound_to_dev_cannot_widen_its_own_path_access(srv):
    """Path policies bind whoever may change them (policies.update): only an owner changes what
    reaches the caller's own account, API keys or groups, so an admin bound to dev/* cannot grant
    itself prod/*, whatever its role verbs."""
    doc, tokens, codes, c, _ = full_access(srv)
    c.secrets.kv.v2.create_or_update_secret("prod/db/password", {"password": "prod-secret"})
    admin = accept(srv, invite(srv, tokens, "admin@acme.test", "admin"))
    colleague = accept(srv, invite(srv, tokens, "dev2@acme.test", "member"))
    me = admin["user_id"]
    _, admin_codes = enroll(srv, admin)  # ends with a step-up: 5 minutes of policy changes
    admin_key, admin_key_id = api_key(srv, admin, admin_codes)

    call = functools.partial(as_member, srv)
    step_up(srv, tokens, codes)
    for method, path, body in [
            ("PUT", "/api/v1/policies/dev", policy_doc({"dev/*": ["create", "read", "update", "list"]})),
            ("PUT", "/api/v1/policies/no-prod", policy_doc({"prod/*": ["deny"]})),
            ("PUT", "/api/v1/policies/mine", policy_doc({"*": ["read", "list"]})),  # attached to no one
            ("PUT", f"/api/v1/policies/dev/attachments/user/{me}", None),
            ("PUT", f"/api/v1/policies/no-prod/attachments/user/{me}", None),
            ("PUT", "/api/v1/groups/ops", {"members": [me]}),
            ("PUT", "/api/v1/groups/others", {"members": [colleague["user_id"]]}),
            # What reaches it through its key and its group.
            ("PUT", "/api/v1/policies/key-dev", policy_doc({"dev/*": ["read"]})),
            ("PUT", f"/api/v1/policies/key-dev/attachments/api_key/{admin_key_id}", None),
            ("PUT", "/api/v1/policies/ops-dev", policy_doc({"dev/*": ["read"]})),
            ("PUT", "/api/v1/policies/ops-dev/attachments/group/ops", None)]:
        assert call(tokens, method, path, body).status in (200, 201, 204), path

    before = policy_tables(srv)
    for method, path, body in [
            ("PUT", f"/api/v1/policies/mine/attachments/user/{me}", None),       # to itself
            ("PUT", f"/api/v1/policies/mine/attachments/api_key/{admin_key_id}", None),  # its key
            ("PUT", "/api/v1/policies/mine/attachments/group/ops", None),         # its group
            ("PUT", "/api/v1/policies/dev", policy_doc({"*": ["read"]})),  # a policy on it
            ("DELETE", "/api/v1/policies/no-prod", None),                         # its deny
            ("DELETE", f"/api/v1/policies/no-prod/attachments/user/{me}", None),
            ("PUT", "/api/v1/policies/key-dev", policy_doc({"*": ["read"]})),  # on its key
            ("DELETE", f"/api/v1/policies/key-dev/attachments/api_key/{admin_key_id}", None),
            ("PUT", "/api/v1/policies/ops-dev", policy_doc({"*": ["read"]})),  # on its group
            ("DELETE", "/api/v1/policies/ops-dev", None),
            ("DELETE", "/api/v1/policies/ops-dev/attachments/group/ops", None),
            ("PUT", "/api/v1/groups/ops", {"members": []}),                       # leave a group
            ("DELETE", "/api/v1/groups/ops", None),
            ("PUT", "/api/v1/groups/others", {"members": [colleague["user_id"], me]}),  # join
            ("PUT", "/api/v1/groups/new", {"members": [me]})]:
        assert_error_body(call(admin, method, path, body), 403, "owner_required")
    assert policy_tables(srv) == before
    # Its key holds dev/* only (rewriting key-dev to "*" was refused), its session prod/*: deny.
    for headers in (bearer(admin), {"X-API-Key": admin_key}):
        assert_error_body(srv.get("/api/v1/secrets/prod/db/password", headers=headers), 403,
                          "path_denied")
    refused = [e for e in ledger(srv) if e["result"] == "denied" and e["reason"] == "owner_required"]
    assert len(refused) == 15, refused
    # Refused before it ran, a change is recorded bare: what it was given was never checked.
    assert all(e["details"] == {"status": 403} for e in refused), refused
    # What reaches others is still the admin's to manage, and the owner's own is the owner's.
    assert call(admin, "PUT", f"/api/v1/policies/dev/attachments/user/{colleague['user_id']}").status == 204
    assert call(admin, "PUT", "/api/v1/groups/devs", {"members": [colleague["user_id"]]}).status == 201
    # A member removed since: nothing at all (its sessions end with the removal).
    step_up(srv, tokens, codes)
    assert call(tokens, "DELETE", f"/api/v1/members/{me}").status == 204
    assert call(admin, "PUT", "/api/v1/groups/devs2", {"members": []}).status == 401
    owner_id = [m["user_id"] for m in srv.get("/api/v1/members", headers=bearer(tokens)).json()["members"]
                if m["role"] == "owner"][0]
    assert call(tokens, "PUT", f"/api/v1/policies/mine/attachments/user/{owner_id}").status == 204


def test_an_admin_bound_to_dev_cannot_give_prod_to_anyone_not_even_an_account_it_invited(srv):
    """Path policies hand out only what their author holds: a non-owner gives a capability on a
    pattern only where its own policies give it on every path of the pattern. Otherwise an admin
    bound to dev/* could invite a second account and attach '*' to it."""
    doc, tokens, codes, c, _ = full_access(srv)
    c.secrets.kv.v2.create_or_update_secret("prod/db/password", {"password": "prod-secret"})
    c.secrets.kv.v2.create_or_update_secret("dev/db/password", {"password": "dev-secret"})
    admin = accept(srv, invite(srv, tokens, "admin@acme.test", "admin"))
    colleague = accept(srv, invite(srv, tokens, "dev2@acme.test", "member"))
    ops = accept(srv, invite(srv, tokens, "ops@acme.test", "member"))
    _, admin_codes = enroll(srv, admin)  # ends with a step-up
    puppet = accept(srv, invite(srv, admin, "second@acme.test", "member"))  # the admin's own

    call = functools.partial(as_member, srv)
    step_up(srv, tokens, codes)
    for method, path, body in [
            ("PUT", "/api/v1/policies/dev", policy_doc({"dev/*": ["create", "read", "update", "list"]})),
            ("PUT", "/api/v1/policies/no-prod", policy_doc({"prod/*": ["deny"]})),
            ("PUT", f"/api/v1/policies/dev/attachments/user/{admin['user_id']}", None),
            ("PUT", f"/api/v1/policies/no-prod/attachments/user/{admin['user_id']}", None),
            ("PUT", "/api/v1/policies/prod-read", policy_doc({"prod/*": ["read"]})),
            ("PUT", "/api/v1/groups/prod-team", {"members": [ops["user_id"]]}),
            ("PUT", "/api/v1/policies/prod-read/attachments/group/prod-team", None),
            ("PUT", "/api/v1/policies/shared", policy_doc({"dev/*": ["read"]})),
            ("PUT", f"/api/v1/policies/shared/attachments/user/{colleague['user_id']}", None),
            ("PUT", "/api/v1/groups/devs", {"members": [colleague["user_id"]]}),
            ("PUT", "/api/v1/groups/empty", {"members": []})]:
        assert call(tokens, method, path, body).status in (200, 201, 204), path

    before = policy_tables(srv)
    refusals = [
        ("PUT", f"/api/v1/policies/all/attachments/user/{puppet['user_id']}", None),  # '*' to it
        ("PUT", f"/api/v1/policies/prod-read/attachments/user/{puppet['user_id']}", None),
        ("PUT", "/api/v1/policies/all/attachments/group/devs", None),  # through a group
        ("PUT", "/api/v1/policies/prod-read/attachments/group/empty", None),  # staged for later
        ("PUT", "/api/v1/groups/prod-team", {"members": [ops["user_id"], puppet["user_id"]]}),
        ("PUT", "/api/v1/policies/shared", policy_doc({"dev/*": ["read"], "prod/*": ["read"]})),
        ("PUT", "/api/v1/policies/shared", policy_doc({"*": ["read"]})),
        ("PUT", "/api/v1/policies/shared", policy_doc({"dev/*": ["read", "delete"]})),  # not held
        ("PUT", "/api/v1/policies/shared", policy_doc({"dev*": ["read"]})),  # "devops/..." too
        ("PUT", "/api/v1/policies/shared", policy_doc({"+/db/password": ["read"]})),  # prod/db too
    ]
    messages = []
    for method, path, body in refusals:
        messages.append(assert_error_body(call(admin, method, path, body), 403, "grant_not_held")["message"])
    assert policy_tables(srv) == before
    refused = [e for e in ledger(srv) if e["result"] == "denied" and e["reason"] == "grant_not_held"]
    assert len(refused) == len(refusals), refused
    # Each refusal's record says what was tried and what its author lacks: the pattern and the
    # capabilities the response named, and the subject, members or rules of the change.
    for entry, message, (method, path, body) in zip(refused, messages, refusals):
        d = entry["details"]
        assert entry["actor"]["id"] == admin["user_id"] and d["status"] == 403, entry
        assert message.endswith(f": {d['missing']} on {d['pattern']}"), (message, entry)
        if "/attachments/" in path:
            assert d["subject"] == ":".join(path.split("/")[-2:]), entry
        elif path.startswith("/api/v1/groups/"):
            assert d["members"] == " ".join(body["members"]), entry
        else:
            assert d["rules"].split(" ") == [f"{r['path']}={'|'.join(r['capabilities'])}"
                                             for r in body["rules"]], entry
    assert [(e["details"]["pattern"], e["details"]["missing"]) for e in refused[-3:]] == [
        ("dev/*", "delete"), ("dev*", "read"), ("+/db/password", "read")]
    assert (refused[1]["details"]["pattern"], refused[1]["details"]["missing"]) == ("prod/*", "read")
    # Its second account holds nothing at all.
    assert_error_body(srv.get("/api/v1/secrets/dev/db/password", headers=bearer(puppet)), 403,
                      "path_denied")

    # Within what it holds, the admin still manages access: to its second account, to a group,
    # a policy it writes and attaches, a shared one it narrows; a deny is always its to add.
    for method, path, body in [
            ("PUT", f"/api/v1/policies/dev/attachments/user/{puppet['user_id']}", None),
            ("PUT", "/api/v1/groups/devs", {"members": [colleague["user_id"], puppet["user_id"]]}),
            ("PUT", "/api/v1/policies/dev-read", policy_doc({"dev/db/*": ["read"], "prod/*": ["deny"]})),
            ("PUT", "/api/v1/policies/dev-read/attachments/group/devs", None),
            ("PUT", "/api/v1/policies/shared", policy_doc({"dev/*": ["read"], "dev/app/*": ["list"]})),
            ("PUT", "/api/v1/policies/wide", policy_doc({"*": ["read"]}))]:  # attached to no one
        assert call(admin, method, path, body).status in (200, 201, 204), (path, body)
    res = srv.get("/api/v1/secrets/dev/db/password", headers=bearer(puppet))
    assert res.status == 200 and res.json()["data"] == {"password": "dev-secret"}, res
    assert_error_body(srv.get("/api/v1/secrets/prod/db/password", headers=bearer(puppet)), 403,
                      "path_denied")
    # An owner grants what it decides to: the check binds everyone else.
    step_up(srv, tokens, codes)
    assert call(tokens, "PUT", f"/api/v1/policies/prod-read/attachments/user/{puppet['user_id']}").status == 204
    # prod-read gives prod/*: read; dev-read (through devs) says prod/*: deny and deny wins.
    assert_error_body(srv.get("/api/v1/secrets/prod/db/password", headers=bearer(puppet)), 403,
                      "path_denied")
    assert call(tokens, "DELETE", "/api/v1/policies/dev-read").status == 204
    res = srv.get("/api/v1/secrets/prod/db/password", headers=bearer(puppet))
    assert res.status == 200 and res.json()["data"] == {"password": "prod-secret"}, res


def test_a_second_admin_cannot_lift_the_deny_that_holds_the_first(srv):
    """Taking a rule away gives whatever it held back: an admin held by "*: read" and
    "prod/*: deny" invites a second admin, which holds nothing; that one may not rewrite, detach
    or delete the deny, since the first would then read prod/*."""
    doc, tokens, codes, c, _ = full_access(srv)
    c.secrets.kv.v2.create_or_update_secret("prod/db/password", {"password": "prod-secret"})
    first = accept(srv, invite(srv, tokens, "admin@acme.test", "admin"))
    enroll(srv, first)  # ends with a step-up
    second = accept(srv, invite(srv, first, "second@acme.test", "admin"))
    enroll(srv, second)

    call = functools.partial(as_member, srv)
    me = first["user_id"]
    step_up(srv, tokens, codes)
    for method, path, body in [
            ("PUT", "/api/v1/policies/reader", policy_doc({"*": ["read", "list"]})),
            ("PUT", "/api/v1/policies/no-prod", policy_doc({"prod/*": ["deny"]})),
            ("PUT", f"/api/v1/policies/reader/attachments/user/{me}", None),
            ("PUT", f"/api/v1/policies/no-prod/attachments/user/{me}", None),
            ("PUT", "/api/v1/groups/guarded", {"members": [me]}),
            ("PUT", "/api/v1/policies/no-prod/attachments/group/guarded", None)]:
        assert call(tokens, method, path, body).status in (200, 201, 204), path
    assert_error_body(srv.get("/api/v1/secrets/prod/db/password", headers=bearer(first)), 403,
                      "path_denied")

    # A policy attached to no one gives no one anything: the second admin may write it.
    staged = policy_doc({"prod/*": ["create", "read", "update", "delete"]})
    assert call(second, "PUT", "/api/v1/policies/staged", staged).status == 201
    before = policy_tables(srv)
    refusals = [
        # Beside the deny at the same pattern: hidden today, the first admin's the day an owner
        # narrows the deny.
        ("PUT", f"/api/v1/policies/staged/attachments/user/{me}", None),
        ("PUT", "/api/v1/policies/no-prod", policy_doc({"prod/x": ["deny"]})),  # narrowed
        ("PUT", "/api/v1/policies/no-prod", policy_doc({"prod/*": ["list"]})),  # no longer a deny
        ("DELETE", "/api/v1/policies/no-prod", None),
        ("PUT", "/api/v1/policies/reader", policy_doc({"*": ["read", "list"], "prod/+": ["read"]})),
    ]
    messages = []
    for method, path, body in refusals:
        messages.append(assert_error_body(call(second, method, path, body), 403, "grant_not_held")["message"])
    # Detaching it from the first admin directly: the group still holds it there, so nothing is
    # gained and the change stands; then the group is the last hold, and neither leaving it nor
    # deleting it nor detaching from it is allowed.
    assert call(second, "DELETE", f"/api/v1/policies/no-prod/attachments/user/{me}").status == 204
    after_detach = policy_tables(srv)
    assert after_detach["policy_attachments"] != before["policy_attachments"]
    late = [("PUT", "/api/v1/groups/guarded", {"members": []}),
            ("DELETE", "/api/v1/groups/guarded", None),
            ("DELETE", "/api/v1/policies/no-prod/attachments/group/guarded", None)]
    for method, path, body in late:
        messages.append(assert_error_body(call(second, method, path, body), 403, "grant_not_held")["message"])
    assert policy_tables(srv) == after_detach
    refused = [e for e in ledger(srv) if e["result"] == "denied" and e["reason"] == "grant_not_held"]
    assert len(refused) == len(refusals) + len(late), refused
    # Lifting a deny gains what it held back: the records name it where the first admin reads.
    for entry, message in zip(refused, messages):
        d = entry["details"]
        assert message.endswith(f": {d['missing']} on {d['pattern']}"), (message, entry)
    assert [(e["details"]["pattern"], e["details"]["missing"]) for e in refused[3:4]] == [
        ("prod/*", "read,list")], refused  # the deny deleted: "*: read, list" reaches prod/*
    assert refused[0]["details"]["subject"] == f"user:{me}", refused
    assert refused[1]["details"]["rules"] == "prod/x=deny", refused
    assert refused[len(refusals)]["details"]["members"] == "", refused  # leaving the group
    assert set(refused[3]["details"]) == {"status", "pattern", "missing"}, refused  # a DELETE
    # A group change the store refuses (no such member) is recorded bare too: its text unchecked.
    res = call(second, "PUT", "/api/v1/groups/guarded", {"members": [me, "not a member id"]})
    assert res.status == 404, res
    assert ledger(srv)[-1]["details"] == {"status": 404}, ledger(srv)[-1]
    assert_error_body(srv.get("/api/v1/secrets/prod/db/password", headers=bearer(first)), 403,
                      "path_denied")
    # A deny added is never a grant: the second admin may put one back directly.
    assert call(second, "PUT", f"/api/v1/policies/no-prod/attachments/user/{me}").status == 204


def test_lookup_self_health_and_namespaces(srv):
    doc, tokens, codes, c, key = full_access(srv)
    assert c.is_authenticated()
    me = c.lookup_token()["data"]
    assert me["policies"] == ["all"] and me["meta"]["tenant_id"] == doc["tenant_id"]
    assert me["id"] == me["accessor"] and me["id"] and me["id"] != key
    assert key not in json.dumps(me)
    assert not client(srv, "bwk_" + "0" * 16 + "_x").is_authenticated()
    assert not client(srv, "not-a-token").is_authenticated()
    health = c.sys.read_health_status(method="GET")
    assert health["initialized"] is True and health["sealed"] is False
    # X-Vault-Namespace names the tenant by name or id; any other is 403.
    assert client(srv, key, namespace="acme").secrets.kv.v2.create_or_update_secret("ns", {"a": "b"})
    assert client(srv, key, namespace=doc["tenant_id"]).secrets.kv.v2.read_secret_version("ns")
    other, _, _ = owner(srv, "globex")
    with pytest.raises(hx.Forbidden):
        client(srv, key, namespace="globex").secrets.kv.v2.read_secret_version("ns")
    with pytest.raises(hx.Forbidden):
        client(srv, key, namespace=other["tenant_id"]).secrets.kv.v2.read_secret_version("ns")


def test_vault_errors_take_vaults_shape_and_change_nothing(srv):
    _, _, _, c, key = full_access(srv)
    c.secrets.kv.v2.create_or_update_secret("app/x", {"a": "1"})
    h = {"X-Vault-Token": key, "Content-Type": "application/json"}

    def errors(res, status, code):
        assert res.status == status, res
        doc = res.json()
        assert list(doc) == ["errors"] and len(doc["errors"]) == 1, doc
        assert doc["errors"][0].startswith(code + ": "), doc
    before = c.secrets.kv.v2.read_secret_metadata("app/x")["data"]
    errors(srv.request("POST", "/v1/kv/data/app/x", h, '{"data":{"a":"2"}}'), 404, "unknown_mount")
    errors(srv.request("POST", "/v1/secret/data/app/%2e%2e/x", h, '{"data":{"a":"2"}}'), 400,
           "invalid_path")
    errors(srv.request("POST", "/v1/secret/data/app/x", h, '{"data":'), 400, "malformed_json")
    errors(srv.request("POST", "/v1/secret/data/app/x", h, '{"data":"text"}'), 400, "invalid_value")
    errors(srv.request("POST", "/v1/secret/data/app/x", h, '{"data":{},"extra":1}'), 400,
           "invalid_body")
    errors(srv.request("POST", "/v1/secret/data/app/x", h, '{"data":{"a":"2"},"options":{"cas":7}}'),
           400, "cas_mismatch")
    big = json.dumps({"data": {"blob": "x" * (512 * 1024)}})
    res = srv.request("POST", "/v1/secret/data/app/x", h, big)
    assert res.status in (400, 413), res
    errors(srv.request("POST", "/v1/secret/delete/app/x", h, '{"versions":["one"]}'), 400,
           "invalid_versions")
    errors(srv.get("/v1/secret/data/app/x", {"X-Vault-Token": "bogus"}), 403, "invalid_token")
    # LIST reads the keys under metadata/ only. Anywhere else it is 405, as in Vault, and never a
    # read of the value (the body holds the error alone).
    for path in ("/v1/secret/data/app/x", "/v1/secret/data/app/x/", "/v1/auth/token/lookup-self"):
        res = srv.request("LIST", path, h)
        errors(res, 405, "method_not_allowed")
        allow = "GET, HEAD" if path.endswith("lookup-self") else "DELETE, GET, HEAD, PATCH, POST, PUT"
        assert res.header("Allow") == allow, res.header_list
    assert srv.request("LIST", "/v1/secret/metadata/app", h).json()["data"]["keys"] == ["x"]
    errors(srv.get("/v1/secret/data/app/x"), 403, "authentication_required")
    assert c.secrets.kv.v2.read_secret_metadata("app/x")["data"] == before
    assert c.secrets.kv.v2.read_secret_version("app/x")["data"]["data"] == {"a": "1"}


def tamper(srv, sql, params=()):
    with db_for(srv) as db:
        db.execute(sql, params)


def test_a_ciphertext_moved_between_rows_or_tenants_fails_to_open_and_is_alerted(srv):
    _, _, _, c, _ = full_access(srv, "acme")
    _, _, _, g, _ = full_access(srv, "globex")
    kv = c.secrets.kv.v2
    kv.create_or_update_secret("a", {"v": "A"})
    kv.create_or_update_secret("b", {"v": "B"})
    kv.create_or_update_secret("b", {"v": "B2"})
    g.secrets.kv.v2.create_or_update_secret("a", {"v": "GLOBEX"})
    rows = {(t, p, v): (s, k) for t, p, v, s, k in query(
        srv, "SELECT tenant_id, path, version, sealed, data_key_id FROM secret_versions")}
    acme = [t for (t, p, v) in rows if p == "b"][0]
    globex = [t for (t, p, v) in rows if t != acme][0]
    # Another row of the same tenant (same data key): b's ciphertext into a.
    tamper(srv, "UPDATE secret_versions SET sealed = ? WHERE tenant_id = ? AND path = 'a'",
           (rows[(acme, "b", 1)][0], acme))
    r = srv.get("/v1/secret/data/a", headers={"X-Vault-Token": c.token})
    assert r.status == 500 and r.json()["errors"][0].startswith("integrity_error: "), r
    assert b"B" not in r.body
    # Another version of the same path.
    tamper(srv, "UPDATE secret_versions SET sealed = ? WHERE tenant_id = ? AND path = 'b' AND version = 2",
           (rows[(acme, "b", 1)][0], acme))
    r = srv.get("/v1/secret/data/b", headers={"X-Vault-Token": c.token})
    assert r.status == 500, r
    assert srv.get("/v1/secret/data/b?version=1", headers={"X-Vault-Token": c.token}).status == 200
    # Another tenant's ciphertext and key id, moved whole into acme's row.
    tamper(srv, "UPDATE secret_versions SET sealed = ?, data_key_id = ? WHERE tenant_id = ? AND path = 'b' AND version = 1",
           (rows[(globex, "a", 1)][0], rows[(globex, "a", 1)][1], acme))
    r = srv.get("/v1/secret/data/b?version=1", headers={"X-Vault-Token": c.token})
    assert r.status == 500 and b"GLOBEX" not in r.body, r
    # A flipped byte.
    sealed = bytearray(rows[(globex, "a", 1)][0])
    sealed[-1] ^= 1
    tamper(srv, "UPDATE secret_versions SET sealed = ? WHERE tenant_id = ? AND path = 'a'",
           (bytes(sealed), globex))
    r = srv.get("/api/v1/secrets/a", headers={"X-API-Key": g.token})
    assert r.status == 500 and r.json()["error"]["code"] == "integrity_error", r
    entries = ledger(srv)
    failed = [e for e in entries if e["action"] == "secret.read" and e.get("reason") == "integrity_error"]
    alerts = [e for e in entries if e["action"] == "alert.secret_integrity"]
    assert len(failed) == 4 and len(alerts) == 4, (failed, alerts)
    assert {e["resource"] for e in failed} == {"secret:a", "secret:b"}


def test_a_row_tampered_after_it_was_read_is_caught_within_a_second(srv):
    """On SQLite the server keeps a current version's row once read (its changes drop it), and
    still opens and checks it on every read; a row edited behind its back is read again within
    a second, so the tampering then fails to open and is alerted."""
    _, _, _, c, _ = full_access(srv)
    kv = c.secrets.kv.v2
    kv.create_or_update_secret("kept", {"v": "K"})
    kv.create_or_update_secret("other", {"v": "O"})
    assert kv.read_secret_version("kept")["data"]["data"] == {"v": "K"}
    assert kv.read_secret_version("other")["data"]["data"] == {"v": "O"}
    tenant, other = query(srv, "SELECT tenant_id, sealed FROM secret_versions WHERE path = 'other'")[0]
    tamper(srv, "UPDATE secret_versions SET sealed = ? WHERE tenant_id = ? AND path = 'kept'",
           (other, tenant))
    start = time.monotonic()
    while True:
        r = srv.get("/api/v1/secrets/kept", headers={"X-API-Key": c.token})
        if r.status != 200:
            break
        assert r.json()["data"] == {"v": "K"}, r  # the value read before, never another
        assert time.monotonic() - start < 5, "the tampered row was never read again"
        time.sleep(0.05)
    assert r.status == 500 and r.json()["error"]["code"] == "integrity_error", r
    assert time.monotonic() - start < 2.5
    # A change through the server is seen by the very next read (the row was kept just before).
    assert kv.read_secret_version("other")["data"]["data"] == {"v": "O"}
    kv.create_or_update_secret("other", {"v": "O2"})
    assert kv.read_secret_version("other")["data"]["data"] == {"v": "O2"}
    assert [e for e in ledger(srv) if e["action"] == "alert.secret_integrity"]


def test_a_removed_member_comes_back_with_no_keys_and_no_policies(srv):
    doc, tokens, codes, c, _ = full_access(srv)
    c.secrets.kv.v2.create_or_update_secret("prod/db", {"password": "p"})
    bob = accept(srv, invite(srv, tokens, "bob@acme.test", "admin"))
    _, bob_codes = enroll(srv, bob)
    put_policy(srv, tokens, codes, "prod-read", {"prod/*": ["read"]})
    attach(srv, tokens, codes, "prod-read", "user", bob["user_id"])
    bob_key, bob_key_id = api_key(srv, bob, bob_codes, scopes=["secrets.read"])
    attach(srv, tokens, codes, "prod-read", "api_key", bob_key_id)
    assert client(srv, bob_key).secrets.kv.v2.read_secret_version("prod/db")["data"]["data"] == {"password": "p"}
    step_up(srv, tokens, codes)
    res = srv.request("DELETE", f"/api/v1/members/{bob['user_id']}", headers=bearer(tokens))
    assert res.status == 204, res
    with pytest.raises(hx.Forbidden):  # Vault's 403 for a dead token
        client(srv, bob_key).secrets.kv.v2.read_secret_version("prod/db")
    assert query(srv, "SELECT revoked_at IS NOT NULL FROM api_keys WHERE id = ?", (bob_key_id,)) == [(1,)]
    assert query(srv, "SELECT COUNT(*) FROM policy_attachments WHERE subject_id IN (?, ?)",
                 (bob["user_id"], bob_key_id)) == [(0,)]
    # Invited again: the old key stays dead, and nothing of the old access comes back.
    bob2 = accept(srv, invite(srv, tokens, "bob@acme.test", "admin"))
    with pytest.raises(hx.Forbidden):
        client(srv, bob_key).secrets.kv.v2.read_secret_version("prod/db")
    res = srv.get("/api/v1/secrets/prod/db", headers=bearer(bob2))
    assert res.status == 403 and res.json()["error"]["code"] == "path_denied", res


def test_hvac_numbers_kept_exactly_as_sent(srv):
    """Vault keeps a value's number literals as written (Go's json.Number); so does this server:
    an integer wider than 64 bits written through hvac reads back the same integer (issue #22, 7),
    not 1.2345678901234568E22, and 1e400 stays 1e400, not a double's infinity."""
    _, _, _, c, key = full_access(srv)
    kv = c.secrets.kv.v2
    value = {"big": 12345678901234567890123, "neg": -(2 ** 70), "u64": 2 ** 64, "pi": 3.14}
    kv.create_or_update_secret("num/exact", value)
    assert kv.read_secret_version("num/exact")["data"]["data"] == value
    import requests
    res = requests.post(srv.url + "/v1/secret/data/num/huge",
                        headers={"X-Vault-Token": key, "Content-Type": "application/json"},
                        data='{"data": {"huge": 1e400, "exact": 1.10}}', timeout=10)
    assert res.status_code == 200, res.text
    raw = requests.get(srv.url + "/v1/secret/data/num/huge", headers={"X-Vault-Token": key},
                       timeout=10)
    assert '"data":{"huge":1e400,"exact":1.10}' in raw.text, raw.text


def test_destroy_needs_a_stepped_up_session(srv):
    """Destroying versions for good is a high-impact act (issue #22, 7), on both surfaces: an API
    key (which can never verify a second factor) and a session without a verification in the last
    5 minutes get 403 mfa_required and nothing is destroyed; a stepped-up session destroys, on
    the Vault surface with its access token as X-Vault-Token. A key may still soft-delete, which
    undelete reverses. The previous build let both destroy."""
    doc, tokens, codes, c, key = full_access(srv)
    attach(srv, tokens, codes, "all", "user", doc["owner_user_id"])
    kv = c.secrets.kv.v2
    kv.create_or_update_secret("svc/x", {"v": "1"})
    kv.create_or_update_secret("svc/x", {"v": "2"})
    with pytest.raises(hx.Forbidden) as refused:
        kv.destroy_secret_versions("svc/x", versions=[1])
    assert "mfa_required" in str(refused.value)
    native = srv.request("POST", "/api/v1/secret-versions/destroy/svc/x",
                         headers={"X-API-Key": key, "Content-Type": "application/json"},
                         body='{"versions": [1]}')
    assert_error_body(native, 403, "mfa_required")
    member = as_member_with_all(srv, tokens, codes)
    res = srv.request("POST", "/v1/secret/destroy/svc/x",
                      headers={"X-Vault-Token": member["access_token"], "Content-Type": "application/json"},
                      body='{"versions": [1]}')
    assert res.status == 403 and res.json()["errors"][0].startswith("mfa_required:"), res
    assert kv.read_secret_version("svc/x", version=1)["data"]["data"] == {"v": "1"}
    destroyed = query(srv, "SELECT COUNT(*) FROM secret_versions WHERE destroyed_at IS NOT NULL")
    assert destroyed == [(0,)]
    kv.delete_secret_versions("svc/x", versions=[1])  # a soft delete: the key may
    kv.undelete_secret_versions("svc/x", versions=[1])
    # The owner, stepped up, destroys through hvac with the session's access token.
    step_up(srv, tokens, codes)
    client(srv, tokens["access_token"]).secrets.kv.v2.destroy_secret_versions("svc/x", versions=[1])
    with pytest.raises(hx.InvalidPath):
        kv.read_secret_version("svc/x", version=1)
    refusals = [e for e in ledger(srv) if e["action"] == "secret.destroy" and e["result"] == "denied"]
    assert [e["reason"] for e in refusals] == ["mfa_required"] * 3, refusals


def as_member_with_all(srv, tokens, codes):
    """A signed-in member who never verified a second factor, bound to the "all" policy."""
    member = accept(srv, invite(srv, tokens, "mo@acme.test", "member"))
    attach(srv, tokens, codes, "all", "user", member["user_id"])
    return member

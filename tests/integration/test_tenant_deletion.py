"""Deleting a tenant: owner only, after a step-up, confirmed by the tenant's name; every session
and API key of it stops at once, sign-in to it stops, its history stays and its name stays taken."""
import json

from conftest import assert_error_body, run_cli
from identity_helpers import (LOOSE, accept, bearer, create_tenant, enroll, invite, ledger, mail_count, post,
                              sign_in, state)

import pytest


@pytest.fixture
def srv(make_server):
    return make_server(dev=True, settings=LOOSE)


def delete(srv, tokens, confirm):
    return srv.request("DELETE", "/api/v1/tenant", headers={**bearer(tokens), "Content-Type": "application/json"},
                       body=json.dumps({"confirm": confirm}))


def test_owner_deletes_the_tenant_and_every_credential_of_it_stops(srv):
    create_tenant(srv, "acme", "ada@acme.test")
    create_tenant(srv, "other", "eve@other.test")
    owner = sign_in(srv, "ada@acme.test")
    enroll(srv, owner)
    admin = accept(srv, invite(srv, owner, "bo@acme.test", "admin"))
    enroll(srv, admin)
    key = post(srv, "/api/v1/apikeys", {"name": "ci", "scopes": ["apikeys.read"]}, bearer(owner)).json()["key"]
    other = sign_in(srv, "eve@other.test")
    pending = invite(srv, owner, "cy@acme.test", "viewer")

    not_stepped_up = sign_in(srv, "ada@acme.test")
    before = state(srv)
    assert_error_body(delete(srv, admin, "acme"), 403, "owner_required")
    assert_error_body(delete(srv, owner, "ACME"), 400, "confirmation_mismatch")
    assert_error_body(delete(srv, not_stepped_up, "acme"), 403, "mfa_required")
    assert state(srv) == before

    res = delete(srv, owner, "acme")
    assert res.status == 200, res
    doc = res.json()
    assert doc["deleted"] is True and doc["api_keys_revoked"] == 1 and doc["invites_cancelled"] == 1, doc
    # From the next request on, nothing of the tenant works.
    for headers in (bearer(owner), bearer(admin)):
        assert srv.get("/api/v1/me", headers=headers).status == 401
    assert srv.get("/api/v1/whoami", headers={"X-API-Key": key}).status == 401
    assert post(srv, "/api/v1/auth/refresh", {"refresh_token": admin["refresh_token"]}).status == 401
    assert post(srv, "/api/v1/auth/accept-invite", {"token": pending}).status == 401
    # Sign-in: the address is no longer a member of any live tenant, so no link is mailed.
    seen = mail_count(srv, "ada@acme.test")
    assert post(srv, "/api/v1/auth/request", {"email": "ada@acme.test"}).status == 202
    assert mail_count(srv, "ada@acme.test") == seen
    # The other tenant is untouched.
    assert srv.get("/api/v1/me", headers=bearer(other)).status == 200
    # The name stays taken and the deletion is recorded.
    res = run_cli(["tenant", "create", "--dev", *srv.store_args(), "--name", "acme", "--owner", "x@y.test"])
    assert res.returncode == 1 and "tenant_exists" in res.stderr, res
    deletions = [e for e in ledger(srv) if e["action"] == "tenant.delete"]
    assert [e["result"] for e in deletions] == ["denied", "denied", "denied", "success"], deletions

"""SSO sign-in and SCIM provisioning together (issue #25 security review): a member SCIM
deprovisioned (active:false) is not let back in by a sign-in at the identity provider, and a
sign-in whose groups map to no role ends an existing member's access instead of leaving the old
role in place. Against the real binary and the real OpenID Provider (tests/peers/oidc_op.mjs),
reusing test_sso_oidc's environment."""
import pytest

from conftest import assert_error_body
from identity_helpers import bearer, enroll, ledger, post, sign_in
from test_scim import make_token, ok, patch_ops, scim
from test_sso_oidc import DOMAIN, Sso, accounts, counts, dnsmasq, role_of, session_jar, sso, \
    sso_records, whoami  # noqa: F401 (dnsmasq and sso are fixtures)

ADA = f"ada@{DOMAIN}"


def set_active(env, token, uid, value):
    return ok(scim(env.srv, token, "PATCH", f"/Users/{uid}",
                   patch_ops({"op": "replace", "path": "active", "value": value})))


def test_a_scim_deprovisioned_member_is_refused_at_sign_in_until_reactivated(sso):
    assert sso.sign_in("ada")[0].status == 302
    assert role_of(sso, ADA) == "member"
    token = make_token(sso.srv, sso.owner, sso.codes)["token"]
    uid = ok(scim(sso.srv, token, "POST", "/Users", {"userName": ADA}), 201)["id"]
    assert set_active(sso, token, uid, False)["active"] is False
    assert role_of(sso, ADA) is None
    before = counts(sso)
    res = sso.sign_in("ada")[0]
    assert_error_body(res, 403, "deprovisioned")
    assert counts(sso) == before  # no membership, no session
    assert role_of(sso, ADA) is None
    rec = sso_records(sso)[-1]
    assert rec["reason"] == "deprovisioned" and rec["tenant"] == sso.tenant_id, rec
    # Provisioning gives the access back: the next sign-in is let in again.
    assert set_active(sso, token, uid, True)["active"] is True
    res = sso.sign_in("ada")[0]
    assert res.status == 302, res
    assert whoami(sso, session_jar(res)).status == 200
    assert role_of(sso, ADA) == "member"


def test_groups_that_map_to_no_role_remove_an_existing_member_and_its_credentials(sso):
    sso.op.update_account("ada", groups=["eng-admins"])  # an admin may hold API keys
    first = sso.sign_in("ada")[0]
    assert first.status == 302 and role_of(sso, ADA) == "admin"
    jar = session_jar(first)
    # The same member also holds a magic-link session and an API key.
    tokens = sign_in(sso.srv, ADA)
    enroll(sso.srv, tokens)
    res = post(sso.srv, "/api/v1/apikeys", {"name": "ci", "scopes": ["apikeys.read"]}, bearer(tokens))
    assert res.status == 201, res
    key = res.json()["key"]
    for headers in (jar, bearer(tokens), {"X-API-Key": key}):
        assert sso.srv.get("/api/v1/whoami", headers=headers).status == 200
    sso.op.update_account("ada", groups=["unmapped"])
    sessions_before = counts(sso)["sessions"]
    res = sso.sign_in("ada")[0]
    assert_error_body(res, 403, "no_role_mapped")
    assert role_of(sso, ADA) is None  # the old role is not left in place
    assert counts(sso)["sessions"] == sessions_before  # no new session
    for headers in (jar, bearer(tokens), {"X-API-Key": key}):
        assert sso.srv.get("/api/v1/whoami", headers=headers).status == 401, headers.keys()
    rec = sso_records(sso)[-1]
    assert rec["result"] == "denied" and rec["reason"] == "no_role_mapped", rec
    assert rec["details"]["membership_removed"] is True, rec
    assert rec["details"]["signins_ended"] == 2 and rec["details"]["keys_disabled"] == 1, rec
    # Groups that map again give access again.
    sso.op.update_account("ada", groups=["eng"])
    assert sso.sign_in("ada")[0].status == 302
    assert role_of(sso, ADA) == "member"

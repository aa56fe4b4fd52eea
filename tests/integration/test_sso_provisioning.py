"""SSO sign-in and SCIM provisioning together (issue #25 security review): a member SCIM
deprovisioned (active:false) is not let back in by a sign-in at the identity provider, and a
sign-in whose groups map to no role ends an existing member's access instead of leaving the old
role in place. Against the real binary and the real OpenID Provider (tests/peers/oidc_op.mjs),
reusing test_sso_oidc's environment."""
import pytest

from conftest import assert_error_body
from identity_helpers import bearer, ledger
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

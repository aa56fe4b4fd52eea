"""Helpers for the secrets tests: a tenant owner with MFA, path policies, API keys bound to them."""
from identity_helpers import bearer, create_tenant, enroll, post, send_json, sign_in, step_up

ALL_SECRET_VERBS = ["secrets.read", "secrets.write", "secrets.list"]


def owner(srv, tenant="acme", email=None):
    """(tenant doc, tokens, recovery codes) of a fresh tenant's stepped-up owner."""
    email = email or f"owner@{tenant}.test"
    doc = create_tenant(srv, tenant, email)
    tokens = sign_in(srv, email)
    _, codes = enroll(srv, tokens)
    return doc, tokens, codes


def policy_doc(rules):
    """The body of PUT /api/v1/policies/{name}; rules: {pattern: [capabilities]}."""
    return {"rules": [{"path": p, "capabilities": c} for p, c in rules.items()]}


def put_policy(srv, tokens, codes, name, rules):
    """rules: {pattern: [capabilities]}."""
    step_up(srv, tokens, codes)
    res = send_json(srv, "PUT", f"/api/v1/policies/{name}", policy_doc(rules), bearer(tokens))
    assert res.status in (200, 201), res
    return res.json()


def attach(srv, tokens, codes, name, kind, subject):
    step_up(srv, tokens, codes)
    res = srv.request("PUT", f"/api/v1/policies/{name}/attachments/{kind}/{subject}",
                      headers=bearer(tokens), body="")
    assert res.status == 204, res


def api_key(srv, tokens, codes, scopes=None, policy=None):
    """A new API key (scopes: the secret verbs by default), with `policy` attached; (key, id)."""
    step_up(srv, tokens, codes)
    res = post(srv, "/api/v1/apikeys", {"name": "vault", "scopes": scopes or ALL_SECRET_VERBS},
               bearer(tokens))
    assert res.status == 201, res
    key, key_id = res.json()["key"], res.json()["id"]
    if policy:
        attach(srv, tokens, codes, policy, "api_key", key_id)
    return key, key_id


def as_member(srv, who, method, path, body=None):
    """`method` on `path` with `who`'s session: no body when `body` is None, else JSON."""
    if body is None:
        return srv.request(method, path, headers=bearer(who), body="")
    return send_json(srv, method, path, body, bearer(who))

"""Tenant IP allowlists and governed break-glass through the real binary.

Allowlist: shown with the caller's address, replaced by a stepped-up owner or admin, canonical v4
and v6 networks, a self-exclusion only when confirmed, then every credential of that tenant (sessions
and API keys, the caller included) refused from the next request while another tenant is unaffected;
the client address comes from X-Forwarded-For only behind a configured trusted proxy.

Break-glass: two switches (server and tenant, the tenant's owner-only), owner-only designation, a
stepped-up activation with a reason, a TTL and a scope; every refusal changes nothing; an open grant
flags every recorded action of its session (and of no other session), raises an alert, issues start
and end receipts (the reason redacted in the public projection) and ends exactly once.
All traffic comes from 127.0.0.1."""
import json

from conftest import assert_error_body
from identity_helpers import (request_link, LOOSE, accept, bearer, create_tenant, enroll, invite, ledger, post,
                              receipt_kinds, send_json, sign_in, state, step_up)
from pg_helpers import query

import pytest

REASON = "primary database unreachable, paging on-call"
BG_ON = {**LOOSE, "breakglass.enabled": True}


@pytest.fixture
def srv(make_server):
    return make_server(dev=True, settings=BG_ON)


# ------------------------------------------------------------------------------------------------
# Helpers


def owner_session(srv, tenant="acme", email="ada@acme.test"):
    """A tenant with its owner signed in, enrolled and stepped up: (tokens, remaining recovery codes)."""
    create_tenant(srv, tenant, email)
    tokens = sign_in(srv, email)
    _, codes = enroll(srv, tokens)
    return tokens, codes


def member_session(srv, owner, email, role):
    """An invited member of `role`, enrolled and stepped up."""
    tokens = accept(srv, invite(srv, owner, email, role))
    enroll(srv, tokens)
    return tokens


def put_allowlist(srv, tokens, cidrs, confirm=None, headers=None):
    doc = {"cidrs": cidrs}
    if confirm is not None:
        doc["confirm_self_exclusion"] = confirm
    return send_json(srv, "PUT", "/api/v1/settings/ip-allowlist", doc, {**bearer(tokens), **(headers or {})})


def settings(srv, headers):
    return srv.get("/api/v1/settings", headers=headers)


def create_key(srv, tokens, scopes=("settings.read",)):
    res = post(srv, "/api/v1/apikeys", {"name": "ci", "scopes": list(scopes)}, bearer(tokens))
    assert res.status == 201, res
    return res.json()["key"]


def set_tenant_breakglass(srv, tokens, enabled):
    return send_json(srv, "PUT", "/api/v1/settings/breakglass", {"enabled": enabled}, bearer(tokens))


def designate(srv, tokens, user_id, designated=True):
    return send_json(srv, "PUT", f"/api/v1/members/{user_id}/breakglass", {"designated": designated},
                     bearer(tokens))


def activate(srv, tokens, reason=REASON, ttl_s=600, **scope):
    doc = {"reason": reason, "ttl_s": ttl_s}
    if not scope:
        scope = {"verbs": ["audit.read"]}
    doc.update(scope)
    return post(srv, "/api/v1/breakglass", doc, bearer(tokens))


def end(srv, tokens):
    return post(srv, "/api/v1/breakglass/end", headers=bearer(tokens))


def grant_state(srv, tokens):
    res = srv.get("/api/v1/breakglass", headers=bearer(tokens))
    assert res.status == 200, res
    return res.json()


def breakglass_ready(srv, tenant="acme", email="ada@acme.test"):
    """Tenant switch on and the owner designated; returns (tokens, codes), the owner stepped up."""
    tokens, codes = owner_session(srv, tenant, email)
    res = set_tenant_breakglass(srv, tokens, True)
    assert res.status == 200 and res.json() == {"breakglass_enabled": True}, res
    res = designate(srv, tokens, tokens["user_id"])
    assert res.status == 200, res
    assert res.json() == {"user_id": tokens["user_id"], "breakglass_designated": True}
    return tokens, codes


def full_state(srv):
    """The identity tables plus the break-glass grants."""
    out = state(srv)
    out["breakglass_grants"] = sorted(query(srv, "SELECT * FROM breakglass_grants"), key=repr)
    return out


def entries_of(srv, res):
    """The ledger entries recorded for one response (matched by its request id)."""
    rid = res.header("X-Request-ID")
    assert rid, res
    return [e for e in ledger(srv) if e.get("request_id") == rid]


def the_entry(srv, res, action=None):
    found = [e for e in entries_of(srv, res) if action is None or e["action"] == action]
    assert len(found) == 1, (found, res)
    return found[0]


def receipt_payload(srv, tokens, receipt_id):
    res = srv.get(f"/api/v1/receipts/{receipt_id}", headers=bearer(tokens))
    assert res.status == 200, res
    full = res.json()
    return full, json.loads(full["payload"])


# ------------------------------------------------------------------------------------------------
# IP allowlist


def test_settings_show_the_allowlist_and_the_callers_address_to_sessions_and_keys(srv):
    tokens, _ = owner_session(srv)
    res = settings(srv, bearer(tokens))
    assert res.status == 200, res
    assert res.json() == {"ip_allowlist": [], "breakglass_enabled": False, "your_address": "127.0.0.1"}
    key = create_key(srv, tokens)
    res = settings(srv, {"X-API-Key": key})
    assert res.status == 200, res
    assert res.json() == {"ip_allowlist": [], "breakglass_enabled": False, "your_address": "127.0.0.1"}
    # A key without settings.read is refused.
    other = create_key(srv, tokens, scopes=["apikeys.read"])
    assert_error_body(settings(srv, {"X-API-Key": other}), 403, "permission_denied")


def test_allowlist_change_needs_step_up_and_settings_update(srv):
    owner, codes = owner_session(srv)
    member = member_session(srv, owner, "bo@acme.test", "member")
    viewer = member_session(srv, owner, "cy@acme.test", "viewer")
    admin = member_session(srv, owner, "di@acme.test", "admin")
    key = create_key(srv, owner)
    fresh = sign_in(srv, "ada@acme.test")  # the enrolled owner, not stepped up in this session
    before = full_state(srv)
    assert_error_body(put_allowlist(srv, fresh, ["127.0.0.0/8"]), 403, "mfa_required")
    for who in (member, viewer):
        assert_error_body(put_allowlist(srv, who, ["127.0.0.0/8"]), 403, "permission_denied")
        assert_error_body(settings(srv, bearer(who)), 403, "permission_denied")  # no settings.read either
    # Never with an API key, whatever its scopes.
    res = send_json(srv, "PUT", "/api/v1/settings/ip-allowlist", {"cidrs": ["127.0.0.0/8"]}, {"X-API-Key": key})
    assert_error_body(res, 401, "session_required")
    assert full_state(srv) == before
    assert settings(srv, bearer(owner)).json()["ip_allowlist"] == []
    # Stepped up, it works; an admin holds settings.update too.
    step_up(srv, fresh, codes)
    res = put_allowlist(srv, fresh, ["127.0.0.0/8"])
    assert res.status == 200 and res.json() == {"ip_allowlist": ["127.0.0.0/8"]}, res
    res = put_allowlist(srv, admin, ["127.0.0.0/8", "::1"])
    assert res.status == 200 and res.json() == {"ip_allowlist": ["127.0.0.0/8", "::1/128"]}, res
    entry = the_entry(srv, res, "settings.allowlist_change")
    assert entry["result"] == "success" and entry["actor"]["id"] == admin["user_id"], entry
    assert entry["tenant"] == owner["tenant_id"] and entry["details"]["ip_allowlist"] == "127.0.0.0/8,::1/128"


def test_allowlist_is_canonical_and_bad_lists_are_refused_and_change_nothing(srv):
    tokens, _ = owner_session(srv)
    res = put_allowlist(srv, tokens, ["::1", "127.0.0.1", "2001:DB8::/32", "10.0.0.0/8", "192.168.0.0/16"])
    assert res.status == 200, res
    canonical = ["::1/128", "127.0.0.1/32", "2001:db8::/32", "10.0.0.0/8", "192.168.0.0/16"]
    assert res.json() == {"ip_allowlist": canonical}
    assert settings(srv, bearer(tokens)).json()["ip_allowlist"] == canonical
    before = full_state(srv)
    n_entries = len(ledger(srv))
    cases = [
        ({"cidrs": ["10.0.0.1/8"]}, 400, "invalid_cidr"),  # host bits set
        ({"cidrs": ["127.0.0.1", "2001:db8::1/32"]}, 400, "invalid_cidr"),
        ({"cidrs": ["127.0.0.1/33"]}, 400, "invalid_cidr"),
        ({"cidrs": ["not-a-network"]}, 400, "invalid_cidr"),
        ({"cidrs": ["127.0.0.1", ""]}, 400, "invalid_cidr"),
        ({"cidrs": "127.0.0.1"}, 400, "invalid_body"),
        ({"cidrs": [127]}, 400, "invalid_body"),
        ({"cidrs": ["127.0.0.1"], "confirm_self_exclusion": "yes"}, 400, "invalid_body"),
        ({"cidrs": ["127.0.0.1"], "extra": 1}, 400, "invalid_body"),
        ({}, 400, "invalid_body"),
    ]
    for doc, status, code in cases:
        res = send_json(srv, "PUT", "/api/v1/settings/ip-allowlist", doc, bearer(tokens))
        assert_error_body(res, status, code)
        entry = the_entry(srv, res, "settings.allowlist_change")
        assert entry["result"] == "denied" and entry["reason"] == code, entry
    assert len(ledger(srv)) == n_entries + len(cases)
    assert full_state(srv) == before
    assert settings(srv, bearer(tokens)).json()["ip_allowlist"] == canonical
    # Exactly 64 networks is accepted; an empty list means any address.
    sixty_four = ["127.0.0.0/8"] + [f"10.{i}.0.0/16" for i in range(63)]
    res = put_allowlist(srv, tokens, sixty_four)
    assert res.status == 200 and res.json()["ip_allowlist"] == sixty_four, res
    res = put_allowlist(srv, tokens, [])
    assert res.status == 200 and res.json() == {"ip_allowlist": []}, res
    assert srv.get("/api/v1/whoami", headers=bearer(tokens)).status == 200


def test_more_than_64_networks_is_too_many_networks(srv):
    tokens, _ = owner_session(srv)
    before = full_state(srv)
    res = put_allowlist(srv, tokens, ["127.0.0.1"] + [f"10.{i}.0.0/16" for i in range(64)])
    assert_error_body(res, 400, "too_many_networks")
    assert the_entry(srv, res, "settings.allowlist_change")["reason"] == "too_many_networks"
    assert full_state(srv) == before


def test_a_refresh_token_is_refused_from_outside_the_allowlist(srv):
    owner, _ = owner_session(srv)
    assert put_allowlist(srv, owner, ["10.0.0.0/8"], confirm=True).status == 200
    before = full_state(srv)
    res = post(srv, "/api/v1/auth/refresh", {"refresh_token": owner["refresh_token"]})
    assert_error_body(res, 403, "ip_not_allowed")
    assert full_state(srv) == before  # not rotated


def test_excluding_yourself_needs_confirmation_then_every_credential_of_the_tenant_is_refused(srv):
    owner, _ = owner_session(srv)
    admin = member_session(srv, owner, "di@acme.test", "admin")
    key = create_key(srv, owner)
    other, _ = owner_session(srv, "globex", "eve@globex.test")
    other_key = create_key(srv, other)
    # An allowlist that holds the caller works for everyone.
    for cidrs in (["127.0.0.0/8"], ["::1", "127.0.0.1"]):
        assert put_allowlist(srv, owner, cidrs).status == 200
        assert settings(srv, bearer(owner)).status == 200
        assert settings(srv, {"X-API-Key": key}).status == 200
        assert srv.get("/api/v1/whoami", headers=bearer(admin)).status == 200
    # Shutting yourself out by accident: 409, nothing saved.
    before = full_state(srv)
    for confirm in (None, False):
        res = put_allowlist(srv, owner, ["10.0.0.0/8"], confirm=confirm)
        err = assert_error_body(res, 409, "allowlist_excludes_caller")
        assert "127.0.0.1" in err["message"]
        assert the_entry(srv, res, "settings.allowlist_change")["result"] == "denied"
    assert full_state(srv) == before
    assert settings(srv, bearer(owner)).json()["ip_allowlist"] == ["::1/128", "127.0.0.1/32"]
    # Confirmed: saved, and from the next request every credential of the tenant is refused here.
    res = put_allowlist(srv, owner, ["10.0.0.0/8"], confirm=True)
    assert res.status == 200 and res.json() == {"ip_allowlist": ["10.0.0.0/8"]}, res
    entry = the_entry(srv, res, "settings.allowlist_change")
    assert entry["result"] == "success" and entry["details"]["ip_allowlist"] == "10.0.0.0/8", entry
    refused = [
        settings(srv, bearer(owner)),
        srv.get("/api/v1/whoami", headers=bearer(owner)),
        srv.get("/api/v1/me", headers=bearer(owner)),
        srv.get("/api/v1/whoami", headers=bearer(admin)),
        srv.get("/api/v1/members", headers=bearer(admin)),
        settings(srv, {"X-API-Key": key}),
        srv.get("/api/v1/whoami", headers={"X-API-Key": key}),
        put_allowlist(srv, owner, []),  # the caller cannot undo it from here
        put_allowlist(srv, admin, ["127.0.0.0/8"]),
    ]
    for res in refused:
        assert_error_body(res, 403, "ip_not_allowed")
        entry = the_entry(srv, res)
        assert entry["result"] == "denied" and entry["reason"] == "ip_not_allowed", entry
        assert entry["client"] == "127.0.0.1" and entry["tenant"] == owner["tenant_id"], entry
    # A new sign-in from outside the list gets no session at all, and the refused attempt does
    # not spend the link; nor does a refresh token rotate from here.
    link = request_link(srv, "ada@acme.test")
    before = state(srv)
    assert_error_body(post(srv, "/api/v1/auth/verify", {"token": link}), 403, "ip_not_allowed")
    assert_error_body(post(srv, "/api/v1/auth/refresh", {"refresh_token": owner["refresh_token"]}), 403,
                      "ip_not_allowed")
    assert state(srv) == before
    # The other tenant is unaffected.
    res = settings(srv, bearer(other))
    assert res.status == 200 and res.json()["ip_allowlist"] == [], res
    assert srv.get("/api/v1/whoami", headers={"X-API-Key": other_key}).status == 200
    # Nothing was saved by the refused writes.
    rows = dict(query(srv, "SELECT id, ip_allowlist FROM tenants"))
    assert rows == {owner["tenant_id"]: "10.0.0.0/8", other["tenant_id"]: ""}


def test_behind_a_trusted_proxy_the_forwarded_address_is_checked(make_server):
    srv = make_server(dev=True, settings={**LOOSE, "server.trusted_proxies": ["127.0.0.1"]})
    owner, _ = owner_session(srv)
    key = create_key(srv, owner)
    inside = {"X-Forwarded-For": "10.1.2.3"}
    res = settings(srv, bearer(owner, inside))
    assert res.status == 200 and res.json()["your_address"] == "10.1.2.3", res
    # The caller is 10.1.2.3: a list holding it needs no confirmation.
    res = put_allowlist(srv, owner, ["10.0.0.0/8"], headers=inside)
    assert res.status == 200 and res.json() == {"ip_allowlist": ["10.0.0.0/8"]}, res
    assert the_entry(srv, res, "settings.allowlist_change")["client"] == "10.1.2.3"
    assert settings(srv, bearer(owner, inside)).status == 200
    assert settings(srv, {"X-API-Key": key, **inside}).status == 200
    # The proxy appends the real peer after whatever the client sent: the rightmost untrusted hop counts.
    assert settings(srv, bearer(owner, {"X-Forwarded-For": "192.0.2.7, 10.1.2.3"})).status == 200
    for xff in ("192.0.2.7", "10.1.2.3, 192.0.2.7", None):
        h = {} if xff is None else {"X-Forwarded-For": xff}
        for creds in (bearer(owner, h), {"X-API-Key": key, **h}):
            res = settings(srv, creds)
            assert_error_body(res, 403, "ip_not_allowed")
            expected_client = "127.0.0.1" if xff is None else "192.0.2.7"
            assert the_entry(srv, res)["client"] == expected_client
    # Excluding the forwarded caller needs the confirmation, as for a direct one.
    res = put_allowlist(srv, owner, ["10.0.0.0/8", "172.16.0.0/12"], headers=inside)
    assert res.status == 200, res
    before = full_state(srv)
    res = put_allowlist(srv, owner, ["172.16.0.0/12"], headers=inside)
    assert_error_body(res, 409, "allowlist_excludes_caller")
    assert "10.1.2.3" in res.json()["error"]["message"]
    assert full_state(srv) == before


def test_without_trusted_proxies_a_forged_forwarded_for_does_not_get_in(srv):
    owner, _ = owner_session(srv)
    key = create_key(srv, owner)
    forged = {"X-Forwarded-For": "10.1.2.3"}
    res = settings(srv, bearer(owner, forged))
    assert res.status == 200 and res.json()["your_address"] == "127.0.0.1", res
    # The header does not make the caller 10.1.2.3: excluding 127.0.0.1 still needs the confirmation.
    assert_error_body(put_allowlist(srv, owner, ["10.0.0.0/8"], headers=forged), 409, "allowlist_excludes_caller")
    assert put_allowlist(srv, owner, ["10.0.0.0/8"], confirm=True).status == 200
    for xff in ("10.1.2.3", "10.1.2.3, 10.9.9.9", "127.0.0.1, 10.1.2.3"):
        for creds in (bearer(owner, {"X-Forwarded-For": xff}), {"X-API-Key": key, "X-Forwarded-For": xff}):
            res = settings(srv, creds)
            assert_error_body(res, 403, "ip_not_allowed")
            assert the_entry(srv, res)["client"] == "127.0.0.1"


# ------------------------------------------------------------------------------------------------
# Break-glass: switches and designation


def test_tenant_switch_and_designation_are_owner_only_and_need_step_up(srv):
    owner, codes = owner_session(srv)
    admin = member_session(srv, owner, "di@acme.test", "admin")
    member = member_session(srv, owner, "bo@acme.test", "member")
    other, _ = owner_session(srv, "globex", "eve@globex.test")
    fresh = sign_in(srv, "ada@acme.test")  # not stepped up
    before = full_state(srv)
    refusals = [
        (set_tenant_breakglass(srv, admin, True), 403, "owner_required"),
        (designate(srv, admin, admin["user_id"]), 403, "owner_required"),
        (set_tenant_breakglass(srv, member, True), 403, "permission_denied"),
        (designate(srv, member, member["user_id"]), 403, "permission_denied"),
        (set_tenant_breakglass(srv, fresh, True), 403, "mfa_required"),
        (designate(srv, fresh, admin["user_id"]), 403, "mfa_required"),
        (designate(srv, owner, "usr_" + "0" * 24), 404, "member_not_found"),
        (designate(srv, owner, other["user_id"]), 404, "member_not_found"),  # another tenant's owner
        (send_json(srv, "PUT", "/api/v1/settings/breakglass", {"enabled": "yes"}, bearer(owner)), 400,
         "invalid_body"),
        (send_json(srv, "PUT", f"/api/v1/members/{admin['user_id']}/breakglass", {"designated": 1},
                   bearer(owner)), 400, "invalid_body"),
    ]
    for res, status, code in refusals:
        assert_error_body(res, status, code)
        assert the_entry(srv, res)["result"] == "denied"
    assert full_state(srv) == before
    assert settings(srv, bearer(owner)).json()["breakglass_enabled"] is False
    # The owner, stepped up.
    step_up(srv, fresh, codes)
    res = set_tenant_breakglass(srv, fresh, True)
    assert res.status == 200 and res.json() == {"breakglass_enabled": True}, res
    entry = the_entry(srv, res, "settings.breakglass_change")
    assert entry["result"] == "success" and entry["details"]["enabled"] is True, entry
    assert settings(srv, bearer(admin)).json()["breakglass_enabled"] is True
    assert settings(srv, bearer(other)).json()["breakglass_enabled"] is False  # per tenant
    res = designate(srv, owner, admin["user_id"])
    assert res.status == 200 and res.json() == {"user_id": admin["user_id"], "breakglass_designated": True}, res
    entry = the_entry(srv, res, "member.breakglass_designation")
    assert entry["result"] == "success" and entry["resource"] == f"member:{admin['user_id']}", entry
    # The designated admin (who holds breakglass.activate) can now activate.
    res = activate(srv, admin)
    assert res.status == 201, res
    assert grant_state(srv, admin)["active"] is True
    assert end(srv, admin).status == 200


# ------------------------------------------------------------------------------------------------
# Break-glass: refused activations


def test_activation_is_refused_while_the_server_switch_is_off(make_server):
    srv = make_server(dev=True, settings=LOOSE)
    tokens, _ = breakglass_ready(srv)  # the tenant's half is on and the owner designated
    assert settings(srv, bearer(tokens)).json()["breakglass_enabled"] is True
    before = full_state(srv)
    res = activate(srv, tokens)
    assert_error_body(res, 403, "breakglass_disabled")
    assert the_entry(srv, res, "breakglass.start")["result"] == "denied"
    assert full_state(srv) == before
    assert grant_state(srv, tokens) == {"active": False}
    assert not [e for e in ledger(srv) if e["action"] == "alert.breakglass_activated"]


def test_refused_activations_change_nothing(srv):
    owner, codes = owner_session(srv)
    member = member_session(srv, owner, "bo@acme.test", "member")
    viewer = member_session(srv, owner, "cy@acme.test", "viewer")
    fresh = sign_in(srv, "ada@acme.test")  # not stepped up

    def refused(res, status, code):
        assert_error_body(res, status, code)
        entry = the_entry(srv, res, "breakglass.start")
        assert entry["result"] == "denied" and entry["reason"] == code, entry

    # Tenant switch off (server on), owner designated.
    assert designate(srv, owner, owner["user_id"]).status == 200
    before = full_state(srv)
    refused(activate(srv, owner), 403, "breakglass_disabled")
    assert full_state(srv) == before
    # Tenant on, a member designated: the member lacks breakglass.activate.
    assert set_tenant_breakglass(srv, owner, True).status == 200
    assert designate(srv, owner, member["user_id"]).status == 200
    # Not designated: the owner's designation withdrawn.
    assert designate(srv, owner, owner["user_id"], False).status == 200
    before = full_state(srv)
    refused(activate(srv, member), 403, "permission_denied")
    refused(activate(srv, viewer), 403, "permission_denied")
    refused(activate(srv, owner), 403, "breakglass_not_designated")
    assert full_state(srv) == before
    assert designate(srv, owner, owner["user_id"]).status == 200
    before = full_state(srv)
    cases = [
        (dict(tokens=fresh), 403, "mfa_required"),
        (dict(reason="x" * 19), 400, "reason_too_short"),
        (dict(reason=""), 400, "reason_too_short"),
        (dict(ttl_s=59), 400, "invalid_ttl"),
        (dict(ttl_s=3601), 400, "invalid_ttl"),
        (dict(ttl_s=0), 400, "invalid_ttl"),
        (dict(ttl_s=-60), 400, "invalid_ttl"),
        (dict(verbs=[]), 400, "invalid_scope"),
        (dict(path_prefix=""), 400, "invalid_scope"),
        (dict(verbs=[], path_prefix=""), 400, "invalid_scope"),
        (dict(verbs=["audit.read", "root.everything"]), 400, "invalid_scope"),
        (dict(verbs=["breakglass.activate"]), 400, "invalid_scope"),
        (dict(verbs=["settings.update"]), 400, "invalid_scope"),
        (dict(verbs=["audit.read", "settings.update"]), 400, "invalid_scope"),
        (dict(path_prefix="prod/../admin"), 400, "invalid_scope"),
        (dict(path_prefix="/prod/db"), 400, "invalid_scope"),
        (dict(verbs=["audit.read"], path_prefix=".."), 400, "invalid_scope"),
    ]
    for kw, status, code in cases:
        kw = dict(kw)
        who = kw.pop("tokens", owner)
        scope = {k: kw.pop(k) for k in ("verbs", "path_prefix") if k in kw}
        if not scope:
            scope = {"verbs": ["audit.read"]}
        refused(activate(srv, who, **kw, **scope), status, code)
    # No scope at all (neither verbs nor path_prefix in the body).
    refused(post(srv, "/api/v1/breakglass", {"reason": REASON, "ttl_s": 600}, bearer(owner)), 400, "invalid_scope")
    # Wrong types and missing fields.
    for doc in ({"reason": REASON, "ttl_s": "600", "verbs": ["audit.read"]},
                {"reason": REASON, "ttl_s": 600, "verbs": "audit.read"},
                {"reason": REASON, "ttl_s": 600.5, "verbs": ["audit.read"]},
                {"ttl_s": 600, "verbs": ["audit.read"]},
                {"reason": REASON, "verbs": ["audit.read"]},
                {"reason": REASON, "ttl_s": 600, "verbs": ["audit.read"], "extra": True}):
        refused(post(srv, "/api/v1/breakglass", doc, bearer(owner)), 400, "invalid_body")
    assert full_state(srv) == before
    assert grant_state(srv, owner) == {"active": False}
    assert not [e for e in ledger(srv) if e["action"] == "alert.breakglass_activated"]
    # The limits themselves are accepted.
    res = activate(srv, owner, reason="y" * 20, ttl_s=3600)
    assert res.status == 201, res
    assert res.json()["expires_at"] - res.json()["started_at"] == 3600
    # A second activation in the same session: 409, nothing changes.
    before = full_state(srv)
    refused(activate(srv, owner, ttl_s=60, verbs=["secrets.read"]), 409, "breakglass_active")
    assert full_state(srv) == before
    assert grant_state(srv, owner)["verbs"] == ["audit.read"]


def test_the_reason_is_counted_in_characters_not_bytes(srv):
    tokens, _ = breakglass_ready(srv)
    before = full_state(srv)
    # 10 characters, 20 bytes of UTF-8: shorter than the 20 characters required.
    res = activate(srv, tokens, reason="é" * 10)
    assert_error_body(res, 400, "reason_too_short")
    assert full_state(srv) == before
    res = activate(srv, tokens, reason="é" * 20)
    assert res.status == 201, res


# ------------------------------------------------------------------------------------------------
# Break-glass: an open grant


def test_an_open_grant_flags_its_session_alerts_issues_receipts_and_ends_once(srv):
    tokens, codes = breakglass_ready(srv)
    bystander = sign_in(srv, "ada@acme.test")  # the same owner, another session
    step_up(srv, bystander, codes)
    res = activate(srv, tokens, ttl_s=900, verbs=["secrets.read", "audit.read", "secrets.read"],
                   path_prefix="prod/db")
    assert res.status == 201, res
    grant = res.json()
    assert set(grant) == {"grant_id", "verbs", "path_prefix", "started_at", "expires_at", "receipt_id"}, grant
    assert grant["grant_id"].startswith("bg_") and grant["receipt_id"].startswith("rcpt_"), grant
    assert grant["verbs"] == ["audit.read", "secrets.read"] and grant["path_prefix"] == "prod/db", grant
    assert grant["expires_at"] - grant["started_at"] == 900, grant

    # Recorded as breakglass.start (flagged), with the alert beside it.
    start = the_entry(srv, res, "breakglass.start")
    assert start["result"] == "success" and start["break_glass"] is True, start
    assert start["resource"] == f"breakglass:{grant['grant_id']}", start
    assert start["details"]["receipt_id"] == grant["receipt_id"], start
    assert start["actor"]["id"] == tokens["user_id"] and start["tenant"] == tokens["tenant_id"], start
    alert = the_entry(srv, res, "alert.breakglass_activated")
    assert alert["tenant"] == tokens["tenant_id"] and alert["resource"] == start["resource"], alert
    assert REASON not in json.dumps(ledger(srv))  # the reason lives in the receipt, not the ledger

    # Shown to its own session only.
    shown = grant_state(srv, tokens)
    assert shown == {"active": True, **{k: grant[k] for k in grant if k != "receipt_id"}}, shown
    assert grant_state(srv, bystander) == {"active": False}

    # Every recorded action of that session is flagged; the other session's are not.
    flagged = [
        srv.get(f"/api/v1/receipts/{grant['receipt_id']}", headers=bearer(tokens)),  # receipt.read
        put_allowlist(srv, tokens, ["127.0.0.0/8"]),  # settings.allowlist_change
        put_allowlist(srv, tokens, ["10.0.0.1/8"]),  # a refused one
        designate(srv, tokens, "usr_" + "0" * 24),  # a refused one (404)
    ]
    plain = [
        srv.get(f"/api/v1/receipts/{grant['receipt_id']}", headers=bearer(bystander)),
        put_allowlist(srv, bystander, []),
        put_allowlist(srv, bystander, ["10.0.0.1/8"]),
    ]
    for res in flagged:
        entry = the_entry(srv, res)
        assert entry["break_glass"] is True, entry
    for res in plain:
        entry = the_entry(srv, res)
        assert entry["break_glass"] is False, entry

    # A refreshed access token of the same session is still flagged.
    res = post(srv, "/api/v1/auth/refresh", {"refresh_token": tokens["refresh_token"]})
    assert res.status == 200, res
    tokens = res.json()
    assert grant_state(srv, tokens)["active"] is True
    res = srv.get(f"/api/v1/receipts/{grant['receipt_id']}", headers=bearer(tokens))
    assert the_entry(srv, res)["break_glass"] is True

    # The start receipt: full for the tenant's owner, reason redacted in the public projection.
    full, payload = receipt_payload(srv, bystander, grant["receipt_id"])
    assert payload["kind"] == "breakglass.start" and payload["tenant"] == tokens["tenant_id"], payload
    fields = payload["fields"]
    assert fields["grant_id"] == grant["grant_id"] and fields["scope_verbs"] == grant["verbs"], fields
    assert fields["scope_path_prefix"] == "prod/db" and fields["expires_at"] == grant["expires_at"], fields
    assert full["disclosures"]["reason"]["value"] == REASON, full
    res = srv.get(f"/public/receipts/{grant['receipt_id']}")
    assert res.status == 200, res
    text = res.body.decode()
    assert REASON not in text and "disclosures" not in text, text
    assert set(json.loads(json.loads(text)["payload"])["fields"]["reason"]) == {"_sd"}
    assert tokens["user_id"] not in text

    # Ending it: the end receipt, and later actions of the session are no longer flagged.
    res = end(srv, tokens)
    assert res.status == 200, res
    ended = res.json()
    assert ended["grant_id"] == grant["grant_id"] and ended["receipt_id"].startswith("rcpt_"), ended
    assert ended["receipt_id"] != grant["receipt_id"]
    assert grant["started_at"] <= ended["ended_at"] <= grant["expires_at"], ended
    stop = the_entry(srv, res, "breakglass.end")
    assert stop["result"] == "success" and stop["break_glass"] is True, stop
    assert stop["resource"] == f"breakglass:{grant['grant_id']}", stop
    assert stop["details"]["receipt_id"] == ended["receipt_id"], stop
    assert grant_state(srv, tokens) == {"active": False}
    _, payload = receipt_payload(srv, tokens, ended["receipt_id"])
    assert payload["kind"] == "breakglass.end", payload
    assert payload["fields"]["grant_id"] == grant["grant_id"] and payload["fields"]["end_reason"] == "ended", payload
    assert payload["fields"]["ended_at"] == ended["ended_at"], payload
    assert REASON not in srv.get(f"/public/receipts/{ended['receipt_id']}").body.decode()
    res = srv.get(f"/api/v1/receipts/{grant['receipt_id']}", headers=bearer(tokens))
    assert res.status == 200 and the_entry(srv, res)["break_glass"] is False
    res = put_allowlist(srv, tokens, [])
    assert res.status == 200 and the_entry(srv, res)["break_glass"] is False

    # It ends exactly once.
    before = full_state(srv)
    res = end(srv, tokens)
    assert_error_body(res, 404, "breakglass_not_active")
    assert the_entry(srv, res, "breakglass.end")["result"] == "denied"
    assert_error_body(end(srv, bystander), 404, "breakglass_not_active")
    assert full_state(srv) == before
    assert grant_state(srv, tokens) == {"active": False}
    entries = ledger(srv)
    assert len([e for e in entries if e["action"] == "breakglass.start" and e["result"] == "success"]) == 1
    assert len([e for e in entries if e["action"] == "breakglass.end" and e["result"] == "success"]) == 1
    assert len([e for e in entries if e["action"] == "alert.breakglass_activated"]) == 1
    kinds = sorted(receipt_kinds(srv))
    assert kinds == ["breakglass.end", "breakglass.start"], kinds


def test_a_grant_in_one_tenant_does_not_touch_another(srv):
    a, _ = breakglass_ready(srv)
    b, _ = breakglass_ready(srv, "globex", "eve@globex.test")
    res = activate(srv, a)
    assert res.status == 201, res
    receipt_id = res.json()["receipt_id"]
    assert grant_state(srv, b) == {"active": False}
    assert_error_body(end(srv, b), 404, "breakglass_not_active")
    # B cannot read A's receipt through the member route.
    assert_error_body(srv.get(f"/api/v1/receipts/{receipt_id}", headers=bearer(b)), 404, "receipt_not_found")
    res = put_allowlist(srv, b, ["127.0.0.0/8"])
    assert res.status == 200 and the_entry(srv, res)["break_glass"] is False
    assert grant_state(srv, a)["active"] is True


def grant_end_and_receipt_kinds(srv, grant_id):
    """(ended_at, end_reason) of a grant and the kinds of every receipt issued so far."""
    ((ended_at, reason),) = query(srv, "SELECT ended_at, end_reason FROM breakglass_grants WHERE id = ?",
                                  (grant_id,))
    return ended_at, reason, receipt_kinds(srv)


def test_logout_ends_an_open_grant_with_its_end_receipt(srv):
    tokens, _ = breakglass_ready(srv)
    res = activate(srv, tokens)
    assert res.status == 201, res
    grant_id = res.json()["grant_id"]
    res = post(srv, "/api/v1/auth/logout", headers=bearer(tokens))
    assert res.status == 204, res
    entry = the_entry(srv, res, "auth.logout")
    details = entry.get("details", {})
    assert details.get("breakglass_ended") == grant_id, entry
    ended_at, reason, kinds = grant_end_and_receipt_kinds(srv, grant_id)
    assert ended_at is not None and reason == "ended"
    assert kinds.count("breakglass.start") == 1 and kinds.count("breakglass.end") == 1, kinds


def test_switching_break_glass_off_ends_open_grants_with_their_receipts(srv):
    tokens, _ = breakglass_ready(srv)
    res = activate(srv, tokens)
    assert res.status == 201, res
    grant_id = res.json()["grant_id"]
    res = set_tenant_breakglass(srv, tokens, False)
    assert res.status == 200, res
    assert grant_state(srv, tokens) == {"active": False}
    ended_at, reason, kinds = grant_end_and_receipt_kinds(srv, grant_id)
    assert ended_at is not None and reason == "switched_off"
    assert kinds.count("breakglass.end") == 1, kinds
    # Later actions of the session are no longer flagged.
    res = srv.get("/api/v1/me", headers=bearer(tokens))
    assert res.status == 200

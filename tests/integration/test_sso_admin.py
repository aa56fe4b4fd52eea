"""SSO administration through the real binary: OIDC connections (owner-only, MFA step-up; the client
secret sealed and never returned, in no receipt, ledger entry or log; each change an idp.config_change
receipt that verifies offline), bad input refused with a stable code and nothing changed, domain
verification by a DNS TXT record served by a real dnsmasq on loopback, and require-SSO refusing
magic-link sign-in (and invitation acceptance) except to the designated break-glass owner, whose use is
recorded and alerted.
All traffic comes from 127.0.0.1."""
import contextlib
import json
import socket
import subprocess
import time

import pytest

from conftest import assert_error_body, run_cli
from identity_helpers import (LOOSE, accept, bearer, create_tenant, enroll, invite, ledger, post,
                              request_link, send_json, sign_in, verify)
from pg_helpers import db_for, query
from oidc_helpers import free_dns_port

SECRET = "cs-0123456789-abcdefghij-SECRET"
SSO_TABLES = ["sso_connections", "sso_domains", "sso_identities", "receipts"]


@pytest.fixture
def dns_port():
    return free_dns_port()


@pytest.fixture
def srv(make_server, dns_port):
    return make_server(dev=True, settings={**LOOSE, "sso.dns_resolver": f"127.0.0.1:{dns_port}"})


@contextlib.contextmanager
def dnsmasq(port, records):
    """A real DNS server on 127.0.0.1:port answering `records` ({name: [txt, ...]}) and NXDOMAIN for
    any other name under .test (no upstream)."""
    args = ["/usr/sbin/dnsmasq", "--no-daemon", f"--port={port}", "--listen-address=127.0.0.1",
            "--bind-interfaces", "--no-resolv", "--no-hosts", "--local=/test/", "--user=root"]
    for name, texts in records.items():
        for text in texts:
            args.append(f"--txt-record={name},{text}")
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 5
        while True:  # ready once it answers on the port
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(0.2)
                # A minimal DNS query for "test" type SOA.
                s.sendto(bytes.fromhex("abcd01000001000000000000") + b"\x04test\x00\x00\x06\x00\x01",
                         ("127.0.0.1", port))
                try:
                    s.recvfrom(512)
                    break
                except OSError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise AssertionError("dnsmasq did not start: " + proc.stderr.read().decode())
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def owner(srv, tenant="acme", email="ada@acme.test"):
    """A tenant with its owner signed in, enrolled and stepped up: (tokens, recovery codes, tenant)."""
    t = create_tenant(srv, tenant, email)
    tokens = sign_in(srv, email)
    _, codes = enroll(srv, tokens)
    return tokens, codes, t


def generic(**over):
    doc = {"preset": "generic", "issuer": "https://idp.example.test", "client_id": "bulwark-app",
           "client_secret": SECRET, "allowed_domains": ["example.test"],
           "role_mapping": {"groups": {"eng": "member", "ops": "admin"}, "default_role": None}}
    doc.update(over)
    return doc


def sso_state(srv):
    with db_for(srv, readonly=True) as db:
        return {t: sorted(db.query(f"SELECT * FROM {t}"), key=repr) for t in SSO_TABLES}


def pubkey(srv, tmp_path):
    res = run_cli(["receipt", "pubkey", *srv.store_args()])
    assert res.returncode == 0, res
    path = tmp_path / "receipt-pub.pem"
    path.write_text(res.stdout)
    return path


def test_connection_lifecycle_secret_never_shown_and_receipts_verify_offline(srv, tmp_path):
    tokens, _, _ = owner(srv)
    h = bearer(tokens)
    res = post(srv, "/api/v1/sso/connections", generic(), h)
    assert res.status == 201, res
    created = res.json()
    cid = created["id"]
    assert cid.startswith("idp_") and created["preset"] == "generic", created
    assert created["scopes"] == ["openid", "email", "profile"] and created["max_session_s"] == 28800
    assert "client_secret" not in created and created["receipt_id"].startswith("rcpt_")
    receipts = [created["receipt_id"]]

    listed = srv.get("/api/v1/sso/connections", headers=h)
    assert listed.status == 200 and [c["id"] for c in listed.json()["connections"]] == [cid], listed
    one = srv.get(f"/api/v1/sso/connections/{cid}", headers=h)
    assert one.status == 200 and one.json()["client_id"] == "bulwark-app", one

    upd = generic(enabled=False, backchannel_logout=True, max_session_s=3600)
    del upd["client_secret"]
    res = send_json(srv, "PUT", f"/api/v1/sso/connections/{cid}", upd, h)
    assert res.status == 200 and res.json()["enabled"] is False, res
    assert res.json()["max_session_s"] == 3600
    receipts.append(res.json()["receipt_id"])
    res = send_json(srv, "PUT", f"/api/v1/sso/connections/{cid}", generic(client_secret="rotated-" + SECRET), h)
    assert res.status == 200, res
    receipts.append(res.json()["receipt_id"])
    res = srv.request("DELETE", f"/api/v1/sso/connections/{cid}", headers=h)
    assert res.status == 200 and res.json()["deleted"] is True, res
    receipts.append(res.json()["receipt_id"])
    assert srv.get(f"/api/v1/sso/connections/{cid}", headers=h).status == 404

    # Each change's receipt: kind idp.config_change, its change, no secret; the series verifies
    # offline as the tenant's chain.
    lines = []
    for rid, change in zip(receipts, ["create", "update", "update", "delete"]):
        res = srv.get(f"/public/receipts/{rid}")
        assert res.status == 200, res
        text = res.body.decode()
        payload = json.loads(json.loads(text)["payload"])
        assert payload["kind"] == "idp.config_change" and payload["fields"]["change"] == change, payload
        assert payload["fields"]["connection_id"] == cid
        lines.append(text)
    f = tmp_path / "series.jsonl"
    f.write_text("\n".join(lines) + "\n")
    ok = run_cli(["receipt", "verify", f, "--pubkey", pubkey(srv, tmp_path)])
    assert ok.returncode == 0, ok
    assert "chain of 4 receipts" in ok.stdout, ok

    # The secret (either value) is in no answer above, no receipt row, no ledger entry, no log.
    entries = ledger(srv)
    actions = [e["action"] for e in entries]
    for a in ["sso.connection_create", "sso.connection_update", "sso.connection_delete"]:
        assert a in actions, actions
    rows = query(srv, "SELECT payload, disclosures FROM receipts")
    dump = json.dumps(entries) + repr(rows) + srv.stderr_text + listed.body.decode() + one.body.decode()
    assert SECRET not in dump and "rotated-" not in dump
    assert query(srv, "SELECT COUNT(*) FROM sso_connections")[0][0] == 0


BAD = [
    ({"preset": "azure"}, 400, "invalid_preset"),
    ({"issuer": "http://idp.example.test"}, 400, "invalid_issuer"),
    ({"issuer": "https://login.microsoftonline.com/{tenantid}/v2.0"}, 400, "invalid_issuer"),
    ({"client_id": ""}, 400, "invalid_client_id"),
    ({"client_secret": "has a space"}, 400, "invalid_client_secret"),
    ({"scopes": ["email", "profile"]}, 400, "invalid_scopes"),
    ({"allowed_domains": ["not a domain"]}, 400, "invalid_domain"),
    ({"allowed_domains": []}, 400, "invalid_domain"),
    ({"role_mapping": {"groups": {"root": "owner"}}}, 400, "owner_not_mappable"),
    ({"role_mapping": {"default_role": "owner"}}, 400, "owner_not_mappable"),
    ({"role_mapping": {"groups": {"eng": "superuser"}}}, 400, "unknown_role"),
    ({"role_mapping": {"groups": {"": "member"}}}, 400, "invalid_group_name"),
    ({"max_session_s": 9 * 3600}, 400, "invalid_max_session"),
    ({"preset": "google", "issuer": "https://accounts.google.com"}, 400, "hd_required"),
    ({"preset": "entra", "issuer": "https://login.microsoftonline.com/{tenantid}/v2.0"}, 400,
     "entra_tenants_required"),
    ({"groups_claim": "has space"}, 400, "invalid_groups_claim"),
    ({"unknown": 1}, 400, "invalid_body"),
]


def test_bad_input_is_refused_with_a_stable_code_and_nothing_changes(srv):
    tokens, _, _ = owner(srv)
    h = bearer(tokens)
    res = post(srv, "/api/v1/sso/connections", generic(), h)
    assert res.status == 201, res
    cid = res.json()["id"]
    before = sso_state(srv)
    for over, status, code in BAD:
        doc = generic(**over)
        assert_error_body(post(srv, "/api/v1/sso/connections", doc, h), status, code)
        assert_error_body(send_json(srv, "PUT", f"/api/v1/sso/connections/{cid}", doc, h), status, code)
    no_secret = generic(issuer="https://other.example.test")
    del no_secret["client_secret"]  # required on create (kept when absent on update)
    assert_error_body(post(srv, "/api/v1/sso/connections", no_secret, h), 400, "invalid_client_secret")
    assert_error_body(post(srv, "/api/v1/sso/connections", generic(), h), 409, "connection_exists")
    assert_error_body(post(srv, "/api/v1/sso/connections", raw="{", headers={"Content-Type": "application/json", **h}),
                      400, "malformed_json")
    assert_error_body(post(srv, "/api/v1/sso/domains", {"domain": "-bad-.test"}, h), 400, "invalid_domain")
    assert_error_body(post(srv, "/api/v1/sso/domains", {"domain": 7}, h), 400, "invalid_body")
    assert_error_body(send_json(srv, "PUT", "/api/v1/sso/policy", {"require_sso": "yes"}, h), 400, "invalid_body")
    # Requiring SSO without a designated break-glass owner would lock the owners out.
    assert_error_body(send_json(srv, "PUT", "/api/v1/sso/policy", {"require_sso": True}, h), 409,
                      "no_breakglass_owner")
    assert sso_state(srv) == before
    assert srv.get("/api/v1/sso/policy", headers=h).json() == {"require_sso": False}


def test_owner_only_step_up_required_and_another_tenants_connection_is_not_found(srv):
    tokens, _, _ = owner(srv)
    res = post(srv, "/api/v1/sso/connections", generic(), bearer(tokens))
    assert res.status == 201, res
    cid = res.json()["id"]
    before = sso_state(srv)

    admin = accept(srv, invite(srv, tokens, "ed@acme.test", "admin"))
    enroll(srv, admin)  # stepped up, but not an owner
    assert_error_body(post(srv, "/api/v1/sso/connections", generic(issuer="https://x.example.test"),
                           bearer(admin)), 403, "owner_required")
    assert_error_body(srv.get("/api/v1/sso/connections", headers=bearer(admin)), 403, "owner_required")
    assert_error_body(srv.request("DELETE", f"/api/v1/sso/connections/{cid}", headers=bearer(admin)),
                      403, "owner_required")
    member = accept(srv, invite(srv, tokens, "mo@acme.test", "member"))
    assert_error_body(srv.get("/api/v1/sso/connections", headers=bearer(member)), 403, "permission_denied")

    # The owner signed in anew, without a step-up: changes refused.
    fresh = sign_in(srv, "ada@acme.test")
    assert_error_body(post(srv, "/api/v1/sso/connections", generic(issuer="https://y.example.test"),
                           bearer(fresh)), 403, "mfa_required")
    assert_error_body(post(srv, "/api/v1/sso/domains", {"domain": "acme.test"}, bearer(fresh)), 403,
                      "mfa_required")

    # Another tenant's owner: 404 for the connection, and its list is empty.
    other, _, _ = owner(srv, "globex", "gina@globex.test")
    assert_error_body(srv.get(f"/api/v1/sso/connections/{cid}", headers=bearer(other)), 404,
                      "connection_not_found")
    assert_error_body(send_json(srv, "PUT", f"/api/v1/sso/connections/{cid}", generic(), bearer(other)),
                      404, "connection_not_found")
    assert_error_body(srv.request("DELETE", f"/api/v1/sso/connections/{cid}", headers=bearer(other)),
                      404, "connection_not_found")
    assert srv.get("/api/v1/sso/connections", headers=bearer(other)).json() == {"connections": []}
    assert sso_state(srv) == before


def test_domain_verification_against_a_real_dns_server(srv, dns_port):
    tokens, _, _ = owner(srv)
    h = bearer(tokens)
    claims = {}
    for d in ["Example.TEST", "wrong.test", "missing.test"]:
        res = post(srv, "/api/v1/sso/domains", {"domain": d}, h)
        assert res.status == 201, res
        doc = res.json()
        assert doc["verified"] is False and doc["record_type"] == "TXT", doc
        assert doc["record_name"] == "_bulwark-challenge." + d.lower(), doc
        assert doc["record_value"] == "bulwark-domain-verification=" + doc["token"], doc
        claims[doc["domain"]] = doc
    assert_error_body(post(srv, "/api/v1/sso/domains", {"domain": "example.test"}, h), 409, "domain_exists")
    other, _, _ = owner(srv, "globex", "gina@globex.test")
    theirs = post(srv, "/api/v1/sso/domains", {"domain": "example.test"}, bearer(other))
    assert theirs.status == 201, theirs

    records = {
        "_bulwark-challenge.example.test": ["v=spf1 -all", claims["example.test"]["record_value"],
                                           theirs.json()["record_value"]],
        "_bulwark-challenge.wrong.test": ["bulwark-domain-verification=" + "0" * 32],
    }
    verify_path = "/api/v1/sso/domains/{}/verify"
    # No DNS server yet: the resolver does not answer.
    assert_error_body(post(srv, verify_path.format("example.test"), headers=h), 503, "dns_unavailable")
    with dnsmasq(dns_port, records):
        res = post(srv, verify_path.format("example.test"), headers=h)
        assert res.status == 200 and res.json()["verified"] is True, res
        rcpt = srv.get(f"/public/receipts/{res.json()['receipt_id']}")
        payload = json.loads(json.loads(rcpt.body)["payload"])
        assert payload["kind"] == "idp.config_change" and payload["fields"]["domain"] == "example.test"
        before = sso_state(srv)
        assert_error_body(post(srv, verify_path.format("wrong.test"), headers=h), 422, "domain_token_mismatch")
        assert_error_body(post(srv, verify_path.format("missing.test"), headers=h), 422, "domain_record_missing")
        assert_error_body(post(srv, verify_path.format("unclaimed.test"), headers=h), 404, "domain_not_found")
        # The other tenant's record is published too, but the domain is taken.
        assert_error_body(post(srv, verify_path.format("example.test"), headers=bearer(other)), 409,
                          "domain_verified_elsewhere")
        assert sso_state(srv) == before
    listed = {d["domain"]: d["verified"] for d in srv.get("/api/v1/sso/domains", headers=h).json()["domains"]}
    assert listed == {"example.test": True, "wrong.test": False, "missing.test": False}
    res = srv.request("DELETE", "/api/v1/sso/domains/wrong.test", headers=h)
    assert res.status == 204, res
    assert_error_body(srv.request("DELETE", "/api/v1/sso/domains/wrong.test", headers=h), 404, "domain_not_found")
    actions = [e["action"] for e in ledger(srv)]
    for a in ["sso.domain_claim", "sso.domain_verify", "sso.domain_delete"]:
        assert a in actions, actions


def test_require_sso_refuses_magic_links_except_the_break_glass_owner(srv):
    tokens, _, t = owner(srv)
    h = bearer(tokens)
    accept(srv, invite(srv, tokens, "mo@acme.test", "member"))
    assert_error_body(send_json(srv, "PUT", "/api/v1/sso/policy", {"require_sso": True}, h), 409,
                      "no_sso_connection")
    assert post(srv, "/api/v1/sso/connections", generic(), h).status == 201
    res = send_json(srv, "PUT", f"/api/v1/members/{t['owner_user_id']}/breakglass", {"designated": True}, h)
    assert res.status == 200, res
    res = send_json(srv, "PUT", "/api/v1/sso/policy", {"require_sso": True}, h)
    assert res.status == 200 and res.json()["require_sso"] is True, res
    policy_receipt = res.json()["receipt_id"]

    # The member still gets a link (the request tells no one anything), but it signs no one in,
    # and the link stays unspent.
    link = request_link(srv, "mo@acme.test")
    assert_error_body(verify(srv, link), 403, "sso_required")
    assert query(srv, "SELECT COUNT(*) FROM magic_links WHERE consumed_at IS NOT NULL AND user_id = "
                      "(SELECT id FROM users WHERE email = 'mo@acme.test')")[0][0] == 0
    # An invitation mailed while SSO is required is refused on acceptance too; nobody joins.
    invited = invite(srv, tokens, "ivy@acme.test", "viewer")
    assert_error_body(post(srv, "/api/v1/auth/accept-invite", {"token": invited}), 403, "sso_required")
    assert query(srv, "SELECT COUNT(*) FROM memberships m JOIN users u ON u.id = m.user_id "
                      "WHERE u.email = 'ivy@acme.test'")[0][0] == 0
    # The break-glass owner signs in by magic link; the sign-in is recorded as such and alerted.
    res = verify(srv, request_link(srv, "ada@acme.test"))
    assert res.status == 200, res
    entries = ledger(srv)
    refused = [e for e in entries if e["action"] == "auth.verify" and e.get("reason") == "sso_required"]
    assert len(refused) == 1, entries[-5:]
    used = [e for e in entries if e["action"] == "auth.verify" and (e.get("details") or {}).get("sso_breakglass")]
    assert len(used) == 1, entries[-5:]
    assert any(e["action"] == "alert.sso_breakglass_sign_in" for e in entries), [e["action"] for e in entries]

    # Turned off, the member signs in by link again.
    res = send_json(srv, "PUT", "/api/v1/sso/policy", {"require_sso": False}, h)
    assert res.status == 200, res
    assert verify(srv, request_link(srv, "mo@acme.test")).status == 200
    payload = json.loads(json.loads(srv.get(f"/public/receipts/{policy_receipt}").body)["payload"])
    assert payload["kind"] == "idp.config_change" and payload["fields"]["change"] == "require_sso", payload
    assert accept(srv, invited)["access_token"]

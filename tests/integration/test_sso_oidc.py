"""SSO sign-in against a real OpenID Provider (npm oidc-provider, tests/peers/oidc_op.mjs) over
HTTPS on loopback with a test CA: authorization code with PKCE, JIT membership with roles from
groups (replaced at the next sign-in), provider key rotation, back-channel logout, the state and
code refusals, and the forged ID-token catalogue over the real callback (a proxy in front of the
OP swaps the token endpoint's id_token for a forgery). Every refusal: its stable reason, no
session, no membership.
"""
import json
import socket
import threading
import time
from urllib.parse import urlencode, urlparse, parse_qs

import pytest
import requests

from conftest import assert_error_body
from identity_helpers import LOOSE_RULES, bearer, create_tenant, enroll, sign_in, post, send_json, ledger
from pg_helpers import query
import oidc_helpers as oh

SSO_RULES = LOOSE_RULES + [
    "GET /api/v1/sso/login ip 1000/1m",
    "GET /api/v1/sso/callback/{connection} ip 1000/1m",
    "POST /api/v1/sso/backchannel-logout/{connection} ip 1000/1m",
]
DOMAIN = "acme.test"
CLIENT_SECRET = "op-client-secret-" + "x" * 32


class Sso:
    """One Bulwark (dev) + one OP (behind the token-swap proxy) + a tenant with a verified domain and
    one OIDC connection per signing algorithm."""

    def __init__(self, make_server, tmp_path, dns, accounts, alg="RS256", settings=None):
        self.pki = oh.make_test_ca(tmp_path / "pki")
        self.srv = make_server(dev=True, settings={**sso_settings(self.pki[0], dns), **(settings or {})},
                               env={})
        base = f"http://{self.srv.address}"
        self.proxy = oh.TokenSwapProxy(self.pki)
        self.alg = alg
        self.client_id = f"bulwark-{alg.lower()}"
        client = {"client_id": self.client_id, "client_secret": CLIENT_SECRET,
                  # both completed below once the connection id is known
                  "redirect_uris": [base + "/api/v1/sso/callback/pending"],
                  "id_token_signed_response_alg": alg,
                  "backchannel_logout_uri": base + "/api/v1/sso/backchannel-logout/pending",
                  "backchannel_logout_session_required": True}
        self.op = oh.OpenIdProvider(tmp_path / "op", self.pki, [client], accounts, issuer=self.proxy.url)
        self.proxy.upstream = self.op.listening
        self.issuer = self.op.issuer
        self.owner_email = f"owner@{DOMAIN}"
        t = create_tenant(self.srv, "acme", self.owner_email)
        self.tenant_id = t["tenant_id"]
        self.owner = sign_in(self.srv, self.owner_email)
        self.secret, self.codes = enroll(self.srv, self.owner)
        verify_domain(self, dns)
        self.connection = create_connection(self, self.client_id)
        # Each connection has its own redirect URI (RFC 9700 section 4.4.2: no mix-up).
        self.callback = base + "/api/v1/sso/callback/" + self.connection
        self.op.config["clients"][0]["redirect_uris"] = [self.callback]
        self.op.config["clients"][0]["backchannel_logout_uri"] = (
            base + "/api/v1/sso/backchannel-logout/" + self.connection)
        self.op._write()
        self.op.rotate("ES256", keep_old=True)  # rebuilds the provider with the client as written

    def stop(self):
        self.op.stop()
        self.proxy.stop()

    # -- the browser's side ------------------------------------------------------------------
    def begin(self):
        """GET /api/v1/sso/login: (authorization URL, the attempt's cookie value)."""
        q = urlencode({"tenant": "acme", "connection": self.connection})
        res = self.srv.get("/api/v1/sso/login?" + q)
        assert res.status == 302, res
        cookies = cookies_of(res)
        value, attrs = cookies["__Host-bulwark_sso"]
        low = attrs.lower()
        assert "httponly" in low and "secure" in low and "samesite=lax" in low and "path=/" in low, attrs
        assert "domain=" not in low, attrs
        return res.header("Location"), value

    def at_op(self, authorization_url, account, browser=None):
        """The OP's login and consent; returns the callback URL the OP redirects to."""
        browser = browser or requests.Session()
        return oh.sign_in_at_op(browser, authorization_url, account, self.pki[0], self.callback), browser

    def call_back(self, callback_url, cookie):
        u = urlparse(callback_url)
        headers = {"Cookie": f"__Host-bulwark_sso={cookie}"} if cookie is not None else {}
        return self.srv.get(u.path + "?" + u.query, headers=headers)

    def sign_in(self, account, browser=None):
        url, cookie = self.begin()
        cb, browser = self.at_op(url, account, browser)
        return self.call_back(cb, cookie), cb, cookie, browser


# ---- B's administration surface (sso-admin); adapted to its routes ---------------------------

def sso_settings(ca, dns):
    # One JWKS refetch per second at most (default 60 s), so a rotation test need not wait a minute.
    return {"rate_limit.rules": SSO_RULES, "sso.ca_file": ca, "sso.dns_resolver": dns.address,
            "sso.jwks_refetch_interval_s": 1}


def verify_domain(env, dns):
    h = bearer(env.owner)
    res = send_json(env.srv, "POST", "/api/v1/sso/domains", {"domain": DOMAIN}, h)
    assert res.status == 201, res
    doc = res.json()
    dns.set_txt(doc["record_name"], doc["record_value"])
    res = post(env.srv, f"/api/v1/sso/domains/{DOMAIN}/verify", headers=h)
    assert res.status == 200, res


def create_connection(env, client_id):
    res = send_json(env.srv, "POST", "/api/v1/sso/connections", {
        "preset": "generic", "issuer": env.issuer, "client_id": client_id,
        "client_secret": CLIENT_SECRET, "scopes": ["openid", "email", "profile", "groups"],
        "groups_claim": "groups",
        "role_mapping": {"groups": {"eng-admins": "admin", "eng": "member", "auditors": "viewer"}},
        "allowed_domains": [DOMAIN], "backchannel_logout": True}, bearer(env.owner))
    assert res.status == 201, res
    return res.json()["id"]


# ---- helpers ----------------------------------------------------------------------------------

def cookies_of(res):
    out = {}
    for line in res.headers_named("Set-Cookie"):
        pair, _, attrs = line.partition(";")
        name, _, value = pair.partition("=")
        out[name.strip()] = (value, attrs)
    return out


def session_jar(res):
    c = {k: v for k, (v, _) in cookies_of(res).items() if k.startswith("__Host-bulwark_") and v}
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in c.items())}


def whoami(env, jar):
    return env.srv.get("/api/v1/whoami", headers=jar)


def counts(env):
    rows = {}
    for table in ("sessions", "memberships", "users", "sso_session_links"):
        rows[table] = query(env.srv, f"SELECT COUNT(*) FROM {table}")[0][0]
    return rows


def role_of(env, email):
    res = env.srv.get("/api/v1/members", headers=bearer(env.owner))
    assert res.status == 200, res
    return {m["email"]: m["role"] for m in res.json()["members"]}.get(email)


def sso_records(env, action="sso.sign_in"):
    return [e for e in ledger(env.srv) if e.get("action") == action]


def accounts():
    return {
        "ada": {"email": f"ada@{DOMAIN}", "email_verified": True, "groups": ["eng"], "name": "Ada"},
        "bob": {"email": f"bob@{DOMAIN}", "email_verified": False, "groups": ["eng"]},
        "eve": {"email": "eve@elsewhere.test", "email_verified": True, "groups": ["eng"]},
        "owner-twin": {"email": f"owner@{DOMAIN}", "email_verified": True, "groups": ["eng"]},
    }


@pytest.fixture
def dnsmasq(tmp_path):
    dns = oh.DnsServer(tmp_path / "dns")
    yield dns
    dns.stop()


@pytest.fixture
def sso(make_server, tmp_path, dnsmasq):
    env = Sso(make_server, tmp_path, dnsmasq, accounts())
    yield env
    env.stop()


# ---- sign-in ----------------------------------------------------------------------------------

def test_sign_in_with_pkce_starts_a_browser_session_and_jit_membership(sso):
    url, cookie = sso.begin()
    q = parse_qs(urlparse(url).query)
    assert url.startswith(sso.issuer + "/")
    assert q["response_type"] == ["code"] and q["code_challenge_method"] == ["S256"]
    assert q["redirect_uri"] == [sso.callback] and q["client_id"] == [sso.client_id]
    assert len(q["state"][0]) >= 43 and len(q["nonce"][0]) >= 43 and len(q["code_challenge"][0]) == 43
    assert "openid" in q["scope"][0].split()
    before = counts(sso)
    cb, _ = sso.at_op(url, "ada")
    assert "iss=" in cb  # RFC 9207: oidc-provider sends it
    res = sso.call_back(cb, cookie)
    assert res.status == 302, res
    names = set(cookies_of(res))
    assert {"__Host-bulwark_access", "__Host-bulwark_refresh", "__Host-bulwark_csrf"} <= names
    me = whoami(sso, session_jar(res))
    assert me.status == 200, me
    assert me.json()["tenant_id"] == sso.tenant_id
    after = counts(sso)
    assert after["sessions"] == before["sessions"] + 1 and after["sso_session_links"] == before["sso_session_links"] + 1
    assert role_of(sso, f"ada@{DOMAIN}") == "member"
    rec = sso_records(sso)[-1]
    assert rec["result"] == "success" and rec["tenant"] == sso.tenant_id, rec
    text = json.dumps(ledger(sso.srv))
    assert CLIENT_SECRET not in text and cookie not in text


def test_roles_follow_the_groups_at_each_sign_in(sso):
    assert sso.sign_in("ada")[0].status == 302
    assert role_of(sso, f"ada@{DOMAIN}") == "member"
    sso.op.update_account("ada", groups=["eng-admins"])
    assert sso.sign_in("ada")[0].status == 302
    assert role_of(sso, f"ada@{DOMAIN}") == "admin"
    sso.op.update_account("ada", groups=["auditors"])
    assert sso.sign_in("ada")[0].status == 302
    assert role_of(sso, f"ada@{DOMAIN}") == "viewer"  # nothing left over from eng-admins


def test_provider_key_rotation_is_followed_without_a_restart(sso):
    assert sso.sign_in("ada")[0].status == 302
    time.sleep(1.2)  # past the refetch interval since the JWKS was fetched
    sso.op.rotate("RS256", keep_old=False)  # a new kid; the old key is gone from the JWKS
    res = sso.sign_in("ada")[0]
    assert res.status == 302, res
    assert whoami(sso, session_jar(res)).status == 200


def test_es256_connection_signs_in(make_server, tmp_path, dnsmasq):
    sso = Sso(make_server, tmp_path, dnsmasq, accounts(), alg="ES256")
    try:
        res = sso.sign_in("ada")[0]
        assert res.status == 302, res
        assert sso.proxy.id_token_headers[-1]["alg"] == "ES256"
        assert whoami(sso, session_jar(res)).status == 200
    finally:
        sso.stop()


# ---- the attempt: state, browser, code --------------------------------------------------------

def test_state_reused_or_from_another_browser_is_refused_and_creates_nothing(sso):
    url, cookie = sso.begin()
    cb, _ = sso.at_op(url, "ada")
    _, other_cookie = sso.begin()
    before = counts(sso)
    assert_error_body(sso.call_back(cb, None), 400, "sso_browser_mismatch")
    assert_error_body(sso.call_back(cb, other_cookie), 400, "sso_browser_mismatch")
    assert counts(sso) == before
    assert sso.call_back(cb, cookie).status == 302
    after_first = counts(sso)
    assert_error_body(sso.call_back(cb, cookie), 400, "sso_state_invalid")
    assert counts(sso) == after_first
    reasons = [e["reason"] for e in sso_records(sso) if e["result"] != "success"]
    assert reasons.count("sso_browser_mismatch") == 2 and "sso_state_invalid" in reasons


def test_code_replayed_under_a_new_attempt_is_refused(sso):
    url, cookie = sso.begin()
    cb, browser = sso.at_op(url, "ada")
    assert sso.call_back(cb, cookie).status == 302
    # A second attempt in the same browser, its callback carrying the first attempt's code.
    url2, cookie2 = sso.begin()
    cb2, _ = sso.at_op(url2, "ada", browser)
    code1 = parse_qs(urlparse(cb).query)["code"][0]
    q2 = parse_qs(urlparse(cb2).query)
    replay = sso.callback + "?" + urlencode({"code": code1, "state": q2["state"][0], "iss": q2["iss"][0]})
    before = counts(sso)
    res = sso.call_back(replay, cookie2)
    assert_error_body(res, 401, "token_exchange_failed")
    assert counts(sso) == before


def test_iss_parameter_of_another_issuer_is_refused(sso):
    url, cookie = sso.begin()
    cb, _ = sso.at_op(url, "ada")
    q = parse_qs(urlparse(cb).query)
    forged = sso.callback + "?" + urlencode({"code": q["code"][0], "state": q["state"][0],
                                             "iss": "https://evil.example"})
    before = counts(sso)
    assert_error_body(sso.call_back(forged, cookie), 400, "sso_iss_mismatch")
    assert counts(sso) == before


def test_code_delivered_to_another_connections_callback_is_refused(sso):
    """RFC 9700 section 4.4.2 (mix-up): an attempt begun for connection X whose state and code
    arrive at connection Y's redirect URI is refused there, even without `iss` (Entra sends none),
    and creates nothing; the attempt is spent."""
    res = send_json(sso.srv, "POST", "/api/v1/sso/connections", {
        "preset": "generic", "issuer": "https://idp-b.example", "client_id": "bulwark-b",
        "client_secret": CLIENT_SECRET, "scopes": ["openid"], "allowed_domains": [DOMAIN]},
        bearer(sso.owner))
    assert res.status == 201, res
    other = res.json()["id"]  # never contacted: the refusal comes first
    url, cookie = sso.begin()
    assert parse_qs(urlparse(url).query)["redirect_uri"] == [sso.callback]
    cb, _ = sso.at_op(url, "ada")
    assert urlparse(cb).path == "/api/v1/sso/callback/" + sso.connection
    q = parse_qs(urlparse(cb).query)
    mixed = f"/api/v1/sso/callback/{other}?" + urlencode({"code": q["code"][0], "state": q["state"][0]})
    before = counts(sso)
    assert_error_body(sso.call_back(mixed, cookie), 400, "connection_mismatch")
    assert counts(sso) == before
    rec = sso_records(sso)[-1]
    assert rec["result"] != "success" and rec["reason"] == "connection_mismatch", rec
    assert rec["tenant"] == sso.tenant_id, rec
    # The attempt is spent: the code cannot be taken to its own callback afterwards either.
    assert_error_body(sso.call_back(cb, cookie), 400, "sso_state_invalid")
    assert counts(sso) == before
    # The old shared redirect URI is gone.
    assert sso.srv.get("/api/v1/sso/callback?" + urlparse(cb).query).status == 404


# ---- who gets in ------------------------------------------------------------------------------

@pytest.mark.parametrize("account,reason", [
    ("bob", "email_unverified"),
    ("eve", "domain_unverified"),
    ("owner-twin", "identity_conflict"),
])
def test_who_may_not_get_in_is_refused_with_its_reason(sso, account, reason):
    before = counts(sso)
    res = sso.sign_in(account)[0]
    assert_error_body(res, 403, reason)
    assert counts(sso) == before
    assert sso_records(sso)[-1]["reason"] == reason


def test_sso_refusals_count_toward_the_auth_failure_spike_alert(make_server, tmp_path, dnsmasq):
    sso = Sso(make_server, tmp_path, dnsmasq, accounts(), settings={"audit.alert_auth_failures": 3})
    try:
        assert not [e for e in ledger(sso.srv) if e["action"] == "alert.auth_failure_spike"]
        for _ in range(3):
            assert_error_body(sso.sign_in("bob")[0], 403, "email_unverified")
        alerts = [e for e in ledger(sso.srv) if e["action"] == "alert.auth_failure_spike"]
        assert len(alerts) == 1, alerts
    finally:
        sso.stop()


# ---- forged ID tokens over the real callback --------------------------------------------------

def rsa_key(sso):
    return [k for k in sso.op.private_jwks() if k["kty"] == "RSA"][0]


def fresh_rsa_pem():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                           serialization.NoEncryption())


def forgeries(sso, old_nonce):
    key = rsa_key(sso)
    pem = oh.private_pem(key)
    kid = key["kid"]
    now = int(time.time())

    def signed(change, drop=()):
        def forge(claims, header):
            c = {**claims, **change}
            for d in drop:
                c.pop(d, None)
            return oh.sign_jws(c, {"alg": "RS256", "kid": kid, "typ": "JWT"}, pem, "RS256")
        return forge

    return {
        "wrong_signature": lambda c, h: oh.sign_jws(c, {"alg": "RS256", "kid": kid}, fresh_rsa_pem(), "RS256"),
        "alg_none": lambda c, h: oh.sign_jws(c, {"alg": "none", "kid": kid}),
        "hs256_with_rsa_public_key": lambda c, h: oh.sign_jws(c, {"alg": "HS256", "kid": kid},
                                                               hmac_secret=oh.public_pem(key)),
        "unknown_kid": lambda c, h: oh.sign_jws(c, {"alg": "RS256", "kid": "no-such-kid"}, fresh_rsa_pem(), "RS256"),
        "wrong_iss": signed({"iss": "https://evil.example"}),
        "wrong_aud": signed({"aud": "someone-else"}),
        "expired": signed({"exp": now - 3600, "iat": now - 7200}),
        "future_iat": signed({"iat": now + 3600, "exp": now + 7200}),
        "replayed_nonce": signed({"nonce": old_nonce}),
        "missing_nonce": signed({}, drop=("nonce",)),
    }


def test_forged_id_tokens_are_refused_and_create_nothing(sso):
    url, cookie = sso.begin()
    old_nonce = parse_qs(urlparse(url).query)["nonce"][0]
    cb, browser = sso.at_op(url, "ada")
    assert sso.call_back(cb, cookie).status == 302
    reasons = {}
    for name, forge in forgeries(sso, old_nonce).items():
        before = counts(sso)
        sso.proxy.forge = forge
        try:
            res, *_ = sso.sign_in("ada", browser=browser)
        finally:
            sso.proxy.forge = None
        assert res.status == 401, (name, res)
        reasons[name] = res.json()["error"]["code"]
        assert counts(sso) == before, name
    # Each refusal names its reason, and the ledger has it.
    assert reasons == {
        "wrong_signature": "bad_signature",
        "alg_none": "malformed_token",  # an empty signature never reaches the alg check
        "hs256_with_rsa_public_key": "alg_not_allowed",
        "unknown_kid": "unknown_kid",  # after the one refetch
        "wrong_iss": "wrong_issuer",
        "wrong_aud": "wrong_audience",
        "expired": "token_expired",
        "future_iat": "iat_in_future",
        "replayed_nonce": "nonce_mismatch",
        "missing_nonce": "nonce_missing",
    }
    recorded = [e["reason"] for e in sso_records(sso) if e["result"] != "success"]
    assert sorted(recorded[-len(reasons):]) == sorted(reasons.values())
    # The genuine article still works afterwards.
    assert sso.sign_in("ada", browser=browser)[0].status == 302


# ---- back-channel logout ----------------------------------------------------------------------

def test_backchannel_logout_from_the_op_ends_the_session_on_the_next_request(sso):
    res, _, _, browser = sso.sign_in("ada")
    jar = session_jar(res)
    assert whoami(sso, jar).status == 200
    oh.end_session_at_op(browser, sso.issuer, sso.pki[0], sso.client_id)
    deadline = time.time() + 5
    while whoami(sso, jar).status == 200 and time.time() < deadline:
        time.sleep(0.1)
    assert whoami(sso, jar).status == 401
    recs = sso_records(sso, "sso.backchannel_logout")
    assert recs and recs[-1]["result"] == "success" and recs[-1]["tenant"] == sso.tenant_id


def logout_token(sso, sid, sub="ada", **extra):
    key = rsa_key(sso)
    now = int(time.time())
    claims = {"iss": sso.issuer, "aud": sso.client_id, "iat": now, "exp": now + 120,
              "jti": f"jti-{time.time_ns()}", "sub": sub, "sid": sid,
              "events": {"http://schemas.openid.net/event/backchannel-logout": {}}, **extra}
    return oh.sign_jws(claims, {"alg": "RS256", "kid": key["kid"], "typ": "logout+jwt"},
                       oh.private_pem(key), "RS256")


def post_logout(sso, token):
    return sso.srv.request("POST", "/api/v1/sso/backchannel-logout/" + sso.connection,
                           headers={"Content-Type": "application/x-www-form-urlencoded"},
                           body=urlencode({"logout_token": token}))


def test_logout_token_reused_or_carrying_a_nonce_is_refused(sso):
    res, cb, _, _ = sso.sign_in("ada")
    jar = session_jar(res)
    sid = query(sso.srv, "SELECT idp_sid FROM sso_session_links")[0][0]
    with_nonce = logout_token(sso, sid, nonce="n")
    r = post_logout(sso, with_nonce)
    assert r.status == 400 and r.header("Cache-Control") == "no-store", r
    assert whoami(sso, jar).status == 200  # nothing ended
    token = logout_token(sso, sid)
    r = post_logout(sso, token)
    assert r.status == 200, r
    assert whoami(sso, jar).status == 401
    res2 = sso.sign_in("ada")[0]
    jar2 = session_jar(res2)
    r = post_logout(sso, token)  # the same jti again
    assert_error_body(r, 400, "logout_token_replayed")
    assert whoami(sso, jar2).status == 200


def test_logout_body_that_is_not_a_form_is_refused(sso):
    r = sso.srv.request("POST", "/api/v1/sso/backchannel-logout/" + sso.connection,
                        headers={"Content-Type": "application/json"}, body='{"logout_token":"x"}')
    assert r.status == 415, r
    r = post_logout(sso, "not-a-jwt")
    assert r.status == 400, r


def test_logout_stuck_on_an_unreachable_provider_holds_no_other_tenants_write(sso):
    """A back-channel logout for a connection whose provider accepts connections and never answers
    (a tarpit on loopback) waits for its provider outside any transaction: another tenant's write
    completes meanwhile. The failure is then remembered, so the next logout is refused at once."""
    tarpit = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tarpit.bind(("127.0.0.1", 0))
    tarpit.listen(16)  # the kernel completes the handshakes; nothing is ever read or answered
    try:
        res = send_json(sso.srv, "POST", "/api/v1/sso/connections", {
            "preset": "generic", "issuer": f"http://127.0.0.1:{tarpit.getsockname()[1]}",
            "client_id": "tarpit", "client_secret": CLIENT_SECRET, "scopes": ["openid"],
            "allowed_domains": [DOMAIN], "backchannel_logout": True}, bearer(sso.owner))
        assert res.status == 201, res
        stuck = res.json()["id"]
        create_tenant(sso.srv, "beta", "owner@beta.test")
        sessions_before = counts(sso)["sessions"]
        answers = {}

        def logout():
            t0 = time.monotonic()
            answers["res"] = sso.srv.request(
                "POST", "/api/v1/sso/backchannel-logout/" + stuck,
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                body=urlencode({"logout_token": "a.b.c"}), timeout=20.0)
            answers["took"] = time.monotonic() - t0

        waiting = threading.Thread(target=logout)
        waiting.start()
        time.sleep(0.5)  # the logout is now waiting for the tarpit
        t0 = time.monotonic()
        sign_in(sso.srv, "owner@beta.test")  # the other tenant's writes (link, session)
        took = time.monotonic() - t0
        still_waiting = waiting.is_alive()
        waiting.join(20)
        assert not waiting.is_alive()
        assert still_waiting and took < 3.0, (took, answers)
        assert_error_body(answers["res"], 503, "idp_unreachable")
        assert answers["took"] > 3.0, answers  # it did wait for the provider
        assert counts(sso)["sessions"] == sessions_before + 1  # beta's sign-in only
        # The failed discovery is remembered for a while: the next request does not wait again.
        t0 = time.monotonic()
        again = sso.srv.request("POST", "/api/v1/sso/backchannel-logout/" + stuck,
                                headers={"Content-Type": "application/x-www-form-urlencoded"},
                                body=urlencode({"logout_token": "a.b.c"}))
        assert time.monotonic() - t0 < 2.0
        assert_error_body(again, 503, "idp_unreachable")
        recs = sso_records(sso, "sso.backchannel_logout")
        assert [r["reason"] for r in recs[-2:]] == ["idp_unreachable", "idp_unreachable"], recs
    finally:
        tarpit.close()

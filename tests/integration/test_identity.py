"""Identity over the real binary (dev mode): magic links, sessions and refresh rotation, JWT access
tokens checked by PyJWT against the JWKS, TOTP with the real oathtool, invitations and roles,
immediate revocation, body validation, rate limits, and no secret at rest.

Every refusal also checks that nothing stored changed (identity_helpers.state)."""
import base64
import json
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import jwt
from jwt.algorithms import OKPAlgorithm

from conftest import EXIT_REFUSED, assert_error_body, b64key, read_response, render_toml, run_cli
from identity_helpers import (INVITE_RE, JSON, LOOSE, LOOSE_RULES, MAGIC_RE, RECOVERY_RE, STEP, accept, assert_401,
                              bearer, create_tenant, enroll, invite, ledger, mail_count, members, outbox, post,
                              request_link, send_json, sign_in, state, step_up, totp, verify, wait_mail, wrong_code)
from pg_helpers import db_for, scan_store

ADA = "ada@acme.test"


def dev(make_server, **settings):
    return make_server(dev=True, settings={**LOOSE, **settings})


def me(srv, tokens):
    res = srv.get("/api/v1/me", headers=bearer(tokens))
    assert res.status == 200, res
    return res.json()


# ------------------------------------------------------------------------------------------------
# Tenant bootstrap (CLI)


def test_tenant_create_cli_bootstrap_and_refusals(make_server):
    srv = dev(make_server)
    before = state(srv)
    assert before["tenants"] == [] and before["users"] == []  # no default accounts
    t = create_tenant(srv, "acme", ADA)
    after = state(srv)
    for args, code in ((["--name", "acme", "--owner", "eve@acme.test"], "tenant_exists"),
                       (["--name", "other", "--owner", "not-an-email"], "invalid_email"),
                       (["--name", "Bad Name", "--owner", "eve@acme.test"], "invalid_tenant_name"),
                       (["--name", "", "--owner", "eve@acme.test"], "invalid_tenant_name")):
        res = run_cli(["tenant", "create", "--dev", *srv.store_args(), *args])
        assert res.returncode == 1, res
        assert code in res.stderr, res
        assert res.stdout == "", res
        assert state(srv) == after, args
    tokens = sign_in(srv, ADA)
    assert tokens["tenant_id"] == t["tenant_id"] and tokens["user_id"] == t["owner_user_id"]
    assert me(srv, tokens)["role"] == "owner"


# ------------------------------------------------------------------------------------------------
# 1. Magic links


def test_magic_link_flow_same_answer_and_comparable_timing_for_unknown_address(make_server):
    srv = dev(make_server)
    t = create_tenant(srv, "acme", ADA)

    res = post(srv, "/api/v1/auth/request", {"email": ADA})
    assert res.status == 202, res
    known_body = res.body
    assert res.json()["status"] == "accepted" and res.json()["message"]
    token = wait_mail(srv, ADA, MAGIC_RE)
    mail = [m for m in outbox(srv) if m["to"] == ADA][-1]
    assert mail["subject"] and token in mail["text"]

    res = post(srv, "/api/v1/auth/request", {"email": "nobody@acme.test"})
    assert res.status == 202, res
    assert res.body == known_body  # byte-identical answer for an unknown address
    assert res.header("Content-Type") == post(srv, "/api/v1/auth/request", {"email": ADA}).header("Content-Type")

    res = verify(srv, token)
    assert res.status == 200, res
    doc = res.json()
    assert set(doc) == {"token_type", "access_token", "expires_in", "refresh_token", "session_id", "user_id",
                        "tenant_id"}, doc
    assert doc["token_type"] == "Bearer" and 0 < doc["expires_in"] <= 900
    assert doc["tenant_id"] == t["tenant_id"] and doc["user_id"] == t["owner_user_id"]
    assert res.header("Cache-Control") == "no-store"
    who = me(srv, doc)
    assert who == {"user_id": t["owner_user_id"], "email": ADA, "tenant_id": t["tenant_id"], "role": "owner",
                   "session_id": doc["session_id"], "mfa_enrolled": False, "mfa_verified_at": 0}

    # The link works once; garbage and unknown tokens are refused the same way.
    snap = state(srv)
    assert_error_body(verify(srv, token), 401, "invalid_token")
    assert_error_body(verify(srv, "bwm_" + "A" * 43), 401, "invalid_token")
    assert_error_body(verify(srv, "garbage"), 401, "invalid_token")
    assert state(srv) == snap

    # Unknown addresses never get mail; the (interleaved) timings are comparable.
    time.sleep(0.2)
    assert mail_count(srv, "nobody@acme.test") == 0
    known, unknown = [], []
    for i in range(15):
        for email, bucket in ((ADA, known), (f"ghost{i}@acme.test", unknown)):
            start = time.perf_counter()
            res = post(srv, "/api/v1/auth/request", {"email": email})
            bucket.append(time.perf_counter() - start)
            assert res.status == 202 and res.body == known_body, res
    mk, mu = statistics.median(known), statistics.median(unknown)
    assert abs(mk - mu) <= 0.020 or max(mk, mu) <= 3 * min(mk, mu), (mk, mu)
    time.sleep(0.2)
    assert not [m for m in outbox(srv) if m["to"].startswith("ghost")]

    # The ledger records the requests (no tenant yet): read it after a clean stop.
    assert srv.stop() == 0
    entries = [e for e in ledger(srv) if e["action"] == "auth.request"]
    assert len(entries) >= 32
    assert all(e["tenant"] is None for e in entries)
    assert not any(token in json.dumps(e) for e in ledger(srv))


def test_expired_link_refused(make_server):
    srv = dev(make_server, **{"auth.magic_link_ttl_s": 1})
    create_tenant(srv, "acme", ADA)
    token = request_link(srv, ADA)
    time.sleep(2.2)
    snap = state(srv)
    assert_error_body(verify(srv, token), 401, "invalid_token")
    assert state(srv) == snap
    # A fresh link still works (positive control).
    assert verify(srv, request_link(srv, ADA)).status == 200


def test_member_of_several_tenants_must_name_one(make_server):
    srv = dev(make_server)
    acme = create_tenant(srv, "acme", ADA)
    beta = create_tenant(srv, "beta", ADA)
    create_tenant(srv, "gamma", "gus@gamma.test")
    assert acme["owner_user_id"] == beta["owner_user_id"]
    token = request_link(srv, ADA)
    snap = state(srv)
    assert_error_body(verify(srv, token), 400, "tenant_required")
    assert_error_body(verify(srv, token, "gamma"), 403, "not_a_member")
    assert state(srv) == snap  # the refusals did not consume the link
    res = verify(srv, token, "beta")  # by name
    assert res.status == 200, res
    assert res.json()["tenant_id"] == beta["tenant_id"]
    assert me(srv, res.json())["tenant_id"] == beta["tenant_id"]
    assert_error_body(verify(srv, token, "beta"), 401, "invalid_token")  # now it is used
    res = verify(srv, request_link(srv, ADA), acme["tenant_id"])  # by id
    assert res.status == 200 and res.json()["tenant_id"] == acme["tenant_id"], res


# ------------------------------------------------------------------------------------------------
# 2. Concurrent use of one link


def test_concurrent_verifies_of_one_link_succeed_exactly_once(make_server):
    srv = dev(make_server)
    create_tenant(srv, "acme", ADA)
    for _ in range(6):
        token = request_link(srv, ADA)
        body = json.dumps({"token": token}).encode()
        data = (f"POST /api/v1/auth/verify HTTP/1.1\r\nHost: {srv.address}\r\nConnection: close\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
        sessions_before = len(state(srv)["sessions"])
        socks = [srv.connect() for _ in range(2)]
        barrier = threading.Barrier(len(socks))
        results = [None] * len(socks)

        def go(i):
            barrier.wait()
            socks[i].sendall(data)
            results[i] = read_response(socks[i])

        threads = [threading.Thread(target=go, args=(i,)) for i in range(len(socks))]
        for th in threads:
            th.start()
        for th in threads:
            th.join(15)
        for s in socks:
            s.close()
        statuses = sorted(r.status for r in results)
        assert statuses == [200, 401], results
        loser = [r for r in results if r.status == 401][0]
        assert_error_body(loser, 401, "invalid_token")
        assert len(state(srv)["sessions"]) == sessions_before + 1


# ------------------------------------------------------------------------------------------------
# 3. Refresh rotation and reuse


def test_refresh_rotation_and_reuse_revokes_the_whole_session(make_server):
    srv = dev(make_server)
    t = create_tenant(srv, "acme", ADA)
    first = sign_in(srv, ADA)

    res = post(srv, "/api/v1/auth/refresh", {"refresh_token": first["refresh_token"]})
    assert res.status == 200, res
    second = res.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["session_id"] == first["session_id"]
    assert me(srv, second)["session_id"] == first["session_id"]
    res = post(srv, "/api/v1/auth/refresh", {"refresh_token": second["refresh_token"]})
    assert res.status == 200, res
    third = res.json()
    assert me(srv, third)["user_id"] == t["owner_user_id"]

    # An already-rotated token comes back: refused, and the whole family is revoked.
    assert_error_body(post(srv, "/api/v1/auth/refresh", {"refresh_token": first["refresh_token"]}),
                      401, "refresh_reused")
    for tokens in (first, second, third):
        assert assert_401(srv.get("/api/v1/me", headers=bearer(tokens))) == "session_revoked"
    res = post(srv, "/api/v1/auth/refresh", {"refresh_token": third["refresh_token"]})
    assert_401(res)
    sess = [s for s in state(srv)["sessions"] if s[0] == first["session_id"]]
    assert len(sess) == 1 and sess[0][-2] is not None, sess  # revoked_at set

    # Another session of the same member is untouched and can read the alert in the tenant's ledger.
    other = sign_in(srv, ADA)
    res = srv.get("/api/v1/audit/events?action=auth.refresh_reuse", headers=bearer(other))
    assert res.status == 200, res
    reuse = res.json()["events"]
    assert len(reuse) == 1 and reuse[0]["result"] == "denied" and reuse[0]["tenant"] == t["tenant_id"], reuse
    res = srv.get("/api/v1/audit/events?action=alert.refresh_token_reuse", headers=bearer(other))
    alerts = res.json()["events"]
    assert len(alerts) == 1 and alerts[0]["request_id"] == reuse[0]["request_id"], alerts
    assert first["refresh_token"] not in res.body.decode()

    # Garbage refresh tokens: 401, nothing changed.
    snap = state(srv)
    assert_401(post(srv, "/api/v1/auth/refresh", {"refresh_token": "bwr_" + "A" * 43}))
    assert_401(post(srv, "/api/v1/auth/refresh", {"refresh_token": "nope"}))
    assert state(srv) == snap


# ------------------------------------------------------------------------------------------------
# 4. Immediate revocation: member removed, logout


def test_access_token_refused_on_first_request_after_member_removed_and_after_logout(make_server):
    srv = dev(make_server)
    create_tenant(srv, "acme", ADA)
    ada = sign_in(srv, ADA)
    _, codes = enroll(srv, ada)
    bob = accept(srv, invite(srv, ada, "bob@acme.test", "member"))
    bob2 = sign_in(srv, "bob@acme.test")  # a second session of bob's
    assert me(srv, bob)["role"] == "member" and me(srv, bob2)["role"] == "member"

    step_up(srv, ada, codes)
    res = srv.request("DELETE", f"/api/v1/members/{bob['user_id']}", headers=bearer(ada))
    assert res.status == 204, res
    for tokens in (bob, bob2):  # unexpired JWTs, refused on the very next request
        assert_401(srv.get("/api/v1/me", headers=bearer(tokens)))
        assert_401(srv.get("/api/v1/members", headers=bearer(tokens)))
        assert_401(post(srv, "/api/v1/auth/refresh", {"refresh_token": tokens["refresh_token"]}))
    assert bob["user_id"] not in [m[0] for m in members(srv, ada)]
    # Bob belongs to no tenant any more: a sign-in request is answered as for a stranger, no mail.
    seen = mail_count(srv, "bob@acme.test")
    assert post(srv, "/api/v1/auth/request", {"email": "bob@acme.test"}).status == 202
    time.sleep(0.3)
    assert mail_count(srv, "bob@acme.test") == seen

    # Logout: 204, then the access token fails at once, and the refresh token too.
    other = sign_in(srv, ADA)
    res = post(srv, "/api/v1/auth/logout", headers=bearer(ada))
    assert res.status == 204, res
    assert assert_401(srv.get("/api/v1/me", headers=bearer(ada))) == "session_revoked"
    assert_401(post(srv, "/api/v1/auth/refresh", {"refresh_token": ada["refresh_token"]}))
    assert_401(post(srv, "/api/v1/auth/logout", headers=bearer(ada)))
    assert me(srv, other)["role"] == "owner"  # only that session ended


def test_missing_garbage_and_tampered_bearer_tokens_are_401(make_server):
    srv = dev(make_server)
    create_tenant(srv, "acme", ADA)
    tokens = sign_in(srv, ADA)
    access = tokens["access_token"]
    h, p, s = access.split(".")
    flipped = s[:-2] + ("A" if s[-2] != "A" else "B") + s[-1]
    for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Bearer garbage"},
                    {"Authorization": f"Basic {access}"}, {"Authorization": f"Bearer {h}.{p}.{flipped}"},
                    {"Authorization": f"Bearer {h}.{p}."}, {"Authorization": f"Bearer {access}x"}):
        assert assert_401(srv.get("/api/v1/me", headers=headers)) in ("authentication_required", "invalid_token")
    assert me(srv, tokens)["user_id"] == tokens["user_id"]


# ------------------------------------------------------------------------------------------------
# 5. JWT interop (PyJWT against the JWKS)


def _b64(doc):
    return base64.urlsafe_b64encode(json.dumps(doc, separators=(",", ":")).encode()).decode().rstrip("=")


def test_access_token_verifies_with_pyjwt_against_the_jwks_and_forgeries_fail(make_server):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    srv = dev(make_server)
    t = create_tenant(srv, "acme", ADA)
    tokens = sign_in(srv, ADA)
    access = tokens["access_token"]
    iss = srv.url  # dev without server.public_url: the bound address, and the audience too

    res = srv.get("/.well-known/jwks.json")
    assert res.status == 200, res
    keys = res.json()["keys"]
    assert keys and all(set(k) == {"kty", "crv", "x", "kid", "alg", "use"} for k in keys), keys
    header = jwt.get_unverified_header(access)
    assert header["alg"] == "EdDSA"
    [jwk] = [k for k in keys if k["kid"] == header["kid"]]
    assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["use"]) == ("OKP", "Ed25519", "EdDSA", "sig")
    assert "d" not in jwk
    key = OKPAlgorithm.from_jwk(json.dumps(jwk))
    claims = jwt.decode(access, key, algorithms=["EdDSA"], audience=iss, issuer=iss,
                        options={"require": ["exp", "iat", "sub", "iss", "aud"]})
    assert claims["sub"] == t["owner_user_id"] == tokens["user_id"]
    assert claims["tid"] == t["tenant_id"] and claims["sid"] == tokens["session_id"]
    assert 0 < claims["exp"] - claims["iat"] <= 900
    assert abs(claims["iat"] - time.time()) < 60
    assert claims["exp"] - claims["iat"] == tokens["expires_in"]

    # The wrong audience or issuer fails in PyJWT too (the check is real).
    for kw in ({"audience": "other", "issuer": iss}, {"audience": iss, "issuer": "evil"}):
        try:
            jwt.decode(access, key, algorithms=["EdDSA"], **kw)
            raise AssertionError(f"PyJWT accepted {kw}")
        except jwt.PyJWTError:
            pass

    # Forgeries: another tenant in the claims with the old signature; alg none; a foreign key with
    # the published kid; HS256 keyed with the public key. PyJWT and the server both refuse them.
    h, p, s = access.split(".")
    forged_claims = dict(claims, tid="tnt_" + "0" * 24, sub="usr_" + "0" * 24)
    other_key = Ed25519PrivateKey.generate()
    forgeries = [
        f"{h}.{_b64(forged_claims)}.{s}",
        f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': header['kid']})}.{p}.",
        jwt.encode(claims, other_key, algorithm="EdDSA", headers={"kid": header["kid"]}),
        f"{_b64({'alg': 'HS256', 'typ': 'JWT', 'kid': header['kid']})}.{p}.{s}",
    ]
    for forged in forgeries:
        try:
            jwt.decode(forged, key, algorithms=["EdDSA"], audience=iss, issuer=iss)
            raise AssertionError(f"PyJWT accepted a forgery: {forged}")
        except jwt.PyJWTError:
            pass
        assert assert_401(srv.get("/api/v1/me", headers=bearer(forged))) in ("authentication_required",
                                                                             "invalid_token")
    assert me(srv, tokens)["tenant_id"] == t["tenant_id"]

    # The helper script agrees (independent CLI path).
    jwks_file = Path(srv.workdir) / "jwks.json"
    jwks_file.write_text(res.body.decode())
    out = subprocess.run([sys.executable, str(Path(__file__).with_name("jwt_interop_check.py")), str(jwks_file),
                          access, "--issuer", iss, "--audience", iss],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out
    bad = subprocess.run([sys.executable, str(Path(__file__).with_name("jwt_interop_check.py")), str(jwks_file),
                          forgeries[0], "--issuer", iss, "--audience", iss],
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode == 1, bad


# ------------------------------------------------------------------------------------------------
# 6. TOTP


def test_totp_enroll_confirm_step_up_replay_recovery_and_lockout(make_server):
    srv = dev(make_server)
    create_tenant(srv, "acme", ADA)
    tokens = sign_in(srv, ADA)
    auth = bearer(tokens)

    # Confirming before enrolling is refused.
    snap = state(srv)
    res = post(srv, "/api/v1/auth/mfa/totp/confirm", {"code": "123456"}, auth)
    assert 400 <= res.status < 500 and res.status != 401, res
    assert state(srv) == snap

    res = post(srv, "/api/v1/auth/mfa/totp", headers=auth)
    assert res.status == 201, res
    doc = res.json()
    secret = doc["secret"]
    base64.b32decode(secret + "=" * (-len(secret) % 8))  # valid base32
    assert doc["otpauth_uri"].startswith("otpauth://totp/") and f"secret={secret}" in doc["otpauth_uri"]
    assert me(srv, tokens)["mfa_enrolled"] is False  # not before confirmation

    # A wrong first code does not confirm.
    snap = state(srv)
    assert_error_body(post(srv, "/api/v1/auth/mfa/totp/confirm", {"code": wrong_code(secret)}, auth),
                      403, "mfa_invalid_code")
    assert [r[2] for r in state(srv)["mfa_totp"]] == [0]  # confirmed still 0
    assert state(srv)["mfa_recovery_codes"] == snap["mfa_recovery_codes"] == []

    code = totp(secret)
    res = post(srv, "/api/v1/auth/mfa/totp/confirm", {"code": code}, auth)
    assert res.status == 200, res
    doc = res.json()
    assert doc["status"] == "enrolled" and "mfa_verified_at" not in doc
    codes = doc["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(RECOVERY_RE.match(c) for c in codes), codes
    who = me(srv, tokens)
    # Confirmation is not a step-up: whoever holds only a session must not gain one by enrolling.
    assert who["mfa_enrolled"] is True and who["mfa_verified_at"] == 0
    assert_error_body(post(srv, "/api/v1/invites", {"email": "zed@acme.test", "role": "viewer"}, auth),
                      403, "mfa_required")
    # The account's address is told that two-factor authentication was turned on.
    deadline = time.monotonic() + 5
    while not any(m["to"] == "ada@acme.test" and m["subject"] == "Two-factor authentication was turned on"
                  for m in outbox(srv)):
        assert time.monotonic() < deadline, outbox(srv)
        time.sleep(0.02)
    assert_error_body(post(srv, "/api/v1/auth/mfa/totp", headers=auth), 409, "mfa_already_enrolled")

    # Step-up with TOTP: the code used for confirmation is refused (replay); the next step's code
    # works once, and is refused the second time.
    assert_error_body(post(srv, "/api/v1/auth/mfa/verify", {"code": code}, auth), 403, "mfa_invalid_code")
    nxt = totp(secret, time.time() + STEP)
    res = post(srv, "/api/v1/auth/mfa/verify", {"code": nxt}, auth)
    assert res.status == 200, res
    assert res.json()["status"] == "verified"
    assert_error_body(post(srv, "/api/v1/auth/mfa/verify", {"code": nxt}, auth), 403, "mfa_invalid_code")
    # A code for an earlier step than the last one used is refused as well.
    assert_error_body(post(srv, "/api/v1/auth/mfa/verify", {"code": totp(secret, time.time() - STEP)}, auth),
                      403, "mfa_invalid_code")

    # Recovery codes: each works once.
    rc = codes[3]
    res = post(srv, "/api/v1/auth/mfa/verify", {"code": rc}, auth)
    assert res.status == 200, res
    assert_error_body(post(srv, "/api/v1/auth/mfa/verify", {"code": rc}, auth), 403, "mfa_invalid_code")
    used = [r for r in state(srv)["mfa_recovery_codes"] if r[4] is not None]
    assert len(used) == 1, used
    # A success resets the failure count (the refusals above counted).
    assert post(srv, "/api/v1/auth/mfa/verify", {"code": codes[5]}, auth).status == 200
    assert [r[4] for r in state(srv)["mfa_totp"]] == [0]  # failures

    # Lockout, on a fresh session (no step-up yet): 5 failures lock; then a correct TOTP code and
    # an unused recovery code are refused too, and no high-impact action is allowed.
    fresh = sign_in(srv, ADA)
    fauth = bearer(fresh)
    assert_error_body(post(srv, "/api/v1/invites", {"email": "x@acme.test", "role": "viewer"}, fauth),
                      403, "mfa_required")
    bad = wrong_code(secret)
    answers = [post(srv, "/api/v1/auth/mfa/verify", {"code": bad}, fauth) for _ in range(5)]
    for r in answers[:4]:
        assert_error_body(r, 403, "mfa_invalid_code")
    assert answers[4].json()["error"]["code"] in ("mfa_invalid_code", "mfa_locked"), answers[4]
    snap = state(srv)
    for good in (totp(secret, time.time() + 2 * STEP), totp(secret), codes[0]):
        assert_error_body(post(srv, "/api/v1/auth/mfa/verify", {"code": good}, fauth), 403, "mfa_locked")
    after = state(srv)
    assert after["mfa_recovery_codes"] == snap["mfa_recovery_codes"]  # the recovery code was not spent
    assert me(srv, fresh)["mfa_verified_at"] == 0
    assert_error_body(post(srv, "/api/v1/invites", {"email": "x@acme.test", "role": "viewer"}, fauth),
                      403, "mfa_required")
    assert state(srv)["invites"] == []


# ------------------------------------------------------------------------------------------------
# 7. Invitations, roles, owner rules, step-up


def test_invites_roles_owner_rules_and_step_up(make_server):
    srv = dev(make_server)
    t = create_tenant(srv, "acme", ADA)
    ada = sign_in(srv, ADA)
    aauth = bearer(ada)
    owner_id = t["owner_user_id"]

    # Without MFA: every high-impact route is 403 mfa_required, nothing stored, no mail.
    snap = state(srv)
    assert_error_body(post(srv, "/api/v1/invites", {"email": "bob@acme.test", "role": "member"}, aauth),
                      403, "mfa_required")
    assert_error_body(send_json(srv, "PATCH", f"/api/v1/members/{owner_id}", {"role": "admin"}, aauth),
                      403, "mfa_required")
    assert_error_body(srv.request("DELETE", f"/api/v1/members/{owner_id}", headers=aauth), 403, "mfa_required")
    assert state(srv) == snap
    time.sleep(0.1)
    assert mail_count(srv, "bob@acme.test") == 0

    secret, codes = enroll(srv, ada)  # enrolled and stepped up with a recovery code
    # A new session of an enrolled member still needs its own step-up.
    ada2 = sign_in(srv, ADA)
    snap = state(srv)
    assert_error_body(post(srv, "/api/v1/invites", {"email": "bob@acme.test", "role": "member"}, bearer(ada2)),
                      403, "mfa_required")
    assert state(srv)["invites"] == snap["invites"] == []
    res = post(srv, "/api/v1/auth/mfa/verify", {"code": totp(secret, time.time() + STEP)}, bearer(ada2))
    assert res.status == 200, res

    # Invitations: 201, mailed token, accept once with the invited role.
    res = post(srv, "/api/v1/invites", {"email": "carol@acme.test", "role": "admin"}, bearer(ada2))
    assert res.status == 201, res
    doc = res.json()
    assert set(doc) == {"id", "email", "role", "expires_at"} and doc["role"] == "admin", doc
    assert doc["expires_at"] > time.time() + 6 * 86400
    carol_tok = wait_mail(srv, "carol@acme.test", INVITE_RE)
    assert carol_tok not in res.body.decode()
    carol = accept(srv, carol_tok)
    assert carol["tenant_id"] == t["tenant_id"]
    snap = state(srv)
    assert_error_body(post(srv, "/api/v1/auth/accept-invite", {"token": carol_tok}), 401, "invalid_token")
    assert_error_body(post(srv, "/api/v1/auth/accept-invite", {"token": "bwi_" + "A" * 43}), 401, "invalid_token")
    assert state(srv) == snap
    bob = accept(srv, invite(srv, ada, "bob@acme.test", "member"))
    vic = accept(srv, invite(srv, ada, "vic@acme.test", "viewer"))
    assert [me(srv, x)["role"] for x in (ada, carol, bob, vic)] == ["owner", "admin", "member", "viewer"]
    roster = members(srv, ada)
    assert sorted((m[1], m[2]) for m in roster) == [(ADA, "owner"), ("bob@acme.test", "member"),
                                                    ("carol@acme.test", "admin"), ("vic@acme.test", "viewer")]
    ids = {m[1]: m[0] for m in roster}
    assert members(srv, vic) == roster  # viewers may read members

    def refused(tokens, method, path, doc, status, code):
        before_state, before_mail = state(srv), mail_count(srv)
        if doc is None:
            res = srv.request(method, path, headers=bearer(tokens))
        else:
            res = send_json(srv, method, path, doc, bearer(tokens))
        assert_error_body(res, status, code)
        time.sleep(0.05)
        assert state(srv) == before_state and mail_count(srv) == before_mail, (method, path, doc)
        assert members(srv, ada) == roster

    # member and viewer lack the verbs (even with MFA).
    _, bcodes = enroll(srv, bob)
    refused(bob, "POST", "/api/v1/invites", {"email": "x@acme.test", "role": "viewer"}, 403, "permission_denied")
    refused(bob, "PATCH", f"/api/v1/members/{ids['vic@acme.test']}", {"role": "member"}, 403, "permission_denied")
    refused(bob, "DELETE", f"/api/v1/members/{ids['vic@acme.test']}", None, 403, "permission_denied")
    refused(vic, "POST", "/api/v1/invites", {"email": "x@acme.test", "role": "viewer"}, 403, "permission_denied")
    refused(vic, "DELETE", f"/api/v1/members/{ids['bob@acme.test']}", None, 403, "permission_denied")

    # admin (stepped up): no owner-making, -unmaking or -removing, no inviting above its role.
    _, ccodes = enroll(srv, carol)
    refused(carol, "POST", "/api/v1/invites", {"email": "x@acme.test", "role": "owner"}, 403, "owner_required")
    refused(carol, "PATCH", f"/api/v1/members/{owner_id}", {"role": "admin"}, 403, "owner_required")
    refused(carol, "PATCH", f"/api/v1/members/{ids['bob@acme.test']}", {"role": "owner"}, 403, "owner_required")
    refused(carol, "DELETE", f"/api/v1/members/{owner_id}", None, 403, "owner_required")
    refused(carol, "POST", "/api/v1/invites", {"email": "x@acme.test", "role": "root"}, 400, "invalid_role")
    res = send_json(srv, "PATCH", f"/api/v1/members/{ids['vic@acme.test']}", {"role": "member"}, bearer(carol))
    assert res.status == 200, res
    assert me(srv, vic)["role"] == "member"
    roster = members(srv, ada)

    # The last owner can be neither demoted nor removed.
    refused(ada, "PATCH", f"/api/v1/members/{owner_id}", {"role": "admin"}, 403, "last_owner")
    refused(ada, "DELETE", f"/api/v1/members/{owner_id}", None, 403, "last_owner")
    # An owner may make and unmake owners.
    assert send_json(srv, "PATCH", f"/api/v1/members/{ids['bob@acme.test']}", {"role": "owner"}, aauth).status == 200
    assert me(srv, bob)["role"] == "owner"
    assert send_json(srv, "PATCH", f"/api/v1/members/{ids['bob@acme.test']}", {"role": "member"}, aauth).status == 200
    assert me(srv, bob)["role"] == "member"
    roster = members(srv, ada)

    # A role change applies on the next request, same access token.
    assert send_json(srv, "PATCH", f"/api/v1/members/{ids['carol@acme.test']}", {"role": "viewer"},
                     aauth).status == 200
    assert me(srv, carol)["role"] == "viewer"
    roster = members(srv, ada)
    assert members(srv, carol) == roster
    refused(carol, "POST", "/api/v1/invites", {"email": "x@acme.test", "role": "viewer"}, 403, "permission_denied")

    # Unknown member ids are 404 (owner, stepped up).
    refused(ada, "PATCH", "/api/v1/members/usr_" + "0" * 24, {"role": "viewer"}, 404, "member_not_found")
    refused(ada, "DELETE", "/api/v1/members/usr_" + "0" * 24, None, 404, "member_not_found")

    # The audit trail names the refusals and the changes.
    res = srv.get("/api/v1/audit/events", headers=aauth)
    events = res.json()["events"]
    reasons = {e["reason"] for e in events if e["result"] == "denied"}
    assert {"mfa_required", "permission_denied", "owner_required", "last_owner"} <= reasons, reasons


# ------------------------------------------------------------------------------------------------
# 9. No secret at rest


def _data_files(data_dir):
    return {p: p.read_bytes() for p in Path(data_dir).rglob("*") if p.is_file()}


def _token_bytes(tok):
    body = tok.split("_", 1)[1]
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))


def test_database_holds_no_token_secret_or_code(make_server):
    srv = dev(make_server)
    create_tenant(srv, "acme", ADA)
    texts = []  # secrets as text
    raws = []  # secrets as raw bytes

    magic = request_link(srv, ADA)
    texts.append(magic)
    res = verify(srv, magic)
    ada = res.json()
    res = post(srv, "/api/v1/auth/refresh", {"refresh_token": ada["refresh_token"]})
    ada2 = res.json()
    texts += [ada["access_token"], ada["refresh_token"], ada2["access_token"], ada2["refresh_token"]]
    pending_magic = request_link(srv, ADA)  # never used: still stored, must be hashed
    texts.append(pending_magic)

    res = post(srv, "/api/v1/auth/mfa/totp", headers=bearer(ada2))
    secret = res.json()["secret"]
    seed = base64.b32decode(secret + "=" * (-len(secret) % 8))
    res = post(srv, "/api/v1/auth/mfa/totp/confirm", {"code": totp(secret)}, bearer(ada2))
    codes = res.json()["recovery_codes"]
    assert post(srv, "/api/v1/auth/mfa/verify", {"code": codes[0]}, bearer(ada2)).status == 200
    texts += [secret, secret.lower()]
    raws += [seed, seed.hex().encode(), base64.b64encode(seed)]
    for c in codes:
        core = c.split("-", 1)[1]
        texts += [c, core, core.replace("-", ""), c.lower()]

    bob_inv = invite(srv, ada2, "bob@acme.test", "member")
    pending_inv = invite(srv, ada2, "carl@acme.test", "viewer")  # never accepted
    bob = accept(srv, bob_inv)
    texts += [bob_inv, pending_inv, bob["access_token"], bob["refresh_token"]]
    assert post(srv, "/api/v1/auth/logout", headers=bearer(bob)).status == 204

    for t in texts:
        if t.startswith(("bwm_", "bwi_", "bwr_")):
            raws.append(_token_bytes(t))
        if t.startswith("eyJ"):
            texts.append(t.split(".")[2])  # the signature alone
    needles = [t.encode() for t in texts] + raws

    def scan(files, when):
        for path, data in files.items():
            for n in needles:
                assert n not in data, f"{when}: a secret ({n[:12]!r}...) is in {path}"

    scan(_data_files(srv.data_dir), "running")  # the WAL as it is before the checkpoint
    assert srv.stop() == 0
    scan(_data_files(srv.data_dir), "stopped")

    with db_for(srv, readonly=True) as db:
        tables = db.tables()
    assert {"magic_links", "refresh_tokens", "invites", "mfa_totp", "mfa_recovery_codes"} <= set(tables)
    assert scan_store(srv, needles) > 30


# ------------------------------------------------------------------------------------------------
# 10. Malformed, oversized and wrong-type bodies


def test_bad_bodies_on_identity_routes_are_4xx_and_change_nothing(make_server):
    srv = dev(make_server)
    t = create_tenant(srv, "acme", ADA)
    ada = sign_in(srv, ADA)
    _, codes = enroll(srv, ada)
    bob = accept(srv, invite(srv, ada, "bob@acme.test", "member"))
    res = post(srv, "/api/v1/auth/mfa/totp", headers=bearer(bob))  # pending enrollment for confirm
    bob_secret = res.json()["secret"]
    inv = invite(srv, ada, "carl@acme.test", "viewer")
    magic = request_link(srv, ADA)
    second = sign_in(srv, ADA)  # a refresh token nobody rotates until the end

    # (method, path, headers, a valid body whose extra/missing/wrong-type variants are refused)
    routes = [
        ("POST", "/api/v1/auth/request", {}, {"email": "bob@acme.test"}),
        ("POST", "/api/v1/auth/verify", {}, {"token": magic}),
        ("POST", "/api/v1/auth/refresh", {}, {"refresh_token": second["refresh_token"]}),
        ("POST", "/api/v1/auth/accept-invite", {}, {"token": inv}),
        ("POST", "/api/v1/auth/mfa/totp/confirm", bearer(bob), None),  # code filled in below
        ("POST", "/api/v1/auth/mfa/verify", bearer(ada), {"code": codes[0]}),
        ("POST", "/api/v1/invites", bearer(ada), {"email": "dan@acme.test", "role": "viewer"}),
        ("PATCH", f"/api/v1/members/{bob['user_id']}", bearer(ada), {"role": "viewer"}),
    ]

    def send(method, path, headers, body, ctype="application/json"):
        h = dict(headers)
        if ctype is not None:
            h["Content-Type"] = ctype
        return srv.request(method, path, headers=h, body=body)

    for method, path, headers, good in routes:
        if good is None:
            good = {"code": totp(bob_secret)}
        key = next(iter(good))
        text = json.dumps(good)
        cases = [
            (send(method, path, headers, text, "text/plain"), 415, "unsupported_media_type"),
            (send(method, path, headers, text, None), 415, "unsupported_media_type"),
            (send(method, path, headers, text[:-3]), 400, "malformed_json"),
            (send(method, path, headers, "not json"), 400, "malformed_json"),
            (send(method, path, headers, b'{"' + key.encode() + b'":"\xff\xfe"}'), 400, "invalid_utf8"),
            (send(method, path, headers, json.dumps([good])), 400, "invalid_body"),
            (send(method, path, headers, json.dumps(good[key])), 400, "invalid_body"),
            (send(method, path, headers, "{}"), 400, "invalid_body"),
            (send(method, path, headers, json.dumps({**good, "extra": "x"})), 400, "invalid_body"),
            (send(method, path, headers, json.dumps({**good, key: 123})), 400, "invalid_body"),
            (send(method, path, headers, json.dumps({**good, key: None})), 400, "invalid_body"),
            (send(method, path, headers, json.dumps({**good, key: [good[key]]})), 400, "invalid_body"),
            (send(method, path, headers, text + " " * 5000), 413, "payload_too_large"),
        ]
        if len(good) > 1:  # one required member missing
            cases.append((send(method, path, headers, json.dumps({key: good[key]})), 400, "invalid_body"))
        snap, mails = state(srv), mail_count(srv)
        for res, status, code in cases:
            assert res.status == status, (method, path, status, code, res)
            assert_error_body(res, status, code)
        time.sleep(0.05)
        assert state(srv) == snap, (method, path)
        assert mail_count(srv) == mails, (method, path)
        # Positive control: the valid body still works (nothing above consumed it).
        res = send(method, path, headers, text)
        assert 200 <= res.status < 300, (method, path, res)

    res = post(srv, "/api/v1/auth/request", {"email": "not-an-email"})
    assert_error_body(res, 400, "invalid_email")
    # No body at all (no length: an empty body, RFC 9112 section 6.3): not JSON, 400.
    res = srv.raw(f"POST /api/v1/auth/request HTTP/1.1\r\nHost: {srv.address}\r\nConnection: close\r\n"
                  "Content-Type: application/json\r\n\r\n".encode())
    assert_error_body(res, 400, "malformed_json")
    assert me(srv, ada)["tenant_id"] == t["tenant_id"]


# ------------------------------------------------------------------------------------------------
# 11. Rate limits


def _retry_after(res):
    assert_error_body(res, 429, "rate_limited")
    value = res.header("Retry-After")
    assert value is not None and value.isdigit() and int(value) > 0, res
    return int(value)


def test_rate_limit_per_email_alone(make_server):
    ip_loose = [r for r in LOOSE_RULES if " email " not in r]
    srv = make_server(dev=True, settings={"rate_limit.rules": ip_loose})
    create_tenant(srv, "acme", ADA)
    for i in range(5):
        assert post(srv, "/api/v1/auth/request", {"email": ADA}).status == 202
    time.sleep(0.2)
    assert mail_count(srv, ADA) == 5
    snap = state(srv)
    assert _retry_after(post(srv, "/api/v1/auth/request", {"email": ADA})) <= 600
    time.sleep(0.2)
    assert mail_count(srv, ADA) == 5 and state(srv) == snap
    # The bucket is the address, not the client: another address is still served...
    assert post(srv, "/api/v1/auth/request", {"email": "bob@acme.test"}).status == 202
    # ...and unknown addresses are limited the same way (no existence oracle via 429).
    for i in range(5):
        assert post(srv, "/api/v1/auth/request", {"email": "ghost@acme.test"}).status == 202
    _retry_after(post(srv, "/api/v1/auth/request", {"email": "ghost@acme.test"}))
    # Case variants of one address share the bucket.
    _retry_after(post(srv, "/api/v1/auth/request", {"email": "ADA@acme.test"}))


def test_rate_limit_per_ip_alone_and_on_verify_and_accept_invite(make_server):
    email_loose = ["POST /api/v1/auth/request email 1000/1m"]
    srv = make_server(dev=True, settings={"rate_limit.rules": email_loose})
    create_tenant(srv, "acme", ADA)
    for i in range(5):
        assert post(srv, "/api/v1/auth/request", {"email": f"u{i}@acme.test"}).status == 202
    _retry_after(post(srv, "/api/v1/auth/request", {"email": ADA}))
    time.sleep(0.2)
    assert mail_count(srv, ADA) == 0
    # verify and accept-invite: 20 per IP by default.
    for path in ("/api/v1/auth/verify", "/api/v1/auth/accept-invite"):
        for i in range(20):
            assert_error_body(post(srv, path, {"token": "garbage"}), 401, "invalid_token")
        _retry_after(post(srv, path, {"token": "garbage"}))
    assert srv.stop() == 0
    limited = [e for e in ledger(srv) if e["reason"] == "rate_limited"]
    assert len(limited) >= 3, limited


def test_invalid_rate_limit_rule_refuses_to_start(tmp_path):
    for rule in ("nonsense", "POST /api/v1/auth/request ip 0/1m", "POST /api/v1/auth/request bogus 5/1m",
                 "POST /api/v1/auth/request ip 5/1x"):
        conf = tmp_path / "bulwark.toml"
        conf.write_text(render_toml({"server.public_url": "https://bulwark.example.com",
                                     "rate_limit.rules": [rule]}))
        data = tmp_path / f"data-{abs(hash(rule))}"
        env = {"BULWARK_MASTER_KEY": b64key()}
        res = run_cli(["serve", "--config", conf, "--listen", "127.0.0.1:0", "--data", data], env=env, cwd=tmp_path,
                      timeout=20)
        assert not res.timed_out, (rule, res)
        assert res.returncode == EXIT_REFUSED, (rule, res)
        assert "rate_limit" in res.stderr, (rule, res)
        assert not data.exists() or not any(data.iterdir()), rule
        chk = run_cli(["config", "check", "--config", conf, "--data", data], env=env, cwd=tmp_path)
        assert chk.returncode == 1 and "rate_limit" in chk.output, (rule, chk)


# ------------------------------------------------------------------------------------------------
# Duplicate member names in a body.


def test_duplicate_member_names_in_identity_bodies_are_refused(make_server):
    """Two values for one member are ambiguous (a proxy may read the first, the server the last);
    the rest of Bulwark (canonical JSON, JWT, receipts) refuses duplicate names, so must these bodies."""
    srv = dev(make_server)
    create_tenant(srv, "acme", ADA)
    res = srv.request("POST", "/api/v1/auth/request", headers=JSON,
                      body='{"email":"nobody@acme.test","email":"ada@acme.test"}')
    assert res.status == 400, res
    assert res.json()["error"]["code"] in ("invalid_body", "malformed_json", "duplicate_key"), res
    time.sleep(0.2)
    assert mail_count(srv) == 0

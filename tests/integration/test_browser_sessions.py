"""Browser-mode sessions: the tokens in __Host- cookies (HttpOnly, Secure, SameSite=Strict,
Path=/, no Domain), and a CSRF token that every state-changing request made with them must echo
in X-CSRF-Token; a cross-site request carrying the cookies but not the header changes nothing."""
import json

from conftest import assert_error_body
from identity_helpers import LOOSE, create_tenant, post, request_link, state

import pytest

ACCESS, REFRESH, CSRF = "__Host-bulwark_access", "__Host-bulwark_refresh", "__Host-bulwark_csrf"


@pytest.fixture
def srv(make_server):
    s = make_server(dev=True, settings=LOOSE)
    create_tenant(s, "acme", "ada@acme.test")
    return s


def cookies_of(res):
    """{name: (value, attributes)} from the Set-Cookie headers."""
    out = {}
    for line in res.headers_named("Set-Cookie"):
        first, _, attrs = line.partition(";")
        name, _, value = first.partition("=")
        out[name] = (value, [a.strip() for a in attrs.split(";") if a.strip()])
    return out


def jar_header(jar):
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())}


def browser_sign_in(srv):
    res = post(srv, "/api/v1/auth/verify", {"token": request_link(srv, "ada@acme.test"), "delivery": "cookie"})
    assert res.status == 200, res
    return res


def test_sign_in_sets_host_prefixed_httponly_strict_cookies_and_no_tokens_in_the_body(srv):
    res = browser_sign_in(srv)
    doc = res.json()
    assert doc["token_type"] == "cookie"
    assert "access_token" not in doc and "refresh_token" not in doc
    cookies = cookies_of(res)
    assert set(cookies) == {ACCESS, REFRESH, CSRF}
    for name, (value, attrs) in cookies.items():
        assert value, name
        assert "Path=/" in attrs and "Secure" in attrs and "SameSite=Strict" in attrs, (name, attrs)
        assert not any(a.lower().startswith("domain") for a in attrs), (name, attrs)  # __Host- rules
        assert ("HttpOnly" in attrs) == (name != CSRF), (name, attrs)
    assert cookies[CSRF][0] == doc["csrf_token"]
    assert cookies[ACCESS][0].count(".") == 2 and cookies[REFRESH][0].startswith("bwr_")


def test_reads_need_only_the_cookie_and_changes_need_the_csrf_header(srv):
    cookies = {k: v for k, (v, _) in cookies_of(browser_sign_in(srv)).items()}
    jar = jar_header(cookies)
    res = srv.get("/api/v1/me", headers=jar)
    assert res.status == 200, res
    assert res.json()["email"] == "ada@acme.test"
    before = state(srv)
    # A cross-site form post carries the cookies but cannot read or set the CSRF cookie.
    for headers in (jar, {**jar, "X-CSRF-Token": "forged" * 8}, {**jar, "X-CSRF-Token": ""}):
        res = srv.request("POST", "/api/v1/auth/logout", headers=headers, body="")
        assert_error_body(res, 403, "csrf_failed")
    assert state(srv) == before
    assert srv.get("/api/v1/me", headers=jar).status == 200  # still signed in
    # Without the CSRF cookie, even a matching-looking header is refused.
    no_csrf = jar_header({ACCESS: cookies[ACCESS]})
    assert_error_body(srv.request("POST", "/api/v1/auth/logout", headers={**no_csrf, "X-CSRF-Token": cookies[CSRF]},
                                  body=""), 403, "csrf_failed")
    res = srv.request("POST", "/api/v1/auth/logout", headers={**jar, "X-CSRF-Token": cookies[CSRF]}, body="")
    assert res.status == 204, res
    cleared = cookies_of(res)
    assert set(cleared) == {ACCESS, REFRESH, CSRF}
    assert all(v == "" and "Max-Age=0" in attrs for v, attrs in cleared.values()), cleared
    assert_error_body(srv.get("/api/v1/me", headers=jar), 401, "session_revoked")


def test_refresh_from_the_cookie_needs_the_csrf_header_and_rotates_the_cookies(srv):
    cookies = {k: v for k, (v, _) in cookies_of(browser_sign_in(srv)).items()}
    jar = {**jar_header(cookies), "Content-Type": "application/json"}
    body = json.dumps({"delivery": "cookie"})
    before = state(srv)
    assert_error_body(srv.request("POST", "/api/v1/auth/refresh", headers=jar, body=body), 403, "csrf_failed")
    assert state(srv) == before
    res = srv.request("POST", "/api/v1/auth/refresh", headers={**jar, "X-CSRF-Token": cookies[CSRF]}, body=body)
    assert res.status == 200, res
    fresh = {k: v for k, (v, _) in cookies_of(res).items()}
    assert fresh[REFRESH] != cookies[REFRESH] and fresh[ACCESS] != cookies[ACCESS]
    assert srv.get("/api/v1/me", headers=jar_header(fresh)).status == 200
    # The old refresh cookie is now a rotated token: replaying it revokes the session.
    res = srv.request("POST", "/api/v1/auth/refresh", headers={**jar, "X-CSRF-Token": cookies[CSRF]}, body=body)
    assert_error_body(res, 401, "refresh_reused")
    assert_error_body(srv.get("/api/v1/me", headers=jar_header(fresh)), 401, "session_revoked")


def test_delivery_must_be_body_or_cookie(srv):
    res = post(srv, "/api/v1/auth/verify", {"token": request_link(srv, "ada@acme.test"), "delivery": "url"})
    assert_error_body(res, 400, "invalid_delivery")

"""Security headers on every response, request ids, and CORS."""
import re

import pytest

from conftest import assert_error_body
from pg_helpers import store_outage

ALLOWED_ORIGIN = "https://app.example.com"
REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def _send(srv, kind):
    """One response of each kind the server can produce now."""
    host = srv.address
    if kind == 200:
        return srv.get("/livez")
    if kind == 404:
        return srv.get("/no/such/route")
    if kind == 405:
        return srv.request("POST", "/livez", body=b"")
    if kind == 400:
        return srv.raw(b"\x16\x03\x01\x02\x00garbage-not-http\r\n\r\n")
    if kind == 413:
        return srv.raw(f"POST /livez HTTP/1.1\r\nHost: {host}\r\nContent-Length: 100000000\r\n\r\n".encode())
    if kind == 431:
        return srv.raw(f"GET /livez HTTP/1.1\r\nHost: {host}\r\nX-Pad: {'a' * 20000}\r\n\r\n".encode())
    raise AssertionError(kind)


def _assert_baseline_headers(res, production):
    h = res.headers
    ctype = h.get("content-type", "")
    assert re.search(r";\s*charset=utf-8", ctype, re.I), (res.status, ctype)
    assert h.get("x-content-type-options") == "nosniff", res
    assert h.get("referrer-policy") == "no-referrer", res
    pp = h.get("permissions-policy")
    assert pp, res
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert f"{feature}=()" in pp, (feature, pp)
    assert "*" not in pp and "self" not in pp, pp
    assert h.get("x-frame-options") == "DENY", res
    csp = h.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in csp, csp
    assert h.get("cache-control") == "no-store", res
    hsts = h.get("strict-transport-security")
    if production:
        assert hsts, res
        m = re.search(r"max-age=(\d+)", hsts)
        assert m and int(m.group(1)) >= 31536000, hsts
        assert "includesubdomains" in hsts.lower(), hsts
    else:
        assert hsts is None, res
    rid = h.get("x-request-id")
    assert rid and REQUEST_ID_RE.match(rid), res


# (No 411: a request without a length has no body and reaches its route; 413 and 431 are the
# answers given before a request is whole.)
@pytest.mark.parametrize("status", [200, 404, 405, 400, 413, 431])
@pytest.mark.parametrize("mode", ["production", "dev"])
def test_security_headers_on_every_response(make_server, mode, status):
    srv = make_server(dev=(mode == "dev"))
    res = _send(srv, status)
    assert res.status == status, res
    _assert_baseline_headers(res, production=(mode == "production"))


def test_security_headers_on_503(prod_server):
    with store_outage(prod_server):
        res = prod_server.get("/readyz")
    assert res.status == 503, res
    _assert_baseline_headers(res, production=True)


def test_request_id_echoed_when_valid(prod_server):
    for rid in ("abc-123", "a.b_c:d-E9", "x" * 128):
        res = prod_server.get("/livez", {"X-Request-ID": rid})
        assert res.header("X-Request-ID") == rid
        res = prod_server.get("/nope", {"X-Request-ID": rid})
        assert res.header("X-Request-ID") == rid
        assert res.json()["error"]["request_id"] == rid


@pytest.mark.parametrize("rid", ["has space", "x" * 129, "y" * 200, "a/b", "<script>", "id;drop"],
                         ids=["space", "129-chars", "200-chars", "slash", "angle", "semicolon"])
def test_request_id_regenerated_when_invalid(prod_server, rid):
    res = prod_server.get("/nope", {"X-Request-ID": rid})
    got = res.header("X-Request-ID")
    assert got and got != rid and REQUEST_ID_RE.match(got), got
    assert rid not in res.body.decode(), res
    assert res.json()["error"]["request_id"] == got


def test_request_id_fresh_per_request(prod_server):
    ids = {prod_server.get("/livez").header("X-Request-ID") for _ in range(5)}
    assert len(ids) == 5, ids
    for rid in ids:
        assert len(rid) >= 16, rid


def test_request_id_on_rejected_request_is_echoed(prod_server):
    host = prod_server.address
    res = prod_server.raw(f"POST /livez HTTP/1.1\r\nHost: {host}\r\nX-Request-ID: big-1\r\n"
                          f"Content-Length: 100000000\r\n\r\n".encode())
    assert res.status == 413, res
    assert res.header("X-Request-ID") == "big-1"
    assert res.json()["error"]["request_id"] == "big-1"


@pytest.fixture
def cors_server(make_server):
    return make_server(settings={"cors.allowed_origins": [ALLOWED_ORIGIN, "https://other.example.org:8443"]})


def test_cors_allowed_origin_gets_exact_origin(cors_server):
    res = cors_server.get("/livez", {"Origin": ALLOWED_ORIGIN})
    assert res.status == 200
    assert res.headers_named("Access-Control-Allow-Origin") == [ALLOWED_ORIGIN]
    res = cors_server.get("/livez", {"Origin": "https://other.example.org:8443"})
    assert res.headers_named("Access-Control-Allow-Origin") == ["https://other.example.org:8443"]


@pytest.mark.parametrize("origin", ["https://evil.example.com", "null", "https://app.example.com.evil.io",
                                    "http://app.example.com", "https://APP.example.com.", "*"])
def test_cors_other_origins_get_no_allow_origin(cors_server, origin):
    res = cors_server.get("/livez", {"Origin": origin})
    assert res.status == 200
    assert res.header("Access-Control-Allow-Origin") is None, res
    assert res.header("Access-Control-Allow-Credentials") is None, res


def test_cors_no_origin_header_no_cors_headers(cors_server):
    res = cors_server.get("/livez")
    assert res.header("Access-Control-Allow-Origin") is None


def test_cors_preflight_allowed(cors_server):
    res = cors_server.request("OPTIONS", "/livez", {
        "Origin": ALLOWED_ORIGIN, "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "X-Request-ID"})
    assert res.status == 204, res
    assert res.body == b""
    assert res.header("Access-Control-Allow-Origin") == ALLOWED_ORIGIN
    assert "GET" in res.header("Access-Control-Allow-Methods", "")
    assert res.header("X-Content-Type-Options") == "nosniff"
    assert res.header("Strict-Transport-Security")


def test_cors_preflight_disallowed_origin(cors_server):
    res = cors_server.request("OPTIONS", "/livez", {
        "Origin": "https://evil.example.com", "Access-Control-Request-Method": "GET"})
    assert_error_body(res, 403, "cors_denied")
    assert res.header("Access-Control-Allow-Origin") is None
    assert res.header("Access-Control-Allow-Methods") is None
    _assert_baseline_headers(res, production=True)


def test_cors_preflight_with_no_configured_origins(prod_server):
    res = prod_server.request("OPTIONS", "/livez", {
        "Origin": ALLOWED_ORIGIN, "Access-Control-Request-Method": "GET"})
    assert_error_body(res, 403, "cors_denied")
    assert res.header("Access-Control-Allow-Origin") is None

"""Bad requests get a clear 4xx with a stable code in the one error shape."""
import re
import socket
import time
from pathlib import Path

import pytest

from conftest import REPO, assert_error_body, read_response, wait_closed

# Internal details an error message must never show.
LEAK_RE = re.compile(r"(/[a-z0-9_.-]+){2,}|\.cc\b|\.h\b|sqlite|SELECT |INSERT |UPDATE |DELETE |"
                     r"boost|std::|exception|errno|what\(\)", re.I)


def _no_leak(res, srv):
    text = res.body.decode(errors="replace")
    assert not LEAK_RE.search(res.json()["error"]["message"]), text
    assert str(srv.workdir) not in text and str(REPO) not in text, text


def test_404_unknown_route(prod_server):
    for path in ("/nope", "/api/v1/whatever", "/livez/extra", "/LIVEZ", "//livez", "/a/../livez"):
        res = prod_server.get(path)
        assert_error_body(res, 404, "not_found")
        _no_leak(res, prod_server)


def test_405_with_allow_header(prod_server):
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        res = prod_server.request(method, "/livez", body=b"")
        err = assert_error_body(res, 405, "method_not_allowed")
        allow = [m.strip() for m in res.header("Allow", "").split(",")]
        assert sorted(allow) == ["GET", "HEAD"], res.header("Allow")
        _no_leak(res, prod_server)
        assert err["message"]


def test_trace_is_405_and_never_echoes(prod_server):
    marker = "X-Echo-Marker: trace-secret-value-123"
    res = prod_server.raw(f"TRACE /livez HTTP/1.1\r\nHost: {prod_server.address}\r\n{marker}\r\n"
                          f"Connection: close\r\n\r\n".encode())
    assert_error_body(res, 405, "method_not_allowed")
    assert b"trace-secret-value-123" not in res.raw
    assert b"message/http" not in res.raw.lower()
    res = prod_server.raw(f"TRACE /nope HTTP/1.1\r\nHost: {prod_server.address}\r\n{marker}\r\n"
                          f"Connection: close\r\n\r\n".encode())
    assert res.status == 405, res
    assert b"trace-secret-value-123" not in res.raw


def test_post_without_length_has_no_body_and_reaches_its_route(prod_server):
    # Neither Content-Length nor Transfer-Encoding: no body (RFC 9112 section 6.3), what
    # `curl -XPOST` sends; the route decides (here: /livez takes only GET).
    res = prod_server.raw(f"POST /livez HTTP/1.1\r\nHost: {prod_server.address}\r\n\r\n".encode())
    assert_error_body(res, 405, "method_not_allowed")


def test_413_declared_length_answered_without_reading_body(prod_server):
    with prod_server.connect() as s:
        s.sendall(f"POST /livez HTTP/1.1\r\nHost: {prod_server.address}\r\n"
                  f"Content-Length: 100000000\r\n\r\n".encode())
        start = time.monotonic()
        res = read_response(s, timeout=2.0)
        elapsed = time.monotonic() - start
    assert elapsed < 2.0
    assert_error_body(res, 413, "payload_too_large")
    assert res.header("Connection", "").lower() == "close", res


def test_413_just_over_default_limit(prod_server):
    limit = 1024 * 1024
    with prod_server.connect() as s:
        s.sendall(f"PUT /livez HTTP/1.1\r\nHost: {prod_server.address}\r\n"
                  f"Content-Length: {limit + 1}\r\n\r\n".encode())
        res = read_response(s, timeout=2.0)
    assert_error_body(res, 413, "payload_too_large")


def test_body_at_limit_is_not_413(prod_server):
    # Exactly 1 MiB is allowed by size; the route then refuses it for its own reason.
    body = b"x" * (1024 * 1024)
    res = prod_server.request("GET", "/livez", body=body, timeout=20)
    assert res.status != 413, res
    assert_error_body(res, 400, "unexpected_body")


def test_413_chunked_body_over_limit(prod_server):
    chunk = b"y" * 65536
    with prod_server.connect(timeout=20) as s:
        s.sendall(f"POST /livez HTTP/1.1\r\nHost: {prod_server.address}\r\n"
                  f"Transfer-Encoding: chunked\r\n\r\n".encode())
        try:
            for _ in range(20):  # 1.25 MiB in total
                s.sendall(b"10000\r\n" + chunk + b"\r\n")
            s.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        res = read_response(s, timeout=10)
    assert_error_body(res, 413, "payload_too_large")


def test_431_one_large_header(prod_server):
    res = prod_server.raw(f"GET /livez HTTP/1.1\r\nHost: {prod_server.address}\r\n"
                          f"X-Pad: {'b' * 17000}\r\n\r\n".encode())
    assert_error_body(res, 431, "headers_too_large")


@pytest.mark.parametrize("fields", [17, 20, 30])
def test_431_many_header_fields_over_16k(prod_server, fields):
    # The limit is on the whole header block, however it is split into fields.
    pad = "".join(f"X-Pad-{i}: {'b' * 1000}\r\n" for i in range(fields))  # > 16 KiB in total
    res = prod_server.raw(f"GET /livez HTTP/1.1\r\nHost: {prod_server.address}\r\n{pad}\r\n".encode())
    assert_error_body(res, 431, "headers_too_large")


def test_headers_under_limit_are_fine(prod_server):
    pad = "".join(f"X-Pad-{i}: {'b' * 1000}\r\n" for i in range(12))  # ~12 KiB
    res = prod_server.raw(f"GET /livez HTTP/1.1\r\nHost: {prod_server.address}\r\n{pad}"
                          f"Connection: close\r\n\r\n".encode())
    assert res.status == 200, res


@pytest.mark.parametrize("line", [
    b"GET\r\n\r\n",
    b"GET /livez\r\n\r\n",
    b"GET /livez HTTP/9.9\r\n\r\n",
    b"GET /li vez HTTP/1.1\r\nHost: x\r\n\r\n",
    b"G@T /livez HTTP/1.1\r\nHost: x\r\n\r\n",
], ids=["method-only", "no-version", "bad-version", "space-in-target", "bad-method-token"])
def test_400_malformed_request_line(prod_server, line):
    res = prod_server.raw(line)
    assert res.status == 400, res
    err = assert_error_body(res, 400, res.json()["error"]["code"])
    assert err["code"] in ("malformed_request", "malformed_target"), err
    _no_leak(res, prod_server)


@pytest.mark.parametrize("data", [
    b"\x00\x01\x02\x03\xff\xfe\r\n\r\n",
    b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + bytes(range(32)) + b"\r\n\r\n",
    b"GET /livez HTTP/1.1\r\nBad Header Without Colon\r\n\r\n",
    b"GET /livez HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    b"GET /livez HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
], ids=["binary", "tls-hello", "header-no-colon", "bad-content-length", "double-content-length"])
def test_400_garbage(prod_server, data):
    res = prod_server.raw(data)
    assert_error_body(res, 400, "malformed_request")
    _no_leak(res, prod_server)


@pytest.mark.parametrize("target", ["*", "http://x/livez", "livez"])
def test_400_request_target_not_a_path(prod_server, target):
    res = prod_server.raw(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    assert_error_body(res, 400, "malformed_target")


def test_http_1_0_is_answered_and_closed(prod_server):
    with prod_server.connect() as s:
        s.sendall(b"GET /livez HTTP/1.0\r\n\r\n")
        res = read_response(s, 10)
        assert res.raw.startswith(b"HTTP/1.0 200") or res.raw.startswith(b"HTTP/1.1 200"), res
        assert wait_closed(s, 5) is not None


def test_400_unexpected_body_on_get(prod_server):
    res = prod_server.request("GET", "/livez", body=b"hello")
    err = assert_error_body(res, 400, "unexpected_body")
    _no_leak(res, prod_server)
    assert "hello" not in err["message"]


def test_server_keeps_serving_after_errors(prod_server):
    prod_server.raw(b"\x00\x01garbage\r\n\r\n")
    prod_server.raw(f"POST /livez HTTP/1.1\r\nContent-Length: 100000000\r\n\r\n".encode())
    assert prod_server.get("/livez").status == 200


def test_keep_alive_connection_serves_several_requests(prod_server):
    with prod_server.connect() as s:
        for i in range(3):
            s.sendall(f"GET /livez HTTP/1.1\r\nHost: x\r\nX-Request-ID: ka-{i}\r\n\r\n".encode())
            res = read_response(s, 10)
            assert res.status == 200 and res.header("X-Request-ID") == f"ka-{i}"
        # An error on a route does not end the connection; the 404 is a normal response.
        s.sendall(b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_response(s, 10).status == 404
        s.sendall(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_response(s, 10).status == 200


def _json_routes():
    api = REPO / "src" / "api"
    return [p for p in api.rglob("*.cc") if "BodyKind::kJson" in p.read_text(errors="replace")]


@pytest.mark.parametrize("case", ["415_wrong_content_type", "400_malformed_json", "400_invalid_utf8"])
def test_json_body_errors(case, make_server):
    assert _json_routes(), "no route takes a JSON body any more: pick the route these cases use"
    # A JSON route every build has: the dev overlay's receipt issuer (src/api/receipt_routes.cc).
    srv = make_server(dev=True)
    path = "/api/v1/local/receipts"
    json_type = {"Content-Type": "application/json"}
    if case == "415_wrong_content_type":
        res = srv.request("POST", path, headers={"Content-Type": "text/plain"},
                          body='{"tenant":"acme","email":"a@example.com"}')
        assert_error_body(res, 415, "unsupported_media_type")
    elif case == "400_malformed_json":
        res = srv.request("POST", path, headers=json_type, body='{"tenant":"acme",')
        assert_error_body(res, 400, "malformed_json")
    else:
        res = srv.request("POST", path, headers=json_type, body=b'{"tenant":"acme","email":"\xff"}')
        assert_error_body(res, 400, "invalid_utf8")
    _no_leak(res, srv)
    # Nothing was issued: the first real receipt of the tenant is still seq 1.
    ok = srv.request("POST", path, headers=json_type, body='{"tenant":"acme","email":"a@example.com"}')
    assert ok.status == 201, ok
    assert '\\"seq\\":1' in ok.body.decode(), ok

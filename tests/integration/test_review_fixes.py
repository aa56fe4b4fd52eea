"""Request-framing, host and operator-boundary rules found in the security review."""
import pytest

from conftest import render_toml, run_cli, wait_closed

NOT_OPERATOR = {"operator.allow_cidrs": ["10.0.0.0/8"]}


def _exchange(srv, raw):
    """Sends `raw` and reads until the server closes; everything it answered."""
    with srv.connect() as s:
        s.sendall(raw)
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
    return data


@pytest.mark.parametrize("te", ["gzip", "chunked, identity", "identity"])
def test_a_transfer_encoding_that_is_not_chunked_is_refused_and_the_connection_closed(make_server, te):
    srv = make_server()
    smuggled = b"GET /build-info HTTP/1.1\r\nHost: x\r\n\r\n"
    raw = (f"GET /livez HTTP/1.1\r\nHost: {srv.address}\r\nTransfer-Encoding: {te}\r\n\r\n").encode() + smuggled
    data = _exchange(srv, raw)
    assert data.startswith(b"HTTP/1.1 400 "), data[:200]
    assert data.count(b"HTTP/1.1 ") == 1, "the smuggled request was answered"
    assert b"malformed_request" in data


@pytest.mark.parametrize("fold", [b"\r\n chunked", b"\r\n\tchunked", b" x\r\n chunked"])
def test_an_obs_folded_transfer_encoding_is_refused(make_server, fold):
    # Beast joins a folded line into "chunked"; a proxy that does not would frame the body by
    # Content-Length, and the chunk below would be a second request to one of them.
    srv = make_server()
    smuggled = b"GET /build-info HTTP/1.1\r\nHost: x\r\n\r\n"
    body = b"0\r\n\r\n" + smuggled
    raw = (f"POST /api/v1/auth/request HTTP/1.1\r\nHost: {srv.address}\r\nContent-Type: application/json\r\n"
           f"Content-Length: {len(body)}\r\nTransfer-Encoding:").encode() + fold + b"\r\n\r\n" + body
    data = _exchange(srv, raw)
    assert data.startswith(b"HTTP/1.1 400 "), data[:300]
    assert data.count(b"HTTP/1.1 ") == 1, "a request after the folded header was answered"
    assert b"malformed_request" in data and b"folding" in data, data[:400]


def test_obs_fold_is_refused_in_any_header_and_the_next_request_is_not_read(make_server):
    srv = make_server()
    raw = (f"GET /livez HTTP/1.1\r\nHost: {srv.address}\r\nX-Note: one\r\n two\r\n\r\n"
           f"GET /livez HTTP/1.1\r\nHost: {srv.address}\r\n\r\n").encode()
    data = _exchange(srv, raw)
    assert data.startswith(b"HTTP/1.1 400 ") and data.count(b"HTTP/1.1 ") == 1, data[:300]
    # Unfolded, the same headers are served, and a body beginning with a space is not a fold.
    res = srv.raw(f"POST /livez HTTP/1.1\r\nHost: {srv.address}\r\nX-Note: one two\r\n"
                  f"Content-Length: 3\r\nConnection: close\r\n\r\n x\n".encode())
    assert res.status == 405, res


def test_a_header_split_across_reads_is_still_checked_for_folding(make_server):
    import time
    srv = make_server()
    with srv.connect() as s:
        for piece in (f"GET /livez HTTP/1.1\r\nHost: {srv.address}\r\nX-A: 1\r\n".encode(), b" 2\r\n\r\n"):
            s.sendall(piece)
            time.sleep(0.2)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    assert data.startswith(b"HTTP/1.1 400 "), data[:300]


def test_http11_without_host_is_refused(make_server):
    srv = make_server()
    res = srv.raw(b"GET /livez HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert res.status == 400 and res.json()["error"]["code"] == "malformed_request"
    # HTTP/1.0 has no Host requirement.
    assert srv.raw(b"GET /livez HTTP/1.0\r\n\r\n").status == 200


def test_operator_and_dev_routes_answer_only_to_their_own_host_names(make_server):
    srv = make_server(dev=True)  # dev: loopback is an operator, the overlay is on
    assert srv.get("/metrics").status == 200  # Host is the IP literal
    for path in ("/metrics", "/build-info", "/api/v1/local/outbox"):
        res = srv.get(path, headers={"Host": "attacker.example"})
        assert res.status == 421, (path, res)
        assert res.json()["error"]["code"] == "misdirected_request"
    assert srv.get("/metrics", headers={"Host": "localhost"}).status == 200
    # Public routes answer any host name (proxies rename hosts).
    assert srv.get("/livez", headers={"Host": "attacker.example"}).status == 200


def test_public_url_host_is_accepted_for_operator_routes(make_server):
    srv = make_server(settings={"operator.allow_cidrs": ["127.0.0.1"]})
    from conftest import PUBLIC_URL
    host = PUBLIC_URL.split("://", 1)[1].split("/")[0].split(":")[0]
    assert srv.get("/metrics", headers={"Host": host}).status == 200


def test_behind_a_trusted_proxy_only_the_forwarded_client_can_be_an_operator(make_server):
    # The proxy (loopback) is trusted; operators are 192.0.2.0/24 as the proxy reports them.
    srv = make_server(settings={"server.trusted_proxies": ["127.0.0.1"], "operator.allow_cidrs": ["192.0.2.0/24"]})
    assert srv.get("/metrics").status == 404  # the proxy itself, unattributed
    assert srv.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status == 404
    assert srv.get("/metrics", headers={"X-Forwarded-For": "192.0.2.7"}).status == 200


@pytest.mark.parametrize("settings,phrase", [
    ({"server.trusted_proxies": ["127.0.0.1"], "operator.allow_cidrs": ["127.0.0.0/8"]}, "contains the trusted proxy"),
    ({"operator.allow_cidrs": ["0.0.0.0/0"]}, "makes everyone an operator"),
    ({"server.listen": "0.0.0.0:0"}, "plain HTTP on a non-loopback address"),
])
def test_production_refuses_unsafe_operator_and_listen_settings(make_server, settings, phrase):
    srv = make_server(settings=settings, start=False)
    srv.config_path.write_text(render_toml(srv.settings))
    args = ["serve", "--config", str(srv.config_path), "--data", str(srv.data_dir)]
    if "server.listen" in settings:
        args += ["--listen", settings["server.listen"]]
    res = run_cli(args, env=srv.env)
    assert res.returncode == 78, res.output
    assert phrase in res.output
    assert not srv.data_dir.exists()


def test_secret_environment_values_are_wiped_from_the_running_process(make_server):
    from conftest import random_token
    token = random_token()
    srv = make_server(env={"BULWARK_OPERATOR_TOKEN": token})
    key = srv.env["BULWARK_MASTER_KEY"]
    environ = open(f"/proc/{srv.proc.pid}/environ", "rb").read()
    assert key.encode() not in environ
    assert token.encode() not in environ
    assert b"BULWARK_MASTER_KEY=" in environ  # the name stays, its value is gone
    # The token still works: it was read before being wiped.
    assert srv.get("/metrics", headers={"Authorization": f"Bearer {token}"}).status == 200

"""Slow clients are cut off; SIGTERM drains in-flight requests and exits 0."""
import signal
import socket
import time

import pytest

from conftest import read_response, wait_closed

TIMING = {
    "server.header_timeout_ms": 1000,
    "server.request_timeout_ms": 2000,
    "server.idle_timeout_ms": 1000,
    "server.shutdown_grace_ms": 10000,
}


@pytest.fixture
def timing_server(make_server):
    return make_server(settings=TIMING)


def _trickle(sock, data, interval, limit):
    """Sends `data` one byte every `interval` s until the server closes; seconds until closed."""
    start = time.monotonic()
    for b in data:
        try:
            sock.sendall(bytes([b]))
        except (BrokenPipeError, ConnectionResetError):
            return time.monotonic() - start
        closed = wait_closed(sock, interval)
        if closed is not None:
            return time.monotonic() - start
        if time.monotonic() - start > limit:
            return None
    return None


def test_slow_headers_disconnected_after_header_timeout(timing_server):
    with timing_server.connect() as s:
        elapsed = _trickle(s, b"GET /livez HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + b"z" * 100,
                           0.5, limit=8)
    assert elapsed is not None, "slow-header client was never disconnected"
    assert 0.7 <= elapsed <= 3.0, elapsed
    # The server is fine afterwards.
    assert timing_server.get("/livez").status == 200


def test_many_slow_header_clients_do_not_block_others(timing_server):
    socks = [timing_server.connect() for _ in range(10)]
    try:
        for s in socks:
            s.sendall(b"GET /livez HTTP/1.1\r\nHo")
        start = time.monotonic()
        assert timing_server.get("/livez").status == 200
        assert time.monotonic() - start < 1.0
        for s in socks:
            closed = wait_closed(s, 5)
            assert closed is not None and closed <= 3.0
    finally:
        for s in socks:
            s.close()


def test_idle_keep_alive_closed_after_idle_timeout(timing_server):
    with timing_server.connect() as s:
        s.sendall(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
        res = read_response(s, 10)
        assert res.status == 200
        assert res.header("Connection", "").lower() != "close"
        closed = wait_closed(s, 6)
    assert closed is not None, "idle keep-alive connection was never closed"
    assert 0.5 <= closed <= 3.0, closed


def test_idle_new_connection_closed_after_idle_timeout(timing_server):
    with timing_server.connect() as s:
        closed = wait_closed(s, 6)
    assert closed is not None and 0.5 <= closed <= 3.0, closed


def test_slow_body_disconnected_after_request_timeout(timing_server):
    with timing_server.connect() as s:
        start = time.monotonic()
        s.sendall(b"POST /livez HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
        elapsed = _trickle(s, b"q" * 100, 0.3, limit=10)
        if elapsed is not None:
            elapsed = time.monotonic() - start
    assert elapsed is not None, "slow-body client was never disconnected"
    assert 1.5 <= elapsed <= 4.0, elapsed
    assert timing_server.get("/livez").status == 200


def test_sigterm_lets_in_flight_request_finish(timing_server):
    srv = timing_server
    with srv.connect() as s:
        s.sendall(b"POST /livez HTTP/1.1\r\nHost: x\r\nX-Request-ID: inflight-1\r\nContent-Length: 10\r\n\r\n")
        time.sleep(0.3)
        srv.signal(signal.SIGTERM)
        srv.wait_event("server.shutdown_requested")
        time.sleep(0.2)
        assert srv.proc.poll() is None, "exited with a request in flight"
        s.sendall(b"0123456789")
        res = read_response(s, 10)
        # A complete, real response: the route exists but not for POST.
        assert res.status == 405, res
        assert res.header("X-Request-ID") == "inflight-1"
        assert res.json()["error"]["code"] == "method_not_allowed"
        assert res.header("Connection", "").lower() == "close", res.header_list
    rc, waited = srv.wait(12)
    assert rc == 0, (rc, srv.stderr_text)
    assert waited < 5, waited
    assert srv.find_event("server.shutdown_deadline") is None, srv.stderr_text
    assert srv.find_event("server.stopped") is not None


def test_sigterm_with_idle_connections_exits_promptly(make_server):
    # Long idle timeout and grace: a prompt exit must come from closing the idle connections.
    srv = make_server(settings={**TIMING, "server.idle_timeout_ms": 60000, "server.shutdown_grace_ms": 30000})
    socks = []
    try:
        for _ in range(3):
            s = srv.connect()
            s.sendall(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_response(s, 10).status == 200
            socks.append(s)
        socks.append(srv.connect())  # connected, nothing sent
        time.sleep(0.1)
        start = time.monotonic()
        srv.signal(signal.SIGTERM)
        rc, _ = srv.wait(10)
        elapsed = time.monotonic() - start
        assert rc == 0, (rc, srv.stderr_text)
        # Promptly: not by waiting for the 60 s idle timeout or the 30 s grace deadline.
        assert elapsed < 3.0, elapsed
        assert srv.find_event("server.shutdown_deadline") is None
        for s in socks:
            assert wait_closed(s, 2) is not None
    finally:
        for s in socks:
            s.close()


def test_sigint_also_drains_and_exits_0(timing_server):
    assert timing_server.get("/livez").status == 200
    assert timing_server.stop(signal.SIGINT, timeout=8) == 0


def test_new_connections_refused_after_shutdown_begins(timing_server):
    srv = timing_server
    port = srv.port
    hold = srv.connect()
    try:
        hold.sendall(b"POST /livez HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n")  # in flight
        time.sleep(0.3)
        srv.signal(signal.SIGTERM)
        srv.wait_event("server.shutdown_requested")
        time.sleep(0.2)
        assert srv.proc.poll() is None
        with pytest.raises(OSError):
            c = socket.create_connection(("127.0.0.1", port), timeout=2)
            # If the kernel still completed a handshake, the server must not serve it.
            c.sendall(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
            data = c.recv(100)
            c.close()
            if not data:
                raise ConnectionRefusedError("closed without a response")
            pytest.fail(f"a new connection was served after shutdown began: {data!r}")
        hold.sendall(b"12345")
        assert read_response(hold, 10).status == 405
    finally:
        hold.close()
    rc, _ = srv.wait(12)
    assert rc == 0, srv.stderr_text


def test_shutdown_deadline_cuts_a_stuck_request(make_server):
    srv = make_server(settings={**TIMING, "server.shutdown_grace_ms": 500,
                                "server.request_timeout_ms": 60000, "server.header_timeout_ms": 60000})
    with srv.connect() as s:
        s.sendall(b"POST /livez HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n")
        time.sleep(0.3)
        start = time.monotonic()
        srv.signal(signal.SIGTERM)
        rc, _ = srv.wait(10)
        elapsed = time.monotonic() - start
    assert rc == 0, (rc, srv.stderr_text)
    assert 0.3 <= elapsed <= 3.0, elapsed
    assert srv.find_event("server.shutdown_deadline") is not None

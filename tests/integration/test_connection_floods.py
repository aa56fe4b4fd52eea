"""Connection floods on loopback: a client that runs the server out of descriptors, or holds
silent sockets, must not stop it serving others (issue #22, defects 1 and 2).

Every flood here is bounded (a few hundred sockets, a few seconds) and targets only the server
under test on 127.0.0.0/8.
"""
import os
import socket
import subprocess
import time

import pytest

from conftest import BIN, EXIT_REFUSED, read_response, wait_closed

# The sanitizer runtime checks a pointer by writing its memory into a pipe; a process out of
# descriptors cannot open one, so UBSan reports any virtual call then as an invalid vptr (a false
# positive, "<memory cannot be printed>") and halts. The exhaustion test runs on the plain build.
SANITIZED = "libasan" in subprocess.run(["ldd", BIN], capture_output=True, text=True).stdout


def _connect_from(srv, source_ip, timeout=5.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind((source_ip, 0))
    s.connect((srv.host, srv.port))
    return s


def _get_from(srv, source_ip, path, timeout=5.0):
    with _connect_from(srv, source_ip, timeout) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: {srv.address}\r\nConnection: close\r\n\r\n".encode())
        return read_response(s, timeout)


def _livez_from(srv, source_ip, timeout=5.0):
    return _get_from(srv, source_ip, "/livez", timeout).status


def _wait_served(srv, source_ip, timeout, failure):
    """Polls /livez from `source_ip` until it answers 200; fails with `failure` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if _livez_from(srv, source_ip, timeout=2) == 200:
                return
        except (OSError, ConnectionError, TimeoutError):
            pass
        assert time.monotonic() < deadline, failure
        time.sleep(0.1)


def _cpu_seconds(pid):
    """User + system CPU seconds the process has used (/proc/PID/stat fields 14 and 15)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _count_in_file(path, needle, cap_bytes=64 << 20):
    """Occurrences of `needle` in the first `cap_bytes` of a file (a flood may have grown it)."""
    count = 0
    with open(path, "rb") as f:
        data = f.read(cap_bytes)
    count = data.count(needle)
    return count


def _open_files_limit(pid):
    with open(f"/proc/{pid}/limits") as f:
        for line in f:
            if line.startswith("Max open files"):
                soft, hard = line.split()[3:5]
                return int(soft), int(hard)
    raise AssertionError("no Max open files line")


# -- defect 1: descriptor exhaustion ------------------------------------------------------------


@pytest.mark.skipif(SANITIZED, reason="the sanitizer runtime needs descriptors to check pointers")
def test_descriptor_exhaustion_backs_off_and_recovers(make_server):
    # Dev mode warns (rather than refuses) that 4096 connections cannot fit under 200 open files;
    # the flood then runs the server out of descriptors.
    srv = make_server(dev=True, open_files=(200, 200))
    warned = [e for e in srv.log_events()
              if e.get("event") == "config.warning" and e.get("setting") == "server.max_connections"]
    assert warned and "hard limit is 200" in warned[0]["message"], srv.stderr_text
    assert srv.get("/livez").status == 200

    flood = []
    try:
        for _ in range(400):  # well past the 200 the server may open
            flood.append(socket.create_connection((srv.host, srv.port), timeout=5))
        cpu_before = _cpu_seconds(srv.proc.pid)
        time.sleep(3.0)
        cpu_used = _cpu_seconds(srv.proc.pid) - cpu_before
        size = srv.stderr_path.stat().st_size
        if size > (32 << 20):
            srv.kill()  # the previous build: it spins and floods its log; stop it before the disk fills
        failures_logged = _count_in_file(srv.stderr_path, b'"event":"http.accept_failed"')
        # Before the fix: a core spun re-arming accept (about 3 s of CPU in 3 s) and logged each
        # failure (hundreds of thousands of lines). Now: a pause between tries, one line per 10 s.
        assert failures_logged <= 2, f"{failures_logged} accept_failed lines, log {size} bytes"
        assert cpu_used < 1.0, f"the server used {cpu_used:.2f} s of CPU in 3 s while out of descriptors"
        ev = srv.find_event("http.accept_failed")
        assert ev is not None and "retry_ms" in ev and ev["failures"] >= 1, ev
    finally:
        for s in flood:
            s.close()
    # With the flood gone, new clients are served again within the longest pause.
    _wait_served(srv, "127.0.0.1", 10, "the server did not serve again after the flood ended")


def test_production_refuses_max_connections_over_the_descriptor_limit(make_server):
    srv = make_server(start=False, open_files=(1024, 1024))
    with pytest.raises(AssertionError, match=f"exited with {EXIT_REFUSED}"):
        srv.start()
    text = srv.stderr_text
    assert "server.max_connections" in text and "hard limit is 1024" in text, text
    assert "at most" in text, text
    # Lowered to fit, the same limit boots.
    ok = make_server(settings={"server.max_connections": 512}, open_files=(1024, 1024))
    assert ok.get("/livez").status == 200


def test_the_soft_descriptor_limit_is_raised_to_the_hard_one(make_server):
    srv = make_server(open_files=(256, 8192))
    assert _open_files_limit(srv.proc.pid) == (8192, 8192)
    ev = srv.find_event("server.descriptor_limit_raised")
    assert ev is not None and ev["from"] == 256 and ev["to"] == 8192, srv.stderr_text


# -- defect 2: silent sockets and one client holding them all -----------------------------------


def test_a_connection_that_sends_nothing_is_closed_after_the_header_timeout(make_server):
    srv = make_server(settings={"server.header_timeout_ms": 800, "server.idle_timeout_ms": 60000})
    with srv.connect() as s:
        closed = wait_closed(s, 10)
    # Before the fix the idle timeout (60 s) applied until the first byte.
    assert closed is not None and 0.5 <= closed <= 3.0, closed


def test_a_tls_handshake_that_never_comes_is_closed_after_the_header_timeout(make_server, tmp_path):
    import subprocess
    key, crt = tmp_path / "k.pem", tmp_path / "c.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", str(key), "-out", str(crt), "-days", "1", "-subj", "/CN=localhost"],
                   check=True, capture_output=True)
    os.chmod(key, 0o600)
    srv = make_server(settings={"server.header_timeout_ms": 800, "server.idle_timeout_ms": 60000,
                                "server.tls_cert_file": str(crt), "server.tls_key_file": str(key)})
    with srv.connect() as s:
        closed = wait_closed(s, 10)
    assert closed is not None and 0.5 <= closed <= 3.0, closed


def test_keep_alive_between_requests_still_gets_the_idle_timeout(make_server):
    srv = make_server(settings={"server.header_timeout_ms": 800, "server.idle_timeout_ms": 60000})
    with srv.connect() as s:
        s.sendall(f"GET /livez HTTP/1.1\r\nHost: {srv.address}\r\n\r\n".encode())
        assert read_response(s, 5).status == 200
        # Past the header timeout, the idle keep-alive connection is still open and serves.
        assert wait_closed(s, 2.0) is None
        s.sendall(f"GET /livez HTTP/1.1\r\nHost: {srv.address}\r\n\r\n".encode())
        assert read_response(s, 5).status == 200


def test_one_client_cannot_hold_every_connection(make_server):
    srv = make_server(settings={"server.max_connections_per_client": 20,
                                "server.header_timeout_ms": 30000,
                                "operator.allow_cidrs": ["127.0.0.0/8"]})
    held = []
    try:
        for _ in range(20):
            held.append(_connect_from(srv, "127.0.0.1"))
        time.sleep(0.3)
        # The 21st from the same address is closed at accept ...
        extra = _connect_from(srv, "127.0.0.1")
        closed = wait_closed(extra, 5.0)
        extra.close()
        assert closed is not None and closed < 2.0, "a 21st connection from one address was kept"
        # ... while another client is served at once.
        assert _livez_from(srv, "127.0.0.2") == 200
        metrics = _get_from(srv, "127.0.0.2", "/metrics").body.decode()
        assert "bulwark_http_client_connections_rejected_total 1" in metrics, metrics
        # The held ones are still live.
        held[0].sendall(f"GET /livez HTTP/1.1\r\nHost: {srv.address}\r\n\r\n".encode())
        assert read_response(held[0], 5).status == 200
    finally:
        for s in held:
            s.close()
    # Their slots come back when they close.
    _wait_served(srv, "127.0.0.1", 5, "127.0.0.1 was not served again after closing its connections")


def test_a_trusted_proxy_is_not_capped_as_one_client(make_server):
    srv = make_server(settings={"server.max_connections_per_client": 5,
                                "server.trusted_proxies": ["127.0.0.3"],
                                "server.header_timeout_ms": 30000})
    held = [_connect_from(srv, "127.0.0.3") for _ in range(10)]
    try:
        time.sleep(0.3)
        for s in held:
            s.sendall(f"GET /livez HTTP/1.1\r\nHost: {srv.address}\r\n\r\n".encode())
            assert read_response(s, 5).status == 200
        # Anyone else is still capped.
        others = [_connect_from(srv, "127.0.0.4") for _ in range(5)]
        try:
            time.sleep(0.3)
            extra = _connect_from(srv, "127.0.0.4")
            assert wait_closed(extra, 5.0) is not None
            extra.close()
        finally:
            for s in others:
                s.close()
    finally:
        for s in held:
            s.close()


@pytest.mark.parametrize("value", [-1, "many", 2_000_000])
def test_a_bad_per_client_cap_is_refused_at_boot(make_server, value):
    srv = make_server(start=False, settings={"server.max_connections_per_client": value})
    with pytest.raises(AssertionError, match=f"exited with {EXIT_REFUSED}"):
        srv.start()
    assert "server.max_connections_per_client" in srv.stderr_text

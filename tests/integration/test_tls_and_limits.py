"""Native TLS (checked with the openssl CLI as the peer) and the connection limit."""
import os
import socket
import ssl
import subprocess
import time

import pytest

from conftest import render_toml, run_cli, wait_closed


@pytest.fixture
def cert(tmp_path):
    key = tmp_path / "tls.key"
    crt = tmp_path / "tls.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", str(key), "-out", str(crt), "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=30)
    os.chmod(key, 0o600)
    return crt, key


def tls_server(make_server, cert):
    crt, key = cert
    return make_server(settings={"server.tls_cert_file": str(crt), "server.tls_key_file": str(key)})


def s_client(srv, *args):
    return subprocess.run(["openssl", "s_client", "-connect", srv.address, "-brief", *args],
                          input=b"", capture_output=True, timeout=30)


def test_tls_serves_livez_with_security_headers(make_server, cert):
    srv = tls_server(make_server, cert)
    ctx = ssl.create_default_context(cafile=str(cert[0]))
    with socket.create_connection((srv.host, srv.port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            assert s.version() == "TLSv1.3"
            s.sendall(f"GET /livez HTTP/1.1\r\nHost: {srv.address}\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while chunk := s.recv(4096):
                data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert b"Strict-Transport-Security: max-age=31536000; includeSubDomains" in head
    assert body == b'{"status":"ok"}'


def test_tls_12_is_accepted_with_an_aead_suite(make_server, cert):
    srv = tls_server(make_server, cert)
    out = s_client(srv, "-tls1_2")
    text = (out.stdout + out.stderr).decode(errors="replace")
    assert "Protocol version: TLSv1.2" in text, text
    assert "GCM" in text or "CHACHA20" in text, text


@pytest.mark.parametrize("flag", ["-tls1_1", "-tls1"])
def test_tls_below_12_is_refused(make_server, cert, flag):
    srv = tls_server(make_server, cert)
    out = s_client(srv, flag, "-cipher", "DEFAULT@SECLEVEL=0")
    text = (out.stdout + out.stderr).decode(errors="replace")
    assert out.returncode != 0, text
    assert "Protocol version" not in text, text


def test_tls_weak_suite_is_refused(make_server, cert):
    srv = tls_server(make_server, cert)
    out = s_client(srv, "-tls1_2", "-cipher", "AES128-SHA")  # no forward secrecy, CBC
    assert out.returncode != 0, (out.stdout + out.stderr).decode(errors="replace")


def test_plain_http_to_a_tls_port_gets_no_response(make_server, cert):
    srv = tls_server(make_server, cert)
    with srv.connect() as s:
        s.sendall(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
        s.settimeout(5)
        try:
            data = s.recv(4096)
        except (ConnectionResetError, socket.timeout):
            data = b""
    assert b"HTTP/1.1 200" not in data


def test_connections_over_the_limit_are_closed_at_accept(make_server):
    srv = make_server(settings={"server.max_connections": 3})
    held = [srv.connect() for _ in range(3)]
    try:
        time.sleep(0.3)  # let the server accept all three
        extra = srv.connect()
        assert wait_closed(extra, 5.0) is not None, "a fourth connection was kept open over max_connections = 3"
        extra.close()
        # The held ones still work.
        held[0].sendall(f"GET /livez HTTP/1.1\r\nHost: {srv.address}\r\n\r\n".encode())
        assert held[0].recv(4096).startswith(b"HTTP/1.1 200 ")
    finally:
        for s in held:
            s.close()
    # Once they are gone, new connections are served again.
    deadline = time.monotonic() + 5
    while True:
        try:
            assert srv.get("/livez").status == 200
            break
        except (AssertionError, OSError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_tls_misconfiguration_refuses_boot(make_server, cert, tmp_path):
    crt, _ = cert
    other_key = tmp_path / "other.key"
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-out", str(other_key)], check=True, capture_output=True, timeout=30)
    os.chmod(other_key, 0o600)
    srv = make_server(settings={"server.tls_cert_file": str(crt), "server.tls_key_file": str(other_key)},
                      start=False)
    srv.config_path.write_text(render_toml(srv.settings))
    res = run_cli(["serve", "--config", str(srv.config_path), "--data", str(srv.data_dir)], env=srv.env)
    assert res.returncode == 78
    assert "does not match" in res.output
    assert not srv.data_dir.exists()


def test_a_production_server_writes_no_core_dump(make_server):
    """The master key and data keys are in its memory: core size 0 (and not dumpable)."""
    def core_limit(pid):
        with open(f"/proc/{pid}/limits") as f:
            line = next(line for line in f if line.startswith("Max core file size"))
        return line.split()[4:6]
    assert core_limit(make_server().proc.pid) == ["0", "0"]

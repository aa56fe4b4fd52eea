"""Secrets never appear in logs, config check output, responses or metrics, in any encoding."""
import base64
import os
import signal
import time

import pytest

from conftest import PUBLIC_URL, b64key, random_token, render_toml, run_cli, wait_closed


def forms(secret):
    """The secret and the encodings a careless log line might use."""
    raw = secret if isinstance(secret, bytes) else secret.encode()
    out = {raw, raw.hex().encode(), raw.hex().upper().encode(), base64.b64encode(raw),
           base64.b64encode(raw).rstrip(b"="), base64.urlsafe_b64encode(raw).rstrip(b"=")}
    return {f for f in out if len(f) >= 8}


def key_forms(b64):
    """A base64 master key: the text, and its decoded 32 bytes in every form."""
    return forms(b64) | forms(base64.b64decode(b64))


def assert_absent(blob, secrets, where):
    for name, fs in secrets.items():
        for f in fs:
            assert f not in blob, f"{name} appears in {where} (as {f[:12]!r}...)"


def exercise(srv, token, others):
    """Requests that put secrets in front of the server, including valid and invalid credentials."""
    auth = {"Authorization": f"Bearer {token}"}
    assert srv.get("/livez").status == 200
    assert srv.get("/readyz", auth).status == 200
    assert srv.get("/healthz").status == 200
    bi = srv.get("/build-info", auth)
    assert bi.status == 200, bi
    metrics = srv.get("/metrics", auth)
    assert metrics.status == 200
    bodies = [bi.raw, metrics.raw]
    for bad in (f"Bearer {token}x", f"Bearer x{token}", f"Basic {token}", f"bearer {token}", token):
        r = srv.get("/build-info", {"Authorization": bad})
        assert r.status in (200, 404), r  # loopback may be allowed in dev; never an error that echoes
        bodies.append(r.raw)
    for s in others:
        for hdr in ("X-API-Key", "Cookie", "X-Vault-Token", "X-Tenant-ID", "Authorization"):
            r = srv.get("/nope", {hdr: s if hdr != "Cookie" else f"session={s}"})
            assert r.status == 404
            bodies.append(r.raw)
        bodies.append(srv.request("POST", "/livez", {"Authorization": f"Bearer {s}"}, body=s).raw)
        bodies.append(srv.request("GET", "/livez", {"X-API-Key": s}, body=s).raw)
        bodies.append(srv.raw(f"{s} /livez HTTP/1.1\r\nHost: x\r\n\r\n".encode()).raw)
        bodies.append(srv.raw(f"GET /livez HTTP/1.1\r\nX-Secret: {s}\r\nX-Pad: {'p' * 20000}\r\n\r\n".encode()).raw)
        bodies.append(srv.raw(f"GET /livez HTTP/1.1\r\nAuthorization: Bearer {s}\r\nbad header\r\n\r\n".encode()).raw)
    # A slow client cut off by the header timeout (a debug log line).
    with srv.connect() as c:
        c.sendall(f"GET /livez HTTP/1.1\r\nAuthorization: Bearer {token}\r\n".encode())
        assert wait_closed(c, 5) is not None
    return b"\n".join(bodies)


@pytest.mark.parametrize("mode", ["production", "dev"])
def test_no_secret_in_logs_env_secrets(make_server, tmp_path, mode):
    key = b64key()
    token = random_token()
    settings = {"log.level": "debug", "server.header_timeout_ms": 500}
    if mode == "production":
        settings["server.public_url"] = PUBLIC_URL
        settings["mail.disabled"] = True
    env = {"BULWARK_MASTER_KEY": key, "BULWARK_OPERATOR_TOKEN": token}
    srv = make_server(settings=settings, env=env, dev=(mode == "dev"), production_defaults=False)
    secrets = {"master key": key_forms(key), "operator token": forms(token)}
    bodies = exercise(srv, token, [key, token])
    assert srv.stop() == 0
    assert_absent(srv.stderr_path.read_bytes(), secrets, "stderr")
    assert_absent(bodies, secrets, "responses")
    # The log really was at debug level and saw the traffic (the check is not vacuous).
    assert srv.find_event("http.header_timeout") is not None, srv.stderr_text
    chk = run_cli(["config", "check", "--config", srv.config_path, "--data", srv.data_dir]
                  + (["--dev"] if mode == "dev" else []), env=env)
    assert chk.returncode == 0, chk
    assert_absent(chk.output.encode(), secrets, "config check output")


def test_no_secret_in_log_file_password_and_token_files(make_server, tmp_path):
    password = random_token(30)
    token = random_token()
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir(mode=0o700)
    pw_file = secrets_dir / "master.pw"
    tok_file = secrets_dir / "operator.token"
    pw_file.write_text(password + "\n")
    tok_file.write_text(token + "\n")
    os.chmod(pw_file, 0o600)
    os.chmod(tok_file, 0o600)
    log_file = tmp_path / "bulwark.jsonl"
    settings = {"log.level": "debug", "log.file": str(log_file), "server.header_timeout_ms": 500,
                "server.public_url": PUBLIC_URL, "keyring.master_password_file": str(pw_file),
                "keyring.pbkdf2_iterations": 100000, "operator.token_file": str(tok_file),
                "mail.disabled": True}
    srv = make_server(settings=settings, production_defaults=False, start=False)
    srv.config_path.write_text(render_toml(srv.settings))
    _start_with_log_file(srv, log_file)
    secrets = {"master password": forms(password), "operator token": forms(token)}
    bodies = exercise(srv, token, [password, token])
    assert srv.stop() == 0
    logged = log_file.read_bytes()
    assert b"server.listening" in logged and b"http.header_timeout" in logged, logged[:2000]
    assert_absent(logged, secrets, "log.file")
    assert_absent((srv.workdir / "stderr.log").read_bytes(), secrets, "stderr")
    assert_absent(bodies, secrets, "responses")
    chk = run_cli(["config", "check", "--config", srv.config_path, "--data", srv.data_dir])
    assert chk.returncode == 0, chk
    assert_absent(chk.output.encode(), secrets, "config check output")


def _start_with_log_file(srv, log_file, timeout=20.0):
    """Like Server.start, but the listening line is read from log.file."""
    import json
    import subprocess
    from conftest import BIN, clean_env
    cmd = [BIN, "serve", "--config", str(srv.config_path), "--listen", "127.0.0.1:0", "--data", str(srv.data_dir)]
    srv._stderr_file = open(srv.stderr_path, "wb")
    srv.proc = subprocess.Popen(cmd, env=clean_env(srv.env), cwd=srv.workdir, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=srv._stderr_file, start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log_file.exists():
            for line in log_file.read_text(errors="replace").splitlines():
                if '"server.listening"' in line:
                    srv.address = json.loads(line)["address"]
                    host, _, port = srv.address.rpartition(":")
                    srv.host, srv.port = host, int(port)
                    # Events (header timeout) are in the log file for this server.
                    srv.stderr_path = log_file
                    return
        if srv.proc.poll() is not None:
            raise AssertionError(f"exited {srv.proc.returncode}: {srv.stderr_path.read_text()}")
        time.sleep(0.02)
    srv.kill()
    raise AssertionError("no server.listening in log.file")


@pytest.mark.parametrize("env_name,value", [
    ("BULWARK_MASTER_PASSWORD", "changeme-" + random_token(20)),
    ("BULWARK_MASTER_PASSWORD", "Zq" + "a" * 40),
    ("BULWARK_MASTER_KEY", base64.b64encode(os.urandom(16)).decode()),
    ("BULWARK_MASTER_KEY", base64.b64encode(b"ab" * 16).decode()),
    ("BULWARK_OPERATOR_TOKEN", "short-" + random_token(6)),
], ids=["default-password", "low-entropy-password", "short-key", "low-entropy-key", "short-token"])
def test_refused_boot_does_not_print_weak_secret(tmp_path, env_name, value):
    env = {env_name: value}
    if env_name == "BULWARK_OPERATOR_TOKEN":
        env["BULWARK_MASTER_KEY"] = b64key()
    cfg = tmp_path / "bulwark.toml"
    log_file = tmp_path / "bulwark.jsonl"
    cfg.write_text(render_toml({"server.public_url": PUBLIC_URL, "log.level": "debug",
                                "log.file": str(log_file), "keyring.pbkdf2_iterations": 100000}))
    secrets = {env_name: key_forms(value) if env_name == "BULWARK_MASTER_KEY" else forms(value)}
    res = run_cli(["serve", "--config", cfg, "--listen", "127.0.0.1:0", "--data", tmp_path / "data"], env=env)
    assert res.returncode == 78, res
    setting = {"BULWARK_MASTER_PASSWORD": "keyring.master_password", "BULWARK_MASTER_KEY": "keyring.master_key",
               "BULWARK_OPERATOR_TOKEN": "operator.token"}[env_name]
    assert f"error: {setting}: " in res.stderr, res.stderr
    assert_absent(res.output.encode(), secrets, "refused boot output")
    assert not log_file.exists()
    chk = run_cli(["config", "check", "--config", cfg, "--data", tmp_path / "data"], env=env)
    assert chk.returncode == 1, chk
    assert_absent(chk.output.encode(), secrets, "config check output")

"""Shared helpers for the integration suite: the real `bulwark` binary, driven over HTTP.

The binary comes from $BULWARK_BIN (default: build/release/bulwark under the repository root).
With BULWARK_TEST_BACKEND=postgresql every Server runs on a fresh database of one throwaway
PostgreSQL 15 started for the session (pg_helpers.py), unless the test set storage.url itself.
Every server binds 127.0.0.1:0 and announces its address in a JSON log line on stderr
(`"event":"server.listening"`); stderr is captured to a file so it never blocks the server.
"""
import base64
import json
import os
import re
import resource
import select
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

import pg_helpers

REPO = Path(__file__).resolve().parents[2]


def _binary():
    given = os.environ.get("BULWARK_BIN")
    if not given:
        return str(REPO / "build" / "release" / "bulwark")
    p = Path(given)
    if not p.is_absolute() and not p.exists():
        p = REPO / p  # relative to the repository root
    return str(p.resolve())


BIN = _binary()
START_TIMEOUT = 20.0
PUBLIC_URL = "https://bulwark.example.com"
EXIT_REFUSED = 78
# ASan/UBSan findings in a server's stderr fail the test that started it.
SANITIZER_RE = re.compile(r"runtime error:|ERROR: AddressSanitizer|ERROR: LeakSanitizer|SUMMARY: UndefinedBehavior")


def b64key(n=32):
    """A fresh random master key, base64 of n random bytes."""
    return base64.b64encode(os.urandom(n)).decode()


def random_token(n=32):
    """A fresh high-entropy text secret (url-safe base64 of n random bytes, no padding)."""
    return base64.urlsafe_b64encode(os.urandom(n)).decode().rstrip("=")


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)  # a TOML basic string for the values we use
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot render {v!r} as TOML")


def render_toml(settings):
    """{"server.public_url": "https://..."} -> dotted-key TOML lines."""
    return "".join(f"{k} = {toml_value(v)}\n" for k, v in settings.items())


def clean_env(extra=None):
    """The test process environment without any BULWARK_* variable, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BULWARK_")}
    env.pop("BULWARK_BIN", None)
    for k, v in (extra or {}).items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


class CliResult:
    def __init__(self, returncode, stdout, stderr, timed_out=False):
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.timed_out = timed_out

    @property
    def output(self):
        return self.stdout + self.stderr

    def __repr__(self):
        return f"CliResult(rc={self.returncode}, stdout={self.stdout!r}, stderr={self.stderr!r})"


def run_cli(args, env=None, cwd=None, timeout=30.0):
    """Runs `bulwark <args>` to completion with a clean BULWARK_* environment plus `env`.

    A `serve` that does not exit (it started instead of refusing) is killed after `timeout` and
    reported with timed_out=True and returncode None.
    """
    proc = subprocess.Popen([BIN, *map(str, args)], env=clean_env(env), cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
        return CliResult(proc.returncode, out.decode(errors="replace"), err.decode(errors="replace"))
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        return CliResult(None, out.decode(errors="replace"), err.decode(errors="replace"), True)


# --------------------------------------------------------------------------------------------
# Raw HTTP over sockets (exact control over the bytes sent; tolerant reading of the answer).


class RawResponse:
    def __init__(self, status, reason, headers, body, raw):
        self.status = status
        self.reason = reason
        self.header_list = headers  # [(name, value)] in order, names as sent
        self.body = body
        self.raw = raw

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.header_list:
            if k.lower() == name:
                return v
        return default

    def headers_named(self, name):
        return [v for k, v in self.header_list if k.lower() == name.lower()]

    @property
    def headers(self):
        return {k.lower(): v for k, v in self.header_list}

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return f"RawResponse({self.status}, headers={self.header_list!r}, body={self.body[:300]!r})"


def parse_head(head):
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/1\.[01] (\d{3}) ?(.*)", lines[0])
    assert m, f"not an HTTP status line: {lines[0]!r}"
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        k, _, v = line.partition(":")
        headers.append((k.strip(), v.strip()))
    return int(m.group(1)), m.group(2), headers


def read_response(sock, timeout=10.0, head_request=False):
    """Reads one HTTP/1.1 response (Content-Length framed, or up to EOF) from `sock`."""
    deadline = time.monotonic() + timeout
    buf = b""

    def more():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no complete response within {timeout}s; got {buf!r}")
        sock.settimeout(remaining)
        try:
            return sock.recv(65536)
        except ConnectionResetError:
            return b""

    while b"\r\n\r\n" not in buf:
        chunk = more()
        if not chunk:
            raise ConnectionError(f"connection closed before a full response head; got {buf!r}")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    status, reason, headers = parse_head(head)
    length = None
    for k, v in headers:
        if k.lower() == "content-length":
            length = int(v)
    if head_request or status in (204, 304) or 100 <= status < 200:
        length = 0
    if length is None:
        while True:
            chunk = more()
            if not chunk:
                break
            rest += chunk
        body = rest
    else:
        while len(rest) < length:
            chunk = more()
            if not chunk:
                raise ConnectionError(f"closed after {len(rest)} of {length} body bytes")
            rest += chunk
        body = rest[:length]
    return RawResponse(status, reason, headers, body, head + b"\r\n\r\n" + body)


def wait_closed(sock, timeout):
    """Seconds until the peer closes `sock` (EOF or reset), or None if still open at timeout."""
    start = time.monotonic()
    deadline = start + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        r, _, _ = select.select([sock], [], [], remaining)
        if r:
            try:
                data = sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                return time.monotonic() - start
            if not data:
                return time.monotonic() - start


# --------------------------------------------------------------------------------------------
# The server under test.


class Server:
    """One `bulwark serve` process with its own config, data dir and stderr file."""

    def __init__(self, workdir, settings=None, env=None, dev=False, production_defaults=True,
                 data_dir=None, args=None, open_files=None):
        """`open_files`: (soft, hard) RLIMIT_NOFILE for the server process, else the test's own."""
        self.workdir = Path(workdir)
        self.open_files = open_files
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.dev = dev
        self.settings = {}
        self.env = {}
        if not dev and production_defaults:
            self.settings["server.public_url"] = PUBLIC_URL
            self.settings["mail.disabled"] = True  # no SMTP server here, on purpose
            self.env["BULWARK_MASTER_KEY"] = b64key()
        self.settings.update(settings or {})
        self.env.update(env or {})
        self.data_dir = Path(data_dir) if data_dir else self.workdir / "data"
        self.config_path = self.workdir / "bulwark.toml"
        self.stderr_path = self.workdir / "stderr.log"
        self.extra_args = list(args or [])
        self.proc = None
        self.address = None
        self.returncode = None

    # -- lifecycle ---------------------------------------------------------------------------
    def write_config(self):
        """Writes the config file; on PostgreSQL with the data directory's database as storage.url
        (unless the test set one), so a restart or a CLI command finds the same data."""
        if "storage.url" not in self.settings:
            url = pg_helpers.storage_url_for(self.data_dir)
            if url:
                self.settings["storage.url"] = url
        self.config_path.write_text(render_toml(self.settings))

    def start(self, timeout=START_TIMEOUT):
        self.write_config()
        cmd = [BIN, "serve", "--config", str(self.config_path), "--listen", "127.0.0.1:0",
               "--data", str(self.data_dir), *self.extra_args]
        if self.dev:
            cmd.append("--dev")
        self._stderr_file = open(self.stderr_path, "wb")
        limits = self.open_files

        def set_limits():
            if limits:
                resource.setrlimit(resource.RLIMIT_NOFILE, limits)

        self.proc = subprocess.Popen(cmd, env=clean_env(self.env), cwd=self.workdir,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self._stderr_file, start_new_session=True,
                                     preexec_fn=set_limits if limits else None)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ev = self.find_event("server.listening")
            if ev:
                self.address = ev["address"]
                host, _, port = self.address.rpartition(":")
                self.host, self.port = host, int(port)
                return self
            if self.proc.poll() is not None:
                raise AssertionError(f"bulwark exited with {self.proc.returncode} before listening:\n"
                                     f"{self.stderr_text}")
            time.sleep(0.02)
        self.kill()
        raise AssertionError(f"bulwark did not log server.listening within {timeout}s:\n{self.stderr_text}")

    def stop(self, sig=signal.SIGTERM, timeout=20.0):
        """Sends `sig` and waits for exit; returns the exit code (None if it had to be killed)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                return None
        self.returncode = self.proc.returncode
        self._stderr_file.close()
        return self.returncode

    def store_args(self):
        """The CLI flags that name this server's store: its config (storage.url) and data dir."""
        if not self.config_path.exists():
            self.write_config()
        return ["--config", str(self.config_path), "--data", str(self.data_dir)]

    def signal(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)

    def wait(self, timeout):
        """Waits for exit; returns (exit code, seconds waited) or (None, timeout)."""
        start = time.monotonic()
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None, timeout
        self.returncode = rc
        return rc, time.monotonic() - start

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)

    # -- logs ------------------------------------------------------------------------------
    @property
    def stderr_text(self):
        try:
            return self.stderr_path.read_bytes().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def log_events(self):
        events = []
        for line in self.stderr_text.splitlines():
            line = line.strip()
            if line.startswith("{"):
                try:
                    events.append(json.loads(line))
                except ValueError:
                    pass
        return events

    def find_event(self, name):
        for ev in self.log_events():
            if ev.get("event") == name:
                return ev
        return None

    def wait_event(self, name, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ev = self.find_event(name)
            if ev:
                return ev
            time.sleep(0.02)
        raise AssertionError(f"no {name} event within {timeout}s:\n{self.stderr_text}")

    # -- HTTP ------------------------------------------------------------------------------
    @property
    def url(self):
        return f"http://{self.address}"

    def connect(self, timeout=10.0):
        s = socket.create_connection((self.host, self.port), timeout=timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s

    def raw(self, data, timeout=10.0, head_request=False):
        """Sends raw bytes on a fresh connection and reads one response."""
        with self.connect(timeout) as s:
            s.sendall(data)
            return read_response(s, timeout, head_request=head_request)

    def request(self, method, path, headers=None, body=None, timeout=10.0):
        """One request with Connection: close; Content-Length added when a body is given."""
        hdrs = {"Host": self.address, "Connection": "close"}
        hdrs.update(headers or {})
        if body is not None:
            if isinstance(body, str):
                body = body.encode()
            hdrs.setdefault("Content-Length", str(len(body)))
        head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs.items()) + "\r\n"
        return self.raw(head.encode("latin-1") + (body or b""), timeout, head_request=(method == "HEAD"))

    def get(self, path, headers=None, **kw):
        return self.request("GET", path, headers, **kw)


@pytest.fixture(scope="session", autouse=True)
def store_backend():
    """On PostgreSQL: the session's cluster, stopped at the end whatever happened (a SIGTERM to
    pytest runs the teardown too)."""
    if not pg_helpers.ON_POSTGRES:
        yield pg_helpers.BACKEND
        return
    previous = signal.getsignal(signal.SIGTERM)

    def on_term(signum, frame):
        raise KeyboardInterrupt("SIGTERM")

    signal.signal(signal.SIGTERM, on_term)
    try:
        pg_helpers.cluster()
        yield pg_helpers.BACKEND
    finally:
        pg_helpers.stop_cluster()
        signal.signal(signal.SIGTERM, previous)


@pytest.fixture(autouse=True)
def drop_test_databases(store_backend):
    """The PostgreSQL databases a test made are dropped when it ends (its servers are gone)."""
    yield
    if pg_helpers.running_cluster():
        pg_helpers.running_cluster().drop_databases()


# Tests that run against a PostgreSQL of their own whichever backend the session is on (several
# nodes, the load balancer, the PostgreSQL-only refusals): the SQLite pass has run them already,
# so the PostgreSQL pass leaves them out rather than running them twice.
OWN_POSTGRES = ("test_multinode.py::", "test_load_balancer.py::", "test_postgres_store.py::",
                "test_siem_export.py::test_two_nodes_on_postgresql")


def pytest_collection_modifyitems(config, items):
    if not pg_helpers.ON_POSTGRES:
        return
    keep, skip = [], []
    for item in items:
        (skip if any(mark in item.nodeid for mark in OWN_POSTGRES) else keep).append(item)
    if skip:
        config.hook.pytest_deselected(items=skip)
        items[:] = keep


@pytest.fixture(scope="session")
def pg():
    """A PostgreSQL 15 cluster for tests that use one directly (the session's, when it runs on one)."""
    yield pg_helpers.cluster()
    pg_helpers.stop_cluster()


@pytest.fixture
def make_server(tmp_path):
    """Factory: make_server(settings=..., env=..., dev=...) -> a started Server; all killed at teardown."""
    servers = []

    def factory(settings=None, env=None, dev=False, start=True, name=None, **kw):
        srv = Server(tmp_path / (name or f"srv{len(servers)}"), settings, env, dev, **kw)
        servers.append(srv)
        if start:
            srv.start()
        return srv

    yield factory
    reports = []
    for srv in servers:
        srv.kill()
        if getattr(srv, "_stderr_file", None):
            srv._stderr_file.close()
        text = srv.stderr_text
        if SANITIZER_RE.search(text):
            reports.append(text)
    if reports:
        pytest.fail("sanitizer report in server stderr:\n" + "\n".join(reports)[:20000])


@pytest.fixture
def prod_server(make_server):
    return make_server()


@pytest.fixture
def dev_server(make_server):
    return make_server(dev=True)


def assert_error_body(res, status, code):
    """The one error shape: exactly {"error": {"code", "message", "request_id"}}."""
    assert res.status == status, res
    doc = res.json()
    assert list(doc.keys()) == ["error"], doc
    err = doc["error"]
    assert set(err.keys()) == {"code", "message", "request_id"}, doc
    assert err["code"] == code, doc
    assert isinstance(err["message"], str) and err["message"], doc
    assert err["request_id"] == res.header("X-Request-ID"), (doc, res.header_list)
    return err

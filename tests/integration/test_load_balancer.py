"""The shipped nginx configuration (deploy/nginx/bulwark.conf, rendered by deploy/nginx/render.sh)
in front of three nodes that share one throwaway PostgreSQL 15, all on loopback: TLS at nginx and
from nginx to the nodes, nginx reaching the nodes from 127.0.0.1 (their one trusted proxy), the
client calling from an address of its own (127.0.0.7).

Through nginx: sign-in with MFA, a policy and an API key; a secret written on one request and
read back on others spread over every node; the client address and request id the nodes record
are the client's, not the proxy's; operator endpoints never reach a node; no TLS below 1.2; a
large secret in and out with nothing spooled to disk; a write that reached a node is never sent
to another one while a read is; killed nodes are routed around. Which node served what comes
from each node's own counters (/metrics on its own address) and from nginx's access log: a node
logs nothing per request. Skipped when nginx is not installed."""
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
import uuid

import pytest
from conftest import REPO, SANITIZER_RE, Server, b64key, random_token, read_response, run_cli
from identity_helpers import LOOSE_RULES, MAGIC_RE, enroll, outbox, post, send_json, verify
import pg_helpers
from pg_helpers import free_port
from vault_helpers import api_key, put_policy

NGINX = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)
pytestmark = pytest.mark.skipif(NGINX is None, reason="nginx is not installed")

RENDER = REPO / "deploy" / "nginx" / "render.sh"
CLIENT = "127.0.0.7"  # the caller; never the proxy's address
PROXY = "127.0.0.1"  # where nginx reaches the nodes from
NAME = "bulwark.test"
NODE_NAME = "bulwark-node.test"
NODES = 3
OWNER = "owner@acme.test"
S = "/api/v1/secrets/"
SECRET_READ = "GET /api/v1/secrets/"
RID = re.compile(r"[0-9a-f]{32}")  # nginx's own $request_id


def self_signed(directory, name):
    key, crt = directory / f"{name}.key", directory / f"{name}.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", str(key), "-out", str(crt), "-days", "1", "-subj", f"/CN={name}",
                    "-addext", f"subjectAltName=DNS:{name}"], check=True, capture_output=True, timeout=30)
    os.chmod(key, 0o600)
    return crt, key


class Endpoint:
    """HTTPS to nginx or straight to one node, optionally from a given source address, with
    conftest.Server's request()/get(), so that the identity and vault helpers run through it."""

    def __init__(self, port, tls_name, cafile, host_header, source=None):
        self.port, self.tls_name, self.host_header, self.source = port, tls_name, host_header, source
        self.ctx = ssl.create_default_context(cafile=str(cafile))

    def request(self, method, path, headers=None, body=None, timeout=10.0, slow=False):
        """One request on a fresh connection. slow: a small receive window and a second's pause
        before reading, so that a large answer cannot all be on its way at once."""
        hdrs = {"Host": self.host_header, "Connection": "close", **(headers or {})}
        if body is not None:
            body = body.encode() if isinstance(body, str) else body
            hdrs.setdefault("Content-Length", str(len(body)))
        head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs.items()) + "\r\n"
        raw = socket.socket()
        try:
            if slow:
                raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            if self.source:
                raw.bind((self.source, 0))
            raw.settimeout(timeout)
            raw.connect(("127.0.0.1", self.port))
            with self.ctx.wrap_socket(raw, server_hostname=self.tls_name) as s:
                s.sendall(head.encode("latin-1") + (body or b""))
                if slow:
                    time.sleep(1)
                return read_response(s, timeout, head_request=(method == "HEAD"))
        finally:
            raw.close()

    def get(self, path, headers=None, **kw):
        return self.request("GET", path, headers, **kw)


class Nginx:
    """The shipped file, rendered for `nodes`, included in a main context like Debian's stock
    nginx.conf (which still enables TLSv1 and TLSv1.1 in http{}: the file must override that);
    a foreground child in its own process group, everything it writes under `directory`."""

    def __init__(self, directory, nodes, lb_cert, node_ca):
        directory.mkdir()
        os.chmod(directory, 0o755)  # started as root, nginx runs its workers as nobody
        self.dir, self.port = directory, free_port()
        # The listener gets a small send buffer: on loopback the kernel would otherwise take a
        # whole large answer at once, and nginx would never have to buffer one.
        values = {"LISTEN": f"127.0.0.1:{self.port} sndbuf=16k", "SERVER_NAME": NAME, "TLS_CERT": lb_cert[0],
                  "TLS_KEY": lb_cert[1], "NODE_CA": node_ca, "NODE_TLS_NAME": NODE_NAME,
                  "ACCESS_LOG": directory / "access.log"}
        rendered = subprocess.run(["bash", str(RENDER), *(f"{k}={v}" for k, v in values.items()), *nodes],
                                  capture_output=True, text=True, timeout=30)
        assert rendered.returncode == 0, rendered.stderr
        (directory / "bulwark.conf").write_text(rendered.stdout)
        temp = "".join(f"  {kind}_temp_path {directory}/{kind};\n"
                       for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        (directory / "nginx.conf").write_text(
            f"daemon off;\nworker_processes 2;\npid {directory}/nginx.pid;\n"
            f"error_log {directory}/error.log info;\nevents {{ worker_connections 256; }}\n"
            f"http {{\n  ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;\n{temp}"
            f"  include {directory}/bulwark.conf;\n}}\n")
        with open(directory / "stderr.log", "wb") as err:
            self.proc = subprocess.Popen([NGINX, "-p", f"{directory}/", "-c", str(directory / "nginx.conf")],
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                                         start_new_session=True)
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"nginx did not start:\n{self.error_log}\n"
                                     f"{(directory / 'stderr.log').read_text(errors='replace')}")
            time.sleep(0.05)

    @property
    def error_log(self):
        path = self.dir / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def access_log(self):
        """Each line as {field: value} (rid, upstream, ustatus, ...) plus "status" and "request"."""
        path = self.dir / "access.log"
        entries = []
        for line in (path.read_text().splitlines() if path.exists() else []):
            m = re.match(r'\S+ \[[^]]*\] "([^"]*)" (\d+) \d+ (.*)$', line)
            assert m, line
            entry = dict(re.findall(r"(\w+)=(.*?)(?= \w+=|$)", m.group(3)))
            entries.append({**entry, "request": m.group(1), "status": m.group(2)})
        return entries

    def since(self, mark, count, timeout=5.0):
        """The `count` log lines after the first `mark` ones (nginx writes each just after its
        answer, so the last one may lag)."""
        deadline = time.monotonic() + timeout
        while len(entries := self.access_log()[mark:]) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(entries) == count, entries
        return entries

    def entry(self, rid, timeout=5.0):
        """The one log line of request `rid` (nginx writes it just after the answer)."""
        deadline = time.monotonic() + timeout
        while not (mine := [e for e in self.access_log() if e["rid"] == rid]) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(mine) == 1, (rid, mine)
        return mine[0]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # workers, should any outlive their master
        self.proc.wait(timeout=10)


class Cluster:
    """PostgreSQL, NODES nodes on it, nginx before them; an owner signed in through nginx, and an
    API key (policy: everything) that the tests use through nginx."""

    def __init__(self, root, stack):
        certs = root / "certs"
        certs.mkdir()
        self.lb_cert = self_signed(certs, NAME)
        self.node_cert = self_signed(certs, NODE_NAME)
        self.pg = pg_helpers.Postgres()  # its own: the module's servers outlive any one test
        stack.callback(self.pg.stop)
        self.url = self.pg.new_database()
        # Every node holds the same master key (production: the same key file on each node).
        self.env = {"BULWARK_MASTER_KEY": b64key(), "BULWARK_OPERATOR_TOKEN": random_token()}
        settings = {"storage.url": self.url, "storage.pool_size": 2, "server.worker_threads": 4,
                    "server.public_url": f"https://{NAME}", "server.trusted_proxies": [f"{PROXY}/32"],
                    "server.tls_cert_file": str(self.node_cert[0]), "server.tls_key_file": str(self.node_cert[1]),
                    "rate_limit.rules": LOOSE_RULES + ["* api_key 100000/1m"]}
        self.nodes = []
        stack.callback(self.kill_nodes)
        for i in range(NODES):  # one after the other: the first one migrates the database
            self.nodes.append(Server(root / f"node{i + 1}", settings, self.env, dev=True))
            self.nodes[-1].start()
        first = self.nodes[0]
        res = run_cli(["tenant", "create", "--dev", "--config", first.config_path, "--data", first.data_dir,
                       "--name", "acme", "--owner", OWNER], env=self.env)
        assert res.returncode == 0, res
        self.direct = [Endpoint(n.port, NODE_NAME, self.node_cert[0], n.address) for n in self.nodes]
        self.nginx = Nginx(root / "nginx", [n.address for n in self.nodes], self.lb_cert, self.node_cert[0])
        stack.callback(self.nginx.stop)
        self.lb = Endpoint(self.nginx.port, NAME, self.lb_cert[0], NAME, source=CLIENT)
        tokens = self.sign_in(OWNER)
        # Everything through nginx: a step-up taken on one node applies on the node that serves
        # the next request (cross-node cache invalidation).
        _, codes = enroll(self.lb, tokens)
        put_policy(self.lb, tokens, codes, "all", {"*": ["create", "read", "update", "delete", "list"]})
        key, _ = api_key(self.lb, tokens, codes, policy="all")
        self.h = {"X-API-Key": key}

    def sign_in(self, email):
        """A magic link requested through nginx (its mail is in the outbox of whichever node took
        the request, read on that node's own address) and redeemed through nginx."""
        seen = [len([m for m in outbox(d) if m["to"] == email]) for d in self.direct]
        res = post(self.lb, "/api/v1/auth/request", {"email": email})
        assert res.status == 202, res
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for d, before in zip(self.direct, seen):
                mine = [m for m in outbox(d) if m["to"] == email]
                if len(mine) > before:
                    res = verify(self.lb, MAGIC_RE.search(mine[-1]["text"]).group(0))
                    assert res.status == 200, res
                    return res.json()
            time.sleep(0.05)
        raise AssertionError("no sign-in mail on any node")

    def kill_nodes(self):
        for n in self.nodes:
            n.kill()
            if getattr(n, "_stderr_file", None):
                n._stderr_file.close()

    def put(self, path, data, via=None, rid=None):
        h = {**self.h, **({"X-Request-ID": rid} if rid else {})}
        return send_json(via or self.lb, "PUT", S + path, {"data": data}, h)

    def read(self, path, via=None, headers=None):
        return (via or self.lb).get(S + path, {**self.h, **(headers or {})})

    def log_mark(self):
        """How many lines nginx's log has once every earlier request is in it."""
        rid = "mark-" + uuid.uuid4().hex
        assert self.lb.get("/livez", {"X-Request-ID": rid}).status == 200
        self.nginx.entry(rid)
        return len(self.nginx.access_log())

    def requests_seen(self, i):
        """Node i's own request counters, {(route, status): count}, from its own address."""
        res = self.direct[i].get("/metrics", {"Authorization": f"Bearer {self.env['BULWARK_OPERATOR_TOKEN']}"})
        assert res.status == 200, res
        return {(m[1], m[2]): int(m[3]) for m in re.finditer(
            r'^bulwark_http_requests_total\{route="([^"]*)",status="(\d+)"\} (\d+)$', res.body.decode(), re.M)}

    def ledger_entries(self, rid):
        rc, out, err = self.pg.sql(self.url, "SELECT convert_from(entry, 'UTF8') FROM audit_ledger WHERE "
                                             f"convert_from(entry, 'UTF8')::jsonb ->> 'request_id' = '{rid}'")
        assert rc == 0, err
        return [json.loads(line) for line in out.splitlines()]


@pytest.fixture(scope="module")
def lb(tmp_path_factory):
    root = tmp_path_factory.mktemp("lb")
    with contextlib.ExitStack() as stack:
        cluster = Cluster(root, stack)
        yield cluster
    reports = [n.stderr_text for n in cluster.nodes if SANITIZER_RE.search(n.stderr_text)]
    assert not reports, "sanitizer report in node stderr:\n" + "\n".join(reports)[:20000]


def test_requests_spread_over_every_node_on_one_database(lb):
    before = [lb.requests_seen(i) for i in range(NODES)]
    mark = lb.log_mark()
    res = lb.put("app/db", {"password": "one"})
    assert res.status == 200 and res.json()["version"] == 1, res
    for _ in range(2 * NODES):
        res = lb.read("app/db")
        assert res.status == 200 and res.json()["data"] == {"password": "one"}, res
    # A new version is what every node reads next: nothing stale anywhere.
    assert lb.put("app/db", {"password": "two"}).json()["version"] == 2
    for _ in range(2 * NODES):
        res = lb.read("app/db")
        assert res.status == 200 and res.json()["data"] == {"password": "two"}, res
    after = [lb.requests_seen(i) for i in range(NODES)]
    reads = [sum(n - before[i].get(k, 0) for k, n in after[i].items() if k[0].startswith(SECRET_READ))
             for i in range(NODES)]
    assert sum(reads) == 4 * NODES and all(r > 0 for r in reads), reads
    # nginx's log says the same: every read went to one node and was answered there.
    upstreams = [e["upstream"] for e in lb.nginx.since(mark, 4 * NODES + 2) if e["request"].startswith("GET " + S)]
    assert len(upstreams) == 4 * NODES and set(upstreams) == {n.address for n in lb.nodes}, upstreams


def test_the_nodes_record_the_client_and_its_request_id_not_the_proxy(lb):
    rid = "lb-" + uuid.uuid4().hex
    res = lb.read("app/db", headers={"X-Request-ID": rid, "X-Forwarded-For": "203.0.113.9"})
    assert res.status == 200 and res.header("X-Request-ID") == rid, res
    [entry] = lb.ledger_entries(rid)
    assert entry["client"] == CLIENT, entry  # neither the proxy's 127.0.0.1 nor the forged address
    assert lb.nginx.entry(rid)["status"] == "200"
    # No id, or one Bulwark would not keep: nginx's own id, the same in the ledger and in its log.
    for given in (None, "not an id!", "x" * 129):
        res = lb.read("app/db", headers={"X-Request-ID": given} if given else {})
        assert res.status == 200, res
        rid = res.header("X-Request-ID")
        assert RID.fullmatch(rid), res.header_list
        assert [e["client"] for e in lb.ledger_entries(rid)] == [CLIENT]
        assert lb.nginx.entry(rid)["status"] == "200"


def test_operator_endpoints_never_reach_a_node(lb):
    op = {"Authorization": f"Bearer {lb.env['BULWARK_OPERATOR_TOKEN']}"}
    assert lb.direct[0].get("/build-info", op).status == 200  # what the token opens on a node itself
    before = [sum(lb.requests_seen(i).values()) for i in range(NODES)]
    for method, path in [("GET", "/metrics"), ("GET", "//metrics"), ("GET", "/%6Detrics"), ("GET", "/./metrics"),
                         ("GET", "/metrics?name=x"), ("GET", "/build-info"), ("POST", "/api/v1/ops/keyring/reload"),
                         ("GET", "/api/v1/local/outbox")]:
        rid = "op-" + uuid.uuid4().hex
        res = lb.lb.request(method, path, {**op, "X-Request-ID": rid}, body="" if method == "POST" else None)
        assert res.status == 404, (path, res)
        assert lb.nginx.entry(rid)["upstream"] == "-", path  # answered by nginx itself
    after = [sum(lb.requests_seen(i).values()) for i in range(NODES)]
    assert [a - b for a, b in zip(after, before)] == [1] * NODES  # only the scrape between the two counts


def test_only_tls_12_and_13_with_aead_suites(lb):
    def s_client(*args):
        out = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{lb.nginx.port}", "-servername", NAME,
                              "-brief", *args], input=b"", capture_output=True, timeout=30)
        return out.returncode, (out.stdout + out.stderr).decode(errors="replace")

    for old in ("-tls1", "-tls1_1"):  # (Debian's OpenSSL policy refuses these as well)
        rc, text = s_client(old, "-cipher", "DEFAULT@SECLEVEL=0")
        assert rc != 0 and "Protocol version" not in text, text
    rc, text = s_client("-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA")  # CBC, no AEAD
    assert rc != 0, text
    rc, text = s_client("-tls1_2")
    assert "Protocol version: TLSv1.2" in text and "ECDHE" in text and "GCM" in text, text
    rc, text = s_client("-tls1_3")
    assert "Protocol version: TLSv1.3" in text, text


def test_a_large_secret_passes_through_without_touching_disk(lb):
    value = {"blob": os.urandom(225_000).hex()}  # 450 KB each way: more than nginx's buffers
    res = lb.put("big/blob", value)
    assert res.status == 200, res
    # Read slowly: with the small send buffer of the test's listener (see Nginx), the answer
    # does not fit in the kernel, so nginx has to hold it back (or spool it, were it allowed to).
    res = lb.lb.get(S + "big/blob", lb.h, slow=True)
    assert res.status == 200 and res.json()["data"] == value
    assert float(lb.nginx.entry(res.header("X-Request-ID"))["rt"]) >= 0.9
    # nginx warns of each body or answer it writes to a temporary file.
    assert "buffered to a temporary file" not in lb.nginx.error_log
    for kind in ("client_body", "proxy"):
        assert [p for p in (lb.nginx.dir / kind).rglob("*") if p.is_file()] == []


class BlackHole:
    """A TLS "node" that takes one request per connection and hangs up without an answer, as a
    node does that dies once a request has reached it. Remembers (method, X-Request-ID) of each."""

    def __init__(self, cert):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(str(cert[0]), str(cert[1]))
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.address = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.taken = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            with conn, contextlib.suppress(OSError):
                conn.settimeout(5)
                with self.ctx.wrap_socket(conn, server_side=True) as s:
                    head = b""
                    while b"\r\n\r\n" not in head and (chunk := s.recv(65536)):
                        head += chunk
                    text = head.decode("latin-1")
                    rid = re.search(r"^X-Request-ID: *(\S+)", text, re.M | re.I)
                    self.taken.append((text.split(" ", 1)[0], rid.group(1) if rid else None))

    def stop(self):
        self.stopping.set()
        self.thread.join(timeout=5)
        self.sock.close()


@contextlib.contextmanager
def behind_a_black_hole(lb, directory):
    """The shipped file rendered for [a black hole, node 1]: (hole, nginx, endpoint)."""
    hole, nginx = BlackHole(lb.node_cert), None
    try:
        nginx = Nginx(directory, [hole.address, lb.nodes[0].address], lb.lb_cert, lb.node_cert[0])
        yield hole, nginx, Endpoint(nginx.port, NAME, lb.lb_cert[0], NAME, source=CLIENT)
    finally:
        if nginx:
            nginx.stop()
        hole.stop()


def until_swallowed(hole, send):
    """send(request id) until the hole has taken one (round robin: the first or the second);
    ({request id: status}, the id the hole took)."""
    answers = {}
    for i in range(4):
        rid = f"hole-{i}-{uuid.uuid4().hex}"
        answers[rid] = send(rid).status
        if hole.taken:
            break
    assert len(hole.taken) == 1, hole.taken
    return answers, hole.taken[0][1]


def test_a_read_that_reached_a_dying_node_is_answered_by_another(lb, tmp_path):
    with behind_a_black_hole(lb, tmp_path / "nginx") as (hole, nginx, via):
        answers, swallowed = until_swallowed(hole, lambda rid: lb.read("app/db", via, {"X-Request-ID": rid}))
        assert set(answers.values()) == {200}, answers
        assert nginx.entry(swallowed)["upstream"] == f"{hole.address}, {lb.nodes[0].address}"
        assert len(lb.ledger_entries(swallowed)) == 1  # the read the node answered


@pytest.mark.parametrize("method", ["PUT", "POST"])
def test_a_write_that_reached_a_dying_node_is_never_sent_to_another(lb, tmp_path, method):
    def send(rid):
        if method == "PUT":
            return lb.put(f"hole/{tmp_path.name}", {"n": rid}, via, rid)
        return post(via, "/api/v1/auth/request", {"email": "someone@acme.test"}, {"X-Request-ID": rid})

    with behind_a_black_hole(lb, tmp_path / "nginx") as (hole, nginx, via):
        answers, swallowed = until_swallowed(hole, send)
        assert hole.taken[0][0] == method
        assert answers.pop(swallowed) == 502, answers
        assert nginx.entry(swallowed)["upstream"] == hole.address  # one attempt, nowhere else
        assert lb.ledger_entries(swallowed) == []  # no node saw it
        assert all(status in (200, 202) for status in answers.values()), answers
        if method == "PUT" and answers:
            assert lb.read(f"hole/{tmp_path.name}").json()["version"] == len(answers)


def test_killed_nodes_are_routed_around(lb):
    """Last: it kills two of the three nodes."""
    assert lb.put("kill/x", {"n": "0"}).status == 200
    reader_victim, writer_victim, survivor = lb.nodes[2], lb.nodes[1], lb.nodes[0]
    mark = lb.log_mark()
    reader_victim.kill()
    time.sleep(0.2)  # nginx drops its idle connections to the dead node
    for _ in range(2 * NODES):
        res = lb.read("kill/x")
        assert res.status == 200 and res.json()["data"] == {"n": "0"}, res
    tried = [e for e in lb.nginx.since(mark, 2 * NODES) if reader_victim.address in e["upstream"]]
    assert len(tried) == 1 and tried[0]["upstream"].startswith(reader_victim.address + ", "), tried
    assert tried[0]["ustatus"].startswith("502, ") and tried[0]["status"] == "200", tried
    # A POST that could not even connect reached no node: nginx moves it on.
    mark += 2 * NODES
    writer_victim.kill()
    time.sleep(0.2)
    for _ in range(2):
        assert post(lb.lb, "/api/v1/auth/request", {"email": "someone@acme.test"}).status == 202
    tried = [e for e in lb.nginx.since(mark, 2) if writer_victim.address in e["upstream"]]
    assert [e["upstream"] for e in tried] == [f"{writer_victim.address}, {survivor.address}"], tried
    # Both dead nodes are out now: every write goes to the survivor, each exactly once.
    for i in range(1, 2 * NODES + 1):
        res = lb.put("kill/x", {"n": str(i)})
        assert res.status == 200 and res.json()["version"] == i + 1, res

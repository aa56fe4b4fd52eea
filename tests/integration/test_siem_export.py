"""SIEM export through the real binary to a real rsyslogd (Debian) on loopback: RFC 5424 over
TCP with octet-counting framing, every ledger record in seq order, nothing lost while the
receiver is down, requests never blocked by it, lag visible in /metrics and /readyz; the
JSON-lines file sink (audit.file) holding exactly the ledger entries; and two nodes on one
PostgreSQL shipping each record once, one node at a time, a killed exporter replaced by the other."""
import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from conftest import random_token, run_cli, b64key, render_toml, PUBLIC_URL
from pg_helpers import free_port, query

RSYSLOGD = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
DENIED = "/metrics"  # an operator-only route: a non-operator gets 404, and that refusal is recorded
# Refusals are this file's load: every one recorded one by one (no summaries, test_refusal_flood.py
# has those), none held back by the per-address limit on refused requests.
EVERY_REFUSAL = {"audit.refusal_summary_threshold": 0, "rate_limit.rules": ["* refused 1000000/1s"]}
BOM = b"\xef\xbb\xbf"


class Rsyslog:
    """`rsyslogd -n` as the current user: imtcp on 127.0.0.1:port, each message's MSG to a file."""

    def __init__(self, workdir, port):
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port
        self.out = self.dir / "received.log"
        self.fields = self.dir / "fields.log"  # what rsyslog's RFC 5424 parser made of the header
        self.conf = self.dir / "rsyslog.conf"
        self.pidfile = self.dir / "rsyslogd.pid"
        self.log = self.dir / "rsyslogd.stderr"
        self.proc = None
        self.conf.write_text(
            f'global(workDirectory="{self.dir}" maxMessageSize="64k")\n'
            'module(load="imtcp")\n'
            'template(name="msgonly" type="string" string="%msg%\\n")\n'
            f'input(type="imtcp" address="127.0.0.1" port="{port}")\n'
            'template(name="fields" type="string" '
            'string="%pri%|%timereported:::date-rfc3339%|%app-name%|%procid%|%msgid%|%structured-data%\\n")\n'
            f'action(type="omfile" file="{self.out}" template="msgonly")\n'
            f'action(type="omfile" file="{self.fields}" template="fields")\n')

    def start(self, timeout=15.0):
        self.pidfile.unlink(missing_ok=True)
        self._err = open(self.log, "ab")
        self.proc = subprocess.Popen([RSYSLOGD, "-n", "-f", str(self.conf), "-i", str(self.pidfile)],
                                     stdin=subprocess.DEVNULL, stdout=self._err, stderr=self._err,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"rsyslogd exited with {self.proc.returncode}: {self.log.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"rsyslogd did not listen on {self.port}: {self.log.read_text()}")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self.proc:
            self._err.close()

    def records(self):
        """(msgid, structured data, MSG bytes) per received message, in arrival order (the two
        output files hold one line per message, in the same order)."""
        if not self.out.exists() or not self.fields.exists():
            return []
        lines = [line for line in self.out.read_bytes().split(b"\n") if line]
        fields = self.fields.read_text().splitlines()
        out = []
        for line, field in zip(lines, fields):  # a message may be in one file and not yet the other
            assert line.startswith(BOM), line[:80]  # RFC 5424 §6.4: a UTF-8 MSG starts with a BOM
            _pri, _ts, _app, _procid, msgid, sd = field.split("|", 5)
            out.append((msgid, sd, line[len(BOM):]))
        return out

    def messages(self):
        """(seq, entry bytes) per received ledger entry, in file order (checkpoints left out)."""
        return [(json.loads(body)["seq"], body) for msgid, _, body in self.records()
                if msgid != "audit.checkpoint"]

    def checkpoints(self):
        """(SD params, checkpoint line) per received checkpoint record, in file order."""
        return [(sd_params(sd), json.loads(body)) for msgid, sd, body in self.records()
                if msgid == "audit.checkpoint"]


def sd_params(sd):
    """The parameters of the checkpoint@32473 SD element, as a dict."""
    m = re.fullmatch(r'\[checkpoint@32473((?: \w+="(?:[^"\\]|\\.)*")*)\]', sd)
    assert m, sd
    return dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(1)))


@pytest.fixture
def rsyslog(tmp_path):
    made = []

    def factory(port, name="rsyslog"):
        r = Rsyslog(tmp_path / name, port)
        made.append(r)
        return r.start()

    yield factory
    for r in made:
        r.stop()


def ledger(srv):
    return query(srv, "SELECT seq, entry FROM audit_ledger ORDER BY seq")


def wait_until(pred, timeout=15.0, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


def export_metrics(srv, token):
    r = srv.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert r.status == 200, r
    text = r.body.decode()
    lag = {m[0]: int(m[1]) for m in re.findall(r'^bulwark_audit_export_lag_entries\{sink="(\w+)"\} (\d+)$', text, re.M)}
    conn = {m[0]: int(m[1]) for m in re.findall(r'^bulwark_audit_export_connected\{sink="(\w+)"\} (\d+)$', text, re.M)}
    return lag, conn


def readyz_export(srv):
    r = srv.get("/readyz")
    return r.status, r.json()["checks"].get("audit_export", "")


def syslog_lag(srv):
    status, detail = readyz_export(srv)
    m = re.search(r"syslog lag (\d+)", detail)
    return status, (int(m.group(1)) if m else None), detail


def assert_in_order_no_gap(msgs, ledger_rows):
    """At least once, in order: every record present with its exact ledger bytes; a seq only
    ever repeats as part of a resend that restarts at or before the next undelivered one."""
    expected = dict(ledger_rows)
    high = 0
    for seq, body in msgs:
        assert body == expected[seq], f"record {seq} differs from the ledger"
        assert seq <= high + 1, f"gap: got {seq} after {high}"
        high = max(high, seq)
    assert {s for s, _ in msgs} == set(expected), "records missing"


def test_rsyslog_receives_every_record_in_order_and_nothing_is_lost_across_an_outage(make_server, rsyslog, tmp_path):
    port = free_port()
    rx = rsyslog(port)
    token = random_token()
    audit_file = tmp_path / "audit.jsonl"
    srv = make_server(settings={"operator.allow_cidrs": ["10.0.0.0/8"],
                                "audit.syslog_address": f"127.0.0.1:{port}",
                                "audit.file": str(audit_file), **EVERY_REFUSAL},
                      env={"BULWARK_OPERATOR_TOKEN": token})

    for i in range(20):
        assert srv.get(DENIED, headers={"X-Request-ID": f"before-{i}"}).status == 404
    rows = ledger(srv)
    assert len(rows) >= 20
    assert wait_until(lambda: len(rx.messages()) >= len(ledger(srv))), rx.messages()[-3:]
    rows = ledger(srv)
    msgs = rx.messages()
    assert [s for s, _ in msgs] == [s for s, _ in rows]  # no outage yet: exactly once, in order
    assert_in_order_no_gap(msgs, rows)
    assert wait_until(lambda: export_metrics(srv, token)[0].get("syslog") == 0)
    lag, conn = export_metrics(srv, token)
    assert conn == {"syslog": 1, "file": 1}
    # rsyslog parsed each header as RFC 5424: PRI = 13 (log audit) * 8 + 5 (notice, a denial),
    # the entry's own time, app name, MSGID = the action, and seq / ledger id structured data.
    ((ledger_id,),) = query(srv, "SELECT ledger_id FROM audit_ledger_meta")
    fields = rx.fields.read_text().splitlines()
    first = json.loads(rows[0][1])
    pri, ts, app, procid, msgid, sd = fields[0].split("|", 5)
    assert (pri, app, msgid) == ("109", "bulwark", "http.denied"), fields[0]
    assert ts.startswith(first["time"][:19]) and procid == str(srv.proc.pid), fields[0]
    assert sd == f'[bulwark@32473 seq="1" ledger="{ledger_id}"]', fields[0]

    # The receiver goes away: requests still answer promptly, the lag shows, /readyz stays 200.
    rx.stop()
    slowest = 0.0
    for i in range(50):
        t0 = time.monotonic()
        r = srv.get(DENIED, headers={"X-Request-ID": f"outage-{i}"}, timeout=5)
        slowest = max(slowest, time.monotonic() - t0)
        assert r.status == 404
    assert slowest < 1.0, f"a request took {slowest:.3f}s while the receiver was down"
    # The lag is as of the exporter's last poll (every 200 ms).
    status, lag_now, detail = wait_until(lambda: (lambda r: r if (r[1] or 0) >= 50 else None)(syslog_lag(srv)),
                                         timeout=3) or syslog_lag(srv)
    assert status == 200, detail
    assert lag_now is not None and lag_now >= 50, detail
    lag, conn = wait_until(lambda: (lambda m: m if m[1].get("syslog") == 0 else None)(export_metrics(srv, token)))
    assert lag["syslog"] >= 50 and conn["syslog"] == 0
    assert lag["file"] == 0 and conn["file"] == 1  # the other sink is unaffected
    time.sleep(1.0)  # a while down: the exporter backs off and retries

    # The receiver comes back on the same port: everything arrives, nothing is missing.
    restarted = time.monotonic()
    rx.start()
    assert wait_until(lambda: syslog_lag(srv)[1] == 0, timeout=20), syslog_lag(srv)
    recovery = time.monotonic() - restarted
    rows = ledger(srv)
    assert wait_until(lambda: {s for s, _ in rx.messages()} >= {s for s, _ in rows})
    assert_in_order_no_gap(rx.messages(), rows)
    print(f"lag recovery after rsyslogd restart: {recovery:.2f}s")
    assert recovery < 10
    lag, conn = export_metrics(srv, token)
    assert conn["syslog"] == 1

    srv.stop()
    assert srv.returncode == 0
    # The file sink holds exactly the ledger entries, one per line, in order, and the checkpoints.
    rows = ledger(srv)
    lines = audit_file.read_bytes().split(b"\n")
    assert lines[-1] == b""
    assert [line for line in lines[:-1] if not line.startswith(b'{"type":"checkpoint"')] == \
        [entry for _, entry in rows]
    assert os.stat(audit_file).st_mode & 0o077 == 0
    # Nothing shipped holds a secret: the operator token never reaches the SIEM.
    assert token.encode() not in rx.out.read_bytes()
    assert token.encode() not in audit_file.read_bytes()


def test_export_resumes_after_a_server_restart_without_gap(make_server, rsyslog):
    port = free_port()
    rx = rsyslog(port)
    settings = {"operator.allow_cidrs": ["10.0.0.0/8"], "audit.syslog_address": f"127.0.0.1:{port}",
                **EVERY_REFUSAL}
    srv = make_server(settings=settings, name="first")
    for _ in range(10):
        assert srv.get(DENIED).status == 404
    srv.stop()
    assert srv.returncode == 0
    rx.stop()
    # Restart the server on the same data while the receiver is down, add records, then bring
    # the receiver back: the persisted cursor resumes where delivery stopped.
    srv2 = make_server(settings=settings, name="second", data_dir=srv.data_dir,
                       env={"BULWARK_MASTER_KEY": srv.env["BULWARK_MASTER_KEY"]})
    for _ in range(10):
        assert srv2.get(DENIED).status == 404
    rx.start()
    assert wait_until(lambda: syslog_lag(srv2)[1] == 0, timeout=20), syslog_lag(srv2)
    rows = ledger(srv2)
    # Lag 0 means the receiver's TCP has everything; rsyslog writes its file a moment later.
    assert wait_until(lambda: {s for s, _ in rx.messages()} >= {s for s, _ in rows})
    assert_in_order_no_gap(rx.messages(), rows)
    assert len(ledger(srv2)) >= 20
    srv2.stop()
    assert srv2.returncode == 0


def test_production_refuses_plain_syslog_beyond_loopback(tmp_path):
    cfg = tmp_path / "bulwark.toml"
    cfg.write_text(render_toml({"server.public_url": PUBLIC_URL, "audit.syslog_address": "192.0.2.10:514"}))
    res = run_cli(["config", "check", "--config", cfg, "--data", tmp_path / "data"],
                  env={"BULWARK_MASTER_KEY": b64key()})
    assert res.returncode == 1, res
    assert "audit.syslog_tls" in res.output and "syslog over plain TCP beyond loopback" in res.output
    cfg.write_text(render_toml({"server.public_url": PUBLIC_URL, "audit.syslog_address": "127.0.0.1:514",
                                "mail.disabled": True}))
    res = run_cli(["config", "check", "--config", cfg, "--data", tmp_path / "data"],
                  env={"BULWARK_MASTER_KEY": b64key()})
    assert res.returncode == 0, res


def test_receiver_stopped_in_the_middle_of_a_burst_loses_nothing(make_server, rsyslog):
    port = free_port()
    rx = rsyslog(port)
    srv = make_server(settings={"operator.allow_cidrs": ["10.0.0.0/8"], "audit.syslog_address": f"127.0.0.1:{port}",
                                "audit.export_batch": 16, **EVERY_REFUSAL})
    stop = threading.Event()
    errors = []

    def load(worker):
        i = 0
        while not stop.is_set():
            try:
                assert srv.get(DENIED, headers={"X-Request-ID": f"w{worker}-{i}"}).status == 404
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)
                return
            i += 1

    workers = [threading.Thread(target=load, args=(w,)) for w in range(4)]
    for w in workers:
        w.start()
    try:
        for _ in range(3):  # stop the receiver while records stream to it, then bring it back
            time.sleep(0.3)
            rx.stop()
            time.sleep(0.3)
            rx.start()
        time.sleep(0.3)
    finally:
        stop.set()
        for w in workers:
            w.join()
    assert not errors, errors[:3]
    assert wait_until(lambda: syslog_lag(srv)[1] == 0, timeout=30), syslog_lag(srv)
    rows = ledger(srv)
    assert len(rows) >= 100
    assert wait_until(lambda: {s for s, _ in rx.messages()} >= {s for s, _ in rows})
    assert_in_order_no_gap(rx.messages(), rows)
    print(f"burst: {len(rows)} records, {len(rx.messages()) - len(rows)} resent after outages")




def pg_ledger(pg, url):
    rc, out, err = pg.sql(url, "SELECT seq, encode(entry, 'hex') FROM audit_ledger ORDER BY seq")
    assert rc == 0, err
    return [(int(seq), bytes.fromhex(entry)) for seq, entry in (line.split("|") for line in out.splitlines())]


def test_two_nodes_on_postgresql_ship_each_record_once_and_a_killed_exporter_is_replaced(pg, make_server,
                                                                                          rsyslog):
    url = pg.new_database()
    port = free_port()
    rx = rsyslog(port)
    settings = {"operator.allow_cidrs": ["10.0.0.0/8"], "storage.url": url,
                "audit.syslog_address": f"127.0.0.1:{port}", **EVERY_REFUSAL}
    key = b64key()
    nodes = [make_server(dev=True, name=f"node{i}", env={"BULWARK_MASTER_KEY": key}, settings=settings)
             for i in range(2)]
    for i in range(40):
        assert nodes[i % 2].get(DENIED, headers={"X-Request-ID": f"both-{i}"}).status == 404
    assert wait_until(lambda: len(rx.messages()) >= len(pg_ledger(pg, url))), len(rx.messages())
    time.sleep(1.0)  # the standby node had every chance to ship too
    rows = pg_ledger(pg, url)
    assert [s for s, _ in rx.messages()] == [s for s, _ in rows]  # once, not once per node

    # One node exports (it holds the lease), the other stands by and shows the same lag.
    details = [readyz_export(n)[1] for n in nodes]
    exporting = [i for i, d in enumerate(details) if "standby" not in d]
    assert len(exporting) == 1, details
    holder, other = nodes[exporting[0]], nodes[1 - exporting[0]]
    assert wait_until(lambda: syslog_lag(other)[1] == 0), syslog_lag(other)

    # The exporting node dies without releasing its lease: the other takes over once the lease
    # (10 s) has run out and resumes from the shared cursor.
    holder.kill()
    killed = time.monotonic()
    for i in range(20):
        assert other.get(DENIED, headers={"X-Request-ID": f"after-{i}"}).status == 404
    assert wait_until(lambda: "standby" not in readyz_export(other)[1], timeout=20), readyz_export(other)
    takeover = time.monotonic() - killed
    print(f"export takeover after the exporting node was killed: {takeover:.2f}s")
    assert takeover < 13
    assert other.wait_event("audit.export_lease_acquired")
    rows = pg_ledger(pg, url)
    assert wait_until(lambda: {s for s, _ in rx.messages()} >= {s for s, _ in rows}, timeout=20)
    msgs = rx.messages()
    assert_in_order_no_gap(msgs, rows)
    # Only what the dead node had shipped but not yet recorded may repeat (here: usually nothing).
    assert len(msgs) - len({s for s, _ in msgs}) <= 256, Counter(s for s, _ in msgs).most_common(3)
    assert other.stop() == 0


def ledger_checkpoints(srv):
    """Every checkpoint of the store as (id, size, head_hash hex, body bytes, key_id, signature)."""
    rows = query(srv, "SELECT id, size, head_hash, body, key_id, signature FROM audit_checkpoints ORDER BY id")
    return [(i, size, bytes(h).hex(), bytes(body), kid, bytes(sig)) for i, size, h, body, kid, sig in rows]


def expected_stream(entries, checkpoints):
    """What a sink must receive without an outage: each entry by seq, each checkpoint right after
    the entry of its size (checkpoints of one size in id order)."""
    by_size = {}
    for cp in checkpoints:
        by_size.setdefault(cp[1], []).append(("checkpoint", cp[0]))
    out = list(by_size.get(0, []))
    for seq, _ in entries:
        out.append(("entry", seq))
        out += by_size.get(seq, [])
    return out


def first_arrivals(stream):
    seen = set()
    return [x for x in stream if not (x in seen or seen.add(x))]


def received_stream(rx):
    return [("checkpoint", json.loads(body)["id"]) if msgid == "audit.checkpoint" else ("entry", json.loads(body)["seq"])
            for msgid, _, body in rx.records()]


def test_every_signed_checkpoint_reaches_every_sink_in_order_and_verifies_offline(make_server, rsyslog, tmp_path):
    """The SIEM holds every checkpoint the ledger signed (fails on the previous build: it received
    none), each right after the entry of its size, in a record a rule can check (MSGID
    audit.checkpoint, SD size/head_hash/key_id/signature), and one received checkpoint verifies
    offline with openssl and the pinned key, and through `audit verify --since-checkpoint`."""
    port = free_port()
    rx = rsyslog(port)
    audit_file = tmp_path / "audit.jsonl"
    srv = make_server(settings={"operator.allow_cidrs": ["10.0.0.0/8"],
                                "audit.syslog_address": f"127.0.0.1:{port}",
                                "audit.file": str(audit_file),
                                "audit.checkpoint_every": 7, **EVERY_REFUSAL}, name="first")
    settings = {"operator.allow_cidrs": ["10.0.0.0/8"], "audit.syslog_address": f"127.0.0.1:{port}",
                "audit.file": str(audit_file), "audit.checkpoint_every": 7, **EVERY_REFUSAL}
    backup = None
    for run in range(2):
        if run:
            srv = make_server(settings=settings, name="again", data_dir=srv.data_dir,
                              env={"BULWARK_MASTER_KEY": srv.env["BULWARK_MASTER_KEY"]})
        for i in range(20):
            assert srv.get(DENIED, headers={"X-Request-ID": f"cp-{run}-{i}"}).status == 404
            if i % 10 == 9:
                time.sleep(0.3)  # some checkpoints come from the interval, in their own transaction
        srv.stop()  # the final checkpoint is signed at shutdown and shipped before the exporter stops
        assert srv.returncode == 0
        if run == 0 and "storage.url" not in srv.settings:
            backup = tmp_path / "backup"  # a backup of the database as of now, for a restore below
            backup.mkdir()
            for f in Path(srv.data_dir).glob("bulwark.db*"):
                shutil.copy2(f, backup / f.name)

    entries = ledger(srv)
    cps = ledger_checkpoints(srv)
    assert len(cps) >= 5, cps
    expected = expected_stream(entries, cps)
    assert wait_until(lambda: len(first_arrivals(received_stream(rx))) >= len(expected)), \
        (len(received_stream(rx)), len(expected))
    # Every entry and every checkpoint, in ledger order. At least once: the restart may send the
    # checkpoint at the persisted cursor again (right where it belongs), nothing else.
    got = received_stream(rx)
    assert first_arrivals(got) == expected
    assert len(got) - len(expected) <= 1, got
    assert {i for kind, i in got if kind == "checkpoint"} == {cp[0] for cp in cps}

    # What a SIEM rule reads from the record matches the stored checkpoint.
    ((ledger_id,),) = query(srv, "SELECT ledger_id FROM audit_ledger_meta")
    received = rx.checkpoints()
    firsts = {}
    for params, line in received:
        firsts.setdefault(line["id"], (params, line))
    assert sorted(firsts) == [cp[0] for cp in cps]
    for (params, line), (cid, size, head, body, kid, sig) in zip((firsts[c[0]] for c in cps), cps):
        assert params == {"ledger": ledger_id, "size": str(size), "head_hash": head, "key_id": kid,
                          "signature": base64.b64encode(sig).decode(), "id": str(cid)}, params
        assert line["type"] == "checkpoint" and line["body"].encode() == body and line["key_id"] == kid
        assert json.loads(body)["size"] == size and json.loads(body)["head_hash"] == head
    fields = [f for f in rx.fields.read_text().splitlines() if "|audit.checkpoint|" in f]
    assert fields and all(f.startswith("109|") for f in fields), fields[:2]  # log audit, notice

    # The file sink holds the same stream: the export's checkpoint lines between the entries.
    lines = [json.loads(line) for line in audit_file.read_bytes().splitlines()]
    assert first_arrivals([("checkpoint", o["id"]) if o.get("type") == "checkpoint" else ("entry", o["seq"])
                           for o in lines]) == expected

    # Offline, without Bulwark: the last checkpoint the SIEM holds verifies with the pinned key.
    pub = run_cli(["audit", "pubkey", *srv.store_args()])
    assert pub.returncode == 0, pub
    pem = tmp_path / "checkpoint-key.pem"
    pem.write_text(pub.stdout)
    last = received[-1][1]
    (tmp_path / "body.json").write_bytes(last["body"].encode())
    (tmp_path / "body.sig").write_bytes(base64.b64decode(last["signature"]))
    ok = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(pem), "-rawin",
                         "-in", str(tmp_path / "body.json"), "-sigfile", str(tmp_path / "body.sig")],
                        capture_output=True, text=True, timeout=30)
    assert ok.returncode == 0 and "Signature Verified Successfully" in ok.stdout, ok
    forged = json.loads(last["body"])
    forged["size"] += 1
    (tmp_path / "forged.json").write_bytes(json.dumps(forged, separators=(",", ":"), sort_keys=True).encode())
    bad = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(pem), "-rawin",
                          "-in", str(tmp_path / "forged.json"), "-sigfile", str(tmp_path / "body.sig")],
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode != 0, bad

    # The record's MSG is a checkpoint line `audit verify --since-checkpoint` reads as it is: the
    # database extends what the SIEM holds (exit 0) ...
    siem_copy = tmp_path / "siem-checkpoint.json"
    siem_copy.write_bytes(next(body for msgid, _, body in reversed(rx.records()) if msgid == "audit.checkpoint"))
    r = run_cli(["audit", "verify", *srv.store_args(), "--pubkey", pem, "--since-checkpoint", siem_copy])
    assert r.returncode == 0, r
    # ... and a database restored from before it fails (SQLite: the backup taken mid-way).
    if backup is not None:
        r = run_cli(["audit", "verify", "--data", backup, "--pubkey", pem, "--since-checkpoint", siem_copy])
        assert r.returncode == 1 and "rolled_back" in r.stderr and r.stdout == "", r

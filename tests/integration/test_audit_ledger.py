"""The audit ledger through the real binary: refusals recorded durably before the response,
the chain and checkpoint signatures checked by independent code (hashlib, the openssl CLI),
fail-closed when the ledger cannot be written, and nothing lost across SIGKILL."""
import base64
import hashlib
import json
import os
import signal
import subprocess
import threading
import time

import pytest

from pg_helpers import ON_POSTGRES, db_for, query

DENIED = "/metrics"  # an operator-only route: a non-operator gets 404, and it is recorded
NOT_OPERATOR = {"operator.allow_cidrs": ["10.0.0.0/8"]}


def ledger_rows(srv):
    with db_for(srv, readonly=True) as db:
        meta = db.query("SELECT ledger_id FROM audit_ledger_meta")
        rows = db.query("SELECT seq, entry, prev_hash, hash FROM audit_ledger ORDER BY seq")
        cps = db.query("SELECT size, head_hash, body, key_id, signature FROM audit_checkpoints ORDER BY id")
        keys = dict(db.query("SELECT key_id, public_key FROM audit_signing_keys"))
        return (meta[0][0] if meta else None), rows, cps, keys


def check_chain(ledger_id, rows):
    """Recomputes the chain from genesis with hashlib; returns the entries as dicts."""
    prev = hashlib.sha256(b"bulwark-ledger-v1|" + ledger_id.encode()).digest()
    entries = []
    for i, (seq, entry, prev_hash, digest) in enumerate(rows, start=1):
        assert seq == i, f"gap at {i}"
        assert bytes(prev_hash) == prev, f"broken link at {seq}"
        prev = hashlib.sha256(prev + bytes(entry)).digest()
        assert bytes(digest) == prev, f"bad hash at {seq}"
        e = json.loads(bytes(entry))
        assert e["seq"] == seq
        # Stored bytes are canonical: re-serialising sorted without spaces gives them back.
        assert json.dumps(e, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode() == bytes(entry)
        entries.append(e)
    return entries, prev


def ed25519_pem(raw):
    der = bytes.fromhex("302a300506032b6570032100") + bytes(raw)
    return "-----BEGIN PUBLIC KEY-----\n" + base64.b64encode(der).decode() + "\n-----END PUBLIC KEY-----\n"


def openssl_verify(tmp_path, pub_raw, body, sig):
    pem = tmp_path / "pub.pem"
    pem.write_text(ed25519_pem(pub_raw))
    (tmp_path / "body").write_bytes(bytes(body))
    (tmp_path / "sig").write_bytes(bytes(sig))
    res = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(pem), "-rawin",
                          "-in", str(tmp_path / "body"), "-sigfile", str(tmp_path / "sig")],
                         capture_output=True, timeout=30)
    return res.returncode == 0


def test_refusals_are_recorded_chained_and_checkpointed(make_server, tmp_path):
    srv = make_server(settings=NOT_OPERATOR)
    ids = [f"probe-{i}" for i in range(5)]
    for rid in ids:
        r = srv.get(DENIED, headers={"X-Request-ID": rid, "User-Agent": "probe\tagent"})
        assert r.status == 404
    assert srv.get("/livez").status == 200  # not security-relevant: not recorded
    srv.stop()
    assert srv.returncode == 0
    ledger_id, rows, cps, keys = ledger_rows(srv)
    entries, head = check_chain(ledger_id, rows)
    assert [e["request_id"] for e in entries] == ids
    for e in entries:
        assert e["action"] == "http.denied" and e["result"] == "denied" and e["reason"] == "not_found"
        assert e["resource"] == "GET /metrics" and e["client"] == "127.0.0.1"
        assert e["actor"] == {"id": None, "kind": "anonymous"}
        assert e["v"] == 1 and e["break_glass"] is False
        assert e["user_agent"] == "probeagent"  # control characters (here a tab) are dropped
    # The final checkpoint covers every entry and is signed: checked by the openssl CLI.
    size, head_hash, body, key_id, sig = cps[-1]
    assert size == len(rows) and bytes(head_hash) == head
    assert json.loads(bytes(body))["head_hash"] == head.hex()
    assert openssl_verify(tmp_path, keys[key_id], body, sig)
    tampered = bytearray(body)
    tampered[10] ^= 1
    assert not openssl_verify(tmp_path, keys[key_id], tampered, sig)


def test_ledger_tables_refuse_update_and_delete(make_server):
    srv = make_server(settings=NOT_OPERATOR)
    assert srv.get(DENIED).status == 404
    srv.stop()
    with db_for(srv) as db:
        for sql, params in (("UPDATE audit_ledger SET entry = ?", (b"\0",)), ("DELETE FROM audit_ledger", ()),
                            ("DELETE FROM audit_checkpoints", ()),
                            ("UPDATE audit_signing_keys SET public_key = ?", (b"\0",))):
            with pytest.raises(Exception, match="append-only"):
                db.execute(sql, params)
    _, rows, _, _ = ledger_rows(srv)
    assert len(rows) == 1


@pytest.fixture
def tiny_fs(tmp_path):
    if ON_POSTGRES:
        pytest.skip("the ledger is in PostgreSQL, not on a filesystem the test can fill")
    """A 4 MiB tmpfs for the data directory, so the disk can really be filled."""
    mnt = tmp_path / "tinyfs"
    mnt.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", str(mnt)],
                         capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({res.stderr.strip()}); the no-space test needs one")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def fill(path):
    """Fills the filesystem holding `path`; returns the filler file."""
    filler = path / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for chunk in (65536, 4096, 512, 1):
            try:
                while os.write(fd, b"\0" * chunk) > 0:
                    pass
            except OSError:
                pass
    finally:
        os.close(fd)
    return filler


def test_no_space_left_fails_closed_with_503_and_records_nothing(make_server, tiny_fs):
    data = tiny_fs / "data"
    srv = make_server(settings=NOT_OPERATOR, data_dir=data)
    assert srv.get(DENIED, headers={"X-Request-ID": "before"}).status == 404
    filler = fill(tiny_fs)
    refused = srv.get(DENIED, headers={"X-Request-ID": "while-full"})
    assert refused.status == 503, refused
    assert refused.json()["error"]["code"] == "audit_unavailable"
    assert refused.json()["error"]["request_id"] == "while-full"
    ready = srv.get("/readyz")
    assert ready.status == 503 and "audit" in ready.json()["failed"]
    filler.unlink()
    after = srv.get(DENIED, headers={"X-Request-ID": "after"})
    assert after.status == 404
    # Readiness is cached for a second: it turns ready again within a couple of seconds.
    deadline = time.monotonic() + 3
    while srv.get("/readyz").status != 200:
        assert time.monotonic() < deadline, "still not ready after the ledger recovered"
        time.sleep(0.2)
    srv.stop()
    ledger_id, rows, _, _ = ledger_rows(srv)
    entries, _ = check_chain(ledger_id, rows)
    assert [e["request_id"] for e in entries] == ["before", "after"]


def load_then_sigkill(srv, one_request, clients=8, seconds=1.5, per_client=2000):
    """Runs one_request(client, i) -> acknowledged id or None from `clients` threads, SIGKILLs
    the server mid-run, and returns every id that was acknowledged before the kill."""
    acknowledged = []
    lock = threading.Lock()
    stop = threading.Event()

    def client(n):
        for i in range(per_client):
            if stop.is_set():
                return
            try:
                ack = one_request(n, i)
            except OSError:
                return
            if ack is not None:
                with lock:
                    acknowledged.append(ack)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    time.sleep(seconds)
    os.killpg(srv.proc.pid, signal.SIGKILL)
    stop.set()
    for t in threads:
        t.join(10)
    srv.proc.wait(10)
    assert len(acknowledged) > 20, "the load never got going"
    return acknowledged


def test_sigkill_under_load_loses_no_acknowledged_record(make_server):
    # Every refusal recorded one by one, none held back by the per-address limit: this is about
    # what the writer acknowledges (refusal summaries, which a crash may lose, are
    # test_refusal_flood.py's).
    srv = make_server(settings={**NOT_OPERATOR, "audit.refusal_summary_threshold": 0,
                                "rate_limit.rules": ["* refused 1000000/1s"]})

    def refused(n, i):
        rid = f"c{n}-{i}"
        return rid if srv.get(DENIED, headers={"X-Request-ID": rid}, timeout=5).status == 404 else None

    acknowledged = load_then_sigkill(srv, refused)
    ledger_id, rows, _, _ = ledger_rows(srv)
    entries, _ = check_chain(ledger_id, rows)
    recorded = {e["request_id"] for e in entries}
    missing = [rid for rid in acknowledged if rid not in recorded]
    assert not missing, f"{len(missing)} acknowledged requests have no record, e.g. {missing[:5]}"
    # Restart on the same data: the chain continues where it stopped.
    srv.start()
    assert srv.get(DENIED, headers={"X-Request-ID": "after-restart"}).status == 404
    srv.stop()
    ledger_id, rows, _, _ = ledger_rows(srv)
    entries, _ = check_chain(ledger_id, rows)
    assert entries[-1]["request_id"] == "after-restart"


def test_background_verifier_raises_an_alert_for_a_damaged_ledger(make_server):
    settings = dict(NOT_OPERATOR, **{"audit.verify_interval_ms": 200})
    srv = make_server(settings=settings)
    for i in range(5):
        assert srv.get(DENIED, headers={"X-Request-ID": f"r{i}"}).status == 404
    time.sleep(0.5)
    assert srv.find_event("audit.alert") is None
    srv.stop()
    # An attacker with the database's owner account: the guard off, entry 3 rewritten.
    with db_for(srv) as db, db.unguarded("audit_ledger"):
        ((entry,),) = db.query("SELECT entry FROM audit_ledger WHERE seq = 3")
        db.execute("UPDATE audit_ledger SET entry = ? WHERE seq = 3", (entry.replace(b"r2", b"zz"),))
    srv.start()
    alert = srv.wait_event("audit.alert", timeout=10)
    assert alert["alert"] == "ledger_hash_mismatch" and alert["seq"] == 3
    srv.stop()
    _, rows, _, _ = ledger_rows(srv)
    alerts = [json.loads(r[1]) for r in rows if b"alert.ledger_hash_mismatch" in r[1]]
    assert len(alerts) == 1
    assert alerts[0]["details"]["seq"] == 3 and alerts[0]["actor"]["kind"] == "system"


def test_server_ledger_verifies_offline_with_its_pinned_key_and_as_an_export(make_server, tmp_path):
    from conftest import run_cli
    srv = make_server(settings=dict(NOT_OPERATOR, **{"audit.checkpoint_every": 3}))
    for i in range(10):
        assert srv.get(DENIED, headers={"X-Request-ID": f"v{i}"}).status == 404
    # The audit API refuses without a credential, and the refusal is itself recorded.
    r = srv.get("/api/v1/audit/events?limit=5", headers={"X-Request-ID": "api-probe"})
    assert r.status == 401 and r.json()["error"]["code"] == "authentication_required"
    srv.stop()
    pub = run_cli(["audit", "pubkey", *srv.store_args()])
    assert pub.returncode == 0 and "-----BEGIN PUBLIC KEY-----" in pub.stdout
    (tmp_path / "pinned.pem").write_text(pub.stdout)
    ok = run_cli(["audit", "verify", *srv.store_args(), "--pubkey", str(tmp_path / "pinned.pem")])
    assert ok.returncode == 0, ok.output
    assert "audit verify: OK: 11 entries" in ok.stdout
    export = tmp_path / "ledger.jsonl"
    ex = run_cli(["audit", "export", *srv.store_args(), "--out", str(export)])
    assert ex.returncode == 0, ex.output
    lines = [json.loads(line) for line in export.read_text().splitlines()]
    assert lines[0]["type"] == "header" and sum(1 for x in lines if x["type"] == "entry") == 11
    assert sum(1 for x in lines if x["type"] == "checkpoint") >= 3
    ok2 = run_cli(["audit", "verify", "--export", str(export), "--pubkey", str(tmp_path / "pinned.pem")])
    assert ok2.returncode == 0, ok2.output
    # Another key than the pinned one is not trusted.
    other = subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519"], capture_output=True, check=True).stdout
    (tmp_path / "other.key").write_bytes(other)
    other_pub = subprocess.run(["openssl", "pkey", "-in", str(tmp_path / "other.key"), "-pubout"],
                               capture_output=True, check=True).stdout
    (tmp_path / "other.pem").write_bytes(other_pub)
    bad = run_cli(["audit", "verify", *srv.store_args(), "--pubkey", str(tmp_path / "other.pem")])
    assert bad.returncode == 1 and "bad_checkpoint_signature" in bad.stderr
    _, rows, _, _ = ledger_rows(srv)
    last = json.loads(bytes(rows[-1][1]))
    assert last["request_id"] == "api-probe" and last["reason"] == "authentication_required"
    assert last["details"]["status"] == 401


def test_a_spike_of_refused_authentications_raises_one_recorded_alert(make_server):
    srv = make_server(settings={"audit.alert_auth_failures": 5, "audit.alert_window_ms": 60000})
    for i in range(12):
        r = srv.get("/api/v1/audit/events", headers={"X-Request-ID": f"spike-{i}"})
        assert r.status == 401
    alert = srv.wait_event("audit.alert", timeout=5)
    assert alert["alert"] == "auth_failure_spike"
    srv.stop()
    ledger_id, rows, _, _ = ledger_rows(srv)
    entries, _ = check_chain(ledger_id, rows)
    alerts = [e for e in entries if e["action"] == "alert.auth_failure_spike"]
    assert len(alerts) == 1, "one alert per window"
    assert alerts[0]["request_id"] == "spike-4" and alerts[0]["actor"]["kind"] == "system"
    # Each refusal is recorded under the route's declared action, with result denied.
    assert sum(1 for e in entries if e["action"] == "audit.read" and e["result"] == "denied") == 12


def test_sigkill_during_mutations_leaves_every_acknowledged_change_with_its_record(make_server):
    """Mutating load (the dev receipt issuer: a receipt row and its audit record in one
    transaction), SIGKILL mid-run, restart: every 201 has its receipt and its record, nothing
    unacknowledged is half-written, and both chains verify."""
    srv = make_server(dev=True)

    def issue(n, i):
        body = json.dumps({"tenant": f"tenant-{n % 2}", "email": f"u{n}-{i}@example.com"})
        r = srv.request("POST", "/api/v1/local/receipts", headers={"Content-Type": "application/json"},
                        body=body, timeout=5)
        return r.json()["id"] if r.status == 201 else None

    acked = load_then_sigkill(srv, issue, per_client=1000)
    receipts = {r[0]: (r[1], r[2]) for r in query(srv, "SELECT id, tenant, seq FROM receipts")}
    ledger_id, rows, _, _ = ledger_rows(srv)
    entries, _ = check_chain(ledger_id, rows)
    recorded = {e["details"].get("receipt_id") for e in entries if e["action"] == "receipt.issue"}
    missing_change = [rid for rid in acked if rid not in receipts]
    missing_record = [rid for rid in acked if rid not in recorded]
    assert not missing_change and not missing_record, (missing_change[:3], missing_record[:3])
    # Nothing half-written: every stored receipt has its record and vice versa.
    assert set(receipts) == recorded
    # Each tenant's receipt chain is gap-free.
    for tenant in ("tenant-0", "tenant-1"):
        seqs = sorted(seq for (t, seq) in receipts.values() if t == tenant)
        assert seqs == list(range(1, len(seqs) + 1)), tenant
    # The restarted server continues both chains.
    srv.start()
    r = srv.request("POST", "/api/v1/local/receipts", headers={"Content-Type": "application/json"},
                    body=json.dumps({"tenant": "tenant-0", "email": "after@example.com"}))
    assert r.status == 201
    srv.stop()
    ledger_id, rows, _, _ = ledger_rows(srv)
    check_chain(ledger_id, rows)


def test_a_ledger_stripped_of_its_checkpoints_fails_verification_against_the_pinned_key(make_server, tmp_path):
    from conftest import run_cli
    srv = make_server(settings=NOT_OPERATOR)
    for i in range(4):
        assert srv.get(DENIED, headers={"X-Request-ID": f"s{i}"}).status == 404
    srv.stop()
    pub = run_cli(["audit", "pubkey", *srv.store_args()])
    (tmp_path / "pinned.pem").write_text(pub.stdout)
    ok = run_cli(["audit", "verify", *srv.store_args(), "--pubkey", str(tmp_path / "pinned.pem")])
    assert ok.returncode == 0 and "signed through seq 4 of 4" in ok.stdout, ok.output
    # Someone with the database's owner account removes the signed checkpoints (a rebuilt chain
    # looks the same).
    with db_for(srv) as db, db.unguarded("audit_checkpoints"):
        db.execute("DELETE FROM audit_checkpoints")
    bad = run_cli(["audit", "verify", *srv.store_args(), "--pubkey", str(tmp_path / "pinned.pem")])
    assert bad.returncode == 1, bad.output
    assert "unsigned_ledger" in bad.stderr

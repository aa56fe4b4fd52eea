"""History rewrites and rollbacks of the audit ledger, done as an attacker with the database's
files (or its owner account) would, against the real binary (issue 22, defect 5).

- A rewritten history (an entry modified, deleted, inserted or reordered; the chain recomputed
  from genesis with hashlib over the canonical JSON, as src/audit/verify.cc does; the later
  checkpoints deleted) leaves more unsigned entries than the checkpoint policy allows:
  `audit verify --pubkey` fails with unsigned_tail.
- A ledger put back to an older state (the database file restored, or truncated back to its
  first checkpoint) is caught by the high-water mark outside the database: the server refuses to
  start, and `audit verify --since-checkpoint` fails with rolled_back.
- On SQLite, an entry chained onto the head while the server runs is never signed over: the
  writer alerts and fails closed.
"""
import hashlib
import json
import re
import shutil
import sqlite3
import time

import pytest

from conftest import PUBLIC_URL, run_cli
from pg_helpers import ON_POSTGRES, db_for

DENIED = "/metrics"  # an operator-only route: a non-operator gets 404, and it is recorded
NOT_OPERATOR = {"operator.allow_cidrs": ["10.0.0.0/8"]}
EVERY = 10  # audit.checkpoint_every in these tests
GUARDED = ("audit_ledger", "audit_index", "audit_checkpoints")
EXIT_REFUSED = 78


def canonical(obj):
    # RFC 8785 for what a ledger entry holds (the verifier's own test does the same).
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def pinned_key(srv, tmp_path):
    pub = run_cli(["audit", "pubkey", *srv.store_args()])
    assert pub.returncode == 0, pub
    path = tmp_path / "pinned.pem"
    path.write_text(pub.stdout)
    return path


def verify(srv, *extra):
    return run_cli(["audit", "verify", *srv.store_args(), *map(str, extra)], timeout=60)


def assert_failed(r, kind):
    assert r.returncode == 1, r
    assert re.search(rf"audit verify: FAILED: {kind} at seq \d+", r.stderr), r


def sizes(srv):
    """(entries, checkpoint sizes) of the store."""
    with db_for(srv, readonly=True) as db:
        n = db.query("SELECT COUNT(*) FROM audit_ledger")[0][0]
        return n, [s for (s,) in db.query("SELECT size FROM audit_checkpoints ORDER BY size")]


def server_with_entries(make_server, n, **kw):
    # Every refusal recorded one by one (no summaries), so `n` requests are `n` entries.
    srv = make_server(settings=dict(NOT_OPERATOR, **{"audit.checkpoint_every": EVERY,
                                                     "audit.refusal_summary_threshold": 0,
                                                     "rate_limit.rules": ["* refused 1000000/1s"]}), **kw)
    for i in range(n):
        assert srv.get(DENIED, headers={"X-Request-ID": f"h{i}"}).status == 404
    return srv


def rewrite_history(srv, attack, at):
    """Rewrites the ledger from seq `at` on with a recomputed chain and drops the checkpoints that
    would expose it, as someone with the database (not the signing key) can."""
    with db_for(srv) as db:
        (ledger_id,), = db.query("SELECT ledger_id FROM audit_ledger_meta")
        rows = db.query("SELECT seq, entry FROM audit_ledger ORDER BY seq")
        entries = [json.loads(bytes(e)) for _, e in rows]
        k = at - 1  # list index of seq `at`
        if attack == "modify":
            entries[k]["result"] = "success"
            entries[k]["reason"] = None
        elif attack == "delete":
            del entries[k]
        elif attack == "insert":
            forged = dict(entries[k], request_id="forged", client="10.9.9.9")
            entries.insert(k, forged)
        elif attack == "reorder":
            entries[k], entries[k + 1] = entries[k + 1], entries[k]
        prev = hashlib.sha256(("bulwark-ledger-v1|" + ledger_id).encode()).digest()
        new_rows = []
        for seq, e in enumerate(entries, start=1):
            e["seq"] = seq
            body = canonical(e)
            digest = hashlib.sha256(prev + body).digest()
            if seq >= at:
                new_rows.append((seq, body, prev, digest, e))
            prev = digest
        with db.unguarded(*GUARDED):
            db.execute("DELETE FROM audit_checkpoints WHERE size >= ?", (at,))
            db.execute("DELETE FROM audit_index WHERE seq >= ?", (at,))
            db.execute("DELETE FROM audit_ledger WHERE seq >= ?", (at,))
            for seq, body, p, digest, e in new_rows:
                db.execute("INSERT INTO audit_ledger(seq, entry, prev_hash, hash) VALUES (?, ?, ?, ?)",
                           (seq, body, p, digest))
                db.execute("INSERT INTO audit_index(seq, time, tenant, actor_kind, actor_id, action, result) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?)",
                           (seq, e["time"], e.get("tenant"), e["actor"]["kind"], e["actor"].get("id"),
                            e["action"], e["result"]))
    return len(entries)


@pytest.mark.parametrize("attack", ["modify", "delete", "insert", "reorder"])
def test_a_rewritten_history_with_its_later_checkpoints_deleted_fails_verification(make_server, tmp_path,
                                                                                   attack):
    srv = server_with_entries(make_server, 60)
    srv.stop()
    pub = pinned_key(srv, tmp_path)
    n, cps = sizes(srv)
    ok = verify(srv, "--pubkey", pub)
    assert ok.returncode == 0 and f"signed through seq {n} of {n}" in ok.stdout, ok
    at = 25
    kept = max(s for s in cps if s < at)
    size = rewrite_history(srv, attack, at=at)
    # The chain is whole again and what is left of the checkpoints verifies: before this fix
    # verify said OK with a hint "signed through seq {kept} of {size}".
    r = verify(srv, "--pubkey", pub)
    assert_failed(r, "unsigned_tail")
    assert (f"more than {EVERY} entries are unsigned after the last valid checkpoint (size {kept})"
            in r.stderr), r
    assert size - kept > EVERY
    # As an export, too.
    export = tmp_path / "ledger.jsonl"
    assert run_cli(["audit", "export", *srv.store_args(), "--out", str(export)]).returncode == 0
    assert_failed(run_cli(["audit", "verify", "--config", str(srv.config_path), "--export", str(export),
                           "--pubkey", str(pub)]), "unsigned_tail")


def test_an_unsigned_tail_within_the_policy_verifies_and_an_old_one_does_not(make_server, tmp_path):
    """A crash leaves fewer than checkpoint_every entries unsigned, dated within the interval:
    that verifies. Unsigned entries dated long after the last checkpoint do not."""
    srv = server_with_entries(make_server, 25)
    srv.stop()
    pub = pinned_key(srv, tmp_path)
    n, cps = sizes(srv)
    last = max(s for s in cps if s <= n - 3)  # a crash left a few entries unsigned
    with db_for(srv) as db, db.unguarded(*GUARDED):
        db.execute("DELETE FROM audit_checkpoints WHERE size > ?", (last,))
    r = verify(srv, "--pubkey", pub)
    assert r.returncode == 0 and f"signed through seq {last} of {n}" in r.stdout, r
    # The same five entries, dated an hour after that checkpoint (rewritten, chain recomputed).
    with db_for(srv) as db:
        (ledger_id,), = db.query("SELECT ledger_id FROM audit_ledger_meta")
        rows = db.query("SELECT seq, entry, prev_hash FROM audit_ledger WHERE seq > ? ORDER BY seq", (last,))
        prev = bytes(rows[0][2])
        with db.unguarded(*GUARDED):
            for seq, entry, _ in rows:
                e = json.loads(bytes(entry))
                e["time"] = "2099-01-01T00:00:00.000000Z"
                body = canonical(e)
                digest = hashlib.sha256(prev + body).digest()
                db.execute("UPDATE audit_ledger SET entry = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                           (body, prev, digest, seq))
                prev = digest
    r = verify(srv, "--pubkey", pub)
    assert_failed(r, "unsigned_tail")
    assert f"unsigned entry {last + 1} after the last valid checkpoint (size {last}) is dated" in r.stderr, r


def high_water(srv):
    path = srv.data_dir / "audit-checkpoint.json"
    line = json.loads(path.read_text())
    return path, line, json.loads(line["body"])


def test_the_high_water_mark_follows_each_checkpoint_and_verifies_offline(make_server, tmp_path):
    srv = server_with_entries(make_server, 23)
    srv.stop()
    path, line, body = high_water(srv)
    n, _ = sizes(srv)
    assert line["type"] == "checkpoint" and body["size"] == n  # the final checkpoint
    pub = pinned_key(srv, tmp_path)
    r = verify(srv, "--pubkey", pub, "--since-checkpoint", path)
    assert r.returncode == 0 and f"extends the trusted checkpoint of size {n}" in r.stdout, r
    # A checkpoint line of an export is accepted the same way.
    export = tmp_path / "ledger.jsonl"
    assert run_cli(["audit", "export", *srv.store_args(), "--out", str(export)]).returncode == 0
    lines = [ln for ln in export.read_text().splitlines() if json.loads(ln)["type"] == "checkpoint"]
    (tmp_path / "cp10.json").write_text(lines[0] + "\n")
    r = verify(srv, "--pubkey", pub, "--since-checkpoint", tmp_path / "cp10.json")
    assert r.returncode == 0, r
    # A checkpoint whose body was edited is not trusted.
    forged = dict(line, body=line["body"].replace(f'"size":{n}', '"size":99999'))
    (tmp_path / "forged.json").write_text(json.dumps(forged) + "\n")
    assert_failed(verify(srv, "--pubkey", pub, "--since-checkpoint", tmp_path / "forged.json"),
                  "bad_checkpoint_signature")
    (tmp_path / "junk.json").write_text("{}\n")
    assert verify(srv, "--since-checkpoint", tmp_path / "junk.json").returncode == 2


def test_truncating_back_to_the_first_checkpoint_is_caught_by_the_high_water_mark(make_server, tmp_path):
    srv = server_with_entries(make_server, 40)
    srv.stop()
    mark, _, body = high_water(srv)
    n, cps = sizes(srv)
    assert body["size"] == n
    first = cps[0]
    kept = tmp_path / "mark.json"
    shutil.copy(mark, kept)
    pub = pinned_key(srv, tmp_path)
    with db_for(srv) as db, db.unguarded(*GUARDED):
        db.execute("DELETE FROM audit_checkpoints WHERE size > ?", (first,))
        db.execute("DELETE FROM audit_index WHERE seq > ?", (first,))
        db.execute("DELETE FROM audit_ledger WHERE seq > ?", (first,))
    # Consistent in itself: the chain and the first checkpoint verify.
    assert verify(srv, "--pubkey", pub).returncode == 0
    r = verify(srv, "--pubkey", pub, "--since-checkpoint", kept)
    assert_failed(r, "rolled_back")
    assert f"covers {n} entries, the ledger holds only {first}" in r.stderr, r
    # The server refuses to start behind its mark, and writes nothing.
    with pytest.raises(AssertionError, match="exited with 78"):
        srv.start()
    assert f"audit: the store's audit ledger ends at seq {first}" in srv.stderr_text, srv.stderr_text
    assert "rolled back" in srv.stderr_text
    assert mark.read_bytes() == kept.read_bytes()
    with db_for(srv, readonly=True) as db:
        assert db.query("SELECT MAX(seq) FROM audit_ledger")[0][0] == first


@pytest.mark.skipif(ON_POSTGRES, reason="restores the SQLite database file")
def test_a_restored_database_file_is_refused_and_does_not_bring_back_a_revoked_key(make_server, tmp_path):
    from identity_helpers import LOOSE, bearer, step_up
    from vault_helpers import api_key, owner

    # A public URL: the restarted server binds another port, and the issuer of the access tokens
    # signed before the restart is the configured URL, not the bound address (docs/configuration.md).
    srv = make_server(dev=True, settings=dict(LOOSE, **{"server.public_url": PUBLIC_URL}))
    _, tokens, codes = owner(srv)
    key, key_id = api_key(srv, tokens, codes, scopes=["apikeys.read"])
    assert srv.get("/api/v1/whoami", headers={"X-API-Key": key}).status == 200
    srv.stop()
    db = srv.data_dir / "bulwark.db"
    old = tmp_path / "old.db"
    shutil.copy(db, old)
    srv.start()
    step_up(srv, tokens, codes)
    assert srv.request("DELETE", f"/api/v1/apikeys/{key_id}", headers=bearer(tokens)).status == 204
    assert srv.get("/api/v1/whoami", headers={"X-API-Key": key}).status == 401
    srv.stop()
    # The attacker puts the old file back (the key it holds is not revoked there).
    for suffix in ("-wal", "-shm"):
        (srv.data_dir / ("bulwark.db" + suffix)).unlink(missing_ok=True)
    shutil.copy(old, db)
    with pytest.raises(AssertionError, match="exited with 78"):
        srv.start()
    assert "rolled back to an older copy" in srv.stderr_text, srv.stderr_text
    # Offline, against the mark: the old copy does not extend it.
    r = run_cli(["audit", "verify", "--data", str(old), "--since-checkpoint",
                 str(srv.data_dir / "audit-checkpoint.json")])
    assert_failed(r, "rolled_back")


@pytest.mark.skipif(ON_POSTGRES, reason="one SQLite server is the ledger's only writer")
def test_an_entry_chained_onto_the_head_behind_the_writer_is_never_signed(make_server):
    srv = server_with_entries(make_server, 3)
    time.sleep(0.3)  # every write committed
    db = sqlite3.connect(srv.data_dir / "bulwark.db", timeout=10)
    (ledger_id,), = db.execute("SELECT ledger_id FROM audit_ledger_meta").fetchall()
    (seq, entry, digest), = db.execute(
        "SELECT seq, entry, hash FROM audit_ledger ORDER BY seq DESC LIMIT 1").fetchall()
    forged = json.loads(entry)
    forged.update(seq=seq + 1, request_id="forged", client="10.9.9.9")
    body = canonical(forged)
    with db:
        db.execute("INSERT INTO audit_ledger(seq, entry, prev_hash, hash) VALUES (?, ?, ?, ?)",
                   (seq + 1, body, digest, hashlib.sha256(digest + body).digest()))
        db.execute("INSERT INTO audit_index(seq, time, tenant, actor_kind, actor_id, action, result) "
                   "VALUES (?, ?, NULL, 'anonymous', NULL, ?, ?)",
                   (seq + 1, forged["time"], forged["action"], forged["result"]))
    db.close()
    # The next request that needs a record fails closed; the writer names what it found.
    r = srv.get(DENIED)
    assert r.status == 503 and r.json()["error"]["code"] == "audit_unavailable", r
    alert = srv.wait_event("audit.alert", timeout=5)
    assert alert["alert"] == "ledger_head_mismatch" and alert["expected_seq"] == seq
    assert alert["found_seq"] == seq + 1
    assert srv.get("/readyz").status == 503
    srv.stop()
    # Nothing was appended or signed over the forged entry, at shutdown either.
    db = sqlite3.connect(srv.data_dir / "bulwark.db")
    assert db.execute("SELECT MAX(seq) FROM audit_ledger").fetchone()[0] == seq + 1
    assert db.execute("SELECT MAX(size) FROM audit_checkpoints").fetchone()[0] <= seq
    db.close()


def test_cli_commands_beside_the_server_sign_their_own_head(make_server):
    """`tenant create` writes the ledger beside a running SQLite server: its commit carries a
    checkpoint of its head, so the server's writer goes on after it."""
    from identity_helpers import create_tenant
    srv = server_with_entries(make_server, 2, dev=True)
    create_tenant(srv, "beside", "ada@beside.test")
    assert srv.get(DENIED).status == 404
    assert srv.find_event("audit.alert") is None
    srv.stop()


def test_an_edited_audit_index_neither_hides_nor_reattributes_events_unnoticed(make_server):
    """audit_index is what GET /api/v1/audit/events filters on. One row moved into another
    tenant, one moved out of its own: the API refuses to serve the moved-in event as that
    tenant's, and the background verifier records both rows."""
    from identity_helpers import LOOSE, bearer
    from vault_helpers import owner

    srv = make_server(dev=True, settings=dict(LOOSE, **{"audit.verify_interval_ms": 200,
                                                         "server.public_url": PUBLIC_URL}))
    a, a_tokens, _ = owner(srv, "acme")
    b, _, _ = owner(srv, "beta")
    res = srv.get("/api/v1/audit/events?limit=500", headers=bearer(a_tokens))
    assert res.status == 200, res
    seen = {e["seq"] for e in res.json()["events"]}
    srv.stop()
    with db_for(srv) as db:
        b_seq = max(s for (s,) in db.query("SELECT seq FROM audit_index WHERE tenant = ?", (b["tenant_id"],)))
        a_seq = min(s for (s,) in db.query("SELECT seq FROM audit_index WHERE tenant = ?", (a["tenant_id"],)))
        assert a_seq in seen and b_seq not in seen
        with db.unguarded("audit_index"):
            db.execute("UPDATE audit_index SET tenant = ? WHERE seq = ?", (a["tenant_id"], b_seq))
            db.execute("UPDATE audit_index SET tenant = ? WHERE seq = ?", (b["tenant_id"], a_seq))
    srv.start()
    # Before this fix: 200 with beta's event among acme's, and acme's own event missing.
    res = srv.get("/api/v1/audit/events?limit=500", headers=bearer(a_tokens))
    assert res.status == 500 and res.json()["error"]["code"] == "integrity_error", res
    deadline = time.monotonic() + 10
    found = set()
    while time.monotonic() < deadline and found != {a_seq, b_seq}:
        found = {e["seq"] for e in srv.log_events()
                 if e.get("event") == "audit.alert" and e.get("what") == "audit_index"}
        time.sleep(0.1)
    assert found == {a_seq, b_seq}, srv.stderr_text[-3000:]
    srv.stop()
    with db_for(srv, readonly=True) as db:
        recorded = [json.loads(bytes(e)) for (e,) in db.query(
            "SELECT entry FROM audit_ledger WHERE seq > ? ORDER BY seq", (b_seq,))]
    alerts = [e for e in recorded if e["action"] == "alert.ledger_hash_mismatch"]
    assert {e["details"]["seq"] for e in alerts} == {a_seq, b_seq}
    assert all(e["details"]["what"] == "audit_index" for e in alerts)

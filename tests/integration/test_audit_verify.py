"""`bulwark audit verify` / `bulwark audit export` against ledgers that no Bulwark code wrote.

The database is built from the format specification with plain SQL (the sqlite3 module, or
psycopg2 on a database of its own when the suite runs on PostgreSQL), Python's hashlib and the
openssl CLI (Ed25519 key from `openssl genpkey`, checkpoint bodies signed with `openssl pkeyutl
-sign -rawin`), then damaged the way an attacker with the database's owner account would: the
append-only triggers off, then plain SQL. The verifier must name the kind of damage and the first
bad seq.

The exit codes and output lines asserted here are those of audit::RunAuditVerify
(src/audit/verify.h).
"""
import hashlib
import json
import re
import subprocess

import pytest

from conftest import render_toml, run_cli
from pg_helpers import ON_POSTGRES, cluster, connect, dump

LEDGER_ID = "ldg_it_7c1e"
KEY_ID = "ck_it_1"
TIME = "2026-11-22T10:00:00Z"
ENTRIES = 300
CHECKPOINT_EVERY = 100
GUARDED = ("audit_ledger", "audit_checkpoints")

TABLES = [
    "CREATE TABLE audit_ledger_meta (ledger_id TEXT PRIMARY KEY, created_at TEXT NOT NULL)",
    "CREATE TABLE audit_ledger (seq INTEGER PRIMARY KEY, entry BLOB NOT NULL, prev_hash BLOB NOT NULL, "
    "hash BLOB NOT NULL)",
    "CREATE TABLE audit_signing_keys (key_id TEXT PRIMARY KEY, public_key BLOB NOT NULL, created_at TEXT NOT NULL)",
    "CREATE TABLE audit_checkpoints (id INTEGER PRIMARY KEY, size INTEGER NOT NULL, head_hash BLOB NOT NULL, "
    "body BLOB NOT NULL, key_id TEXT NOT NULL REFERENCES audit_signing_keys(key_id), signature BLOB NOT NULL)",
]
GUARDS = [(f"{table}_no_{op.lower()}", op, table, f"{table.replace('_', ' ')} is append-only")
          for table in GUARDED for op in ("UPDATE", "DELETE")]
if ON_POSTGRES:
    SCHEMA = [t.replace("INTEGER", "BIGINT").replace("BLOB", "BYTEA") for t in TABLES] + [
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION '%', TG_ARGV[0]; END $$"] + [
        f"CREATE TRIGGER {name} BEFORE {op} ON {table} FOR EACH ROW EXECUTE FUNCTION refuse('{why}')"
        for name, op, table, why in GUARDS]
else:
    SCHEMA = TABLES + [f"CREATE TRIGGER {name} BEFORE {op} ON {table} BEGIN SELECT RAISE(ABORT, '{why}'); END"
                       for name, op, table, why in GUARDS]


def test_the_audit_cli_is_wired():
    # CLI11 answers --help with exit 0 even for an unknown subcommand (printing the top-level
    # help), so the wired command is recognised by its own option.
    r = run_cli(["audit", "verify", "--help"])
    assert r.returncode == 0 and "--pubkey" in r.output, r.output


def canonical(obj):
    # RFC 8785 for what these tests build (ASCII strings, small integers, nested objects).
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_bytes(seq, result="success"):
    return canonical({"v": 1, "seq": seq, "time": TIME, "actor": {"kind": "user", "id": "u_1"},
                      "tenant": "t_1", "action": "secret.read", "resource": "kv/app/db",
                      "result": result, "request_id": f"req-{seq}", "details": {}})


def link(prev, entry):
    return hashlib.sha256(prev + entry).digest()


def genesis():
    return hashlib.sha256(("bulwark-ledger-v1|" + LEDGER_ID).encode()).digest()


class Ledger:
    """A ledger database plus the Ed25519 key pair that signed its checkpoints: DIR/bulwark.db, or
    on PostgreSQL a database of its own named by DIR's bulwark.toml."""

    def __init__(self, root):
        self.dir = root / "data"
        self.dir.mkdir()
        self.db = self.dir / "bulwark.db"
        self.key = root / "key.pem"
        self.pub = root / "pub.pem"
        self.root = root
        self.url = cluster().new_database() if ON_POSTGRES else None
        self.config = root / "bulwark.toml"
        self.config.write_text(render_toml({"storage.url": self.url} if self.url else {}))
        subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(self.key)], check=True,
                       capture_output=True)
        subprocess.run(["openssl", "pkey", "-in", str(self.key), "-pubout", "-out", str(self.pub)], check=True,
                       capture_output=True)
        der = subprocess.run(["openssl", "pkey", "-pubin", "-in", str(self.pub), "-outform", "DER"], check=True,
                             capture_output=True).stdout
        self.raw_pub = der[-32:]  # SPKI of Ed25519: a fixed 12-byte prefix, then the key
        self.hashes = [genesis()]
        rows = [(s, ()) for s in SCHEMA]
        rows += [("INSERT INTO audit_ledger_meta VALUES (?, ?)", (LEDGER_ID, TIME)),
                 ("INSERT INTO audit_signing_keys VALUES (?, ?, ?)", (KEY_ID, self.raw_pub, TIME))]
        for seq in range(1, ENTRIES + 1):
            e = entry_bytes(seq)
            h = link(self.hashes[-1], e)
            rows.append(("INSERT INTO audit_ledger VALUES (?, ?, ?, ?)", (seq, e, self.hashes[-1], h)))
            self.hashes.append(h)
            if seq % CHECKPOINT_EVERY == 0:
                body = canonical({"type": "bulwark.audit.checkpoint.v1", "ledger_id": LEDGER_ID, "size": seq,
                                  "head_hash": h.hex(), "key_id": KEY_ID, "time": TIME})
                rows.append(("INSERT INTO audit_checkpoints VALUES (?, ?, ?, ?, ?, ?)",
                             (seq // CHECKPOINT_EVERY, seq, h, body, KEY_ID, self.sign(body))))
        with self.connect() as db:
            db.execute_many(rows)

    def connect(self):
        return connect(self.url, self.db)

    def sign(self, message):
        msg = self.root / "msg.bin"
        sig = self.root / "sig.bin"
        msg.write_bytes(message)
        subprocess.run(["openssl", "pkeyutl", "-sign", "-rawin", "-inkey", str(self.key), "-in", str(msg),
                        "-out", str(sig)], check=True, capture_output=True)
        return sig.read_bytes()

    def damage(self, *statements):
        """Runs (sql, params) statements with the append-only triggers off."""
        with self.connect() as db, db.unguarded(*GUARDED):
            db.execute_many(statements)

    def snapshot(self):
        """The file's bytes on SQLite; every row on PostgreSQL."""
        if not self.url:
            return self.db.read_bytes()
        with self.connect() as db:
            return dump(db)

    def store_args(self):
        """`--data DIR` on SQLite (the tools' default store), `--config FILE` naming storage.url."""
        return ["--config", str(self.config)] if self.url else ["--data", str(self.dir)]

    def verify(self, *extra):
        return run_cli(["audit", "verify", *self.store_args(), *map(str, extra)], timeout=60)


@pytest.fixture
def ledger(tmp_path):
    return Ledger(tmp_path)


def assert_failed(r, kind, seq):
    assert r.returncode == 1, r
    assert re.search(rf"audit verify: FAILED: {kind} at seq {seq}\b", r.stderr), r


def test_clean_ledger_verifies_with_a_pinned_key(ledger):
    r = ledger.verify("--pubkey", ledger.pub)
    assert r.returncode == 0, r
    m = re.search(r"audit verify: OK: (\d+) entries, (\d+) checkpoints, head ([0-9a-f]{64}), \d+ entries/s",
                  r.stdout)
    assert m, r
    assert int(m.group(1)) == ENTRIES and int(m.group(2)) == ENTRIES // CHECKPOINT_EVERY
    assert m.group(3) == ledger.hashes[-1].hex()
    assert "warning" not in r.stdout + r.stderr


def test_clean_ledger_without_a_key_warns_that_it_trusts_the_database(ledger):
    r = ledger.verify()
    assert r.returncode == 0, r
    assert "warning" in r.stderr and "warning" not in r.stdout, r


def test_verify_does_not_change_the_database(ledger):
    before = ledger.snapshot()
    assert ledger.verify("--pubkey", ledger.pub).returncode == 0
    assert ledger.snapshot() == before


def test_modified_entry(ledger):
    ledger.damage(("UPDATE audit_ledger SET entry = ? WHERE seq = 150",
                   (entry_bytes(150).replace(b"success", b"denied"),)))
    assert_failed(ledger.verify("--pubkey", ledger.pub), "modified_entry", 150)


def test_modified_entry_with_recomputed_hash(ledger):
    forged = entry_bytes(150, "denied")
    ledger.damage(("UPDATE audit_ledger SET entry = ?, hash = ? WHERE seq = 150",
                   (forged, link(ledger.hashes[149], forged))))
    assert_failed(ledger.verify("--pubkey", ledger.pub), "modified_entry", 150)


def test_deleted_entry(ledger):
    ledger.damage(("DELETE FROM audit_ledger WHERE seq = 150", ()))
    assert_failed(ledger.verify("--pubkey", ledger.pub), "deleted_entry", 150)


def test_inserted_entry(ledger):
    forged = entry_bytes(150, "forged")
    ledger.damage(("UPDATE audit_ledger SET seq = -(seq + 1) WHERE seq >= 150", ()),
                  ("UPDATE audit_ledger SET seq = -seq WHERE seq < 0", ()),
                  ("INSERT INTO audit_ledger VALUES (150, ?, ?, ?)",
                   (forged, ledger.hashes[149], link(ledger.hashes[149], forged))))
    assert_failed(ledger.verify("--pubkey", ledger.pub), "inserted_entry", 150)


def test_reordered_entries(ledger):
    ledger.damage(("UPDATE audit_ledger SET seq = -1 WHERE seq = 150", ()),
                  ("UPDATE audit_ledger SET seq = 150 WHERE seq = 151", ()),
                  ("UPDATE audit_ledger SET seq = 151 WHERE seq = -1", ()))
    assert_failed(ledger.verify("--pubkey", ledger.pub), "reordered_entries", 150)


def test_truncated_tail(ledger):
    ledger.damage(("DELETE FROM audit_ledger WHERE seq > 280", ()))
    assert_failed(ledger.verify("--pubkey", ledger.pub), "truncated_tail", 281)


def test_bad_checkpoint_signature(ledger):
    ledger.damage(("UPDATE audit_checkpoints SET signature = ? WHERE size = 200", (bytes(64),)))
    assert_failed(ledger.verify("--pubkey", ledger.pub), "bad_checkpoint_signature", 200)


def test_checkpoint_mismatch(ledger):
    body = canonical({"type": "bulwark.audit.checkpoint.v1", "ledger_id": LEDGER_ID, "size": 200,
                      "head_hash": ledger.hashes[5].hex(), "key_id": KEY_ID, "time": TIME})
    ledger.damage(("UPDATE audit_checkpoints SET body = ?, head_hash = ?, signature = ? WHERE size = 200",
                   (body, ledger.hashes[5], ledger.sign(body))))
    assert_failed(ledger.verify("--pubkey", ledger.pub), "checkpoint_mismatch", 200)


def test_a_key_that_is_not_the_ledgers_rejects_every_checkpoint(ledger, tmp_path):
    other = tmp_path / "other.pem"
    subprocess.run(f"openssl genpkey -algorithm ed25519 | openssl pkey -pubout -out {other}", shell=True, check=True,
                   capture_output=True)
    assert_failed(ledger.verify("--pubkey", other), "bad_checkpoint_signature", 100)


def test_usage_and_io_errors_exit_2(ledger, tmp_path):
    assert ledger.verify("--pubkey", tmp_path / "missing.pem").returncode == 2
    r = run_cli(["audit", "verify", "--data", str(tmp_path / "nowhere")])
    assert r.returncode == 2, r
    assert not (tmp_path / "nowhere").exists()


def test_export_round_trip_and_edited_export(ledger, tmp_path):
    r = run_cli(["audit", "export", "--help"])
    assert r.returncode == 0 and "--out" in r.output, r.output
    out = tmp_path / "audit.jsonl"
    r = run_cli(["audit", "export", *ledger.store_args(), "--out", str(out)])
    assert r.returncode == 0, r
    lines = out.read_text().splitlines()
    assert json.loads(lines[0])["format"] == "bulwark-audit-export-v1"
    r = run_cli(["audit", "verify", "--export", str(out), "--pubkey", str(ledger.pub)])
    assert r.returncode == 0, r

    edited = [ln for ln in lines if not (json.loads(ln).get("type") == "entry" and json.loads(ln)["seq"] == 77)]
    bad = tmp_path / "edited.jsonl"
    bad.write_text("\n".join(edited) + "\n")
    assert_failed(run_cli(["audit", "verify", "--export", str(bad), "--pubkey", str(ledger.pub)]),
                  "deleted_entry", 77)

"""Master key (KEK) rotation, live reload and retirement over the real binary (dev mode).

`bulwark key rotate` runs while the server serves; the server picks the new key up on SIGHUP (or
POST /api/v1/ops/keyring/reload) once its configuration names it, and then opens data keys sealed
under both versions. `bulwark key retire` refuses while any data key still uses the version. A
restart with the old key is refused (exit 78) and writes nothing; the new key starts it."""
import base64
import json
import os
import re
import signal
import subprocess
import time

from conftest import EXIT_REFUSED, REPO, assert_error_body, b64key, render_toml, run_cli
from identity_helpers import LOOSE, bearer, ledger, post, sign_in, step_up, totp
from pg_helpers import db_for, query

ADA = "ada@acme.test"


def write_key(path, b64=None):
    b64 = b64 or b64key()
    path.write_text(f"# test master key\n{b64}\n")
    os.chmod(path, 0o600)
    return b64


def cli(srv, *args, config=None):
    """`bulwark <args> --config <config> --data <srv data> --dev`."""
    return run_cli([*args, "--config", str(config or srv.config_path), "--data", str(srv.data_dir), "--dev"])


def messages(res):
    """The human lines on stderr (JSON log lines, e.g. the ledger's final checkpoint, left out)."""
    return [line for line in res.stderr.splitlines() if line.strip() and not line.startswith("{")]


def point_config_at(srv, key_path):
    srv.settings["keyring.master_key_file"] = str(key_path)
    srv.config_path.write_text(render_toml(srv.settings))


def snapshot(srv):
    """Everything rotation or a refused boot could change."""
    return {t: query(srv, f"SELECT * FROM {t} ORDER BY 1")
            for t in ("keyring_kek", "wrapped_keys", "audit_ledger", "receipts")}


def wait_log(srv, event, count, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        found = [e for e in srv.log_events() if e.get("event") == event]
        if len(found) >= count:
            return found[count - 1]
        assert time.monotonic() < deadline, f"no {event} #{count}:\n{srv.stderr_text}"
        time.sleep(0.02)


def start_dev(make_server, tmp_path):
    old_key = tmp_path / "old.key"
    old_b64 = write_key(old_key)
    srv = make_server(dev=True, settings={**LOOSE, "keyring.master_key_file": str(old_key)})
    res = cli(srv, "tenant", "create", "--name", "acme", "--owner", ADA)
    assert res.returncode == 0, res
    return srv, old_key, old_b64


def test_rotate_reload_retire_and_restart(make_server, tmp_path):
    srv, old_key, old_b64 = start_dev(make_server, tmp_path)
    new_key = tmp_path / "new.key"
    new_b64 = write_key(new_key)
    # The rotation's own configuration keeps naming the old key (its "current" key).
    old_config = tmp_path / "rotate-old.toml"
    old_config.write_text(render_toml(srv.settings))
    tokens = sign_in(srv, ADA)
    auth = bearer(tokens)

    # Rotate while the server runs: every data key is re-wrapped under version 2.
    before = query(srv, "SELECT COUNT(*) FROM wrapped_keys")[0][0]
    assert before >= 3  # audit, receipt and session signing keys at least
    res = cli(srv, "key", "rotate", "--new-source", f"file:{new_key}")
    assert res.returncode == 0, res
    doc = json.loads(res.stdout)
    assert set(doc) == {"kek_version", "rewrapped", "receipt_id"}, doc
    assert doc["kek_version"] == 2 and doc["rewrapped"] == before, doc
    assert doc["receipt_id"].startswith("rcpt_")
    assert query(srv, "SELECT DISTINCT kek_version FROM wrapped_keys") == [(2,)]
    assert query(srv, "SELECT DISTINCT substr(wrapped, 1, 1) FROM wrapped_keys") == [(b"\x02",)]
    assert new_b64 not in res.output and old_b64 not in res.output

    # The server still holds only version 1. It refuses to seal a new data key under it (no holder
    # of only the new key could open it later), and cannot open the re-wrapped ones it has not
    # loaded: 503, never a key under a superseded version, never an integrity alarm.
    res = post(srv, "/api/v1/auth/mfa/totp", headers=auth)
    assert res.status == 503 and res.json()["error"]["code"] == "master_key_reload_required", res
    assert query(srv, "SELECT DISTINCT kek_version FROM wrapped_keys") == [(2,)]
    assert not [e for e in ledger(srv) if e["action"].startswith("alert.")]

    # The operator points the configuration at the new key. Version 2 is active: not retirable.
    point_config_at(srv, new_key)
    res = cli(srv, "key", "retire", "--version", "2")
    assert res.returncode == 1, res
    assert len(messages(res)) == 1, res
    # Nothing is left under version 1 to re-wrap: refused, nothing written.
    snap = snapshot(srv)
    res = cli(srv, "key", "rotate", "--new-source", f"file:{new_key}", config=old_config)
    assert res.returncode == 1 and "nothing was changed" in res.stderr, res
    assert snapshot(srv) == snap

    # SIGHUP: the server re-reads its configuration and holds both versions.
    srv.signal(signal.SIGHUP)
    ev = wait_log(srv, "keyring.reloaded", 1)
    assert ev["kek_version"] == 2 and ev["held_versions"] == "1,2" and ev["trigger"] == "sighup", ev
    assert srv.get("/readyz").status == 200
    res = post(srv, "/api/v1/auth/mfa/totp", headers=auth)
    assert res.status == 201, res
    secret = res.json()["secret"]
    res = post(srv, "/api/v1/auth/mfa/totp/confirm", {"code": totp(secret)}, auth)
    assert res.status == 200, res
    codes = res.json()["recovery_codes"]
    step_up(srv, tokens, codes)
    assert srv.get("/api/v1/me", headers=auth).status == 200

    # Everything is under version 2 now: version 1 retires, with a receipt.
    res = cli(srv, "key", "retire", "--version", "1")
    assert res.returncode == 0, res
    doc = json.loads(res.stdout)
    assert doc["retired_version"] == 1 and doc["receipt_id"].startswith("rcpt_"), doc
    # docs/key-rotation.md, step 6: the receipt's public projection verifies offline against the
    # published receipt keys.
    res = srv.get(f"/public/receipts/{doc['receipt_id']}")
    assert res.status == 200, res
    receipt_file = tmp_path / "rotation-receipt.json"
    receipt_file.write_bytes(res.body)
    keys = run_cli(["receipt", "pubkey", *srv.store_args()])
    assert keys.returncode == 0, keys
    (tmp_path / "receipt-keys.pem").write_text(keys.stdout)
    checked = run_cli(["receipt", "verify", "--pubkey", tmp_path / "receipt-keys.pem", receipt_file])
    assert checked.returncode == 0, checked
    res = cli(srv, "key", "retire", "--version", "2")
    assert res.returncode == 1 and "active version" in res.stderr, res
    res = cli(srv, "key", "status")
    assert res.returncode == 0, res
    status = json.loads(res.stdout)
    assert status["active_version"] == 2, status
    v1, v2 = status["versions"]
    assert v1["version"] == 1 and v1["retired_at"] and v1["wrapped_keys"] == 0 and v1["source_kind"] == "file"
    assert v2["version"] == 2 and v2["retired_at"] is None and v2["active"] and v2["wrapped_keys"] >= 4
    assert v2["created_at"]

    # The operator route does the same as SIGHUP, and is recorded.
    res = post(srv, "/api/v1/ops/keyring/reload")
    assert res.status == 200, res
    assert res.json() == {"status": "reloaded", "kek_version": 2, "held_versions": [1, 2]}

    # Ledger and receipts hold the rotations, the retirement and the reload.
    actions = [e["action"] for e in ledger(srv)]
    assert actions.count("key.rotate") == 1 and actions.count("key.retire") == 1, actions
    assert "keyring.reload" in actions
    rotate = [e for e in ledger(srv) if e["action"] == "key.rotate"]
    assert all(e["actor"]["kind"] == "operator" for e in rotate), rotate
    kinds = [json.loads(p)["kind"] for (p,) in query(srv, "SELECT payload FROM receipts WHERE tenant = 'system'")]
    assert kinds == ["key.rotate", "key.retire"], kinds
    for text in (srv.stderr_text, json.dumps(ledger(srv))):
        assert old_b64 not in text and new_b64 not in text

    # A restart with the old key is refused and writes nothing; with the new key it starts.
    assert srv.stop() == 0
    snap = snapshot(srv)
    point_config_at(srv, old_key)
    res = run_cli(["serve", "--dev", "--config", srv.config_path, "--data", srv.data_dir,
                   "--listen", "127.0.0.1:0"])
    assert res.returncode == EXIT_REFUSED, res
    assert "does not match the one this data was sealed with" in res.stderr, res
    assert old_b64 not in res.output
    assert snapshot(srv) == snap
    point_config_at(srv, new_key)
    srv.start()
    assert srv.get("/readyz").status == 200
    tokens = sign_in(srv, ADA)
    res = post(srv, "/api/v1/auth/mfa/verify", {"code": totp(secret, time.time() + 30)}, bearer(tokens))
    assert res.status == 200, res  # the MFA key sealed after the reload opens


def test_reload_with_a_wrong_key_changes_nothing(make_server, tmp_path):
    srv, old_key, old_b64 = start_dev(make_server, tmp_path)
    wrong = tmp_path / "wrong.key"
    wrong_b64 = write_key(wrong)
    point_config_at(srv, wrong)
    srv.signal(signal.SIGHUP)
    ev = wait_log(srv, "keyring.reload_failed", 1)
    assert ev["reason"] == "wrong_master_key" and ev["trigger"] == "sighup", ev
    err = assert_error_body(post(srv, "/api/v1/ops/keyring/reload"), 409, "wrong_master_key")
    assert wrong_b64 not in err["message"]
    # An unreadable key file: refused the same way, the server keeps serving with what it holds.
    point_config_at(srv, tmp_path / "missing.key")
    assert_error_body(post(srv, "/api/v1/ops/keyring/reload"), 409, "master_key_unreadable")
    assert srv.get("/readyz").status == 200
    assert sign_in(srv, ADA)["access_token"]
    point_config_at(srv, old_key)
    res = post(srv, "/api/v1/ops/keyring/reload")
    assert res.status == 200 and res.json()["held_versions"] == [1], res
    for text in (srv.stderr_text, json.dumps(ledger(srv))):
        assert wrong_b64 not in text and old_b64 not in text
    failed = [e for e in ledger(srv) if e["action"] == "keyring.reload" and e["result"] != "success"]
    # The SIGHUP's failure is in the ledger too, not only in the log (issue #22, defect 8).
    assert len(failed) == 3, failed
    hup = [e for e in failed if e.get("auth_method") == "sighup"]
    assert len(hup) == 1 and hup[0]["reason"] == "wrong_master_key", failed
    # docs/key-rotation.md, step 5: the failed reloads, found in an export with the jq filter
    # the runbook gives (the ledger's system entries belong to no tenant, so no tenant's audit
    # API shows them).
    res = run_cli(["audit", "export", *srv.store_args()])
    assert res.returncode == 0, res
    doc = (REPO / "docs" / "key-rotation.md").read_text()
    jq_filter = re.search(r"jq -c '([^']+)'", doc).group(1)
    assert "keyring.reload" in jq_filter, jq_filter
    found = subprocess.run(["jq", "-c", jq_filter], input=res.stdout, capture_output=True, text=True, check=True)
    assert len(found.stdout.splitlines()) == 3, found.stdout


def test_rotate_refusals_write_nothing(make_server, tmp_path):
    srv, old_key, _ = start_dev(make_server, tmp_path)
    snap = snapshot(srv)
    cases = [
        (f"file:{old_key}", "already the active version"),      # the current key again
        (f"file:{tmp_path / 'missing.key'}", "cannot read"),    # unreadable
        ("env:BULWARK_TEST_NO_SUCH_VAR", "not set"),             # no such variable
        ("stdin:", "must be file:/path, env:NAME or password-file:/path"),
    ]
    bad = tmp_path / "bad.key"
    bad.write_text("not a key\n")
    os.chmod(bad, 0o600)
    cases.append((f"file:{bad}", "base64"))
    for spec, message in cases:
        res = cli(srv, "key", "rotate", "--new-source", spec)
        assert res.returncode == 1, (spec, res)
        assert message in res.stderr, (spec, res)
        assert len(messages(res)) == 1, res
    # A password KDF below the floor is refused, whatever the configuration says.
    pw = tmp_path / "new.pw"
    pw.write_text(base64.b64encode(os.urandom(32)).decode() + "\n")
    os.chmod(pw, 0o600)
    weak = tmp_path / "weak.toml"
    weak.write_text(render_toml({**srv.settings, "keyring.pbkdf2_iterations": 99999}))
    res = cli(srv, "key", "rotate", "--new-source", f"password-file:{pw}", config=weak)
    assert res.returncode == 1 and "100000" in res.stderr, res
    # In production (no --dev), what `serve` would refuse at its next boot is refused now: a key
    # with too little entropy, a key file others may read. Before, the rotation went through and
    # no server could start afterwards, with the new key or the old.
    open_key = tmp_path / "open.key"
    write_key(open_key)
    os.chmod(open_key, 0o644)
    for spec, env, message in (("env:WEAK_KEY", {"WEAK_KEY": base64.b64encode(bytes(32)).decode()},
                                "entropy"),
                               (f"file:{open_key}", None, "readable by group or others")):
        res = run_cli(["key", "rotate", "--new-source", spec, "--config", srv.config_path,
                       "--data", srv.data_dir], env=env)
        assert res.returncode == 1 and message in res.stderr, (spec, res)
        assert len(messages(res)) == 1, res
    assert snapshot(srv) == snap
    # env: and password-file: sources rotate (password: a fresh salt and the configured count).
    env_b64 = b64key()
    res = run_cli(["key", "rotate", "--new-source", "env:NEW_BULWARK_KEY", "--config", srv.config_path,
                   "--data", srv.data_dir, "--dev"], env={"NEW_BULWARK_KEY": env_b64})
    assert res.returncode == 0 and json.loads(res.stdout)["kek_version"] == 2, res
    assert env_b64 not in res.output
    # Version 2 (the env key) is active now: a configuration naming version 1 cannot rotate on.
    res = cli(srv, "key", "rotate", "--new-source", f"password-file:{pw}")
    assert res.returncode == EXIT_REFUSED and "version 2 is the active version" in res.stderr, res
    assert len(messages(res)) == 1, res
    env_key = tmp_path / "env.key"
    write_key(env_key, env_b64)
    fast = tmp_path / "fast.toml"
    fast.write_text(render_toml({**srv.settings, "keyring.master_key_file": str(env_key),
                                 "keyring.pbkdf2_iterations": 100000}))
    res = cli(srv, "key", "rotate", "--new-source", f"password-file:{pw}", config=fast)
    assert res.returncode == 0 and json.loads(res.stdout)["kek_version"] == 3, res
    rows = query(srv, "SELECT version, source_kind, length(salt), iterations FROM keyring_kek ORDER BY version")
    assert rows == [(1, "file", None, None), (2, "base64", None, None), (3, "password", 16, 100000)], rows
    res = run_cli(["key", "status", "--config", srv.config_path, "--data", srv.data_dir, "--dev"])
    assert [v["source_kind"] for v in json.loads(res.stdout)["versions"]] == ["file", "base64", "password"]


def test_wrong_master_key_at_boot_is_refused_and_writes_nothing(make_server, tmp_path):
    srv, _, _ = start_dev(make_server, tmp_path)
    assert srv.stop() == 0
    # A database an older release left at schema 11 (before the SIEM export lease, the path
    # prefix index, rotating signing keys, sign-in decoys, API keys' own rate limits and secrets'
    # delete_version_after): the key
    # is checked before any migration, so a refused boot leaves it as that release can open it.
    with db_for(srv) as db:
        db.execute("DROP INDEX IF EXISTS secrets_path_prefix")
        db.execute("DROP TABLE signing_keys")
        db.execute("DROP TABLE magic_link_decoys")
        db.execute("ALTER TABLE api_keys DROP COLUMN rate_limit")
        db.execute("ALTER TABLE secrets DROP COLUMN delete_version_after")
        db.execute("ALTER TABLE audit_export_cursors DROP COLUMN owner")
        db.execute("ALTER TABLE audit_export_cursors DROP COLUMN lease_until")
        db.execute("DELETE FROM schema_migrations WHERE version >= 12")
    snap = snapshot(srv), query(srv, "SELECT MAX(version) FROM schema_migrations")
    other = tmp_path / "other.key"
    other_b64 = write_key(other)
    point_config_at(srv, other)
    res = run_cli(["serve", "--dev", "--config", srv.config_path, "--data", srv.data_dir,
                   "--listen", "127.0.0.1:0"])
    assert res.returncode == EXIT_REFUSED, res
    assert "refusing to start: keyring: the master key does not match" in res.stderr, res
    assert other_b64 not in res.output
    assert (snapshot(srv), query(srv, "SELECT MAX(version) FROM schema_migrations")) == snap
    assert snap[1] == [(11,)]


def test_between_rotate_and_reload_writes_wait_for_the_reload_and_raise_no_alarm(make_server, tmp_path):
    """A data key re-wrapped under a version the server does not hold yet is not damage: writes
    that seal under it answer 503 master_key_reload_required (not 500 integrity_error, not an
    alert) until the server reloads, and then go on with the same key."""
    from vault_helpers import api_key, owner, put_policy
    srv, _, _ = start_dev(make_server, tmp_path)
    doc, tokens, codes = owner(srv, "globex")
    put_policy(srv, tokens, codes, "all", {"*": ["create", "read", "update", "delete", "list"]})
    key, _ = api_key(srv, tokens, codes, policy="all")
    h = {"X-API-Key": key, "Content-Type": "application/json"}
    put = lambda v: srv.request("PUT", "/api/v1/secrets/app/db", h, json.dumps({"data": {"v": v}}))
    assert put("1").status == 200
    new_key = tmp_path / "new.key"
    write_key(new_key)
    assert cli(srv, "key", "rotate", "--new-source", f"file:{new_key}").returncode == 0
    before = query(srv, "SELECT * FROM secret_versions ORDER BY 1, 2, 3")
    assert_error_body(put("2"), 503, "master_key_reload_required")
    assert query(srv, "SELECT * FROM secret_versions ORDER BY 1, 2, 3") == before
    assert not [e for e in ledger(srv) if e["action"].startswith("alert.")]
    assert not [e for e in srv.log_events() if e.get("event") == "request.failed"]
    point_config_at(srv, new_key)
    srv.signal(signal.SIGHUP)
    wait_log(srv, "keyring.reloaded", 1)
    res = put("2")
    assert res.status == 200 and res.json()["version"] == 2, res
    assert srv.get("/api/v1/secrets/app/db", {"X-API-Key": key}).json()["data"] == {"v": "2"}

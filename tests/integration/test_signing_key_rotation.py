"""Signing key rotation over the real binary: the access-token (JWT), ledger-checkpoint and receipt
keys each rotate while the server runs (`bulwark key rotate-signing --kind ...`, picked up on
SIGHUP), what was signed before keeps verifying after, what is signed after names the new kid, a
retired JWT key leaves the JWKS and its tokens are refused, and bad input changes nothing. The
operator token and the SMTP password reload on the same SIGHUP, recorded in the ledger.

Runs on SQLite, and on PostgreSQL with BULWARK_TEST_BACKEND=postgresql (there the other nodes
also pick a rotation up by themselves; the test sends SIGHUP either way)."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import random_token, render_toml, run_cli
from identity_helpers import LOOSE, bearer, ledger, sign_in
from pg_helpers import ON_POSTGRES, query

ADA = "ada@acme.test"
CHECK = Path(__file__).with_name("jwt_interop_check.py")


def cli(srv, *args):
    return run_cli([*args, *srv.store_args(), "--dev"])


def start(make_server, **settings):
    srv = make_server(dev=True, settings={**LOOSE, **settings})
    res = cli(srv, "tenant", "create", "--name", "acme", "--owner", ADA)
    assert res.returncode == 0, res
    return srv


def rotate(srv, kind):
    res = cli(srv, "key", "rotate-signing", "--kind", kind)
    assert res.returncode == 0, res
    doc = json.loads(res.stdout)
    assert set(doc) == {"kind", "kid", "previous_kid", "generation", "receipt_id"}, doc
    assert doc["kind"] == kind and doc["kid"] != doc["previous_kid"], doc
    assert doc["kid"].startswith("ed25519:") and doc["receipt_id"].startswith("rcpt_"), doc
    return doc


def reload_until(srv, done, timeout=10.0):
    """SIGHUP, then wait until `done()` holds (the reload runs on a thread of its own)."""
    srv.signal(signal.SIGHUP)
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"reload did not happen:\n{srv.stderr_text}"
        time.sleep(0.05)


def reloaded(srv, kind, kid):
    return lambda: any(e.get("event") == "signing_keys.reloaded" and e.get("kind") == kind
                       and e.get("kid") == kid for e in srv.log_events())


def jwks_kids(srv):
    res = srv.get("/.well-known/jwks.json")
    assert res.status == 200, res
    return [k["kid"] for k in res.json()["keys"]]


def jwt_header(token):
    import base64
    head = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))


def pyjwt_verifies(srv, tmp_path, token):
    """PyJWT (an independent implementation) checks the token against the JWKS served now."""
    jwks = tmp_path / "jwks.json"
    jwks.write_text(srv.get("/.well-known/jwks.json").body.decode())
    # The default audience is the issuer, which the discovery document names.
    issuer = srv.get("/.well-known/openid-configuration").json()["issuer"]
    out = subprocess.run([sys.executable, str(CHECK), str(jwks), token, "--audience", issuer,
                          "--issuer", issuer], capture_output=True, text=True, timeout=30)
    return out.returncode == 0


def entries(srv, action):
    return [e for e in ledger(srv) if e["action"] == action]


def snapshot(srv):
    """Everything a refused signing-key command could change."""
    return {t: query(srv, f"SELECT * FROM {t} ORDER BY 1, 2")
            for t in ("signing_keys", "wrapped_keys", "audit_ledger", "audit_signing_keys",
                      "receipts", "receipt_signing_keys")}


def test_jwt_key_rotates_live_old_tokens_verify_until_the_key_is_retired(make_server, tmp_path):
    srv = start(make_server)
    before = sign_in(srv, ADA)
    old_kid = jwt_header(before["access_token"])["kid"]
    assert jwks_kids(srv) == [old_kid]

    doc = rotate(srv, "jwt")
    assert doc["previous_kid"] == old_kid and doc["generation"] == 2, doc
    new_kid = doc["kid"]
    reload_until(srv, lambda: new_kid in jwks_kids(srv))
    # The overlap: both keys published, newest first; the old token still works everywhere.
    assert jwks_kids(srv) == [new_kid, old_kid]
    assert srv.get("/api/v1/me", headers=bearer(before)).status == 200
    assert pyjwt_verifies(srv, tmp_path, before["access_token"])
    # New tokens are signed with the new key and name it.
    after = sign_in(srv, ADA)
    assert jwt_header(after["access_token"])["kid"] == new_kid
    assert pyjwt_verifies(srv, tmp_path, after["access_token"])
    assert srv.get("/api/v1/me", headers=bearer(after)).status == 200

    # Recorded and receipted.
    rec = entries(srv, "key.rotate_signing")
    assert len(rec) == 1, rec
    details = rec[0]["details"]
    assert details["kind"] == "jwt" and details["from_kid"] == old_kid and details["to_kid"] == new_kid
    assert details["receipt_id"] == doc["receipt_id"]
    proj = srv.get(f"/public/receipts/{doc['receipt_id']}")
    assert proj.status == 200, proj
    assert json.loads(json.loads(proj.body)["payload"])["kind"] == "key.rotate_signing"
    assert [e for e in entries(srv, "signing_key.reload") if e["details"]["kind"] == "jwt"
            and e["details"]["active_kid"] == new_kid]

    # Retiring the old key: out of the JWKS, its tokens refused (here and by PyJWT).
    res = cli(srv, "key", "retire-signing", "--kind", "jwt", "--kid", old_kid)
    assert res.returncode == 0, res
    ret = json.loads(res.stdout)
    assert ret["retired_kid"] == old_kid and ret["receipt_id"].startswith("rcpt_"), ret
    assert query(srv, "SELECT COUNT(*) FROM wrapped_keys WHERE id = 'session-signing-ed25519'") == [(0,)]
    reload_until(srv, lambda: jwks_kids(srv) == [new_kid])
    res = srv.get("/api/v1/me", headers=bearer(before))
    assert res.status == 401 and res.json()["error"]["code"] == "invalid_token", res
    assert not pyjwt_verifies(srv, tmp_path, before["access_token"])
    assert srv.get("/api/v1/me", headers=bearer(after)).status == 200
    assert entries(srv, "key.retire_signing")[0]["details"]["kid"] == old_kid

    status = json.loads(cli(srv, "key", "signing-status", "--kind", "jwt").stdout)["jwt"]
    assert [(k["kid"], k["active"], k["retired_at"] is not None) for k in status] == [
        (old_kid, False, True), (new_kid, True, False)]


def test_postgres_nodes_pick_a_rotation_up_without_a_signal(make_server):
    """On PostgreSQL the rotation's commit notifies every node, which reloads on its own."""
    if not ON_POSTGRES:
        import pytest
        pytest.skip("PostgreSQL only: SQLite servers reload on SIGHUP")
    srv = start(make_server)
    doc = rotate(srv, "jwt")
    deadline = time.monotonic() + 10
    # The node serves the new key, then records the reload and logs it.
    while not (jwks_kids(srv) == [doc["kid"], doc["previous_kid"]]
               and any(e.get("event") == "signing_keys.reloaded" and e.get("trigger") == "cluster"
                       for e in srv.log_events())):
        assert time.monotonic() < deadline, srv.stderr_text
        time.sleep(0.05)
    assert jwt_header(sign_in(srv, ADA)["access_token"])["kid"] == doc["kid"]


def test_bad_signing_key_commands_are_refused_and_change_nothing(make_server):
    srv = start(make_server)
    doc = rotate(srv, "jwt")
    snap = snapshot(srv)
    for args, code, words in [
        (["rotate-signing", "--kind", "hmac"], 2, "unknown --kind"),
        (["retire-signing", "--kind", "hmac", "--kid", doc["previous_kid"]], 2, "unknown --kind"),
        (["retire-signing", "--kind", "jwt", "--kid", doc["kid"]], 1, "active key"),
        (["retire-signing", "--kind", "ledger", "--kid", doc["previous_kid"]], 1, "no ledger signing key"),
        (["retire-signing", "--kind", "jwt", "--kid", "ed25519:0000000000000000"], 1, "no jwt signing key"),
    ]:
        res = cli(srv, "key", *args)
        assert res.returncode == code, (args, res)
        assert words in res.stderr, (args, res)
        assert res.stdout == "", res
        assert snapshot(srv) == snap, args
    # A key already retired is refused the second time.
    assert cli(srv, "key", "retire-signing", "--kind", "jwt", "--kid", doc["previous_kid"]).returncode == 0
    snap = snapshot(srv)
    res = cli(srv, "key", "retire-signing", "--kind", "jwt", "--kid", doc["previous_kid"])
    assert res.returncode == 1 and "already retired" in res.stderr, res
    assert snapshot(srv) == snap


def test_ledger_key_rotates_live_and_old_checkpoints_still_verify(make_server, tmp_path):
    srv = start(make_server, **{"audit.checkpoint_every": 2, "audit.checkpoint_interval_ms": 100})
    sign_in(srv, ADA)
    old = run_cli(["audit", "pubkey", *srv.store_args()])
    assert old.returncode == 0, old
    old_pem = tmp_path / "ledger-old.pem"
    old_pem.write_text(old.stdout)
    old_kid = old.stdout.splitlines()[0][2:]
    assert query(srv, "SELECT DISTINCT key_id FROM audit_checkpoints") == [(old_kid,)]

    doc = rotate(srv, "ledger")
    assert doc["previous_kid"] == old_kid
    new_kid = doc["kid"]
    reload_until(srv, reloaded(srv, "ledger", new_kid))
    sign_in(srv, ADA)  # more entries: checkpoints under the new key
    deadline = time.monotonic() + 10
    while (new_kid,) not in query(srv, "SELECT DISTINCT key_id FROM audit_checkpoints"):
        assert time.monotonic() < deadline, "no checkpoint under the new key"
        time.sleep(0.05)

    # `audit pubkey` prints both; --kid picks one.
    both = run_cli(["audit", "pubkey", *srv.store_args()])
    assert [l for l in both.stdout.splitlines() if l.startswith("# ")] == [f"# {old_kid}", f"# {new_kid}"]
    one = run_cli(["audit", "pubkey", *srv.store_args(), "--kid", new_kid])
    assert one.returncode == 0 and one.stdout.count("BEGIN PUBLIC KEY") == 1 and new_kid in one.stdout, one
    new_pem = tmp_path / "ledger-new.pem"
    new_pem.write_text(one.stdout)
    all_pem = tmp_path / "ledger-all.pem"
    all_pem.write_text(both.stdout)

    # Checkpoints from before and after verify, with a bundle or with several --pubkey.
    for keys in (["--pubkey", str(all_pem)], ["--pubkey", str(old_pem), "--pubkey", str(new_pem)]):
        res = run_cli(["audit", "verify", *srv.store_args(), *keys])
        assert res.returncode == 0, res
    # The old key alone cannot vouch for what the new one signed, and says which key it lacks.
    res = run_cli(["audit", "verify", *srv.store_args(), "--pubkey", str(old_pem)])
    assert res.returncode == 1 and "bad_checkpoint_signature" in res.stderr and new_kid in res.stderr, res

    # Retiring the old key destroys its private half; what it signed stays verifiable.
    res = cli(srv, "key", "retire-signing", "--kind", "ledger", "--kid", old_kid)
    assert res.returncode == 0, res
    listed = run_cli(["audit", "pubkey", *srv.store_args()]).stdout
    assert f"# {old_kid} (retired " in listed and f"# {new_kid}\n" in listed, listed
    res = run_cli(["audit", "verify", *srv.store_args(), "--pubkey", str(all_pem)])
    assert res.returncode == 0, res
    assert [e["details"]["to_kid"] for e in entries(srv, "key.rotate_signing")] == [new_kid]


def issue_receipt(srv):
    res = srv.request("POST", "/api/v1/local/receipts", headers={"Content-Type": "application/json"},
                      body=json.dumps({"tenant": "acme", "email": "alice@example.com"}))
    assert res.status == 201, res
    rid = res.json()["id"]
    proj = srv.get(f"/public/receipts/{rid}")
    assert proj.status == 200, proj
    return proj.body.decode()


def receipt_verify(tmp_path, name, text, *pems):
    f = tmp_path / name
    f.write_text(text)
    args = [a for p in pems for a in ("--pubkey", str(p))]
    return run_cli(["receipt", "verify", str(f), *args])


def test_receipt_key_rotates_live_and_old_receipts_still_verify(make_server, tmp_path):
    srv = start(make_server)
    first = issue_receipt(srv)
    old = run_cli(["receipt", "pubkey", *srv.store_args()])
    assert old.returncode == 0, old
    old_pem = tmp_path / "receipt-old.pem"
    old_pem.write_text(old.stdout)
    old_kid = json.loads(json.loads(first)["payload"])["key_id"]

    doc = rotate(srv, "receipt")
    new_kid = doc["kid"]
    assert doc["previous_kid"] == old_kid
    reload_until(srv, reloaded(srv, "receipt", new_kid))
    second = issue_receipt(srv)
    assert json.loads(json.loads(second)["payload"])["key_id"] == new_kid

    new = run_cli(["receipt", "pubkey", *srv.store_args(), "--kid", new_kid])
    assert new.returncode == 0 and new.stdout.count("BEGIN PUBLIC KEY") == 1, new
    new_pem = tmp_path / "receipt-new.pem"
    new_pem.write_text(new.stdout)
    both = run_cli(["receipt", "pubkey", *srv.store_args()])
    assert [l for l in both.stdout.splitlines() if l.startswith("# ")] == [f"# {old_kid}", f"# {new_kid}"]
    all_pem = tmp_path / "receipt-all.pem"
    all_pem.write_text(both.stdout)

    # Before and after, each with its own key; the tenant's chain runs across the rotation.
    for pems in ((all_pem,), (old_pem, new_pem)):
        assert receipt_verify(tmp_path, "first.json", first, *pems).returncode == 0
        assert receipt_verify(tmp_path, "second.json", second, *pems).returncode == 0
        res = receipt_verify(tmp_path, "chain.jsonl", first + "\n" + second + "\n", *pems)
        assert res.returncode == 0 and "chain of 2 receipts" in res.stdout, res
    res = receipt_verify(tmp_path, "second.json", second, old_pem)
    assert res.returncode == 1 and "bad_signature" in res.stderr and new_kid in res.stderr, res

    # The rotation's own receipt was signed by the old key, vouching for the new one.
    rot = srv.get(f"/public/receipts/{doc['receipt_id']}").body.decode()
    payload = json.loads(json.loads(rot)["payload"])
    assert payload["key_id"] == old_kid and payload["fields"]["to_kid"] == new_kid
    assert receipt_verify(tmp_path, "rot.json", rot, old_pem).returncode == 0

    # Retired: listed as such, and its receipts still verify.
    assert cli(srv, "key", "retire-signing", "--kind", "receipt", "--kid", old_kid).returncode == 0
    listed = run_cli(["receipt", "pubkey", *srv.store_args()]).stdout
    assert f"# {old_kid} (retired " in listed, listed
    assert receipt_verify(tmp_path, "first.json", first, all_pem).returncode == 0


def test_operator_token_and_smtp_password_reload_on_sighup(make_server, tmp_path):
    token_file = tmp_path / "operator.token"
    old_token, new_token = random_token(), random_token()
    token_file.write_text(old_token + "\n")
    os.chmod(token_file, 0o600)
    pw_file = tmp_path / "smtp.password"
    old_pw, new_pw = random_token(), random_token()
    pw_file.write_text(old_pw + "\n")
    os.chmod(pw_file, 0o600)
    # Loopback is not an operator here: only the token makes one.
    srv = start(make_server, **{"operator.allow_cidrs": ["192.0.2.1/32"],
                                "operator.token_file": str(token_file),
                                "mail.smtp_url": "smtp://127.0.0.1:9",
                                "mail.smtp_username": "bulwark",
                                "mail.smtp_password_file": str(pw_file),
                                "mail.from": "bulwark@acme.test"})
    op = lambda t: srv.get("/metrics", headers={"Authorization": f"Bearer {t}"}).status
    assert op(old_token) == 200 and op(new_token) == 404

    token_file.write_text(new_token + "\n")
    pw_file.write_text(new_pw + "\n")
    reload_until(srv, lambda: srv.find_event("mail.smtp_password_reloaded") is not None
                 and srv.find_event("operator.token_reloaded") is not None)
    assert op(new_token) == 200 and op(old_token) == 404
    assert len(entries(srv, "operator.token_reload")) == 1
    assert len(entries(srv, "mail.smtp_password_reload")) == 1
    # A SIGHUP with nothing changed records nothing more; no secret is ever recorded or logged.
    srv.signal(signal.SIGHUP)
    time.sleep(0.5)
    assert len(entries(srv, "operator.token_reload")) == 1
    # A token file that cannot be read keeps the token in force; the refusal is recorded.
    token_file.unlink()
    reload_until(srv, lambda: srv.find_event("operator.token_reload_failed") is not None)
    failed = entries(srv, "operator.token_reload")[1:]
    assert [(e["result"], e["reason"]) for e in failed] == [("error", "secret_file")], failed
    assert op(new_token) == 200
    everything = json.dumps(ledger(srv)) + srv.stderr_text
    for secret in (old_token, new_token, old_pw, new_pw):
        assert secret not in everything

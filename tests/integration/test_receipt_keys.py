"""GET /.well-known/bulwark/receipt-keys and docs/receipts.md's openssl recipe (issue #23, item 6).

The public keys of receipts and of the ledger's checkpoints are served over HTTP, every
generation with its status; the recipe in docs/receipts.md is run line by line as the document
writes it (curl, jq, openssl; no shell: each line is split as the shell would, $VARs expanded and a
final "> file" redirected by this test) against a real receipt of a running server."""
import json
import re
import shlex
import subprocess
from pathlib import Path

from conftest import run_cli
from test_receipts import issue
from test_signing_key_rotation import cli, reload_until, reloaded, rotate

DOC = Path(__file__).resolve().parents[2] / "docs" / "receipts.md"


def receipt_keys(srv):
    res = srv.get("/.well-known/bulwark/receipt-keys")
    assert res.status == 200, res
    assert res.header("Cache-Control") == "public, max-age=60", res
    return res.json()["keys"]


def recipe():
    """The sh block under "## Verifying a receipt with openssl", as lines."""
    text = DOC.read_text()
    section = text.split("## Verifying a receipt with openssl", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    return [line for line in block.splitlines() if line.strip() and not line.startswith("#")]


def run_recipe(lines, variables, cwd):
    """Each line as the shell would run it: VAR=value assignments (the test's own values win for
    the variables it sets), $VAR / ${VAR} expanded inside words, a trailing "> file" redirect."""
    results = []
    for line in lines:
        m = re.fullmatch(r"([A-Z_]+)=(\S+)", line)
        if m:
            variables.setdefault(m.group(1), m.group(2))
            continue
        words = shlex.split(line)
        out_file = None
        if len(words) >= 2 and words[-2] == ">":
            out_file, words = words[-1], words[:-2]
        # shlex has removed the quotes; single-quoted words (the jq program) hold no $VAR of ours.
        words = [re.sub(r"\$\{?([A-Z_]+)\}?", lambda v: variables.get(v.group(1), v.group(0)), w)
                 for w in words]
        res = subprocess.run(words, cwd=cwd, capture_output=True, timeout=60)
        if out_file is not None:
            (Path(cwd) / out_file).write_bytes(res.stdout)
        results.append((words, res))
        assert res.returncode == 0 or words[0] == "openssl", (line, res)
    return results


def test_receipt_keys_lists_receipt_and_ledger_keys_with_their_status(make_server):
    srv = make_server(dev=True)
    keys = receipt_keys(srv)
    assert {k["kind"] for k in keys} == {"receipt", "ledger"}, keys
    for k in keys:
        assert set(k) == {"kind", "kid", "alg", "status", "signing", "generation", "created_at",
                          "retired_at", "public_key_pem"}, k
        assert k["alg"] == "EdDSA" and k["kid"].startswith("ed25519:") and k["status"] == "active", k
        assert k["signing"] is True and k["retired_at"] is None and k["generation"] == 1, k
        assert k["public_key_pem"].startswith("-----BEGIN PUBLIC KEY-----\n"), k
    # The same keys the offline tools print from the store.
    [receipt] = [k for k in keys if k["kind"] == "receipt"]
    [ledger] = [k for k in keys if k["kind"] == "ledger"]
    out = run_cli(["receipt", "pubkey", *srv.store_args()])
    assert out.returncode == 0 and receipt["public_key_pem"] in out.stdout, out
    out = run_cli(["audit", "pubkey", *srv.store_args()])
    assert out.returncode == 0 and ledger["public_key_pem"] in out.stdout, out


def test_rotated_and_retired_keys_stay_listed_with_their_status(make_server):
    srv = make_server(dev=True)
    [old] = [k for k in receipt_keys(srv) if k["kind"] == "receipt"]
    new = rotate(srv, "receipt")
    reload_until(srv, reloaded(srv, "receipt", new["kid"]))
    mine = [k for k in receipt_keys(srv) if k["kind"] == "receipt"]
    assert [k["kid"] for k in mine] == [old["kid"], new["kid"]], mine
    assert [(k["status"], k["signing"]) for k in mine] == [("active", False), ("active", True)], mine
    res = cli(srv, "key", "retire-signing", "--kind", "receipt", "--kid", old["kid"])
    assert res.returncode == 0, res
    reload_until(srv, lambda: [k["status"] for k in receipt_keys(srv) if k["kind"] == "receipt"]
                 == ["retired", "active"])
    first = [k for k in receipt_keys(srv) if k["kind"] == "receipt"][0]
    assert first["kid"] == old["kid"] and first["retired_at"] and not first["signing"], first


def test_the_documented_openssl_recipe_verifies_a_real_receipt(make_server, tmp_path):
    srv = make_server(dev=True)
    rid, _ = issue(srv, "acme")
    lines = recipe()
    assert lines[-1].startswith("openssl pkeyutl -verify"), lines
    results = run_recipe(lines, {"BULWARK": srv.url, "RECEIPT": rid}, tmp_path)
    words, res = results[-1]
    assert res.returncode == 0, res
    assert b"Signature Verified Successfully" in res.stdout, res
    # The key came from the endpoint, and is the one the receipt names.
    payload = json.loads((tmp_path / "payload.bin").read_bytes())
    assert payload["id"] == rid
    assert (tmp_path / "key.pem").read_text() == next(
        k["public_key_pem"] for k in receipt_keys(srv) if k["kid"] == payload["key_id"])

    # One changed byte of the payload: the same command refuses it.
    data = bytearray((tmp_path / "payload.bin").read_bytes())
    data[data.index(b'"seq":') + 6] ^= 0x01
    (tmp_path / "payload.bin").write_bytes(bytes(data))
    res = subprocess.run(words, cwd=tmp_path, capture_output=True, timeout=60)
    assert res.returncode != 0 and b"Signature Verification Failure" in res.stdout + res.stderr, res

"""`storage.url`: the real binary on a real PostgreSQL 15 (the `pg` fixture of conftest.py: initdb
and pg_ctl into a temporary directory on a free port): a tenant, sign-in with MFA, path policies,
an API key and the Vault KV v2 surface through python3-hvac, the ledger in PostgreSQL with its
append-only triggers, and the production refusals for an unverified or password-bearing URL.

The whole suite also runs on PostgreSQL with BULWARK_TEST_BACKEND=postgresql (pg_helpers.py)."""
import json

import hvac
import pytest
from conftest import EXIT_REFUSED, run_cli
from test_production_refusals import Boot
from identity_helpers import LOOSE, enroll, sign_in, step_up
from vault_helpers import api_key, attach, put_policy


def test_the_server_runs_on_postgresql(pg, make_server):
    url = pg.new_database()
    srv = make_server(dev=True, settings={**LOOSE, "storage.url": url})
    res = run_cli(["tenant", "create", "--dev", "--config", srv.config_path, "--data", srv.data_dir, "--name",
                   "acme", "--owner", "owner@acme.test"])
    assert res.returncode == 0, res
    tenant = json.loads(res.stdout)["tenant_id"]
    # Nothing went to a SQLite file: the data directory holds no database.
    assert not (srv.data_dir / "bulwark.db").exists()
    tokens = sign_in(srv, "owner@acme.test")
    _, codes = enroll(srv, tokens)
    put_policy(srv, tokens, codes, "all", {"*": ["create", "read", "update", "delete", "list"]})
    key, _ = api_key(srv, tokens, codes, policy="all")
    kv = hvac.Client(url=srv.url, token=key, timeout=10).secrets.kv.v2
    assert kv.create_or_update_secret("db/password", {"p": "one"})["data"]["version"] == 1
    assert kv.create_or_update_secret("db/password", {"p": "two"}, cas=1)["data"]["version"] == 2
    assert kv.read_secret_version("db/password", version=1)["data"]["data"] == {"p": "one"}
    assert kv.list_secrets("")["data"]["keys"] == ["db/"]
    # Destroying takes a stepped-up session (an API key gets mfa_required): the owner's token.
    owner_kv = hvac.Client(url=srv.url, token=tokens["access_token"], timeout=10).secrets.kv.v2
    attach(srv, tokens, codes, "all", "user", tokens["user_id"])
    step_up(srv, tokens, codes)
    owner_kv.destroy_secret_versions("db/password", versions=[1])
    with pytest.raises(hvac.exceptions.InvalidPath):
        kv.read_secret_version("db/password", version=1)
    # The ledger is in PostgreSQL, gap-free, and its rows cannot be changed.
    rc, out, _ = pg.sql(url, "SELECT COUNT(*), MIN(seq), MAX(seq) FROM audit_ledger")
    count, lo, hi = map(int, out.split("|"))
    assert rc == 0 and count > 10 and lo == 1 and hi == count, out
    rc, _, err = pg.sql(url, "UPDATE audit_ledger SET entry = entry WHERE seq = 1")
    assert rc != 0 and "append-only" in err, err
    rc, _, err = pg.sql(url, "DELETE FROM audit_ledger WHERE seq = 1")
    assert rc != 0 and "append-only" in err, err
    rc, out, _ = pg.sql(url, f"SELECT COUNT(*) FROM secret_versions WHERE tenant_id = '{tenant}'")
    assert out == "2", out
    rc, out, _ = pg.sql(url, "SELECT sealed IS NULL FROM secret_versions WHERE version = 1")
    assert out == "t", out
    assert srv.get("/readyz").status == 200
    # The maintenance commands work on PostgreSQL too.
    cli = ["--dev", "--config", srv.config_path, "--data", srv.data_dir]
    res = run_cli(["key", "status", *cli])
    assert res.returncode == 0 and json.loads(res.stdout)["active_version"] == 1, res
    res = run_cli(["key", "rotate-data", "--tenant", "acme", *cli])
    assert res.returncode == 0 and json.loads(res.stdout)["resealed"] == 1, res  # v1 destroyed
    assert kv.read_secret_version("db/password")["data"]["data"] == {"p": "two"}
    # Paths compare byte by byte, as on SQLite, in a database whose collation does not (en-US):
    # a folder is the paths that start with its prefix, and its keys come in byte order.
    # A secret may share its name with a folder, and a longer name its prefix.
    for path in ("db/B", "db/a", "dB/x", "d-b/y", "db", "dbx"):
        kv.create_or_update_secret(path, {"p": "x"})
    assert kv.list_secrets("")["data"]["keys"] == ["d-b/", "dB/", "db", "db/", "dbx"]
    assert kv.list_secrets("db")["data"]["keys"] == ["B", "a", "password"]


def test_production_refuses_an_unverified_or_password_bearing_url(pg, tmp_path):
    url = pg.new_database()
    for i, (bad, reason) in enumerate([
            (url, "sslmode=verify-full"),
            (url.replace("bulwark@", "bulwark:hunter2@") + "?sslmode=verify-full", "password")]):
        (tmp_path / str(i)).mkdir()
        boot = Boot(tmp_path / str(i), settings={"storage.url": bad})
        boot.write_config()
        res = boot.serve()
        assert res.returncode == EXIT_REFUSED, res
        assert reason in res.stderr and "hunter2" not in res.output, res
        rc, out, _ = pg.sql(url, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'")
        assert out == "0", out  # nothing written

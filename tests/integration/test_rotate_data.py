"""`bulwark key rotate-data`: a tenant's secrets resealed under a new data key beside a running
server. Concurrent reads and writes lose nothing and never fail; a rotation killed mid-way resumes
to completion on the next run; the rotation is recorded and issues a receipt."""
import json
import signal
import subprocess
import threading
import time

import pytest
from conftest import BIN, clean_env, run_cli
from identity_helpers import LOOSE, ledger, send_json
from pg_helpers import query
from vault_helpers import api_key, owner, put_policy


@pytest.fixture
def srv(make_server):
    # Thousands of requests from one API key within a minute: lift the per-key limit.
    rules = LOOSE["rate_limit.rules"] + ["* api_key 1000000/1m"]
    return make_server(dev=True, settings={"rate_limit.rules": rules})


def setup_tenant(srv):
    doc, tokens, codes = owner(srv, "acme")
    put_policy(srv, tokens, codes, "all", {"*": ["create", "read", "update", "delete", "list"]})
    key, _ = api_key(srv, tokens, codes, policy="all")
    return doc, {"X-API-Key": key}


def write(srv, h, path, value):
    res = send_json(srv, "PUT", f"/api/v1/secrets/{path}", {"data": {"v": value}}, h)
    assert res.status == 200, res
    return res.json()["version"]


def read(srv, h, path, version=None):
    q = f"?version={version}" if version else ""
    res = srv.get(f"/api/v1/secrets/{path}{q}", headers=h)
    assert res.status == 200, res
    return res.json()["data"]["v"]


def rotate_args(srv, *extra):
    return ["key", "rotate-data", "--dev", "--data", str(srv.data_dir), "--config",
            str(srv.config_path), "--tenant", "acme", *extra]


def sealed_keys(srv, tenant_id):
    return dict(query(srv, "SELECT data_key_id, COUNT(*) FROM secret_versions WHERE tenant_id = ? AND "
                           "sealed IS NOT NULL GROUP BY data_key_id", (tenant_id,)))


def test_rotation_under_concurrent_reads_and_writes_loses_nothing(srv):
    doc, h = setup_tenant(srv)
    paths = [f"app/s{i}" for i in range(40)]  # read throughout, two versions each
    hot = [f"hot/h{i}" for i in range(5)]  # written throughout
    for p in paths:
        write(srv, h, p, f"{p}-1")
        write(srv, h, p, f"{p}-2")
    for p in hot:
        write(srv, h, p, f"{p}-0")
    acked = {p: f"{p}-0" for p in hot}
    stop = threading.Event()
    failures = []

    def writer():
        n = 1
        while not stop.is_set():
            p = hot[n % len(hot)]
            value = f"{p}-{n}"
            res = send_json(srv, "PUT", f"/api/v1/secrets/{p}", {"data": {"v": value}}, h)
            if res.status != 200:
                failures.append(res)
                return
            acked[p] = value  # acknowledged: it must be the latest value afterwards
            n += 1

    def reader(version):
        i = 0
        while not stop.is_set():
            p = paths[i % len(paths)]
            res = srv.get(f"/api/v1/secrets/{p}?version={version}", headers=h)
            if res.status != 200 or res.json()["data"]["v"] != f"{p}-{version}":
                failures.append(res)
                return
            i += 1

    threads = [threading.Thread(target=writer), threading.Thread(target=reader, args=(1,)),
               threading.Thread(target=reader, args=(2,))]
    for t in threads:
        t.start()
    try:
        res = run_cli(rotate_args(srv, "--batch-size", "7", "--pause-ms", "10"), timeout=120)
    finally:
        time.sleep(0.2)
        stop.set()
        for t in threads:
            t.join(30)
    assert res.returncode == 0, res
    out = json.loads(res.stdout)
    assert out["tenant_id"] == doc["tenant_id"] and out["receipt_id"].startswith("rcpt_"), out
    assert out["data_key_id"] == f"tenant-data:{doc['tenant_id']}:2", out
    assert out["resealed"] >= 80, out
    assert not failures, failures[:3]
    # Nothing lost: every acknowledged write is the latest value; every old version still opens.
    for p in hot:
        assert read(srv, h, p) == acked[p], p
    for p in paths:
        assert read(srv, h, p, 1) == f"{p}-1" and read(srv, h, p) == f"{p}-2"
    # Every stored version is under the new key.
    assert set(sealed_keys(srv, doc["tenant_id"])) == {out["data_key_id"]}
    entries = ledger(srv)
    done = [e for e in entries if e["action"] == "key.rotate_data"]
    assert len(done) == 1 and out["receipt_id"] in json.dumps(done[0]), done
    assert [e for e in entries if e["action"] == "key.rotate_data.start"]
    ((tenant, payload),) = query(srv, "SELECT tenant, payload FROM receipts WHERE id = ?", (out["receipt_id"],))
    assert tenant == doc["tenant_id"] and json.loads(payload)["kind"] == "key.rotate_data"


def test_a_rotation_killed_mid_way_resumes_to_completion(srv):
    doc, h = setup_tenant(srv)
    for i in range(120):
        write(srv, h, f"bulk/s{i:03d}", f"value-{i}")
    proc = subprocess.Popen([BIN, *rotate_args(srv, "--batch-size", "4", "--pause-ms", "40")],
                            env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 30
    resealed = 0
    while time.monotonic() < deadline:
        rows = query(srv, "SELECT resealed FROM data_rotation_jobs")
        resealed = rows[0][0] if rows else 0
        if resealed >= 12:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)  # a crash: no cleanup of any kind
    proc.communicate(timeout=10)
    assert 12 <= resealed < 120, resealed
    job = query(srv, "SELECT target_key_id, finished_at, resealed FROM data_rotation_jobs")
    assert len(job) == 1 and job[0][1] is None, job
    target = job[0][0]
    split = sealed_keys(srv, doc["tenant_id"])
    assert split[target] == job[0][2] and sum(split.values()) == 120, split
    # Reads work in the middle: some versions under the old key, some under the new.
    for i in range(0, 120, 7):
        assert read(srv, h, f"bulk/s{i:03d}") == f"value-{i}"
    # The next run resumes the same job (no third key) and finishes it.
    res = run_cli(rotate_args(srv), timeout=120)
    assert res.returncode == 0, res
    out = json.loads(res.stdout)
    assert out["data_key_id"] == target and out["resealed"] == 120, out
    assert set(sealed_keys(srv, doc["tenant_id"])) == {target}
    assert query(srv, "SELECT COUNT(*) FROM tenant_data_keys WHERE tenant_id = ?", (doc["tenant_id"],)) == [(2,)]
    for i in range(120):
        assert read(srv, h, f"bulk/s{i:03d}") == f"value-{i}"
    # Another run starts a new rotation (a third key) rather than reopening the finished one.
    res = run_cli(rotate_args(srv), timeout=120)
    assert res.returncode == 0 and json.loads(res.stdout)["data_key_id"].endswith(":3"), res


def test_rotate_data_refuses_bad_input_and_writes_nothing(srv):
    setup_tenant(srv)
    before = ledger(srv)
    for extra, code in [(["--tenant", "nope"], "tenant_not_found"),
                        (["--tenant", "acme", "--batch-size", "0"], "invalid_option"),
                        (["--tenant", "acme", "--pause-ms", "-1"], "invalid_option")]:
        args = ["key", "rotate-data", "--dev", "--data", str(srv.data_dir), "--config",
                str(srv.config_path), *extra]
        res = run_cli(args)
        assert res.returncode == 1 and code in res.stderr, (extra, res)
    assert ledger(srv) == before
    assert query(srv, "SELECT COUNT(*) FROM data_rotation_jobs") == [(0,)]

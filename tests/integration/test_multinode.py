"""Three `bulwark serve` nodes on one real PostgreSQL 15 behave as one service (issue #6).

Under concurrent load from many clients spread over the nodes, with one node killed (SIGKILL)
in the middle: every acknowledged write is readable afterwards from another node, the ledger is
one gap-free hash chain (recomputed here, independently of the server's own verifier) holding
every acknowledged request exactly once, a magic link raced on every node at once signs in
exactly once, a revoked API key is refused on every node within one second, and a rate limit
is one budget across the nodes."""
import hashlib
import json
import random
import threading
import time

import pytest
from conftest import PUBLIC_URL, b64key, run_cli
from identity_helpers import LOOSE_RULES, MAGIC_RE, bearer, enroll, invite, mail_count, post, send_json, \
    sign_in, step_up, wait_mail
from vault_helpers import api_key, put_policy

NODES = 3


@pytest.fixture
def cluster(pg, make_server):
    """Three nodes on one database with one master key; a tenant whose owner holds an API key."""
    url = pg.new_database()
    key = b64key()
    rules = LOOSE_RULES + ["POST /api/v1/auth/request email 4/10m", "* api_key 100000/1m"]
    nodes = [make_server(dev=True, name=f"node{i}", env={"BULWARK_MASTER_KEY": key},
                         # One deployment behind one address: the nodes share the public URL, and so
                         # the issuer and audience of the access tokens any of them signs.
                         settings={"rate_limit.rules": rules, "storage.url": url,
                                   "server.public_url": PUBLIC_URL}) for i in range(NODES)]
    res = run_cli(["tenant", "create", "--dev", "--config", nodes[0].config_path, "--data", nodes[0].data_dir,
                   "--name", "acme", "--owner", "owner@acme.test"], env={"BULWARK_MASTER_KEY": key})
    assert res.returncode == 0, res
    tokens = sign_in(nodes[0], "owner@acme.test")
    _, codes = enroll(nodes[0], tokens)
    put_policy(nodes[0], tokens, codes, "all", {"*": ["create", "read", "update", "delete", "list"]})
    api, api_id = api_key(nodes[0], tokens, codes, policy="all")
    return {"pg": pg, "url": url, "nodes": nodes, "tokens": tokens, "codes": codes, "key": api, "key_id": api_id}


def write(node, key, path, value, request_id):
    return send_json(node, "PUT", f"/api/v1/secrets/{path}", {"data": {"v": value}},
                     {"X-API-Key": key, "X-Request-ID": request_id})


def ledger_rows(pg, url):
    rc, out, err = pg.sql(url, "SELECT ledger_id FROM audit_ledger_meta")
    assert rc == 0, err
    ledger_id = out.strip()
    rc, out, err = pg.sql(url, "SELECT seq, encode(entry, 'hex'), encode(prev_hash, 'hex'), encode(hash, 'hex') "
                               "FROM audit_ledger ORDER BY seq")
    assert rc == 0, err
    rows = [line.split("|") for line in out.splitlines()]
    return ledger_id, [(int(s), bytes.fromhex(e), bytes.fromhex(p), bytes.fromhex(h)) for s, e, p, h in rows]


def assert_one_chain(pg, url):
    """seq 1..N without a gap, each entry chained to the one before from the genesis hash."""
    ledger_id, rows = ledger_rows(pg, url)
    prev = hashlib.sha256(f"bulwark-ledger-v1|{ledger_id}".encode()).digest()
    for i, (seq, entry, prev_hash, digest) in enumerate(rows):
        assert seq == i + 1, f"gap or duplicate at {seq}"
        assert prev_hash == prev, f"chain broken at {seq}"
        assert hashlib.sha256(prev + entry).digest() == digest, f"entry {seq} does not match its hash"
        assert json.loads(entry)["seq"] == seq
        prev = digest
    return [json.loads(e) for _, e, _, _ in rows]


def test_three_nodes_under_load_with_one_killed_lose_nothing_and_keep_one_ledger(cluster):
    nodes, key = cluster["nodes"], cluster["key"]
    acked, lock = {}, threading.Lock()
    attempted, refused_by_dead_node, served_by, unexpected = [], [], [0] * NODES, []
    for node in nodes:  # every node listens for the others' changes, so it trusts its caches
        assert "bulwark_cache_trusted 1" in node.get("/metrics").body.decode(), node.url
    stop_at = time.monotonic() + 5.0

    def client(c):
        rnd = random.Random(c)
        i = 0
        while time.monotonic() < stop_at:
            i += 1
            node = rnd.choice(nodes)
            rid = f"load-{c}-{i}"
            path = f"load/c{c}/s{i}"  # one path per write: old versions are pruned past 10
            value = f"{c}-{i}"
            attempted.append(rid)
            try:
                res = write(node, key, path, value, rid)
            except (ConnectionError, OSError, TimeoutError) as e:
                with lock:
                    (refused_by_dead_node if node is nodes[2] else unexpected).append((rid, repr(e)))
                continue  # the killed node: not acknowledged
            if res.status == 200:
                with lock:
                    acked[rid] = (path, value, res.json()["version"])
                    served_by[nodes.index(node)] += 1
            else:
                with lock:
                    unexpected.append((rid, res))

    threads = [threading.Thread(target=client, args=(c,)) for c in range(12)]
    for t in threads:
        t.start()
    time.sleep(2.0)
    nodes[2].kill()  # SIGKILL mid-load: in-flight requests to it are lost, never half-written
    for t in threads:
        t.join()
    assert not unexpected, unexpected[:5]  # only the killed node failed anyone
    assert len(acked) > 100, len(acked)
    assert min(served_by) > 0 and refused_by_dead_node, (served_by, len(refused_by_dead_node))
    print(f"acknowledged {len(acked)} writes (per node {served_by}); "
          f"{len(refused_by_dead_node)} attempts met the killed node")

    # Every acknowledged write is there, read from a surviving node: each acked version holds
    # exactly the value that request wrote.
    for rid, (path, value, version) in acked.items():
        res = nodes[0].get(f"/api/v1/secrets/{path}?version={version}", {"X-API-Key": key})
        assert res.status == 200, (rid, res)
        assert res.json()["data"] == {"v": value}, (rid, res.json())

    # One gap-free chain, and each acknowledged request recorded exactly once.
    entries = assert_one_chain(cluster["pg"], cluster["url"])
    seen = {}
    for e in entries:
        if e.get("request_id"):
            seen[e["request_id"]] = seen.get(e["request_id"], 0) + 1
    for rid in acked:
        assert seen.get(rid) == 1, (rid, seen.get(rid))
    for rid in attempted:
        assert seen.get(rid, 0) <= 1, rid  # never twice, acknowledged or not


def race_on_every_node(nodes, path, doc):
    """POSTs `doc` to `path` from 4 clients per node, released at once; the responses."""
    barrier = threading.Barrier(len(nodes) * 4)
    results = []

    def one(node):
        barrier.wait()
        results.append(post(node, path, doc))

    threads = [threading.Thread(target=one, args=(nodes[i % len(nodes)],)) for i in range(len(nodes) * 4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_one_time_tokens_raced_on_every_node_are_used_exactly_once(cluster):
    nodes = cluster["nodes"]
    for round_ in range(3):  # the fixture used one of the 4 links per 10 minutes
        seen = mail_count(nodes[1], "owner@acme.test")
        res = post(nodes[1], "/api/v1/auth/request", {"email": "owner@acme.test"})
        assert res.status == 202, res
        token = wait_mail(nodes[1], "owner@acme.test", MAGIC_RE, seen)
        responses = race_on_every_node(nodes, "/api/v1/auth/verify", {"token": token})
        results = [r.status for r in responses]
        assert results.count(200) == 1 and results.count(401) == len(results) - 1, (round_, results)
        tokens = next(r.json() for r in responses if r.status == 200)

    # A refresh token: one rotation wins; the others are reuse, which revokes the session.
    responses = race_on_every_node(nodes, "/api/v1/auth/refresh", {"refresh_token": tokens["refresh_token"]})
    results = [r.status for r in responses]
    assert results.count(200) == 1 and results.count(401) == len(results) - 1, results

    # An invitation: one member, whichever node each click reached.
    step_up(nodes[0], cluster["tokens"], cluster["codes"])
    token = invite(nodes[0], cluster["tokens"], "new@acme.test", "viewer")
    results = [r.status for r in race_on_every_node(nodes, "/api/v1/auth/accept-invite", {"token": token})]
    assert results.count(200) == 1, results
    rc, out, _ = cluster["pg"].sql(cluster["url"], "SELECT COUNT(*) FROM memberships m JOIN users u ON "
                                                   "u.id = m.user_id WHERE u.email = 'new@acme.test'")
    assert rc == 0 and out == "1", out


def test_a_revoked_api_key_is_refused_on_every_node_within_one_second(cluster):
    nodes, key = cluster["nodes"], cluster["key"]
    for node in nodes:  # every node has the key cached
        for _ in range(3):
            assert node.get("/api/v1/whoami", {"X-API-Key": key}).status == 200
    step_up(nodes[0], cluster["tokens"], cluster["codes"])
    res = nodes[0].request("DELETE", f"/api/v1/apikeys/{cluster['key_id']}", headers=bearer(cluster["tokens"]))
    assert res.status in (200, 204), res
    revoked_at = time.monotonic()
    refused_after = {}

    def watch(i, node):
        while time.monotonic() - revoked_at < 3.0:
            if node.get("/api/v1/whoami", {"X-API-Key": key}).status == 401:
                refused_after[i] = time.monotonic() - revoked_at
                return
            time.sleep(0.01)

    threads = [threading.Thread(target=watch, args=(i, n)) for i, n in enumerate(nodes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(refused_after) == list(range(NODES)), refused_after
    assert max(refused_after.values()) < 1.0, refused_after
    print("refused after (s):", {i: round(t, 3) for i, t in refused_after.items()})


def test_a_policy_change_on_one_node_applies_on_every_node(cluster):
    nodes, key = cluster["nodes"], cluster["key"]
    assert write(nodes[0], key, "prod/db", "x", "pol-1").status == 200
    for node in nodes:
        assert node.get("/api/v1/secrets/prod/db", {"X-API-Key": key}).status == 200  # cached: allowed
    put_policy(nodes[1], cluster["tokens"], cluster["codes"], "all", {"dev/*": ["read"]})
    deadline = time.monotonic() + 1.0
    for node in nodes:
        while node.get("/api/v1/secrets/prod/db", {"X-API-Key": key}).status != 403:
            assert time.monotonic() < deadline, "a node still applies the old policy after 1 s"
            time.sleep(0.01)


def test_a_rate_limit_is_one_budget_across_the_nodes(cluster):
    nodes = cluster["nodes"]
    statuses = [post(nodes[i % NODES], "/api/v1/auth/request", {"email": "someone@acme.test"}).status
                for i in range(8)]
    assert statuses == [202] * 4 + [429] * 4, statuses  # 4/10m per email, whichever node is asked


def test_nodes_run_as_an_app_role_that_cannot_rewrite_the_ledger(pg, make_server):
    """The documented role split: `bulwark db migrate --grant-app-role` as the owner, then the
    node connects as the app role, serves and records; the app role cannot change the ledger."""
    for role in ("bw_owner", "bw_app"):
        rc, _, err = pg.sql(pg.url("postgres"), f"CREATE ROLE {role} LOGIN")
        assert rc == 0, err
    rc, _, err = pg.sql(pg.url("postgres"), "CREATE DATABASE split OWNER bw_owner")
    assert rc == 0, err
    owner_url = pg.url("split").replace("bulwark@", "bw_owner@")
    app_url = pg.url("split").replace("bulwark@", "bw_app@")
    key = b64key()
    owner = make_server(dev=True, start=False, name="owner", settings={"storage.url": owner_url})
    owner.config_path.parent.mkdir(parents=True, exist_ok=True)
    owner.config_path.write_text(f'storage.url = "{owner_url}"\n')
    res = run_cli(["db", "migrate", "--dev", "--config", owner.config_path, "--grant-app-role", "bw_app"])
    assert res.returncode == 0, res
    doc = json.loads(res.stdout)
    assert doc["app_role"] == "bw_app" and doc["schema_version"] >= 11, doc
    res = run_cli(["db", "migrate", "--dev", "--config", owner.config_path, "--grant-app-role", "bw_owner"])
    assert res.returncode == 1 and "role_too_strong" in res.stderr, res

    node = make_server(dev=True, name="app", env={"BULWARK_MASTER_KEY": key},
                       settings={"rate_limit.rules": LOOSE_RULES, "storage.url": app_url})
    res = run_cli(["tenant", "create", "--dev", "--config", node.config_path, "--data", node.data_dir,
                   "--name", "acme", "--owner", "owner@acme.test"], env={"BULWARK_MASTER_KEY": key})
    assert res.returncode == 0, res
    tokens = sign_in(node, "owner@acme.test")
    _, codes = enroll(node, tokens)
    put_policy(node, tokens, codes, "all", {"*": ["create", "read"]})
    api, _ = api_key(node, tokens, codes, policy="all")
    assert write(node, api, "db/pw", "s3cret", "split-1").status == 200
    assert node.get("/readyz").status == 200
    assert_one_chain(pg, pg.url("split"))
    for sql in ("UPDATE audit_ledger SET entry = entry", "DELETE FROM audit_ledger", "TRUNCATE audit_ledger",
                "ALTER TABLE audit_ledger DISABLE TRIGGER USER",
                # What the audit API filters on, and the signed checkpoints (docs/operations.md,
                # "What protects the ledger's head").
                "UPDATE audit_index SET tenant = NULL", "DELETE FROM audit_index",
                "ALTER TABLE audit_index DISABLE TRIGGER USER", "DELETE FROM audit_checkpoints",
                "UPDATE audit_checkpoints SET size = size", "DELETE FROM audit_signing_keys"):
        rc, _, err = pg.sql(app_url, sql)
        assert rc != 0 and ("permission denied" in err or "must be owner" in err), (sql, err)

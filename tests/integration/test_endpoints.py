"""Issue #2 routes through the real binary: /livez /readyz /healthz /build-info /metrics and the
dev overlay outbox."""
import pathlib
import time
import re
import shutil
import subprocess

import pytest

from conftest import assert_error_body, random_token
from pg_helpers import store_outage

BUILD_INFO_KEYS = {"version", "commit", "build_time"}


def test_livez(prod_server):
    res = prod_server.get("/livez")
    assert res.status == 200, res
    assert res.json() == {"status": "ok"}


def test_livez_head_has_no_body(prod_server):
    res = prod_server.request("HEAD", "/livez")
    assert res.status == 200, res
    assert res.body == b""


def test_readyz_ok_names_every_check(prod_server):
    res = prod_server.get("/readyz")
    assert res.status == 200, res
    doc = res.json()
    assert doc["status"] == "ready"
    assert doc["checks"]["store"] == "ok"
    assert doc["checks"]["audit"] == "ok"
    assert doc["checks"]["keys"] == "ok"


def wait_status(srv, path, status, timeout=3.0):
    """Readiness is cached for one second: poll until `path` answers `status`."""
    deadline = time.monotonic() + timeout
    while True:
        res = srv.get(path)
        if res.status == status or time.monotonic() > deadline:
            return res
        time.sleep(0.1)


def test_readyz_503_names_store_when_database_moved_away_and_recovers(prod_server):
    assert prod_server.get("/readyz").status == 200
    with store_outage(prod_server):
        res = wait_status(prod_server, "/readyz", 503)
        assert res.status == 503, res
        doc = res.json()
        assert doc["status"] == "not_ready"
        assert doc["checks"]["store"] != "ok"
        assert "store" in doc["failed"], doc
        assert doc["checks"]["keys"] == "ok"
        # The error part names the failing check and carries the request id.
        assert "store" in doc["error"]["message"]
        assert doc["error"]["request_id"] == res.header("X-Request-ID")
        # The message must not leak the internal path or address of the database.
        assert str(prod_server.data_dir) not in res.body.decode()
        assert "127.0.0.1" not in res.body.decode() and "postgresql" not in res.body.decode()
        health = wait_status(prod_server, "/healthz", 503)
        assert health.status == 503, health
        assert health.json()["ready"] is False
        assert health.json()["live"] is True
    res = wait_status(prod_server, "/readyz", 200)
    assert res.status == 200, res
    assert res.json()["checks"] == {"store": "ok", "audit": "ok", "keys": "ok"}


def test_healthz(prod_server):
    res = prod_server.get("/healthz")
    assert res.status == 200, res
    doc = res.json()
    assert doc["status"] == "ok"
    assert doc["live"] is True
    assert doc["ready"] is True
    assert doc["checks"]["store"] == "ok"
    assert doc["checks"]["keys"] == "ok"


def _check_build_info(res, mode):
    assert res.status == 200, res
    doc = res.json()
    assert BUILD_INFO_KEYS <= set(doc), doc
    for k in BUILD_INFO_KEYS:
        assert isinstance(doc[k], str) and doc[k].strip(), (k, doc)
    assert re.match(r"^\d+\.\d+", doc["version"]), doc
    assert doc["mode"] == mode


def test_build_info_for_operator_cidr(make_server):
    srv = make_server(settings={"operator.allow_cidrs": ["127.0.0.0/8"]})
    _check_build_info(srv.get("/build-info"), "production")


def test_build_info_for_operator_token(make_server):
    token = random_token()
    srv = make_server(settings={"operator.allow_cidrs": ["10.0.0.0/8"]},
                      env={"BULWARK_OPERATOR_TOKEN": token})
    _check_build_info(srv.get("/build-info", {"Authorization": f"Bearer {token}"}), "production")
    res = srv.get("/metrics", {"Authorization": f"Bearer {token}"})
    assert res.status == 200, res
    assert b"bulwark_http_requests_total" in res.body


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer wrong-token-wrong-token-wrong-token-123"},
    {"Authorization": "Basic dXNlcjpwYXNz"},
    {"Authorization": "Bearer "},
], ids=["no-token", "wrong-token", "basic", "empty-bearer"])
def test_internal_routes_404_for_others(make_server, headers):
    token = random_token()
    srv = make_server(settings={"operator.allow_cidrs": ["10.0.0.0/8"]},
                      env={"BULWARK_OPERATOR_TOKEN": token})
    for path in ("/build-info", "/metrics"):
        res = srv.get(path, headers)
        assert_error_body(res, 404, "not_found")
        # Indistinguishable from a route that does not exist.
        assert res.json()["error"]["message"] == srv.get("/no-such-route").json()["error"]["message"]


def test_internal_routes_404_in_production_without_allowlist(prod_server):
    # Production with no allow_cidrs and no token: loopback is not an operator.
    assert_error_body(prod_server.get("/build-info"), 404, "not_found")
    assert_error_body(prod_server.get("/metrics"), 404, "not_found")


def test_internal_routes_allowed_from_loopback_in_dev(dev_server):
    _check_build_info(dev_server.get("/build-info"), "dev")


def test_internal_routes_dev_respects_explicit_allowlist(make_server):
    srv = make_server(dev=True, settings={"operator.allow_cidrs": ["10.0.0.0/8"]})
    assert_error_body(srv.get("/build-info"), 404, "not_found")


def _scrape(srv):
    res = srv.get("/metrics")
    assert res.status == 200, res
    ctype = res.header("Content-Type")
    assert ctype.startswith("text/plain"), ctype
    assert "version=0.0.4" in ctype
    return res.body.decode()


def test_metrics_prometheus_format(make_server, tmp_path):
    srv = make_server(settings={"operator.allow_cidrs": ["127.0.0.1/32"]})
    for _ in range(3):
        assert srv.get("/livez").status == 200
    assert srv.get("/nope").status == 404
    assert srv.request("POST", "/livez", body=b"").status == 405
    text = _scrape(srv)

    assert re.search(r'^bulwark_http_requests_total\{route="GET /livez",status="200"\} 3$', text, re.M), text
    assert re.search(r'^bulwark_http_requests_total\{route="[^"]+",status="404"\} 1$', text, re.M), text
    assert re.search(r'^bulwark_http_requests_total\{route="[^"]+",status="405"\} 1$', text, re.M), text
    assert "# TYPE bulwark_http_requests_total counter" in text
    assert "# TYPE bulwark_http_request_duration_seconds histogram" in text
    assert re.search(r'^bulwark_http_request_duration_seconds_bucket\{route="GET /livez",le="\+Inf"\} 3$',
                     text, re.M), text
    assert re.search(r'^bulwark_http_request_duration_seconds_count\{route="GET /livez"\} 3$', text, re.M)
    assert re.search(r'^bulwark_http_request_duration_seconds_sum\{route="GET /livez"\} [0-9.e+-]+$',
                     text, re.M)
    assert "# TYPE bulwark_http_requests_in_flight gauge" in text
    # The scrape itself is in flight while it is rendered.
    assert re.search(r"^bulwark_http_requests_in_flight 1$", text, re.M), text
    assert "# TYPE bulwark_http_rate_limited_total counter" in text
    assert re.search(r"^bulwark_http_rate_limited_total 0$", text, re.M), text

    # Histogram buckets are cumulative and non-decreasing.
    buckets = [int(m.group(1)) for m in re.finditer(
        r'^bulwark_http_request_duration_seconds_bucket\{route="GET /livez",le="[^"]+"\} (\d+)$', text, re.M)]
    assert len(buckets) >= 5 and buckets == sorted(buckets), buckets

    promtool = shutil.which("promtool")
    assert promtool, "promtool (Debian package prometheus) is required"
    check = subprocess.run([promtool, "check", "metrics"], input=text.encode(),
                           capture_output=True, timeout=60)
    assert check.returncode == 0, (check.stdout, check.stderr, text)
    assert check.stdout.strip() == b"" and check.stderr.strip() == b"", (check.stdout, check.stderr)


def test_metrics_counts_rejected_requests(make_server):
    srv = make_server(settings={"operator.allow_cidrs": ["127.0.0.1/32"]})
    res = srv.raw(b"GARBAGE\r\n\r\n")
    assert res.status == 400, res
    text = _scrape(srv)
    assert re.search(r'^bulwark_http_requests_total\{route="[^"]+",status="400"\} 1$', text, re.M), text


def test_local_overlay_outbox_in_dev(dev_server):
    res = dev_server.get("/api/v1/local/outbox")
    assert res.status == 200, res
    assert res.json() == {"messages": []}


def test_local_overlay_outbox_404_in_production(prod_server):
    assert_error_body(prod_server.get("/api/v1/local/outbox"), 404, "not_found")


def test_local_overlay_can_be_switched_off_in_dev(make_server):
    srv = make_server(dev=True, settings={"local_overlay.enabled": False})
    assert_error_body(srv.get("/api/v1/local/outbox"), 404, "not_found")


def test_server_threads_are_named(make_server):
    """top -H, ps -L and perf tell the server's threads apart: the io threads, the audit writer and
    the ledger's verifier each carry a name."""
    srv = make_server(settings={"server.io_threads": 2})
    tasks = pathlib.Path(f"/proc/{srv.proc.pid}/task")
    wanted = {"bw-io", "bw-audit-writer", "bw-audit-verify"}
    names = set()
    deadline = time.monotonic() + 10
    while not wanted <= names and time.monotonic() < deadline:
        # The io threads start just after the server logs that it listens; a thread may also end
        # while it is being read.
        time.sleep(0.05)
        names = set()
        for t in tasks.iterdir():
            try:
                names.add((t / "comm").read_text().strip())
            except FileNotFoundError:
                pass
    assert wanted <= names, names

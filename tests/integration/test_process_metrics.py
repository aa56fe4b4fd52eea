"""/metrics: process_* series and bulwark_build_info (issue #23, item 6), checked by promtool
(Debian prometheus) and against what the process is."""
import os
import shutil
import subprocess
import time

import pytest

from conftest import BIN


def scrape(srv):
    res = srv.get("/metrics")
    assert res.status == 200, res
    return res.body.decode()


def samples(text):
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian prometheus) not installed")
def test_metrics_pass_promtool(make_server):
    srv = make_server(dev=True)
    text = scrape(srv)
    for family in ("process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds",
                   "process_max_fds", "process_start_time_seconds", "bulwark_build_info"):
        assert f"# TYPE {family} " in text, family
    res = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True,
                         timeout=60)
    # promtool exits 1 for lint problems (naming conventions) as well as for parse errors.
    assert res.returncode == 0, (res.stdout, res.stderr)


def test_process_series_are_the_servers(make_server):
    srv = make_server(dev=True)
    before = time.time()
    s = samples(scrape(srv))
    pid = srv.proc.pid
    for name in ("process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds",
                 "process_max_fds", "process_start_time_seconds", "process_virtual_memory_bytes"):
        assert name in s, name
    # The server started within this test, before the scrape.
    assert before - 120 < s["process_start_time_seconds"] <= before + 1, s["process_start_time_seconds"]
    assert 0 <= s["process_cpu_seconds_total"] < 600
    with open(f"/proc/{pid}/status") as f:
        rss_kb = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    assert 0.5 * rss_kb * 1024 < s["process_resident_memory_bytes"] < 2 * rss_kb * 1024 + (64 << 20)
    open_now = len(os.listdir(f"/proc/{pid}/fd"))
    assert abs(s["process_open_fds"] - open_now) <= 16, (s["process_open_fds"], open_now)
    with open(f"/proc/{pid}/limits") as f:
        soft = next(line.split()[3] for line in f if line.startswith("Max open files"))
    assert s["process_max_fds"] == float(soft)

    # CPU time is a counter: work makes it grow, never shrink.
    for _ in range(200):
        srv.get("/livez")
    assert samples(scrape(srv))["process_cpu_seconds_total"] >= s["process_cpu_seconds_total"]


def test_build_info_names_the_binarys_version_and_commit(make_server):
    srv = make_server(dev=True)
    info = srv.get("/build-info").json()
    s = samples(scrape(srv))
    key = f'bulwark_build_info{{version="{info["version"]}",commit="{info["commit"]}"}}'
    assert s.get(key) == 1.0, [k for k in s if k.startswith("bulwark_build_info")]
    out = subprocess.run([BIN, "--version"], capture_output=True, text=True, timeout=30)
    assert info["version"] in out.stdout and info["commit"] in out.stdout, out

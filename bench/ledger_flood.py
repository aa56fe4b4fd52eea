"""Ledger growth under a sustained anonymous flood (issue #22 defect 4).

usage: BULWARK_BIN=build/release/bulwark /usr/bin/python3 bench/ledger_flood.py SECONDS THREADS
Starts one production-mode server on SQLite (127.0.0.1:0) and stops it (the baseline), starts it
again on the same data directory, sends unauthenticated
GET /api/v1/apikeys over keep-alive connections from THREADS threads for SECONDS, stops the
server (SIGTERM: summaries and the final checkpoint written), and prints the requests by status,
ledger entries and the data directory's bytes before and after, per second and per hour.
"""
import collections
import os
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))
from conftest import Server, read_response  # noqa: E402


def dir_bytes(d):
    return sum(p.stat().st_size for p in Path(d).rglob("*") if p.is_file())


def entries(srv):
    db = sqlite3.connect(f"file:{srv.data_dir / 'bulwark.db'}?mode=ro", uri=True)
    try:
        return db.execute("SELECT count(*) FROM audit_ledger").fetchone()[0]
    finally:
        db.close()


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 10
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    work = tempfile.mkdtemp(prefix="flood-")
    # The baseline: a server that started and stopped (its WAL checkpointed), then the same data
    # directory served again for the flood and stopped the same way.
    srv = Server(work).start()
    time.sleep(1)
    srv.stop()
    e0, b0 = entries(srv), dir_bytes(srv.data_dir)
    srv.start()
    time.sleep(1)
    counts = collections.Counter()
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
    req = (f"GET /api/v1/apikeys HTTP/1.1\r\nHost: {srv.address}\r\n\r\n").encode()

    def run():
        local = collections.Counter()
        s = None
        while time.monotonic() < stop_at:
            try:
                if s is None:
                    s = srv.connect()
                s.sendall(req)
                r = read_response(s, 10)
                local[r.status] += 1
                if (r.header("connection") or "").lower() == "close":
                    s.close()
                    s = None
            except Exception:
                local["error"] += 1
                if s is not None:
                    s.close()
                s = None
        with lock:
            counts.update(local)

    t0 = time.monotonic()
    ts = [threading.Thread(target=run) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    elapsed = time.monotonic() - t0
    srv.stop()
    e1, b1 = entries(srv), dir_bytes(srv.data_dir)
    total = sum(v for k, v in counts.items() if k != "error")
    print(f"binary: {os.environ.get('BULWARK_BIN')}")
    print(f"elapsed {elapsed:.1f}s, requests {total} ({total / elapsed:.0f}/s), by status {dict(counts)}")
    print(f"ledger entries {e0} -> {e1}: +{e1 - e0} ({(e1 - e0) / elapsed:.1f}/s)")
    print(f"data dir bytes {b0} -> {b1}: +{b1 - b0} ({(b1 - b0) / elapsed:.0f} B/s, "
          f"{(b1 - b0) / elapsed * 3600 / 1e6:.1f} MB/h)")


if __name__ == "__main__":
    main()

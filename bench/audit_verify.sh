#!/usr/bin/env bash
# Audit verification speed: builds a ledger of N entries in Bulwark's format (Python + hashlib,
# one final checkpoint signed with the openssl CLI), times `bulwark audit verify` over it, and
# prints entries/s and MB/s beside `openssl speed -evp sha256` for the same block size, measured
# in the same run. Not a timed test: run it by hand.
#   bench/audit_verify.sh [path/to/bulwark] [entries]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-build/release/bulwark}
N=${2:-1000000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$BIN" serve --dev --listen 127.0.0.1:0 --data "$work/data" 2>/dev/null &
pid=$!
for _ in $(seq 1 100); do [ -s "$work/data/bulwark.db" ] && sqlite3 "$work/data/bulwark.db" 'select 1 from audit_ledger_meta' >/dev/null 2>&1 && break; sleep 0.1; done
kill "$pid"; wait "$pid" 2>/dev/null || true   # the schema and ledger id now exist

openssl genpkey -algorithm ed25519 -out "$work/sign.key" 2>/dev/null
openssl pkey -in "$work/sign.key" -pubout -out "$work/pub.pem"
python3 - "$work" "$N" <<'PY'
import hashlib, json, sqlite3, subprocess, sys, base64
work, n = sys.argv[1], int(sys.argv[2])
db = sqlite3.connect(f"{work}/data/bulwark.db")
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA synchronous=OFF")
ledger_id = db.execute("SELECT ledger_id FROM audit_ledger_meta").fetchone()[0]
(start,) = db.execute("SELECT COUNT(*) FROM audit_ledger").fetchone()
assert start == 0, "expected an empty ledger"
prev = hashlib.sha256(b"bulwark-ledger-v1|" + ledger_id.encode()).digest()
rows, index = [], []
for seq in range(1, n + 1):
    e = {"action": "secret.read", "actor": {"id": f"key-{seq % 977}", "kind": "api_key"}, "auth_method": "api_key",
         "break_glass": False, "client": "10.1.2.3", "details": {"status": 200, "version": seq % 10},
         "reason": None, "request_id": f"req-{seq:012d}", "resource": f"prod/db/password-{seq % 101}",
         "result": "success", "seq": seq, "tenant": "tenant-a", "time": "2026-11-22T23:30:00.000000Z",
         "user_agent": "bench/1", "v": 1}
    entry = json.dumps(e, sort_keys=True, separators=(",", ":")).encode()
    h = hashlib.sha256(prev + entry).digest()
    rows.append((seq, entry, prev, h))
    prev = h
    if len(rows) == 50000:
        db.executemany("INSERT INTO audit_ledger(seq, entry, prev_hash, hash) VALUES (?,?,?,?)", rows)
        rows = []
if rows:
    db.executemany("INSERT INTO audit_ledger(seq, entry, prev_hash, hash) VALUES (?,?,?,?)", rows)
pub_der = subprocess.run(["openssl", "pkey", "-pubin", "-in", f"{work}/pub.pem", "-outform", "DER"],
                         capture_output=True, check=True).stdout
raw_pub = pub_der[-32:]
key_id = "ed25519:" + hashlib.sha256(raw_pub).hexdigest()[:16]
db.execute("INSERT INTO audit_signing_keys(key_id, public_key, created_at) VALUES (?,?,?)",
           (key_id, raw_pub, "2026-11-22T23:30:00.000000Z"))
body = json.dumps({"head_hash": prev.hex(), "key_id": key_id, "ledger_id": ledger_id, "size": n,
                   "time": "2026-11-22T23:30:00.000000Z", "type": "bulwark.audit.checkpoint.v1"},
                  sort_keys=True, separators=(",", ":")).encode()
open(f"{work}/body", "wb").write(body)
sig = subprocess.run(["openssl", "pkeyutl", "-sign", "-inkey", f"{work}/sign.key", "-rawin", "-in", f"{work}/body"],
                     capture_output=True, check=True).stdout
db.execute("INSERT INTO audit_checkpoints(size, head_hash, body, key_id, signature) VALUES (?,?,?,?,?)",
           (n, prev, body, key_id, sig))
db.commit()
(total,) = db.execute("SELECT SUM(LENGTH(entry)) FROM audit_ledger").fetchone()
open(f"{work}/bytes", "w").write(str(total))
PY
BYTES=$(cat "$work/bytes")
AVG=$(( BYTES / N ))
start=$(date +%s.%N)
"$BIN" audit verify --data "$work/data" --pubkey "$work/pub.pem" | head -1
end=$(date +%s.%N)
SPEED=$(openssl speed -evp sha256 -bytes 256 -seconds 3 2>/dev/null | awk '/^sha256/ {print $NF}')
python3 - "$N" "$BYTES" "$start" "$end" "$SPEED" "$AVG" <<'PY'
import sys
n, total, t0, t1, speed, avg = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5], int(sys.argv[6])
secs = t1 - t0
ssl = float(speed.rstrip("k")) * 1000 / 1e6  # openssl prints 1000s of bytes/s
mbs = total / secs / 1e6
print(f"audit verify: {n:,} entries ({total/1e6:.0f} MB, {avg} B/entry) in {secs:.2f} s: "
      f"{n/secs:,.0f} entries/s, {mbs:.0f} MB/s")
print(f"openssl speed -evp sha256 (256-byte blocks): {ssl:.0f} MB/s; verify runs at {mbs/ssl:.2f}x raw hash speed "
      f"(it also reads SQLite, parses and checks every entry's canonical form)")
PY

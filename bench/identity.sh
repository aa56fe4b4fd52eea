#!/usr/bin/env bash
# Identity benchmarks against a dev server, each measured in one run on this machine:
#  1. API-key-authenticated requests/s (GET /api/v1/whoami, rotating over 10 real keys) with 10
#     keys stored, then with 100,000 keys stored (and the server restarted, so the cache starts
#     cold): the ratio shows whether authentication cost depends on how many keys exist
#     (goal >= 0.9).
#  2. Refresh-token exchanges/s: 16 sessions each rotating its own refresh token as fast as it
#     can, every exchange a durable, audited write (goal >= 2,500/s on 2 cores; Keycloak's
#     sizing guide plans 120 per vCPU).
# Not a timed test: run it by hand.  bench/identity.sh [path/to/bulwark] [duration-seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=$ROOT/${1:-build/release/bulwark}
DURATION=${2:-10}
PY=/usr/bin/python3
work=$(mktemp -d)
cleanup() {
  [ -n "${BW_PID:-}" ] && kill "$BW_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
. bench/lib.sh

PORT=$(free_port)
cat > "$work/bulwark.toml" <<CONF
[rate_limit]
rules = ["* api_key 1000000/1s", "POST /api/v1/auth/request ip 1000000/1s",
         "POST /api/v1/auth/request email 1000000/1s", "POST /api/v1/auth/verify ip 1000000/1s",
         "POST /api/v1/auth/refresh ip 1000000/1s", "POST /api/v1/auth/mfa/verify ip 1000000/1s"]
[log]
level = "warn"
CONF
start() {
  (cd "$work" && exec "$BIN" serve --dev --config bulwark.toml --listen "127.0.0.1:$PORT" --data ./data) \
    2>> "$work/stderr.log" &
  BW_PID=$!
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/livez" >/dev/null 2>&1 && return; sleep 0.1; done
  echo "server did not start" >&2; cat "$work/stderr.log" >&2; exit 1
}
stop() { kill "$BW_PID"; wait "$BW_PID" || true; BW_PID=; }

start
"$BIN" tenant create --dev --data "$work/data" --name bench --owner owner@bench.test > /dev/null
# Sign in, enroll TOTP, step up with a recovery code, create 10 keys; 16 more sessions for refresh.
$PY - "$PORT" "$work" <<'PY'
import json, re, sys, time, urllib.request
port, work = sys.argv[1], sys.argv[2]
base = f"http://127.0.0.1:{port}"
def call(method, path, doc=None, token=None):
    data = json.dumps(doc).encode() if doc is not None else (b"" if method == "POST" else None)
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token: req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read() or b"{}")
def sign_in():
    before = len(call("GET", "/api/v1/local/outbox")["messages"])
    call("POST", "/api/v1/auth/request", {"email": "owner@bench.test"})
    for _ in range(200):
        msgs = call("GET", "/api/v1/local/outbox")["messages"]
        if len(msgs) > before: break
        time.sleep(0.01)
    token = re.search(r"bwm_[A-Za-z0-9_-]{43}", msgs[-1]["text"]).group(0)
    return call("POST", "/api/v1/auth/verify", {"token": token})
s = sign_in()
secret = call("POST", "/api/v1/auth/mfa/totp", token=s["access_token"])["secret"]
import subprocess
code = subprocess.run(["oathtool", "--totp", "--base32", secret], capture_output=True, text=True, check=True).stdout.strip()
codes = call("POST", "/api/v1/auth/mfa/totp/confirm", {"code": code}, s["access_token"])["recovery_codes"]
call("POST", "/api/v1/auth/mfa/verify", {"code": codes[0]}, s["access_token"])
with open(f"{work}/keys.txt", "w") as f:
    for i in range(10):
        k = call("POST", "/api/v1/apikeys", {"name": f"bench-{i}", "scopes": ["apikeys.read"]}, s["access_token"])
        f.write(k["key"] + "\n")
with open(f"{work}/refresh.txt", "w") as f:
    for _ in range(16):
        f.write(sign_in()["refresh_token"] + "\n")
PY

measure_keys() {
  BULWARK_KEYS="$work/keys.txt" wrk -t2 -c64 -d2s -s bench/lua/apikeys.lua "http://127.0.0.1:$PORT" > /dev/null
  BULWARK_KEYS="$work/keys.txt" wrk -t2 -c64 -d"${DURATION}s" -s bench/lua/apikeys.lua "http://127.0.0.1:$PORT" | rps
}
KEYS_10=$(measure_keys)

# 100,000 more keys of the same tenant, inserted straight into the store.
stop
$PY - "$work/data/bulwark.db" <<'PY'
import hashlib, os, sqlite3, sys, time
con = sqlite3.connect(sys.argv[1])
tenant, creator = con.execute("SELECT tenant_id, created_by FROM api_keys LIMIT 1").fetchone()
now = int(time.time())
rows = ((os.urandom(8).hex(), tenant, "filler", hashlib.sha256(os.urandom(32)).digest(), "apikeys.read", creator, now)
        for _ in range(100_000))
con.executemany("INSERT INTO api_keys(id, tenant_id, name, secret_hash, scopes, created_by, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
con.commit()
print(f"keys stored: {con.execute('SELECT COUNT(*) FROM api_keys').fetchone()[0]}", file=sys.stderr)
PY
start
KEYS_100K=$(measure_keys)

# Refresh-token exchanges: one connection per wrk thread, each following its own rotation.
REFRESH_OUT=$(BULWARK_REFRESH="$work/refresh.txt" wrk -t16 -c16 -d"${DURATION}s" -s bench/lua/refresh.lua \
  "http://127.0.0.1:$PORT")
REFRESH=$(echo "$REFRESH_OUT" | rps)
NON200=$(echo "$REFRESH_OUT" | awk '/non-200 responses/ {print $3}')

$PY - "$KEYS_10" "$KEYS_100K" "$REFRESH" "$NON200" "$(nproc)" <<'PY'
import sys
k10, k100k, refresh, non200, cores = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5]
print(f"cores: {cores}")
print(f"API-key requests: 10 keys stored {k10:,.0f} req/s, 100,000 keys stored {k100k:,.0f} req/s, "
      f"ratio {k100k/k10:.2f} (goal >= 0.9)")
print(f"refresh-token exchanges: {refresh:,.0f}/s with 16 sessions, each durable and audited "
      f"(goal >= 2,500/s; Keycloak plans 120/s per vCPU = {120*int(cores)}/s here: {refresh/(120*int(cores)):.1f}x); "
      f"non-200 responses: {non200}")
PY

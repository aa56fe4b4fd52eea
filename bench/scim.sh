#!/usr/bin/env bash
# SCIM user creations per second against a dev server on loopback, one run on this machine:
# COUNT (default 2000) POST /scim/v2/Users from 8 keep-alive clients, each a durable write of the
# SCIM User, its global user and its ledger record in one transaction; printed as creations/s and
# server CPU (user+system) per request. Baseline, side by side: the same number of another
# authenticated, recorded, durable POST, API key creation (POST /api/v1/apikeys with an MFA
# step-up: the key row, its receipt and its ledger record in one transaction), by the same
# clients against the same server.
# Not a timed test: run it by hand.  bench/scim.sh [path/to/bulwark] [count]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=$ROOT/${1:-build/release/bulwark}
COUNT=${2:-2000}
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
rules = ["* api_key 1000000/1s", "* scim 1000000/1s", "POST /api/v1/auth/request ip 1000000/1s",
         "POST /api/v1/auth/request email 1000000/1s", "POST /api/v1/auth/verify ip 1000000/1s",
         "POST /api/v1/auth/mfa/verify ip 1000000/1s"]
[log]
level = "warn"
CONF
(cd "$work" && exec "$BIN" serve --dev --config bulwark.toml --listen "127.0.0.1:$PORT" --data ./data) \
  2>> "$work/stderr.log" &
BW_PID=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/livez" >/dev/null 2>&1 && break; sleep 0.1; done
"$BIN" tenant create --dev --data "$work/data" --name bench --owner owner@bench.test > /dev/null

$PY - "$PORT" "$COUNT" "$BW_PID" <<'PY'
import http.client, json, re, subprocess, sys, threading, time, urllib.request
port, count, pid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
base = f"http://127.0.0.1:{port}"
def call(method, path, doc=None, token=None):
    data = json.dumps(doc).encode() if doc is not None else (b"" if method == "POST" else None)
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token: req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read() or b"{}")
before = len(call("GET", "/api/v1/local/outbox")["messages"])
call("POST", "/api/v1/auth/request", {"email": "owner@bench.test"})
for _ in range(200):
    msgs = call("GET", "/api/v1/local/outbox")["messages"]
    if len(msgs) > before: break
    time.sleep(0.01)
s = call("POST", "/api/v1/auth/verify", {"token": re.search(r"bwm_[A-Za-z0-9_-]{43}", msgs[-1]["text"]).group(0)})
access = s["access_token"]
secret = call("POST", "/api/v1/auth/mfa/totp", token=access)["secret"]
code = subprocess.run(["oathtool", "--totp", "--base32", secret], capture_output=True, text=True, check=True).stdout.strip()
codes = call("POST", "/api/v1/auth/mfa/totp/confirm", {"code": code}, access)["recovery_codes"]
call("POST", "/api/v1/auth/mfa/verify", {"code": codes.pop()}, access)
scim_token = call("POST", "/api/v1/scim/token", token=access)["token"]

def cpu():
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])

def run(label, make_request, clients=8):
    per = count // clients
    errors = []
    def worker(c):
        conn = http.client.HTTPConnection("127.0.0.1", int(port))
        for i in range(per):
            method, path, body, headers = make_request(c, i)
            conn.request(method, path, body=body, headers=headers)
            r = conn.getresponse(); r.read()
            if r.status != 201: errors.append(r.status)
    threads = [threading.Thread(target=worker, args=(c,)) for c in range(clients)]
    c0, t0 = cpu(), time.monotonic()
    for t in threads: t.start()
    for t in threads: t.join()
    dt, ticks = time.monotonic() - t0, cpu() - c0
    n = per * clients
    ms = ticks * 1000 / 100 / n  # clock ticks are 1/100 s
    print(f"{label:<34} {n / dt:9.0f} /s   server CPU {ms:6.3f} ms/request   errors {len(errors)}")

print(f"{count} requests, 8 keep-alive clients, 127.0.0.1:{port}")
run("SCIM POST /scim/v2/Users", lambda c, i: ("POST", "/scim/v2/Users",
    json.dumps({"userName": f"u{c}-{i}@bench.test", "displayName": f"User {c}-{i}", "active": True,
                "emails": [{"value": f"u{c}-{i}@bench.test", "type": "work", "primary": True}]}),
    {"Authorization": "Bearer " + scim_token, "Content-Type": "application/scim+json"}))
run("baseline POST /api/v1/apikeys", lambda c, i: ("POST", "/api/v1/apikeys",
    json.dumps({"name": f"k{c}-{i}", "scopes": ["apikeys.read"]}),
    {"Authorization": "Bearer " + access, "Content-Type": "application/json"}))
PY

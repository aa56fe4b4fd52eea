#!/usr/bin/env bash
# Vault benchmarks, side by side in one run on this machine (wrk -t2, 64 connections unless
# BENCH_CONNECTIONS says otherwise, keep-alive; BENCH_WORKERS sets server.worker_threads, 32):
#  1. Secret reads: GET /api/v1/secrets/{path} with an API key: authentication, path policy,
#     decryption (AES-256-GCM under the tenant's data key) and a durable audit record per read,
#     against nginx `return 200` (goal >= 0.5).
#  2. Durable writes: PUT /api/v1/secrets/{path}, each a new version sealed and committed with its
#     audit record (fsync'd, group-committed).
#  3. Server CPU per request in runs 1 (the nginx workers) and 2 (bulwark, every thread): wrk
#     shares the two cores, so the requests/s ratio moves with how much CPU each server gets
#     beside it, while CPU per request says what each server itself spends.
# Vault's published vault-benchmark figures for comparison: kvv2 read 9,909/s and write 9,808/s
# (a 50/50 mix). Not a timed test: run it by hand.   bench/vault.sh [path/to/bulwark] [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=$ROOT/${1:-build/release/bulwark}
DURATION=${2:-10}
CONNS=${BENCH_CONNECTIONS:-64}
PY=/usr/bin/python3
work=$(mktemp -d)
cleanup() {
  [ -n "${NGINX_PID:-}" ] && kill "$NGINX_PID" 2>/dev/null || true
  [ -n "${BW_PID:-}" ] && kill "$BW_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
. bench/lib.sh
non2xx() { awk '/non-2xx responses/ {print $3}'; }

start_nginx "$work"

PORT=$(free_port)
node_config > "$work/bulwark.toml"
(cd "$work" && exec env ${BENCH_PRELOAD:+LD_PRELOAD=$BENCH_PRELOAD} "$BIN" serve --dev --config bulwark.toml --listen "127.0.0.1:$PORT" --data ./data) \
  2>> "$work/stderr.log" &
BW_PID=$!
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$PORT/livez" >/dev/null 2>&1 && curl -fs "http://127.0.0.1:$NGINX_PORT/" >/dev/null 2>&1 && break
  sleep 0.1
done
"$BIN" tenant create --dev --data "$work/data" --name bench --owner owner@bench.test > /dev/null

# An owner with MFA creates a policy over everything and an API key bound to it; 1000 secrets.
KEY=$(seed_secrets "http://127.0.0.1:$PORT")
export BULWARK_KEY=$KEY

wrk -t2 -c"$CONNS" -d2s "http://127.0.0.1:$NGINX_PORT/" >/dev/null
wrk -t2 -c"$CONNS" -d2s -s bench/lua/secret_read.lua "http://127.0.0.1:$PORT" >/dev/null
# Each server's CPU time over its run as well (the nginx workers; every bulwark thread): the
# load generator shares the two cores, so CPU per request says what each server itself spends.
NGINX_WORKERS=$(pgrep -P "$NGINX_PID" | tr '\n' ' ')
# shellcheck disable=SC2086
T0=$(cpu_ticks $NGINX_WORKERS)
NGINX_RPS=$(wrk -t2 -c"$CONNS" -d"${DURATION}s" "http://127.0.0.1:$NGINX_PORT/" | rps)
# shellcheck disable=SC2086
NGINX_TICKS=$(($(cpu_ticks $NGINX_WORKERS) - T0))
T0=$(cpu_ticks "$BW_PID")
READ_OUT=$(wrk -t2 -c"$CONNS" -d"${DURATION}s" -s bench/lua/secret_read.lua "http://127.0.0.1:$PORT")
READ_TICKS=$(($(cpu_ticks "$BW_PID") - T0))
WRITE_OUT=$(wrk -t2 -c"$CONNS" -d"${DURATION}s" -s bench/lua/secret_write.lua "http://127.0.0.1:$PORT")
ENTRIES=$($PY -c "import sqlite3,sys; print(sqlite3.connect(f'file:{sys.argv[1]}?mode=ro', uri=True).execute('SELECT COUNT(*) FROM audit_ledger').fetchone()[0])" "$work/data/bulwark.db")

$PY - "$(echo "$READ_OUT" | rps)" "$(echo "$READ_OUT" | non2xx)" "$(echo "$WRITE_OUT" | rps)" \
  "$(echo "$WRITE_OUT" | non2xx)" "$NGINX_RPS" "$(nproc)" "$ENTRIES" "$CONNS" "${BENCH_WORKERS:-32}" \
  "$NGINX_TICKS" "$READ_TICKS" "$(getconf CLK_TCK)" "$DURATION" <<'PY'
import sys
read, read_bad, write, write_bad, nginx, cores, entries = sys.argv[1:8]
nginx_ticks, read_ticks, hz, seconds = (float(v) for v in sys.argv[10:14])
read, write, nginx = float(read), float(write), float(nginx)
print(f"cores: {cores}; wrk -t2 -c{sys.argv[8]} keep-alive, {sys.argv[9]} worker threads; SQLite, synchronous=FULL; ledger entries afterwards: {entries}")
print(f"secret reads (API key, policy, decrypt, durable audit): {read:,.0f}/s, nginx return 200 {nginx:,.0f}/s, "
      f"ratio {read/nginx:.2f} (goal >= 0.5); non-2xx: {read_bad}; vault-benchmark kvv2 read 9,909/s: {read/9909:.1f}x")
print(f"durable secret writes: {write:,.0f}/s; non-2xx: {write_bad}; vault-benchmark kvv2 write 9,808/s: {write/9808:.1f}x")
nginx_us = nginx_ticks / hz / (nginx * seconds) * 1e6
read_us = read_ticks / hz / (read * seconds) * 1e6
print(f"server CPU per request: nginx return 200 {nginx_us:.1f} us ({nginx_ticks / hz / seconds:.2f} cores), "
      f"secret read {read_us:.1f} us ({read_ticks / hz / seconds:.2f} cores); ratio {nginx_us / read_us:.2f}")
PY

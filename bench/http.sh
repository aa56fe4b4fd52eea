#!/usr/bin/env bash
# HTTP benchmark: wrk against Bulwark's /livez and against nginx `return 200`, in the same run on
# the same machine (2 workers each, keep-alive, 64 connections), and the RSS of an idle dev
# server. Prints the ratios against the goals. Not a timed test: run it by hand.
#   bench/http.sh [path/to/bulwark] [duration-seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-build/release/bulwark}
DURATION=${2:-10}
CONNECTIONS=64
THREADS=2
work=$(mktemp -d)
cleanup() {
  [ -n "${NGINX_PID:-}" ] && kill "$NGINX_PID" 2>/dev/null || true
  [ -n "${BW_PID:-}" ] && kill "$BW_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
. bench/lib.sh


# --- nginx baseline ---------------------------------------------------------------------
start_nginx "$work"

# --- bulwark ----------------------------------------------------------------------------
BW_PORT=$(free_port)
mkdir -p "$work/bw"
(cd "$work/bw" && exec "$OLDPWD/$BIN" serve --dev --listen "127.0.0.1:$BW_PORT" --data ./data) \
  2> "$work/bw/stderr.log" &
BW_PID=$!
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$BW_PORT/livez" >/dev/null 2>&1 && \
  curl -fs "http://127.0.0.1:$NGINX_PORT/" >/dev/null 2>&1 && break
  sleep 0.1
done

# Idle RSS after start-up and a handful of requests.
for _ in $(seq 1 20); do curl -fs "http://127.0.0.1:$BW_PORT/readyz" >/dev/null; done
sleep 1
RSS_KB=$(awk '/VmRSS/ {print $2}' "/proc/$BW_PID/status")

# Warm up both, then measure one after the other under the same conditions.
wrk -t"$THREADS" -c"$CONNECTIONS" -d2s "http://127.0.0.1:$NGINX_PORT/" >/dev/null
wrk -t"$THREADS" -c"$CONNECTIONS" -d2s "http://127.0.0.1:$BW_PORT/livez" >/dev/null
NGINX_RPS=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" "http://127.0.0.1:$NGINX_PORT/" | rps)
BW_RPS=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" "http://127.0.0.1:$BW_PORT/livez" | rps)

python3 - "$BW_RPS" "$NGINX_RPS" "$RSS_KB" "$(nproc)" <<'PY'
import sys
bw, ng, rss_kb, cores = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
print(f"cores: {cores}; wrk -t2 -c64, keep-alive")
print(f"/livez: bulwark {bw:,.0f} req/s, nginx return 200 {ng:,.0f} req/s, ratio {bw/ng:.2f} (goal >= 0.8)")
print(f"idle dev server RSS: {rss_kb/1024:.1f} MB (goal < 30 MB)")
PY

#!/usr/bin/env bash
# Secret reads across nodes, side by side in one run on this machine: GET /api/v1/secrets/{path}
# with an API key (authentication, path policy, AES-256-GCM decryption and a durable audit record
# per read; bench/lua/secret_read.lua), wrk -t2 with 64 connections (BENCH_CONNECTIONS),
# keep-alive, each node with BENCH_WORKERS (32) worker threads and BENCH_POOL (4) database
# connections, every node serving TLS as it does behind the shipped load balancer:
#  (a) 1 node on SQLite (synchronous=FULL), straight to the node;
#  (b) 1 node on a PostgreSQL 15 started here (fsync and synchronous_commit on), straight to it;
#  (c) 2 nodes on that PostgreSQL behind nginx running deploy/nginx/bulwark.conf (TLS from the
#      client, TLS again to the nodes), beside the same nginx in front of 1 node.
# Ratios: PG/SQLite is (b)/(a); 2 nodes/1 node is (c) with 2 nodes over (c) with 1, the same path
# both times, so the proxy's own cost cancels out ((c) 1 node over (b) shows that cost).
# (c) measures through the load balancer, not with one wrk per node: that is the path clients
# take, nginx's round robin is part of what is measured, and one wrk sees one total; two wrk runs
# would split the client in two processes and assume perfect balancing.
# Every process (wrk, nginx, the nodes, PostgreSQL) shares this machine: the 2-node figure says
# something only with cores to spare for the second node; on few cores it measures contention.
# Not a timed test: run it by hand.   bench/nodes.sh [path/to/bulwark] [seconds]
# (seconds: also BENCH_SECONDS; 10 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=${1:-build/release/bulwark}
[[ $BIN == /* ]] || BIN=$ROOT/$BIN
DURATION=${2:-${BENCH_SECONDS:-10}}
CONNS=${BENCH_CONNECTIONS:-64}
PG_BIN=/usr/lib/postgresql/15/bin
work=$(mktemp -d)
pgdir=$(mktemp -d)
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -f "$pgdir/data/postmaster.pid" ] && "${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$pgdir/data" -m immediate -w stop >/dev/null 2>&1
  rm -rf "$work" "$pgdir"
}
trap cleanup EXIT
. bench/lib.sh
chmod 711 "$work"  # nginx's workers run as nobody when this runs as root

# One self-signed certificate: the load balancer's, every node's, and so the nodes' CA.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=bulwark-node.bench \
  -addext "subjectAltName=DNS:bulwark-node.bench,DNS:bulwark.bench,IP:127.0.0.1" \
  -keyout "$work/tls.key" -out "$work/tls.crt" 2>/dev/null
chmod 600 "$work/tls.key"
CA=$work/tls.crt

# PostgreSQL 15 on a free port, as the postgres user when this runs as root.
AS_PG=()
if [ "$(id -u)" = 0 ]; then chown postgres: "$pgdir"; AS_PG=(runuser -u postgres --); fi
PG_PORT=$(free_port)
"${AS_PG[@]}" "$PG_BIN/initdb" -D "$pgdir/data" -U bulwark --auth=trust -E UTF8 --no-instructions >/dev/null
"${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$pgdir/data" -l "$pgdir/server.log" -w \
  -o "-p $PG_PORT -k $pgdir -c listen_addresses=127.0.0.1" start >/dev/null
createdb -h 127.0.0.1 -p "$PG_PORT" -U bulwark bench
PG_URL=postgresql://bulwark@127.0.0.1:$PG_PORT/bench

export BULWARK_MASTER_KEY=$(openssl rand -base64 32)  # every node of a database holds the same key
export BULWARK_OPERATOR_TOKEN=$(openssl rand -base64 32)

# start_node NAME [STORAGE_URL]: a dev node with its own data directory; sets PORT.
start_node() {
  local dir=$work/$1
  PORT=$(free_port)
  mkdir -p "$dir"
  { node_config; cat <<CONF; } > "$dir/bulwark.toml"
trusted_proxies = ["127.0.0.1/32"]
tls_cert_file = "$work/tls.crt"
tls_key_file = "$work/tls.key"
[storage]
pool_size = ${BENCH_POOL:-4}
${2:+url = \"$2\"}
CONF
  (cd "$dir" && exec "$BIN" serve --dev --config bulwark.toml --listen "127.0.0.1:$PORT" --data ./data) \
    2>> "$dir/stderr.log" &
  PIDS+=($!)
  for _ in $(seq 1 100); do
    curl -fs --cacert "$CA" "https://127.0.0.1:$PORT/livez" >/dev/null 2>&1 && return
    sleep 0.1
  done
  echo "node $1 did not start:" >&2; cat "$dir/stderr.log" >&2; exit 1
}

# tenant NAME: the tenant "bench" in node NAME's store (seed_secrets fills it).
tenant() {
  "$BIN" tenant create --dev --config "$work/$1/bulwark.toml" --data "$work/$1/data" --name bench \
    --owner owner@bench.test > /dev/null 2>> "$work/$1/stderr.log"
}

# reads_served PORT: the secret reads node PORT has answered 200 so far (its own /metrics).
reads_served() {
  curl -fs --cacert "$CA" -H "Authorization: Bearer $BULWARK_OPERATOR_TOKEN" "https://127.0.0.1:$1/metrics" |
    awk '/^bulwark_http_requests_total\{route="GET \/api\/v1\/secrets\// && /status="200"/ {n += $NF} END {print n + 0}'
}

# measure URL: warm up, then requests/s and non-2xx answers of secret reads against URL.
measure() {
  wrk -t2 -c"$CONNS" -d2s -s bench/lua/secret_read.lua "$1" > /dev/null
  local out
  out=$(wrk -t2 -c"$CONNS" -d"${DURATION}s" -s bench/lua/secret_read.lua "$1")
  echo "$(echo "$out" | rps) $(echo "$out" | awk '/non-2xx responses/ {print $3}')"
}

start_node sqlite
SQLITE_PORT=$PORT
tenant sqlite
SQLITE_KEY=$(seed_secrets "https://127.0.0.1:$SQLITE_PORT" "$CA")

start_node pg1 "$PG_URL"  # migrates the database
PG1_PORT=$PORT
start_node pg2 "$PG_URL"
PG2_PORT=$PORT
tenant pg1
PG_KEY=$(seed_secrets "https://127.0.0.1:$PG1_PORT" "$CA")

start_lb "$work/lb1" "$work/tls.crt" "$work/tls.key" "127.0.0.1:$PG1_PORT"
PIDS+=("$NGINX_PID")
LB1_PORT=$LB_PORT
start_lb "$work/lb2" "$work/tls.crt" "$work/tls.key" "127.0.0.1:$PG1_PORT" "127.0.0.1:$PG2_PORT"
PIDS+=("$NGINX_PID")
LB2_PORT=$LB_PORT
for port in "$LB1_PORT" "$LB2_PORT"; do
  for _ in $(seq 1 100); do curl -fs --cacert "$CA" "https://127.0.0.1:$port/livez" >/dev/null 2>&1 && break; sleep 0.1; done
done

A=$(BULWARK_KEY=$SQLITE_KEY measure "https://127.0.0.1:$SQLITE_PORT")
export BULWARK_KEY=$PG_KEY
B=$(measure "https://127.0.0.1:$PG1_PORT")
C1=$(measure "https://127.0.0.1:$LB1_PORT")
before1=$(reads_served "$PG1_PORT") before2=$(reads_served "$PG2_PORT")
C2=$(measure "https://127.0.0.1:$LB2_PORT")
share1=$(( $(reads_served "$PG1_PORT") - before1 )) share2=$(( $(reads_served "$PG2_PORT") - before2 ))

/usr/bin/python3 - "$(nproc)" "$CONNS" "${BENCH_WORKERS:-32}" "${BENCH_POOL:-4}" "$DURATION" \
  $A $B $C1 $C2 "$share1" "$share2" <<'PY'
import sys
cores, conns, workers, pool, seconds = sys.argv[1:6]
a, a_bad, b, b_bad, c1, c1_bad, c2, c2_bad = sys.argv[6:14]
share1, share2 = int(sys.argv[14]), int(sys.argv[15])
a, b, c1, c2 = float(a), float(b), float(c1), float(c2)
print(f"cores (nproc): {cores}; wrk -t2 -c{conns} keep-alive, {seconds} s each; per node {workers} worker threads, "
      f"{pool} database connections; TLS to every node")
print("secret reads (API key, path policy, decrypt, durable audit), requests/s:")
print(f"  (a) 1 node, SQLite, direct:             {a:10,.0f}   non-2xx: {a_bad}")
print(f"  (b) 1 node, PostgreSQL, direct:         {b:10,.0f}   non-2xx: {b_bad}")
print(f"  (c) 1 node, PostgreSQL, through nginx:  {c1:10,.0f}   non-2xx: {c1_bad}")
print(f"  (c) 2 nodes, PostgreSQL, through nginx: {c2:10,.0f}   non-2xx: {c2_bad}   "
      f"served: {share1:,} / {share2:,}")
print(f"PG/SQLite (b/a): {b/a:.2f}   2 nodes/1 node (through nginx): {c2/c1:.2f}   "
      f"nginx in front of 1 node / direct (c/b): {c1/b:.2f}")
if int(cores) < 8:
    print(f"note: {cores} cores for wrk, nginx, the nodes and PostgreSQL together: the 2-node figure "
          "measures contention more than scaling")
PY

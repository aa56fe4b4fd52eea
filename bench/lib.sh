# Shared by the bench scripts (sourced): a free port, wrk's requests/s, nginx (the baseline and
# the shipped load balancer), and a tenant with secrets to read.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rps() { awk '/Requests\/sec/ {print $2}'; }
# The CPU time the given processes (all their threads) have used so far, in clock ticks.
cpu_ticks() {
  local p total=0
  for p in "$@"; do total=$((total + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}'))); done
  echo "$total"
}

# Runs nginx (2 workers) in the background under $1, where its pid file, logs and temp files go,
# with the contents of its http{} block read from stdin; sets NGINX_PID (the caller's cleanup
# kills it).
run_nginx() {
  local dir=$1 kind
  mkdir -p "$dir/logs"
  {
    printf 'worker_processes 2;\ndaemon off;\npid %s/nginx.pid;\nerror_log %s/logs/error.log warn;\n' "$dir" "$dir"
    printf 'events { worker_connections 4096; }\nhttp {\n  access_log off;\n'
    for kind in client_body proxy fastcgi uwsgi scgi; do printf '  %s_temp_path %s/%s;\n' "$kind" "$dir" "$kind"; done
    cat
    printf '}\n'
  } > "$dir/nginx.conf"
  nginx -p "$dir" -c "$dir/nginx.conf" &
  NGINX_PID=$!
}

# nginx `return 200` with a small JSON body under $1; sets NGINX_PORT and NGINX_PID.
start_nginx() {
  NGINX_PORT=$(free_port)
  run_nginx "$1/nginx" <<CONF
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / { default_type application/json; return 200 '{"status":"ok"}'; }
  }
CONF
}

# deploy/nginx/bulwark.conf, rendered, in front of the nodes given after the first three
# arguments: the directory, a certificate (PEM, serving as the nodes' CA as well) and its key.
# Every node's certificate must carry the name bulwark-node.bench. Sets LB_PORT and NGINX_PID.
start_lb() {
  local dir=$1 cert=$2 key=$3
  shift 3
  LB_PORT=$(free_port)
  mkdir -p "$dir"
  deploy/nginx/render.sh "LISTEN=127.0.0.1:$LB_PORT" SERVER_NAME=bulwark.bench "TLS_CERT=$cert" "TLS_KEY=$key" \
    "NODE_CA=$cert" NODE_TLS_NAME=bulwark-node.bench "ACCESS_LOG=$dir/logs/access.log" "$@" > "$dir/bulwark.conf"
  run_nginx "$dir" <<< "  include $dir/bulwark.conf;"
}

# The start of a bench node's bulwark.toml: rate limits out of the way, warnings only, and
# BENCH_WORKERS (32) worker threads; it ends in [server], for the caller to add to.
node_config() {
  cat <<CONF
[rate_limit]
rules = ["* api_key 1000000/1s", "POST /api/v1/auth/request ip 1000000/1s",
         "POST /api/v1/auth/request email 1000000/1s", "POST /api/v1/auth/verify ip 1000000/1s",
         "POST /api/v1/auth/mfa/verify ip 1000000/1s"]
[log]
level = "warn"
[server]
worker_threads = ${BENCH_WORKERS:-32}
CONF
}

# Against the dev node at $1 (a base URL; $2: the CA file of an https:// one), for the tenant
# "bench" of owner@bench.test (made beforehand with `bulwark tenant create`): the owner signs in
# through the dev outbox, enrolls TOTP and steps up, makes a policy over every path and an API
# key bound to it, and writes 1000 secrets bench/s0000..s0999 with that key. Prints the key.
seed_secrets() {
  /usr/bin/python3 - "$1" "${2:-}" <<'PY'
import json, re, ssl, subprocess, sys, time, urllib.request
base = sys.argv[1]
tls = ssl.create_default_context(cafile=sys.argv[2]) if sys.argv[2] else None
def call(method, path, doc=None, token=None, key=None):
    data = json.dumps(doc).encode() if doc is not None else (b"" if method in ("POST", "PUT") else None)
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token: req.add_header("Authorization", "Bearer " + token)
    if key: req.add_header("X-API-Key", key)
    with urllib.request.urlopen(req, context=tls) as r:
        return json.loads(r.read() or b"{}")
call("POST", "/api/v1/auth/request", {"email": "owner@bench.test"})
for _ in range(200):
    msgs = call("GET", "/api/v1/local/outbox")["messages"]
    if msgs: break
    time.sleep(0.01)
s = call("POST", "/api/v1/auth/verify", {"token": re.search(r"bwm_[A-Za-z0-9_-]{43}", msgs[-1]["text"]).group(0)})
t = s["access_token"]
secret = call("POST", "/api/v1/auth/mfa/totp", token=t)["secret"]
code = subprocess.run(["oathtool", "--totp", "--base32", secret], capture_output=True, text=True, check=True).stdout.strip()
codes = call("POST", "/api/v1/auth/mfa/totp/confirm", {"code": code}, t)["recovery_codes"]
call("POST", "/api/v1/auth/mfa/verify", {"code": codes.pop()}, t)
call("PUT", "/api/v1/policies/all", {"rules": [{"path": "*", "capabilities": ["create", "read", "update", "delete", "list"]}]}, t)
k = call("POST", "/api/v1/apikeys", {"name": "bench", "scopes": ["secrets.read", "secrets.write", "secrets.list"]}, t)
call("PUT", f"/api/v1/policies/all/attachments/api_key/{k['id']}", token=t)
for i in range(1000):
    call("PUT", f"/api/v1/secrets/bench/s{i:04d}", {"data": {"password": f"secret-{i}", "user": "svc"}}, key=k["key"])
print(k["key"])
PY
}

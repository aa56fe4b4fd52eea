# Shared by the bench scripts (sourced): a free port, wrk's requests/s, and the nginx baseline.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rps() { awk '/Requests\/sec/ {print $2}'; }

# Starts nginx (2 workers, `return 200` with a small JSON body) under $1; sets NGINX_PORT and
# NGINX_PID (the caller's cleanup kills it).
start_nginx() {
  local dir=$1/nginx
  NGINX_PORT=$(free_port)
  mkdir -p "$dir/logs"
  cat > "$dir/nginx.conf" <<CONF
worker_processes 2;
daemon off;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / { default_type application/json; return 200 '{"status":"ok"}'; }
  }
}
CONF
  nginx -p "$dir" -c "$dir/nginx.conf" &
  NGINX_PID=$!
}

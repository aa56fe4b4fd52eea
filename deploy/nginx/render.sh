#!/usr/bin/env bash
# Renders deploy/nginx/bulwark.conf for N nodes and prints it:
#   deploy/nginx/render.sh LISTEN=443 SERVER_NAME=vault.example.com \
#     TLS_CERT=/etc/nginx/tls/vault.crt TLS_KEY=/etc/nginx/tls/vault.key \
#     NODE_CA=/etc/nginx/tls/bulwark-nodes-ca.pem NODE_TLS_NAME=bulwark-node.internal \
#     ACCESS_LOG=/var/log/nginx/bulwark.access.log \
#     10.0.0.11:8420 10.0.0.12:8420 10.0.0.13:8420 > /etc/nginx/conf.d/bulwark.conf
# NAME=value fills @@NAME@@; every other argument is a node, and the line holding @@NODE@@ is
# repeated once per node. Comment lines are copied as they are. Exit 2, printing nothing, when a
# placeholder is left unfilled or no node is given.
set -euo pipefail
template=$(dirname "$0")/bulwark.conf
declare -A values=()
nodes=()
for arg in "$@"; do
  if [[ $arg == *=* ]]; then values[${arg%%=*}]=${arg#*=}; else nodes+=("$arg"); fi
done
if [ ${#nodes[@]} -eq 0 ]; then echo "render.sh: no node given (host:port ...)" >&2; exit 2; fi

out=""
while IFS= read -r line || [ -n "$line" ]; do
  if [[ $line =~ ^[[:space:]]*# ]]; then
    out+="$line"$'\n'
    continue
  fi
  if [[ $line == *@@NODE@@* ]]; then
    for node in "${nodes[@]}"; do out+="${line//@@NODE@@/"$node"}"$'\n'; done
    continue
  fi
  for name in "${!values[@]}"; do line=${line//"@@$name@@"/"${values[$name]}"}; done
  if [[ $line =~ @@([A-Z_]+)@@ ]]; then
    echo "render.sh: ${BASH_REMATCH[1]}=... not given" >&2
    exit 2
  fi
  out+="$line"$'\n'
done < "$template"
printf '%s' "$out"

#!/usr/bin/env bash
# Installs every Debian package that building, testing and benchmarking Bulwark needs.
# Idempotent and non-interactive: packages already present are left alone.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config git ca-certificates
  # libraries (see docs/DESIGN: Debian packages only)
  libboost1.81-dev libboost-json1.81-dev libssl-dev libsqlite3-dev libpq-dev
  libcurl4-openssl-dev libcli11-dev libtomlplusplus-dev
  libgtest-dev libgmock-dev libbenchmark-dev libjemalloc-dev
  # real peers the tests and benchmarks talk to (PostgreSQL 15: the multi-node store)
  postgresql-15
  openssl sqlite3 curl jq python3 python3-pytest python3-requests python3-yaml python3-hvac python3-jwt python3-aiosmtpd
  python3-psycopg2 python3-pytest-xdist python3-jsonschema
  oathtool rsyslog nginx-light wrk prometheus
  # Vault-API peers: Ansible (ships community.hashi_vault, which uses python3-hvac); TOTP QR codes
  ansible libqrencode-dev
  # SSO: a DNS server on loopback serving the domain-verification TXT records the tests publish
  dnsmasq-base
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# Node.js and npm run the npm test peers (tests/peers). A machine that already has them (for
# example from NodeSource) keeps its own; otherwise Debian's are installed.
if ! command -v npm > /dev/null 2>&1; then missing+=(nodejs npm); fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
else
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The npm test peers, exactly as the lockfile pins them (nothing downloads a browser or binary).
peers="$(dirname "$0")/../tests/peers"
if [ ! -d "$peers/node_modules" ] || [ "$peers/package-lock.json" -nt "$peers/node_modules/.package-lock.json" ]; then
  echo "setup: npm ci in tests/peers"
  (cd "$peers" && npm ci --no-audit --no-fund --loglevel=error)
fi

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
  python3-psycopg2 python3-pytest-xdist
  oathtool rsyslog nginx-light wrk prometheus
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"

#!/usr/bin/env bash
# Installs what is needed, builds, and starts Bulwark on its embedded default:
# dev mode, SQLite under ./data, plain HTTP on 127.0.0.1:8420.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cmake --preset release
cmake --build --preset release --target bulwark
exec ./build/release/bulwark serve --dev "$@"

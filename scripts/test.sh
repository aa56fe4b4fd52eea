#!/usr/bin/env bash
# Installs what is needed, builds the release and the ASan+UBSan presets, and runs every test
# (unit tests and the integration suite against the real binary) in both.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
presets=(release asan-ubsan)
if [ -n "${BULWARK_PRESETS:-}" ]; then read -r -a presets <<< "$BULWARK_PRESETS"; fi
for preset in "${presets[@]}"; do
  echo "=== ${preset}: configure and build"
  cmake --preset "$preset" > /dev/null
  cmake --build --preset "$preset"
  echo "=== ${preset}: test"
  ctest --preset "$preset"
done

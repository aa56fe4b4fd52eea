#!/usr/bin/env bash
# Compares Bulwark's AES-256-GCM 1 KiB seal with `openssl speed` on this machine.
# Goal (docs: DESIGN.md, Performance): bulwark >= 0.8 x openssl speed.
#
# Usage: bench/crypto.sh [path/to/bulwark_bench]   (default: build/release/bench/bulwark_bench,
#        then build/release/bulwark_bench)
# Exit status: 0 when the goal is met, 1 when it is not, 2 on a setup error. No network use.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bench="${1:-}"
if [[ -z "$bench" ]]; then
  for candidate in "$root/build/release/bench/bulwark_bench" "$root/build/release/bulwark_bench"; do
    if [[ -x "$candidate" ]]; then bench="$candidate"; break; fi
  done
fi
if [[ -z "$bench" || ! -x "$bench" ]]; then
  echo "crypto.sh: bulwark_bench not found (build it: cmake --build --preset release --target bulwark_bench)" >&2
  exit 2
fi
command -v openssl >/dev/null || { echo "crypto.sh: openssl CLI not found" >&2; exit 2; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# openssl speed prints a table in 1000s of bytes per second; the 1024-byte column is the only one.
openssl speed -evp aes-256-gcm -bytes 1024 -seconds 3 >"$tmp/openssl.txt" 2>/dev/null
"$bench" --benchmark_filter='^BM_Aes256GcmSeal1KiB$' --benchmark_format=json \
  --benchmark_min_time=3 >"$tmp/bulwark.json"

python3 - "$tmp/openssl.txt" "$tmp/bulwark.json" <<'PY'
import json, re, sys
openssl_txt, bulwark_json = sys.argv[1], sys.argv[2]
openssl_kbps = None
for line in open(openssl_txt):
    m = re.match(r"^\s*(?:AES-256-GCM|aes-256-gcm)\s+([0-9.]+)k\s*$", line, re.I)
    if m:
        openssl_kbps = float(m.group(1))
if openssl_kbps is None:
    sys.exit("crypto.sh: could not parse openssl speed output")
openssl_mbs = openssl_kbps * 1000 / 1e6
runs = [b for b in json.load(open(bulwark_json))["benchmarks"]
        if b["name"].startswith("BM_Aes256GcmSeal1KiB") and b.get("run_type", "iteration") == "iteration"]
if not runs:
    sys.exit("crypto.sh: BM_Aes256GcmSeal1KiB missing from the benchmark output")
bulwark_mbs = runs[0]["bytes_per_second"] / 1e6
ratio = bulwark_mbs / openssl_mbs
print(f"aes-256-gcm 1KiB seal: bulwark {bulwark_mbs:.0f} MB/s, openssl speed {openssl_mbs:.0f} MB/s, "
      f"ratio {ratio:.2f} (goal >= 0.8)")
sys.exit(0 if ratio >= 0.8 else 1)
PY

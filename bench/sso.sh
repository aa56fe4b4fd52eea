#!/usr/bin/env bash
# SSO callbacks per second on the token validation path (ValidateIdToken, JWKS cached), set beside
# `openssl speed`'s signature verifications per second on this machine: RS256 against RSA-2048
# verify/s, ES256 against ECDSA P-256 verify/s. The verification is the floor, so the ratio says
# how much the JWS parsing and claim checks add (1.0 would be nothing). Informational: exits 0
# when both ran, 2 on a setup error. No network use; about 20 seconds.
#
# Usage: bench/sso.sh [path/to/bulwark_bench]   (default: build/release/bulwark_bench)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bench="${1:-}"
if [[ -z "$bench" ]]; then
  for candidate in "$root/build/release/bench/bulwark_bench" "$root/build/release/bulwark_bench"; do
    if [[ -x "$candidate" ]]; then bench="$candidate"; break; fi
  done
fi
if [[ -z "$bench" || ! -x "$bench" ]]; then
  echo "sso.sh: bulwark_bench not found (build it: cmake --build --preset release --target bulwark_bench)" >&2
  exit 2
fi
command -v openssl >/dev/null || { echo "sso.sh: openssl CLI not found" >&2; exit 2; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

openssl speed -seconds 3 rsa2048 >"$tmp/rsa.txt" 2>/dev/null
openssl speed -seconds 3 ecdsap256 >"$tmp/ec.txt" 2>/dev/null
"$bench" --benchmark_filter='^BM_ValidateIdToken(Rs256|Es256)$' --benchmark_format=json \
  --benchmark_min_time=3 >"$tmp/bulwark.json"

python3 - "$tmp/rsa.txt" "$tmp/ec.txt" "$tmp/bulwark.json" <<'PY'
import json, re, sys
rsa_txt, ec_txt, bulwark_json = sys.argv[1:4]

def verify_per_s(path, pattern):
    # The last two numbers of the row are sign/s and verify/s.
    for line in open(path):
        if re.search(pattern, line):
            nums = re.findall(r"[0-9]+\.[0-9]+", line)
            if len(nums) >= 2:
                return float(nums[-1])
    sys.exit(f"sso.sh: could not parse {path}")

rsa = verify_per_s(rsa_txt, r"^\s*rsa\s+2048 bits")
ec = verify_per_s(ec_txt, r"256 bits ecdsa \(nistp256\)")
runs = {b["name"]: b for b in json.load(open(bulwark_json))["benchmarks"]
        if b.get("run_type", "iteration") == "iteration"}
for name, base, label in (("BM_ValidateIdTokenRs256", rsa, "rsa2048 verify/s"),
                          ("BM_ValidateIdTokenEs256", ec, "ecdsap256 verify/s")):
    if name not in runs:
        sys.exit(f"sso.sh: {name} missing from the benchmark output")
    per_s = runs[name]["items_per_second"]
    print(f"{name[len('BM_ValidateIdToken'):].upper()}: {per_s:,.0f} ID tokens validated/s; "
          f"openssl speed {label} {base:,.0f}; ratio {per_s / base:.2f}")
PY

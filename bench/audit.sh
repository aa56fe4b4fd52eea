#!/usr/bin/env bash
# Runs bench/audit_bench.cc and prints the ratio of mutations/s with the durable, group-committed
# audit ledger to mutations/s without a ledger (goal >= 0.8). Not a timed test.
#   bench/audit.sh [path/to/bulwark_bench]
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH=${1:-build/release/bulwark_bench}
"$BENCH" --benchmark_filter='BM_Mutation' --benchmark_format=json 2>/dev/null > /tmp/bulwark-audit-bench.json
python3 - <<'PY'
import json
runs = {b["name"].split("/")[0]: b["items_per_second"] for b in json.load(open("/tmp/bulwark-audit-bench.json"))["benchmarks"]}
with_l, without = runs["BM_MutationWithDurableLedger"], runs["BM_MutationWithoutLedger"]
print(f"durable mutations, 16 concurrent callers, SQLite synchronous=FULL:")
print(f"  with the audit ledger (group commit): {with_l:,.0f}/s")
print(f"  without a ledger (one commit each):   {without:,.0f}/s")
print(f"  ratio {with_l/without:.2f} (goal >= 0.8)")
PY

#!/usr/bin/env bash
# Gate decisions under concurrency: the governance gate (change request, calendars with a
# window and a freeze, approvals, five Rego policies) against a real SQLite store, N requests
# at once, several rounds; the baseline is the same number of plain Store::get calls, same run.
# Then an open loop at 1000 requests per second (latency without self-made queueing).
#
#   bench/gate.sh [CONCURRENT...]        # default: 1000 100 10 1
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p slipway-governance --example gate_bench
bin=${CARGO_TARGET_DIR:-target}/release/examples/gate_bench
levels=("$@")
if ((${#levels[@]} == 0)); then levels=(1000 100 10 1); fi
for n in "${levels[@]}"; do
    echo "== $n concurrent"
    "$bin" "$n" 3 | tail -2
done
echo "== open loop: 1000 requests per second for 5 s"
"$bin" --rate 1000 5 | tail -1
echo "goal: p99 <= 10 ms with 1000 concurrent requests"

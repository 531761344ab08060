#!/usr/bin/env bash
# Gate decisions under concurrency: the governance gate (change request, calendars with a
# window and a freeze, approvals, five Rego policies) against a real SQLite store; the baseline
# is the same number of plain Store::get calls at once, same run.
#
#   bench/gate.sh [CONCURRENT...]        # default: 1000 100 10 1
#
# For each level, two bursts of CONCURRENT requests at once (3 rounds each):
#   - the same rollout asked about by every request (a rollout polled by many callers);
#   - a different rollout per request, never decided before (a release starting that many
#     rollouts at once): every decision is evaluated on its own and durably recorded.
# Then an open loop of distinct rollouts at 1000 requests per second (no self-made queueing).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p slipway-governance --example gate_bench
bin=${CARGO_TARGET_DIR:-target}/release/examples/gate_bench
levels=("$@")
if ((${#levels[@]} == 0)); then levels=(1000 100 10 1); fi
for n in "${levels[@]}"; do
    echo "== $n concurrent"
    "$bin" "$n" 3 | tail -2
    "$bin" --distinct "$n" 3 | tail -2 | head -1
done
echo "== open loop: 1000 requests per second for 5 s, each for another rollout"
"$bin" --distinct --rate 1000 5 | tail -1
echo "goal: p99 <= 10 ms with 1000 concurrent requests"

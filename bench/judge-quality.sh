#!/usr/bin/env bash
# Quality of the canary judge, from the seeded simulation harness (slipway_judge::simulation):
# A/A false-positive rate with a 95% Wilson interval (one fixed look, and 18 looks every 10 s with
# stop-at-first-Fail), detection rate and median/p95 time to verdict of a canary with 10% errors
# (baseline 1%) at 5% of 20 req/s, and of +50 ms latency. Kayenta's own choice for the error
# metric (Mann-Whitney on 0/1 samples) is measured in the same run as the baseline.
# Deterministic: the same arguments print the same figures on any machine (a few minutes at 1000
# runs per row). Arguments go to the example: [--trials N] [--detection-trials N] [--seed S].
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p slipway-judge --example quality
"${CARGO_TARGET_DIR:-target}/release/examples/quality" "$@"

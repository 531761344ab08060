#!/usr/bin/env bash
# Audit-log throughput and verification time, on SQLite and PostgreSQL, each with a baseline
# measured in the same run (bare INSERTs of the same rows; merely reading the rows back).
# Usage: bench/audit.sh [ENTRIES] [BATCH] [VERIFY_ENTRIES]
set -euo pipefail
cd "$(dirname "$0")/.."
entries=${1:-200000}
batch=${2:-1000}
verify_entries=${3:-1000000}
cargo build --release -q -p slipway-store --example audit_bench
bin=${CARGO_TARGET_DIR:-target}/release/examples/audit_bench
echo "# durable audited appends (SQLite synchronous=FULL, PostgreSQL default durability)"
"$bin" sqlite "$entries" "$batch"
"$bin" postgres "$entries" "$batch"
echo "# verification of a ${verify_entries}-entry log (SQLite)"
"$bin" sqlite "$verify_entries" 5000 | grep verify

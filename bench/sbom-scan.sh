#!/usr/bin/env bash
# A 5,000-component CycloneDX SBOM (validated against its schema, normalised, purls mapped)
# scanned against the whole shared OSV database after it is loaded; the baseline is the
# database load itself, same run.
#
#   bench/sbom-scan.sh [ITERATIONS]    # default 15
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p slipway-vuln --example sbom_scan_bench
"${CARGO_TARGET_DIR:-target}/release/examples/sbom_scan_bench" ../shared/conformance/osv/advisory-db-osv "${1:-15}"

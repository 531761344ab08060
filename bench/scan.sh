#!/usr/bin/env bash
# Times slipway-vuln against cargo-audit on the shared conformance lockfiles.
#
# For each lockfile: slipway's median end-to-end time (load the RustSec OSV export, read the
# lockfile, scan), from an imported snapshot, and scan-only; cargo-audit's median wall time for
# `cargo audit --db <advisory-db main> --no-fetch --stale --no-yanked -f <lockfile> --json`
# (skipped when cargo-audit is not installed); the ratio cargo-audit / slipway end-to-end, and
# cargo-audit / slipway from the snapshot `slipway vulndb import` writes (how `slipway scan
# --data-dir` and the server scan).
#
# Usage: bench/scan.sh [iterations]   (default 9; honours CARGO_TARGET_DIR)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
conformance="$root/../shared/conformance/osv"
iterations="${1:-9}"
target_dir="${CARGO_TARGET_DIR:-$root/target}"

cargo build --quiet --release -p slipway-vuln --example scan_bench --manifest-path "$root/Cargo.toml"
bench_bin="$target_dir/release/examples/scan_bench"

mapfile -t lockfiles < <(find "$conformance/lockfiles" -maxdepth 1 -name '*.Cargo.lock' | sort)
if [ "${#lockfiles[@]}" -eq 0 ]; then
    echo "no lockfiles under $conformance/lockfiles" >&2
    exit 1
fi

have_audit=0
if cargo audit --version >/dev/null 2>&1; then
    have_audit=1
    echo "cargo-audit: $(cargo audit --version)"
else
    echo "cargo-audit is not installed: timing slipway only (cargo install cargo-audit --locked)"
fi

# Median of numbers on stdin.
median() {
    sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

audit_median_ms() {
    local lockfile="$1" work
    work="$(mktemp -d)"
    for _ in $(seq "$iterations"); do
        local start end
        start=$(date +%s%N)
        # Exit status 1 means "vulnerabilities found"; anything else above is a failure.
        (cd "$work" && cargo audit --db "$conformance/advisory-db-main" --no-fetch --stale --no-yanked \
            -f "$lockfile" --json >/dev/null) || [ $? -eq 1 ]
        end=$(date +%s%N)
        echo "scale=3; ($end - $start) / 1000000" | bc
    done | median
    rm -rf "$work"
}

printf '%-48s %8s %8s %12s %12s %12s %12s %8s %8s\n' lockfile packages findings slipway_ms snapshot_ms scan_only_ms audit_ms ratio ratio_snap
"$bench_bin" "$conformance/advisory-db-osv" "$iterations" "${lockfiles[@]}" |
while IFS=$'\t' read -r name packages findings end_to_end snapshot scan_only; do
    audit="-"
    ratio="-"
    ratio_snap="-"
    if [ "$have_audit" -eq 1 ]; then
        audit="$(audit_median_ms "$conformance/lockfiles/$name")"
        ratio="$(echo "scale=1; $audit / $end_to_end" | bc)"
        ratio_snap="$(echo "scale=1; $audit / $snapshot" | bc)"
    fi
    printf '%-48s %8s %8s %12s %12s %12s %12s %8s %8s\n' "$name" "$packages" "$findings" "$end_to_end" "$snapshot" "$scan_only" "$audit" "$ratio" "$ratio_snap"
done

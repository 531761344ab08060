#!/usr/bin/env bash
# Time from the first failing request to 100% of traffic back on stable, over RUNS full
# releases (`slipway demo --ci`: a canary of a build that fails 20% of its requests, under
# load). Prints the median and p95, and the p95 against the goal (2 s) and against Flagger's
# documented rollback time for its example analysis (interval 1m × threshold 10 = 10 min).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
cargo build --release -q -p slipway
bin=${CARGO_TARGET_DIR:-target}/release/slipway
samples=()
for i in $(seq "$runs"); do
  line=$("$bin" demo --ci 2>/dev/null | tail -n 1)
  ms=$(python3 -c 'import json,sys; v=json.loads(sys.argv[1]).get("breach_to_stable_ms"); print("" if v is None else v)' "$line")
  [ -n "$ms" ] || { echo "run $i: no measurement: $line" >&2; continue; }
  samples+=("$ms")
done
python3 - "${samples[@]}" <<'PY'
import statistics, sys
v = sorted(int(x) for x in sys.argv[1:])
if not v:
    sys.exit("no samples")
p95 = v[min(len(v) - 1, int(round(0.95 * (len(v) - 1))))]
print(f"first failing request -> 100% stable over {len(v)} runs: median {statistics.median(v):.0f} ms, p95 {p95} ms, max {v[-1]} ms")
print(f"p95 / goal 2000 ms: {p95 / 2000:.2f}; p95 / Flagger's documented 600000 ms: {p95 / 600000:.5f}")
PY

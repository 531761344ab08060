#!/usr/bin/env bash
# Resident memory of an idle `slipway server` (after start-up, the example system applied and a
# few requests served), against an idle `python3 -m http.server` measured in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p slipway
bin=${CARGO_TARGET_DIR:-target}/release/slipway
tmp=$(mktemp -d)
trap 'kill $server $python 2>/dev/null || true; rm -rf "$tmp"' EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

"$bin" init --data-dir "$tmp/data" >/dev/null
p=$(port)
"$bin" server --data-dir "$tmp/data" --listen "127.0.0.1:$p" 2>/dev/null &
server=$!
python3 - "$p" <<'PY'
import sys, time, urllib.request
for _ in range(100):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/healthz", timeout=1)
        break
    except Exception:
        time.sleep(0.1)
PY
export SLIPWAY_SERVER="http://127.0.0.1:$p" SLIPWAY_TOKEN="$(cat "$tmp/data/admin-token")" SLIPWAY_CONFIG="$tmp/config.json"
"$bin" apply -f examples/ >/dev/null
for _ in $(seq 20); do "$bin" get services >/dev/null; done
sleep 2
slipway_kib=$(rss_kib "$server")

q=$(port)
python3 -m http.server "$q" --bind 127.0.0.1 >/dev/null 2>&1 &
python=$!
sleep 2
python_kib=$(rss_kib "$python")
awk -v s="$slipway_kib" -v p="$python_kib" 'BEGIN { printf "idle slipway server RSS %.1f MiB vs idle python3 http.server %.1f MiB: ratio %.2f\n", s/1024, p/1024, s/p }'

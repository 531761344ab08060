#!/usr/bin/env bash
# The built-in traffic router side by side with a direct connection and with HAProxy (Debian
# package), all in front of the same upstream process on 127.0.0.1, under the same wrk load.
#
#   bench/router.sh            # RUNS=3 DURATION=10 CONNS=64 THREADS=2 LAT_CONNS=4 LAT_THREADS=1
#
# Per run and target: a 2 s warm-up, a throughput run (wrk -t$THREADS -c$CONNS, requests/s and
# p99 at saturation) and a light-load latency run (wrk -t$LAT_THREADS -c$LAT_CONNS, p99 and p50).
# Prints each run, the medians, router/HAProxy throughput (goal >= 0.9) and the router's p99
# minus the direct p99 (goal <= 100 us); p50 added is printed too, being far less noisy.
# ROUTER_BENCH_THREADS=N sets the Tokio worker threads of the router and upstream processes
# (default one per core; 0 for a current-thread runtime). Both proxies split traffic 80/20 between two backends that are the
# same upstream (Slipway: stable/canary weight 20 %; HAProxy: two servers weighted 80/20) and
# keep connections to it alive. The machine has 2 cores shared by wrk, the proxy and the
# upstream: the figures are relative, and noisy.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
DURATION=${DURATION:-10}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
LAT_CONNS=${LAT_CONNS:-4}
LAT_THREADS=${LAT_THREADS:-1}

missing=()
command -v haproxy >/dev/null || missing+=(haproxy)
command -v wrk >/dev/null || missing+=(wrk)
if ((${#missing[@]})); then
    echo "installing ${missing[*]}" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

cargo build --release -q -p slipway-router --example router_bench
bin=${CARGO_TARGET_DIR:-target}/release/examples/router_bench

tmp=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "nothing listens on 127.0.0.1:$1; logs:" >&2
    cat "$tmp"/*.log >&2
    exit 1
}

upstream_port=$(port)
"$bin" upstream "127.0.0.1:$upstream_port" >"$tmp/upstream.log" 2>&1 &
pids+=($!)
router_port=$(port)
"$bin" router "127.0.0.1:$router_port" "127.0.0.1:$upstream_port" 20 >"$tmp/router.log" 2>&1 &
pids+=($!)
haproxy_port=$(port)
cat >"$tmp/haproxy.cfg" <<EOF
global
    nbthread 2
    maxconn 4096
defaults
    mode http
    option http-keep-alive
    timeout connect 2s
    timeout client 30s
    timeout server 60s
    timeout http-keep-alive 60s
frontend bench
    bind 127.0.0.1:$haproxy_port
    default_backend upstream
backend upstream
    balance roundrobin
    http-reuse always
    server stable 127.0.0.1:$upstream_port weight 80
    server canary 127.0.0.1:$upstream_port weight 20
EOF
haproxy -db -f "$tmp/haproxy.cfg" >"$tmp/haproxy.log" 2>&1 &
pids+=($!)
for p in "$upstream_port" "$router_port" "$haproxy_port"; do wait_port "$p"; done

declare -A target_port=([direct]=$upstream_port [router]=$router_port [haproxy]=$haproxy_port)
targets=(direct router haproxy)

# wrk ARGS... -> its report; bounded in time.
load() { timeout $((DURATION + 30)) wrk "$@"; }
rps() { awk '/^Requests\/sec:/ {print $2}'; }
# A line (50%, 99%) of wrk's latency distribution, in microseconds.
pct_us() {
    awk -v pct="$1" '$1 == pct {
        v = $2
        if (v ~ /us$/) { sub(/us$/, "", v); print v + 0 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v); print v * 1000 }
        else if (v ~ /s$/) { sub(/s$/, "", v); print v * 1000000 }
    }'
}
# Non-2xx responses and socket errors, which would make a figure meaningless.
problems() { grep -E 'Non-2xx|Socket errors' || true; }
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

declare -A all_rps all_p99 all_lat all_p50
echo "wrk -t$THREADS -c$CONNS -d${DURATION}s (throughput) and wrk -t$LAT_THREADS -c$LAT_CONNS -d${DURATION}s (latency), $RUNS run(s), $(nproc) cores shared by wrk, proxy and upstream"
for run in $(seq "$RUNS"); do
    for target in "${targets[@]}"; do
        url="http://127.0.0.1:${target_port[$target]}/"
        load -t"$THREADS" -c"$CONNS" -d2s "$url" >/dev/null
        load -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency "$url" >"$tmp/out"
        problems <"$tmp/out" | sed "s/^/  $target: /" >&2
        r=$(rps <"$tmp/out")
        p=$(pct_us 99% <"$tmp/out")
        load -t"$LAT_THREADS" -c"$LAT_CONNS" -d"${DURATION}s" --latency "$url" >"$tmp/out"
        problems <"$tmp/out" | sed "s/^/  $target: /" >&2
        l=$(pct_us 99% <"$tmp/out")
        m=$(pct_us 50% <"$tmp/out")
        all_rps[$target]+="$r "
        all_p99[$target]+="$p "
        all_lat[$target]+="$l "
        all_p50[$target]+="$m "
        printf 'run %d  %-8s %10.0f req/s  p99 %8.0f us at c%d  p99 %6.0f us, p50 %5.0f us at c%d\n' "$run" "$target" "$r" "$p" "$CONNS" "$l" "$m" "$LAT_CONNS"
    done
done

declare -A med_rps med_p99 med_lat med_p50
echo
echo "medians over $RUNS run(s):"
for target in "${targets[@]}"; do
    med_rps[$target]=$(median <<<"${all_rps[$target]}")
    med_p99[$target]=$(median <<<"${all_p99[$target]}")
    med_lat[$target]=$(median <<<"${all_lat[$target]}")
    med_p50[$target]=$(median <<<"${all_p50[$target]}")
    printf '  %-8s %10.0f req/s  p99 %8.0f us at c%d  p99 %6.0f us, p50 %5.0f us at c%d\n' "$target" "${med_rps[$target]}" "${med_p99[$target]}" "$CONNS" "${med_lat[$target]}" "${med_p50[$target]}" "$LAT_CONNS"
done
awk -v r="${med_rps[router]}" -v h="${med_rps[haproxy]}" -v d="${med_rps[direct]}" \
    'BEGIN { printf "router/haproxy throughput: %.2f (goal >= 0.9); router/direct %.2f, haproxy/direct %.2f\n", r / h, r / d, h / d }'
awk -v r="${med_lat[router]}" -v h="${med_lat[haproxy]}" -v d="${med_lat[direct]}" -v c="$LAT_CONNS" \
    'BEGIN { printf "p99 added over direct at c%d: router %+.0f us (goal <= 100 us), haproxy %+.0f us\n", c, r - d, h - d }'
awk -v r="${med_p50[router]}" -v h="${med_p50[haproxy]}" -v d="${med_p50[direct]}" -v c="$LAT_CONNS" \
    'BEGIN { printf "p50 added over direct at c%d: router %+.0f us, haproxy %+.0f us\n", c, r - d, h - d }'
awk -v r="${med_p99[router]}" -v h="${med_p99[haproxy]}" -v d="${med_p99[direct]}" -v c="$CONNS" \
    'BEGIN { printf "p99 added over direct at c%d (saturated, mostly queueing): router %+.0f us, haproxy %+.0f us\n", c, r - d, h - d }'

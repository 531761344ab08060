#!/usr/bin/env bash
# A release of N services (default 200) in dependency order on the embedded default (each
# service runs as a real process behind the built-in router): its wall time against the
# critical path (the slowest dependency chain of the rollouts' own durations, measured in the
# same run). Goal: wall / critical path <= 1.1.
set -euo pipefail
cd "$(dirname "$0")/.."
services=${1:-200}
cargo build --release -q -p slipway
bin=$(pwd)/${CARGO_TARGET_DIR:-target}/release/slipway
tmp=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
"$bin" init --data-dir "$tmp/data" >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin" server --data-dir "$tmp/data" --listen "127.0.0.1:$port" 2>"$tmp/server.log" &
server=$!
python3 - "$port" "$(cat "$tmp/data/admin-token")" "$services" <<'PY'
import json, os, random, socket, sys, time, urllib.request
port, token, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
base = f"http://127.0.0.1:{port}"
def call(method, path, body=None):
    req = urllib.request.Request(base + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                 headers={"authorization": f"Bearer {token}", "content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())
for _ in range(100):
    try:
        urllib.request.urlopen(base + "/healthz", timeout=1); break
    except Exception:
        time.sleep(0.1)
# Router endpoints below the ephemeral range (32768+), so instances' ports cannot take them.
next_port = [20000]
def free():
    while True:
        port = next_port[0]; next_port[0] += 1
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port)); return f"127.0.0.1:{port}"
        except OSError:
            continue
        finally:
            s.close()
rng = random.Random(42)
doc = lambda kind, name, spec: {"document": {"apiVersion": "slipway.dev/v1alpha1", "kind": kind, "metadata": {"name": name}, "spec": spec}}
docs = [doc("Team", "bench", {}), doc("Environment", "load", {"tier": "test", "order": 1})]
deps = {}
for i in range(n):
    name = f"svc-{i:03d}"
    # Depend on up to 3 earlier services: a DAG several layers deep.
    earlier = [f"svc-{j:03d}" for j in range(max(0, i - 40), i)]
    deps[name] = sorted(rng.sample(earlier, min(len(earlier), rng.randint(0, 3)))) if earlier else []
    docs.append(doc("Service", name, {"owner": "bench", "tier": "low", "dependsOn": deps[name], "endpoints": {"load": free()}}))
    docs.append(doc("Artifact", f"{name}-1", {"service": name, "version": "1.0.0", "location": "{program}", "args": ["example-service"]}))
docs.append(doc("Pipeline", "bench", {"maxParallel": n, "stages": [{"environment": "load", "strategy": {"direct": {}}}]}))
call("POST", "/api/v1/apply", {"documents": docs})
call("POST", "/api/v1/apply", {"documents": [doc("Release", "bench", {"pipeline": "bench", "artifacts": [f"svc-{i:03d}-1" for i in range(n)]})]})
deadline = time.time() + 900
while True:
    status = call("GET", "/api/v1/releases/bench").get("status") or {}
    if status.get("phase") in ("Promoted", "Failed"):
        break
    if time.time() > deadline:
        sys.exit(f"release did not finish: {status.get('phase')}")
    time.sleep(0.5)
if status["phase"] != "Promoted":
    r = call("GET", "/api/v1/rollouts")["items"]
    bad = [x for x in r if x.get("status", {}).get("phase") == "Failed"][:3]
    sys.exit(f"release failed: {status.get('message')}: " + json.dumps([x["status"].get("message") for x in bad]))
span = {}
for r in call("GET", "/api/v1/rollouts")["items"]:
    h = r["status"]["history"]
    span[r["spec"]["service"]] = (h[0]["atMs"], h[-1]["atMs"])
wall = status["history"][-1]["atMs"] - status["history"][0]["atMs"]
memo = {}
def finish(s):
    if s not in memo:
        memo[s] = max((finish(d) for d in deps[s]), default=0) + (span[s][1] - span[s][0])
    return memo[s]
critical = max(finish(s) for s in deps)
if os.environ.get("DETAIL"):
    # The critical chain, and where the time between its rollouts goes.
    tail = max(deps, key=finish)
    chain = [tail]
    while deps[chain[-1]]:
        chain.append(max(deps[chain[-1]], key=finish))
    chain.reverse()
    t0, t1 = status["history"][0]["atMs"], status["history"][-1]["atMs"]
    print(f"release start -> {chain[0]} started: {span[chain[0]][0] - t0} ms")
    for a, b in zip(chain, chain[1:]):
        print(f"{a} took {span[a][1] - span[a][0]} ms; its end -> {b} started: {span[b][0] - span[a][1]} ms (latest dependency end: {max(span[d][1] for d in deps[b]) - span[a][1]} ms)")
    print(f"{chain[-1]} took {span[chain[-1]][1] - span[chain[-1]][0]} ms; its end -> release end: {t1 - span[chain[-1]][1]} ms")
print(f"release of {n} services in {len(status['waves'])} dependency layers: wall {wall} ms vs critical path {critical} ms: ratio {wall / critical:.2f}")
PY

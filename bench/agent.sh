#!/usr/bin/env bash
# Benchmarks `kspm agent` on a real kube-apiserver (scripts/test-cluster) loaded with the
# generated corpus (bench/gen_corpus.py, as bench/cluster.sh does): the initial sync (list,
# judge, store sync: from start until /readyz answers 200), then LATENCY_CHANGES changes one at
# a time (a new privileged Deployment each), timing each from `kubectl create` returning to its
# PS004 finding being open in the SQLite store, then the steady and peak RSS of the agent.
# usage: bench/agent.sh [COUNT=13000] [CHANGES=30]
#   KSPM_BIN=path/to/kspm  use that binary instead of building --release
#   (needs scripts/install-testbin, python3)
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-13000}
changes=${2:-30}
if [ -n "${KSPM_BIN:-}" ]; then
  kspm=$KSPM_BIN
else
  cargo build --release -p kspm --locked >/dev/null 2>&1
  kspm=$PWD/target/release/kspm
fi
export PATH="$PWD/.tools/bin:$PATH"
work=${BENCH_DIR:-target/bench-corpus}
mkdir -p "$work"
dir="$work/gen-$count"
[ -d "$dir" ] || python3 bench/gen_corpus.py "$count" "$dir"

cluster="$PWD/target/bench-agent-cluster"
agent_pid=""
cleanup() {
  if [ -n "$agent_pid" ]; then kill "$agent_pid" 2>/dev/null || true; wait "$agent_pid" 2>/dev/null || true; fi
  scripts/test-cluster down --dir "$cluster" >/dev/null 2>&1 || true
}
trap cleanup EXIT
eval "$(scripts/test-cluster up --dir "$cluster" --owner-pid $$)"

python3 - "$dir" > "$work/namespaces.yaml" <<'PY'
import os, re, sys
names = set()
for root, _, files in os.walk(sys.argv[1]):
    for f in files:
        for m in re.finditer(r"^\s+namespace: ([a-z0-9-]+)$", open(os.path.join(root, f)).read(), re.M):
            names.add(m.group(1))
for n in sorted(names | {"bench-agent"}):
    print(f"---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: {n}")
PY
kubectl create -f "$work/namespaces.yaml" >/dev/null
# A pool of connections (bench/load_cluster.py): `kubectl create -R` sends one at a time.
read -r created refused seconds < <(python3 bench/load_cluster.py "$KUBECONFIG" "$dir")
echo "loaded $created objects in $seconds s ($refused refused: removed APIs or duplicates)" >&2

# The Deployments the churn phase flips, present from the start (judged by the initial sync).
churn_seconds=${CHURN_SECONDS:-120}
churn_rate=${CHURN_RATE:-1000}
python3 - > "$work/churn.yaml" <<'PY'
print("apiVersion: v1\nkind: Namespace\nmetadata: {name: bench-churn}")
for i in range(200):
    print(f"""---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: churn-{i}, namespace: bench-churn}}
spec:
  selector: {{matchLabels: {{app: churn-{i}}}}}
  template:
    metadata: {{labels: {{app: churn-{i}}}}}
    spec:
      containers: [{{name: app, image: registry.example/app:1.0, securityContext: {{privileged: false}}}}]""")
PY
kubectl create -f "$work/churn.yaml" >/dev/null

db="$work/agent.db"
rm -f "$db" "$db-wal" "$db-shm" "$work/agent.log"  # the address is read from the new log only
start=$(date +%s.%N)
"$kspm" agent --store "sqlite://$PWD/$db" --cluster-name bench --debounce 200ms \
  --listen 127.0.0.1:0 --reports none 2> "$work/agent.log" &
agent_pid=$!
addr=""
until [ -n "$addr" ]; do
  addr=$(sed -n 's/.*on http:\/\/\([0-9.:]*\).*/\1/p' "$work/agent.log" 2>/dev/null | head -n 1 || true)
  kill -0 "$agent_pid" || { cat "$work/agent.log" >&2; exit 1; }
  sleep 0.05
done
until python3 -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://$addr/readyz').status == 200 else 1)" 2>/dev/null; do
  sleep 0.05
done
ready=$(date +%s.%N)
objects=$(python3 -c "import urllib.request; t=urllib.request.urlopen('http://$addr/metrics').read().decode(); print(next(l.split()[1] for l in t.splitlines() if l.startswith('kspm_agent_objects ')))")
sync_rss=$(awk '/VmRSS/ {print int($2/1024)}' "/proc/$agent_pid/status")

# One change at a time: create a privileged Deployment, wait for its finding in the store.
python3 - "$db" "$changes" > "$work/latency.txt" <<'PY'
import sqlite3, subprocess, sys, time
db, n = sys.argv[1], int(sys.argv[2])
lat = []
for i in range(n):
    name = f"bench-latency-{i}"
    doc = f"""apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: bench-agent}}
spec:
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers: [{{name: app, image: registry.example/app:1.0, securityContext: {{privileged: true}}}}]
"""
    subprocess.run(["kubectl", "create", "-f", "-"], input=doc.encode(), check=True, capture_output=True)
    t0 = time.monotonic()
    while True:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        row = con.execute("SELECT 1 FROM findings WHERE cluster='bench' AND rule='PS004' AND name=? AND status='open'", (name,)).fetchone()
        con.close()
        if row:
            break
        if time.monotonic() - t0 > 60:
            sys.exit(f"{name}: no finding after 60 s")
        time.sleep(0.01)
    lat.append(time.monotonic() - t0)
lat.sort()
p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
print(f"{p(0.5):.2f} {p(0.99):.2f} {lat[-1]:.2f}")
PY
read -r p50 p99 worst < "$work/latency.txt"
# How much of a change's time is judging (the rest: debounce, store sync, watch delivery).
python3 - "$addr" <<'PY' >&2
import sys, urllib.request
t = urllib.request.urlopen(f"http://{sys.argv[1]}/metrics").read().decode()
get = lambda name: next((float(l.split()[1]) for l in t.splitlines() if l.startswith(name + " ")), float("nan"))
s, c = get("kspm_agent_evaluation_seconds_sum"), get("kspm_agent_evaluation_seconds_count")
print(f"judgements: {c:.0f}, {s:.2f} s in all, {s / c if c else float('nan'):.3f} s each on average (the initial one included)")
PY
read -r steady peak < <(awk '/VmRSS/ {r=int($2/1024)} /VmHWM/ {h=int($2/1024)} END {print r, h}' "/proc/$agent_pid/status")

churn=""
if [ "$churn_seconds" -gt 0 ]; then
  cpu_before=$(awk '{print $14 + $15}' "/proc/$agent_pid/stat")
  python3 - "$db" "$KUBECONFIG" "$churn_seconds" "$churn_rate" > "$work/churn.txt" <<'PY'
import base64, json, os, re, sqlite3, ssl, sys, tempfile, threading, time, urllib.request
db, kubeconfig, seconds, rate = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
text = open(kubeconfig).read()
field = lambda k: re.search(rf"{k}: (\S+)", text).group(1)
tmp = tempfile.mkdtemp()
def pem(name, key):
    path = os.path.join(tmp, name)
    open(path, "wb").write(base64.b64decode(field(key)))
    return path
ctx = ssl.create_default_context(cafile=pem("ca.crt", "certificate-authority-data"))
ctx.load_cert_chain(pem("client.crt", "client-certificate-data"), pem("client.key", "client-key-data"))
server = field("server")
pending = {}  # name -> (want status, t0)
lat, lock, done = [], threading.Lock(), threading.Event()
def watch_store():
    while not done.is_set() or pending:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        rows = dict(con.execute("SELECT name, status FROM findings WHERE cluster='bench' AND rule='PS004' AND namespace='bench-churn'"))
        con.close()
        now = time.monotonic()
        with lock:
            for name, (want, t0) in list(pending.items()):
                if rows.get(name, "resolved") == want:
                    lat.append(now - t0)
                    del pending[name]
        if done.is_set() and now > deadline + 30:
            break
        time.sleep(0.02)
deadline = time.monotonic() + seconds
poller = threading.Thread(target=watch_store)
poller.start()
state = [False] * 200
n = int(seconds * rate / 60)
start = time.monotonic()
sent = 0
for i in range(n):
    due = start + i * 60 / rate
    pause = due - time.monotonic()
    if pause > 0:
        time.sleep(pause)
    k = i % 200
    with lock:
        if f"churn-{k}" in pending:
            continue  # its last change has not landed yet: flipping it again would hide that
    state[k] = not state[k]
    body = json.dumps({"spec": {"template": {"spec": {"containers": [{"name": "app", "securityContext": {"privileged": state[k]}}]}}}}).encode()
    req = urllib.request.Request(f"{server}/apis/apps/v1/namespaces/bench-churn/deployments/churn-{k}", data=body, method="PATCH",
                                 headers={"Content-Type": "application/strategic-merge-patch+json"})
    urllib.request.urlopen(req, context=ctx).read()
    with lock:
        pending[f"churn-{k}"] = ("open" if state[k] else "resolved", time.monotonic())
    sent += 1
elapsed = time.monotonic() - start
done.set()
poller.join()
lat.sort()
p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
print(f"{sent} {elapsed:.1f} {len(lat)} {p(0.5):.2f} {p(0.99):.2f} {lat[-1]:.2f}")
PY
  cpu_after=$(awk '{print $14 + $15}' "/proc/$agent_pid/stat")
  read -r sent elapsed landed c50 c99 cmax < "$work/churn.txt"
  ticks=$(getconf CLK_TCK)
  cpu_ms=$(awk "BEGIN{printf \"%.1f\", ($cpu_after - $cpu_before) * 1000 / $ticks / $sent}")
  read -r csteady cpeak < <(awk '/VmRSS/ {r=int($2/1024)} /VmHWM/ {h=int($2/1024)} END {print r, h}' "/proc/$agent_pid/status")
  churn="$sent changes in $elapsed s ($landed landed): p50 / p99 / max $c50 s / $c99 s / $cmax s, agent CPU $cpu_ms ms per change, RSS $csteady MB (peak $cpeak MB)"
fi

echo "| objects held | initial sync | RSS after sync | change → stored finding p50 / p99 / max ($changes changes, debounce 200 ms) | steady RSS | peak RSS |"
echo "|---:|---:|---:|---:|---:|---:|"
printf "| %s | %.2f s | %d MB | %s s / %s s / %s s | %d MB | %d MB |\n" "$objects" \
  "$(awk "BEGIN{print $ready - $start}")" "$sync_rss" "$p50" "$p99" "$worst" "$steady" "$peak"
if [ -n "$churn" ]; then echo; echo "churn at $churn_rate changes a minute: $churn"; fi

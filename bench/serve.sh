#!/usr/bin/env bash
# Benchmarks `kspm serve` on PostgreSQL (scripts/test-postgres) holding a generated fleet
# (bench/gen_store.sql): CLUSTERS clusters x PER_CLUSTER findings, 5 events per finding.
# For each page: the server time the dashboard reports in its Server-Timing header (store queries
# and rendering; median and p95 of RUNS requests after 3 warm-ups) and the wall time of the
# request seen by the client; then the peak RSS of the `kspm serve` process.
# usage: bench/serve.sh [CLUSTERS=10] [PER_CLUSTER=20000] [RUNS=20]   (for docs/BENCHMARKS.md)
set -euo pipefail
cd "$(dirname "$0")/.."
clusters=${1:-10}
per_cluster=${2:-20000}
runs=${3:-20}
cargo build --release -p kspm --locked >/dev/null 2>&1
kspm=$PWD/target/release/kspm
pgdir="$PWD/target/bench-postgres"
url=$(scripts/test-postgres up --dir "$pgdir" --owner-pid $$)
serve_pid=""
cleanup() {
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null || true
  scripts/test-postgres down --dir "$pgdir" >/dev/null 2>&1 || true
}
trap cleanup EXIT
db=$(scripts/test-postgres createdb "bench_serve_$$" --dir "$pgdir")
psql=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)/psql
[ -x "$psql" ] || psql=psql
# The schema, migrated by kspm itself.
"$kspm" findings --store "$db" >/dev/null
start=$(date +%s)
"$psql" -q -X -v clusters="$clusters" -v per_cluster="$per_cluster" -f bench/gen_store.sql "$db"
echo "generated in $(( $(date +%s) - start )) s"

log=$(mktemp)
"$kspm" serve --store "$db" --listen 127.0.0.1:0 2>"$log" &
serve_pid=$!
for _ in $(seq 100); do grep -q 'http://' "$log" && break; sleep 0.1; done
base=$(grep -o 'http://[0-9.:]*' "$log")
python3 - "$base" "$runs" "$serve_pid" <<'PY'
import json, statistics, sys, time, urllib.parse, urllib.request
base, runs, pid = sys.argv[1], int(sys.argv[2]), sys.argv[3]

def fetch(path):
    t = time.perf_counter()
    with urllib.request.urlopen(base + path) as r:
        body = r.read()
        timing = r.headers["Server-Timing"]
    wall = (time.perf_counter() - t) * 1000
    return float(timing.split("dur=")[1]), wall, body

fleet = json.loads(fetch("/api/v1/fleet")[2])
worst = fleet["clusters"][0]["cluster"]
some = json.loads(fetch("/api/v1/findings?" + urllib.parse.urlencode({"cluster": worst, "page_size": 1}))[2])
key = some["findings"][0]["object_key"]
q = urllib.parse.urlencode
pages = [
    ("fleet page", "/"),
    ("cluster overview", "/cluster?" + q({"name": worst})),
    ("findings, unfiltered, page 1", "/findings"),
    ("findings, cluster+severity+status", "/findings?" + q({"cluster": worst, "severity": "high", "status": "open"})),
    ("findings, free text, sorted by age", "/findings?" + q({"q": "workload-1234", "sort": "age"})),
    ("findings, page 200", "/findings?" + q({"cluster": worst, "page": 200})),
    ("object page", "/object?" + q({"cluster": worst, "key": key})),
    ("rule page", "/rule?id=PS004"),
    ("API fleet", "/api/v1/fleet"),
    ("CSV export, one cluster's high", "/findings.csv?" + q({"cluster": worst, "severity": "high"})),
]
print(f"{'page':40} {'server median':>13} {'p95':>8} {'wall median':>11}")
for name, path in pages:
    for _ in range(3):
        fetch(path)
    server, wall = [], []
    for _ in range(runs):
        s, w, _ = fetch(path)
        server.append(s)
        wall.append(w)
    server.sort()
    p95 = server[min(len(server) - 1, int(len(server) * 0.95))]
    print(f"{name:40} {statistics.median(server):10.1f} ms {p95:5.1f} ms {statistics.median(wall):8.1f} ms")
with open(f"/proc/{pid}/status") as f:
    for line in f:
        if line.startswith(("VmHWM", "VmRSS")):
            print(line.strip())
PY

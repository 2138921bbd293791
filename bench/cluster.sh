#!/usr/bin/env bash
# Benchmarks `kspm scan --cluster` on a real kube-apiserver (scripts/test-cluster) loaded with the
# generated corpus (bench/gen_corpus.py): of 13,000 generated resources the server accepts about
# 10,500 (it refuses removed APIs and some deliberately broken fields). Prints the objects read,
# wall time (best of N), objects per second, peak RSS, and the time spent listing (waiting for
# the server) and evaluating (converting and checking; overlaps with listing).
# usage: bench/cluster.sh [RUNS=3] [COUNT=13000]   (needs scripts/install-testbin and GNU time)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
count=${2:-13000}
cargo build --release -p kspm --locked >/dev/null 2>&1
kspm=$PWD/target/release/kspm
work=${BENCH_DIR:-target/bench-corpus}
mkdir -p "$work"
dir="$work/gen-$count"
[ -d "$dir" ] || python3 bench/gen_corpus.py "$count" "$dir"

cluster="$PWD/target/bench-cluster"
eval "$(scripts/test-cluster up --dir "$cluster" --owner-pid $$)"
trap 'scripts/test-cluster down --dir "$cluster"' EXIT

# Namespaces first, then everything else; objects the server refuses (APIs it no longer serves)
# are counted and left out.
python3 - "$dir" > "$work/namespaces.yaml" <<'PY'
import os, re, sys
names = set()
for root, _, files in os.walk(sys.argv[1]):
    for f in files:
        for m in re.finditer(r"^\s+namespace: ([a-z0-9-]+)$", open(os.path.join(root, f)).read(), re.M):
            names.add(m.group(1))
for n in sorted(names):
    print(f"---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: {n}")
PY
kubectl create -f "$work/namespaces.yaml" >/dev/null
# A pool of connections (bench/load_cluster.py): `kubectl create -R` sends one at a time.
read -r created refused seconds < <(python3 bench/load_cluster.py "$KUBECONFIG" "$dir")
echo "loaded $created objects in $seconds s ($refused refused: removed APIs or duplicates)" >&2

best_wall="" best_rss="" split=""
for _ in $(seq "$runs"); do
  /usr/bin/time -f "%e %M" -o "$work/time.txt" "$kspm" scan --cluster --stats --format json -o /dev/null 2> "$work/stats.txt" || true
  read -r wall rss < <(tail -n 1 "$work/time.txt")
  if [ -z "$best_wall" ] || awk "BEGIN{exit !($wall < $best_wall)}"; then
    best_wall=$wall
    split=$(grep '^kspm: read' "$work/stats.txt")
  fi
  if [ -z "$best_rss" ] || [ "$rss" -gt "$best_rss" ]; then best_rss=$rss; fi
done
objects=$(echo "$split" | sed -n 's/^kspm: read \([0-9]*\) objects.*/\1/p')
echo "$split"
echo "| objects read | wall (best of $runs) | objects/s | peak RSS | listing | evaluating |"
echo "|---:|---:|---:|---:|---:|---:|"
listing=$(echo "$split" | sed -n 's/.*listing \([0-9.]*\) s.*/\1/p')
evaluating=$(echo "$split" | sed -n 's/.*evaluating \([0-9.]*\) s.*/\1/p')
printf "| %s | %.2f s | %d | %d MB | %s s | %s s |\n" "$objects" "$best_wall" \
  "$(awk "BEGIN{printf \"%d\", $objects / $best_wall}")" $((best_rss / 1024)) "$listing" "$evaluating"

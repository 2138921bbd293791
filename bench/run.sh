#!/usr/bin/env bash
# Benchmarks kspm on generated corpora of 1k, 10k and 100k resources and on ../shared/realworld.
# Prints one Markdown table row per run: wall time (best of N), resources per second, peak RSS.
# usage: bench/run.sh [RUNS=3]   (needs GNU time at /usr/bin/time; run on a quiet machine)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
cargo build --release -p kspm --locked >/dev/null 2>&1
kspm=target/release/kspm
work=${BENCH_DIR:-target/bench-corpus}
mkdir -p "$work"

measure() { # name, resources, args...
  local name=$1 count=$2; shift 2
  local best_wall="" best_rss=""
  for _ in $(seq "$runs"); do
    /usr/bin/time -f "%e %M" -o "$work/time.txt" "$kspm" scan "$@" --format json -o /dev/null 2>/dev/null || true
    read -r wall rss < <(tail -n 1 "$work/time.txt")
    if [ -z "$best_wall" ] || awk "BEGIN{exit !($wall < $best_wall)}"; then best_wall=$wall; fi
    if [ -z "$best_rss" ] || [ "$rss" -gt "$best_rss" ]; then best_rss=$rss; fi
  done
  local rate
  rate=$(awk "BEGIN{printf \"%d\", $count / ($best_wall > 0 ? $best_wall : 0.001)}")
  printf "| %s | %s | %.2f s | %s | %d MB |\n" "$name" "$count" "$best_wall" "$rate" $((best_rss / 1024))
}

echo "| input | resources | wall (best of $runs) | resources/s | peak RSS |"
echo "|---|---:|---:|---:|---:|"
for n in 1000 10000 100000; do
  dir="$work/gen-$n"
  [ -d "$dir" ] || python3 bench/gen_corpus.py "$n" "$dir"
  measure "generated, default rules" "$n" "$dir"
  measure "generated, all rules" "$n" "$dir" --select all
  measure "generated, default rules + all 10 frameworks" "$n" "$dir" --framework cis,pss,nsa,mitre,soc2,pci-dss,hipaa,gdpr,iso27001,nist-800-53
done
realworld=${REALWORLD:-../shared/realworld}
if [ -d "$realworld" ]; then
  count=$( ("$kspm" scan "$realworld" --select all --format json 2>/dev/null || true) | python3 -c 'import json,sys; print(json.load(sys.stdin)["summary"]["resources"])')
  measure "shared/realworld (19 MB), all rules" "$count" "$realworld" --select all
fi

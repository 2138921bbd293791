#!/usr/bin/env bash
# Benchmarks custom policies: 50 Rego and 50 CEL policies (bench/gen_policies.py) over the
# generated corpus of 10,000 resources, against the same scan without policies.
# Prints one Markdown table row per run: wall time (best of N), resources/s, peak RSS of the
# whole process tree (the scan and its policy worker processes, bench/tree_rss.py).
# usage: bench/policies.sh [RUNS=3] [RESOURCES=10000]   (Linux: reads /proc)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
count=${2:-10000}
cargo build --release -p kspm --locked >/dev/null 2>&1
kspm=target/release/kspm
work=${BENCH_DIR:-target/bench-corpus}
mkdir -p "$work"
corpus="$work/gen-$count"
[ -d "$corpus" ] || python3 bench/gen_corpus.py "$count" "$corpus"
policies="$work/policies"
rm -rf "$policies"
python3 bench/gen_policies.py 50 "$policies"

measure() { # name, args...
  local name=$1; shift
  local best_wall="" best_rss=""
  for _ in $(seq "$runs"); do
    read -r wall rss < <(python3 bench/tree_rss.py "$kspm" scan "$corpus" "$@" --format json -o /dev/null)
    if [ -z "$best_wall" ] || awk "BEGIN{exit !($wall < $best_wall)}"; then best_wall=$wall; fi
    if [ -z "$best_rss" ] || [ "$rss" -gt "$best_rss" ]; then best_rss=$rss; fi
  done
  local rate
  rate=$(awk "BEGIN{printf \"%d\", $count / ($best_wall > 0 ? $best_wall : 0.001)}")
  printf "| %s | %s | %.2f s | %s | %d MB |\n" "$name" "$count" "$best_wall" "$rate" $((best_rss / 1024))
}

# AP003 finds nothing on this corpus: the baseline is parsing and walking every object.
echo "| policies | resources | wall (best of $runs) | resources/s | peak RSS (all processes) |"
echo "|---|---:|---:|---:|---:|"
measure "none (one built-in rule)" --select AP003
one=$(ls "$policies"/rego/*.rego | head -n 1)
measure "1 Rego" --select AP003 --policy "$one"
measure "1 Rego, in process (--policy-memory 0)" --select AP003 --policy "$one" --policy-memory 0
measure "50 Rego" --select AP003 --policy "$policies/rego"
measure "50 CEL" --select AP003 --policy "$policies/cel"
measure "50 Rego + 50 CEL" --select AP003 --policy "$policies/rego" --policy "$policies/cel"
measure "50 Rego + 50 CEL, in process (--policy-memory 0)" --select AP003 --policy "$policies/rego" --policy "$policies/cel" --policy-memory 0
measure "50 Rego + 50 CEL + default rules" --policy "$policies/rego" --policy "$policies/cel"

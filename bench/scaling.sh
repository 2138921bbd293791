#!/usr/bin/env bash
# How kspm's time and memory grow with the input: the default rules and the JSON report on
# generated corpora (bench/gen_corpus.py, seed 1) of each size, one Markdown row per size: wall
# and CPU time (user + system), peak RSS, findings, and the memory per resource.
# usage: bench/scaling.sh [SIZE...]       default: 1000 10000 100000 1000000
#   KSPM_BIN=path  the binary to measure (default: builds --release)
# The 1,000,000 corpus is 760 MB of YAML in 10,000 files (generated once into BENCH_DIR, about
# 15 s) and its scan needs about 10 GB of memory: run it on a machine that has them.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 10000 100000 1000000)
if [ -n "${KSPM_BIN:-}" ]; then
  kspm=$KSPM_BIN
else
  cargo build --release -p kspm --locked >/dev/null 2>&1
  kspm=target/release/kspm
fi
work=${BENCH_DIR:-target/bench-corpus}
mkdir -p "$work"

# The default cap of 1,000,000 findings a scan would stop the 1M corpus at about 190,000
# resources: raised here, and nothing else changed.
config="$work/scaling-kspm.yaml"
echo "limits: {max_findings: 100000000}" > "$config"

echo "| resources | wall | CPU (user + system) | peak RSS | RSS per resource | findings |"
echo "|---:|---:|---:|---:|---:|---:|"
for n in "${sizes[@]}"; do
  dir="$work/gen-$n"
  [ -d "$dir" ] || python3 bench/gen_corpus.py "$n" "$dir"
  /usr/bin/time -f "%e %U %S %M" -o "$work/time.txt" "$kspm" scan "$dir" --config "$config" --format json -o /dev/null \
    2>/dev/null || true
  read -r wall user sys rss < <(tail -n 1 "$work/time.txt")
  # The count from a second scan's Markdown summary (reading the JSON report back would cost more
  # than the scan at 1M).
  findings=$( ("$kspm" scan "$dir" --config "$config" --format markdown 2>/dev/null || true) \
    | sed -n 's/^\([0-9]*\) findings .*/\1/p' | head -n 1)
  awk -v n="$n" -v wall="$wall" -v user="$user" -v sys="$sys" -v rss="$rss" -v f="$findings" 'BEGIN {
    printf "| %d | %.2f s | %.2f s | %d MB | %.1f KB | %s |\n", n, wall, user + sys, rss / 1024, rss / n, f
  }'
done

#!/usr/bin/env bash
# `kspm fix` on a fresh copy of ../shared/realworld, for docs/BENCHMARKS.md ("kspm fix").
# Each run copies the corpus to a temporary directory, fixes it (default rules, no
# configuration), and counts the files that changed; then a second `kspm fix --dry-run` on the
# fixed copy must change nothing. Prints one Markdown table row: best wall time (with its user
# CPU time) and peak RSS of the fix, the last --dry-run's wall time (the same plan, nothing
# written), files changed, findings fixed, rounds, findings left, and the second run's wall time.
# usage: bench/fix.sh [RUNS=3]   (needs GNU time at /usr/bin/time; REALWORLD=DIR for another corpus)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
realworld=${REALWORLD:-../shared/realworld}
[ -d "$realworld" ] || { echo "no corpus at $realworld (set REALWORLD)" >&2; exit 2; }
cargo build --release -p kspm --locked >/dev/null 2>&1
kspm=$PWD/target/release/kspm
export KSPM_NO_CONFIG=1
best_wall="" best_user="" best_rss="" second="" dry=""
for _ in $(seq "$runs"); do
  tmp=$(mktemp -d)
  cp -r "$realworld" "$tmp/corpus"
  # The same plan without writing (exit 1: there are changes), then the fix itself.
  /usr/bin/time -f "%e" -o "$tmp/time0.txt" "$kspm" fix --dry-run "$tmp/corpus" >/dev/null 2>&1 || true
  dry=$(tail -n 1 "$tmp/time0.txt")
  /usr/bin/time -f "%e %U %M" -o "$tmp/time.txt" "$kspm" fix "$tmp/corpus" >"$tmp/summary.txt" 2>/dev/null
  read -r wall user rss < <(tail -n 1 "$tmp/time.txt")
  if [ -z "$best_wall" ] || awk "BEGIN{exit !($wall < $best_wall)}"; then best_wall=$wall; best_user=$user; fi
  if [ -z "$best_rss" ] || [ "$rss" -gt "$best_rss" ]; then best_rss=$rss; fi
  changed=$( (diff -rq "$realworld" "$tmp/corpus" || true) | wc -l)
  # "kspm fix: fixed N findings in M files (R rounds of scan and fix); L findings left"
  read -r fixed files rounds left < <(head -n 1 "$tmp/summary.txt" |
    sed -E 's/.*fixed ([0-9]+) findings? in ([0-9]+) files? \(([0-9]+) rounds?.*; ([0-9]+) findings? left/\1 \2 \3 \4/')
  [ "$files" = "$changed" ] || { echo "summary says $files files, diff says $changed" >&2; exit 1; }
  /usr/bin/time -f "%e" -o "$tmp/time2.txt" "$kspm" fix --dry-run "$tmp/corpus" >"$tmp/diff.txt" 2>/dev/null ||
    { echo "second run would change something:" >&2; head -n 40 "$tmp/diff.txt" >&2; exit 1; }
  second=$(tail -n 1 "$tmp/time2.txt")
  rm -rf "$tmp"
done
echo "| input | fix: wall (best of $runs) | CPU user | peak RSS | --dry-run wall | files changed | findings fixed | rounds | left | second run (no change) |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
printf "| shared/realworld, default rules | %.2f s | %.2f s | %d MB | %.2f s | %s | %s | %s | %s | %.2f s |\n" \
  "$best_wall" "$best_user" $((best_rss / 1024)) "$dry" "$changed" "$fixed" "$rounds" "$left" "$second"

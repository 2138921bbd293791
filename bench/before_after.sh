#!/usr/bin/env bash
# Compares two kspm binaries on the same corpora, alternating runs so that both see the same
# machine load: wall, CPU (user + system, which load disturbs less) and peak RSS of each run,
# then checks that their JSON reports are byte for byte the same.
# usage: bench/before_after.sh OLD_KSPM NEW_KSPM [RUNS=3]
#   corpora: $BENCH_DIR/gen-10000 and gen-100000 (default rules), ../shared/realworld
#   (--select all); reports compared: examples/ (default, and --select all --show-suppressed),
#   gen-10000 and realworld (--select all --show-suppressed).
set -euo pipefail
cd "$(dirname "$0")/.."
old=$1 new=$2 runs=${3:-3}
work=${BENCH_DIR:-target/bench-corpus}
realworld=${REALWORLD:-../shared/realworld}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

run() { # label, binary, args...
  local label=$1 bin=$2; shift 2
  /usr/bin/time -f "%e %U %S %M" -o "$out/t" "$bin" scan "$@" -f json -o /dev/null >/dev/null 2>&1 || true
  read -r wall user sys rss < <(tail -n 1 "$out/t")
  printf "| %s | %s | %.2f s | %.2f s | %d MB | %s |\n" "$label" "$(basename "$bin")" "$wall" \
    "$(awk "BEGIN{print $user + $sys}")" $((rss / 1024)) "$(cut -d' ' -f1 /proc/loadavg)"
}

echo "| input | binary | wall | CPU (user+sys) | peak RSS | load |"
echo "|---|---|---:|---:|---:|---:|"
for n in 10000 100000; do
  for _ in $(seq "$runs"); do
    run "gen-$n, default rules" "$old" "$work/gen-$n"
    run "gen-$n, default rules" "$new" "$work/gen-$n"
  done
done
if [ -d "$realworld" ]; then
  for _ in $(seq "$runs"); do
    run "realworld, --select all" "$old" "$realworld" --select all
    run "realworld, --select all" "$new" "$realworld" --select all
  done
fi

same() { # name, args...
  local name=$1; shift
  "$old" scan "$@" -f json -o "$out/old.json" >/dev/null 2>&1 || true
  "$new" scan "$@" -f json -o "$out/new.json" >/dev/null 2>&1 || true
  if cmp -s "$out/old.json" "$out/new.json"; then
    echo "same report: $name ($(wc -c <"$out/new.json") bytes)"
  else
    echo "DIFFERENT report: $name"
    return 1
  fi
}
same "examples" examples
same "examples --select all --show-suppressed" examples --select all --show-suppressed
same "gen-10000 --select all --show-suppressed" "$work/gen-10000" --select all --show-suppressed
if [ -d "$realworld" ]; then
  same "realworld --select all --show-suppressed" "$realworld" --select all --show-suppressed
fi

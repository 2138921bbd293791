#!/usr/bin/env bash
# Every report format of one corpus, two kspm binaries side by side: alternating runs (so both
# see the same machine load) give wall, CPU (user + system) and peak RSS per format, then one
# report of each format from each binary is compared byte for byte.
# usage: bench/formats.sh OLD_KSPM NEW_KSPM [RUNS=3]   (corpus: $CORPUS, default gen-100000)
set -euo pipefail
cd "$(dirname "$0")/.."
old=$1 new=$2 runs=${3:-3}
corpus=${CORPUS:-${BENCH_DIR:-target/bench-corpus}/gen-100000}
[ -d "$corpus" ] || python3 bench/gen_corpus.py 100000 "$corpus"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

run() { # format, binary
  /usr/bin/time -f "%e %U %S %M" -o "$out/t" "$2" scan "$corpus" -f "$1" -o /dev/null >/dev/null 2>&1 || true
  read -r wall user sys rss < <(tail -n 1 "$out/t")
  printf "| %s | %s | %.2f s | %.2f s | %d MB |\n" "$1" "$(basename "$2")" "$wall" \
    "$(awk "BEGIN{print $user + $sys}")" $((rss / 1024))
}

echo "corpus: $corpus; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| format | binary | wall | CPU (user+sys) | peak RSS |"
echo "|---|---|---:|---:|---:|"
for format in json sarif junit table html markdown; do
  for _ in $(seq "$runs"); do
    run "$format" "$old"
    run "$format" "$new"
  done
done
echo
for format in json sarif junit table html markdown; do
  "$old" scan "$corpus" -f "$format" -o "$out/old" >/dev/null 2>&1 || true
  "$new" scan "$corpus" -f "$format" -o "$out/new" >/dev/null 2>&1 || true
  if cmp -s "$out/old" "$out/new"; then
    echo "$format: the same bytes ($(stat -c %s "$out/new") bytes)"
  else
    echo "$format: DIFFERENT"
  fi
  rm -f "$out/old" "$out/new"
done

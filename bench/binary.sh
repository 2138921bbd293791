#!/usr/bin/env bash
# Size, linkage and startup time of a kspm binary, for docs/BENCHMARKS.md ("Release binary").
# Startup: wall time of `kspm version`, 100 runs after 5 warm-up runs; min, median and mean.
#
# Usage: bench/binary.sh [BINARY]   (default: the static release binary scripts/release builds)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-dist/stage-amd64/kspm}
echo "binary:  $bin"
echo "file:    $(file -b "$bin" | cut -d, -f1-5)"
echo "ldd:     $(ldd "$bin" 2>&1 | head -1 | sed 's/^[[:space:]]*//')"
echo "size:    $(stat -c %s "$bin") bytes ($(( $(stat -c %s "$bin") / 1024 / 1024 )) MiB)"
echo "gzip -9: $(gzip -9 -c "$bin" | wc -c) bytes"
python3 - "$bin" <<'PY'
import statistics, subprocess, sys, time
cmd = [sys.argv[1], "version"]
for _ in range(5):
    subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
runs = []
for _ in range(100):
    t = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
    runs.append((time.perf_counter() - t) * 1000)
print(f"startup: `kspm version` min {min(runs):.2f} ms, median {statistics.median(runs):.2f} ms, "
      f"mean {statistics.mean(runs):.2f} ms (100 runs)")
PY

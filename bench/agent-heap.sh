#!/usr/bin/env bash
# Where the agent's memory goes at steady state: bench/agent.sh (CHANGES single changes, no
# churn) with the agent under heaptrack, killed with SIGKILL at the end so that everything still
# allocated is reported as "leaked", then grouped by what holds it. Needs heaptrack; builds the
# system-allocator variant (`--features system-alloc`: heaptrack hooks malloc, which mimalloc
# bypasses) and keeps it as target/kspm-system-alloc (the next plain build restores
# target/release/kspm).
# usage: bench/agent-heap.sh [COUNT=13000] [CHANGES=5]
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-13000}
changes=${2:-5}
cargo build --release -p kspm --locked --features system-alloc >/dev/null 2>&1
cp target/release/kspm target/kspm-system-alloc
work=${BENCH_DIR:-target/bench-corpus}
mkdir -p "$work"
out="$PWD/$work/agent-heap"
rm -f "$out".*
wrapper="$PWD/$work/kspm-heaptrack"
bin="$PWD/target/kspm-system-alloc"
cat > "$wrapper" <<SH
#!/usr/bin/env bash
heaptrack -o "$out" "$bin" "\$@" &
hp=\$!
trap 'pkill -KILL -f "^$bin agent"; wait \$hp' TERM INT
wait \$hp
SH
chmod +x "$wrapper"
CHURN_SECONDS=0 KSPM_BIN="$wrapper" bench/agent.sh "$count" "$changes" >/dev/null
heaptrack_print --print-leaks 1 --print-peaks 0 --print-allocators 0 --print-temporary 0 \
  --peak-limit 100000 --sub-peak-limit 100000 "$out".zst 2>/dev/null > "$out.leaks.txt"
heaptrack_print "$out".zst 2>/dev/null | grep -E "^peak heap memory consumption|^total memory leaked"
python3 - "$out.leaks.txt" <<'PY'
import collections, re, sys
def size(s):
    m = re.match(r"\s*([0-9.]+)([KMG]?)", s)
    return float(m.group(1)) * {"": 1, "K": 1e3, "M": 1e6, "G": 1e9}[m.group(2)]
blocks, cur, frames = [], None, []
for line in open(sys.argv[1]):
    m = re.match(r"^\s*([0-9.]+[KMG]?B?) leaked over \d+ calls from:$", line)
    if m:
        if cur is not None:
            blocks.append((cur, frames))
        cur, frames = size(m.group(1)), []
        continue
    m = re.search(r"at (crates/\S+)", line)
    if m and cur is not None:
        frames.append(m.group(1))
if cur is not None:
    blocks.append((cur, frames))
what = collections.Counter()
for sz, fr in blocks:
    s = " ".join(fr)
    if "kspm_agent/src/state.rs" in s and "kspm_cluster/src/live.rs" in s:
        k = "objects held as the rules' resources (kspm_model::Node trees)"
    elif "kspm_rules" in s or "kspm_model/src/finding.rs" in s:
        k = "findings of the last judgement"
    elif "kspm_rbac" in s or "kspm_network" in s or "kspm_model/src/index.rs" in s:
        k = "derived facts (RBAC model and graph, network, index)"
    elif "kspm_store" in s:
        k = "store"
    elif "kspm_agent/src/state.rs" in s:
        k = "bookkeeping of held objects (uids, versions, namespaces)"
    else:
        k = "other (runtime, client, engine)"
    what[k] += sz
print("| held at steady state | MB |")
print("|---|---:|")
for k, v in what.most_common():
    print(f"| {k} | {v / 1e6:.1f} |")
PY

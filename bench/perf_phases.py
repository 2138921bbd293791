#!/usr/bin/env python3
"""Splits a `perf` profile of `kspm scan` into the scan's phases (CPU samples, all threads).

usage:
  perf record -F 99 --call-graph dwarf,16384 -o perf.data \
      target/release/kspm scan target/bench-corpus/gen-100000 -f json -o /dev/null
  perf script -i perf.data | python3 bench/perf_phases.py

A sample counts for the first phase (in the order below) whose marker is a function on its
stack; needs the release profile's line tables (`debug = "line-tables-only"`).
"""
import collections
import sys

PHASES = [
    ("report (JSON writer)", "kspm_report::json"),
    ("report (other formats)", "kspm_report::"),
    ("finish: fold", "fold_findings"),
    ("finish: risk", "kspm_engine::risk::assign"),
    ("finish: exceptions", "kspm_engine::exceptions"),
    ("finish: sort", "sort_by"),
    ("finish: compliance", "kspm_engine::compliance"),
    ("finish: other", "Evaluation::finish"),
    ("parse (YAML to tree)", "parse_stream_at"),
    ("parse (YAML to tree)", "parse_chunk"),
    ("split documents", "split_documents"),
    ("rules", "check_resource_into"),
    ("check: other (limits, facts)", "check_one"),
    ("join parts", "Part::concat"),
    ("join parts", "Part::merge"),
    ("index", "Index::build"),
    ("read files", "read_all"),
    ("rules after every workload", "after_workloads"),
    ("RBAC model", "learn_rbac"),
    ("free memory", "drop_in_place"),
]


def main():
    counts = collections.Counter()
    total = 0
    stack = []

    def flush():
        nonlocal total
        if not stack:
            return
        total += 1
        text = "\n".join(stack)
        for name, marker in PHASES:
            if marker in text:
                counts[name] += 1
                break
        else:
            counts["other"] += 1

    for line in sys.stdin:
        if not line.strip():
            flush()
            stack = []
        elif line[0] in " \t":
            stack.append(line.strip())
    flush()
    for name, n in counts.most_common():
        print(f"{100 * n / max(total, 1):5.1f} %  {name}")
    print(f"{total} samples")


if __name__ == "__main__":
    main()

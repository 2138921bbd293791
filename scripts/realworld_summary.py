#!/usr/bin/env python3
"""Scans the real-world manifest corpus and prints findings per rule as a Markdown table.

usage: scripts/realworld_summary.py [--realworld ../shared/realworld] [--kspm target/release/kspm]
Used for docs/realworld.md: the false-positive review reads these findings rule by rule.
"""
import argparse
import collections
import json
import subprocess
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--realworld", default="../shared/realworld")
    ap.add_argument("--kspm", default="target/release/kspm")
    args = ap.parse_args()
    out = subprocess.run([args.kspm, "scan", args.realworld, "--format", "json"],
                         capture_output=True, text=True)
    if out.returncode not in (0, 1, 2):
        sys.exit(f"kspm failed ({out.returncode}): {out.stderr}")
    report = json.loads(out.stdout)
    s = report["summary"]
    print(f"`kspm scan {args.realworld}` (default rules): {s['resources']} objects from {s['sources']} "
          f"files, {s['findings']} findings, {s['errors']} diagnostics "
          f"({sum(1 for e in report['errors'] if e['level'] == 'error')} errors).\n")
    per_rule = collections.Counter()
    objects = collections.defaultdict(set)
    meta = {}
    for f in report["findings"]:
        per_rule[f["rule"]] += 1
        r = f["resource"]
        objects[f["rule"]].add((f["source"]["file"], r["kind"], r["namespace"], r["name"]))
        meta[f["rule"]] = (f["slug"], f["severity"])
    print("| rule | slug | severity | findings | objects |")
    print("|---|---|---|---:|---:|")
    for code in sorted(per_rule):
        slug, sev = meta[code]
        print(f"| {code} | {slug} | {sev} | {per_rule[code]} | {len(objects[code])} |")
    diags = collections.Counter(e["message"].split(" (first at")[0] for e in report["errors"])
    if diags:
        print("\nDiagnostics:\n")
        for msg, n in diags.most_common():
            print(f"- {n} × {msg}")


if __name__ == "__main__":
    main()

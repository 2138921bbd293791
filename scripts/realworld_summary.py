#!/usr/bin/env python3
"""Scans the real-world manifest corpus and prints findings per rule as a Markdown table.

usage: scripts/realworld_summary.py [--realworld ../shared/realworld] [--kspm target/release/kspm]
                                    [--before BEFORE.json] [--save AFTER.json]
Used for docs/realworld.md: the false-positive review reads these findings rule by rule.
With --before (a `kspm scan --format json` report of the same corpus by another build), the
table compares the two: findings before and after, and how many of the rule's findings are now
folded into a stronger finding on the same object (still listed in that finding's `folded`).
"""
import argparse
import collections
import json
import subprocess
import sys


def scan(kspm, realworld):
    out = subprocess.run([kspm, "scan", realworld, "--format", "json"],
                         capture_output=True, text=True)
    if out.returncode not in (0, 1, 2):
        sys.exit(f"kspm failed ({out.returncode}): {out.stderr}")
    return json.loads(out.stdout)


def per_rule(report):
    count = collections.Counter()
    objects = collections.defaultdict(set)
    folded = collections.Counter()
    meta = {}
    order = ["critical", "high", "medium", "low", "info"]

    def note(code, slug, severity):
        # A rule's findings may differ in severity (narrow RBAC grants are one step lower).
        _, seen = meta.setdefault(code, (slug, set()))
        seen.add(severity)

    for f in report["findings"]:
        count[f["rule"]] += 1
        r = f["resource"]
        objects[f["rule"]].add((f["source"]["file"], r["kind"], r["namespace"], r["name"]))
        note(f["rule"], f["slug"], f["severity"])
        for x in f.get("folded", []):
            folded[x["rule"]] += 1
            note(x["rule"], x["slug"], x["severity"])
    return count, objects, folded, {
        code: (slug, ", ".join(sorted(sev, key=order.index))) for code, (slug, sev) in meta.items()
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--realworld", default="../shared/realworld")
    ap.add_argument("--kspm", default="target/release/kspm")
    ap.add_argument("--before", help="a JSON report of the same corpus to compare with")
    ap.add_argument("--save", help="also write the JSON report here")
    args = ap.parse_args()
    report = scan(args.kspm, args.realworld)
    if args.save:
        with open(args.save, "w") as f:
            json.dump(report, f)
    s = report["summary"]
    print(f"`kspm scan {args.realworld}` (default rules): {s['resources']} objects from {s['sources']} "
          f"files, {s['findings']} findings, {s['errors']} diagnostics "
          f"({sum(1 for e in report['errors'] if e['level'] == 'error')} errors).\n")
    count, objects, folded, meta = per_rule(report)
    if args.before:
        with open(args.before) as f:
            before = json.load(f)
        b_count, _, _, b_meta = per_rule(before)
        for code, m in b_meta.items():
            meta.setdefault(code, m)
        total_folded = sum(folded.values())
        sev = lambda r: ", ".join(f"{n} {k}" for k, n in r["summary"]["by_severity"].items() if n)
        print(f"Before: {before['summary']['findings']} findings ({sev(before)}); after: "
              f"{s['findings']} findings ({sev(report)}), holding {total_folded} folded ones.\n")
        print("| rule | slug | severity | before | after | folded into another | objects |")
        print("|---|---|---|---:|---:|---:|---:|")
        for code in sorted(set(count) | set(b_count) | set(folded)):
            slug, sev = meta[code]
            print(f"| {code} | {slug} | {sev} | {b_count[code]} | {count[code]} | "
                  f"{folded[code]} | {len(objects[code])} |")
    else:
        print("| rule | slug | severity | findings | objects |")
        print("|---|---|---|---:|---:|")
        for code in sorted(count):
            slug, sev = meta[code]
            print(f"| {code} | {slug} | {sev} | {count[code]} | {len(objects[code])} |")
    diags = collections.Counter(e["message"].split(" (first at")[0] for e in report["errors"])
    if diags:
        print("\nDiagnostics:\n")
        for msg, n in diags.most_common():
            print(f"- {n} × {msg}")


if __name__ == "__main__":
    main()

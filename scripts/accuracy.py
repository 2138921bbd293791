#!/usr/bin/env python3
"""Accuracy report: compare kspm with the labelled fixtures of other Kubernetes scanners.

For every upstream check that some kspm rule names in its `equivalents`, run kspm on each
labelled fixture of that check and compare our verdict with the upstream label:

- resource-granularity rows: does any mapped rule fire on that object (kind + name, and
  namespace when the label gives one; a missing namespace counts as `default`)?
- file-granularity rows: does any mapped rule fire anywhere in the file?

Rows with `config` (non-default upstream configuration) are skipped, and so are kubeaudit rows
that pass only because of a kubeaudit override label (`kubeaudit_override`), which kspm does not
honour. Explanations for the disagreements live in scripts/accuracy_notes.json, so re-running
the script regenerates the same document.

Fixtures are read in place from the corpora folder; nothing is copied into the project.

Usage: python3 scripts/accuracy.py [--corpora DIR] [--kspm PATH] [--out docs/accuracy.md]
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NOTES_FILE = Path(__file__).resolve().parent / "accuracy_notes.json"

# Prefix used in a rule's `equivalents` -> folder name under the corpora directory.
TOOLS = {
    "checkov": "checkov",
    "polaris": "polaris",
    "kube-score": "kube-score",
    "kubeaudit": "kubeaudit",
    "trivy": "trivy-checks",
}

CATEGORIES = {
    "opinion": "(a) difference of opinion: kspm's semantics are intended",
    "upstream": "(b) upstream mistake or label problem",
    "bug": "(c) kspm bug (open)",
    "mapping": "(d) mapping too loose (open)",
}


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--corpora", default=None, help="corpora folder (default: ../shared/corpora from the repo root)")
    p.add_argument("--kspm", default=None, help="kspm binary (default: target/release/kspm)")
    p.add_argument("--out", default=None, help="markdown output (default: docs/accuracy.md)")
    return p.parse_args()


def rel_or_abs(p: Path) -> str:
    try:
        return str(p.resolve().relative_to(REPO))
    except ValueError:
        return str(p)


def load_rules(kspm: str) -> list[dict]:
    out = subprocess.run([kspm, "rules", "--format", "json"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def load_labels(corpora: Path, tool_dir: str) -> list[dict]:
    path = corpora / tool_dir / "labels.jsonl"
    if not path.exists():
        return []
    with path.open() as f:
        return [json.loads(line) for line in f if line.strip()]


class Scanner:
    """Runs kspm once per fixture file and caches the parsed report."""

    def __init__(self, kspm: str, select: list[str]):
        self.kspm = kspm
        self.select = ",".join(sorted(set(select)))
        self.cache: dict[Path, dict] = {}

    def scan(self, path: Path) -> dict:
        if path not in self.cache:
            proc = subprocess.run(
                [self.kspm, "scan", str(path), "--format", "json", "--select", self.select],
                capture_output=True,
                text=True,
            )
            if proc.returncode not in (0, 1, 2):
                raise SystemExit(f"kspm failed on {path} (exit {proc.returncode}): {proc.stderr.strip()}")
            report = json.loads(proc.stdout)
            report["_exit"] = proc.returncode
            self.cache[path] = report
        return self.cache[path]


def ns_matches(label_ns: str | None, finding_ns: str | None) -> bool:
    if label_ns is None:
        return True
    return (finding_ns or "default") == label_ns


def verdict(report: dict, row: dict, codes: set[str]) -> tuple[str, list[dict]]:
    # A rule folded into a stronger finding on the same object still fired: its finding is kept
    # in the stronger one's `folded` list (one finding per problem, issue 18).
    hits = [
        f
        for f in report.get("findings", [])
        if f["rule"] in codes or any(x["rule"] in codes for x in f.get("folded", []))
    ]
    if row.get("granularity") == "resource":
        hits = [
            f
            for f in hits
            if f["resource"]["kind"] == row.get("kind")
            and f["resource"]["name"] == row.get("name")
            and ns_matches(row.get("namespace"), f["resource"].get("namespace"))
        ]
    return ("fail" if hits else "pass"), hits


def row_key(check: str, row: dict) -> str:
    key = f"{check}|{row['fixture']}"
    if row.get("granularity") == "resource":
        key += f"|{row.get('kind')}/{row.get('name')}"
    return key


def find_note(notes: dict, key: str) -> str | None:
    table = notes.get("disagreements", {})
    if key in table:
        return table[key]
    # Keys may omit the resource part, or use shell-style wildcards.
    for pattern, reason in table.items():
        if fnmatch.fnmatchcase(key, pattern) or fnmatch.fnmatchcase(key.rsplit("|", 1)[0], pattern):
            return reason
    return None


def md_escape(s: str) -> str:
    return s.replace("|", "\\|")


def main() -> int:
    args = parse_args()
    corpora = Path(args.corpora) if args.corpora else (REPO / ".." / "shared" / "corpora")
    kspm = args.kspm or str(REPO / "target" / "release" / "kspm")
    out_path = Path(args.out) if args.out else REPO / "docs" / "accuracy.md"
    notes = json.loads(NOTES_FILE.read_text()) if NOTES_FILE.exists() else {}
    reasons = notes.get("reasons", {})

    cmd = ["python3", "scripts/accuracy.py"]
    if args.corpora:
        cmd += ["--corpora", args.corpora]
    if args.kspm:
        cmd += ["--kspm", args.kspm]
    if args.out:
        cmd += ["--out", args.out]

    rules = load_rules(kspm)
    # (tool, check_id) -> [rule codes]
    mapping: dict[tuple[str, str], list[str]] = defaultdict(list)
    slug_of = {}
    unknown_tools: dict[str, list[str]] = defaultdict(list)
    for r in rules:
        slug_of[r["code"]] = r["slug"]
        for eq in r.get("equivalents", []):
            tool, _, check = eq.partition(":")
            if tool not in TOOLS:
                unknown_tools[eq].append(r["code"])
                continue
            mapping[(tool, check)].append(r["code"])

    all_codes = sorted({c for codes in mapping.values() for c in codes})
    scanner = Scanner(kspm, all_codes)

    labels = {tool: load_labels(corpora, d) for tool, d in TOOLS.items()}
    if not any(labels.values()):
        raise SystemExit(f"no labels found under {corpora}")

    per_check = {}
    disagreements = []
    skipped_config = skipped_override = 0
    unlabelled = []
    input_errors = set()
    for (tool, check), codes in sorted(mapping.items()):
        rows = []
        for row in labels[tool]:
            ids = {row["check_id"], *row.get("check_aliases", [])}
            if check in ids:
                rows.append(row)
        if not rows:
            unlabelled.append((f"{tool}:{check}", codes))
            continue
        stats = {"codes": codes, "agree": 0, "total": 0, "fp": 0, "fn": 0, "skipped": 0}
        for row in rows:
            if row.get("config"):
                skipped_config += 1
                stats["skipped"] += 1
                continue
            if row.get("kubeaudit_override"):
                skipped_override += 1
                stats["skipped"] += 1
                continue
            fixture = corpora / TOOLS[tool] / row["fixture"]
            report = scanner.scan(fixture)
            if report.get("errors"):
                input_errors.add(f"{TOOLS[tool]}/{row['fixture']}")
            ours, hits = verdict(report, row, set(codes))
            stats["total"] += 1
            if ours == row["expected"]:
                stats["agree"] += 1
                continue
            if ours == "fail":
                stats["fp"] += 1
            else:
                stats["fn"] += 1
            key = row_key(f"{tool}:{check}", row)
            disagreements.append(
                {
                    "key": key,
                    "check": f"{tool}:{check}",
                    "tool": tool,
                    "fixture": f"{TOOLS[tool]}/{row['fixture']}",
                    "object": f"{row.get('kind')}/{row.get('name')}" if row.get("granularity") == "resource" else "",
                    "expected": row["expected"],
                    "ours": ours,
                    "rules": sorted({h["rule"] for h in hits}) or codes,
                    "detail": ", ".join(row.get("codes", [])),
                    "reason": find_note(notes, key),
                }
            )
        per_check[f"{tool}:{check}"] = stats

    total = sum(s["total"] for s in per_check.values())
    agree = sum(s["agree"] for s in per_check.values())
    fp = sum(s["fp"] for s in per_check.values())
    fn = sum(s["fn"] for s in per_check.values())
    pct = (100.0 * agree / total) if total else 0.0

    by_cat = defaultdict(int)
    for d in disagreements:
        cat = reasons.get(d["reason"], {}).get("category", "unexplained") if d["reason"] else "unexplained"
        by_cat[cat] += 1

    # ---------------------------------------------------------------- markdown
    L = []
    L.append("# Accuracy against other scanners' labelled fixtures")
    L.append("")
    L.append("<!-- Generated by scripts/accuracy.py; edit scripts/accuracy_notes.json, not this file. -->")
    L.append("")
    L.append(f"Produced by `{' '.join(cmd)}` (corpora: `{'--corpora ' + args.corpora if args.corpora else '../shared/corpora'}`).")
    L.append("")
    L.append(
        "For every upstream check that a kspm rule lists in its `equivalents`, kspm is run on each "
        "fixture the upstream project labels for that check, with the mapped rules selected "
        "(`--select`, so default-off rules take part). A resource-level label agrees when a mapped "
        "rule fires on that object (kind, name, and namespace when the label has one) exactly when "
        "upstream expects a failure; a file-level label agrees when a mapped rule fires anywhere in "
        "the file exactly when upstream expects a failure. When several rules map to one upstream "
        "check, any of them firing counts as a failure."
    )
    L.append("")
    L.append("## Overall")
    L.append("")
    L.append(f"- **Agreement: {agree}/{total} ({pct:.1f}%)** over {len(per_check)} mapped upstream checks "
             f"({len(scanner.cache)} fixture files scanned).")
    L.append(f"- False positives (we flag, upstream passes): {fp}; false negatives (upstream flags, we pass): {fn}.")
    L.append(f"- Skipped: {skipped_config} rows with non-default upstream configuration (`config`), "
             f"{skipped_override} kubeaudit rows that pass only because of a kubeaudit override label "
             "(kspm does not read kubeaudit's override labels).")
    if by_cat:
        L.append("- Disagreements by category: " + ", ".join(
            f"{CATEGORIES.get(c, c)}: {n}" for c, n in sorted(by_cat.items())) + ".")
    if input_errors:
        L.append(f"- Fixtures kspm reported input errors for (the readable objects are still judged): "
                 + ", ".join(f"`{f}`" for f in sorted(input_errors)) + ".")
    L.append("")
    per_tool = defaultdict(lambda: [0, 0])
    for name, s in per_check.items():
        per_tool[name.split(":")[0]][0] += s["agree"]
        per_tool[name.split(":")[0]][1] += s["total"]
    L.append("| upstream | agree/total | % |")
    L.append("|---|---|---|")
    for tool, (a, t) in sorted(per_tool.items()):
        L.append(f"| {tool} | {a}/{t} | {100.0 * a / t if t else 0:.1f} |")
    L.append("")

    L.append("## Per upstream check")
    L.append("")
    L.append("| upstream check | kspm rule(s) | agree/total | false pos. | false neg. | skipped |")
    L.append("|---|---|---|---|---|---|")
    for name, s in sorted(per_check.items()):
        rl = ", ".join(f"{c} {slug_of[c]}" for c in s["codes"])
        if s["total"] == 0:
            L.append(f"| `{name}` | {rl} | – (all rows use a non-default configuration) | – | – | {s['skipped']} |")
            continue
        L.append(f"| `{name}` | {rl} | {s['agree']}/{s['total']} | {s['fp']} | {s['fn']} | {s['skipped']} |")
    L.append("")
    if unlabelled or unknown_tools:
        L.append("Equivalents with no labelled fixtures in the corpora, not measured (the checkov corpus leaves out checks whose "
                 "fixture-name suffixes do not match the asserted counts; kube-linter has no corpus): " + ", ".join(
            sorted([f"`{n}` ({', '.join(c)})" for n, c in unlabelled]
                   + [f"`{n}` ({', '.join(c)})" for n, c in unknown_tools.items()])) + ".")
        L.append("")

    fixed = notes.get("fixed", [])
    if fixed:
        L.append("## kspm bugs found by this comparison and fixed")
        L.append("")
        for f in fixed:
            L.append(f"- {f}")
        L.append("")
    removed = notes.get("mapping_changes", [])
    if removed:
        L.append("## Equivalents corrected after this comparison")
        L.append("")
        for f in removed:
            L.append(f"- {f}")
        L.append("")

    L.append("## Disagreements")
    L.append("")
    if not disagreements:
        L.append("None.")
    groups = defaultdict(list)
    for d in disagreements:
        groups[d["reason"]].append(d)
    order = sorted(groups, key=lambda r: (r is None, reasons.get(r, {}).get("category", "zz") if r else "zz",
                                          -len(groups[r]), r or ""))
    for r in order:
        items = groups[r]
        if r is None:
            L.append("### Unexplained")
            L.append("")
        else:
            info = reasons.get(r, {})
            L.append(f"### {info.get('title', r)}")
            L.append("")
            L.append(f"*Category: {CATEGORIES.get(info.get('category'), info.get('category', '?'))}.* "
                     f"{info.get('text', '')}")
            L.append("")
        L.append("| upstream check | fixture | object | upstream | kspm | kspm rule(s) |")
        L.append("|---|---|---|---|---|---|")
        for d in sorted(items, key=lambda d: (d["check"], d["fixture"], d["object"])):
            up = d["expected"] + (f" ({d['detail']})" if d["detail"] else "")
            L.append(f"| `{d['check']}` | `{md_escape(d['fixture'])}` | {md_escape(d['object']) or '(file)'} | "
                     f"{up} | {d['ours']} | {', '.join(d['rules'])} |")
        L.append("")

    text = "\n".join(L).rstrip() + "\n"
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(text)

    # ---------------------------------------------------------------- stdout
    print(f"kspm accuracy: {agree}/{total} agree ({pct:.1f}%), {fp} false positives, {fn} false negatives")
    print(f"skipped: {skipped_config} config rows, {skipped_override} kubeaudit-override rows")
    for name, s in sorted(per_check.items()):
        if s["total"] == 0:
            print(f"  {name:60s}   (all {s['skipped']} rows skipped)")
            continue
        flag = "" if s["agree"] == s["total"] else "  <--"
        print(f"  {name:60s} {s['agree']:3d}/{s['total']:<3d} fp={s['fp']} fn={s['fn']}{flag}")
    unexplained = [d for d in disagreements if d["reason"] is None or d["reason"] not in reasons]
    print(f"disagreements: {len(disagreements)} ({len(unexplained)} unexplained)")
    for d in unexplained:
        print(f"  UNEXPLAINED {d['key']} expected={d['expected']} ours={d['ours']} rules={','.join(d['rules'])}")
    used = {d["reason"] for d in disagreements}
    stale = sorted(set(reasons) - used)
    if stale:
        print(f"note: reasons no disagreement uses any more (fixed?): {', '.join(stale)}")
    print(f"wrote {rel_or_abs(out_path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Writes kspm's krew plugin manifest (plugins/kspm.yaml in a krew index) for a release archive.

The fields are krew's `Plugin` type (sigs.k8s.io/krew pkg/index/types.go) and what its
validation (pkg/index/validation) requires: apiVersion krew.googlecontainertools.github.com/v1alpha2,
kind Plugin, metadata.name equal to the file's name, spec.version a semantic version with a
leading `v`, a shortDescription, and per platform a uri, the archive's sha256, a selector on
os/arch, the files to copy and the bin to link as `kubectl-kspm`.

    scripts/krew-manifest.py --version 0.1.0 --uri URL --archive ARCHIVE.tar.gz > kspm.yaml
    scripts/krew-manifest.py --version 0.1.0 --uri URL --sha256 HEX > kspm.yaml
    scripts/krew-manifest.py --version 0.1.0 --arch amd64 --uri URL1 --archive A1.tar.gz \
        --arch arm64 --uri URL2 --archive A2.tar.gz > kspm.yaml

With --archive the sha256 is computed and the archive is checked to hold the binary. One
platform per --uri (linux/amd64 unless --arch says otherwise, one --arch per --uri).
Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
import tarfile

HOMEPAGE = "https://example.invalid/kspm"
# What every archive holds at its root, and krew copies: the binary first.
FILES = ["kspm", "README.md", "LICENSE"]
SHORT = "Find and fix risky Kubernetes settings in clusters"
DESCRIPTION = """\
kspm scans the live cluster of the current context (`kubectl kspm scan --cluster`) or
manifests, Helm charts and Kustomize output, for risky settings: privileged or host-namespace
pods, wildcard RBAC, missing NetworkPolicies, deprecated APIs and more, each with the evidence,
the fix and its CIS, NSA-CISA, Pod Security Standards and MITRE ATT&CK controls."""


def checked_sha(item: str, is_archive: bool) -> str:
    """The sha256 of an archive (checked to hold the binary), or a given sha256 checked."""
    if is_archive:
        with open(item, "rb") as f:
            sha = hashlib.sha256(f.read()).hexdigest()
        try:
            with tarfile.open(item, "r:gz") as tar:
                names = {m.name.removeprefix("./") for m in tar.getmembers() if m.isfile()}
        except (OSError, tarfile.TarError) as e:
            sys.exit(f"krew-manifest: {item} is not a .tar.gz: {e}")
        for needed in FILES:
            if needed not in names:
                sys.exit(f"krew-manifest: {item} has no `{needed}` at its root: {sorted(names)}")
    else:
        sha = item.lower()
    if not re.fullmatch(r"[a-f0-9]{64}", sha):
        sys.exit(f"krew-manifest: {sha!r} is not a sha256")
    return sha


def platform(arch: str, uri: str, sha: str) -> str:
    if not uri.startswith("https://"):
        sys.exit(f"krew-manifest: the uri must be https: {uri}")
    return f"""  - selector:
      matchLabels:
        os: linux
        arch: {arch}
    uri: {uri}
    sha256: {sha}
    bin: kspm
    files:
""" + "".join(f"    - from: {f}\n      to: .\n" for f in FILES)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", required=True, help="the release version (with or without v)")
    parser.add_argument("--uri", required=True, action="append", help="where the archive is downloaded from")
    parser.add_argument("--arch", action="append", help="the platform's architecture (amd64, arm64)")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--archive", action="append", help="the .tar.gz: its sha256 is computed, its files checked")
    group.add_argument("--sha256", action="append", help="the archive's sha256 (64 hex digits)")
    args = parser.parse_args()
    archs = args.arch or ["amd64"]
    given = args.archive or args.sha256
    if not (len(args.uri) == len(archs) == len(given)):
        sys.exit("krew-manifest: give one --uri, one --arch and one --archive/--sha256 per platform")
    if len(set(archs)) != len(archs):
        sys.exit(f"krew-manifest: an architecture is given twice: {archs}")
    if not all(re.fullmatch(r"[a-z0-9]+", a) for a in archs):
        sys.exit(f"krew-manifest: not an architecture: {archs}")

    version = args.version if args.version.startswith("v") else "v" + args.version
    if not re.fullmatch(r"v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?", version):
        sys.exit(f"krew-manifest: {args.version!r} is not a semantic version")
    platforms = []
    for arch, uri, item in zip(archs, args.uri, given):
        platforms.append(platform(arch, uri, checked_sha(item, bool(args.archive))))

    description = "".join(f"    {line}\n" for line in DESCRIPTION.splitlines())
    sys.stdout.write(
        f"""apiVersion: krew.googlecontainertools.github.com/v1alpha2
kind: Plugin
metadata:
  name: kspm
spec:
  version: {version}
  homepage: {HOMEPAGE}
  shortDescription: {SHORT}
  description: |
{description}  caveats: |
    Read-only access is enough for `kspm scan --cluster`; deploy/kspm-scanner-rbac.yaml in the
    repository is a least-privilege ClusterRole for it.
  platforms:
{"".join(platforms)}"""
    )


if __name__ == "__main__":
    main()

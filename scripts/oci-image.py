#!/usr/bin/env python3
"""Builds kspm's container image without Docker: an OCI image layout and a `docker load` tarball.

The image holds one layer: the (static) kspm binary at /usr/local/bin/kspm, the system's CA
certificates, /etc/passwd and /etc/group naming a non-root user (uid/gid 65532), and an empty
/tmp. No shell, no package manager. The config runs kspm as 65532:65532 with kspm as the
entrypoint, and carries the OCI labels (source, version, revision, licenses).

Reproducible: every file has the same mtime (SOURCE_DATE_EPOCH, else the last commit's time, else
0), entries are sorted, owners are 0/0 with no names, gzip has no name and mtime 0, JSON keys are
sorted. The same binary and arguments give the same digests.

    scripts/oci-image.py --binary PATH --version V --revision SHA \
        --layout DIR [--docker-tar FILE] [--tag NAME:TAG]
    scripts/oci-image.py --check DIR     # validate a layout written by this script

Python 3.11 standard library only. Specs followed: OCI image-layout, image-index, image-manifest
and image-config (v1.1), and Docker's `docker save` format (manifest.json + repositories), whose
`Config` and `Layers` entries point into the same blobs/ so one tarball is both.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import zlib
from datetime import datetime, timezone
from pathlib import Path

MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
UID = 65532
ENTRYPOINT = "/usr/local/bin/kspm"
SOURCE = "https://example.invalid/kspm"
LICENSE = "Apache-2.0"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"

PASSWD = "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
GROUP = "root:x:0:\nnonroot:x:65532:\n"


def epoch() -> int:
    if os.environ.get("SOURCE_DATE_EPOCH"):
        return int(os.environ["SOURCE_DATE_EPOCH"])
    try:
        out = subprocess.run(
            ["git", "log", "-1", "--format=%ct"], capture_output=True, text=True, check=True
        )
        return int(out.stdout.strip())
    except (OSError, subprocess.CalledProcessError, ValueError):
        return 0


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical(obj: object) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def tar_bytes(entries: list[tuple[str, int, bytes | None]], mtime: int) -> bytes:
    """A tar of (path, mode, contents or None for a directory), sorted, owned by 0/0."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, mode, data in sorted(entries, key=lambda e: e[0]):
            info = tarfile.TarInfo(path)
            info.mode = mode
            info.mtime = mtime
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def gzip_bytes(data: bytes) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=6) as gz:
        gz.write(data)
    return buf.getvalue()


def rootfs(binary: bytes, ca: bytes) -> list[tuple[str, int, bytes | None]]:
    return [
        ("etc", 0o755, None),
        ("etc/group", 0o644, GROUP.encode()),
        ("etc/passwd", 0o644, PASSWD.encode()),
        ("etc/ssl", 0o755, None),
        ("etc/ssl/certs", 0o755, None),
        ("etc/ssl/certs/ca-certificates.crt", 0o644, ca),
        ("tmp", 0o1777, None),
        ("usr", 0o755, None),
        ("usr/local", 0o755, None),
        ("usr/local/bin", 0o755, None),
        ("usr/local/bin/kspm", 0o755, binary),
    ]


def build(args: argparse.Namespace) -> dict[str, str]:
    mtime = epoch()
    created = datetime.fromtimestamp(mtime, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    binary = Path(args.binary).read_bytes()
    ca = Path(args.ca_bundle).read_bytes()
    layer_tar = tar_bytes(rootfs(binary, ca), mtime)
    layer = gzip_bytes(layer_tar)
    labels = {
        "org.opencontainers.image.created": created,
        "org.opencontainers.image.licenses": LICENSE,
        "org.opencontainers.image.revision": args.revision,
        "org.opencontainers.image.source": args.source,
        "org.opencontainers.image.title": "kspm",
        "org.opencontainers.image.version": args.version,
    }
    config = canonical(
        {
            "architecture": "amd64",
            "os": "linux",
            "created": created,
            "config": {
                "User": f"{UID}:{UID}",
                "Entrypoint": [ENTRYPOINT],
                "Cmd": ["--help"],
                "Env": [
                    "PATH=/usr/local/bin",
                    f"SSL_CERT_FILE={CA_BUNDLE}",
                ],
                "WorkingDir": "/",
                "Labels": labels,
            },
            "rootfs": {"type": "layers", "diff_ids": [sha256(layer_tar)]},
            "history": [{"created": created, "created_by": "scripts/oci-image.py"}],
        }
    )
    manifest = canonical(
        {
            "schemaVersion": 2,
            "mediaType": MT_MANIFEST,
            "config": {"mediaType": MT_CONFIG, "digest": sha256(config), "size": len(config)},
            "layers": [{"mediaType": MT_LAYER, "digest": sha256(layer), "size": len(layer)}],
            "annotations": labels,
        }
    )
    name, _, tag = args.tag.rpartition(":")
    if not name or not tag:
        sys.exit(f"oci-image: --tag must be NAME:TAG, not {args.tag!r}")
    index = canonical(
        {
            "schemaVersion": 2,
            "mediaType": MT_INDEX,
            "manifests": [
                {
                    "mediaType": MT_MANIFEST,
                    "digest": sha256(manifest),
                    "size": len(manifest),
                    "platform": {"architecture": "amd64", "os": "linux"},
                    "annotations": {
                        "io.containerd.image.name": args.tag,
                        "org.opencontainers.image.ref.name": tag,
                    },
                }
            ],
        }
    )
    blobs = {sha256(b): b for b in (config, manifest, layer)}
    files: dict[str, bytes] = {
        "oci-layout": canonical({"imageLayoutVersion": "1.0.0"}),
        "index.json": index,
    }
    for digest, data in blobs.items():
        files["blobs/sha256/" + digest.removeprefix("sha256:")] = data

    out = Path(args.layout)
    out.mkdir(parents=True, exist_ok=True)
    for rel, data in files.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    if args.docker_tar:
        docker = dict(files)
        docker["manifest.json"] = canonical(
            [
                {
                    "Config": "blobs/sha256/" + sha256(config).removeprefix("sha256:"),
                    "RepoTags": [args.tag],
                    "Layers": ["blobs/sha256/" + sha256(layer).removeprefix("sha256:")],
                }
            ]
        )
        docker["repositories"] = canonical({name: {tag: sha256(layer).removeprefix("sha256:")}})
        dirs = {"blobs", "blobs/sha256"}
        entries = [(d, 0o755, None) for d in dirs] + [(p, 0o644, d) for p, d in docker.items()]
        Path(args.docker_tar).write_bytes(tar_bytes(entries, mtime))

    problems = check(out)
    if problems:
        sys.exit("oci-image: the layout just written is invalid:\n" + "\n".join(problems))
    return {"manifest": sha256(manifest), "config": sha256(config), "layer": sha256(layer)}


def check(layout: Path) -> list[str]:
    """Validates a layout against the OCI specs' required fields; returns the problems."""
    problems: list[str] = []

    def load(rel: str) -> object:
        try:
            return json.loads((layout / rel).read_bytes())
        except (OSError, ValueError) as e:
            problems.append(f"{rel}: {e}")
            return None

    def blob(desc: object, want_type: str, where: str) -> bytes | None:
        if not isinstance(desc, dict):
            problems.append(f"{where}: not a descriptor")
            return None
        if desc.get("mediaType") != want_type:
            problems.append(f"{where}: mediaType {desc.get('mediaType')!r}, want {want_type}")
        digest, size = desc.get("digest", ""), desc.get("size")
        if not isinstance(digest, str) or not digest.startswith("sha256:"):
            problems.append(f"{where}: digest {digest!r} is not sha256")
            return None
        try:
            data = (layout / "blobs/sha256" / digest.removeprefix("sha256:")).read_bytes()
        except OSError as e:
            problems.append(f"{where}: {e}")
            return None
        if sha256(data) != digest:
            problems.append(f"{where}: blob content does not match {digest}")
        if size != len(data):
            problems.append(f"{where}: size {size}, blob has {len(data)} bytes")
        return data

    if load("oci-layout") != {"imageLayoutVersion": "1.0.0"}:
        problems.append("oci-layout: imageLayoutVersion must be 1.0.0")
    index = load("index.json")
    if not isinstance(index, dict) or index.get("schemaVersion") != 2:
        problems.append("index.json: schemaVersion must be 2")
        return problems
    if index.get("mediaType") != MT_INDEX:
        problems.append(f"index.json: mediaType must be {MT_INDEX}")
    manifests = index.get("manifests")
    if not isinstance(manifests, list) or not manifests:
        problems.append("index.json: no manifests")
        return problems
    for i, desc in enumerate(manifests):
        data = blob(desc, MT_MANIFEST, f"index.json manifests[{i}]")
        if data is None:
            continue
        manifest = json.loads(data)
        if manifest.get("schemaVersion") != 2 or manifest.get("mediaType") != MT_MANIFEST:
            problems.append(f"manifest {desc['digest']}: schemaVersion 2 and mediaType required")
        config_data = blob(manifest.get("config"), MT_CONFIG, "manifest config")
        layers = manifest.get("layers")
        if not isinstance(layers, list) or not layers:
            problems.append("manifest: no layers")
            continue
        diff_ids = []
        for j, layer_desc in enumerate(layers):
            layer = blob(layer_desc, MT_LAYER, f"manifest layers[{j}]")
            if layer is not None:
                try:
                    diff_ids.append(sha256(gzip.decompress(layer)))
                except (OSError, EOFError, zlib.error) as e:
                    problems.append(f"manifest layers[{j}]: not gzip: {e}")
        if config_data is None:
            continue
        config = json.loads(config_data)
        for key in ("architecture", "os", "rootfs"):
            if key not in config:
                problems.append(f"config: {key} missing")
        rootfs_ = config.get("rootfs", {})
        if rootfs_.get("type") != "layers" or rootfs_.get("diff_ids") != diff_ids:
            problems.append("config: rootfs.diff_ids do not match the uncompressed layers")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", metavar="LAYOUT", help="only validate an existing layout")
    parser.add_argument("--binary", help="the kspm binary to put at " + ENTRYPOINT)
    parser.add_argument("--version", help="org.opencontainers.image.version")
    parser.add_argument("--revision", help="org.opencontainers.image.revision (git commit)")
    parser.add_argument("--source", default=SOURCE, help="org.opencontainers.image.source")
    parser.add_argument("--layout", help="directory to write the OCI image layout to")
    parser.add_argument("--docker-tar", help="also write a `docker load` tarball here")
    parser.add_argument("--tag", help="NAME:TAG for docker load [default: kspm:VERSION]")
    parser.add_argument("--ca-bundle", default=CA_BUNDLE, help="CA certificates to include")
    args = parser.parse_args()
    if args.check:
        problems = check(Path(args.check))
        if problems:
            sys.exit("\n".join(problems))
        print(f"oci-image: {args.check} is a valid OCI image layout")
        return
    for required in ("binary", "version", "revision", "layout"):
        if not getattr(args, required):
            parser.error(f"--{required} is required")
    args.tag = args.tag or f"kspm:{args.version}"
    digests = build(args)
    print(json.dumps(digests, sort_keys=True))


if __name__ == "__main__":
    main()

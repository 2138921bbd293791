//! What `scripts/release` ships beyond the binary: the krew plugin manifest
//! (`scripts/krew-manifest.py`) and the container image built without Docker
//! (`scripts/oci-image.py`). Both scripts are driven for real here, with the debug binary standing
//! in for the release one, and their output is checked independently of the scripts' own checks:
//! against krew's `Plugin` type and validation, the OCI image-layout / manifest / config specs,
//! and by running kspm from the image's root filesystem under `chroot`.

mod support;
use support::{repo_root, stderr, stdout};

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(out.status.success(), "{cmd:?} failed:\n{}", stderr(&out));
    stdout(&out)
}

fn sha256_file(path: &Path) -> String {
    let out = ok(Command::new("sha256sum").arg(path));
    out.split_whitespace().next().unwrap().to_owned()
}

fn python(script: &str) -> Command {
    let mut cmd = Command::new("python3");
    cmd.arg(repo_root().join("scripts").join(script));
    cmd
}

fn yaml_to_json(text: &str) -> Value {
    let (docs, errors) = kspm_model::yaml::parse_stream(text, &kspm_model::yaml::Limits::default());
    assert!(errors.is_empty(), "{errors:?}\n{text}");
    assert_eq!(docs.len(), 1, "one document:\n{text}");
    docs[0].root.to_json()
}

fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object()
        .unwrap_or_else(|| panic!("not a mapping: {v}"))
        .keys()
        .map(String::as_str)
        .collect()
}

fn subset(have: &BTreeSet<&str>, allowed: &[&str], what: &str) {
    let allowed: BTreeSet<&str> = allowed.iter().copied().collect();
    let unknown: Vec<_> = have.difference(&allowed).collect();
    assert!(
        unknown.is_empty(),
        "{what}: fields krew does not know: {unknown:?}"
    );
}

/// A release-shaped archive: `kspm`, README.md and LICENSE at the root.
fn archive(dir: &Path, with_binary: bool) -> PathBuf {
    let stage = dir.join(if with_binary { "stage" } else { "stage-empty" });
    std::fs::create_dir_all(&stage).unwrap();
    std::fs::copy(repo_root().join("README.md"), stage.join("README.md")).unwrap();
    std::fs::copy(repo_root().join("LICENSE"), stage.join("LICENSE")).unwrap();
    let mut members = vec!["README.md", "LICENSE"];
    if with_binary {
        std::fs::write(stage.join("kspm"), b"stand-in for the binary").unwrap();
        members.push("kspm");
    }
    let path = dir.join(if with_binary {
        "kspm.tar.gz"
    } else {
        "empty.tar.gz"
    });
    ok(Command::new("tar")
        .arg("-C")
        .arg(&stage)
        .arg("-czf")
        .arg(&path)
        .args(members));
    path
}

/// The manifest carries exactly the fields of krew's `Plugin` type (pkg/index/types.go) and
/// passes what krew's `ValidatePlugin` checks (pkg/index/validation/validate.go), with the
/// archive's real sha256 and a `bin` the archive holds.
#[test]
fn krew_manifest_has_krews_fields_and_the_archives_sha256() {
    let dir = tempfile::tempdir().unwrap();
    let tarball = archive(dir.path(), true);
    let uri = "https://example.invalid/kspm/releases/download/v0.1.0/kspm.tar.gz";
    let text = ok(python("krew-manifest.py")
        .args([
            "--version",
            env!("CARGO_PKG_VERSION"),
            "--uri",
            uri,
            "--archive",
        ])
        .arg(&tarball));
    let m = yaml_to_json(&text);

    subset(
        &keys(&m),
        &["apiVersion", "kind", "metadata", "spec"],
        "Plugin",
    );
    assert_eq!(
        m["apiVersion"],
        "krew.googlecontainertools.github.com/v1alpha2"
    );
    assert_eq!(m["kind"], "Plugin");
    // krew: the name matches the manifest's file name (plugins/kspm.yaml) and ^[\w-]+$.
    assert_eq!(m["metadata"]["name"], "kspm");

    let spec = &m["spec"];
    subset(
        &keys(spec),
        &[
            "version",
            "shortDescription",
            "description",
            "caveats",
            "homepage",
            "platforms",
        ],
        "PluginSpec",
    );
    assert_eq!(spec["version"], format!("v{}", env!("CARGO_PKG_VERSION")));
    let short = spec["shortDescription"].as_str().unwrap();
    assert!(!short.is_empty() && short.len() <= 60, "{short}");
    assert!(spec["homepage"].as_str().unwrap().starts_with("https://"));

    let platforms = spec["platforms"].as_array().unwrap();
    assert!(!platforms.is_empty());
    let listed = ok(Command::new("tar").arg("-tzf").arg(&tarball));
    let in_archive: BTreeSet<&str> = listed.lines().map(|l| l.trim_start_matches("./")).collect();
    for p in platforms {
        subset(
            &keys(p),
            &["uri", "sha256", "selector", "files", "license", "bin"],
            "Platform",
        );
        assert_eq!(p["uri"], uri);
        assert_eq!(p["sha256"].as_str().unwrap(), sha256_file(&tarball));
        let labels = &p["selector"]["matchLabels"];
        subset(&keys(labels), &["os", "arch"], "selector.matchLabels");
        assert_eq!(labels["os"], "linux");
        assert_eq!(labels["arch"], "amd64");
        let files = p["files"].as_array().unwrap();
        assert!(!files.is_empty(), "krew needs file operations");
        for f in files {
            subset(&keys(f), &["from", "to"], "FileOperation");
            let from = f["from"].as_str().unwrap();
            assert!(in_archive.contains(from), "{from} not in {in_archive:?}");
        }
        let bin = p["bin"].as_str().unwrap();
        assert!(
            files.iter().any(|f| f["from"] == bin),
            "bin {bin} is among the files copied"
        );
    }
}

/// The release ships linux/amd64 and linux/arm64: one platform each, with its own archive.
#[test]
fn krew_manifest_lists_one_platform_per_architecture() {
    let dir = tempfile::tempdir().unwrap();
    let amd = archive(dir.path(), true);
    let arm = dir.path().join("arm64.tar.gz");
    std::fs::copy(&amd, &arm).unwrap();
    let text = ok(python("krew-manifest.py")
        .args(["--version", "0.1.0"])
        .args([
            "--arch",
            "amd64",
            "--uri",
            "https://x.invalid/amd64.tar.gz",
            "--archive",
        ])
        .arg(&amd)
        .args([
            "--arch",
            "arm64",
            "--uri",
            "https://x.invalid/arm64.tar.gz",
            "--archive",
        ])
        .arg(&arm));
    let m = yaml_to_json(&text);
    let platforms = m["spec"]["platforms"].as_array().unwrap();
    let arches: Vec<&str> = platforms
        .iter()
        .map(|p| p["selector"]["matchLabels"]["arch"].as_str().unwrap())
        .collect();
    assert_eq!(arches, ["amd64", "arm64"]);
    assert_eq!(platforms[1]["uri"], "https://x.invalid/arm64.tar.gz");
    assert_eq!(platforms[1]["sha256"].as_str().unwrap(), sha256_file(&arm));
    // Unpaired flags are refused rather than guessed.
    let out = run(python("krew-manifest.py")
        .args(["--version", "0.1.0", "--arch", "amd64", "--arch", "arm64"])
        .args(["--uri", "https://x.invalid/a.tar.gz", "--archive"])
        .arg(&amd));
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("one --uri, one --arch"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn krew_manifest_refuses_an_archive_without_the_binary_and_a_bad_version() {
    let dir = tempfile::tempdir().unwrap();
    let empty = archive(dir.path(), false);
    let out = run(python("krew-manifest.py")
        .args([
            "--version",
            "0.1.0",
            "--uri",
            "https://x.invalid/a.tar.gz",
            "--archive",
        ])
        .arg(&empty));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("has no `kspm`"), "{}", stderr(&out));
    let good = archive(dir.path(), true);
    let out = run(python("krew-manifest.py")
        .args([
            "--version",
            "one",
            "--uri",
            "https://x.invalid/a.tar.gz",
            "--archive",
        ])
        .arg(&good));
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("not a semantic version"),
        "{}",
        stderr(&out)
    );
}

struct Image {
    layout: PathBuf,
    docker_tar: PathBuf,
}

fn build_image(dir: &Path, name: &str) -> Image {
    let image = Image {
        layout: dir.join(name),
        docker_tar: dir.join(format!("{name}.tar")),
    };
    ok(python("oci-image.py")
        .args(["--binary", env!("CARGO_BIN_EXE_kspm")])
        .args(["--version", env!("CARGO_PKG_VERSION")])
        .args(["--revision", env!("KSPM_GIT_COMMIT")])
        .arg("--layout")
        .arg(&image.layout)
        .arg("--docker-tar")
        .arg(&image.docker_tar)
        .env("SOURCE_DATE_EPOCH", "1700000000"));
    image
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Follows a descriptor into the layout: the blob exists, its sha256 and size are the
/// descriptor's, its media type the one expected.
fn blob(layout: &Path, desc: &Value, media_type: &str) -> PathBuf {
    assert_eq!(desc["mediaType"], media_type, "{desc}");
    let digest = desc["digest"].as_str().unwrap();
    let hex = digest.strip_prefix("sha256:").expect("a sha256 digest");
    let path = layout.join("blobs/sha256").join(hex);
    assert_eq!(sha256_file(&path), hex, "{} content", path.display());
    assert_eq!(
        desc["size"].as_u64().unwrap(),
        std::fs::metadata(&path).unwrap().len(),
        "{digest} size"
    );
    path
}

/// The image: a valid OCI layout (digests, sizes and media types all agree with the blobs), a
/// config running kspm as 65532 with the labels, one layer owned by root with only what it
/// should hold, the same bytes when built twice, and a `docker load` tarball pointing into it.
#[test]
fn image_layout_is_valid_reproducible_and_minimal() {
    let dir = tempfile::tempdir().unwrap();
    let a = build_image(dir.path(), "a");
    let b = build_image(dir.path(), "b");
    assert_eq!(
        std::fs::read(a.layout.join("index.json")).unwrap(),
        std::fs::read(b.layout.join("index.json")).unwrap(),
        "the same inputs give the same manifest digest"
    );
    assert_eq!(sha256_file(&a.docker_tar), sha256_file(&b.docker_tar));

    let layout = &a.layout;
    assert_eq!(
        read_json(&layout.join("oci-layout")),
        serde_json::json!({"imageLayoutVersion": "1.0.0"})
    );
    let index = read_json(&layout.join("index.json"));
    assert_eq!(index["schemaVersion"], 2);
    assert_eq!(
        index["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    let descs = index["manifests"].as_array().unwrap();
    assert_eq!(descs.len(), 1);
    assert_eq!(descs[0]["platform"]["os"], "linux");
    assert_eq!(descs[0]["platform"]["architecture"], "amd64");
    let manifest = read_json(&blob(
        layout,
        &descs[0],
        "application/vnd.oci.image.manifest.v1+json",
    ));
    assert_eq!(manifest["schemaVersion"], 2);
    let config = read_json(&blob(
        layout,
        &manifest["config"],
        "application/vnd.oci.image.config.v1+json",
    ));
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1);
    let layer = blob(
        layout,
        &layers[0],
        "application/vnd.oci.image.layer.v1.tar+gzip",
    );

    // Config: what `docker run` uses.
    assert_eq!(config["os"], "linux");
    assert_eq!(config["architecture"], "amd64");
    let c = &config["config"];
    assert_eq!(c["User"], "65532:65532");
    assert_eq!(c["Entrypoint"], serde_json::json!(["/usr/local/bin/kspm"]));
    let labels = &c["Labels"];
    assert_eq!(
        labels["org.opencontainers.image.version"],
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(
        labels["org.opencontainers.image.revision"],
        env!("KSPM_GIT_COMMIT")
    );
    assert_eq!(labels["org.opencontainers.image.licenses"], "Apache-2.0");
    assert!(
        labels["org.opencontainers.image.source"]
            .as_str()
            .unwrap()
            .starts_with("https://")
    );
    assert_eq!(
        config["created"], "2023-11-14T22:13:20Z",
        "SOURCE_DATE_EPOCH"
    );
    // diff_ids are the digests of the uncompressed layers.
    let plain = dir.path().join("layer.tar");
    let unzipped = run(Command::new("gzip").arg("-dc").arg(&layer));
    assert!(unzipped.status.success());
    std::fs::write(&plain, &unzipped.stdout).unwrap();
    assert_eq!(
        config["rootfs"],
        serde_json::json!({"type": "layers", "diff_ids": [format!("sha256:{}", sha256_file(&plain))]})
    );

    // The layer: only these files, all owned by 0/0 with one mtime; no shell.
    let listing = ok(Command::new("tar")
        .args(["--numeric-owner", "--full-time", "-tvf"])
        .arg(&plain));
    let mut entries = BTreeMap::new();
    for line in listing.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(f[1], "0/0", "owned by root: {line}");
        assert_eq!(
            f[3..5].join(" "),
            "2023-11-14 22:13:20",
            "fixed mtime: {line}"
        );
        entries.insert(f[5].trim_end_matches('/').to_owned(), f[0].to_owned());
    }
    let names: Vec<&str> = entries.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "etc",
            "etc/group",
            "etc/passwd",
            "etc/ssl",
            "etc/ssl/certs",
            "etc/ssl/certs/ca-certificates.crt",
            "tmp",
            "usr",
            "usr/local",
            "usr/local/bin",
            "usr/local/bin/kspm",
        ]
    );
    assert_eq!(entries["usr/local/bin/kspm"], "-rwxr-xr-x");
    assert_eq!(entries["tmp"], "drwxrwxrwt");

    // The docker tarball: the same blobs, and docker's manifest.json pointing at them.
    let listed = ok(Command::new("tar").arg("-tf").arg(&a.docker_tar));
    let extract = dir.path().join("docker");
    std::fs::create_dir_all(&extract).unwrap();
    ok(Command::new("tar")
        .arg("-xf")
        .arg(&a.docker_tar)
        .arg("-C")
        .arg(&extract));
    let docker = read_json(&extract.join("manifest.json"));
    let entry = &docker[0];
    assert_eq!(
        entry["RepoTags"],
        serde_json::json!([format!("kspm:{}", env!("CARGO_PKG_VERSION"))])
    );
    let config_path = entry["Config"].as_str().unwrap();
    assert!(listed.lines().any(|l| l == config_path), "{listed}");
    assert_eq!(
        format!("sha256:{}", sha256_file(&extract.join(config_path))),
        manifest["config"]["digest"].as_str().unwrap()
    );
    assert_eq!(
        entry["Layers"],
        serde_json::json!([format!(
            "blobs/sha256/{}",
            layers[0]["digest"]
                .as_str()
                .unwrap()
                .trim_start_matches("sha256:")
        )])
    );
    assert!(extract.join("repositories").is_file());
    assert!(
        extract.join("oci-layout").is_file(),
        "also an OCI layout archive"
    );

    // The script's own validator agrees, and catches a corrupted blob.
    ok(python("oci-image.py").arg("--check").arg(layout));
    std::fs::write(&layer, b"corrupted").unwrap();
    let out = run(python("oci-image.py").arg("--check").arg(layout));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("does not match"), "{}", stderr(&out));
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Copies the shared libraries a dynamically linked binary needs (as `ldd` lists them) into the
/// root filesystem. The release binary is static and needs none; the debug binary `cargo test`
/// builds links glibc dynamically, so this test adds them to its copy of the rootfs only.
fn add_shared_libraries(binary: &Path, root: &Path) {
    let out = run(Command::new("ldd").arg(binary));
    if !out.status.success() {
        return; // "not a dynamic executable"
    }
    for line in stdout(&out).lines() {
        let path = line
            .split_whitespace()
            .find(|w| w.starts_with('/'))
            .map(PathBuf::from);
        if let Some(lib) = path {
            let dest = root.join(lib.strip_prefix("/").unwrap());
            std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
            std::fs::copy(&lib, &dest).unwrap();
        }
    }
}

fn finding_keys(report: &Value) -> BTreeSet<(String, String, String)> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            let s = |v: &Value| v.as_str().unwrap_or("").to_owned();
            (
                s(&f["rule"]),
                s(&f["resource"]["kind"]),
                s(&f["resource"]["name"]),
            )
        })
        .collect()
}

/// The image's root filesystem runs kspm as the non-root user under `chroot`: `kspm version`
/// and a scan of examples/ give what they give outside; there is no shell to run.
#[test]
fn image_rootfs_runs_kspm_under_chroot() {
    if !is_root() {
        assert!(
            std::env::var_os("KSPM_REQUIRE_TOOLS").is_none(),
            "KSPM_REQUIRE_TOOLS=1 but chroot needs root"
        );
        eprintln!("skipping the chroot test: chroot needs root (CI runs as root)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let image = build_image(dir.path(), "img");
    let manifest_desc = &read_json(&image.layout.join("index.json"))["manifests"][0];
    let hex = |d: &Value| {
        d["digest"]
            .as_str()
            .unwrap()
            .trim_start_matches("sha256:")
            .to_owned()
    };
    let manifest = read_json(&image.layout.join("blobs/sha256").join(hex(manifest_desc)));
    let layer = image
        .layout
        .join("blobs/sha256")
        .join(hex(&manifest["layers"][0]));
    let root = dir.path().join("rootfs");
    std::fs::create_dir_all(&root).unwrap();
    ok(Command::new("tar")
        .arg("-xzf")
        .arg(&layer)
        .arg("-C")
        .arg(&root));
    let kspm = root.join("usr/local/bin/kspm");
    add_shared_libraries(&kspm, &root);
    assert!(!root.join("bin/sh").exists(), "no shell in the image");
    let no_shell = run(Command::new("chroot")
        .arg(&root)
        .args(["/bin/sh", "-c", "true"]));
    assert!(!no_shell.status.success(), "a shell ran in the image");

    let chroot = |args: &[&str]| {
        run(Command::new("chroot")
            .arg("--userspec=65532:65532")
            .arg(&root)
            .arg("/usr/local/bin/kspm")
            .args(args)
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"))
    };
    let version = chroot(&["version", "--format", "json"]);
    assert!(version.status.success(), "{}", stderr(&version));
    let v: Value = serde_json::from_slice(&version.stdout).unwrap();
    assert_eq!(v["commit"], env!("KSPM_GIT_COMMIT"));

    ok(Command::new("cp")
        .arg("-r")
        .arg(repo_root().join("examples"))
        .arg(root.join("tmp/examples")));
    let inside = chroot(&["scan", "/tmp/examples", "--format", "json"]);
    assert_eq!(inside.status.code(), Some(1), "{}", stderr(&inside));
    let outside = run(Command::new(env!("CARGO_BIN_EXE_kspm"))
        .args(["scan", "--format", "json"])
        .arg(repo_root().join("examples")));
    let (inside, outside): (Value, Value) = (
        serde_json::from_slice(&inside.stdout).unwrap(),
        serde_json::from_slice(&outside.stdout).unwrap(),
    );
    assert!(finding_keys(&outside).len() > 20);
    assert_eq!(finding_keys(&inside), finding_keys(&outside));
    assert_eq!(
        inside["summary"]["findings"],
        outside["summary"]["findings"]
    );
}

/// Kills the registry when the test ends, pass or fail.
struct Registry(std::process::Child);

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// go-containerregistry's `crane` (scripts/install-crane) reads both outputs as registry tooling
/// does: it validates the `docker load` tarball, and pushes the OCI layout to a registry
/// (`crane registry serve`, in memory) where the image keeps the digest the layout gives it.
#[test]
fn crane_validates_the_tarball_and_pushes_the_layout_unchanged() {
    if !support::have_tool("crane") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let image = build_image(dir.path(), "img");
    let validated = ok(Command::new("crane")
        .args(["validate", "--tarball"])
        .arg(&image.docker_tar));
    assert!(validated.starts_with("PASS"), "{validated}");

    let mut child = Command::new("crane")
        .args(["registry", "serve", "--address", "127.0.0.1:0"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("crane registry serve");
    let stderr_pipe = child.stderr.take().unwrap();
    let registry = Registry(child);
    // The registry logs every request on stderr: keep reading it, or it dies of SIGPIPE.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(stderr_pipe)) {
            let Ok(line) = line else { break };
            if let Some(p) = line.split("serving on port ").nth(1) {
                let _ = tx.send(p.trim().to_owned());
            }
        }
    });
    let port = rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("the registry says its port");
    let reference = format!("127.0.0.1:{port}/kspm:{}", env!("CARGO_PKG_VERSION"));
    ok(Command::new("crane")
        .arg("push")
        .arg(&image.layout)
        .arg(&reference));
    let remote = ok(Command::new("crane").args(["validate", "--remote", &reference]));
    assert!(remote.starts_with("PASS"), "{remote}");
    let digest = ok(Command::new("crane").args(["digest", &reference]));
    let index = read_json(&image.layout.join("index.json"));
    assert_eq!(
        digest.trim(),
        index["manifests"][0]["digest"].as_str().unwrap()
    );
    let config: Value =
        serde_json::from_str(&ok(Command::new("crane").args(["config", &reference]))).unwrap();
    assert_eq!(config["config"]["User"], "65532:65532");
    drop(registry);
}

//! Embeds the git commit the binary is built from, for `kspm version`.
//!
//! `KSPM_GIT_COMMIT` wins (builds from a source tarball, or a release script that already knows
//! the commit); otherwise `git rev-parse HEAD` when git and a repository are there; otherwise
//! "unknown". Never fails the build.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=KSPM_GIT_COMMIT");
    let from_env = std::env::var("KSPM_GIT_COMMIT")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    let (commit, source) = match from_env {
        Some(c) => (c, "env"),
        None => match git_commit() {
            Some(c) => (c, "git"),
            None => ("unknown".to_owned(), "unknown"),
        },
    };
    println!("cargo:rustc-env=KSPM_GIT_COMMIT={commit}");
    // Where it came from, for the tests (only a commit read from git can be checked against HEAD).
    println!("cargo:rustc-env=KSPM_GIT_COMMIT_SOURCE={source}");
}

fn git(args: &[&str]) -> Option<String> {
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")?;
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (!s.is_empty()).then_some(s)
}

fn git_commit() -> Option<String> {
    let commit = git(&["rev-parse", "HEAD"])?;
    // Rebuild when HEAD moves: HEAD itself (a branch switch), the branch's ref (a commit), and
    // packed-refs (a ref packed by gc). Only files that exist, or cargo reruns every build.
    let mut watch: Vec<PathBuf> = Vec::new();
    if let Some(p) = git(&["rev-parse", "--git-path", "HEAD"]) {
        watch.push(p.into());
    }
    if let Some(r) = git(&["symbolic-ref", "-q", "HEAD"])
        && let Some(p) = git(&["rev-parse", "--git-path", &r])
    {
        watch.push(p.into());
    }
    if let Some(p) = git(&["rev-parse", "--git-path", "packed-refs"]) {
        watch.push(p.into());
    }
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR")?);
    for p in watch {
        let p = if p.is_absolute() { p } else { root.join(p) };
        if p.exists() {
            println!("cargo:rerun-if-changed={}", p.display());
        }
    }
    Some(commit)
}

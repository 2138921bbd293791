//! The one directory walker: manifests (`source`), policy directories and policy test files
//! (`kspm_policy`) are all found through it, so they share its guards.
//!
//! - **Confined:** a symbolic link whose target lies outside the walked root is not followed
//!   (a warning names it): a scanned repository cannot make kspm read `/etc` or `$HOME`.
//! - **Terminates:** each directory is walked once (by its canonical path), whatever symlink
//!   cycles or repeated inputs say, and never deeper than [`MAX_DEPTH`] levels.
//! - **Deterministic:** entries in byte order of their paths.
//! - **Quiet about the ordinary:** hidden entries (`.git`, `.github`...) and `node_modules` are
//!   skipped; the visitor decides whether that is news ([`Walk::notify_skipped`]).
//! - Entries that are neither directories nor regular files (FIFOs, sockets, devices) are never
//!   handed over as files: opening a FIFO would block the scan.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use kspm_model::Diagnostic;

/// Deeper than any real repository; a generated tree deeper than this is reported and cut.
pub const MAX_DEPTH: usize = 64;

/// What the walk shows its visitor.
#[derive(Clone, Copy, Debug)]
pub enum Visit<'a> {
    /// A directory, before it is read (the walked root included).
    Dir(&'a Path),
    /// A regular file.
    File(&'a Path),
}

/// What the visitor says about a directory before it is read (ignored for files).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DirAction {
    /// Walk into it.
    Descend,
    /// The visitor took the directory as a whole (a Helm chart, a Kustomize overlay): do not
    /// walk into it.
    Taken,
}

/// A directory walk's settings and its memory of where it has been (shared across the roots
/// given to one walk, so the same directory named twice is read once).
#[derive(Debug)]
pub struct Walk {
    visited: HashSet<PathBuf>,
    /// Whether skipped hidden entries and `node_modules` get a notice each (collapsed into one
    /// line later by [`crate::source::collapse_notices`]).
    pub notify_skipped: bool,
    /// Names of files that are silently not walked (kspm's own config files).
    pub ignore: fn(&Path) -> bool,
}

fn never(_: &Path) -> bool {
    false
}

impl Default for Walk {
    fn default() -> Self {
        Self::new()
    }
}

impl Walk {
    pub fn new() -> Self {
        Self {
            visited: HashSet::new(),
            notify_skipped: false,
            ignore: never,
        }
    }

    /// Walks `dir` (a directory named by the user, the confinement root), showing `visit` each
    /// directory (itself included) and each regular file, in path order.
    pub fn walk(
        &mut self,
        dir: &Path,
        diags: &mut Vec<Diagnostic>,
        visit: &mut dyn FnMut(Visit<'_>) -> DirAction,
    ) {
        let root = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
        self.walk_dir(dir, &root, 0, diags, visit);
    }

    fn walk_dir(
        &mut self,
        dir: &Path,
        root: &Path,
        depth: usize,
        diags: &mut Vec<Diagnostic>,
        visit: &mut dyn FnMut(Visit<'_>) -> DirAction,
    ) {
        let name = dir.display().to_string();
        let canonical = match dir.canonicalize() {
            Ok(c) => c,
            Err(e) => {
                diags.push(Diagnostic::error(name, describe_io(&e)));
                return;
            }
        };
        if !self.visited.insert(canonical) {
            // Already walked: a symlink cycle or the same directory named twice.
            return;
        }
        if depth > MAX_DEPTH {
            diags.push(Diagnostic::error(
                name,
                format!("directories nested deeper than {MAX_DEPTH} levels: not read further"),
            ));
            return;
        }
        if visit(Visit::Dir(dir)) == DirAction::Taken {
            return;
        }
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) => {
                diags.push(Diagnostic::error(name, describe_io(&e)));
                return;
            }
        };
        let mut paths: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        paths.sort();
        for path in paths {
            let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if (self.ignore)(&path) {
                continue;
            }
            if file_name.starts_with('.') {
                if self.notify_skipped {
                    diags.push(skipped(
                        &path,
                        "hidden files and directories are not scanned (name them to scan them)",
                    ));
                }
                continue;
            }
            if file_name == "node_modules" {
                if self.notify_skipped {
                    diags.push(skipped(
                        &path,
                        "node_modules directories are not scanned (name them to scan them)",
                    ));
                }
                continue;
            }
            // A symlink may point anywhere on the machine: only what stays inside the walked
            // directory is read.
            if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink())
                && path.canonicalize().is_ok_and(|c| !c.starts_with(root))
            {
                diags.push(
                    Diagnostic::error(
                        path.display().to_string(),
                        "symbolic link to a place outside the scanned directory: not followed",
                    )
                    .warning(),
                );
                continue;
            }
            match std::fs::metadata(&path) {
                Ok(meta) if meta.is_dir() => {
                    self.walk_dir(&path, root, depth + 1, diags, visit);
                }
                Ok(meta) if meta.is_file() => {
                    visit(Visit::File(&path));
                }
                Ok(_) => on_special(&path, diags),
                Err(e) => diags.push(Diagnostic::error(
                    path.display().to_string(),
                    describe_io(&e),
                )),
            }
        }
    }
}

/// FIFOs, sockets and devices: named only when they look like something the walk wanted.
fn on_special(path: &Path, diags: &mut Vec<Diagnostic>) {
    let wanted = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .is_some_and(|e| matches!(e.as_str(), "yaml" | "yml" | "json" | "rego"));
    if wanted {
        diags.push(
            Diagnostic::error(
                path.display().to_string(),
                "not a regular file (a FIFO, socket or device): not read",
            )
            .warning(),
        );
    }
}

/// The notice for files a directory walk does not read, one message per reason so that they
/// collapse into one line with a count.
pub(crate) fn skipped(path: &Path, why: &str) -> Diagnostic {
    Diagnostic::error(path.display().to_string(), format!("skipped: {why}")).notice()
}

/// An I/O error as a user reads it.
pub fn describe_io(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(40) => "symbolic link loop (too many levels of symbolic links)".to_owned(),
        _ => match e.kind() {
            std::io::ErrorKind::NotFound => "no such file or directory".to_owned(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
            _ => e.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;
    use std::path::{Path, PathBuf};

    use super::{DirAction, Visit, Walk};

    fn files(walk: &mut Walk, dir: &Path) -> (Vec<String>, Vec<String>) {
        let mut out: Vec<PathBuf> = Vec::new();
        let mut diags = Vec::new();
        walk.walk(dir, &mut diags, &mut |v| {
            if let Visit::File(p) = v {
                out.push(p.to_path_buf());
            }
            DirAction::Descend
        });
        let rel = |p: &Path| p.strip_prefix(dir).unwrap_or(p).display().to_string();
        (
            out.iter().map(|p| rel(p)).collect(),
            diags.iter().map(|d| d.message.clone()).collect(),
        )
    }

    #[test]
    fn confined_terminating_sorted() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.yaml"), "a: 1").unwrap();
        let d = tmp.path();
        std::fs::create_dir_all(d.join("b/c")).unwrap();
        std::fs::write(d.join("b/c/z.yaml"), "").unwrap();
        std::fs::write(d.join("a.yaml"), "").unwrap();
        std::fs::write(d.join(".hidden.yaml"), "").unwrap();
        std::fs::create_dir(d.join("node_modules")).unwrap();
        std::fs::write(d.join("node_modules/x.yaml"), "").unwrap();
        symlink(d, d.join("b/loop")).unwrap();
        symlink(d.join("b/self"), d.join("b/self")).unwrap();
        symlink(outside.path(), d.join("escape")).unwrap();
        symlink(outside.path().join("secret.yaml"), d.join("escape.yaml")).unwrap();
        symlink(d.join("a.yaml"), d.join("inside.yaml")).unwrap();

        let mut walk = Walk::new();
        let (found, diags) = files(&mut walk, d);
        assert_eq!(found, ["a.yaml", "b/c/z.yaml", "inside.yaml"]);
        assert_eq!(
            diags
                .iter()
                .filter(|m| m.contains("outside the scanned directory"))
                .count(),
            2,
            "{diags:?}"
        );
        assert!(
            diags.iter().any(|m| m.contains("symbolic link loop")),
            "{diags:?}"
        );
        assert!(!diags.iter().any(|m| m.starts_with("skipped")), "{diags:?}");

        // The same directory again in the same walk: nothing twice.
        assert!(files(&mut walk, d).0.is_empty());

        let mut noisy = Walk::new();
        noisy.notify_skipped = true;
        let (_, diags) = files(&mut noisy, d);
        assert_eq!(diags.iter().filter(|m| m.starts_with("skipped")).count(), 2);
    }

    #[test]
    fn depth_is_bounded_and_taken_directories_are_not_entered() {
        let tmp = tempfile::tempdir().unwrap();
        let mut deep = tmp.path().to_path_buf();
        for _ in 0..=super::MAX_DEPTH + 1 {
            deep.push("d");
        }
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::write(deep.join("x.yaml"), "").unwrap();
        let (found, diags) = files(&mut Walk::new(), tmp.path());
        assert!(found.is_empty());
        assert!(
            diags.iter().any(|m| m.contains("nested deeper")),
            "{diags:?}"
        );

        std::fs::create_dir(tmp.path().join("chart")).unwrap();
        std::fs::write(tmp.path().join("chart/values.yaml"), "").unwrap();
        let mut taken = Vec::new();
        let mut seen = Vec::new();
        Walk::new().walk(tmp.path(), &mut Vec::new(), &mut |v| match v {
            Visit::Dir(p) if p.ends_with("chart") => {
                taken.push(p.to_path_buf());
                DirAction::Taken
            }
            Visit::Dir(_) => DirAction::Descend,
            Visit::File(p) => {
                seen.push(p.to_path_buf());
                DirAction::Descend
            }
        });
        assert_eq!(taken.len(), 1);
        assert!(seen.is_empty(), "{seen:?}");
    }
}

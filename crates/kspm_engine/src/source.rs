//! Finding and reading inputs: files, directories, stdin, Helm charts and Kustomize overlays.
//!
//! Every failure (unreadable file, symlink loop, binary file, missing `helm`) becomes a
//! diagnostic for that path; the other inputs are still read.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use kspm_model::yaml::{Chunk, Limits, parse_stream_at, split_documents};
use kspm_model::{Diagnostic, Resource, Source};

use crate::walk::{DirAction, Visit, Walk, describe_io, skipped};

/// What the user asked to scan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    Stdin,
    Path(PathBuf),
    /// Text already in memory (`kspm node` describes node files and merged kubelet settings
    /// this way); `name` is what findings show as the file.
    Text {
        name: String,
        text: String,
    },
}

impl Input {
    pub fn from_arg(arg: &str) -> Self {
        if arg == "-" {
            Input::Stdin
        } else {
            Input::Path(PathBuf::from(arg))
        }
    }
}

/// A unit of text to parse: a file, stdin, or a rendered chart or overlay.
#[derive(Debug)]
pub struct Document {
    /// The name findings will show: the file path, `-`, or the chart/overlay directory.
    pub name: Arc<str>,
    pub text: String,
    /// For rendered output, the template each document came from (`# Source:` comments).
    pub rendered: bool,
}

/// Anything that can be read before parsing: a file to read, or a directory to render.
#[derive(Debug)]
enum Unit {
    File(PathBuf),
    Helm(PathBuf),
    Kustomize(PathBuf),
}

const KUSTOMIZATION_FILES: &[&str] = &["kustomization.yaml", "kustomization.yml", "Kustomization"];

fn is_manifest(path: &Path) -> bool {
    matches!(
        path.extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("yaml" | "yml" | "json")
    )
}

/// Walks the inputs into units, reporting what cannot be walked and what was skipped.
fn discover(inputs: &[Input], diags: &mut Vec<Diagnostic>) -> (Vec<Unit>, bool) {
    let mut units = Vec::new();
    let mut stdin = false;
    let mut walk = Walk::new();
    walk.notify_skipped = true;
    // kspm's own files (`.kspm.yaml` included) are not manifests, and not news.
    walk.ignore = is_kspm_config;
    for input in inputs {
        match input {
            Input::Stdin => stdin = true,
            Input::Text { .. } => {}
            Input::Path(path) => match std::fs::metadata(path) {
                Ok(meta) if meta.is_dir() => {
                    walk.walk(path, diags, &mut |v| match v {
                        Visit::Dir(dir) if dir.join("Chart.yaml").is_file() => {
                            units.push(Unit::Helm(dir.to_path_buf()));
                            DirAction::Taken
                        }
                        Visit::Dir(dir)
                            if KUSTOMIZATION_FILES.iter().any(|f| dir.join(f).is_file()) =>
                        {
                            units.push(Unit::Kustomize(dir.to_path_buf()));
                            DirAction::Taken
                        }
                        Visit::Dir(_) => DirAction::Descend,
                        Visit::File(file) => {
                            if is_manifest(file) {
                                units.push(Unit::File(file.to_path_buf()));
                            }
                            DirAction::Descend
                        }
                    });
                }
                // A file named explicitly is read whatever its extension.
                Ok(_) => units.push(Unit::File(path.clone())),
                Err(e) => diags.push(Diagnostic::error(
                    path.display().to_string(),
                    describe_io(&e),
                )),
            },
        }
    }
    (units, stdin)
}

/// Replaces the notices that share a message with one notice that counts them and names the
/// first, so that a thousand skipped files make one line.
pub fn collapse_notices(diags: &mut Vec<Diagnostic>) {
    use kspm_model::DiagnosticLevel;
    let mut counts: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for d in diags.iter().filter(|d| d.level == DiagnosticLevel::Notice) {
        *counts.entry(d.message.clone()).or_default() += 1;
    }
    let mut seen = HashSet::new();
    diags.retain_mut(|d| {
        if d.level != DiagnosticLevel::Notice {
            return true;
        }
        if !seen.insert(d.message.clone()) {
            return false;
        }
        let n = counts[&d.message];
        if n > 1 {
            d.message = format!("{} ({n} in all; this is the first)", d.message);
        }
        true
    });
}

/// kspm's own files met while walking a directory: its configuration, and the test cases and
/// metadata sidecars kept beside custom policies. They are not manifests.
fn is_kspm_config(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    matches!(name, "kspm.yaml" | "kspm.yml" | ".kspm.yaml")
        || [".tests.yaml", ".tests.yml", ".meta.yaml", ".meta.yml"]
            .iter()
            .any(|suffix| name.ends_with(suffix))
}

/// Checks that bytes are text we can parse: UTF-8 (a BOM is dropped) or UTF-16 with a BOM,
/// which kubectl accepts too.
fn to_text(name: &str, bytes: Vec<u8>) -> Result<String, Diagnostic> {
    let utf16 = match bytes.get(..2) {
        Some([0xFF, 0xFE]) => Some(u16::from_le_bytes as fn([u8; 2]) -> u16),
        Some([0xFE, 0xFF]) => Some(u16::from_be_bytes as fn([u8; 2]) -> u16),
        _ => None,
    };
    if let Some(decode) = utf16 {
        let units: Vec<u16> = bytes[2..]
            .chunks(2)
            .map(|c| decode([c[0], c.get(1).copied().unwrap_or(0)]))
            .collect();
        return String::from_utf16(&units).map_err(|_| {
            Diagnostic::error(name, "not valid UTF-16 (after a UTF-16 byte order mark)")
        });
    }
    if bytes.contains(&0) {
        return Err(Diagnostic::error(
            name,
            "binary file (contains NUL bytes); not a manifest",
        ));
    }
    let mut text = String::from_utf8(bytes).map_err(|e| {
        Diagnostic::error(
            name,
            format!(
                "not valid UTF-8 (first bad byte at offset {}); manifests must be UTF-8",
                e.utf8_error().valid_up_to()
            ),
        )
    })?;
    if text.starts_with('\u{feff}') {
        text.drain(..3);
    }
    Ok(text)
}

/// Reads a regular file of at most `max` bytes. FIFOs, sockets and devices are refused before
/// they are opened for reading (opening is non-blocking, and the opened handle is checked
/// again), so a FIFO named like a manifest cannot hang the scan.
pub fn read_regular(path: &Path, max: u64) -> Result<Vec<u8>, ReadError> {
    let meta = std::fs::metadata(path).map_err(ReadError::Io)?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular);
    }
    if meta.len() > max {
        return Err(ReadError::TooLarge {
            size: meta.len(),
            max,
        });
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32);
    }
    let file = options.open(path).map_err(ReadError::Io)?;
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return Err(ReadError::Replaced);
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > max {
        return Err(ReadError::Grew { max });
    }
    Ok(bytes)
}

/// Why [`read_regular`] did not read a file.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file cannot be opened or read (described in plain words: "permission denied").
    #[error("{}", describe_io(.0))]
    Io(std::io::Error),
    /// A FIFO, socket, device or directory where a file was expected.
    #[error("not a regular file (a FIFO, socket, device or directory): not read")]
    NotRegular,
    /// The path named a regular file, and something else by the time it was opened.
    #[error("not a regular file: not read")]
    Replaced,
    /// Over the size limit before reading.
    #[error("file is {size} bytes, over the {max}-byte limit")]
    TooLarge { size: u64, max: u64 },
    /// Over the size limit while read (it was being written).
    #[error("file grew over the {max}-byte limit while read")]
    Grew { max: u64 },
}

impl ReadError {
    /// Whether the file was refused for its size (a limit the user can raise).
    pub fn is_too_large(&self) -> bool {
        matches!(self, Self::TooLarge { .. } | Self::Grew { .. })
    }
}

/// What reading a unit gave.
enum Outcome {
    Doc(Document, Vec<Diagnostic>),
    Failed(Diagnostic),
    /// Not an input to judge (kspm's own report), with the notice that says so.
    Skipped(Diagnostic),
}

fn read_file(path: &Path, limits: &Limits) -> Outcome {
    let name = path.display().to_string();
    let bytes = match read_regular(path, limits.max_file_bytes) {
        Ok(b) => b,
        Err(e) if e.is_too_large() => {
            return Outcome::Failed(Diagnostic::error(
                name,
                format!("{e} (raise limits.max_file_bytes to scan it)"),
            ));
        }
        Err(e) => return Outcome::Failed(Diagnostic::error(name, e.to_string())),
    };
    if is_own_report(&bytes) {
        return Outcome::Skipped(skipped(
            path,
            "a report written by kspm or another scanner (JSON scan report or SARIF), not a manifest",
        ));
    }
    match to_text(&name, bytes) {
        Ok(text) => Outcome::Doc(
            Document {
                name: name.into(),
                text,
                rendered: false,
            },
            Vec::new(),
        ),
        Err(d) => Outcome::Failed(d),
    }
}

/// kspm's JSON report (`kspm.io/scan/v1`) and SARIF logs are outputs, not manifests: the
/// README's own `-o report.json` must not change the next scan of the same directory.
fn is_own_report(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(4096)];
    let head = String::from_utf8_lossy(head);
    let trimmed = head.trim_start();
    trimmed.starts_with('{')
        && (head.contains("\"kspm.io/scan/v1\"")
            || (head.contains("\"runs\"") && head.contains("sarif")))
}

fn read_stdin(limits: &Limits) -> Result<Document, Diagnostic> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .take(limits.max_file_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Diagnostic::error("-", e.to_string()))?;
    if bytes.len() as u64 > limits.max_file_bytes {
        return Err(Diagnostic::error(
            "-",
            "standard input is over limits.max_file_bytes",
        ));
    }
    Ok(Document {
        name: "-".into(),
        text: to_text("-", bytes)?,
        rendered: false,
    })
}

/// Runs the first renderer found on PATH, within the time and output limits; `Err` names what
/// is missing, what failed, or which limit was hit. What the renderer says on standard error
/// when it succeeds is kept as warnings.
fn render(
    dir: &Path,
    tools: &[(&str, &[&str])],
    what: &str,
    limits: &Limits,
) -> Result<(Document, Vec<Diagnostic>), Diagnostic> {
    let name = dir.display().to_string();
    let mut tried = Vec::new();
    for (program, args) in tools {
        let mut cmd = Command::new(program);
        cmd.args(*args).arg(dir);
        sandbox_env(&mut cmd, limits.allow_remote);
        let label = format!("{program} {}", args.join(" "));
        match run_bounded(cmd, limits) {
            Ok(out) if out.status.success() => {
                let warnings = stderr_lines(&out.stderr)
                    .map(|l| {
                        Diagnostic::error(name.as_str(), format!("`{label}` said: {l}")).warning()
                    })
                    .collect();
                let text = to_text(&name, out.stdout)?;
                return Ok((
                    Document {
                        name: name.clone().into(),
                        text,
                        rendered: true,
                    },
                    warnings,
                ));
            }
            Ok(out) => {
                let first = stderr_lines(&out.stderr)
                    .next()
                    .unwrap_or_else(|| "no message".into());
                return Err(Diagnostic::error(
                    name,
                    format!("`{label}` failed: {first}"),
                ));
            }
            Err(RunError::NotFound) => tried.push(*program),
            Err(RunError::Timeout) => {
                return Err(Diagnostic::error(
                    name,
                    format!(
                        "`{label}` ran longer than {} ms and was stopped (limits.render_timeout_ms)",
                        limits.render_timeout_ms
                    ),
                ));
            }
            Err(RunError::TooLarge) => {
                return Err(Diagnostic::error(
                    name,
                    format!(
                        "`{label}` wrote more than {} bytes and was stopped (limits.max_render_bytes)",
                        limits.max_render_bytes
                    ),
                ));
            }
            Err(RunError::Io(e)) => {
                return Err(Diagnostic::error(
                    name,
                    format!("could not run `{program}`: {e}"),
                ));
            }
        }
    }
    Err(Diagnostic::error(
        name,
        format!(
            "this is a {what}, and rendering it needs {} on PATH (not found); install it, or render the output yourself and scan that",
            tried.join(" or ")
        ),
    ))
}

/// At most 20 non-empty lines of a renderer's standard error, each at most 300 characters,
/// without anything credential-shaped.
fn stderr_lines(stderr: &[u8]) -> impl Iterator<Item = String> + '_ {
    let text = String::from_utf8_lossy(stderr).into_owned();
    let lines: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(20)
        .map(|l| {
            let l: String = l.chars().filter(|c| !c.is_control()).take(300).collect();
            kspm_model::credentials::redact(&l).into_owned()
        })
        .collect();
    lines.into_iter()
}

/// Keeps renderers off the network unless remote resources are allowed: proxies that lead
/// nowhere for HTTP(S), and git limited to local repositories. The kustomization is also checked
/// for remote references before it is built ([`remote_references`]); this is the second line.
fn sandbox_env(cmd: &mut Command, allow_remote: bool) {
    cmd.env("GIT_TERMINAL_PROMPT", "0");
    if !allow_remote {
        for var in [
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "http_proxy",
            "https_proxy",
            "ALL_PROXY",
        ] {
            cmd.env(var, "http://127.0.0.1:9");
        }
        cmd.env_remove("NO_PROXY").env_remove("no_proxy");
        cmd.env("GIT_ALLOW_PROTOCOL", "file");
    }
}

enum RunError {
    NotFound,
    Timeout,
    TooLarge,
    Io(std::io::Error),
}

/// Runs a command in its own process group, reading its output up to the limit and killing the
/// whole group (a renderer's git or plugins too) when it runs too long or writes too much.
fn run_bounded(mut cmd: Command, limits: &Limits) -> Result<std::process::Output, RunError> {
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.spawn().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            RunError::NotFound
        } else {
            RunError::Io(e)
        }
    })?;
    let max = limits.max_render_bytes;
    let stdout = child.stdout.take().expect("piped");
    let stderr = child.stderr.take().expect("piped");
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.take(max + 1).read_to_end(&mut buf);
        buf
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr.take(64 * 1024).read_to_end(&mut buf);
        buf
    });
    let deadline = Instant::now() + Duration::from_millis(limits.render_timeout_ms);
    let kill = |child: &mut std::process::Child| {
        #[cfg(unix)]
        if let Some(pid) = rustix::process::Pid::from_raw(child.id() as i32) {
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
        let _ = child.kill();
        let _ = child.wait();
    };
    let mut out = Some(out);
    let mut stdout = None;
    let status = loop {
        if out
            .as_ref()
            .is_some_and(std::thread::JoinHandle::is_finished)
        {
            let buf = out.take().expect("checked").join().unwrap_or_default();
            if buf.len() as u64 > max {
                kill(&mut child);
                return Err(RunError::TooLarge);
            }
            stdout = Some(buf);
        }
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => {
                kill(&mut child);
                return Err(RunError::Io(e));
            }
        }
        if Instant::now() >= deadline {
            kill(&mut child);
            return Err(RunError::Timeout);
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let stdout = match (stdout, out) {
        (Some(buf), _) => buf,
        (None, Some(handle)) => handle.join().unwrap_or_default(),
        (None, None) => Vec::new(),
    };
    if stdout.len() as u64 > max {
        return Err(RunError::TooLarge);
    }
    // A grandchild may hold stderr open: do not wait for it past the process's exit.
    #[cfg(unix)]
    if let Some(pid) = rustix::process::Pid::from_raw(child.id() as i32) {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
    let stderr = err.join().unwrap_or_default();
    Ok(std::process::Output {
        status,
        stdout,
        stderr,
    })
}

/// A chart's symbolic links that lead outside the chart directory: `.Files.Get` would put the
/// target's content (any file on the machine) into the rendered objects, and so into reports.
fn links_leaving(dir: &Path) -> Vec<PathBuf> {
    let Ok(root) = dir.canonicalize() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    let mut seen = 0usize;
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.filter_map(Result::ok) {
            seen += 1;
            if seen > 100_000 {
                return out;
            }
            let path = e.path();
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_symlink() {
                if !path.canonicalize().is_ok_and(|c| c.starts_with(&root)) {
                    out.push(path);
                }
            } else if ft.is_dir() {
                stack.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The remote references of a kustomization and of the local bases it names: URLs, git and
/// `github.com/...` style paths, which `kustomize build` would fetch or clone.
fn remote_references(dir: &Path, visited: &mut HashSet<PathBuf>, out: &mut Vec<String>) {
    // Each directory once: a kustomization naming `.` or its bases a thousand times must not
    // make this walk exponential. At most 1,000 directories.
    if visited.len() >= 1_000 || !dir.canonicalize().is_ok_and(|c| visited.insert(c)) {
        return;
    }
    let Some(file) = KUSTOMIZATION_FILES
        .iter()
        .map(|f| dir.join(f))
        .find(|p| p.is_file())
    else {
        return;
    };
    let Ok(bytes) = read_regular(&file, 1024 * 1024) else {
        return;
    };
    let text = String::from_utf8_lossy(&bytes);
    let (docs, _) = kspm_model::yaml::parse_stream(&text, &Limits::default());
    let mut strings = Vec::new();
    for d in &docs {
        collect_strings(&d.root, &mut strings);
    }
    for s in strings {
        let s = s.trim();
        let remote = s.contains("://")
            || s.starts_with("git@")
            || s.starts_with("git::")
            || ["github.com/", "gitlab.com/", "bitbucket.org/"]
                .iter()
                .any(|h| s.starts_with(h));
        if remote {
            out.push(format!("{} ({})", s, file.display()));
        } else if !s.is_empty() && s.len() < 4096 {
            let local = dir.join(s);
            if local.is_dir() {
                remote_references(&local, visited, out);
            }
        }
    }
}

fn collect_strings(node: &kspm_model::Node, out: &mut Vec<String>) {
    match &node.value {
        kspm_model::Value::Str(s) => out.push(s.to_string()),
        kspm_model::Value::Seq(items) => {
            for i in items {
                collect_strings(i, out);
            }
        }
        kspm_model::Value::Map(entries) => {
            for e in entries {
                collect_strings(&e.value, out);
            }
        }
        _ => {}
    }
}

/// YAML files at the top of a Kustomize directory that its kustomization does not name: they
/// are not part of the build, so they are not scanned; a notice says so.
fn unlisted_in_kustomization(dir: &Path) -> Vec<Diagnostic> {
    let Some(text) = KUSTOMIZATION_FILES
        .iter()
        .map(|f| dir.join(f))
        .find(|p| p.is_file())
        .and_then(|p| read_regular(&p, 1024 * 1024).ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
    else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && is_manifest(p) && !is_kspm_config(p))
        .filter(|p| {
            let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            !KUSTOMIZATION_FILES.contains(&n) && !n.starts_with('.') && !text.contains(n)
        })
        .collect();
    names.sort();
    names
        .iter()
        .map(|p| {
            skipped(
                p,
                "a YAML file in a Kustomize directory that its kustomization does not list: not part of the build, so not scanned (name it to scan it)",
            )
        })
        .collect()
}

/// Refuses to render a directory holding symbolic links that lead outside it, naming them.
fn refuse_escaping_links(dir: &Path, what: &str) -> Result<(), Diagnostic> {
    let links = links_leaving(dir);
    if links.is_empty() {
        return Ok(());
    }
    let shown: Vec<String> = links
        .iter()
        .take(5)
        .map(|p| p.display().to_string())
        .collect();
    Err(Diagnostic::error(
        dir.display().to_string(),
        format!(
            "{what} not rendered: {} symbolic link(s) lead outside it ({}); a template could read any file on this machine through them",
            links.len(),
            shown.join(", ")
        ),
    ))
}

fn render_helm(dir: &Path, limits: &Limits) -> Result<(Document, Vec<Diagnostic>), Diagnostic> {
    refuse_escaping_links(dir, "Helm chart")?;
    render(
        dir,
        &[("helm", &["template", "kspm"] as &[&str])],
        "Helm chart (Chart.yaml)",
        limits,
    )
}

fn render_kustomize(
    dir: &Path,
    limits: &Limits,
) -> Result<(Document, Vec<Diagnostic>), Diagnostic> {
    let mut unlisted = unlisted_in_kustomization(dir);
    if !limits.allow_remote {
        let mut remote = Vec::new();
        remote_references(dir, &mut HashSet::new(), &mut remote);
        if !remote.is_empty() {
            remote.truncate(5);
            return Err(Diagnostic::error(
                dir.display().to_string(),
                format!(
                    "Kustomize directory not built: it names remote resources or bases, which kspm does not fetch unless told to (--allow-remote, or allow_remote_resources: true in a --config file): {}",
                    remote.join(", ")
                ),
            ));
        }
    }
    refuse_escaping_links(dir, "Kustomize directory")?;
    let (doc, mut diags) = render(
        dir,
        &[
            ("kustomize", &["build"] as &[&str]),
            ("kubectl", &["kustomize"]),
        ],
        "Kustomize directory (kustomization.yaml)",
        limits,
    )?;
    diags.append(&mut unlisted);
    Ok((doc, diags))
}

/// Parses one document of a source into resources; `*List` kinds are expanded into their items.
pub fn parse_chunk(
    doc: &Document,
    chunk: &Chunk<'_>,
    limits: &Limits,
    resources: &mut Vec<Resource>,
    diags: &mut Vec<Diagnostic>,
) {
    let (parsed, errors) = parse_stream_at(chunk.text, limits, chunk.line_offset, chunk.doc);
    for e in errors {
        let d = Diagnostic::error(doc.name.clone(), e.message)
            .at(e.pos)
            .in_document(e.doc_index);
        diags.push(if e.fatal { d } else { d.warning() });
    }
    let origin: Option<Arc<str>> = if doc.rendered {
        chunk.origin.map(Arc::from)
    } else {
        None
    };
    for pd in parsed {
        let source = Source {
            file: doc.name.clone(),
            doc: pd.index,
            origin: origin.clone(),
        };
        let pos = pd.root.pos;
        // docker-compose.yml, mkdocs.yml, OpenAPI specs, CI files: a document with neither
        // `apiVersion` nor `kind` is not a manifest, so it is counted and passed over, not an
        // input error. One with either stays an error if it is not a valid object.
        if pd.root.get("apiVersion").is_none() && pd.root.get("kind").is_none() {
            diags.push(
                Diagnostic::error(
                    doc.name.clone(),
                    "skipped: a YAML document with neither apiVersion nor kind is not a Kubernetes manifest",
                )
                .at(pos)
                .in_document(pd.index)
                .notice(),
            );
            continue;
        }
        match Resource::from_node(pd.root, source.clone()) {
            Ok(r) if r.kind().ends_with("List") && r.root.get("items").is_some() => {
                expand_list(r, resources, diags);
            }
            Ok(r) => resources.push(r),
            Err(message) => diags.push(
                Diagnostic::error(
                    doc.name.clone(),
                    format!("not a Kubernetes object: {message}"),
                )
                .at(pos)
                .in_document(pd.index),
            ),
        }
    }
}

/// Parses every document of a source.
pub fn parse_document(
    doc: &Document,
    limits: &Limits,
    resources: &mut Vec<Resource>,
    diags: &mut Vec<Diagnostic>,
) {
    for chunk in split_documents(&doc.text) {
        parse_chunk(doc, &chunk, limits, resources, diags);
    }
}

/// Whether a document may hold an object the cross-resource index keeps, judged from its text
/// so that the index pass parses only those documents. It may only say "maybe": a document is
/// passed over only when its one top-level `kind:` line holds a plain name (letters and digits,
/// optionally quoted) that is not indexed. Tags (`!!str`), anchors, aliases, block scalars,
/// escapes, flow mappings, repeated keys, JSON and Lists are all parsed.
pub fn may_hold_indexed_kind(text: &str) -> bool {
    let mut kinds = text.lines().filter_map(|l| l.strip_prefix("kind:"));
    let Some(value) = kinds.next() else {
        return true;
    };
    if kinds.next().is_some() {
        return true;
    }
    let value = value.split(" #").next().unwrap_or("").trim();
    let plain = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
        .unwrap_or(value);
    if plain.is_empty() || !plain.chars().all(|c| c.is_ascii_alphanumeric()) {
        return true;
    }
    kspm_model::Index::indexes(plain) || plain.ends_with("List")
}

fn expand_list(list: Resource, resources: &mut Vec<Resource>, diags: &mut Vec<Diagnostic>) {
    let kspm_model::Resource { root, source, .. } = list;
    let kspm_model::Value::Map(entries) = root.value else {
        return;
    };
    let Some(items) = entries.into_iter().find(|e| &*e.key == "items") else {
        return;
    };
    let kspm_model::Value::Seq(items) = items.value.value else {
        diags.push(
            Diagnostic::error(source.file.clone(), "`items` of a List must be a list")
                .at(items.key_pos)
                .in_document(source.doc),
        );
        return;
    };
    for item in items {
        let pos = item.pos;
        match Resource::from_node(item, source.clone()) {
            Ok(r) => resources.push(r),
            Err(message) => diags.push(
                Diagnostic::error(
                    source.file.clone(),
                    format!("List item is not a Kubernetes object: {message}"),
                )
                .at(pos)
                .in_document(source.doc),
            ),
        }
    }
}

/// Reads every input (rendering charts and overlays) into memory as text. Independent inputs
/// are read in parallel. Text is what the scan keeps: parsed trees are several times larger and
/// live only while their document is checked.
pub fn read_all(inputs: &[Input], limits: &Limits) -> (Vec<Document>, Vec<Diagnostic>, usize) {
    use rayon::prelude::*;
    let mut diags = Vec::new();
    let (units, stdin) = discover(inputs, &mut diags);
    let mut sources = units.len();
    let read: Vec<Outcome> = units
        .par_iter()
        .map(|unit| match unit {
            Unit::File(p) => read_file(p, limits),
            Unit::Helm(p) => match render_helm(p, limits) {
                Ok((d, w)) => Outcome::Doc(d, w),
                Err(d) => Outcome::Failed(d),
            },
            Unit::Kustomize(p) => match render_kustomize(p, limits) {
                Ok((d, w)) => Outcome::Doc(d, w),
                Err(d) => Outcome::Failed(d),
            },
        })
        .collect();
    let mut docs = Vec::new();
    for r in read {
        match r {
            Outcome::Doc(d, mut w) => {
                docs.push(d);
                diags.append(&mut w);
            }
            Outcome::Failed(d) => diags.push(d),
            Outcome::Skipped(d) => {
                sources -= 1;
                diags.push(d);
            }
        }
    }
    for input in inputs {
        if let Input::Text { name, text } = input {
            sources += 1;
            docs.push(Document {
                name: name.as_str().into(),
                text: text.clone(),
                rendered: false,
            });
        }
    }
    if stdin {
        sources += 1;
        match read_stdin(limits) {
            Ok(doc) => docs.push(doc),
            Err(d) => diags.push(d),
        }
    }
    (docs, diags, sources)
}

/// Every resource of the inputs, parsed, with the problems met on the way. For the analyses
/// that need all objects at once (RBAC, network reachability) rather than one at a time.
pub fn load(inputs: &[Input], limits: &Limits) -> (Vec<Resource>, Vec<Diagnostic>) {
    let (docs, mut diags, _) = read_all(inputs, limits);
    let mut resources = Vec::new();
    for doc in &docs {
        parse_document(doc, limits, &mut resources, &mut diags);
    }
    diags.sort_by(|a, b| a.file.cmp(&b.file).then(a.line.cmp(&b.line)));
    (resources, diags)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads and parses every input into memory (for callers that want all the trees at once).
    fn load(inputs: &[Input], limits: &Limits) -> (Vec<Resource>, Vec<Diagnostic>, usize) {
        let (docs, mut diags, sources) = read_all(inputs, limits);
        let mut resources = Vec::new();
        for doc in &docs {
            parse_document(doc, limits, &mut resources, &mut diags);
        }
        (resources, diags, sources)
    }

    #[test]
    fn remote_references_visit_each_base_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut text = String::from("resources:\n");
        for _ in 0..200 {
            text.push_str("- .\n- base\n");
        }
        text.push_str("- https://example.invalid/x.yaml\n");
        std::fs::write(dir.path().join("kustomization.yaml"), &text).unwrap();
        std::fs::create_dir(dir.path().join("base")).unwrap();
        std::fs::write(
            dir.path().join("base/kustomization.yaml"),
            "resources: [.., git@example.invalid:x/y.git]\n",
        )
        .unwrap();
        let mut visited = HashSet::new();
        let mut remote = Vec::new();
        remote_references(dir.path(), &mut visited, &mut remote);
        // Two directories, each read once: one remote reference each.
        assert_eq!(visited.len(), 2);
        assert_eq!(remote.len(), 2, "{remote:?}");
    }

    #[test]
    fn rendered_documents_name_their_template() {
        let doc = Document {
            name: "chart".into(),
            text: "---\n# Source: c/templates/sa.yaml\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a}\n---\n# Source: c/templates/d.yaml\napiVersion: v1\nkind: Pod\nmetadata: {name: b}\n".into(),
            rendered: true,
        };
        let mut resources = Vec::new();
        let mut diags = Vec::new();
        parse_document(&doc, &Limits::default(), &mut resources, &mut diags);
        let origins: Vec<_> = resources
            .iter()
            .map(|r| r.source.origin.as_deref())
            .collect();
        assert_eq!(
            origins,
            [Some("c/templates/sa.yaml"), Some("c/templates/d.yaml")]
        );
        assert_eq!(resources[1].root.get("kind").unwrap().pos.line, 9);
    }

    #[test]
    fn index_prefilter_errs_on_the_side_of_parsing() {
        assert!(may_hold_indexed_kind(
            "apiVersion: v1\nkind: ServiceAccount\n"
        ));
        assert!(may_hold_indexed_kind(
            "kind: \"PodDisruptionBudget\" # comment\n"
        ));
        assert!(may_hold_indexed_kind("{\"kind\": \"Deployment\"}"));
        assert!(may_hold_indexed_kind("kind: List\nitems: []\n"));
        assert!(!may_hold_indexed_kind(
            "apiVersion: apps/v1\nkind: Deployment\nspec:\n  x:\n    kind: Service\n"
        ));
    }

    /// Every way of writing an indexed kind that the text pre-filter cannot read must still be
    /// parsed: the pre-filter only says "maybe".
    #[test]
    fn index_prefilter_cannot_be_fooled() {
        let crb = "apiVersion: rbac.authorization.k8s.io/v1\nmetadata: {name: x}\n";
        for kind_line in [
            "kind: !!str ClusterRoleBinding",
            "kind: &k ClusterRoleBinding",
            "kind: >-\n  ClusterRoleBinding",
            "kind: \"Cluster\\x52oleBinding\"",
            "kind: Pod\nkind: ClusterRoleBinding",
            "kind: Pod\nmetadata2: {}\nkind: ClusterRoleBinding",
            "{kind: ClusterRoleBinding,\n apiVersion: v1}",
            "\"kind\": ClusterRoleBinding",
            "kind:   ClusterRoleBinding   # comment",
        ] {
            let text = format!("{crb}{kind_line}\n");
            let mut resources = Vec::new();
            let doc = Document {
                name: "x".into(),
                text: text.clone(),
                rendered: false,
            };
            parse_document(&doc, &Limits::default(), &mut resources, &mut Vec::new());
            let parsed_indexed = resources
                .iter()
                .any(|r| kspm_model::Index::indexes(r.kind()));
            if parsed_indexed {
                assert!(may_hold_indexed_kind(&text), "dropped: {text}");
            }
        }
        assert!(may_hold_indexed_kind(
            "apiVersion: v1\nkind: !!str ClusterRoleBinding\n"
        ));
    }

    #[test]
    fn lists_are_expanded() {
        let doc = Document {
            name: "l.yaml".into(),
            text: "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Pod, metadata: {name: a}}\n- {kind: Pod}\n".into(),
            rendered: false,
        };
        let mut resources = Vec::new();
        let mut diags = Vec::new();
        parse_document(&doc, &Limits::default(), &mut resources, &mut diags);
        assert_eq!(resources.len(), 1);
        assert_eq!(diags.len(), 1);
        assert!(
            diags[0].message.contains("missing `apiVersion`"),
            "{diags:?}"
        );
        assert_eq!(diags[0].line, Some(5));
    }

    #[test]
    fn binary_and_missing_files_are_diagnostics() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.yaml"), b"\x00\x01\x02").unwrap();
        std::fs::write(
            dir.path().join("b.yaml"),
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n",
        )
        .unwrap();
        let missing = dir.path().join("nope.yaml");
        let inputs = [Input::Path(dir.path().to_path_buf()), Input::Path(missing)];
        let (resources, diags, _) = load(&inputs, &Limits::default());
        assert_eq!(resources.len(), 1);
        assert_eq!(diags.len(), 2, "{diags:?}");
        assert!(diags.iter().any(|d| d.message.contains("binary")));
        assert!(diags.iter().any(|d| d.message.contains("no such file")));
    }

    #[cfg(unix)]
    #[test]
    fn symlink_loops_terminate() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        std::os::unix::fs::symlink(dir.path(), sub.join("back")).unwrap();
        std::os::unix::fs::symlink(sub.join("self"), sub.join("self")).unwrap();
        std::fs::write(
            sub.join("p.yaml"),
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n",
        )
        .unwrap();
        let (resources, diags, _) =
            load(&[Input::Path(dir.path().to_path_buf())], &Limits::default());
        assert_eq!(resources.len(), 1);
        assert!(
            diags.iter().any(|d| d.message.contains("loop")),
            "{diags:?}"
        );
    }
}

//! Where to make a change kspm cannot make itself: findings on rendered Helm or Kustomize
//! output, or on standard input, name the file a person should edit when that can be known.

use std::path::{Path, PathBuf};

use kspm_model::{Finding, SegRef};

use crate::NotEditable;

/// The message for a finding whose source is not edited.
pub(crate) fn refusal(f: &Finding, why: &NotEditable) -> String {
    match why {
        NotEditable::Stdin => {
            "read from standard input: nothing to edit in place (save it to a file and run `kspm fix FILE`)".to_owned()
        }
        NotEditable::Other(why) => why.clone(),
        NotEditable::Rendered(dir) if dir.join("Chart.yaml").is_file() => helm(f, dir),
        NotEditable::Rendered(dir) => kustomize(f, dir),
    }
}

/// The last key of the finding's path: the field a template line or a value sets.
fn field(f: &Finding) -> Option<&str> {
    f.path
        .iter()
        .filter_map(|s| match s {
            SegRef::Key(k) => Some(k),
            SegRef::Index(_) => None,
        })
        .last()
}

fn helm(f: &Finding, chart: &Path) -> String {
    let mut msg = format!(
        "rendered by Helm from the chart {}: not edited (kspm does not rewrite templates)",
        chart.display()
    );
    // `# Source: CHART/templates/x.yaml` names the template, relative to the chart's parent.
    let template = f.source.origin.as_deref().and_then(|o| {
        let rel: PathBuf = Path::new(o).components().skip(1).collect();
        let path = chart.join(rel);
        path.is_file().then_some(path)
    });
    let Some(template) = template else {
        msg.push_str("; change the chart's values or templates");
        return msg;
    };
    let value = field(f).and_then(|name| value_for(&template, name));
    match value {
        Some((line, value)) => msg.push_str(&format!(
            "; {}:{line} sets `{}` from `.Values.{value}`: change `{value}` in values.yaml (or with --set)",
            template.display(),
            field(f).unwrap_or_default()
        )),
        None => msg.push_str(&format!("; change {}", template.display())),
    }
    msg
}

/// The value a template line reads for a field: `hostNetwork: {{ .Values.hostNetwork }}`.
fn value_for(template: &Path, field: &str) -> Option<(usize, String)> {
    let text = std::fs::read_to_string(template).ok()?;
    let needle = format!("{field}:");
    for (n, line) in text.lines().enumerate() {
        let t = line.trim_start().trim_start_matches("- ");
        if !t.starts_with(&needle) {
            continue;
        }
        if let Some(at) = t.find(".Values.") {
            let value: String = t[at + 8..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
                .collect();
            if !value.is_empty() {
                return Some((n + 1, value.trim_end_matches('.').to_owned()));
            }
        }
    }
    None
}

fn kustomize(f: &Finding, overlay: &Path) -> String {
    let mut msg = format!(
        "built by Kustomize from {}: not edited (kspm does not rewrite kustomizations)",
        overlay.display()
    );
    let mut found = Vec::new();
    let mut budget = 2_000usize;
    search(
        overlay,
        &f.resource.kind,
        &f.resource.name,
        0,
        &mut budget,
        &mut found,
    );
    found.sort();
    found.dedup();
    if found.is_empty() {
        msg.push_str("; change the base or patch that defines it");
    } else {
        let names: Vec<String> = found
            .iter()
            .take(5)
            .map(|p| p.display().to_string())
            .collect();
        msg.push_str(&format!(
            "; {} {} is defined or patched in {}",
            f.resource.kind,
            f.resource.name,
            names.join(", ")
        ));
    }
    msg
}

/// Finds the YAML files under a kustomization and the local bases it names that mention the
/// object (`kind:` and `name:` lines), within a budget of files read.
fn search(
    dir: &Path,
    kind: &str,
    name: &str,
    depth: usize,
    budget: &mut usize,
    found: &mut Vec<PathBuf>,
) {
    if depth > 6 || *budget == 0 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        if *budget == 0 {
            return;
        }
        let Some(ext) = path.extension().and_then(|e| e.to_str()) else {
            continue;
        };
        if !matches!(ext, "yaml" | "yml")
            || std::fs::symlink_metadata(&path).is_ok_and(|m| !m.is_file())
        {
            continue;
        }
        *budget -= 1;
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let is_kustomization = path
            .file_name()
            .is_some_and(|n| n.to_str().is_some_and(|n| n.starts_with("kustomization")));
        if is_kustomization {
            // Local bases and resources: `- ../base`, `- deploy.yaml`.
            for line in text.lines() {
                let item = line
                    .trim_start()
                    .trim_start_matches("- ")
                    .trim()
                    .trim_matches('"');
                if item.starts_with("..") || item.starts_with("./") {
                    let target = dir.join(item);
                    if target.is_dir() {
                        search(&target, kind, name, depth + 1, budget, found);
                    }
                }
            }
            continue;
        }
        let has = |key: &str, value: &str| {
            text.lines().any(|l| {
                l.trim_start()
                    .strip_prefix(key)
                    .is_some_and(|v| v.trim().trim_matches(['"', '\'']) == value)
            })
        };
        if has("kind:", kind) && has("name:", name) {
            found.push(path);
        }
    }
}

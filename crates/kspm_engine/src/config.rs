//! `kspm.yaml`: rule selection, severity overrides, exceptions and limits.
//!
//! Parsed with kspm's own located YAML tree so that every unknown key or bad value is reported
//! with its line, like a compiler error, instead of being silently ignored.
//!
//! ```yaml
//! rules:
//!   select: [all]            # codes, slugs, categories, or `all`; default: the default rules
//!   ignore: [WL008]
//!   severity: {missing-cpu-limit: medium}
//! exceptions:
//!   - rule: host-pid         # or `rules: [...]`; `*` for every rule
//!     kind: DaemonSet        # globs; omitted means any
//!     namespace: monitoring
//!     name: node-exporter*
//!     reason: needs host process metrics
//!     owner: team-observability
//!     expires: 2027-06-30
//! inline_exceptions: true    # honour kspm.io/ignore annotations
//! fail_on: high
//! k8s_version: "1.30"
//! limits: {max_file_bytes: 67108864, max_depth: 100, max_alias_nodes: 100000,
//!          max_render_bytes: 268435456, render_timeout_ms: 120000, max_containers: 1000,
//!          max_findings_per_resource: 1000, max_findings: 1000000}
//! allow_remote_resources: false   # Kustomize may fetch remote resources (as --allow-remote)
//! policies: [policies/, extra/no-latest.rego]   # custom policies, relative to this file
//! policy_limits: {timeout_ms: 1000, max_violations: 100}
//! cluster_policies: true     # live scans also evaluate the admission policies installed there
//! alerts: {routes: [...], sinks: {...}}   # kept as written; kspm_alerts validates it
//! remediation: {auto: [PS019, AP003], namespaces: [shop], dry_run: true, max_per_hour: 10}  # the agent only
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use kspm_model::yaml::{Limits, parse_stream};
use kspm_model::{Node, Pos, Severity};
use kspm_rules::KubeVersion;

use crate::exceptions::{Date, Exception};

#[derive(Clone, Debug, Default)]
pub struct Config {
    pub path: Option<PathBuf>,
    pub select: Option<Vec<String>>,
    pub ignore: Vec<String>,
    pub severity: BTreeMap<String, (Severity, Pos)>,
    pub exceptions: Vec<Exception>,
    pub inline_exceptions: Option<bool>,
    pub fail_on: Option<Severity>,
    pub k8s_version: Option<KubeVersion>,
    pub limits: Option<Limits>,
    /// Custom policy files and directories, resolved against the configuration file's folder.
    pub policies: Vec<PathBuf>,
    /// Per-policy evaluation budget in milliseconds.
    pub policy_timeout_ms: Option<u64>,
    /// Violations kept per policy and resource.
    pub policy_max_violations: Option<usize>,
    /// Memory budget for one policy on one resource, in MiB; `Some(0)` turns the bound off
    /// (policies then run inside the scanning process).
    pub policy_memory_mb: Option<u64>,
    /// Live scans also evaluate the ValidatingAdmissionPolicies and Gatekeeper constraints
    /// installed in the cluster (`--cluster-policies`). Ignored by file scans.
    pub cluster_policies: Option<bool>,
    /// Kustomize may fetch remote resources and bases (as `--allow-remote`). Not honoured in a
    /// discovered configuration.
    pub allow_remote_resources: Option<bool>,
    /// The `alerts:` section as written (routes and sinks), with its positions: parsed and
    /// validated by `kspm_alerts`, which the agent and `kspm alerts` use; a scan ignores it.
    pub alerts: Option<Node>,
    /// The agent's unattended remediation (`remediation:`); a scan ignores it.
    pub remediation: Option<AutoRemediation>,
}

/// `remediation:`: which findings `kspm agent` fixes in the cluster by itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AutoRemediation {
    /// Rule codes or slugs whose fixes are applied (each checked against the rule list).
    pub auto: Vec<String>,
    /// Only objects in these namespaces (empty: every namespace but kube-system). kube-system is
    /// touched only when listed here.
    pub namespaces: Vec<String>,
    /// Record what would be fixed, change nothing (the default).
    pub dry_run: bool,
    /// At most this many objects changed (or, in a dry run, planned) per hour.
    pub max_per_hour: u32,
}

/// Everything wrong with a configuration file, each with its line.
#[derive(Debug, thiserror::Error)]
pub struct ConfigError {
    pub file: String,
    pub problems: Vec<(Pos, String)>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (pos, msg)) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            if pos.is_known() {
                write!(f, "{}:{}:{}: {msg}", self.file, pos.line, pos.col)?;
            } else {
                write!(f, "{}: {msg}", self.file)?;
            }
        }
        Ok(())
    }
}

/// The file names looked for at the root of a scan.
pub const CONFIG_NAMES: &[&str] = &["kspm.yaml", "kspm.yml", ".kspm.yaml"];

/// Finds `kspm.yaml` at the root of a scanned directory. A name that resolves outside the
/// directory (a symlink to another file on the machine) is not a configuration of that tree.
pub fn discover(root: &Path) -> Option<PathBuf> {
    let dir = if root.is_dir() { root } else { root.parent()? };
    let canonical_dir = dir.canonicalize().ok()?;
    CONFIG_NAMES.iter().map(|n| dir.join(n)).find(|p| {
        p.is_file()
            && p.canonicalize()
                .is_ok_and(|c| c.parent() == Some(canonical_dir.as_path()))
    })
}

/// Largest configuration file read.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

struct Problems(Vec<(Pos, String)>);

impl Problems {
    fn push(&mut self, pos: Pos, msg: impl Into<String>) {
        self.0.push((pos, msg.into()));
    }

    fn strings(&mut self, node: &Node, what: &str) -> Vec<String> {
        match node.as_seq() {
            Some(items) => items
                .iter()
                .filter_map(|i| {
                    let s = i.as_str().map(str::to_owned);
                    if s.is_none() {
                        self.push(
                            i.pos,
                            format!("{what}: expected a string, found {}", i.type_name()),
                        );
                    }
                    s
                })
                .collect(),
            None => match node.as_str() {
                Some(s) => vec![s.to_owned()],
                None => {
                    self.push(
                        node.pos,
                        format!(
                            "{what}: expected a list of strings, found {}",
                            node.type_name()
                        ),
                    );
                    Vec::new()
                }
            },
        }
    }

    fn keys(&mut self, node: &Node, allowed: &[&str], what: &str) {
        match node.as_map() {
            Some(entries) => {
                for e in entries {
                    if !allowed.contains(&&*e.key) {
                        self.push(
                            e.key_pos,
                            format!(
                                "unknown key `{}` in {what} (expected one of: {})",
                                e.key,
                                allowed.join(", ")
                            ),
                        );
                    }
                }
            }
            None => self.push(
                node.pos,
                format!("{what} must be a mapping, found {}", node.type_name()),
            ),
        }
    }
}

impl Config {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let file = path.display().to_string();
        let text = crate::source::read_regular(path, MAX_CONFIG_BYTES)
            .map_err(|e| e.to_string())
            .and_then(|bytes| String::from_utf8(bytes).map_err(|_| "not valid UTF-8".to_owned()))
            .map_err(|e| ConfigError {
                file: file.clone(),
                problems: vec![(Pos::default(), format!("cannot read: {e}"))],
            })?;
        let mut config = Self::parse(&text, &file)?;
        config.path = Some(path.to_path_buf());
        let base = path.parent().unwrap_or(Path::new(""));
        for p in &mut config.policies {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        Ok(config)
    }

    pub fn parse(text: &str, file: &str) -> Result<Self, ConfigError> {
        let mut p = Problems(Vec::new());
        let (docs, errors) = parse_stream(text, &Limits::default());
        for e in errors {
            p.push(e.pos, e.message);
        }
        let mut config = Config::default();
        let Some(root) = docs.first().map(|d| &d.root) else {
            return if p.0.is_empty() {
                Ok(config)
            } else {
                Err(ConfigError {
                    file: file.into(),
                    problems: p.0,
                })
            };
        };
        p.keys(
            root,
            &[
                "rules",
                "exceptions",
                "inline_exceptions",
                "fail_on",
                "k8s_version",
                "limits",
                "policies",
                "policy_limits",
                "cluster_policies",
                "allow_remote_resources",
                "alerts",
                "remediation",
            ],
            "the configuration",
        );
        if let Some(n) = root.get("remediation") {
            config.remediation = parse_remediation(n, &mut p);
        }
        config.alerts = root.get("alerts").cloned();
        if let Some(rules) = root.get("rules") {
            p.keys(rules, &["select", "ignore", "severity"], "`rules`");
            if let Some(sel) = rules.get("select") {
                config.select = Some(p.strings(sel, "rules.select"));
            }
            if let Some(ign) = rules.get("ignore") {
                config.ignore = p.strings(ign, "rules.ignore");
            }
            if let Some(sev) = rules.get("severity") {
                match sev.as_map() {
                    Some(entries) => {
                        for e in entries {
                            match e.value.as_str().map(str::parse::<Severity>) {
                                Some(Ok(s)) => {
                                    config.severity.insert(e.key.to_string(), (s, e.key_pos));
                                }
                                Some(Err(msg)) => {
                                    p.push(e.value.pos, format!("rules.severity.{}: {msg}", e.key));
                                }
                                None => p.push(
                                    e.value.pos,
                                    format!("rules.severity.{}: expected a severity name", e.key),
                                ),
                            }
                        }
                    }
                    None => p.push(sev.pos, "rules.severity must map rule names to severities"),
                }
            }
        }
        if let Some(list) = root.get("exceptions") {
            match list.as_seq() {
                Some(items) => {
                    for item in items {
                        if let Some(e) = parse_exception(item, &mut p) {
                            config.exceptions.push(e);
                        }
                    }
                }
                None => p.push(list.pos, "`exceptions` must be a list"),
            }
        }
        if let Some(n) = root.get("inline_exceptions") {
            match n.as_bool() {
                Some(b) => config.inline_exceptions = Some(b),
                None => p.push(n.pos, "inline_exceptions must be true or false"),
            }
        }
        if let Some(n) = root.get("allow_remote_resources") {
            match n.as_bool() {
                Some(b) => config.allow_remote_resources = Some(b),
                None => p.push(n.pos, "allow_remote_resources must be true or false"),
            }
        }
        if let Some(n) = root.get("cluster_policies") {
            match n.as_bool() {
                Some(b) => config.cluster_policies = Some(b),
                None => p.push(n.pos, "cluster_policies must be true or false"),
            }
        }
        if let Some(n) = root.get("fail_on") {
            match n.as_str().map(str::parse::<Severity>) {
                Some(Ok(s)) => config.fail_on = Some(s),
                Some(Err(msg)) => p.push(n.pos, format!("fail_on: {msg}")),
                None => p.push(n.pos, "fail_on must be a severity name"),
            }
        }
        if let Some(n) = root.get("k8s_version") {
            let text = match &n.value {
                kspm_model::Value::Str(s) => s.to_string(),
                _ => String::new(),
            };
            match text.parse::<KubeVersion>() {
                Ok(v) => config.k8s_version = Some(v),
                Err(_) => p.push(n.pos, "k8s_version must be a version like \"1.30\" (quote it: 1.30 unquoted is the number 1.3)"),
            }
        }
        if let Some(n) = root.get("limits") {
            p.keys(
                n,
                &[
                    "max_file_bytes",
                    "max_depth",
                    "max_alias_nodes",
                    "max_render_bytes",
                    "render_timeout_ms",
                    "max_containers",
                    "max_findings_per_resource",
                    "max_findings",
                ],
                "`limits`",
            );
            let mut limits = Limits::default();
            for (key, slot) in [
                ("max_depth", &mut limits.max_depth),
                ("max_alias_nodes", &mut limits.max_alias_nodes),
                ("max_containers", &mut limits.max_containers),
                (
                    "max_findings_per_resource",
                    &mut limits.max_findings_per_resource,
                ),
                ("max_findings", &mut limits.max_findings),
            ] {
                if let Some(v) = n.get(key) {
                    match v.as_i64().filter(|i| *i > 0) {
                        Some(i) => *slot = i as usize,
                        None => p.push(v.pos, format!("limits.{key} must be a positive integer")),
                    }
                }
            }
            for (key, slot) in [
                ("max_file_bytes", &mut limits.max_file_bytes),
                ("max_render_bytes", &mut limits.max_render_bytes),
                ("render_timeout_ms", &mut limits.render_timeout_ms),
            ] {
                if let Some(v) = n.get(key) {
                    match v.as_i64().filter(|i| *i > 0) {
                        Some(i) => *slot = i as u64,
                        None => p.push(v.pos, format!("limits.{key} must be a positive integer")),
                    }
                }
            }
            if limits.max_depth > Limits::MAX_DEPTH
                && let Some(v) = n.get("max_depth")
            {
                p.push(
                    v.pos,
                    format!(
                        "limits.max_depth must be at most {} (deeper trees would risk the stack)",
                        Limits::MAX_DEPTH
                    ),
                );
            }
            config.limits = Some(limits);
        }
        if let Some(n) = root.get("policies") {
            config.policies = p
                .strings(n, "policies")
                .into_iter()
                .map(PathBuf::from)
                .collect();
        }
        if let Some(n) = root.get("policy_limits") {
            p.keys(
                n,
                &["timeout_ms", "max_violations", "memory_mb"],
                "`policy_limits`",
            );
            if let Some(v) = n.get("timeout_ms") {
                match v.as_i64().filter(|i| *i > 0) {
                    Some(i) => config.policy_timeout_ms = Some(i as u64),
                    None => p.push(v.pos, "policy_limits.timeout_ms must be a positive integer"),
                }
            }
            if let Some(v) = n.get("max_violations") {
                match v.as_i64().filter(|i| *i > 0) {
                    Some(i) => config.policy_max_violations = Some(i as usize),
                    None => p.push(
                        v.pos,
                        "policy_limits.max_violations must be a positive integer",
                    ),
                }
            }
            if let Some(v) = n.get("memory_mb") {
                match v.as_i64().filter(|i| *i >= 0) {
                    Some(i) => config.policy_memory_mb = Some(i as u64),
                    None => p.push(
                        v.pos,
                        "policy_limits.memory_mb must be a whole number of MiB (0 turns the bound off)",
                    ),
                }
            }
        }
        if p.0.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError {
                file: file.into(),
                problems: p.0,
            })
        }
    }
}

fn parse_remediation(n: &Node, p: &mut Problems) -> Option<AutoRemediation> {
    p.keys(
        n,
        &["auto", "namespaces", "dry_run", "max_per_hour"],
        "`remediation`",
    );
    let Some(auto) = n.get("auto") else {
        p.push(
            n.pos,
            "remediation.auto must list the rules (codes or slugs) to fix",
        );
        return None;
    };
    let rules = p.strings(auto, "remediation.auto");
    for (i, rule) in rules.iter().enumerate() {
        if kspm_rules::find_rule(rule).is_none() {
            let pos = auto
                .as_seq()
                .and_then(|s| s.get(i))
                .map_or(auto.pos, |n| n.pos);
            p.push(pos, format!("remediation.auto: unknown rule `{rule}`"));
        }
    }
    if rules.is_empty() {
        p.push(auto.pos, "remediation.auto must list at least one rule");
    }
    let namespaces = n
        .get("namespaces")
        .map(|ns| p.strings(ns, "remediation.namespaces"))
        .unwrap_or_default();
    let dry_run = match n.get("dry_run") {
        None => true,
        Some(b) => b.as_bool().unwrap_or_else(|| {
            p.push(b.pos, "remediation.dry_run must be true or false");
            true
        }),
    };
    let max_per_hour = match n.get("max_per_hour") {
        None => 10,
        Some(m) => match m
            .as_i64()
            .and_then(|v| u32::try_from(v).ok())
            .filter(|v| *v > 0)
        {
            Some(v) => v,
            None => {
                p.push(m.pos, "remediation.max_per_hour must be a positive number");
                10
            }
        },
    };
    Some(AutoRemediation {
        auto: rules,
        namespaces,
        dry_run,
        max_per_hour,
    })
}

fn parse_exception(item: &Node, p: &mut Problems) -> Option<Exception> {
    let before = p.0.len();
    p.keys(
        item,
        &[
            "rule",
            "rules",
            "kind",
            "namespace",
            "name",
            "reason",
            "owner",
            "expires",
        ],
        "an exception",
    );
    let text = |p: &mut Problems, key: &str| -> Option<String> {
        let n = item.get(key)?;
        match &n.value {
            kspm_model::Value::Str(s) => Some(s.to_string()),
            kspm_model::Value::Int(i) => Some(i.to_string()),
            _ => {
                p.push(
                    n.pos,
                    format!(
                        "exception {key}: expected a string, found {}",
                        n.type_name()
                    ),
                );
                None
            }
        }
    };
    let mut rules = Vec::new();
    if let Some(r) = item.get("rule") {
        rules.extend(p.strings(r, "exception rule"));
    }
    if let Some(r) = item.get("rules") {
        rules.extend(p.strings(r, "exception rules"));
    }
    if rules.is_empty() {
        p.push(
            item.pos,
            "an exception must name `rule` (a code, slug, or `*`)",
        );
    }
    let reason = text(p, "reason");
    if reason.as_deref().is_none_or(str::is_empty) {
        p.push(item.pos, "an exception must give a `reason`");
    }
    let expires = match item.get("expires") {
        Some(n) => {
            let t = n
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| n.evidence());
            match Date::parse(&t) {
                Some(d) => Some(d),
                None => {
                    p.push(
                        n.pos,
                        format!("exception expires: `{t}` is not a date like 2027-06-30"),
                    );
                    None
                }
            }
        }
        None => None,
    };
    let kind = text(p, "kind");
    let namespace = text(p, "namespace");
    let name = text(p, "name");
    let owner = text(p, "owner");
    if p.0.len() > before {
        return None;
    }
    match Exception::new(
        rules,
        kind,
        namespace,
        name,
        reason.unwrap_or_default(),
        owner,
        expires,
        item.pos,
    ) {
        Ok(e) => Some(e),
        Err(bad) => {
            p.push(item.pos, bad.to_string());
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remediation_section() {
        let c = Config::parse(
            "remediation: {auto: [PS019, privilege-escalation-allowed], namespaces: [shop]}\n",
            "kspm.yaml",
        )
        .unwrap();
        let r = c.remediation.unwrap();
        assert_eq!(r.auto, ["PS019", "privilege-escalation-allowed"]);
        assert_eq!(r.namespaces, ["shop"]);
        assert!(r.dry_run, "dry run unless told otherwise");
        assert_eq!(r.max_per_hour, 10);
        let err = Config::parse(
            "remediation:\n  auto: [PS019, nope]\n  dry_run: maybe\n  max_per_hour: 0\n  fast: true\n",
            "kspm.yaml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("kspm.yaml:2:17: remediation.auto: unknown rule `nope`"),
            "{err}"
        );
        assert!(
            err.contains("kspm.yaml:3:12: remediation.dry_run must be true or false"),
            "{err}"
        );
        assert!(
            err.contains("kspm.yaml:4:17: remediation.max_per_hour must be a positive"),
            "{err}"
        );
        assert!(err.contains("kspm.yaml:5:3: unknown key `fast`"), "{err}");
    }

    #[test]
    fn unknown_keys_and_bad_values_name_their_lines() {
        let text = "rules:\n  selct: [all]\nfail_on: severe\nexceptions:\n  - rule: host-pid\n    expires: tomorrow\n    reason: x\n";
        let err = Config::parse(text, "kspm.yaml").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("kspm.yaml:2:3: unknown key `selct`"), "{msg}");
        assert!(
            msg.contains("kspm.yaml:3:10: fail_on: unknown severity"),
            "{msg}"
        );
        assert!(msg.contains("kspm.yaml:6:14: exception expires"), "{msg}");
    }

    #[test]
    fn full_config_parses() {
        let text = "rules:\n  select: [all]\n  ignore: WL008\n  severity: {host-pid: critical}\nexceptions:\n- rule: host-pid\n  namespace: kube-*\n  reason: node agent\n  owner: ops\n  expires: 2030-01-01\ninline_exceptions: false\nfail_on: high\nk8s_version: \"1.29\"\nlimits: {max_depth: 50}\n";
        let c = Config::parse(text, "kspm.yaml").unwrap();
        assert_eq!(c.select.as_deref(), Some(&["all".to_owned()][..]));
        assert_eq!(c.ignore, ["WL008"]);
        assert_eq!(c.severity["host-pid"].0, Severity::Critical);
        assert_eq!(c.exceptions.len(), 1);
        assert_eq!(c.inline_exceptions, Some(false));
        assert_eq!(c.fail_on, Some(Severity::High));
        assert_eq!(c.k8s_version, Some(KubeVersion::new(1, 29)));
        assert_eq!(c.limits.unwrap().max_depth, 50);
    }

    #[test]
    fn policies_and_their_limits() {
        let text = "policies: [policies/, x.rego]\npolicy_limits: {timeout_ms: 250, max_violations: 5, memory_mb: 64}\n";
        let c = Config::parse(text, "kspm.yaml").unwrap();
        assert_eq!(
            c.policies,
            [PathBuf::from("policies/"), PathBuf::from("x.rego")]
        );
        assert_eq!(c.policy_timeout_ms, Some(250));
        assert_eq!(c.policy_max_violations, Some(5));
        assert_eq!(c.policy_memory_mb, Some(64));
        assert_eq!(c.cluster_policies, None);
        let c = Config::parse("cluster_policies: true\n", "k").unwrap();
        assert_eq!(c.cluster_policies, Some(true));
        let err = Config::parse("cluster_policies: yes please\n", "k").unwrap_err();
        assert!(
            err.to_string()
                .contains("k:1:19: cluster_policies must be true or false"),
            "{err}"
        );
        let err = Config::parse("policy_limits: {timeout_ms: -1, memory: 3}\n", "k").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("k:1:33: unknown key `memory` in `policy_limits`"),
            "{msg}"
        );
        assert!(
            msg.contains("k:1:29: policy_limits.timeout_ms must be a positive integer"),
            "{msg}"
        );
    }

    #[test]
    fn unquoted_version_is_explained() {
        // Unquoted, 1.30 is the number 1.3: refuse it rather than scan for the wrong version.
        let err = Config::parse("k8s_version: 1.30\n", "k").unwrap_err();
        assert!(err.to_string().contains("quote it"), "{err}");
        assert!(Config::parse("k8s_version: \"1.30\"\n", "k").is_ok());
    }
}

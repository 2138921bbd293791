//! Scan planning: which configuration file applies, whether the command line or `kspm.yaml`
//! wins, which rules run, and what the configuration changed. `kspm scan` and every other command
//! that judges inputs resolve the same [`ScanPlan`], so the CLI is wiring only.
//!
//! A configuration found in the scanned tree (a *discovered* `kspm.yaml`) was written by whoever
//! wrote the tree, and kspm is often run on trees other people wrote (pull requests, third-party
//! charts). Such a file may tune the scan but not quietly switch it off:
//! - the command line wins: with `--select`, its `rules.select` and `rules.ignore` are not used;
//! - it may lower the input limits but not raise them;
//! - its policy paths must stay inside the scanned tree;
//! - it cannot allow remote Kustomize resources;
//! - what it did (rules turned off, severities lowered, findings suppressed, `fail_on`) is in
//!   every report ([`AppliedConfig`]), and `--no-config` (or `KSPM_NO_CONFIG=1`) ignores it.
//!
//! A file named with `--config` is the user's own choice and is trusted as written.

use std::path::{Path, PathBuf};

use kspm_frameworks::Framework;
use kspm_model::yaml::Limits;
use kspm_model::{Diagnostic, Severity};
use kspm_rules::{KubeVersion, Rule, Settings, find_rule};
use serde::Serialize;

use crate::config::{self, Config, ConfigError};
use crate::scan::{ScanOptions, Selection, SelectionError, framework_rules, select_rules};
use crate::source::Input;

/// The environment variable that makes every scan ignore discovered configuration files (for CI
/// on untrusted pull requests), like `--no-config`.
pub const NO_CONFIG_ENV: &str = "KSPM_NO_CONFIG";

/// What the command line says, before any configuration file is read.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `--config FILE`: trusted as written.
    pub config: Option<PathBuf>,
    /// `--no-config`: no configuration file is looked for.
    pub no_config: bool,
    pub select: Vec<String>,
    pub ignore: Vec<String>,
    pub frameworks: Vec<Framework>,
    pub k8s_version: Option<KubeVersion>,
    pub fail_on: Option<Severity>,
    pub no_inline_exceptions: bool,
    /// `--allow-remote`: Kustomize may fetch remote resources and bases.
    pub allow_remote: bool,
}

/// How the configuration file was chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ConfigOrigin {
    /// Named with `--config`.
    Explicit,
    /// Found at the root of a scanned directory.
    Discovered,
}

/// What the configuration file did to the scan, for every report.
#[derive(Clone, Debug, Serialize)]
pub struct AppliedConfig {
    pub path: String,
    pub origin: ConfigOrigin,
    /// Rules the command line (or the defaults) would run that the file turned off.
    pub rules_off: Vec<&'static str>,
    /// Rules whose severity the file lowered: `(code, from, to)`.
    pub downgraded: Vec<(&'static str, Severity, Severity)>,
    /// Findings suppressed by the file's exceptions (counted after the scan).
    pub suppressed: usize,
    /// `fail_on` taken from the file (the command line had none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fail_on: Option<Severity>,
    /// What the file asked for and did not get (command line won, limits not raised, policy
    /// paths outside the tree).
    pub overridden: Vec<String>,
}

impl AppliedConfig {
    /// One clause for a summary line: "config kspm.yaml (discovered): 3 rules off, ...".
    pub fn summary(&self) -> String {
        let origin = match self.origin {
            ConfigOrigin::Explicit => "--config",
            ConfigOrigin::Discovered => "discovered",
        };
        let mut parts = vec![
            format!(
                "{} rule{} off",
                self.rules_off.len(),
                plural(self.rules_off.len())
            ),
            format!("{} downgraded", self.downgraded.len()),
            format!(
                "{} finding{} suppressed by its exceptions",
                self.suppressed,
                plural(self.suppressed)
            ),
        ];
        if let Some(s) = self.fail_on {
            parts.push(format!("fail_on {s}"));
        }
        if !self.overridden.is_empty() {
            parts.push(format!("{} setting(s) not applied", self.overridden.len()));
        }
        format!("config {} ({origin}): {}", self.path, parts.join(", "))
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    // Not `#[from]`: that would make the file's problems the error's source too, and print
    // them twice in a chain.
    #[error("invalid configuration:\n{0}")]
    Config(ConfigError),
    #[error(transparent)]
    Selection(#[from] SelectionError),
    #[error("invalid configuration: rules.severity names unknown rule `{0}`")]
    UnknownSeverityRule(String),
}

impl From<ConfigError> for PlanError {
    fn from(e: ConfigError) -> Self {
        PlanError::Config(e)
    }
}

/// Everything decided before a scan runs.
#[derive(Debug)]
pub struct ScanPlan {
    pub config: Config,
    pub applied: Option<AppliedConfig>,
    pub selection: Selection,
    pub settings: Settings,
    pub fail_on: Severity,
    pub inline_exceptions: bool,
    pub limits: Limits,
    pub frameworks: Vec<Framework>,
    pub allow_remote: bool,
    /// Warnings about the configuration (settings not applied), reported with the scan.
    pub diagnostics: Vec<Diagnostic>,
}

/// Whether discovered configuration files are ignored through the environment.
pub fn no_config_from_env() -> bool {
    std::env::var_os(NO_CONFIG_ENV).is_some_and(|v| !v.is_empty() && v != "0" && v != "false")
}

impl ScanPlan {
    /// Reads the configuration (named, or discovered at the root of the first scanned
    /// directory) and settles every choice between it and the command line.
    pub fn resolve(inputs: &[Input], o: &Overrides) -> Result<Self, PlanError> {
        let (path, origin) = match &o.config {
            Some(p) => (Some(p.clone()), ConfigOrigin::Explicit),
            None if o.no_config || no_config_from_env() => (None, ConfigOrigin::Discovered),
            // Only a directory brings its configuration: a file named alone is judged as it is.
            None => (
                inputs.iter().find_map(|i| match i {
                    Input::Path(p) if p.is_dir() => config::discover(p),
                    _ => None,
                }),
                ConfigOrigin::Discovered,
            ),
        };
        let mut config = match &path {
            Some(p) => Config::load(p)?,
            None => Config::default(),
        };
        let discovered = path.is_some() && origin == ConfigOrigin::Discovered;
        let mut overridden = Vec::new();
        let mut diagnostics = Vec::new();
        let file = path
            .as_ref()
            .map_or_else(String::new, |p| p.display().to_string());
        let mut note = |what: String, overridden: &mut Vec<String>| {
            diagnostics.push(Diagnostic::error(file.as_str(), what.clone()).warning());
            overridden.push(what);
        };

        // Rule selection. A discovered file gives way to `--select`.
        let cli_select = (!o.select.is_empty()).then(|| o.select.clone());
        let selection = if discovered && cli_select.is_some() {
            if config.select.is_some() || !config.ignore.is_empty() {
                note(
                    "rules.select and rules.ignore of this discovered configuration are not applied: --select on the command line wins".to_owned(),
                    &mut overridden,
                );
            }
            Selection {
                select: cli_select.clone(),
                ignore: o.ignore.clone(),
            }
        } else {
            Selection {
                select: cli_select.clone().or_else(|| config.select.clone()),
                ignore: config.ignore.iter().chain(&o.ignore).cloned().collect(),
            }
        };

        // Limits: a discovered file may lower them, never raise them.
        let defaults = Limits::default();
        let mut limits = config.limits.clone().unwrap_or_default();
        if discovered {
            for (key, asked, kept) in limits.clamp_to(&defaults) {
                note(
                    format!(
                        "limits.{key} {asked} is above the default {kept}: a discovered configuration may lower limits, not raise them (use --config to trust it)"
                    ),
                    &mut overridden,
                );
            }
        }
        limits.allow_remote =
            o.allow_remote || (!discovered && config.allow_remote_resources == Some(true));
        if discovered && config.allow_remote_resources == Some(true) && !o.allow_remote {
            note(
                "allow_remote_resources in a discovered configuration is not applied (use --allow-remote or --config)".to_owned(),
                &mut overridden,
            );
        }

        // Policy paths of a discovered file stay inside the tree it was found in.
        if discovered && let Some(root) = path.as_deref().and_then(Path::parent) {
            let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
            let mut kept = Vec::new();
            for p in std::mem::take(&mut config.policies) {
                match p.canonicalize() {
                    Ok(c) if c.starts_with(&root) => kept.push(p),
                    Ok(_) => note(
                        format!(
                            "policy path {} leaves the scanned tree: not loaded (a discovered configuration may only name policies inside it; use --policy or --config)",
                            p.display()
                        ),
                        &mut overridden,
                    ),
                    // Missing paths are reported by the policy loader.
                    Err(_) => kept.push(p),
                }
            }
            config.policies = kept;
        }

        let settings = Settings {
            k8s_version: o
                .k8s_version
                .or(config.k8s_version)
                .unwrap_or(KubeVersion::LATEST),
        };
        let fail_on = o.fail_on.or(config.fail_on).unwrap_or(Severity::Low);
        let inline_exceptions = !o.no_inline_exceptions && config.inline_exceptions.unwrap_or(true);

        let applied = match &path {
            Some(p) => {
                // What the file turned off: the rules the command line (or the defaults) would
                // run, less those the plan runs.
                let without = select_rules(&Selection {
                    select: cli_select,
                    ignore: o.ignore.clone(),
                })?;
                let with = select_rules(&selection)?;
                let rules_off = without
                    .iter()
                    .filter(|r| !with.iter().any(|w| w.meta.code == r.meta.code))
                    .map(|r| r.meta.code)
                    .collect();
                Some(AppliedConfig {
                    path: p.display().to_string(),
                    origin,
                    rules_off,
                    // Known once custom policies are registered (see `rules`).
                    downgraded: Vec::new(),
                    suppressed: 0,
                    fail_on: o.fail_on.is_none().then_some(config.fail_on).flatten(),
                    overridden,
                })
            }
            None => None,
        };
        Ok(Self {
            config,
            applied,
            selection,
            settings,
            fail_on,
            inline_exceptions,
            limits,
            frameworks: o.frameworks.clone(),
            allow_remote: o.allow_remote,
            diagnostics,
        })
    }

    /// The rules to run: the selection, the rules behind each requested framework (unless
    /// ignored), and the custom policies' rules. Call it once custom policies are loaded: their
    /// codes become names that severity overrides may use.
    pub fn rules(&mut self, custom: Vec<&'static Rule>) -> Result<Vec<&'static Rule>, PlanError> {
        let mut downgraded = Vec::new();
        for (name, (sev, _)) in &self.config.severity {
            let Some(r) = find_rule(name) else {
                return Err(PlanError::UnknownSeverityRule(name.clone()));
            };
            if *sev < r.meta.severity {
                downgraded.push((r.meta.code, r.meta.severity, *sev));
            }
        }
        if let Some(applied) = &mut self.applied {
            applied.downgraded = downgraded;
        }
        let mut selected = select_rules(&self.selection)?;
        let ignored: Vec<&str> = if self.selection.ignore.is_empty() {
            Vec::new()
        } else {
            select_rules(&Selection {
                select: Some(self.selection.ignore.clone()),
                ignore: Vec::new(),
            })?
            .iter()
            .map(|r| r.meta.code)
            .collect()
        };
        for &fw in &self.frameworks {
            for rule in framework_rules(fw) {
                let code = rule.meta.code;
                if !ignored.contains(&code) && !selected.iter().any(|s| s.meta.code == code) {
                    selected.push(rule);
                }
            }
        }
        selected.extend(custom);
        Ok(selected)
    }

    /// The options of the scan this plan describes.
    pub fn options(
        &self,
        inputs: Vec<Input>,
        rules: Vec<&'static Rule>,
        policies: Option<std::sync::Arc<dyn crate::Policies>>,
    ) -> ScanOptions {
        ScanOptions {
            inputs,
            rules,
            policies,
            settings: self.settings.clone(),
            limits: self.limits.clone(),
            inline_exceptions: self.inline_exceptions,
            config: self.config.clone(),
            applied_config: self.applied.clone(),
            today: None,
            frameworks: self.frameworks.clone(),
            ..ScanOptions::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(config: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("kspm.yaml"), config).unwrap();
        std::fs::write(
            dir.path().join("pod.yaml"),
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {hostPID: true, containers: [{name: c, image: x}]}\n",
        )
        .unwrap();
        dir
    }

    fn inputs(dir: &tempfile::TempDir) -> Vec<Input> {
        vec![Input::Path(dir.path().to_path_buf())]
    }

    #[test]
    fn command_line_select_wins_over_a_discovered_ignore_all() {
        let dir = tree("rules: {ignore: [all]}\n");
        let o = Overrides {
            select: vec!["all".into()],
            ..Overrides::default()
        };
        let mut plan = ScanPlan::resolve(&inputs(&dir), &o).unwrap();
        assert!(plan.rules(Vec::new()).unwrap().len() > 80);
        let applied = plan.applied.unwrap();
        assert_eq!(applied.origin, ConfigOrigin::Discovered);
        assert!(applied.rules_off.is_empty());
        assert_eq!(applied.overridden.len(), 1, "{:?}", applied.overridden);
    }

    #[test]
    fn a_discovered_ignore_is_counted_when_nothing_overrides_it() {
        let dir = tree("rules: {ignore: [all], severity: {host-pid: info}}\nfail_on: critical\n");
        let mut plan = ScanPlan::resolve(&inputs(&dir), &Overrides::default()).unwrap();
        assert!(plan.rules(Vec::new()).unwrap().is_empty());
        let applied = plan.applied.as_ref().unwrap();
        assert!(applied.rules_off.len() > 40, "{}", applied.rules_off.len());
        assert_eq!(applied.downgraded.len(), 1);
        assert_eq!(applied.fail_on, Some(Severity::Critical));
        assert!(applied.summary().contains("discovered"));
    }

    #[test]
    fn no_config_ignores_the_discovered_file() {
        let dir = tree("rules: {ignore: [all]}\n");
        let o = Overrides {
            no_config: true,
            ..Overrides::default()
        };
        let mut plan = ScanPlan::resolve(&inputs(&dir), &o).unwrap();
        assert!(plan.applied.is_none());
        assert!(!plan.rules(Vec::new()).unwrap().is_empty());
    }

    #[test]
    fn a_file_named_alone_brings_no_configuration() {
        let dir = tree("rules: {ignore: [all]}\n");
        let plan = ScanPlan::resolve(
            &[Input::Path(dir.path().join("pod.yaml"))],
            &Overrides::default(),
        )
        .unwrap();
        assert!(plan.applied.is_none());
    }

    #[test]
    fn discovered_limits_are_lowered_never_raised() {
        let dir =
            tree("limits: {max_depth: 500, max_file_bytes: 1000}\nallow_remote_resources: true\n");
        let plan = ScanPlan::resolve(&inputs(&dir), &Overrides::default()).unwrap();
        assert_eq!(plan.limits.max_depth, Limits::default().max_depth);
        assert_eq!(plan.limits.max_file_bytes, 1000);
        assert!(!plan.limits.allow_remote);
        assert_eq!(plan.diagnostics.len(), 2, "{:?}", plan.diagnostics);
        // Named explicitly, the same file is trusted.
        let o = Overrides {
            config: Some(dir.path().join("kspm.yaml")),
            ..Overrides::default()
        };
        let plan = ScanPlan::resolve(&inputs(&dir), &o).unwrap();
        assert_eq!(plan.limits.max_depth, 500);
        assert!(plan.limits.allow_remote);
    }

    #[test]
    fn discovered_policy_paths_stay_in_the_tree() {
        let dir = tree("policies: [/dev, ./inside]\n");
        std::fs::create_dir(dir.path().join("inside")).unwrap();
        let plan = ScanPlan::resolve(&inputs(&dir), &Overrides::default()).unwrap();
        assert_eq!(plan.config.policies.len(), 1, "{:?}", plan.config.policies);
        assert!(plan.config.policies[0].ends_with("inside"));
        assert!(plan.diagnostics[0].message.contains("/dev"));
    }
}

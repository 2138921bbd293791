//! What a rule is: metadata, a target view, and a check function.

use std::fmt;
use std::str::FromStr;

use kspm_frameworks::{Control, Framework};
use kspm_model::{Container, FieldPath, Finding, Index, PodSpec, Resource, Severity};

use crate::component::{Component, ComponentView};

/// Rule categories; each is a folder under `src/rules/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Category {
    PodSecurity,
    Workload,
    Network,
    Secrets,
    Rbac,
    Deprecation,
    ControlPlane,
    Node,
    /// Custom policies that name no built-in category.
    Custom,
}

impl Category {
    pub const fn as_str(self) -> &'static str {
        match self {
            Category::PodSecurity => "pod-security",
            Category::Workload => "workload",
            Category::Network => "network",
            Category::Secrets => "secrets",
            Category::Rbac => "rbac",
            Category::Deprecation => "api-deprecation",
            Category::ControlPlane => "control-plane",
            Category::Node => "node",
            Category::Custom => "custom",
        }
    }

    pub const ALL: [Category; 9] = [
        Category::PodSecurity,
        Category::Workload,
        Category::Network,
        Category::Secrets,
        Category::Rbac,
        Category::Deprecation,
        Category::ControlPlane,
        Category::Node,
        Category::Custom,
    ];

    /// The category named `pod-security`, `workload`... (case-insensitive).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(name))
    }
}

/// What a rule looks at. The engine extracts the views once per resource.
#[derive(Clone, Copy)]
pub enum Check {
    /// Called once per resource of the listed kinds (every kind when the list is empty).
    Object {
        kinds: &'static [&'static str],
        check: fn(&Resource, &mut Reporter<'_>),
    },
    /// Called once per resource of the listed kinds, after every resource of the scan was
    /// read: the index then knows every workload ([`kspm_model::Index::workloads`]). For rules
    /// that judge what an object selects or targets (a Service, a NetworkPolicy, an
    /// autoscaler).
    AfterWorkloads {
        kinds: &'static [&'static str],
        check: fn(&Resource, &mut Reporter<'_>),
    },
    /// Called once per pod spec, wherever the resource keeps it.
    PodSpec(fn(&PodSpec<'_>, &mut Reporter<'_>)),
    /// Called once per container (init, regular and ephemeral).
    Container(fn(&Container<'_>, &mut Reporter<'_>)),
    /// Called once per control-plane or node component found (static pod, DaemonSet,
    /// configuration object, node file). One such rule covers many benchmark items, so it says
    /// which controls it judged ([`Reporter::judge`]) and each finding names its own.
    Component {
        component: Component,
        check: fn(&ComponentView<'_>, &mut Reporter<'_>),
    },
    /// A custom policy (Rego, CEL, an imported admission policy) loaded at run time. The engine
    /// evaluates it through its policy hook, not through [`crate::check_resource`]; `kinds` are
    /// the kinds it may match (every kind when empty), for reports that list what a rule judged.
    Policy { kinds: &'static [&'static str] },
}

impl Check {
    pub const fn target(&self) -> &'static str {
        match self {
            Check::Object { .. } | Check::AfterWorkloads { .. } => "object",
            Check::PodSpec(_) => "pod-spec",
            Check::Container(_) => "container",
            Check::Component { .. } => "component",
            Check::Policy { .. } => "policy",
        }
    }
}

impl fmt::Debug for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.target())
    }
}

#[derive(Debug)]
pub struct RuleMeta {
    /// Stable short code, never reused (`PS001`).
    pub code: &'static str,
    /// Kebab-case name of the bad pattern (`host-pid`).
    pub slug: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    pub category: Category,
    /// The rule's documentation page in Markdown: the doc comment of its declaration.
    pub docs: &'static str,
    pub frameworks: &'static [&'static Control],
    /// The same check in other scanners (`checkov:CKV_K8S_16`), for migration and accuracy.
    pub equivalents: &'static [&'static str],
    /// Whether findings carry a fix; the test harness proves the fix makes the case pass.
    pub has_fix: bool,
    /// Rules that are useful but noisy for most users are off unless selected.
    pub default_enabled: bool,
}

impl RuleMeta {
    /// The control ids of one framework.
    pub fn controls(&self, framework: Framework) -> impl Iterator<Item = &'static str> + '_ {
        self.frameworks
            .iter()
            .filter(move |c| c.framework == framework)
            .map(|c| c.id)
    }

    /// One section of the documentation (`What it does`, `Remediation`...), without its heading.
    pub fn doc_section(&self, heading: &str) -> Option<String> {
        let text = self.docs_text();
        let marker = format!("## {heading}");
        let start = text.find(&marker)? + marker.len();
        let rest = &text[start..];
        let end = rest.find("\n## ").unwrap_or(rest.len());
        Some(rest[..end].trim().to_owned())
    }

    /// The doc comment with the one space `///` leaves at the start of each line removed.
    pub fn docs_text(&self) -> String {
        self.docs
            .lines()
            .map(|l| l.strip_prefix(' ').unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

pub struct Rule {
    pub meta: RuleMeta,
    pub check: Check,
}

impl fmt::Debug for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.meta.code, self.meta.slug)
    }
}

/// A Kubernetes minor version, for version-aware rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KubeVersion {
    pub major: u32,
    pub minor: u32,
}

impl KubeVersion {
    /// The newest stable Kubernetes release kspm knows.
    pub const LATEST: KubeVersion = KubeVersion {
        major: 1,
        minor: 34,
    };

    pub const fn new(major: u32, minor: u32) -> Self {
        Self { major, minor }
    }
}

impl fmt::Display for KubeVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// Text that is not a Kubernetes version.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a Kubernetes version like 1.30")]
pub struct NotAVersion(pub String);

impl FromStr for KubeVersion {
    type Err = NotAVersion;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().trim_start_matches('v');
        let mut parts = t.split('.');
        let parse = |p: Option<&str>| p.and_then(|x| x.parse::<u32>().ok());
        match (parse(parts.next()), parse(parts.next())) {
            (Some(major), Some(minor)) => Ok(Self { major, minor }),
            _ => Err(NotAVersion(s.to_owned())),
        }
    }
}

/// Scan-wide settings rules may read.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The Kubernetes version the manifests are meant for (API deprecations).
    pub k8s_version: KubeVersion,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            k8s_version: KubeVersion::LATEST,
        }
    }
}

/// Collects one rule's findings on one resource.
pub struct Reporter<'a> {
    pub(crate) rule: &'static Rule,
    pub(crate) resource: &'a Resource,
    pub(crate) index: &'a Index<'a>,
    pub(crate) settings: &'a Settings,
    pub(crate) findings: &'a mut Vec<Finding>,
    /// Controls judged on this resource by component rules (pass or fail).
    pub(crate) assessed: &'a mut Vec<&'static Control>,
}

impl<'a> Reporter<'a> {
    /// Reports a finding at `path`. The position is that of the field, or of its nearest
    /// existing parent when the problem is a missing field; the evidence value is the field's
    /// value when it exists.
    pub fn report(&mut self, path: FieldPath, message: impl Into<String>) -> &mut Finding {
        self.findings
            .push(finding(self.rule, self.resource, path, message));
        self.findings.last_mut().expect("just pushed")
    }

    /// For table-driven rules: records that `controls` were judged on this object and, when
    /// `problem` is given, reports it as a finding of `severity` that fails exactly those
    /// controls.
    pub fn judge(
        &mut self,
        controls: &'static [&'static Control],
        severity: Severity,
        problem: Option<(FieldPath, String)>,
    ) {
        for c in controls {
            if !self.assessed.contains(c) {
                self.assessed.push(c);
            }
        }
        if let Some((path, message)) = problem {
            // A missing flag points at the whole command: no single value is the evidence.
            let whole_list = self
                .resource
                .root
                .lookup(&path)
                .is_some_and(|n| n.as_seq().is_some());
            let f = self.report(path, message);
            if whole_list {
                f.hide_value();
            }
            f.severity = severity;
            f.controls = Some(controls);
        }
    }

    pub fn index(&self) -> &Index<'a> {
        self.index
    }

    pub fn settings(&self) -> &Settings {
        self.settings
    }

    pub fn resource(&self) -> &'a Resource {
        self.resource
    }
}

/// A finding of `rule` on `resource` at `path`. The position is that of the field, or of its
/// nearest existing parent when the problem is a missing field; the evidence value is the
/// field's value when it exists. Custom policies build their findings here too, so they get the
/// same positions and the same secret redaction as built-in rules.
pub fn finding(
    rule: &'static Rule,
    resource: &Resource,
    path: FieldPath,
    message: impl Into<String>,
) -> Finding {
    let mut message = message.into();
    // Kept as written, without a copy, unless it holds a credential (it almost never does).
    if let std::borrow::Cow::Owned(clean) = kspm_model::credentials::redact(&message) {
        message = clean;
    }
    // Kept as long as the finding: without the room `format!` leaves (twice its literal text).
    message.shrink_to_fit();
    let root = &resource.root;
    let (pos, exists) = root.locate(&path);
    let value = if exists {
        root.lookup(&path)
            .filter(|n| n.as_map().is_none())
            .map(kspm_model::Node::evidence)
            // A safety net under every rule: evidence that looks like a credential is never
            // kept, whatever the rule meant to show.
            .filter(|v| kspm_model::credentials::value_looks_like_credential(v).is_none())
    } else {
        None
    };
    let meta = &rule.meta;
    Finding {
        code: meta.code,
        slug: meta.slug,
        severity: meta.severity,
        category: meta.category.as_str(),
        resource: resource.id.clone(),
        source: resource.source.clone(),
        pos,
        path,
        message,
        value,
        fix: None,
        suppressed: None,
        controls: None,
        risk: kspm_model::Risk::default(),
        folded: Vec::new(),
    }
}

/// Declares a rule: its doc comment becomes its documentation page.
///
/// ```text
/// declare_rule! {
///     /// ## What it does
///     /// ...
///     pub const RULE = {
///         code: "PS001", slug: "host-pid", title: "...", severity: High,
///         category: PodSecurity, check: Check::PodSpec(check),
///         frameworks: [cis::C5_2_3], equivalents: ["checkov:CKV_K8S_17"],
///         fix: true, default: true,
///     }
/// }
/// ```
#[macro_export]
macro_rules! declare_rule {
    (
        $(#[doc = $doc:literal])*
        pub const RULE = {
            code: $code:literal,
            slug: $slug:literal,
            title: $title:literal,
            severity: $sev:ident,
            category: $cat:ident,
            check: $check:expr,
            frameworks: [$($fw:expr),* $(,)?],
            equivalents: [$($eq:literal),* $(,)?],
            fix: $fix:literal,
            default: $default:literal $(,)?
        }
    ) => {
        $(#[doc = $doc])*
        pub const RULE: $crate::Rule = $crate::Rule {
            meta: $crate::RuleMeta {
                code: $code,
                slug: $slug,
                title: $title,
                severity: kspm_model::Severity::$sev,
                category: $crate::Category::$cat,
                docs: concat!($($doc, "\n"),*),
                frameworks: &[$(&$fw),*],
                equivalents: &[$($eq),*],
                has_fix: $fix,
                default_enabled: $default,
            },
            check: $check,
        };
    };
}

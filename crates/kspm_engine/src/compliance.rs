//! Compliance: each control of a framework judged from a scan's findings.
//!
//! A control is `fail` when an active finding is evidence against it, `pass` when at least one
//! scanned object was judged for it and none failed, `manual` when the catalogue says a person
//! must check it, and `not-applicable` when the catalogue says so or when nothing in the input
//! could show it (no API server on a managed cluster, no workloads in a repository of policies).
//! An unseen control is never a failure. Scores count pass and fail only:
//! `pass / (pass + fail)`, overall and per namespace.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use kspm_frameworks::{Assessment, Control, Framework};
use kspm_rules::{Check, Component, Rule};

use crate::scan::ScanResult;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    Pass,
    Fail,
    Manual,
    NotApplicable,
}

impl Status {
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Manual => "manual",
            Status::NotApplicable => "not-applicable",
        }
    }
}

/// The objects' namespace as reports show it; cluster-scoped objects and node files have none.
pub const CLUSTER_SCOPE: &str = "(cluster)";

#[derive(Clone, Debug)]
pub struct ControlResult {
    pub control: &'static Control,
    pub status: Status,
    /// For manual controls what to check, for not-applicable ones why.
    pub reason: Option<String>,
    /// Indices into [`ScanResult::findings`] of the active findings that fail it.
    pub findings: Vec<usize>,
    /// Findings that would fail it but are suppressed by an exception.
    pub suppressed: usize,
    /// The codes of the rules that judge it.
    pub rules: Vec<&'static str>,
}

/// Pass and fail counts with their score.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Score {
    pub pass: usize,
    pub fail: usize,
}

impl Score {
    /// Percentage of judged controls that pass, to one decimal; `None` when none was judged.
    pub fn percent(self) -> Option<f64> {
        let judged = self.pass + self.fail;
        (judged > 0).then(|| (self.pass as f64 * 1000.0 / judged as f64).round() / 10.0)
    }
}

#[derive(Clone, Debug)]
pub struct FrameworkResult {
    pub framework: Framework,
    pub controls: Vec<ControlResult>,
    pub score: Score,
    pub manual: usize,
    pub not_applicable: usize,
    /// Per namespace: controls judged on objects of that namespace.
    pub namespaces: BTreeMap<String, Score>,
}

/// Controls are compared by framework and id: the same constant used in two places need not
/// have one address.
type ControlKey = (Framework, &'static str);

fn key(c: &Control) -> ControlKey {
    (c.framework, c.id)
}

fn namespace_of(id: &kspm_model::ResourceId) -> &str {
    id.namespace.as_deref().unwrap_or(CLUSTER_SCOPE)
}

/// Judges every control of each framework.
pub fn evaluate(
    result: &ScanResult,
    frameworks: &[Framework],
    not_seen: &[(Component, String)],
) -> Vec<FrameworkResult> {
    if frameworks.is_empty() {
        return Vec::new();
    }
    let ran: HashMap<&str, &'static Rule> =
        result.rules.iter().map(|r| (r.meta.code, *r)).collect();
    // Where each non-component rule judged something, and where each control was judged by a
    // component rule: computed once, not once per control.
    let mut rule_namespaces: HashMap<&str, BTreeSet<&str>> = HashMap::new();
    let mut assessed_namespaces: HashMap<ControlKey, BTreeSet<&str>> = HashMap::new();
    for s in &result.scanned {
        let ns = namespace_of(&s.id);
        for rule in &result.rules {
            if !matches!(rule.check, Check::Component { .. }) && s.judged_by(rule) {
                rule_namespaces
                    .entry(rule.meta.code)
                    .or_default()
                    .insert(ns);
            }
        }
        for c in &s.assessed {
            assessed_namespaces.entry(key(c)).or_default().insert(ns);
        }
    }
    // Findings by rule, so that each control looks only at its rules' findings. A finding
    // folded into another still fails its rule's controls, with the finding that holds it as
    // the evidence.
    let mut by_rule: HashMap<&str, Vec<(usize, Narrowed)>> = HashMap::new();
    for (i, f) in result.findings.iter().enumerate() {
        by_rule.entry(f.code).or_default().push((i, f.controls));
        for x in &f.folded {
            by_rule.entry(x.code).or_default().push((i, x.controls));
        }
    }
    let index = Index {
        ran,
        rule_namespaces,
        assessed_namespaces,
        by_rule,
    };
    frameworks
        .iter()
        .map(|&fw| evaluate_one(fw, result, &index, not_seen))
        .collect()
}

/// What every control's evaluation looks up, computed once per scan.
struct Index<'a> {
    ran: HashMap<&'a str, &'static Rule>,
    /// Where each non-component rule judged something.
    rule_namespaces: HashMap<&'a str, BTreeSet<&'a str>>,
    /// Where each control was judged by a component rule.
    assessed_namespaces: HashMap<ControlKey, BTreeSet<&'a str>>,
    by_rule: HashMap<&'a str, Vec<(usize, Narrowed)>>,
}

/// The controls one finding (or one folded into it) fails, when narrower than its rule's.
type Narrowed = Option<&'static [&'static Control]>;

fn evaluate_one(
    fw: Framework,
    result: &ScanResult,
    index: &Index<'_>,
    not_seen: &[(Component, String)],
) -> FrameworkResult {
    let Index {
        ran,
        rule_namespaces,
        assessed_namespaces,
        by_rule,
    } = index;
    let mut out = FrameworkResult {
        framework: fw,
        controls: Vec::new(),
        score: Score::default(),
        manual: 0,
        not_applicable: 0,
        namespaces: BTreeMap::new(),
    };
    for &control in fw.controls() {
        let declared: Vec<&'static Rule> = kspm_rules::rules()
            .iter()
            .copied()
            .filter(|r| r.meta.frameworks.contains(&control))
            .collect();
        let mut cr = ControlResult {
            control,
            status: Status::NotApplicable,
            reason: None,
            findings: Vec::new(),
            suppressed: 0,
            rules: declared.iter().map(|r| r.meta.code).collect(),
        };
        match control.assessment {
            Assessment::Manual(what) => {
                cr.status = Status::Manual;
                cr.reason = Some(what.to_owned());
                out.manual += 1;
                out.controls.push(cr);
                continue;
            }
            Assessment::NotApplicable(why) => {
                cr.reason = Some(why.to_owned());
                out.not_applicable += 1;
                out.controls.push(cr);
                continue;
            }
            Assessment::Automated => {}
        }
        let active: Vec<&'static Rule> = declared
            .iter()
            .copied()
            .filter(|r| ran.contains_key(r.meta.code))
            .collect();
        if active.is_empty() {
            cr.reason = Some(format!("its rules ({}) were not run", cr.rules.join(", ")));
            out.not_applicable += 1;
            out.controls.push(cr);
            continue;
        }
        let mut judged: BTreeSet<&str> = BTreeSet::new();
        for r in &active {
            if matches!(r.check, Check::Component { .. }) {
                if let Some(ns) = assessed_namespaces.get(&key(control)) {
                    judged.extend(ns);
                }
            } else if let Some(ns) = rule_namespaces.get(r.meta.code) {
                judged.extend(ns);
            }
        }
        let mut failed: BTreeSet<&str> = BTreeSet::new();
        let mut indices: Vec<usize> = active
            .iter()
            .flat_map(|r| by_rule.get(r.meta.code).into_iter().flatten())
            .filter(|(_, narrowed)| !narrowed.is_some_and(|cs| !cs.contains(&control)))
            .map(|(i, _)| *i)
            .collect();
        indices.sort_unstable();
        // One finding holding several of the control's rules (folded) is one piece of evidence.
        indices.dedup();
        for i in indices {
            let f = &result.findings[i];
            if f.suppressed.is_some() {
                cr.suppressed += 1;
            } else {
                cr.findings.push(i);
                failed.insert(namespace_of(&f.resource));
            }
        }
        for ns in judged.union(&failed) {
            let score = out.namespaces.entry((*ns).to_owned()).or_default();
            if failed.contains(ns) {
                score.fail += 1;
            } else {
                score.pass += 1;
            }
        }
        if !cr.findings.is_empty() {
            cr.status = Status::Fail;
            out.score.fail += 1;
        } else if !judged.is_empty() {
            cr.status = Status::Pass;
            out.score.pass += 1;
        } else {
            cr.reason = Some(unseen_reason(&active, not_seen));
            out.not_applicable += 1;
        }
        out.controls.push(cr);
    }
    out
}

/// Why nothing in the input could show a control.
fn unseen_reason(rules: &[&'static Rule], not_seen: &[(Component, String)]) -> String {
    let components: Vec<Component> = rules
        .iter()
        .filter_map(|r| match r.check {
            Check::Component { component, .. } => Some(component),
            _ => None,
        })
        .collect();
    if let Some(c) = components.first() {
        if let Some((_, why)) = not_seen.iter().find(|(k, _)| k == c) {
            return why.clone();
        }
        return format!(
            "no {} settings in the scanned input (they are in {}); managed control planes (EKS, GKE, AKS) do not expose them",
            c.as_str(),
            c.where_found()
        );
    }
    let targets: BTreeSet<String> = rules
        .iter()
        .map(|r| match r.check {
            Check::Object { kinds, .. } if !kinds.is_empty() => kinds.join(", "),
            Check::Object { .. } => "objects".to_owned(),
            _ => "workloads".to_owned(),
        })
        .collect();
    format!(
        "nothing in the scanned input for its rules to judge (they look at {})",
        targets.into_iter().collect::<Vec<_>>().join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Input, ScanOptions, scan};

    fn pod(ns: &str, name: &str, privileged: bool, waived: bool) -> String {
        let annotations = if waived {
            "  annotations: {kspm.io/ignore: privileged-container, kspm.io/ignore-reason: node agent}\n"
        } else {
            ""
        };
        format!(
            "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  namespace: {ns}\n{annotations}spec:\n  containers:\n  - name: c\n    image: nginx:1.27\n    securityContext: {{privileged: {privileged}}}\n"
        )
    }

    fn run(text: String) -> ScanResult {
        scan(&ScanOptions {
            inputs: vec![Input::Text {
                name: "pods.yaml".into(),
                text,
            }],
            rules: crate::framework_rules(Framework::Pss),
            frameworks: vec![Framework::Pss, Framework::Cis],
            inline_exceptions: true,
            ..ScanOptions::default()
        })
    }

    fn control<'a>(r: &'a ScanResult, fw: usize, id: &str) -> &'a ControlResult {
        r.compliance[fw]
            .controls
            .iter()
            .find(|c| c.control.id == id)
            .unwrap()
    }

    #[test]
    fn statuses_scores_and_namespaces() {
        let r = run(pod("a", "bad", true, false) + &pod("b", "good", false, false));
        let privileged = control(&r, 0, "baseline:privileged");
        assert_eq!(privileged.status, Status::Fail);
        assert_eq!(privileged.findings.len(), 1);
        assert_eq!(
            r.findings[privileged.findings[0]].slug,
            "privileged-container"
        );
        let pss = &r.compliance[0];
        // The same controls were judged in both namespaces; the privileged pod fails more.
        let (a, b) = (pss.namespaces["a"], pss.namespaces["b"]);
        assert_eq!(a.pass + a.fail, b.pass + b.fail);
        assert!(a.fail > b.fail, "{a:?} {b:?}");
        assert!(b.pass > 0);
        assert_eq!(
            pss.score.pass + pss.score.fail,
            pss.controls.len() - pss.not_applicable
        );
        // CIS was asked for but only PSS rules ran: CIS-only controls say so, never fail.
        let cis_api = control(&r, 1, "1.2.16");
        assert_eq!(cis_api.status, Status::NotApplicable);
        assert!(cis_api.reason.as_deref().unwrap().contains("were not run"));
        assert_eq!(control(&r, 1, "3.2.2").status, Status::Manual);
        assert_eq!(control(&r, 1, "5.1.1").status, Status::NotApplicable);
    }

    #[test]
    fn suppressed_findings_do_not_fail_a_control() {
        let r = run(pod("a", "agent", true, true));
        let privileged = control(&r, 0, "baseline:privileged");
        assert_eq!(privileged.status, Status::Pass);
        assert_eq!(privileged.suppressed, 1);
        assert!(privileged.findings.is_empty());
        // A suppressed finding absorbs nothing: the exception names privileged-container
        // only, so what privileged implies is still reported, and fails its controls.
        assert!(r.findings.iter().all(|f| f.folded.is_empty()));
        assert!(
            r.active().any(|f| f.slug == "capabilities-not-dropped"),
            "{:?}",
            r.findings.iter().map(|f| f.code).collect::<Vec<_>>()
        );
    }

    /// Folding changes how findings are reported, never a control's status: the same scan
    /// with every folded finding reported on its own judges every control alike.
    #[test]
    fn folding_leaves_every_control_status_unchanged() {
        let text = pod("a", "bad", true, false)
            + "---\napiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: agent, namespace: b}\nspec:\n  template:\n    spec:\n      containers: [{name: c, image: busybox:1.36, securityContext: {capabilities: {add: [SYS_ADMIN]}}}]\n      volumes: [{name: sock, hostPath: {path: /var/run/docker.sock}}, {name: etc, hostPath: {path: /etc}}]\n"
            + "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: god}\nrules: [{apiGroups: ['*'], resources: ['*'], verbs: ['*']}]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: god}\nsubjects: [{kind: ServiceAccount, name: default, namespace: b}]\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: god}\n";
        let folded = scan(&ScanOptions {
            inputs: vec![Input::Text {
                name: "all.yaml".into(),
                text,
            }],
            // Every built-in rule, default or not, so that every relation can fold.
            rules: kspm_rules::rules().to_vec(),
            frameworks: Framework::ALL.to_vec(),
            ..ScanOptions::default()
        });
        let absorbed: usize = folded.findings.iter().map(|f| f.folded.len()).sum();
        assert!(absorbed >= 10, "only {absorbed} findings folded");
        let mut findings = Vec::new();
        for f in &folded.findings {
            let mut kept = f.clone();
            kept.folded.clear();
            for x in &f.folded {
                let mut own = kept.clone();
                own.code = x.code;
                own.slug = x.slug;
                own.severity = x.severity;
                own.path = x.path.clone();
                own.message = x.message.clone();
                own.controls = x.controls;
                findings.push(own);
            }
            findings.push(kept);
        }
        let unfolded = ScanResult {
            findings,
            scanned: folded.scanned.clone(),
            rules: folded.rules.clone(),
            resources: folded.resources,
            ..ScanResult::default()
        };
        let again = evaluate(&unfolded, &Framework::ALL, &[]);
        assert_eq!(again.len(), folded.compliance.len());
        let mut failing = 0;
        for (a, b) in folded.compliance.iter().zip(&again) {
            for (x, y) in a.controls.iter().zip(&b.controls) {
                assert_eq!(
                    (x.control.id, x.status),
                    (y.control.id, y.status),
                    "{}",
                    a.framework.key()
                );
                failing += usize::from(x.status == Status::Fail);
            }
            assert_eq!(a.score, b.score, "{}", a.framework.key());
            assert_eq!(a.namespaces, b.namespaces, "{}", a.framework.key());
        }
        assert!(failing > 20, "only {failing} failing controls");
    }
}

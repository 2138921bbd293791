//! The agent's open findings as the reports the ecosystem reads: `wgpolicyk8s.io/v1alpha2`
//! PolicyReport (one per namespace) and ClusterPolicyReport (cluster-scoped objects), or
//! `openreports.io/v1alpha1` Report and ClusterReport. Both APIs share the result shape.
//!
//! Built from the store's open findings (so each result carries the stored finding's id), never
//! with a finding's value: a result says which rule, which object, which field, and the message.
//! Only reports whose content changed are applied; reports kspm wrote earlier that have no
//! findings any more are deleted. A report holds at most [`MAX_RESULTS`] results and
//! [`MAX_RESULT_BYTES`] of them (etcd refuses objects above 1.5 MiB): the worst findings come
//! first, the rest are counted in the summary and in the `kspm.io/results-omitted` annotation.

use std::collections::{BTreeMap, HashMap};

use kspm_cluster::live::Session;
use kspm_cluster::write::{WriteError, WriteKind};
use kspm_store::FindingRecord;
use serde_json::{Value as Json, json};

/// Results kept per report.
pub const MAX_RESULTS: usize = 1000;
/// Serialized size of the results kept per report, well under etcd's 1.5 MiB object limit.
pub const MAX_RESULT_BYTES: usize = 1024 * 1024;
/// Longest message kept in a result (longer ones are cut at a character boundary, with `…`).
const MAX_MESSAGE: usize = 1024;
/// Longest field path kept in a result's properties.
const MAX_PATH: usize = 512;
/// Longest JSON patch kept in a result's properties (longer ones are left out, not cut).
const MAX_PATCH: usize = 2048;

/// The name of every report kspm writes (one per namespace, one cluster-scoped).
pub const REPORT_NAME: &str = "kspm";
/// The label that marks kspm's reports, and its selector.
const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
const SELECTOR: &str = "app.kubernetes.io/managed-by=kspm";
pub const OMITTED: &str = "kspm.io/results-omitted";

/// Which report API the agent writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportApi {
    /// `wgpolicyk8s.io/v1alpha2` PolicyReport and ClusterPolicyReport (the default: what Policy
    /// Reporter, Kyverno's tooling and most dashboards read today).
    PolicyReport,
    /// `openreports.io/v1alpha1` Report and ClusterReport (the successor API).
    OpenReports,
}

impl ReportApi {
    /// The namespaced and the cluster-scoped type.
    pub const fn kinds(self) -> (WriteKind, WriteKind) {
        match self {
            ReportApi::PolicyReport => (
                WriteKind {
                    group: "wgpolicyk8s.io",
                    version: "v1alpha2",
                    kind: "PolicyReport",
                    plural: "policyreports",
                    namespaced: true,
                },
                WriteKind {
                    group: "wgpolicyk8s.io",
                    version: "v1alpha2",
                    kind: "ClusterPolicyReport",
                    plural: "clusterpolicyreports",
                    namespaced: false,
                },
            ),
            ReportApi::OpenReports => (
                WriteKind {
                    group: "openreports.io",
                    version: "v1alpha1",
                    kind: "Report",
                    plural: "reports",
                    namespaced: true,
                },
                WriteKind {
                    group: "openreports.io",
                    version: "v1alpha1",
                    kind: "ClusterReport",
                    plural: "clusterreports",
                    namespaced: false,
                },
            ),
        }
    }
}

/// Where a report lives: its namespace (`None`: the cluster-scoped one).
type Place = Option<String>;

/// Builds every report the open findings call for, keyed by namespace.
pub fn build(api: ReportApi, open: &[FindingRecord]) -> BTreeMap<Place, Json> {
    let mut by_place: BTreeMap<Place, Vec<&FindingRecord>> = BTreeMap::new();
    for f in open {
        by_place
            .entry(f.object.namespace.clone())
            .or_default()
            .push(f);
    }
    by_place
        .into_iter()
        .map(|(place, findings)| {
            let report = report(api, place.as_deref(), &findings);
            (place, report)
        })
        .collect()
}

fn report(api: ReportApi, namespace: Option<&str>, findings: &[&FindingRecord]) -> Json {
    let (namespaced, cluster) = api.kinds();
    let kind = if namespace.is_some() {
        namespaced
    } else {
        cluster
    };
    // Worst first, then a stable order, so that the same findings give the same report.
    let mut sorted = findings.to_vec();
    sorted.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.object.kind.cmp(&b.object.kind))
            .then_with(|| a.object.name.cmp(&b.object.name))
            .then_with(|| a.rule.cmp(&b.rule))
            .then_with(|| a.path.cmp(&b.path))
            .then_with(|| a.id.cmp(&b.id))
    });
    let mut results = Vec::new();
    let mut bytes = 0;
    for f in &sorted {
        if results.len() == MAX_RESULTS {
            break;
        }
        let r = result(f);
        let size = r.to_string().len();
        if bytes + size > MAX_RESULT_BYTES {
            break;
        }
        bytes += size;
        results.push(r);
    }
    let omitted = sorted.len() - results.len();
    let mut metadata = json!({
        "name": REPORT_NAME,
        "labels": {MANAGED_BY: "kspm"},
        "annotations": {OMITTED: omitted.to_string()},
    });
    if let Some(ns) = namespace {
        metadata["namespace"] = json!(ns);
    }
    let mut report = json!({
        "apiVersion": kind.api_version(),
        "kind": kind.kind,
        "metadata": metadata,
        "summary": {"pass": 0, "fail": sorted.len(), "warn": 0, "error": 0, "skip": 0},
        "results": results,
    });
    if let Some(ns) = namespace {
        report["scope"] = json!({"apiVersion": "v1", "kind": "Namespace", "name": ns});
    }
    if api == ReportApi::OpenReports {
        report["source"] = json!("kspm");
        report["configuration"] = json!({"limits": {"maxResults": MAX_RESULTS}});
    }
    report
}

fn result(f: &FindingRecord) -> Json {
    let mut resource = json!({
        "apiVersion": f.object.api_version,
        "kind": f.object.kind,
        "name": f.object.name,
    });
    if let Some(ns) = &f.object.namespace {
        resource["namespace"] = json!(ns);
    }
    if let Some(uid) = &f.object.uid {
        resource["uid"] = json!(uid);
    }
    // No value: evidence values stay in the store, where they are already redacted.
    let mut properties = json!({
        "path": cut(&f.path, MAX_PATH),
        "kspm.io/finding-id": f.id.to_string(),
        "kspm.io/risk": f.risk.to_string(),
    });
    if let Some(fix) = f.fix.as_ref().map(kspm_store::StoredFix::json) {
        // Properties are strings: the fix in words, and its patch as JSON when it is short
        // (a patch cut short would not apply).
        if let Some(description) = fix["description"].as_str() {
            properties["fix"] = json!(cut(description, MAX_MESSAGE));
        }
        let patch = fix["patch"].to_string();
        if fix["patch"].as_array().is_some_and(|p| !p.is_empty()) && patch.len() <= MAX_PATCH {
            properties["kspm.io/patch"] = json!(patch);
        }
    }
    json!({
        "source": "kspm",
        "policy": f.slug,
        "rule": f.rule,
        "category": f.category,
        // kspm's severities are exactly the reports' enum: critical, high, medium, low, info.
        "severity": f.severity.as_str(),
        "result": "fail",
        "scored": true,
        // When the finding opened (or reopened): stable, so an unchanged finding gives an
        // unchanged report.
        "timestamp": {"seconds": f.opened_at, "nanos": 0},
        "resources": [resource],
        "message": cut(&f.message, MAX_MESSAGE),
        "properties": properties,
    })
}

fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max - '…'.len_utf8();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// Writes reports and remembers what it wrote, so that only changes reach the server.
pub struct Publisher {
    api: ReportApi,
    /// What was last applied, by place; `None` content: found on the server at start, content
    /// unknown (applied again on the first publish).
    written: HashMap<Place, Option<Json>>,
    /// Whether the reports that existed at start were listed (then stale ones can be deleted).
    listed: bool,
    /// The type is not served: warned once, tried again after [`RETRY_UNSERVED`].
    unserved_since: Option<std::time::Instant>,
}

const RETRY_UNSERVED: std::time::Duration = std::time::Duration::from_mins(1);

/// What one publish did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Published {
    pub applied: usize,
    pub deleted: usize,
    pub failed: usize,
}

impl Publisher {
    pub fn new(api: ReportApi) -> Self {
        Self {
            api,
            written: HashMap::new(),
            listed: false,
            unserved_since: None,
        }
    }

    /// Brings the cluster's reports in line with `open` (the open findings of the cluster).
    /// `None` when the report type is not served (warned once).
    pub async fn publish(
        &mut self,
        session: &Session,
        open: &[FindingRecord],
        log: impl Fn(&str),
    ) -> Option<Published> {
        if self
            .unserved_since
            .is_some_and(|since| since.elapsed() < RETRY_UNSERVED)
        {
            return None;
        }
        let (namespaced, cluster) = self.api.kinds();
        if !self.listed {
            for kind in [namespaced, cluster] {
                match session.list_labelled(&kind, SELECTOR).await {
                    Ok(found) => {
                        for (ns, name) in found {
                            if name == REPORT_NAME {
                                self.written.entry(ns).or_insert(None);
                            }
                        }
                    }
                    Err(WriteError::NotServed(what)) => {
                        if self.unserved_since.is_none() {
                            log(&format!(
                                "not writing reports: the server does not serve {what}; install \
                                 deploy/crds/ (checked again every minute)"
                            ));
                        }
                        self.unserved_since = Some(std::time::Instant::now());
                        return None;
                    }
                    Err(e) => {
                        log(&format!("cannot list existing reports: {e}"));
                        return Some(Published {
                            failed: 1,
                            ..Published::default()
                        });
                    }
                }
            }
            if self.unserved_since.take().is_some() {
                log("the report types are served now: writing reports");
            }
            self.listed = true;
        }
        let desired = build(self.api, open);
        let mut done = Published::default();
        for (place, report) in &desired {
            if self.written.get(place).and_then(Option::as_ref) == Some(report) {
                continue;
            }
            let kind = if place.is_some() { namespaced } else { cluster };
            match session
                .apply(&kind, place.as_deref(), REPORT_NAME, report)
                .await
            {
                Ok(()) => {
                    done.applied += 1;
                    self.written.insert(place.clone(), Some(report.clone()));
                }
                Err(e) => {
                    done.failed += 1;
                    log(&format!("cannot write a report: {e}"));
                }
            }
        }
        let stale: Vec<Place> = self
            .written
            .keys()
            .filter(|p| !desired.contains_key(*p))
            .cloned()
            .collect();
        for place in stale {
            let kind = if place.is_some() { namespaced } else { cluster };
            match session.delete(&kind, place.as_deref(), REPORT_NAME).await {
                Ok(()) => {
                    done.deleted += 1;
                    self.written.remove(&place);
                }
                Err(e) => {
                    done.failed += 1;
                    log(&format!("cannot delete a stale report: {e}"));
                }
            }
        }
        Some(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kspm_model::Severity;
    use kspm_store::{ObjectRef, Status};

    fn record(id: i64, ns: Option<&str>, severity: Severity, message: &str) -> FindingRecord {
        FindingRecord {
            id,
            cluster: "c".into(),
            rule: "PS004".into(),
            slug: "privileged-container".into(),
            severity,
            category: "pod-security".into(),
            object: ObjectRef {
                api_version: "apps/v1".into(),
                kind: "Deployment".into(),
                namespace: ns.map(str::to_owned),
                name: format!("d{id}"),
                uid: Some(format!("uid-{id}")),
            },
            path: "spec.template.spec.containers[0].securityContext.privileged".into(),
            location: "cluster".into(),
            message: message.into(),
            value: Some("s3cr3t-value".into()),
            status: Status::Open,
            suppressed: None,
            first_seen: 10,
            last_seen: 20,
            opened_at: 15,
            resolved_at: None,
            resolved_reason: None,
            reopen_count: 0,
            fix: None,
            risk: 0,
        }
    }

    #[test]
    fn one_report_per_namespace_and_one_for_the_cluster() {
        let open = [
            FindingRecord {
                fix: Some(kspm_store::StoredFix::from_json(&json!({
                    "description": "Set privileged to false.",
                    "patch": [{"op": "replace", "path": "/spec/privileged", "value": false}],
                }))),
                ..record(1, Some("a"), Severity::High, "privileged")
            },
            record(2, Some("a"), Severity::Critical, "worse"),
            record(3, Some("b"), Severity::Low, "minor"),
            record(4, None, Severity::Medium, "cluster-scoped"),
        ];
        let reports = build(ReportApi::PolicyReport, &open);
        assert_eq!(reports.len(), 3);
        let a = &reports[&Some("a".to_owned())];
        assert_eq!(a["kind"], "PolicyReport");
        assert_eq!(a["apiVersion"], "wgpolicyk8s.io/v1alpha2");
        assert_eq!(a["metadata"]["namespace"], "a");
        assert_eq!(a["summary"]["fail"], 2);
        assert_eq!(a["results"][0]["severity"], "critical", "worst first");
        let r = &a["results"][1];
        assert_eq!(r["policy"], "privileged-container");
        assert_eq!(r["rule"], "PS004");
        assert_eq!(r["result"], "fail");
        assert_eq!(r["resources"][0]["uid"], "uid-1");
        assert_eq!(r["properties"]["kspm.io/finding-id"], "1");
        assert_eq!(r["properties"]["fix"], "Set privileged to false.");
        assert_eq!(
            r["properties"]["kspm.io/patch"],
            r#"[{"op":"replace","path":"/spec/privileged","value":false}]"#
        );
        assert!(
            reports[&Some("b".to_owned())]["results"][0]["properties"]
                .get("fix")
                .is_none(),
            "no fix, no property"
        );
        assert!(
            r["properties"]["path"]
                .as_str()
                .unwrap()
                .ends_with("privileged")
        );
        let c = &reports[&None];
        assert_eq!(c["kind"], "ClusterPolicyReport");
        assert!(c["metadata"].get("namespace").is_none());
        assert!(
            reports.values().all(|r| !r.to_string().contains("s3cr3t")),
            "no finding value in a report"
        );

        let open_reports = build(ReportApi::OpenReports, &open);
        assert_eq!(open_reports[&None]["kind"], "ClusterReport");
        assert_eq!(
            open_reports[&Some("b".to_owned())]["apiVersion"],
            "openreports.io/v1alpha1"
        );
        assert_eq!(open_reports[&Some("b".to_owned())]["source"], "kspm");
    }

    #[test]
    fn a_report_is_capped_and_says_how_many_results_it_left_out() {
        let open: Vec<_> = (0..MAX_RESULTS as i64 + 7)
            .map(|i| record(i, Some("big"), Severity::Medium, "m"))
            .collect();
        let report = &build(ReportApi::PolicyReport, &open)[&Some("big".to_owned())];
        assert_eq!(report["results"].as_array().unwrap().len(), MAX_RESULTS);
        assert_eq!(report["summary"]["fail"], MAX_RESULTS + 7);
        assert_eq!(report["metadata"]["annotations"][OMITTED], "7");

        // Long messages: the byte budget stops first, and messages are cut.
        let long = "x".repeat(10_000);
        let open: Vec<_> = (0..900)
            .map(|i| record(i, Some("big"), Severity::Medium, &long))
            .collect();
        let report = &build(ReportApi::PolicyReport, &open)[&Some("big".to_owned())];
        let kept = report["results"].as_array().unwrap();
        assert!(kept.len() < 900);
        assert!(report.to_string().len() < 3 * 1024 * 1024 / 2);
        assert!(kept[0]["message"].as_str().unwrap().len() <= MAX_MESSAGE);
        assert_eq!(
            report["metadata"]["annotations"][OMITTED],
            (900 - kept.len()).to_string()
        );
    }

    #[test]
    fn the_same_findings_give_the_same_report() {
        let mut open = vec![
            record(1, Some("a"), Severity::High, "one"),
            record(2, Some("a"), Severity::High, "two"),
        ];
        let first = build(ReportApi::PolicyReport, &open);
        open.reverse();
        assert_eq!(first, build(ReportApi::PolicyReport, &open));
    }
}

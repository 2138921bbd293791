//! The AdmissionReview protocol (`admission.k8s.io/v1`) and the decision: which findings deny,
//! which warn, which are only audited. Pure functions of a request body and a judgement, so the
//! whole protocol is tested without a server.

use std::fmt::Write as _;
use std::sync::Arc;

use kspm_engine::ObjectJudge;
use kspm_model::{Finding, Node, Resource, Severity, Source};
use serde_json::{Value as Json, json};

/// What happens to a finding of a given severity: each threshold applies from its severity up,
/// and the strongest action wins (`deny: high, warn: medium, audit: info` denies high and
/// critical findings, warns about medium ones and records low and info ones).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Actions {
    pub deny: Option<Severity>,
    pub warn: Option<Severity>,
    pub audit: Option<Severity>,
}

impl Default for Actions {
    fn default() -> Self {
        Self {
            deny: Some(Severity::High),
            warn: Some(Severity::Medium),
            audit: Some(Severity::Info),
        }
    }
}

/// What a finding leads to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    Audit,
    Warn,
    Deny,
}

impl Action {
    pub const fn as_str(self) -> &'static str {
        match self {
            Action::Audit => "audit",
            Action::Warn => "warn",
            Action::Deny => "deny",
        }
    }
}

impl Actions {
    pub fn of(&self, severity: Severity) -> Option<Action> {
        let reaches = |t: Option<Severity>| t.is_some_and(|t| severity >= t);
        if reaches(self.deny) {
            Some(Action::Deny)
        } else if reaches(self.warn) {
            Some(Action::Warn)
        } else if reaches(self.audit) {
            Some(Action::Audit)
        } else {
            None
        }
    }
}

/// The parts of an AdmissionReview request kspm uses.
#[derive(Clone, Debug, Default)]
pub struct Request {
    pub uid: String,
    pub operation: String,
    pub namespace: Option<String>,
    pub name: String,
    pub sub_resource: Option<String>,
    pub username: String,
    pub dry_run: bool,
    pub object: Option<Json>,
}

/// A body that is not an AdmissionReview with a request uid: answered with HTTP 400, which the
/// API server treats as a webhook failure (the failure policy decides).
#[derive(Debug, thiserror::Error)]
#[error("not an admission.k8s.io/v1 AdmissionReview: {0}")]
pub struct BadReview(pub String);

/// Reads an AdmissionReview body. serde_json bounds nesting (128 levels).
pub fn parse(body: &[u8]) -> Result<Request, BadReview> {
    let mut review: Json =
        serde_json::from_slice(body).map_err(|e| BadReview(format!("invalid JSON: {e}")))?;
    if review["apiVersion"] != "admission.k8s.io/v1" || review["kind"] != "AdmissionReview" {
        return Err(BadReview(
            "apiVersion must be admission.k8s.io/v1 and kind AdmissionReview".into(),
        ));
    }
    let mut request = review
        .get_mut("request")
        .map(Json::take)
        .ok_or_else(|| BadReview("no request".into()))?;
    let text = |v: &Json| v.as_str().unwrap_or_default().to_owned();
    let uid = text(&request["uid"]);
    if uid.is_empty() {
        return Err(BadReview("the request has no uid".into()));
    }
    Ok(Request {
        operation: text(&request["operation"]),
        namespace: request["namespace"]
            .as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        name: text(&request["name"]),
        sub_resource: request["subResource"]
            .as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        username: text(&request["userInfo"]["username"]),
        dry_run: request["dryRun"].as_bool().unwrap_or(false),
        object: request
            .get_mut("object")
            .map(Json::take)
            .filter(Json::is_object),
        uid,
    })
}

/// A finding that leads somewhere, with where.
#[derive(Clone, Debug)]
pub struct Judged {
    pub action: Action,
    pub finding: Finding,
}

/// How one request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Judged: nothing at warn or deny level.
    Allowed,
    /// Judged and admitted with warnings.
    Warned,
    Denied,
    /// Not judged on purpose: an excluded namespace, a DELETE, a subresource.
    Skipped,
    /// Could not be judged (the object could not be read, the time budget ran out): admitted
    /// unless failing closed, and counted.
    Unjudged,
}

impl Outcome {
    pub const ALL: [Outcome; 5] = [
        Outcome::Allowed,
        Outcome::Warned,
        Outcome::Denied,
        Outcome::Skipped,
        Outcome::Unjudged,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Allowed => "allowed",
            Outcome::Warned => "warned",
            Outcome::Denied => "denied",
            Outcome::Skipped => "skipped",
            Outcome::Unjudged => "unjudged",
        }
    }
}

/// The answer to one request.
#[derive(Clone, Debug)]
pub struct Verdict {
    pub outcome: Outcome,
    pub allowed: bool,
    /// Why it was denied (or not judged), for the person who sent the object.
    pub message: Option<String>,
    pub warnings: Vec<String>,
    /// Every finding at audit level or above.
    pub judged: Vec<Judged>,
    /// The object, for the audit record: `Kind namespace/name`.
    pub object: ObjectName,
}

#[derive(Clone, Debug, Default)]
pub struct ObjectName {
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
}

impl std::fmt::Display for ObjectName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {ns}/{}", self.kind, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// What a judgement is bound by besides the rules.
#[derive(Clone, Debug)]
pub struct Policy {
    pub actions: Actions,
    /// Requests in these namespaces are admitted unjudged.
    pub excluded_namespaces: Vec<String>,
    /// Deny what cannot be judged instead of admitting it.
    pub fail_closed: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            actions: Actions::default(),
            excluded_namespaces: vec!["kube-system".to_owned()],
            fail_closed: false,
        }
    }
}

/// At most this many warnings per response (the API server caps their total size), each at
/// most this many characters.
const MAX_WARNINGS: usize = 10;
const MAX_WARNING_CHARS: usize = 240;
/// The deny message is cut here.
const MAX_MESSAGE_CHARS: usize = 3000;

/// Whether a request is judged at all; `Some(reason)` when it is skipped.
pub fn skip_reason(request: &Request, policy: &Policy) -> Option<&'static str> {
    if request.operation == "DELETE" || request.operation == "CONNECT" {
        return Some("operation");
    }
    if request.sub_resource.is_some() {
        return Some("subresource");
    }
    if request
        .namespace
        .as_ref()
        .is_some_and(|ns| policy.excluded_namespaces.iter().any(|e| e == ns))
    {
        return Some("excluded namespace");
    }
    None
}

/// The name of the object of `request`, from the object when it has one.
pub fn object_name(request: &Request) -> ObjectName {
    let o = request.object.as_ref().unwrap_or(&Json::Null);
    let text = |v: &Json| v.as_str().map(str::to_owned);
    ObjectName {
        api_version: text(&o["apiVersion"]).unwrap_or_default(),
        kind: text(&o["kind"]).unwrap_or_default(),
        namespace: request.namespace.clone(),
        name: text(&o["metadata"]["name"])
            .filter(|n| !n.is_empty())
            .or_else(|| text(&o["metadata"]["generateName"]).map(|g| format!("{g}*")))
            .unwrap_or_else(|| request.name.clone()),
    }
}

/// Turns the request's object into a resource of the rules. The namespace comes from the
/// request when the object leaves it out (the API server fills it in later), and a
/// `generateName` object is named after its prefix.
pub fn resource(request: &Request, name: &ObjectName) -> Result<Resource, UnreadableObject> {
    let mut object = request.object.clone().ok_or(UnreadableObject::NoObject)?;
    if let Some(meta) = object.get_mut("metadata").and_then(Json::as_object_mut) {
        meta.insert("name".to_owned(), Json::String(name.name.clone()));
        if let Some(ns) = &request.namespace {
            meta.entry("namespace")
                .or_insert_with(|| Json::String(ns.clone()));
        }
        meta.remove("managedFields");
    }
    let source = Source {
        file: Arc::from("admission"),
        doc: 0,
        origin: None,
    };
    Ok(Resource::from_node(Node::from_json(&object), source)?)
}

/// Why a request's object cannot be judged.
#[derive(Debug, thiserror::Error)]
pub enum UnreadableObject {
    /// A DELETE or CONNECT carries no object.
    #[error("the request carries no object")]
    NoObject,
    /// The object is not a Kubernetes object.
    #[error(transparent)]
    NotAnObject(#[from] kspm_model::NotAnObject),
}

/// Judges the object of `request` (which [`skip_reason`] let through).
pub fn judge(judge: &ObjectJudge, request: &Request, policy: &Policy) -> Verdict {
    let object = object_name(request);
    let resource = match resource(request, &object) {
        Ok(r) => r,
        Err(why) => return unjudged(policy, object, &format!("cannot read the object: {why}")),
    };
    let result = judge.judge(&resource);
    let judged: Vec<Judged> = result
        .active()
        .filter_map(|f| {
            Some(Judged {
                action: policy.actions.of(f.severity)?,
                finding: f.clone(),
            })
        })
        .collect();
    decide(object, judged)
}

/// The verdict for findings already judged.
pub fn decide(object: ObjectName, judged: Vec<Judged>) -> Verdict {
    let denying: Vec<&Finding> = judged
        .iter()
        .filter(|j| j.action == Action::Deny)
        .map(|j| &j.finding)
        .collect();
    let warning: Vec<&Finding> = judged
        .iter()
        .filter(|j| j.action == Action::Warn)
        .map(|j| &j.finding)
        .collect();
    let mut warnings: Vec<String> = warning
        .iter()
        .take(MAX_WARNINGS)
        .map(|f| cut(&one_line(f), MAX_WARNING_CHARS))
        .collect();
    if warning.len() > MAX_WARNINGS {
        warnings.push(format!(
            "kspm: and {} more warnings",
            warning.len() - MAX_WARNINGS
        ));
    }
    if denying.is_empty() {
        return Verdict {
            outcome: if warnings.is_empty() {
                Outcome::Allowed
            } else {
                Outcome::Warned
            },
            allowed: true,
            message: None,
            warnings,
            judged,
            object,
        };
    }
    let mut message = format!(
        "kspm denied {object}: {} finding{} at deny level",
        denying.len(),
        if denying.len() == 1 { "" } else { "s" }
    );
    for f in &denying {
        let _ = write!(message, "; {}", one_line(f));
    }
    Verdict {
        outcome: Outcome::Denied,
        allowed: false,
        message: Some(cut(&message, MAX_MESSAGE_CHARS)),
        warnings,
        judged,
        object,
    }
}

/// The verdict on a request that could not be judged.
pub fn unjudged(policy: &Policy, object: ObjectName, why: &str) -> Verdict {
    let message = format!("kspm could not judge {object}: {why}");
    Verdict {
        outcome: Outcome::Unjudged,
        allowed: !policy.fail_closed,
        warnings: if policy.fail_closed {
            Vec::new()
        } else {
            vec![cut(&message, MAX_WARNING_CHARS)]
        },
        message: Some(cut(&message, MAX_MESSAGE_CHARS)),
        judged: Vec::new(),
        object,
    }
}

/// `kspm: PS001 privileged-container (critical) at spec.containers[0]...: message`.
fn one_line(f: &Finding) -> String {
    let text = format!(
        "kspm: {} {} ({}) at {}: {}",
        f.code, f.slug, f.severity, f.path, f.message
    );
    text.replace(['\n', '\r'], " ")
}

fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
    s.push('…');
    s
}

/// The AdmissionReview response body.
pub fn response(uid: &str, verdict: &Verdict) -> Json {
    let mut response = json!({ "uid": uid, "allowed": verdict.allowed });
    if !verdict.allowed {
        response["status"] = json!({
            "code": 403,
            "reason": "Forbidden",
            "message": verdict.message.clone().unwrap_or_default(),
        });
    }
    if !verdict.warnings.is_empty() {
        response["warnings"] = json!(verdict.warnings);
    }
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "response": response,
    })
}

/// The findings of a verdict as JSON, for the audit line and the store: what, where, why.
pub fn findings_json(judged: &[Judged]) -> Json {
    Json::Array(
        judged
            .iter()
            .map(|j| {
                let f = &j.finding;
                let mut o = json!({
                    "action": j.action.as_str(),
                    "rule": f.code,
                    "slug": f.slug,
                    "severity": f.severity.as_str(),
                    "path": f.path.to_string(),
                    "message": f.message,
                });
                if let Some(s) = &f.suppressed {
                    o["suppressed_by"] = json!(s.by);
                }
                o
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn review(request: &Json) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request
        }))
        .unwrap()
    }

    fn judge() -> ObjectJudge {
        ObjectJudge::new(kspm_engine::ScanOptions {
            rules: kspm_engine::select_rules(&kspm_engine::Selection::default()).unwrap(),
            ..kspm_engine::ScanOptions::default()
        })
    }

    fn pod(privileged: bool) -> Json {
        json!({
            "uid": "u1", "operation": "CREATE", "namespace": "team",
            "userInfo": {"username": "alice"},
            "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"generateName": "web-"},
                "spec": {"containers": [{"name": "c", "image": "nginx:1.27",
                    "securityContext": {"privileged": privileged}}]}}
        })
    }

    #[test]
    fn a_privileged_pod_is_denied_with_the_finding() {
        let request = parse(&review(&pod(true))).unwrap();
        assert_eq!(request.username, "alice");
        let verdict = super::judge(&judge(), &request, &Policy::default());
        assert_eq!(verdict.outcome, Outcome::Denied);
        let message = verdict.message.as_deref().unwrap();
        assert!(message.contains("privileged-container"), "{message}");
        assert!(message.contains("Pod team/web-*"), "{message}");
        let body = response(&request.uid, &verdict);
        assert_eq!(body["response"]["allowed"], false);
        assert_eq!(body["response"]["status"]["code"], 403);
    }

    #[test]
    fn thresholds_choose_the_strongest_action() {
        let a = Actions::default();
        assert_eq!(a.of(Severity::Critical), Some(Action::Deny));
        assert_eq!(a.of(Severity::Medium), Some(Action::Warn));
        assert_eq!(a.of(Severity::Info), Some(Action::Audit));
        let warn_only = Actions {
            deny: None,
            warn: Some(Severity::Low),
            audit: None,
        };
        assert_eq!(warn_only.of(Severity::Critical), Some(Action::Warn));
        assert_eq!(warn_only.of(Severity::Info), None);
        // Without deny, the privileged pod is admitted with warnings.
        let request = parse(&review(&pod(true))).unwrap();
        let policy = Policy {
            actions: warn_only,
            ..Policy::default()
        };
        let verdict = super::judge(&judge(), &request, &policy);
        assert!(verdict.allowed);
        assert_eq!(verdict.outcome, Outcome::Warned);
        assert!(
            verdict
                .warnings
                .iter()
                .any(|w| w.contains("privileged-container"))
        );
        assert!(
            verdict
                .warnings
                .iter()
                .all(|w| w.chars().count() <= MAX_WARNING_CHARS)
        );
    }

    #[test]
    fn excluded_namespaces_deletes_and_subresources_are_skipped() {
        let policy = Policy::default();
        let mut r = parse(&review(&pod(true))).unwrap();
        assert_eq!(skip_reason(&r, &policy), None);
        r.namespace = Some("kube-system".into());
        assert_eq!(skip_reason(&r, &policy), Some("excluded namespace"));
        r.namespace = Some("team".into());
        r.sub_resource = Some("status".into());
        assert_eq!(skip_reason(&r, &policy), Some("subresource"));
        r.sub_resource = None;
        r.operation = "DELETE".into();
        assert_eq!(skip_reason(&r, &policy), Some("operation"));
    }

    #[test]
    fn bad_bodies_are_refused_with_a_reason() {
        assert!(parse(b"{").unwrap_err().0.contains("invalid JSON"));
        assert!(
            parse(br#"{"apiVersion":"v1","kind":"Pod"}"#)
                .unwrap_err()
                .0
                .contains("AdmissionReview")
        );
        let no_uid = review(&json!({"operation": "CREATE"}));
        assert!(parse(&no_uid).unwrap_err().0.contains("uid"));
        // Deeply nested input is refused by the parser, not by a stack overflow.
        let deep = format!(
            r#"{{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{{"uid":"x","object":{}1{}}}}}"#,
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert!(parse(deep.as_bytes()).is_err());
    }

    #[test]
    fn an_unreadable_object_fails_open_or_closed_as_configured() {
        let mut request = parse(&review(&pod(false))).unwrap();
        request.object = Some(json!({"kind": "Pod"}));
        let open = super::judge(&judge(), &request, &Policy::default());
        assert_eq!((open.outcome, open.allowed), (Outcome::Unjudged, true));
        let closed = super::judge(
            &judge(),
            &request,
            &Policy {
                fail_closed: true,
                ..Policy::default()
            },
        );
        assert_eq!((closed.outcome, closed.allowed), (Outcome::Unjudged, false));
    }
}

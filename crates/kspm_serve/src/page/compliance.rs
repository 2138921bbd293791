//! Compliance of one cluster: per framework the score and every control's status, judged from
//! the store's findings of that cluster as they stand now.
//!
//! The statuses and the score are `kspm scan --framework`'s ([`kspm_engine::compliance`]): a
//! control is `fail` when an open, unsuppressed finding of one of its rules is evidence
//! against it, `manual` and `not-applicable` when the catalogue says so (with its reason),
//! and the score is `pass / (pass + fail)`. One difference, because the store keeps findings
//! and not the objects each scan judged: an automated control with no open finding of its
//! rules is `pass` here, where a scan can also call it `not-applicable` because nothing in its
//! input was judged by those rules. Suppressed findings never fail a control; they are counted.

use kspm_engine::compliance::{Score, Status};
use kspm_frameworks::{Assessment, Control, Framework};
use kspm_store::{RuleStatusCounts, Store};
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;

use super::{PageError, Params, layout};
use crate::html::{Href, Html};

pub struct ComplianceView {
    pub now: i64,
    pub cluster: String,
    /// The framework asked for (`framework=KEY`); `None` shows them all.
    pub selected: Option<Framework>,
    pub frameworks: Vec<FrameworkView>,
}

pub struct FrameworkView {
    pub framework: Framework,
    pub score: Score,
    pub manual: usize,
    pub not_applicable: usize,
    pub controls: Vec<ControlView>,
}

pub struct ControlView {
    pub control: &'static Control,
    pub status: Status,
    /// For manual controls what to check, for not-applicable ones why.
    pub reason: Option<String>,
    /// The codes of the rules that judge it.
    pub rules: Vec<&'static str>,
    /// The rules with open findings that fail it, and how many each has.
    pub failing: Vec<(&'static str, i64)>,
    /// Findings that would fail it but are suppressed by an exception.
    pub suppressed: i64,
}

pub async fn load(store: &Store, params: &Params, now: i64) -> Result<ComplianceView, PageError> {
    let cluster = params
        .get("cluster")
        .ok_or_else(|| PageError::BadRequest("which cluster? (`?cluster=NAME`)".to_owned()))?;
    let selected = match params.get("framework") {
        None => None,
        Some(key) => Some(Framework::from_key(key).ok_or_else(|| {
            PageError::BadRequest(format!(
                "unknown framework `{key}` (known: {})",
                Framework::ALL.map(Framework::key).join(", ")
            ))
        })?),
    };
    if !store
        .clusters(now)
        .await?
        .iter()
        .any(|c| c.cluster == cluster)
    {
        return Err(PageError::NotFound(format!(
            "no cluster `{cluster}` in the store"
        )));
    }
    let counts = store.rule_status_counts(cluster, now).await?;
    let frameworks = match selected {
        Some(fw) => vec![judge(fw, &counts)],
        None => Framework::ALL
            .iter()
            .map(|&fw| judge(fw, &counts))
            .collect(),
    };
    Ok(ComplianceView {
        now,
        cluster: cluster.to_owned(),
        selected,
        frameworks,
    })
}

/// Judges every control of `fw` from the open and suppressed findings per rule.
pub fn judge(fw: Framework, counts: &BTreeMap<String, RuleStatusCounts>) -> FrameworkView {
    let mut out = FrameworkView {
        framework: fw,
        score: Score::default(),
        manual: 0,
        not_applicable: 0,
        controls: Vec::new(),
    };
    for &control in fw.controls() {
        let rules = control_rules(control);
        let mut cv = ControlView {
            control,
            status: Status::NotApplicable,
            reason: None,
            rules,
            failing: Vec::new(),
            suppressed: 0,
        };
        match control.assessment {
            Assessment::Manual(what) => {
                cv.status = Status::Manual;
                cv.reason = Some(what.to_owned());
                out.manual += 1;
            }
            Assessment::NotApplicable(why) => {
                cv.reason = Some(why.to_owned());
                out.not_applicable += 1;
            }
            Assessment::Automated if cv.rules.is_empty() => {
                cv.reason = Some("no rule of this build judges it".to_owned());
                out.not_applicable += 1;
            }
            Assessment::Automated => {
                for &code in &cv.rules {
                    if let Some(c) = counts.get(code) {
                        if c.open > 0 {
                            cv.failing.push((code, c.open));
                        }
                        cv.suppressed += c.suppressed;
                    }
                }
                if cv.failing.is_empty() {
                    cv.status = Status::Pass;
                    out.score.pass += 1;
                } else {
                    cv.status = Status::Fail;
                    out.score.fail += 1;
                }
            }
        }
        out.controls.push(cv);
    }
    out
}

/// The codes of the rules that declare `control`.
pub fn control_rules(control: &Control) -> Vec<&'static str> {
    kspm_rules::rules()
        .iter()
        .filter(|r| {
            r.meta
                .frameworks
                .iter()
                .any(|c| c.framework == control.framework && c.id == control.id)
        })
        .map(|r| r.meta.code)
        .collect()
}

/// `FRAMEWORK:CONTROL` (`cis:5.2.2`, `pss:baseline:privileged`), as the findings page's
/// `control` filter takes it.
pub fn parse_control(text: &str) -> Result<&'static Control, ControlError> {
    let (fw, id) = text
        .split_once(':')
        .ok_or_else(|| ControlError::NotFrameworkControl(text.to_owned()))?;
    let framework =
        Framework::from_key(fw).ok_or_else(|| ControlError::UnknownFramework(fw.to_owned()))?;
    framework
        .control(id)
        .ok_or_else(|| ControlError::UnknownControl {
            framework,
            id: id.to_owned(),
        })
}

/// Why [`parse_control`] refused the `control` parameter: a message for the client, naming the
/// parameter and what it takes.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// No `:` between a framework and a control.
    #[error("parameter `control`: `{0}` is not FRAMEWORK:CONTROL (`cis:5.2.2`; frameworks: {known})", known = known_frameworks())]
    NotFrameworkControl(String),
    /// The part before the first `:` is no framework's key.
    #[error("parameter `control`: unknown framework `{0}` (known: {known})", known = known_frameworks())]
    UnknownFramework(String),
    /// The framework has no control with that id.
    #[error("parameter `control`: {} has no control `{id}`", framework.key())]
    UnknownControl { framework: Framework, id: String },
}

fn known_frameworks() -> String {
    Framework::ALL.map(Framework::key).join(", ")
}

fn score_json(f: &FrameworkView) -> Json {
    json!({
        "percent": f.score.percent(),
        "pass": f.score.pass,
        "fail": f.score.fail,
        "manual": f.manual,
        "not_applicable": f.not_applicable,
    })
}

pub fn json(v: &ComplianceView) -> Json {
    json!({
        "generated_at": super::time_json(Some(v.now)),
        "cluster": v.cluster,
        "frameworks": v.frameworks.iter().map(|f| json!({
            "key": f.framework.key(),
            "title": f.framework.title(),
            "version": f.framework.version(),
            "score": score_json(f),
            "controls": f.controls.iter().map(|c| json!({
                "id": c.control.id,
                "title": c.control.title,
                "status": c.status.as_str(),
                "reason": c.reason,
                "rules": c.rules,
                "failing": c.failing.iter().map(|(rule, open)| json!({"rule": rule, "open": open})).collect::<Vec<_>>(),
                "suppressed": c.suppressed,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

fn percent(h: &mut Html, s: Score) {
    match s.percent() {
        Some(p) => h.text(format!("{p:.1}%")),
        None => h.raw("<span class=\"muted\">n/a</span>"),
    };
}

pub fn html(v: &ComplianceView) -> String {
    let cluster = v.cluster.as_str();
    let mut h = Html::new();
    h.raw("<h1>Compliance of ")
        .link(&Href::to("/cluster", &[("name", cluster)]), cluster)
        .raw("</h1>");
    h.raw("<p class=\"muted\">Judged from the open findings in the store: a control fails when an open, unsuppressed finding of one of its rules is evidence against it, and passes when none is. The score counts pass and fail only.</p>");
    h.raw("<table id=\"frameworks\"><thead><tr><th>framework</th><th class=\"num\">score</th>")
        .raw("<th class=\"num\">pass</th><th class=\"num\">fail</th><th class=\"num\">manual</th>")
        .raw("<th class=\"num\">not applicable</th></tr></thead><tbody>");
    for f in &v.frameworks {
        h.raw("<tr><td>")
            .link(
                &Href::to(
                    "/compliance",
                    &[("cluster", cluster), ("framework", f.framework.key())],
                ),
                format!("{} {}", f.framework.title(), f.framework.version()),
            )
            .raw("</td><td class=\"num\">");
        percent(&mut h, f.score);
        h.raw("</td><td class=\"num\">")
            .text(f.score.pass)
            .raw("</td><td class=\"num\">")
            .text(f.score.fail)
            .raw("</td><td class=\"num\">")
            .text(f.manual)
            .raw("</td><td class=\"num\">")
            .text(f.not_applicable)
            .raw("</td></tr>");
    }
    h.raw("</tbody></table>");
    if v.selected.is_some() {
        for f in &v.frameworks {
            controls(&mut h, cluster, f);
        }
        h.raw("<p>")
            .link(
                &Href::to("/compliance", &[("cluster", cluster)]),
                "All frameworks",
            )
            .raw("</p>");
    }
    let title = match v.selected {
        Some(fw) => format!("Compliance of {cluster}: {}", fw.title()),
        None => format!("Compliance of {cluster}"),
    };
    layout(&title, h)
}

fn controls(h: &mut Html, cluster: &str, f: &FrameworkView) {
    h.raw("<h2>")
        .text(format!("{} {}", f.framework.title(), f.framework.version()))
        .raw("</h2>");
    h.raw("<table id=\"controls\"><thead><tr><th>control</th><th>title</th><th>status</th>")
        .raw("<th>evidence</th></tr></thead><tbody>");
    for c in &f.controls {
        h.raw("<tr><td>")
            .text(c.control.id)
            .raw("</td><td>")
            .text(c.control.title)
            .raw("</td><td><span")
            .attr("class", format!("status status-{}", c.status.as_str()))
            .raw(">")
            .text(c.status.as_str())
            .raw("</span></td><td>");
        if let Some(reason) = &c.reason {
            h.text(reason);
        }
        if !c.failing.is_empty() {
            let key = format!("{}:{}", f.framework.key(), c.control.id);
            h.link(
                &Href::to(
                    "/findings",
                    &[("cluster", cluster), ("control", &key), ("status", "open")],
                ),
                format!("{} open", c.failing.iter().map(|(_, n)| n).sum::<i64>()),
            )
            .raw(": ");
        }
        for (i, (rule, open)) in c.failing.iter().enumerate() {
            if i > 0 {
                h.raw(", ");
            }
            h.link(
                &Href::to(
                    "/findings",
                    &[("cluster", cluster), ("rule", rule), ("status", "open")],
                ),
                format!("{rule}: {open} open"),
            );
        }
        if c.status == Status::Pass {
            h.raw("<span class=\"muted\">no open finding of ")
                .text(c.rules.join(", "))
                .raw("</span>");
        }
        if c.suppressed > 0 {
            h.raw(" <span class=\"muted\">(")
                .text(c.suppressed)
                .raw(" suppressed)</span>");
        }
        h.raw("</td></tr>");
    }
    h.raw("</tbody></table>");
}

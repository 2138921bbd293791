//! Output formats. Each module turns a [`ScanResult`] (or an analysis's answer: [`rbac`],
//! [`network`]) into bytes; none of them decides what was found, only how it is shown.

pub mod catalog;
pub mod compliance;
pub mod docs;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod network;
pub mod rbac;
pub mod sarif;
pub mod table;
pub mod text;

use kspm_engine::ScanResult;
use kspm_frameworks::Framework;
use kspm_model::Finding;
use kspm_rules::{Rule, find_rule};

/// What every format needs besides the result itself.
#[derive(Clone, Debug, Default)]
pub struct ReportOptions {
    /// Include suppressed findings (marked as such).
    pub show_suppressed: bool,
    /// Use ANSI colours (table only; the CLI decides from the terminal).
    pub color: bool,
    /// List the findings folded into stronger ones as lines of their own (table, Markdown);
    /// JSON always carries them in each finding's `folded` list.
    pub show_folded: bool,
}

/// The findings a report shows.
pub fn shown<'a>(
    result: &'a ScanResult,
    opts: &'a ReportOptions,
) -> impl Iterator<Item = &'a Finding> {
    result
        .findings
        .iter()
        .filter(move |f| opts.show_suppressed || f.suppressed.is_none())
}

pub(crate) fn rule_of(f: &Finding) -> &'static Rule {
    find_rule(f.code).expect("findings come from registered rules")
}

/// What every finding of a rule repeats, computed once per rule rather than once per finding
/// (a large scan has hundreds of thousands of findings).
pub(crate) struct RuleInfo {
    pub remediation: String,
    pub frameworks: serde_json::Value,
}

pub(crate) fn rule_info(code: &str) -> &'static RuleInfo {
    static CACHE: std::sync::LazyLock<std::collections::HashMap<&'static str, RuleInfo>> =
        std::sync::LazyLock::new(|| {
            kspm_rules::rules()
                .iter()
                .map(|r| (r.meta.code, RuleInfo::of(r)))
                .collect()
        });
    // Custom policies are registered at run time: their info is computed once per rule and
    // kept for the process, like the rule itself.
    static CUSTOM: std::sync::RwLock<Vec<(usize, &'static RuleInfo)>> =
        std::sync::RwLock::new(Vec::new());
    if let Some(info) = CACHE.get(code) {
        return info;
    }
    let rule = find_rule(code).expect("findings come from registered rules");
    let key = std::ptr::from_ref(rule) as usize;
    let read = CUSTOM
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, info)) = read.iter().find(|(k, _)| *k == key) {
        return info;
    }
    drop(read);
    let info: &'static RuleInfo = Box::leak(Box::new(RuleInfo::of(rule)));
    CUSTOM
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push((key, info));
    info
}

impl RuleInfo {
    fn of(rule: &Rule) -> Self {
        Self {
            remediation: remediation(rule),
            frameworks: frameworks_json(rule),
        }
    }
}

/// `{"cis": [...], "pss": [...], "nsa": [...], ...}` for a rule.
pub fn frameworks_json(rule: &Rule) -> serde_json::Value {
    controls_json(rule.meta.frameworks)
}

/// `{"cis": [...], ...}` for a list of controls, one key per framework.
pub fn controls_json(controls: &[&kspm_frameworks::Control]) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    for fw in Framework::ALL {
        let ids: Vec<&str> = controls
            .iter()
            .filter(|c| c.framework == fw)
            .map(|c| c.id)
            .collect();
        map.insert(fw.key().to_owned(), serde_json::json!(ids));
    }
    serde_json::Value::Object(map)
}

/// The findings a report shows, most urgent first, with the number of factors explained.
pub fn top_risks(result: &ScanResult, n: usize) -> Vec<&Finding> {
    // Findings are already ordered by risk.
    result.active().take(n).collect()
}

/// "high 45 + exposed 20 + kube-system 10 = 75".
pub fn risk_explanation(f: &Finding) -> String {
    let mut parts = vec![format!(
        "{} {}",
        f.severity,
        kspm_engine::risk::base(f.severity)
    )];
    for x in f.risk.factors.iter() {
        parts.push(format!("{} {}", x.factor, x.points));
    }
    let sum: u32 = u32::from(kspm_engine::risk::base(f.severity))
        + f.risk
            .factors
            .iter()
            .map(|x| u32::from(x.points))
            .sum::<u32>();
    let capped = if sum > 100 { " (capped at 100)" } else { "" };
    format!("{} = {}{capped}", parts.join(" + "), f.risk.score)
}

/// The remediation section of a rule's documentation, as one paragraph.
pub fn remediation(rule: &Rule) -> String {
    rule.meta
        .doc_section("Remediation")
        .unwrap_or_default()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

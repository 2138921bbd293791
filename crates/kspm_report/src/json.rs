//! The JSON report, schema `kspm.io/scan/v1` (documented in docs/json-schema.md). Additive
//! changes keep the version; anything that renames or removes a field bumps it.
//!
//! Written straight from borrowed structs, never through a `serde_json::Value` tree: a large
//! scan has hundreds of thousands of findings. Findings are rendered in parallel batches, and
//! what every finding of a rule repeats (title, remediation, frameworks) is rendered once per
//! rule. The bytes are those of `serde_json::to_writer_pretty` on the whole document.

use kspm_engine::ScanResult;
use kspm_model::{Diagnostic, Finding, Severity};
use std::io::{self, Write};

use serde::Serialize;

use crate::{ReportOptions, RuleBook, shown};

pub const SCHEMA: &str = "kspm.io/scan/v1";

/// The report's parts besides its findings.
struct Report<'a> {
    schema: &'static str,
    tool: Tool,
    summary: Summary<'a>,
    errors: &'a [Diagnostic],
    compliance: Option<crate::compliance::Compliance<'a>>,
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct Summary<'a> {
    resources: usize,
    sources: usize,
    rules: usize,
    findings: usize,
    suppressed: usize,
    by_severity: BySeverity,
    errors: usize,
    /// Some objects could not be read (see `errors`): the findings cover only what was read.
    partial: bool,
    /// The configuration file applied and what it changed (rules off, severities lowered,
    /// findings suppressed); absent when none was.
    #[serde(skip_serializing_if = "Option::is_none")]
    config: Option<&'a kspm_engine::AppliedConfig>,
}

#[derive(Serialize, Default)]
struct BySeverity {
    critical: usize,
    high: usize,
    medium: usize,
    low: usize,
    info: usize,
}

#[derive(Serialize)]
struct FoldedOut<'a> {
    rule: &'static str,
    slug: &'static str,
    severity: Severity,
    path: String,
    message: &'a str,
}

/// What every finding of one rule repeats, rendered once per rule: a large scan has hundreds of
/// thousands of findings and a hundred rules at most.
struct RuleText {
    title: Vec<u8>,
    remediation: Vec<u8>,
    /// The `frameworks` object, indented for its place in a finding.
    frameworks: Vec<u8>,
}

impl RuleText {
    fn of(f: &Finding, rules: &RuleBook) -> Self {
        let info = rules.get(f.code);
        Self {
            title: quoted(info.title.unwrap_or(f.slug)),
            remediation: quoted(&info.remediation),
            frameworks: pretty_at(FINDING_LEVEL + 1, &info.frameworks),
        }
    }
}

/// The rule texts of a scan's rules, looked up by code while findings are written.
struct RuleTexts(std::collections::HashMap<&'static str, RuleText>);

impl RuleTexts {
    fn new(findings: &[&Finding], rules: &RuleBook) -> Self {
        let mut map = std::collections::HashMap::new();
        for f in findings {
            map.entry(f.code).or_insert_with(|| RuleText::of(f, rules));
        }
        Self(map)
    }

    fn get(&self, code: &str) -> &RuleText {
        &self.0[code]
    }
}

/// The nesting level of a finding in the report (`{"findings": [ {...} ]}`).
const FINDING_LEVEL: usize = 2;

/// serde_json's pretty printer (two spaces a level) starting at a given depth, so that pieces
/// of the report rendered apart (in parallel, or once per rule) read as if written in one pass.
struct Indented {
    level: usize,
    has_value: bool,
}

fn indent<W: ?Sized + Write>(out: &mut W, level: usize) -> io::Result<()> {
    for _ in 0..level {
        out.write_all(b"  ")?;
    }
    Ok(())
}

impl serde_json::ser::Formatter for Indented {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.level += 1;
        self.has_value = false;
        w.write_all(b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.level -= 1;
        if self.has_value {
            w.write_all(b"\n")?;
            indent(w, self.level)?;
        }
        w.write_all(b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        w.write_all(if first { b"\n" } else { b",\n" })?;
        indent(w, self.level)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.level += 1;
        self.has_value = false;
        w.write_all(b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.level -= 1;
        if self.has_value {
            w.write_all(b"\n")?;
            indent(w, self.level)?;
        }
        w.write_all(b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        w.write_all(if first { b"\n" } else { b",\n" })?;
        indent(w, self.level)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// Writes `value` as the pretty printer would at nesting `level`.
pub(crate) fn write_at<W: Write>(out: W, level: usize, value: &impl Serialize) -> io::Result<()> {
    let formatter = Indented {
        level,
        has_value: false,
    };
    let mut ser = serde_json::Serializer::with_formatter(out, formatter);
    value.serialize(&mut ser).map_err(io::Error::from)
}

fn pretty_at(level: usize, value: &impl Serialize) -> Vec<u8> {
    let mut out = Vec::new();
    write_at(&mut out, level, value).expect("writing to memory");
    out
}

/// A JSON string literal.
fn quoted(s: &str) -> Vec<u8> {
    serde_json::to_vec(s).expect("a string serializes")
}

/// [`indent`] into memory.
fn pad(out: &mut Vec<u8>, level: usize) {
    indent(out, level).expect("writing to memory");
}

/// An object written field by field at a nesting level, laid out as the pretty printer would.
struct Obj<'b> {
    out: &'b mut Vec<u8>,
    level: usize,
    empty: bool,
}

impl<'b> Obj<'b> {
    fn open(out: &'b mut Vec<u8>, level: usize) -> Self {
        out.push(b'{');
        Self {
            out,
            level,
            empty: true,
        }
    }

    fn key(&mut self, key: &str) {
        self.out
            .extend_from_slice(if self.empty { b"\n" } else { b",\n" });
        self.empty = false;
        pad(self.out, self.level + 1);
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\": ");
    }

    fn raw(&mut self, key: &str, json: &[u8]) {
        self.key(key);
        self.out.extend_from_slice(json);
    }

    fn str(&mut self, key: &str, value: &str) {
        self.key(key);
        serde_json::to_writer(&mut *self.out, value).expect("writing to memory");
    }

    fn opt_str(&mut self, key: &str, value: Option<&str>) {
        match value {
            Some(v) => self.str(key, v),
            None => self.raw(key, b"null"),
        }
    }

    fn num(&mut self, key: &str, value: impl std::fmt::Display) {
        self.key(key);
        write!(self.out, "{value}").expect("writing to memory");
    }

    fn value(&mut self, key: &str, value: &impl Serialize) {
        self.key(key);
        write_at(&mut *self.out, self.level + 1, value).expect("writing to memory");
    }

    fn object(&mut self, key: &str) -> Obj<'_> {
        self.key(key);
        Obj::open(self.out, self.level + 1)
    }

    fn close(self) {
        if !self.empty {
            self.out.push(b'\n');
            pad(self.out, self.level);
        }
        self.out.push(b'}');
    }
}

/// A finding's fix as JSON Patch operations, written straight into the report (no value tree
/// per operation), laid out as the pretty printer lays out `{"description", "patch": [...]}`.
fn write_fix(o: &mut Obj<'_>, fix: &kspm_model::Fix) {
    let mut x = o.object("fix");
    x.str("description", &fix.description);
    if fix.ops.is_empty() {
        x.raw("patch", b"[]");
    } else {
        x.key("patch");
        let level = x.level + 1;
        x.out.push(b'[');
        for (i, op) in fix.ops.iter().enumerate() {
            x.out.extend_from_slice(if i == 0 { b"\n" } else { b",\n" });
            pad(x.out, level + 1);
            let mut p = Obj::open(&mut *x.out, level + 1);
            let (name, path, value) = op.json_patch_parts();
            p.str("op", name);
            p.str("path", &path);
            if let Some(value) = value {
                p.value("value", value);
            }
            p.close();
        }
        x.out.push(b'\n');
        pad(x.out, level);
        x.out.push(b']');
    }
    x.close();
}

/// One finding, laid out as in the rest of the report.
fn write_finding(out: &mut Vec<u8>, f: &Finding, text: &RuleText) {
    let mut o = Obj::open(out, FINDING_LEVEL);
    o.str("rule", f.code);
    o.str("slug", f.slug);
    o.raw("title", &text.title);
    o.str("severity", f.severity.as_str());
    o.str("category", f.category);
    let mut r = o.object("resource");
    r.str("apiVersion", &f.resource.api_version);
    r.str("kind", &f.resource.kind);
    r.opt_str("namespace", f.resource.namespace.as_deref());
    r.str("name", &f.resource.name);
    if let Some(uid) = &f.resource.uid {
        r.str("uid", uid);
    }
    if let Some(rv) = &f.resource.resource_version {
        r.str("resourceVersion", rv);
    }
    r.close();
    let mut s = o.object("source");
    s.str("file", &f.source.file);
    s.num("document", f.source.doc);
    if f.pos.is_known() {
        s.num("line", f.pos.line);
        s.num("column", f.pos.col);
    }
    if let Some(template) = &f.source.origin {
        s.str("template", template);
    }
    s.close();
    o.str("path", &f.path.to_string());
    o.str("message", &f.message);
    if let Some(value) = &f.value {
        o.str("value", value);
    }
    o.raw("remediation", &text.remediation);
    if let Some(fix) = &f.fix {
        write_fix(&mut o, fix);
    }
    // A table-driven rule's finding names only the controls it fails.
    match f.controls {
        None => o.raw("frameworks", &text.frameworks),
        Some(controls) => o.value("frameworks", &crate::controls_json(controls)),
    }
    if let Some(sup) = &f.suppressed {
        let mut s = o.object("suppressed");
        s.str("by", &sup.by);
        s.str("reason", &sup.reason);
        s.close();
    }
    let mut risk = o.object("risk");
    risk.num("score", f.risk.score);
    risk.value("factors", &&*f.risk.factors);
    risk.close();
    if !f.folded.is_empty() {
        let folded: Vec<FoldedOut<'_>> = f
            .folded
            .iter()
            .map(|x| FoldedOut {
                rule: x.code,
                slug: x.slug,
                severity: x.severity,
                path: x.path.to_string(),
                message: &x.message,
            })
            .collect();
        o.value("folded", &folded);
    }
    o.close();
}

fn report<'a>(result: &'a ScanResult, opts: &'a ReportOptions) -> Report<'a> {
    let mut by_severity = BySeverity::default();
    for f in result.active() {
        *match f.severity {
            Severity::Critical => &mut by_severity.critical,
            Severity::High => &mut by_severity.high,
            Severity::Medium => &mut by_severity.medium,
            Severity::Low => &mut by_severity.low,
            Severity::Info => &mut by_severity.info,
        } += 1;
    }
    Report {
        schema: SCHEMA,
        tool: Tool {
            name: "kspm",
            version: env!("CARGO_PKG_VERSION"),
        },
        summary: Summary {
            resources: result.resources,
            sources: result.sources,
            rules: result.rules.len(),
            findings: result.active().count(),
            suppressed: result.suppressed(),
            by_severity,
            errors: result.diagnostics.len(),
            partial: result.partial,
            config: result.config.as_ref(),
        },
        errors: &result.diagnostics,
        compliance: crate::compliance::compliance(result, opts),
    }
}

/// Findings are rendered in parallel batches ([`crate::write_in_batches`]).
fn write_findings<W: Write>(
    out: &mut W,
    result: &ScanResult,
    opts: &ReportOptions,
) -> io::Result<()> {
    let shown: Vec<&Finding> = shown(result, opts).collect();
    if shown.is_empty() {
        return out.write_all(b"[]");
    }
    // The rules the scan ran describe its findings (never the process-wide registry).
    let texts = RuleTexts::new(&shown, &RuleBook::of(result));
    out.write_all(b"[")?;
    crate::write_in_batches(out, &shown, |buf: &mut Vec<u8>, i, f| {
        buf.extend_from_slice(if i == 0 { b"\n    " } else { b",\n    " });
        write_finding(buf, f, texts.get(f.code));
    })?;
    out.write_all(b"\n  ]")
}

/// Writes the report to `out` as it is rendered; memory stays flat however many findings.
pub fn write(result: &ScanResult, opts: &ReportOptions, out: impl Write) -> io::Result<()> {
    let mut out = io::BufWriter::with_capacity(1 << 16, out);
    let Report {
        schema,
        tool,
        summary,
        errors,
        compliance,
    } = report(result, opts);
    out.write_all(b"{\n  \"schema\": ")?;
    write_at(&mut out, 1, &schema)?;
    out.write_all(b",\n  \"tool\": ")?;
    write_at(&mut out, 1, &tool)?;
    out.write_all(b",\n  \"summary\": ")?;
    write_at(&mut out, 1, &summary)?;
    out.write_all(b",\n  \"findings\": ")?;
    write_findings(&mut out, result, opts)?;
    out.write_all(b",\n  \"errors\": ")?;
    write_at(&mut out, 1, &errors)?;
    if let Some(compliance) = compliance {
        out.write_all(b",\n  \"compliance\": ")?;
        write_at(&mut out, 1, &compliance)?;
    }
    out.write_all(b"\n}\n")?;
    out.flush()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use kspm_model::{FieldPath, Fix, Folded, Pos, ResourceId, Risk, RiskFactor, Source};
    use std::sync::Arc;

    /// A finding with every optional part present, and one with none.
    /// A finding with every part, one with none, and one with a finding folded into it.
    pub(crate) fn findings() -> Vec<Finding> {
        let rule = kspm_rules::rules()[0];
        let controls = rule.meta.frameworks;
        let full = Finding {
            code: rule.meta.code,
            slug: rule.meta.slug,
            severity: Severity::High,
            category: rule.meta.category.as_str(),
            resource: Arc::new(ResourceId {
                api_version: "apps/v1".into(),
                kind: "Deployment".into(),
                namespace: Some("shop".into()),
                name: "web \"quoted\"".into(),
                uid: Some("1234".into()),
                resource_version: Some("42".into()),
            }),
            source: Source {
                file: "charts/web/x.yaml".into(),
                doc: 3,
                origin: Some("web/templates/deploy.yaml".into()),
            },
            pos: Pos::new(7, 9),
            path: FieldPath::parse("metadata.annotations[\"a.b/c\"]"),
            message: "line\nbreak and \u{1} control".into(),
            value: Some("v".into()),
            fix: Some(Box::new(Fix::new("set it").set(
                FieldPath::parse("spec.x"),
                serde_json::json!({"a": [1, 2]}),
            ))),
            suppressed: Some(Box::new(kspm_model::Suppression {
                by: "kspm.yaml:3".into(),
                reason: "accepted".into(),
                until: None,
            })),
            controls: Some(&controls[..controls.len().min(1)]),
            risk: Risk {
                score: 70,
                factors: Arc::from(vec![RiskFactor {
                    factor: "exposed",
                    points: 20,
                    detail: "through Service shop/web".into(),
                }]),
            },
            folded: Vec::new(),
        };
        let mut bare = full.clone();
        bare.resource = Arc::new(ResourceId {
            api_version: "v1".into(),
            kind: "Namespace".into(),
            namespace: None,
            name: "shop".into(),
            uid: None,
            resource_version: None,
        });
        bare.source.origin = None;
        bare.pos = Pos::default();
        bare.value = None;
        bare.fix = None;
        bare.suppressed = None;
        bare.controls = None;
        bare.risk = Risk::default();
        let mut with_folded = bare.clone();
        with_folded.folded = vec![Folded::of(&full)];
        vec![full, bare, with_folded]
    }

    /// The hand-written layout is serde_json's pretty printing of the same document, whatever
    /// parts a finding has.
    #[test]
    fn the_report_is_laid_out_as_serde_json_pretty_prints_it() {
        for show_suppressed in [true, false] {
            let result = ScanResult {
                findings: findings(),
                ..ScanResult::default()
            };
            let opts = ReportOptions {
                show_suppressed,
                ..ReportOptions::default()
            };
            let mut out = Vec::new();
            write(&result, &opts, &mut out).unwrap();
            let text = String::from_utf8(out).unwrap();
            let value: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(text, serde_json::to_string_pretty(&value).unwrap() + "\n");
            let shown = value["findings"].as_array().unwrap();
            assert_eq!(shown.len(), if show_suppressed { 3 } else { 2 });
            if show_suppressed {
                assert_eq!(shown[0]["resource"]["uid"], "1234");
                assert_eq!(shown[0]["source"]["template"], "web/templates/deploy.yaml");
                assert_eq!(shown[0]["suppressed"]["reason"], "accepted");
                assert_eq!(shown[0]["fix"]["patch"][0]["value"]["a"][1], 2);
                assert_eq!(shown[0]["path"], "metadata.annotations[\"a.b/c\"]");
                assert_eq!(shown[1]["resource"]["namespace"], serde_json::Value::Null);
                assert!(shown[1].get("source").unwrap().get("line").is_none());
                assert_eq!(shown[2]["folded"][0]["rule"], shown[0]["rule"]);
            }
        }
    }

    /// Every streamed format writes its findings in parallel batches: across batches and
    /// windows, every finding is there, in order, and JSON and SARIF still parse.
    #[test]
    fn many_findings_keep_their_order_across_batches() {
        let one = findings().swap_remove(1);
        let n = crate::BATCH * crate::WINDOW * 2 + 3;
        let findings: Vec<Finding> = (0..n)
            .map(|i| {
                let mut f = one.clone();
                f.source.doc = i;
                let mut id = (*f.resource).clone();
                id.name = format!("obj-{i:05}-end");
                f.resource = std::sync::Arc::new(id);
                f
            })
            .collect();
        let result = ScanResult {
            findings,
            ..ScanResult::default()
        };
        let opts = ReportOptions::default();
        for format in [
            crate::Format::Json,
            crate::Format::Sarif,
            crate::Format::Table,
            crate::Format::Html,
        ] {
            let text = format.render(&result, &opts);
            let mut at = 0;
            for i in 0..n {
                let name = format!("obj-{i:05}-end");
                let found = text[at..]
                    .find(&name)
                    .unwrap_or_else(|| panic!("{format:?}: {name} missing or out of order"));
                at += found + name.len();
            }
        }
        let json: serde_json::Value =
            serde_json::from_str(&crate::Format::Json.render(&result, &opts)).unwrap();
        let docs: Vec<u64> = json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["source"]["document"].as_u64().unwrap())
            .collect();
        assert_eq!(docs, (0..n as u64).collect::<Vec<_>>());
        let sarif: serde_json::Value =
            serde_json::from_str(&crate::Format::Sarif.render(&result, &opts)).unwrap();
        assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), n);
    }
}

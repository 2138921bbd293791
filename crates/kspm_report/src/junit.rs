//! JUnit XML for CI systems: one test suite per rule, one test case per (rule, resource) the
//! rule judged; a finding is a failure.
//!
//! Written straight to the output one test case at a time, never held as a document: the
//! counts that open the document and each suite come from a first pass that only classifies
//! the cases (their text is built in the second). The bytes are those quick-junit 0.8 writes
//! for the same report: four-space indentation, `<`, `>`, `&`, `'` and `"` escaped in text and
//! attributes alike, and every text cleaned by its [`XmlString`] (ANSI escapes and the control
//! characters XML cannot hold are dropped).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write};

use kspm_engine::ScanResult;
use kspm_engine::compliance::{FrameworkResult, Status};
use kspm_model::{Finding, ResourceId};
use kspm_rules::Rule;
use quick_junit::XmlString;
use rayon::prelude::*;

use crate::{ReportOptions, shown};

/// Findings of one rule, by the object they are on: its number among the scan's objects (one
/// number for objects with one file, document and id).
type ByObject<'a> = HashMap<u32, Vec<&'a Finding>, foldhash::fast::RandomState>;

/// Which findings each rule has on each object.
struct Found<'a> {
    by_rule: BTreeMap<&'static str, ByObject<'a>>,
    /// The number of each of `result.scanned`'s objects.
    objects: Vec<u32>,
}

impl<'a> Found<'a> {
    fn new(result: &'a ScanResult, opts: &'a ReportOptions) -> Self {
        let mut numbers: HashMap<(&str, usize, &ResourceId), u32, foldhash::fast::RandomState> =
            HashMap::default();
        let objects = result
            .scanned
            .iter()
            .map(|s| {
                let next = u32::try_from(numbers.len()).unwrap_or(u32::MAX);
                *numbers
                    .entry((&*s.source.file, s.source.doc, &*s.id))
                    .or_insert(next)
            })
            .collect();
        let mut by_rule: BTreeMap<&'static str, ByObject<'a>> = BTreeMap::new();
        for f in shown(result, opts) {
            // Only objects the scan judged have cases.
            let Some(&object) = numbers.get(&(&*f.source.file, f.source.doc, &*f.resource)) else {
                continue;
            };
            // A rule whose finding was folded into another's still failed on that object.
            for code in std::iter::once(f.code).chain(f.folded.iter().map(|x| x.code)) {
                by_rule
                    .entry(code)
                    .or_default()
                    .entry(object)
                    .or_default()
                    .push(f);
            }
        }
        Self { by_rule, objects }
    }
}

/// Writes the report to `out`.
pub fn write(result: &ScanResult, opts: &ReportOptions, out: &mut dyn Write) -> io::Result<()> {
    let found = Found::new(result, opts);
    let mut suites: Vec<Suite<'_>> = result.rules.iter().map(|r| Suite::Rule(r)).collect();
    suites.extend(result.compliance.iter().map(Suite::Framework));
    if !result.diagnostics.is_empty() || result.config.is_some() {
        suites.push(Suite::Inputs);
    }
    // The document and each suite open with their counts.
    let counts: Vec<Counts> = suites
        .par_iter()
        .map(|suite| {
            let mut c = Counts::default();
            suite.cases(result, &found, &mut |outcome, _| {
                c.add(outcome);
                Ok(())
            })?;
            Ok(c)
        })
        .collect::<io::Result<_>>()?;
    let total = counts.iter().fold(Counts::default(), |t, c| Counts {
        tests: t.tests + c.tests,
        skipped: t.skipped + c.skipped,
        failures: t.failures + c.failures,
        errors: t.errors + c.errors,
    });

    let mut w = io::BufWriter::with_capacity(1 << 16, out);
    w.write_all(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites")?;
    attr(&mut w, "name", "kspm")?;
    write!(
        w,
        " tests=\"{}\" skipped=\"{}\" failures=\"{}\" errors=\"{}\">",
        total.tests, total.skipped, total.failures, total.errors
    )?;
    // Suites' cases are rendered in parallel, a few suites at a time (a suite of a rule that
    // judges every workload of a large scan is tens of megabytes), and written in order.
    let window = 2 * rayon::current_num_threads().max(1);
    for (suites, counts) in suites.chunks(window).zip(counts.chunks(window)) {
        let bodies: Vec<Vec<u8>> = suites
            .par_iter()
            .zip(counts)
            .map(|(suite, c)| {
                let mut body = Vec::new();
                if c.tests > 0 {
                    suite.cases(result, &found, &mut |outcome, case| {
                        write_case(&mut body, outcome, &case())
                    })?;
                }
                Ok(body)
            })
            .collect::<io::Result<_>>()?;
        for ((suite, c), body) in suites.iter().zip(counts).zip(bodies) {
            w.write_all(b"\n    <testsuite")?;
            attr(&mut w, "name", &suite.name())?;
            write!(
                w,
                " tests=\"{}\" skipped=\"{}\" errors=\"{}\" failures=\"{}\"",
                c.tests, c.skipped, c.errors, c.failures
            )?;
            if c.tests == 0 {
                w.write_all(b"/>")?;
                continue;
            }
            w.write_all(b">")?;
            w.write_all(&body)?;
            w.write_all(b"\n    </testsuite>")?;
        }
    }
    w.write_all(b"\n</testsuites>\n")?;
    w.flush()
}

/// A suite of the report.
enum Suite<'a> {
    /// One case per object the rule judged.
    Rule(&'static Rule),
    /// With --framework: one case per control. Manual and not-applicable controls are skipped
    /// with the reason, so CI shows them without failing.
    Framework(&'a FrameworkResult),
    /// What could not be read is an error of the run, not a finding: CI shows it apart.
    Inputs,
}

/// What a test case is, known before its text is built.
#[derive(Clone, Copy)]
enum Outcome {
    Pass,
    Failure,
    Error,
    Skipped,
}

/// The text of one test case.
struct Case {
    name: String,
    classname: String,
    /// The message of a failure, error or skip (empty for a pass).
    message: String,
    ty: Option<&'static str>,
    description: Option<String>,
}

impl Case {
    fn pass(name: String, classname: String) -> Self {
        Self {
            name,
            classname,
            message: String::new(),
            ty: None,
            description: None,
        }
    }
}

#[derive(Default)]
struct Counts {
    tests: usize,
    skipped: usize,
    failures: usize,
    errors: usize,
}

impl Counts {
    fn add(&mut self, outcome: Outcome) {
        self.tests += 1;
        match outcome {
            Outcome::Pass => {}
            Outcome::Failure => self.failures += 1,
            Outcome::Error => self.errors += 1,
            Outcome::Skipped => self.skipped += 1,
        }
    }
}

/// Called with each case's outcome and what builds its text.
type EachCase<'f> = dyn FnMut(Outcome, &dyn Fn() -> Case) -> io::Result<()> + 'f;

impl Suite<'_> {
    fn name(&self) -> String {
        match self {
            Suite::Rule(rule) => format!("{} {}", rule.meta.code, rule.meta.slug),
            Suite::Framework(fw) => format!(
                "{} {} ({})",
                fw.framework.title(),
                fw.framework.version(),
                crate::compliance::percent_text(fw.score)
            ),
            Suite::Inputs => "kspm inputs".to_owned(),
        }
    }

    /// Calls `each` on the suite's cases, in order.
    fn cases(
        &self,
        result: &ScanResult,
        found: &Found<'_>,
        each: &mut EachCase<'_>,
    ) -> io::Result<()> {
        match self {
            Suite::Rule(rule) => {
                let m = &rule.meta;
                let failures = found.by_rule.get(m.code);
                let classname = || format!("{}.{}", m.category.as_str(), m.slug);
                for (s, object) in result.scanned.iter().zip(&found.objects) {
                    let applies = s.judged_by(rule);
                    let found = failures.and_then(|m| m.get(object));
                    if !applies && found.is_none() {
                        continue;
                    }
                    let name = || format!("{} ({}#{})", s.id, s.source.file, s.source.doc + 1);
                    match found {
                        None => each(Outcome::Pass, &|| Case::pass(name(), classname()))?,
                        Some(fs) => each(Outcome::Failure, &|| Case {
                            name: name(),
                            classname: classname(),
                            message: format!("[{}] {}", fs[0].severity, fs[0].message),
                            ty: Some(m.slug),
                            description: Some(
                                fs.iter()
                                    .map(|f| {
                                        format!(
                                            "{}:{} {} — {}",
                                            f.source.file, f.pos, f.path, f.message
                                        )
                                    })
                                    .collect::<Vec<_>>()
                                    .join("\n"),
                            ),
                        })?,
                    }
                }
            }
            Suite::Framework(fw) => {
                let classname = || format!("compliance.{}", fw.framework.key());
                for c in &fw.controls {
                    let name = || format!("{} {}", c.control.id, c.control.title);
                    match c.status {
                        Status::Pass => each(Outcome::Pass, &|| Case::pass(name(), classname()))?,
                        Status::Fail => each(Outcome::Failure, &|| Case {
                            name: name(),
                            classname: classname(),
                            message: format!("{} finding(s)", c.findings.len()),
                            ty: Some("control-failed"),
                            description: Some(
                                c.findings
                                    .iter()
                                    .map(|&i| {
                                        let f = &result.findings[i];
                                        format!(
                                            "{} {} {} — {}",
                                            f.code, f.resource, f.path, f.message
                                        )
                                    })
                                    .collect::<Vec<_>>()
                                    .join("\n"),
                            ),
                        })?,
                        Status::Manual | Status::NotApplicable => {
                            each(Outcome::Skipped, &|| Case {
                                name: name(),
                                classname: classname(),
                                message: format!(
                                    "{}: {}",
                                    c.status.as_str(),
                                    c.reason.as_deref().unwrap_or("")
                                ),
                                ty: None,
                                description: None,
                            })?;
                        }
                    }
                }
            }
            Suite::Inputs => {
                if let Some(config) = &result.config {
                    // What the configuration did is part of the run's record, and passes.
                    each(Outcome::Pass, &|| {
                        Case::pass(config.summary(), "kspm.config".to_owned())
                    })?;
                }
                for d in &result.diagnostics {
                    let case = |ty| Case {
                        name: d.to_string(),
                        classname: "kspm.inputs".to_owned(),
                        message: d.message.clone(),
                        ty,
                        description: None,
                    };
                    if d.level == kspm_model::DiagnosticLevel::Error {
                        let ty = if result.partial {
                            "partial-scan"
                        } else {
                            "input-error"
                        };
                        each(Outcome::Error, &|| case(Some(ty)))?;
                    } else {
                        // A warning (duplicate key, expired exception) does not fail the run.
                        each(Outcome::Skipped, &|| case(None))?;
                    }
                }
            }
        }
        Ok(())
    }
}

fn write_case(w: &mut impl Write, outcome: Outcome, case: &Case) -> io::Result<()> {
    w.write_all(b"\n        <testcase")?;
    attr(w, "name", &case.name)?;
    attr(w, "classname", &case.classname)?;
    let tag = match outcome {
        Outcome::Pass => return w.write_all(b"/>"),
        Outcome::Failure => "failure",
        Outcome::Error => "error",
        Outcome::Skipped => "skipped",
    };
    write!(w, ">\n            <{tag}")?;
    attr(w, "message", &case.message)?;
    if let Some(ty) = case.ty {
        attr(w, "type", ty)?;
    }
    match &case.description {
        Some(description) => {
            w.write_all(b">")?;
            text(w, description)?;
            write!(w, "</{tag}>")?;
        }
        None => w.write_all(b"/>")?,
    }
    w.write_all(b"\n        </testcase>")
}

/// ` key="value"`.
fn attr(w: &mut impl Write, key: &str, value: &str) -> io::Result<()> {
    write!(w, " {key}=\"")?;
    text(w, value)?;
    w.write_all(b"\"")
}

/// Text or an attribute's value: cleaned of what XML cannot hold, then escaped.
fn text(w: &mut impl Write, value: &str) -> io::Result<()> {
    let clean = clean(value);
    let mut rest = &*clean;
    while let Some(i) = rest.find(['<', '>', '&', '\'', '"']) {
        w.write_all(&rest.as_bytes()[..i])?;
        w.write_all(match rest.as_bytes()[i] {
            b'<' => b"&lt;",
            b'>' => b"&gt;",
            b'&' => b"&amp;",
            b'\'' => b"&apos;",
            _ => b"&quot;",
        })?;
        rest = &rest[i + 1..];
    }
    w.write_all(rest.as_bytes())
}

/// `value` as quick-junit's [`XmlString`] cleans it. That runs a terminal parser over every
/// character (most of the time of a large report); text without ESC, C0 controls other than
/// line feeds and C1 controls (U+0080-U+009F) comes out of it unchanged, and that is nearly
/// all of a report (every failure's description has an em dash).
fn clean(value: &str) -> Cow<'_, str> {
    let bytes = value.as_bytes();
    let plain = bytes.iter().all(|&b| b >= b' ' || b == b'\n')
        // C1 controls are U+0080-U+009F: 0xC2 then 0x80-0x9F in UTF-8.
        && !bytes.windows(2).any(|w| w[0] == 0xC2 && w[1] < 0xA0);
    if plain {
        Cow::Borrowed(value)
    } else {
        Cow::Owned(XmlString::new(value).into_string())
    }
}

#[cfg(test)]
mod tests {
    use kspm_engine::{Input, ScanOptions, scan};
    use kspm_model::{Diagnostic, DiagnosticLevel};
    use quick_junit::{NonSuccessKind, Report, TestCaseStatus, XmlString};

    use crate::ReportOptions;

    /// Markup, quotes, a CDATA end, non-ASCII, ANSI colours and control characters XML cannot
    /// hold.
    const NASTY: &str = "a\"b<c>&d'e ]]> ü 🚀 \x1b[31mred\x1b[0m \x01\x0b\x1f|\r\nnext line";
    /// What a reader gets back: the ANSI sequences and control characters dropped (as
    /// quick-junit's `XmlString` drops them, tabs and carriage returns among them), the rest
    /// exactly.
    const CLEAN: &str = "a\"b<c>&d'e ]]> ü 🚀 red |\nnext line";

    fn nasty_result() -> kspm_engine::ScanResult {
        let manifest = "\
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
spec:
  hostPID: true
  containers:
  - name: web
    image: nginx:1.27
";
        let rules = ["host-pid", "host-network"]
            .map(|slug| kspm_rules::find_rule(slug).expect("a built-in rule"));
        let mut result = scan(&ScanOptions {
            inputs: vec![Input::Text {
                name: format!("dir/{NASTY}.yaml"),
                text: manifest.into(),
            }],
            rules: rules.to_vec(),
            ..ScanOptions::default()
        });
        assert_eq!(result.findings.len(), 1, "{:?}", result.findings);
        result.findings[0].message = NASTY.to_owned();
        for level in [DiagnosticLevel::Error, DiagnosticLevel::Warning] {
            let mut d = Diagnostic::error(format!("{NASTY}.yaml"), NASTY);
            d.level = level;
            result.diagnostics.push(d);
        }
        result
    }

    #[test]
    fn nasty_text_is_cleaned_and_escaped() {
        let xml = crate::Format::Junit.render(&nasty_result(), &ReportOptions::default());
        for raw in ['\x1b', '\x01', '\x0b', '\x1f', '\r', '\t'] {
            assert!(!xml.contains(raw), "{raw:?} in\n{xml}");
        }
        assert!(
            xml.contains("a&quot;b&lt;c&gt;&amp;d&apos;e ]]&gt; ü 🚀 red |"),
            "{xml}"
        );
        assert!(!xml.contains("]]>"), "{xml}");

        // A JUnit reader gets every text back, and the counts agree with the cases.
        let report = Report::deserialize_from_str(&xml).expect("well-formed JUnit");
        let mut tests = 0;
        let mut failures = 0;
        let mut errors = 0;
        let mut skipped = 0;
        let mut messages = Vec::new();
        for suite in &report.test_suites {
            let (mut f, mut e, mut s) = (0, 0, 0);
            for case in &suite.test_cases {
                match &case.status {
                    TestCaseStatus::Success { .. } => {}
                    TestCaseStatus::NonSuccess {
                        kind,
                        message,
                        description,
                        ..
                    } => {
                        match kind {
                            NonSuccessKind::Failure => f += 1,
                            NonSuccessKind::Error => e += 1,
                        }
                        messages.push(message.as_deref().unwrap_or_default().to_owned());
                        if let Some(d) = description {
                            messages.push(d.as_str().to_owned());
                        }
                    }
                    TestCaseStatus::Skipped { message, .. } => {
                        s += 1;
                        messages.push(message.as_deref().unwrap_or_default().to_owned());
                    }
                }
            }
            assert_eq!(suite.tests, suite.test_cases.len(), "{:?}", suite.name);
            assert_eq!((suite.failures, suite.errors, suite.skipped), (f, e, s));
            tests += suite.tests;
            failures += f;
            errors += e;
            skipped += s;
        }
        assert_eq!(
            (report.tests, report.failures, report.errors, report.skipped),
            (tests, failures, errors, skipped)
        );
        assert_eq!((failures, errors, skipped), (1, 1, 1), "{xml}");
        // The failure's message and detail, the error's and the warning's message.
        assert_eq!(messages.len(), 4, "{messages:?}");
        for m in &messages {
            assert!(m.contains(CLEAN), "{m:?} lacks {CLEAN:?}");
        }
        let case = &report.test_suites[0].test_cases[0];
        assert!(
            case.name.contains(&format!("dir/{CLEAN}.yaml#1")),
            "{:?}",
            case.name
        );

        // The bytes are those quick-junit writes for the same report.
        assert_eq!(report.to_string().unwrap(), xml);
    }

    #[test]
    fn the_shortcut_cleans_as_quick_junit_does() {
        for c in (0..=0x7f_u8)
            .map(char::from)
            .chain(['ü', '\u{85}', '\u{9b}', '\u{9f}', '\u{a0}', '—', '🚀'])
        {
            for s in [format!("a{c}b"), format!("{c}"), format!("x\n{c}[31my")] {
                assert_eq!(super::clean(&s), XmlString::new(&s).as_str(), "{s:?}");
            }
        }
        // Every character, in runs of a thousand: whatever the shortcut lets through unchanged,
        // quick-junit leaves unchanged too.
        let all: Vec<char> = (0..=0x10_FFFF_u32).filter_map(char::from_u32).collect();
        let mut shortcut = 0;
        for run in all.chunks(1000) {
            let s: String = run.iter().collect();
            let ours = super::clean(&s);
            assert_eq!(ours, XmlString::new(&s).as_str(), "from {:?}", run[0]);
            if matches!(ours, std::borrow::Cow::Borrowed(_)) {
                shortcut += 1;
            }
        }
        assert!(
            shortcut > 1000,
            "the shortcut is taken for most runs ({shortcut})"
        );
    }

    #[test]
    fn an_empty_scan_is_a_document_without_suites() {
        let result = kspm_engine::ScanResult::default();
        let xml = crate::Format::Junit.render(&result, &ReportOptions::default());
        assert_eq!(
            xml,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <testsuites name=\"kspm\" tests=\"0\" skipped=\"0\" failures=\"0\" errors=\"0\">\n\
             </testsuites>\n"
        );
        let report = Report::deserialize_from_str(&xml).unwrap();
        assert_eq!(report.to_string().unwrap(), xml);
    }
}

//! The fast YAML path against granit-parser: for every input, the fast path either declines or
//! gives exactly granit's documents (values, resolution, every position) with no diagnostic.
//!
//! Inputs: every YAML and JSON file of the repository (examples, test fixtures, rule cases),
//! document by document as scans parse them and as whole streams; a seeded generator of
//! manifests in the shapes the fast path takes (and many it must decline); and mutations,
//! truncations and random bytes, which must never panic. An ignored test compares the shared
//! corpora on this machine (see docs/BENCHMARKS.md).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use kspm_model::yaml::{
    Declined, Limits, ParsedDoc, parse_fast_at, parse_granit_at, split_documents,
};

#[derive(Default)]
struct Tally {
    docs: usize,
    taken: usize,
    declined: BTreeMap<&'static str, usize>,
    /// Bytes of the declined inputs, by reason: what granit-parser still parses.
    declined_bytes: BTreeMap<&'static str, usize>,
    mismatches: Vec<String>,
}

impl Tally {
    fn declined_total(&self) -> usize {
        self.declined.values().sum()
    }
}

fn show(docs: &[ParsedDoc]) -> String {
    let mut out = String::new();
    for d in docs {
        let _ = writeln!(out, "#{} {:?}", d.index, d.root);
    }
    out
}

/// Parses `src` both ways and records the outcome; `label` names it in a mismatch.
fn compare(src: &str, line_offset: u32, doc: usize, label: &str, tally: &mut Tally) {
    tally.docs += 1;
    let limits = Limits::default();
    match parse_fast_at(src, &limits, line_offset, doc) {
        Err(Declined(why)) => {
            *tally.declined_bytes.entry(why).or_default() += src.len();
            let seen = tally.declined.entry(why).or_default();
            *seen += 1;
            // KSPM_YAML_SHOW=<reason> prints the first inputs declined for it.
            if *seen <= 3 && std::env::var("KSPM_YAML_SHOW").is_ok_and(|w| w == why) {
                println!("DECLINED {label}: {why}\n{src}\n");
            }
        }
        Ok(fast) => {
            tally.taken += 1;
            let (slow, errors) = parse_granit_at(src, &limits, line_offset, doc);
            // Debug text compares NaN with NaN as equal, and prints every position.
            let (fast, slow) = (show(&fast), show(&slow));
            if !errors.is_empty() || fast != slow {
                tally.mismatches.push(format!(
                    "{label}\n--- input\n{src:?}\n--- granit errors\n{errors:?}\n--- granit\n{slow}--- fast\n{fast}"
                ));
            }
        }
    }
}

/// Compares a file as the scanner reads it (document by document) and as one stream.
fn compare_file(text: &str, label: &str, tally: &mut Tally) {
    for chunk in split_documents(text) {
        compare(
            chunk.text,
            chunk.line_offset,
            chunk.doc,
            &format!("{label} (document {})", chunk.doc),
            tally,
        );
    }
    compare(text, 0, 0, &format!("{label} (whole stream)"), tally);
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(std::fs::DirEntry::path);
    for e in entries {
        let path = e.path();
        let name = e.file_name();
        let name = name.to_string_lossy();
        let Ok(kind) = e.file_type() else { continue };
        if kind.is_dir() {
            if !matches!(&*name, "target" | ".git" | ".tools" | "node_modules") {
                walk(&path, out);
            }
        } else if kind.is_file()
            && [".yaml", ".yml", ".json"]
                .iter()
                .any(|ext| name.ends_with(ext))
        {
            out.push(path);
        }
    }
}

fn compare_tree(root: &Path, tally: &mut Tally) -> usize {
    let mut files = Vec::new();
    walk(root, &mut files);
    for path in &files {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        compare_file(&text, &path.display().to_string(), tally);
    }
    files.len()
}

fn report(tally: &Tally) -> String {
    let mut out = format!(
        "documents {}, taken by the fast path {}, declined {}, mismatches {}\n",
        tally.docs,
        tally.taken,
        tally.declined_total(),
        tally.mismatches.len()
    );
    let mut reasons: Vec<_> = tally.declined.iter().collect();
    reasons.sort_by(|a, b| b.1.cmp(a.1));
    for (why, n) in reasons {
        let bytes = tally.declined_bytes.get(why).copied().unwrap_or(0);
        let _ = writeln!(out, "  {n:>7}  {why} ({} kB)", bytes / 1024);
    }
    out
}

fn assert_no_mismatch(tally: &Tally) {
    assert!(
        tally.mismatches.is_empty(),
        "{} mismatches; the first:\n{}\n{}",
        tally.mismatches.len(),
        tally.mismatches[0],
        report(tally)
    );
}

#[test]
fn repository_yaml_files_parse_the_same() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut tally = Tally::default();
    let files = compare_tree(&root, &mut tally);
    assert_no_mismatch(&tally);
    println!("{files} files\n{}", report(&tally));
    // The repository's manifests are what the fast path is for: most of them must take it.
    assert!(files > 100, "{files} files");
    assert!(tally.taken * 10 > tally.docs * 8, "{}", report(&tally));
}

/// A small xorshift generator, seeded, so that failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const KEYS: &[&str] = &[
    "apiVersion",
    "kind",
    "name",
    "image",
    "a b",
    "x:y",
    "http://h:80/p",
    "clé",
    "日本",
    "\"quoted key\"",
    "'single key'",
    "\"esc\\tkey\"",
    "yes",
    "on",
    "1",
    "0755",
    "~",
    "null",
    "a#b",
    "k-1",
    "-k",
    "a[0]",
    "a{b}",
    "a,b",
    "x.y/z",
    "''",
    "\"\"",
];

const SCALARS: &[&str] = &[
    "nginx:1.25",
    "true",
    "yes",
    "No",
    "on",
    "OFF",
    "y",
    "~",
    "null",
    "NULL",
    "0755",
    "0o17",
    "0x1F",
    "0b101",
    "-0x10",
    "1_000",
    "12",
    "-3",
    "+4",
    "1.5",
    "-.5",
    "1e3",
    "6.02E+23",
    ".inf",
    "-.Inf",
    ".nan",
    "1.2.3",
    "0.0.0.0/0",
    "a b  c",
    "a#b",
    "a :b",
    "\"x: y\"",
    "'it''s'",
    "\"esc \\\" \\\\ \\n \\t \\u00e9 \\x41 \\U0001F600 \\/ \\0\"",
    "\"\\ud83d\\ude00\"",
    "\"\"",
    "''",
    "'a # not a comment'",
    "\"tab\there\"",
    "日本語",
    "emoji 😀",
    "-",
    "---",
    "...",
    "[1, 2, 3]",
    "[]",
    "{}",
    "[a, \"b\", 'c', [d, e], {f: g}]",
    "{a: 1, \"b\": [x, y], c: {d: e}}",
    "{\"a\":1,\"b\":[true,null]}",
    "[a,b]",
    "x,y",
    "a...b",
    "-1",
    "--",
    "é",
    "trailing   ",
];

/// Scalars and flow collections the fast path declines, or that are errors.
const WILD_SCALARS: &[&str] = &[
    "[a, b, ]",
    "{a}",
    "{a: }",
    "[a: 1]",
    "x: y",
    "*alias",
    "&anchor value",
    "!!str 10",
    "!custom x",
    "? complex",
    "@reserved",
    "`reserved`",
    "%percent",
    "value # comment",
    "value #comment",
    "a\tb",
    "<< ",
    "=",
    "{a: 1}x",
    "value\t# tab comment",
    "[1]]",
    "'unclosed",
    "\"bad \\q escape\"",
    "\"unclosed",
];

const BLOCK_LINES: &[&str] = &[
    "line",
    "second line",
    "",
    "  more indented",
    "\ttab start",
    "# not a comment",
    "x: y",
    "- item",
    "trailing  ",
    "é",
];

struct Gen<'r> {
    rng: &'r mut Rng,
    out: String,
    depth: usize,
    /// Whether to write what the fast path declines (or what is not YAML) too.
    wild: bool,
}

impl Gen<'_> {
    fn indent(&mut self, n: usize) {
        for _ in 0..n {
            self.out.push(' ');
        }
    }

    fn comment(&mut self) {
        if self.rng.chance(8) {
            self.out.push_str(" # note");
        }
    }

    fn own_line_comment(&mut self, n: usize) {
        if self.rng.chance(6) {
            let at = self.rng.below(n + 3);
            self.indent(at);
            self.out.push_str("# own line\n");
        }
        if self.rng.chance(5) {
            let spaces = self.rng.below(3);
            self.indent(spaces);
            self.out.push('\n');
        }
    }

    fn step(&mut self) -> usize {
        1 + self.rng.below(4)
    }

    /// A block scalar header and body for a value in a collection at column `n`.
    fn block_scalar(&mut self, n: usize) {
        let style = if self.wild {
            self.rng
                .pick(&["|", ">", "|2", "|-1", ">+", "|#c", "| \tx"])
        } else {
            self.rng.pick(&["|", ">", "|-", ">-", "|+", ">+", "| # c"])
        };
        self.out.push(' ');
        self.out.push_str(style);
        self.out.push('\n');
        let body = n + self.step();
        let lines = self.rng.below(5);
        for _ in 0..lines {
            let mut line = self.rng.pick(BLOCK_LINES);
            if !self.wild && line.starts_with('\t') {
                line = "line";
            }
            if !line.is_empty() {
                self.indent(body);
            } else if self.rng.chance(30) {
                let spaces = self.rng.below(body + 2);
                self.indent(spaces);
            }
            self.out.push_str(line);
            self.out.push('\n');
        }
        for _ in 0..self.rng.below(3) {
            self.out.push('\n');
        }
    }

    /// The value after `key:` (or `-`) for a collection at column `n`.
    fn value(&mut self, n: usize) {
        let roll = self.rng.below(100);
        if roll < 8 {
            // A plain scalar over several lines, on the key's line or the next.
            if self.rng.chance(25) {
                self.out.push('\n');
                let at = n + self.rng.below(3);
                self.indent(at);
            } else {
                self.out.push(' ');
            }
            self.out
                .push_str(self.rng.pick(&["first words", "yes", "12", "a#b", "é"]));
            for _ in 0..=self.rng.below(3) {
                for _ in 0..self.rng.below(3) {
                    let spaces = self.rng.below(n + 4);
                    self.out.push('\n');
                    self.indent(spaces);
                }
                self.out.push('\n');
                let at = n + self.rng.below(4);
                self.indent(at);
                let part = if self.wild {
                    self.rng.pick(&[
                        "x: y",
                        "- dash",
                        "# comment",
                        "? q",
                        ": c",
                        ":c",
                        "*x",
                        "|",
                        "> f",
                        "%",
                        "@",
                        "`b`",
                        "{a: 1}",
                        "-",
                        "!t",
                        "\"q",
                        "[flow]",
                        "'q'",
                        "&a b",
                        "c\td",
                    ])
                } else {
                    self.rng
                        .pick(&["more words", "trailing  ", "é ü", "1.5", "a # c", "--x"])
                };
                self.out.push_str(part);
            }
            self.out.push('\n');
        } else if roll < 13 {
            // A quoted scalar over several lines.
            let double = self.rng.chance(60);
            let quote = if double { '"' } else { '\'' };
            self.out.push(' ');
            self.out.push(quote);
            self.out
                .push_str(self.rng.pick(&["first", "it''s", "x  ", ""]));
            for _ in 0..=self.rng.below(3) {
                if double && self.rng.chance(25) {
                    self.out.push('\\');
                }
                for _ in 0..self.rng.below(3) {
                    let spaces = self.rng.below(n + 4);
                    self.out.push('\n');
                    self.indent(spaces);
                }
                self.out.push('\n');
                let at = n + self.rng.below(4);
                self.indent(at);
                let part = match (double, self.wild) {
                    (true, false) => {
                        self.rng
                            .pick(&["more", "\\u00e9 \\n", "a: b", "# not", "trail  ", "  x"])
                    }
                    (false, false) => self.rng.pick(&["more", "it''s", "a: b", "# not", "  x"]),
                    (_, true) => self.rng.pick(&["\tx", "---", "...", "\"", "'", "\\q"]),
                };
                self.out.push_str(part);
            }
            self.out.push(quote);
            self.comment();
            self.out.push('\n');
        } else if self.depth > 6 || roll < 40 {
            self.out.push(' ');
            let s = if self.wild && self.rng.chance(30) {
                self.rng.pick(WILD_SCALARS)
            } else {
                self.rng.pick(SCALARS)
            };
            self.out.push_str(s);
            self.comment();
            self.out.push('\n');
        } else if roll < 48 {
            self.block_scalar(n);
        } else if roll < 53 {
            // `key:` with nothing.
            if self.rng.chance(50) {
                self.out.push_str("   ");
            }
            self.comment();
            self.out.push('\n');
        } else if roll < 62 && !self.wild {
            self.out.push(' ');
            let s = self.rng.pick(SCALARS);
            self.out.push_str(s);
            self.out.push('\n');
        } else if roll < 56 {
            // A multi-line flow collection or a scalar on the next line.
            let inner = n + self.step();
            self.out.push_str(self.rng.pick(&[
                "\n  \"own line\"  # c\n",
                "\n  'own\n  line'\n",
                " [a,\n",
                " {\"a\": 1,\n",
                "\n",
                "\n  [x,\n",
                "\n   {\n",
            ]));
            self.indent(inner);
            self.out.push_str(self.rng.pick(&[
                "b]",
                "\"b\": [2,\n3]}",
                "scalar",
                "\"q\"",
                "b, ]",
                "c: d,}",
            ]));
            self.out.push('\n');
        } else if roll < 62 {
            // A multi-line plain or quoted scalar: declined, but must not mislead.
            let inner = n + self.step();
            self.out
                .push_str(self.rng.pick(&[" first", " \"first", " 'first"]));
            self.out.push('\n');
            self.indent(inner);
            self.out
                .push_str(self.rng.pick(&["second", "second\"", "second'", "- x"]));
            self.out.push('\n');
        } else {
            self.comment();
            self.out.push('\n');
            self.own_line_comment(n);
            let inner = if self.rng.chance(20) {
                n
            } else {
                n + self.step()
            };
            self.depth += 1;
            if self.rng.chance(50) {
                self.seq(inner);
            } else if inner > n {
                self.map(inner);
            } else {
                self.seq(inner);
            }
            self.depth -= 1;
        }
    }

    fn map(&mut self, n: usize) {
        let count = 1 + self.rng.below(4);
        for i in 0..count {
            if i > 0 {
                self.own_line_comment(n);
                self.indent(n);
            }
            self.key();
            self.value(n);
        }
    }

    fn key(&mut self) {
        let key = self.rng.pick(KEYS);
        self.out.push_str(key);
        if self.rng.chance(3) {
            self.out.push(' ');
        }
        self.out.push(':');
    }

    fn seq(&mut self, n: usize) {
        let count = 1 + self.rng.below(3);
        for i in 0..count {
            if i > 0 {
                self.own_line_comment(n);
            }
            self.indent(n);
            self.out.push('-');
            let roll = self.rng.below(100);
            if roll < 35 && self.depth < 6 {
                // The compact form: `- key: value` and more keys below it.
                let gap = 1 + self.rng.below(3);
                self.indent(gap);
                let col = n + 1 + gap;
                self.depth += 1;
                self.key();
                self.value(col);
                for _ in 0..self.rng.below(3) {
                    self.own_line_comment(col);
                    self.indent(col);
                    self.key();
                    self.value(col);
                }
                self.depth -= 1;
            } else if roll < 42 && self.depth < 6 {
                // `- - a`
                self.out.push(' ');
                self.depth += 1;
                let inner_col = n + 2;
                self.out.push('-');
                self.value(inner_col);
                self.depth -= 1;
            } else {
                self.value(n);
            }
        }
    }

    fn document(&mut self) {
        if self.rng.chance(20) {
            self.out.push_str("# leading comment\n");
        }
        if self.rng.chance(30) {
            self.out
                .push_str(self.rng.pick(&["---\n", "--- # c\n", "---   \n"]));
        }
        let base = if self.rng.chance(10) {
            self.rng.below(3)
        } else {
            0
        };
        self.indent(base);
        if self.rng.chance(15) {
            self.seq(base);
        } else {
            self.map(base);
        }
        if self.rng.chance(10) {
            self.out.push_str("...\n");
        }
    }
}

fn generate(rng: &mut Rng) -> String {
    let wild = rng.chance(50);
    let mut g = Gen {
        rng,
        out: String::new(),
        depth: 0,
        wild,
    };
    let docs = 1 + g.rng.below(3);
    for i in 0..docs {
        if i > 0 && !g.out.ends_with("...\n") {
            g.out.push_str("---\n");
        } else if i > 0 {
            g.out.push_str("--- \n");
        }
        g.document();
    }
    if g.rng.chance(15) {
        g.out = g.out.replace('\n', "\r\n");
    }
    if g.rng.chance(5) {
        g.out.pop();
    }
    g.out
}

const JSON_VALUES: &[&str] = &[
    "1",
    "-2.5e3",
    "true",
    "false",
    "null",
    "\"s\"",
    "\"é \\u00e9 \\n\"",
    "[]",
    "{}",
    "\"a: b\"",
    "\"\"",
];

fn json(rng: &mut Rng, depth: usize, pretty: bool, indent: usize, out: &mut String) {
    let nl = |out: &mut String, n: usize| {
        if pretty {
            out.push('\n');
            for _ in 0..n {
                out.push(' ');
            }
        }
    };
    match rng.below(if depth > 4 { 1 } else { 3 }) {
        0 => out.push_str(rng.pick(JSON_VALUES)),
        1 => {
            out.push('[');
            let n = rng.below(3);
            for i in 0..n {
                if i > 0 {
                    out.push(',');
                }
                nl(out, indent + 2);
                json(rng, depth + 1, pretty, indent + 2, out);
            }
            if n > 0 {
                nl(out, indent);
            }
            out.push(']');
        }
        _ => {
            out.push('{');
            let n = rng.below(4);
            for i in 0..n {
                if i > 0 {
                    out.push(',');
                }
                nl(out, indent + 2);
                let _ = write!(out, "\"k{}\":", rng.below(4) + 4 * i);
                if pretty {
                    out.push(' ');
                }
                json(rng, depth + 1, pretty, indent + 2, out);
            }
            if n > 0 {
                nl(out, indent);
            }
            out.push('}');
        }
    }
}

/// Changes a few bytes of a document: the fast path must still decline or agree.
fn mutate(rng: &mut Rng, text: &str) -> String {
    const ALPHABET: &[u8] = b" -:#\n\"'|>[]{},!&*?\t\ra1\\.";
    let mut bytes = text.as_bytes().to_vec();
    for _ in 0..=rng.below(3) {
        if bytes.is_empty() {
            break;
        }
        let at = rng.below(bytes.len());
        let b = ALPHABET[rng.below(ALPHABET.len())];
        match rng.below(3) {
            0 => bytes[at] = b,
            1 => bytes.insert(at, b),
            _ => {
                bytes.remove(at);
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[test]
fn generated_manifests_parse_the_same() {
    // KSPM_YAML_SEED and KSPM_YAML_CASES run other and longer series by hand.
    let seed = std::env::var("KSPM_YAML_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_1234_abcd_0001);
    let cases = std::env::var("KSPM_YAML_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000);
    let mut rng = Rng(seed);
    let mut tally = Tally::default();
    let mut mutated = Tally::default();
    for case in 0..cases {
        let text = generate(&mut rng);
        compare_file(&text, &format!("generated case {case}"), &mut tally);
        let changed = mutate(&mut rng, &text);
        compare_file(&changed, &format!("mutated case {case}"), &mut mutated);
        let cut = rng.below(text.len() + 1);
        if text.is_char_boundary(cut) {
            compare(
                &text[..cut],
                0,
                0,
                &format!("truncated case {case}"),
                &mut mutated,
            );
        }
    }
    for case in 0..1000 {
        let mut text = String::new();
        json(&mut rng, 0, case % 2 == 0, 0, &mut text);
        text.push('\n');
        compare_file(&text, &format!("JSON case {case}"), &mut tally);
        let changed = mutate(&mut rng, &text);
        compare_file(&changed, &format!("mutated JSON case {case}"), &mut mutated);
    }
    assert_no_mismatch(&tally);
    assert_no_mismatch(&mutated);
    println!("generated\n{}mutated\n{}", report(&tally), report(&mutated));
    // The generator must exercise the fast path, not only its refusals.
    assert!(tally.taken * 4 > tally.docs, "{}", report(&tally));
    assert!(mutated.taken * 10 > mutated.docs, "{}", report(&mutated));
}

#[test]
fn random_bytes_never_panic_and_never_disagree() {
    const ALPHABET: &[u8] = b" -:#\n\"'|>[]{},!&*?\t\ra1b\\.%@`~";
    let mut rng = Rng(0xb17e_5eed_0000_0042);
    let mut tally = Tally::default();
    for case in 0..20_000 {
        let len = rng.below(40);
        let bytes: Vec<u8> = (0..len)
            .map(|_| ALPHABET[rng.below(ALPHABET.len())])
            .collect();
        let text = String::from_utf8_lossy(&bytes);
        compare(&text, 0, 0, &format!("random case {case}"), &mut tally);
    }
    assert_no_mismatch(&tally);
}

/// By hand, over the shared corpora of this machine (not in the repository, so not in CI):
///
/// ```sh
/// cargo test -p kspm_model --release --test yaml_fast -- --ignored --nocapture
/// ```
///
/// `KSPM_YAML_CORPORA` (directories separated by `:`) overrides the default
/// `../shared/corpora:../shared/realworld`, relative to the repository.
#[test]
#[ignore = "reads the shared corpora outside the repository"]
fn shared_corpora_parse_the_same() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dirs = std::env::var("KSPM_YAML_CORPORA").unwrap_or_else(|_| {
        let shared = root.join("../shared");
        format!(
            "{}:{}",
            shared.join("corpora").display(),
            shared.join("realworld").display()
        )
    });
    let mut tally = Tally::default();
    for dir in dirs.split(':') {
        let files = compare_tree(Path::new(dir), &mut tally);
        println!("{dir}: {files} files");
    }
    for m in tally.mismatches.iter().take(5) {
        println!("MISMATCH {m}");
    }
    println!("{}", report(&tally));
    assert_no_mismatch(&tally);
}

/// Shapes the fast path is for: each must be taken (not declined) and equal granit's tree.
#[test]
fn manifest_shapes_are_taken_and_equal() {
    let cases = [
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: {app: web, tier: \"1\"}\nspec:\n  containers:\n  - name: c\n    image: nginx:1.25\n    args: [\"--a\", '--b', -c]\n    securityContext:\n      privileged: yes\n      runAsUser: 0755\n",
        "spec:\n  containers:\n    - name: a\n      ports:\n        - containerPort: 80\n          protocol: TCP\n",
        "a:\n- x\n-\n  b: 1\n- - y\n  - z\n-   # empty\nc: ~\n",
        "k: |\n  line\n\n    more\n  last\nf: >-\n  one\n  two\n\n  three\n   indented\n  four\nkeep: |+\n  x\n\n\nstrip: >+\n  y\nempty: |\nnext: 1\n",
        "description: This is a long description that\n  continues on the next line\n\n  and a paragraph.\nd2:\n  starts on its own line\n  and goes on\nitems:\n- one line\n  two line\n",
        "# comment first\n---\na: 1 # trailing\n# between\nb: 'it''s' # c\n...\n---\n- 1\n- \"\\u00e9\\t\\\"x\\\"\"\n",
        "a: 1\r\nb:\r\n  - x\r\n  - \"y\"\r\nc: |\r\n  l1\r\n  l2\r\n",
        "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"ConfigMap\",\n  \"data\": {\"a\": \"1\", \"b\": [1, 2.5, true, null, {}, []]}\n}\n",
        "{\"kind\":\"Pod\",\"spec\":{\"hostPID\":true,\"x\":[1,\"2\"]}}",
        "{\n\t\"kind\": \"Pod\",\n\t\"spec\": {\"hostPID\": true}\n}\n",
        "  indented: root\n  b:\n    c: d\n",
        "description:\n  \"quoted on its own\n  line\"\nd: plain that\n  `continues` with\n  - indicators * & ! [x] {y}\n",
        "command:\n  [\n    \"kube-bench\",\n    \"run\",\n  ]\nm:\n  {a: 1, b: [x, y,],}\n",
        "a: \"long\n  folded  \n\n  text \\\n  joined\\\n\n  end\"\nb: 'it''s\n\n   more'\nc: [\"x\n  y\", 'z']\n",
        "key with spaces: v\n\"quoted: key\": v\n'single': v\nhttp://x:80: v\nclé: 日本\nyes: no\n",
        "a: 1\n---\n---\nb: 2\n...\n",
        "a:\n  b:\n    c:\n      - d: [x, {y: z}]\n        e: >\n          folded\n          text\n",
    ];
    let limits = Limits::default();
    for (i, src) in cases.iter().enumerate() {
        let fast = parse_fast_at(src, &limits, 3, 2)
            .unwrap_or_else(|why| panic!("case {i} declined: {why:?}\n{src}"));
        let (slow, errors) = parse_granit_at(src, &limits, 3, 2);
        assert!(errors.is_empty(), "case {i}: {errors:?}");
        assert!(!fast.is_empty(), "case {i}");
        assert_eq!(show(&fast), show(&slow), "case {i}\n{src}");
    }
}

/// Deep nesting within a raised `max_depth` is left to granit-parser (which does not recurse),
/// so the fast path's recursion stays shallow; both paths agree on the limit's errors.
#[test]
fn deep_nesting_is_left_to_granit() {
    let limits = Limits {
        max_depth: 1000,
        ..Limits::default()
    };
    let mut block = String::new();
    for i in 0..900 {
        block.push_str(&" ".repeat(i));
        block.push_str("k:\n");
    }
    let flow = format!("a: {}1{}\n", "[".repeat(900), "]".repeat(900));
    for src in [&block, &flow] {
        assert!(parse_fast_at(src, &limits, 0, 0).is_err());
        let (docs, errors) = kspm_model::yaml::parse_stream(src, &limits);
        assert_eq!((docs.len(), errors.len()), (1, 0), "{errors:?}");
    }
    let shallow = format!("a: {}1{}\n", "[".repeat(50), "]".repeat(50));
    assert!(parse_fast_at(&shallow, &limits, 0, 0).is_ok());
    let mut tally = Tally::default();
    for depth in [97, 98, 99, 100, 101, 102] {
        let src = format!("a: {}1{}\n", "[".repeat(depth), "]".repeat(depth));
        compare(&src, 0, 0, &format!("depth {depth}"), &mut tally);
    }
    assert_no_mismatch(&tally);
}

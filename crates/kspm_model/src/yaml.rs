//! Parses YAML (and JSON, a subset of it) into located [`Node`] trees.
//!
//! Built on granit-parser's event stream rather than a serde deserializer because kspm needs the
//! position of every key and value, must survive hostile input (alias bombs, deep nesting,
//! duplicate keys) with a diagnostic instead of a crash, and must keep going after a broken
//! document in a multi-document stream.
//!
//! In front of it sits a fast path (`yaml/fast.rs`): a one-pass parser for the YAML manifests
//! are written in, four times faster, which builds the same trees and declines everything else
//! (anchors, tags, errors, duplicate keys...) to granit-parser, so diagnostics and limits have
//! one source. `tests/yaml_fast.rs` holds the two to the same trees.

use std::collections::HashMap;

use granit_parser::{Event, Options, Parser, ScalarStyle, Span};

use crate::node::{Entry, Node, Pos, Value};

mod fast;

pub use fast::Declined;

/// Safety limits for untrusted input: parsing, rendering, and how much one input may make the
/// scan do. The defaults are far above what real manifests need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest file read, in bytes.
    pub max_file_bytes: u64,
    /// Deepest nesting of mappings and sequences (at most [`Limits::MAX_DEPTH`]).
    pub max_depth: usize,
    /// Most nodes that anchors (`&name`) and aliases (`*name`) may copy in one document; stops
    /// "billion laughs". A string costs one node more per 64 bytes, so that aliasing one long
    /// string many times is bounded too.
    pub max_alias_nodes: usize,
    /// Largest output of `helm template` or `kustomize build`, in bytes.
    pub max_render_bytes: u64,
    /// Longest a renderer may run, in milliseconds.
    pub render_timeout_ms: u64,
    /// Most containers (init, regular and ephemeral together) judged in one pod template.
    pub max_containers: usize,
    /// Most findings kept for one resource.
    pub max_findings_per_resource: usize,
    /// Most findings kept for the whole scan.
    pub max_findings: usize,
    /// Not a size: whether Kustomize may fetch remote resources and bases (`--allow-remote`).
    pub allow_remote: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_file_bytes: 64 * 1024 * 1024,
            max_depth: 100,
            max_alias_nodes: 100_000,
            max_render_bytes: 256 * 1024 * 1024,
            render_timeout_ms: 120_000,
            max_containers: 1_000,
            max_findings_per_resource: 1_000,
            max_findings: 1_000_000,
            allow_remote: false,
        }
    }
}

impl Limits {
    /// The deepest nesting any configuration may ask for: deeper trees would risk the stack of
    /// the code that walks them (policies convert and evaluate trees recursively).
    pub const MAX_DEPTH: usize = 1_000;

    /// Lowers every limit above `max` to it; returns `(key, asked, kept)` for each one lowered.
    pub fn clamp_to(&mut self, max: &Limits) -> Vec<(&'static str, u64, u64)> {
        let mut lowered = Vec::new();
        let mut clamp = |key: &'static str, value: &mut u64, max: u64| {
            if *value > max {
                lowered.push((key, *value, max));
                *value = max;
            }
        };
        let as_u64 = |v: usize| v as u64;
        let mut depth = as_u64(self.max_depth);
        let mut alias = as_u64(self.max_alias_nodes);
        let mut containers = as_u64(self.max_containers);
        let mut per_resource = as_u64(self.max_findings_per_resource);
        let mut findings = as_u64(self.max_findings);
        clamp(
            "max_file_bytes",
            &mut self.max_file_bytes,
            max.max_file_bytes,
        );
        clamp("max_depth", &mut depth, as_u64(max.max_depth));
        clamp("max_alias_nodes", &mut alias, as_u64(max.max_alias_nodes));
        clamp(
            "max_render_bytes",
            &mut self.max_render_bytes,
            max.max_render_bytes,
        );
        clamp(
            "render_timeout_ms",
            &mut self.render_timeout_ms,
            max.render_timeout_ms,
        );
        clamp(
            "max_containers",
            &mut containers,
            as_u64(max.max_containers),
        );
        clamp(
            "max_findings_per_resource",
            &mut per_resource,
            as_u64(max.max_findings_per_resource),
        );
        clamp("max_findings", &mut findings, as_u64(max.max_findings));
        self.max_depth = depth as usize;
        self.max_alias_nodes = alias as usize;
        self.max_containers = containers as usize;
        self.max_findings_per_resource = per_resource as usize;
        self.max_findings = findings as usize;
        lowered
    }
}

/// One document of a stream that parsed.
#[derive(Debug)]
pub struct ParsedDoc {
    /// 0-based position of the document in its stream.
    pub index: usize,
    pub root: Node,
}

/// A problem found while parsing; the document it names is dropped, the others are kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub doc_index: usize,
    pub pos: Pos,
    pub message: String,
    /// A warning (such as a duplicate key) keeps the document; an error drops it.
    pub fatal: bool,
}

enum Frame {
    Seq {
        items: Vec<Node>,
        pos: Pos,
        anchor: usize,
    },
    Map {
        entries: MapEntries,
        pos: Pos,
        anchor: usize,
        key: Option<(Box<str>, Pos)>,
    },
}

/// The entries of a mapping being built. Past a few keys a hash index finds an existing key, so
/// that duplicate and merge-key checks stay linear on a mapping with very many keys.
#[derive(Default)]
struct MapEntries {
    entries: Vec<Entry>,
    index: Option<HashMap<Box<str>, usize>>,
}

impl MapEntries {
    /// Mappings up to this size are searched linearly; Kubernetes objects rarely have more keys.
    const LINEAR: usize = 16;

    fn position(&self, key: &str) -> Option<usize> {
        match &self.index {
            Some(index) => index.get(key).copied(),
            None => self.entries.iter().position(|e| &*e.key == key),
        }
    }

    fn push(&mut self, entry: Entry) {
        if self.index.is_none() && self.entries.len() >= Self::LINEAR {
            let index = self
                .entries
                .iter()
                .enumerate()
                .map(|(i, e)| (e.key.clone(), i))
                .collect();
            self.index = Some(index);
        }
        if let Some(index) = &mut self.index {
            index.insert(entry.key.clone(), self.entries.len());
        }
        self.entries.push(entry);
    }
}

struct Builder<'l> {
    limits: &'l Limits,
    /// Lines before the parsed text in its file (when a file is parsed document by document).
    line_offset: u32,
    stack: Vec<Frame>,
    /// Anchored nodes by anchor id, with what copying one costs and how deep it nests.
    anchors: HashMap<usize, Anchored>,
    alias_budget: usize,
    root: Option<Node>,
    warnings: Vec<(Pos, String)>,
}

fn pos_of(span: &Span, line_offset: u32) -> Pos {
    Pos::new(
        span.start.line() as u32 + line_offset,
        span.start.col() as u32 + 1,
    )
}

struct Anchored {
    node: Node,
    cost: usize,
    depth: usize,
}

/// Bytes of text that weigh as much as one node in the alias budget.
const BYTES_PER_NODE: usize = 64;

/// What copying a node costs against `max_alias_nodes` (nodes, plus one per 64 bytes of
/// strings and keys), and how many levels of collections it nests.
fn measure(node: &Node) -> (usize, usize) {
    match &node.value {
        Value::Str(s) => (1 + s.len() / BYTES_PER_NODE, 0),
        Value::Seq(items) => items.iter().fold((1, 1), |(cost, depth), item| {
            let (c, d) = measure(item);
            (cost.saturating_add(c), depth.max(d + 1))
        }),
        Value::Map(entries) => entries.iter().fold((1, 1), |(cost, depth), e| {
            let (c, d) = measure(&e.value);
            let key = e.key.len() / BYTES_PER_NODE;
            (cost.saturating_add(c).saturating_add(key), depth.max(d + 1))
        }),
        _ => (1, 0),
    }
}

impl<'l> Builder<'l> {
    fn new(limits: &'l Limits, line_offset: u32) -> Self {
        Self {
            limits,
            line_offset,
            stack: Vec::new(),
            anchors: HashMap::new(),
            alias_budget: limits.max_alias_nodes,
            root: None,
            warnings: Vec::new(),
        }
    }

    fn reset(&mut self) {
        self.stack.clear();
        self.anchors.clear();
        self.alias_budget = self.limits.max_alias_nodes;
        self.root = None;
        self.warnings.clear();
    }

    fn open(&mut self, frame: Frame, pos: Pos) -> Result<(), (Pos, String)> {
        if self.stack.len() >= self.limits.max_depth {
            return Err((
                pos,
                format!(
                    "nesting deeper than {} levels (raise limits.max_depth to accept it)",
                    self.limits.max_depth
                ),
            ));
        }
        self.stack.push(frame);
        Ok(())
    }

    /// Keeps a copy of an anchored node for the aliases to it. The copy is charged to the alias
    /// budget: anchors nested 100 deep would otherwise copy a large subtree 100 times.
    fn remember(&mut self, anchor: usize, node: &Node, pos: Pos) -> Result<(), (Pos, String)> {
        if anchor == 0 {
            return Ok(());
        }
        let (cost, depth) = measure(node);
        self.charge(cost, pos)?;
        self.anchors.insert(
            anchor,
            Anchored {
                node: node.clone(),
                cost,
                depth,
            },
        );
        Ok(())
    }

    fn charge(&mut self, cost: usize, pos: Pos) -> Result<(), (Pos, String)> {
        if cost > self.alias_budget {
            return Err((
                pos,
                format!(
                    "anchors and aliases copy more than {} nodes (an alias bomb?); raise limits.max_alias_nodes to accept it",
                    self.limits.max_alias_nodes
                ),
            ));
        }
        self.alias_budget -= cost;
        Ok(())
    }

    /// Places a finished node: a document root, a sequence item, or a mapping value.
    fn place(&mut self, node: Node, key_text: Option<(&str, ScalarStyle)>) {
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries,
                key,
                pos: map_pos,
                ..
            }) => match key.take() {
                None => {
                    // This node is a key. Keys are kept as written (Kubernetes' decoder turns
                    // them into JSON object keys, i.e. strings).
                    let text: Box<str> = match (key_text, &node.value) {
                        (Some((raw, _)), _) => raw.into(),
                        (None, _) => node.evidence().into(),
                    };
                    *key = Some((text, node.pos));
                }
                Some((k, key_pos)) => {
                    if &*k == "<<" && matches!(node.value, Value::Map(_) | Value::Seq(_)) {
                        merge_into(entries, node);
                        return;
                    }
                    if let Some(i) = entries.position(&k) {
                        let existing = &mut entries.entries[i];
                        // An entry that came in through a merge key sits before the mapping
                        // itself; overriding it is the point of merging, not a duplicate.
                        let merged = existing.key_pos < *map_pos;
                        if !merged {
                            self.warnings.push((
                            key_pos,
                            format!(
                                "duplicate key `{k}` (first at line {}); the last value is used, as the API server would",
                                existing.key_pos.line
                            ),
                            ));
                        }
                        existing.value = node;
                        existing.key_pos = key_pos;
                    } else {
                        entries.push(Entry {
                            key: k,
                            key_pos,
                            value: node,
                        });
                    }
                }
            },
        }
    }

    fn event(&mut self, event: Event<'_>, span: &Span) -> Result<(), (Pos, String)> {
        let pos = pos_of(span, self.line_offset);
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                let is_key = matches!(self.stack.last(), Some(Frame::Map { key: None, .. }));
                let tag_suffix = tag
                    .as_ref()
                    .and_then(|t| t.core_suffix().map(str::to_owned));
                let value = resolve_scalar(&text, style, tag_suffix.as_deref());
                let node = Node::new(value, pos);
                self.remember(anchor, &node, pos)?;
                if is_key {
                    self.place(node, Some((&text, style)));
                } else {
                    self.place(node, None);
                }
            }
            Event::SequenceStart(_, anchor, _) => self.open(
                Frame::Seq {
                    items: Vec::new(),
                    pos,
                    anchor,
                },
                pos,
            )?,
            Event::MappingStart(_, anchor, _) => self.open(
                Frame::Map {
                    entries: MapEntries::default(),
                    pos,
                    anchor,
                    key: None,
                },
                pos,
            )?,
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor) = match self.stack.pop() {
                    Some(Frame::Seq { items, pos, anchor }) => {
                        (Node::new(Value::Seq(items), pos), anchor)
                    }
                    Some(Frame::Map {
                        entries,
                        pos,
                        anchor,
                        ..
                    }) => (Node::new(Value::Map(entries.entries), pos), anchor),
                    None => return Err((pos, "unbalanced collection end".into())),
                };
                self.remember(anchor, &node, node.pos)?;
                self.place(node, None);
            }
            Event::Alias(id) => {
                let Some(anchored) = self.anchors.get(&id) else {
                    return Err((pos, "alias to an unknown anchor".into()));
                };
                let (cost, depth) = (anchored.cost, anchored.depth);
                // The copy nests as deep as its anchor did; without this check, anchors that
                // wrap aliases of each other build trees far deeper than max_depth.
                if self.stack.len() + depth > self.limits.max_depth {
                    return Err((
                        pos,
                        format!(
                            "alias nests deeper than {} levels (raise limits.max_depth to accept it)",
                            self.limits.max_depth
                        ),
                    ));
                }
                self.charge(cost, pos)?;
                let mut copy = self.anchors[&id].node.clone();
                copy.pos = pos;
                self.place(copy, None);
            }
            Event::UnresolvedAlias(name) => {
                return Err((pos, format!("alias `*{name}` has no anchor")));
            }
            _ => {}
        }
        Ok(())
    }
}

/// `<<: *base` merge keys: entries of the merged mapping(s) that the mapping does not set itself.
fn merge_into(entries: &mut MapEntries, node: Node) {
    let sources = match node.value {
        Value::Map(m) => vec![m],
        Value::Seq(items) => items
            .into_iter()
            .filter_map(|n| match n.value {
                Value::Map(m) => Some(m),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    for source in sources {
        for entry in source {
            if entries.position(&entry.key).is_none() {
                entries.push(entry);
            }
        }
    }
}

/// Resolves a scalar like sigs.k8s.io/yaml (go-yaml v2, YAML 1.1 booleans and octals) does, so a
/// rule sees `privileged: yes` as the `true` the API server would store.
fn resolve_scalar(text: &str, style: ScalarStyle, tag: Option<&str>) -> Value {
    match tag {
        Some("str") => return Value::Str(text.into()),
        Some("null") => return Value::Null,
        Some("bool") => {
            if let Some(b) = parse_bool(text) {
                return Value::Bool(b);
            }
        }
        Some("int") => {
            if let Some(i) = parse_int(text) {
                return Value::Int(i);
            }
        }
        Some("float") => {
            if let Some(f) = parse_float(text) {
                return Value::Float(f);
            }
        }
        _ => {}
    }
    if style != ScalarStyle::Plain {
        return Value::Str(text.into());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        _ => {}
    }
    if let Some(b) = parse_bool(text) {
        return Value::Bool(b);
    }
    if let Some(i) = parse_int(text) {
        return Value::Int(i);
    }
    if let Some(f) = parse_float(text) {
        return Value::Float(f);
    }
    Value::Str(text.into())
}

fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            Some(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            Some(false)
        }
        _ => None,
    }
}

fn parse_int(text: &str) -> Option<i64> {
    let (neg, body) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if body.is_empty() || !body.as_bytes()[0].is_ascii_digit() {
        return None;
    }
    let body = body.replace('_', "");
    let (digits, radix) = if let Some(hex) = body.strip_prefix("0x") {
        (hex, 16)
    } else if let Some(oct) = body.strip_prefix("0o") {
        (oct, 8)
    } else if let Some(bin) = body.strip_prefix("0b") {
        (bin, 2)
    } else if body.len() > 1 && body.starts_with('0') {
        (&body[1..], 8)
    } else {
        (body.as_str(), 10)
    };
    // `from_str_radix` takes a sign of its own, so `0x-1` would be -1 and `-0x-8000000000000000`
    // would overflow on negation; go-yaml reads both as strings.
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    if neg {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

fn parse_float(text: &str) -> Option<f64> {
    match text {
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Some(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Some(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Some(f64::NAN),
        _ => {}
    }
    let first = *text.as_bytes().first()?;
    if !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.')) {
        return None;
    }
    if !text
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E' | b'_'))
    {
        return None;
    }
    if !text.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    text.replace('_', "").parse().ok()
}

/// Parses a stream of YAML documents. Documents that fail are reported and skipped; the rest
/// are returned. Empty documents (only comments, or a bare `---`) are dropped silently.
pub fn parse_stream(src: &str, limits: &Limits) -> (Vec<ParsedDoc>, Vec<ParseError>) {
    parse_stream_at(src, limits, 0, 0)
}

/// [`parse_stream`] for a piece of a file that starts after `line_offset` lines and
/// `doc_offset` documents: positions and document indexes are those of the whole file.
///
/// Two parsers, one result: the fast path ([`parse_fast_at`]) takes the YAML manifests are
/// written in and builds the tree in one pass; anything else, and every input with a problem
/// to report, goes to granit-parser ([`parse_granit_at`]), which decides the diagnostics.
pub fn parse_stream_at(
    src: &str,
    limits: &Limits,
    line_offset: u32,
    doc_offset: usize,
) -> (Vec<ParsedDoc>, Vec<ParseError>) {
    match parse_fast_at(src, limits, line_offset, doc_offset) {
        Ok(docs) => (docs, Vec::new()),
        Err(_) => parse_granit_at(src, limits, line_offset, doc_offset),
    }
}

/// The fast path alone: the same documents as [`parse_granit_at`] gives without any error or
/// warning, or why it left `src` to granit-parser. Public for the differential tests and the
/// corpus comparison; scans use [`parse_stream_at`].
///
/// # Errors
/// [`Declined`] when `src` holds YAML the fast path does not take.
pub fn parse_fast_at(
    src: &str,
    limits: &Limits,
    line_offset: u32,
    doc_offset: usize,
) -> Result<Vec<ParsedDoc>, Declined> {
    fast::parse(src, limits, line_offset, doc_offset)
}

/// The granit-parser path alone, which accepts all of YAML and reports every problem.
pub fn parse_granit_at(
    src: &str,
    limits: &Limits,
    line_offset: u32,
    doc_offset: usize,
) -> (Vec<ParsedDoc>, Vec<ParseError>) {
    let mut options = Options::default();
    let depth = limits.max_depth.min(usize::from(u16::MAX));
    options.block_nesting_limit = depth + 1;
    options.flow_nesting_limit = depth + 1;
    let mut parser = Parser::new_from_str_with_options(src, options);
    let mut docs = Vec::new();
    let mut errors = Vec::new();
    let mut builder = Builder::new(limits, line_offset);
    let mut doc_index = doc_offset;
    let mut in_doc = false;

    while let Some(next) = parser.next_event() {
        let failure = match next {
            Ok((Event::StreamEnd, _)) => break,
            Ok((Event::DocumentStart(..), _)) => {
                builder.reset();
                in_doc = true;
                None
            }
            Ok((Event::DocumentEnd, _)) => {
                for (pos, message) in builder.warnings.drain(..) {
                    errors.push(ParseError {
                        doc_index,
                        pos,
                        message,
                        fatal: false,
                    });
                }
                if let Some(root) = builder.root.take()
                    && !root.is_null()
                {
                    docs.push(ParsedDoc {
                        index: doc_index,
                        root,
                    });
                }
                doc_index += 1;
                in_doc = false;
                None
            }
            Ok((event, span)) => builder.event(event, &span).err(),
            Err(e) => {
                let m = e.marker();
                Some((
                    Pos::new(m.line() as u32 + line_offset, m.col() as u32 + 1),
                    e.info(),
                ))
            }
        };
        if let Some((pos, message)) = failure {
            errors.push(ParseError {
                doc_index,
                pos,
                message,
                fatal: true,
            });
            builder.reset();
            if in_doc {
                doc_index += 1;
                in_doc = false;
            }
            match parser.proceed_next_document() {
                Ok(true) => {}
                Ok(false) | Err(_) => break,
            }
        }
    }
    (docs, errors)
}

/// One document's text in a multi-document file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chunk<'a> {
    pub text: &'a str,
    /// Lines of the file before this chunk.
    pub line_offset: u32,
    /// 0-based document index in the file.
    pub doc: usize,
    /// For rendered Helm output: the template named by a `# Source:` comment.
    pub origin: Option<&'a str>,
}

/// Adds one piece of `text` as a document (see [`split_documents`]).
fn push_chunk<'a>(
    text: &'a str,
    from: usize,
    to: usize,
    first_line: u32,
    chunks: &mut Vec<Chunk<'a>>,
) {
    let piece = &text[from..to];
    let has_content = piece.lines().any(|l| {
        let t = l.trim();
        !t.is_empty() && !t.starts_with('#') && t != "---" && t != "..."
    });
    if chunks.is_empty() && !has_content && from == 0 {
        return;
    }
    let origin = piece
        .lines()
        .find_map(|l| l.strip_prefix("# Source: "))
        .map(str::trim);
    let doc = chunks.len();
    chunks.push(Chunk {
        text: piece,
        line_offset: first_line,
        doc,
        origin,
    });
}

/// Splits a stream at its `---` document markers, so that documents can be parsed (and
/// dropped) one at a time and in parallel, and one broken document cannot hide the next. A
/// leading piece with no content (comments, blank lines) is not a document.
pub fn split_documents(text: &str) -> Vec<Chunk<'_>> {
    if let Some(chunks) = split_json_stream(text) {
        return chunks;
    }
    let mut chunks = Vec::new();
    let mut start = 0usize;
    let mut start_line = 0u32;
    let mut offset = 0usize;
    for (line_no, line) in (0u32..).zip(text.split_inclusive('\n')) {
        let is_marker =
            line.starts_with("---") && line[3..].chars().next().is_none_or(char::is_whitespace);
        if is_marker && offset > start {
            push_chunk(text, start, offset, start_line, &mut chunks);
            start = offset;
            start_line = line_no;
        }
        offset += line.len();
    }
    if offset > start || chunks.is_empty() {
        push_chunk(text, start, text.len(), start_line, &mut chunks);
    }
    chunks
}

/// Concatenated JSON objects (`{...}{...}` or one per line), which kubectl accepts: one chunk
/// per object. `None` when the text is not such a stream of two or more objects.
fn split_json_stream(text: &str) -> Option<Vec<Chunk<'_>>> {
    if !text.trim_start().starts_with('{') {
        return None;
    }
    let mut bounds = Vec::new();
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    let mut start = None;
    for (i, b) in text.bytes().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                if depth == 0 {
                    if b == b'[' {
                        return None;
                    }
                    start = Some(i);
                }
                depth += 1;
            }
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    bounds.push((start?, i + 1));
                }
            }
            _ if depth == 0 && !b.is_ascii_whitespace() => return None,
            _ => {}
        }
    }
    if bounds.len() < 2 || depth != 0 {
        return None;
    }
    let mut chunks = Vec::new();
    for (from, to) in bounds {
        let line = text[..from].bytes().filter(|b| *b == b'\n').count() as u32;
        let doc = chunks.len();
        chunks.push(Chunk {
            text: &text[from..to],
            line_offset: line,
            doc,
            origin: None,
        });
    }
    Some(chunks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concatenated_json_objects_are_documents() {
        let text = "{\"kind\": \"Pod\", \"a\": \"}{\"}\n{\"kind\": \"Service\"}{\"kind\": \"X\"}\n";
        let chunks = split_documents(text);
        assert_eq!(chunks.len(), 3);
        assert_eq!(chunks[1].line_offset, 1);
        assert_eq!(chunks[2].text, "{\"kind\": \"X\"}");
        // One object, or YAML that starts with a flow mapping, is left to the YAML splitter.
        assert_eq!(split_documents("{\"kind\": \"Pod\"}\n").len(), 1);
        assert_eq!(split_documents("{a: 1}\nb: 2\n").len(), 1);
    }

    #[test]
    fn documents_split_at_markers_keep_file_positions() {
        let text =
            "# leading comment\n---\n# Source: c/templates/a.yaml\na: 1\n---\nb: [1,\n--- \nc: 3\n";
        let chunks = split_documents(text);
        assert_eq!(chunks.len(), 3);
        assert_eq!(chunks[0].origin, Some("c/templates/a.yaml"));
        let (docs, errors) = parse_stream_at(
            chunks[2].text,
            &Limits::default(),
            chunks[2].line_offset,
            chunks[2].doc,
        );
        assert!(errors.is_empty());
        assert_eq!(docs[0].root.get("c").unwrap().pos, Pos::new(8, 4));
        assert_eq!(docs[0].index, 2);
        let (_, errors) = parse_stream_at(
            chunks[1].text,
            &Limits::default(),
            chunks[1].line_offset,
            chunks[1].doc,
        );
        assert_eq!(errors[0].doc_index, 1);
        assert!(errors[0].pos.line >= 6, "{errors:?}");
        // No marker at all: one document; only comments: none... but an empty file is one chunk.
        assert_eq!(split_documents("a: 1\n").len(), 1);
        assert_eq!(split_documents("{\"kind\": \"Pod\"}").len(), 1);
        assert_eq!(split_documents("a: 1\n---\n").len(), 2);
    }

    fn one(src: &str) -> Node {
        let (mut docs, errors) = parse_stream(src, &Limits::default());
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(docs.len(), 1);
        docs.remove(0).root
    }

    #[test]
    fn resolves_scalars_like_kubernetes() {
        let n = one("a: yes\nb: \"yes\"\nc: 0755\nd: 1.5\ne: ~\nf: 10\ng: !!str 10\nh: -3\n");
        assert_eq!(n.get("a").unwrap().as_bool(), Some(true));
        assert_eq!(n.get("b").unwrap().as_str(), Some("yes"));
        assert_eq!(n.get("c").unwrap().as_i64(), Some(0o755));
        assert_eq!(n.get("d").unwrap().value, Value::Float(1.5));
        assert!(n.get("e").unwrap().is_null());
        assert_eq!(n.get("f").unwrap().as_i64(), Some(10));
        assert_eq!(n.get("g").unwrap().as_str(), Some("10"));
        assert_eq!(n.get("h").unwrap().as_i64(), Some(-3));
    }

    #[test]
    fn keeps_positions() {
        let n = one("kind: Pod\nspec:\n  hostPID: true\n");
        let e = n.get("spec").unwrap().entry("hostPID").unwrap();
        assert_eq!(e.key_pos, Pos::new(3, 3));
        assert_eq!(e.value.pos, Pos::new(3, 12));
    }

    #[test]
    fn multi_document_stream_survives_a_broken_document() {
        let src = "a: 1\n---\nb: [1, 2\n---\nc: 3\n";
        let (docs, errors) = parse_stream(src, &Limits::default());
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].fatal);
        let kept: Vec<usize> = docs.iter().map(|d| d.index).collect();
        assert!(kept.contains(&0), "{kept:?}");
        assert!(kept.contains(&2), "{kept:?}");
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut src = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        let mut prev = 'a';
        for name in ['b', 'c', 'd', 'e', 'f', 'g', 'h'] {
            src.push_str(&format!(
                "{name}: &{name} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
            prev = name;
        }
        let (docs, errors) = parse_stream(&src, &Limits::default());
        assert!(docs.is_empty());
        assert!(errors[0].message.contains("alias bomb"), "{errors:?}");
    }

    #[test]
    fn deep_nesting_is_refused_not_crashed() {
        let src = format!("{}1{}", "[".repeat(5000), "]".repeat(5000));
        let (docs, errors) = parse_stream(&src, &Limits::default());
        assert!(docs.is_empty());
        assert!(!errors.is_empty());
        let mut block = String::new();
        for i in 0..3000 {
            block.push_str(&" ".repeat(i));
            block.push_str("k:\n");
        }
        let (docs, errors) = parse_stream(&block, &Limits::default());
        assert!(docs.is_empty());
        assert!(!errors.is_empty());
    }

    #[test]
    fn duplicate_keys_warn_and_keep_the_last() {
        let (docs, errors) = parse_stream("a: 1\na: 2\n", &Limits::default());
        assert_eq!(docs[0].root.get("a").unwrap().as_i64(), Some(2));
        assert_eq!(errors.len(), 1);
        assert!(!errors[0].fatal);
        assert_eq!(errors[0].pos.line, 2);
    }

    #[test]
    fn merge_keys() {
        let n = one("base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\n");
        let m = n.get("m").unwrap();
        assert_eq!(m.get("x").unwrap().as_i64(), Some(1));
        assert_eq!(m.get("y").unwrap().as_i64(), Some(3));
    }

    // Found while setting up fuzzing (docs/fuzzing.md): `from_str_radix` accepted a second sign
    // after the radix prefix, and negating the resulting i64::MIN panicked with overflow checks on.
    #[test]
    fn integer_with_a_second_sign_is_a_string_not_an_overflow() {
        let n = one(
            "a: -0x-8000000000000000\nb: 0x-1\nc: 0o+7\nd: -0x8000000000000000\ne: -9223372036854775808\nf: 0x8000000000000000\ng: -0b101\n",
        );
        assert_eq!(n.get("a").unwrap().as_str(), Some("-0x-8000000000000000"));
        assert_eq!(n.get("b").unwrap().as_str(), Some("0x-1"));
        assert_eq!(n.get("c").unwrap().as_str(), Some("0o+7"));
        assert_eq!(n.get("d").unwrap().value, Value::Int(i64::MIN));
        assert_eq!(n.get("e").unwrap().value, Value::Int(i64::MIN));
        assert!(!matches!(n.get("f").unwrap().value, Value::Int(_)));
        assert_eq!(n.get("g").unwrap().value, Value::Int(-5));
    }

    // Found while setting up fuzzing, with a large hand-made input: every key was compared with
    // every earlier key of its mapping, so 200,000 keys took over ten minutes.
    #[test]
    fn many_keys_parse_in_linear_time() {
        let mut src = String::new();
        for i in 0..200_000 {
            src.push_str(&format!("k{i}: {i}\n"));
        }
        src.push_str("k17: again\n<<: {k5: merged, new: merged}\n");
        let started = std::time::Instant::now();
        let (docs, errors) = parse_stream(&src, &Limits::default());
        // Linear is about a second even unoptimised; quadratic was minutes.
        assert!(started.elapsed().as_secs() < 60, "{:?}", started.elapsed());
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].message.contains("duplicate key `k17`"));
        let root = &docs[0].root;
        assert_eq!(root.as_map().unwrap().len(), 200_001);
        assert_eq!(root.get("k17").unwrap().as_str(), Some("again"));
        assert_eq!(root.get("k5").unwrap().as_i64(), Some(5));
        assert_eq!(root.get("new").unwrap().as_str(), Some("merged"));
    }

    // Found while setting up fuzzing, with a large hand-made input: each of 100 nested anchors kept
    // its own copy of the subtree, so half a megabyte of YAML took a gigabyte of memory without any
    // alias.
    #[test]
    fn nested_anchor_copies_count_against_the_alias_budget() {
        let limits = Limits {
            max_alias_nodes: 1_000,
            ..Limits::default()
        };
        let list = format!("[{}]", vec!["1"; 200].join(", "));
        let (docs, errors) = parse_stream(&format!("a: &a {list}\n"), &limits);
        assert_eq!((docs.len(), errors.len()), (1, 0), "{errors:?}");
        let mut nested = list;
        for i in 0..10 {
            nested = format!("&a{i} [{nested}]");
        }
        let (docs, errors) = parse_stream(&format!("a: {nested}\n"), &limits);
        assert!(docs.is_empty());
        assert!(errors[0].message.contains("alias bomb"), "{errors:?}");
    }

    // Found while setting up fuzzing, with a large hand-made input: the alias budget counted a
    // string as one node however long it was, so aliasing a 100 kB string 20,000 times took
    // gigabytes.
    #[test]
    fn aliases_of_a_long_string_are_charged_by_size() {
        let long = "x".repeat(100_000);
        let src = format!("a: &a {long}\nb: [{}]\n", vec!["*a"; 20_000].join(", "));
        let (docs, errors) = parse_stream(&src, &Limits::default());
        assert!(docs.is_empty());
        assert!(errors[0].message.contains("alias bomb"), "{errors:?}");
        let ok = format!("a: &a {long}\nb: [*a, *a, *a]\n");
        let (docs, errors) = parse_stream(&ok, &Limits::default());
        assert_eq!((docs.len(), errors.len()), (1, 0), "{errors:?}");
    }

    // Found while setting up fuzzing, with a large hand-made input: an alias copied its anchor's
    // depth wherever it was used, so anchors wrapping aliases of each other built trees thousands
    // of levels deep although max_depth is 100.
    #[test]
    fn aliases_cannot_nest_past_max_depth() {
        let wrap = |inner: &str| format!("{}{inner}{}", "[".repeat(60), "]".repeat(60));
        let src = format!("a: &a {}\nb: &b {}\n", wrap("1"), wrap("*a"));
        let (docs, errors) = parse_stream(&src, &Limits::default());
        assert!(docs.is_empty());
        assert!(errors[0].message.contains("deeper than 100"), "{errors:?}");
        let src = format!("a: &a {}\nb: [*a]\n", wrap("1"));
        let (docs, errors) = parse_stream(&src, &Limits::default());
        assert_eq!((docs.len(), errors.len()), (1, 0), "{errors:?}");
    }

    #[test]
    fn json_with_tabs() {
        let n = one("{\n\t\"kind\": \"Pod\",\n\t\"spec\": {\"hostPID\": true}\n}\n");
        assert_eq!(n.get("kind").unwrap().as_str(), Some("Pod"));
    }
}

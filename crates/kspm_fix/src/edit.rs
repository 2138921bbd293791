//! One patch step turned into text edits on one document: replace a scalar where it is written,
//! insert a key with its siblings' indentation, add an item to a list in the list's own style,
//! remove a key's lines. The document is never re-serialised, so what the step does not touch
//! (comments, order, quoting, blank lines) stays as it was, byte for byte.

use std::ops::Range;

use granit_parser::ScalarStyle;
use kspm_model::{FieldPath, PatchOp, Seg, SegRef};
use serde_json::{Map, Value as Json};

use crate::cst::{Shape, Syn};

/// Why a patch step cannot be made as a text edit of the file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// The path names a list item below one that is missing.
    #[error("`{path}`: list item {item} does not exist")]
    NoSuchItem { path: FieldPath, item: String },
    /// The path names a list item that is not there.
    #[error("`{0}`: the list has no such item")]
    NoSuchListItem(FieldPath),
    /// A key below a scalar or a list.
    #[error("`{0}` runs through a value that is not a mapping")]
    NotAMapping(FieldPath),
    /// A block list whose `-` is not where its first item says.
    #[error("`{0}`: cannot find the list's `-`")]
    NoListDash(FieldPath),
    /// Appending to something that is not a list.
    #[error("`{0}` is not a list")]
    NotAList(FieldPath),
    /// Removing what the file does not hold.
    #[error("`{0}` is not in the file")]
    Absent(FieldPath),
    /// A block list item whose `-` cannot be found.
    #[error("`{0}`: cannot find the item's `-`")]
    NoItemDash(FieldPath),
    /// The last key of a `- key: value` item, which would leave the item's shape unclear.
    #[error("`{0}`: cannot remove the last key of `- key: value` here")]
    LastKeyOfItem(FieldPath),
    /// The parent mapping lost the key the path goes through.
    #[error("the parent mapping has no such key")]
    NoParentKey,
    /// A key whose `:` cannot be found after it.
    #[error("cannot find the key's `:`")]
    NoColon,
    #[error("cannot replace a block collection outside a mapping")]
    BlockOutsideMapping,
    #[error("cannot place a value where nothing is written")]
    NowhereToWrite,
}

/// How new text is written, learnt from the file it goes into.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Style {
    /// `"\n"` or `"\r\n"`, as the file ends its lines.
    pub newline: &'static str,
    /// Spaces a nested mapping is indented by.
    pub step: usize,
    /// Spaces the `-` of a block list is indented by under its key (0: `key:\n- item`).
    pub seq_offset: usize,
    /// The document is JSON: new keys and strings are written as JSON.
    pub json: bool,
}

impl Default for Style {
    fn default() -> Self {
        Self {
            newline: "\n",
            step: 2,
            seq_offset: 2,
            json: false,
        }
    }
}

impl Style {
    /// Learns the style from a file's text and the syntax trees of its documents: the first
    /// nested block mapping gives the indentation step, the first block list under a key gives
    /// whether lists are indented under their key.
    pub fn detect(text: &str, roots: &[&Syn]) -> Self {
        let mut style = Style {
            newline: if text.contains("\r\n") { "\r\n" } else { "\n" },
            ..Style::default()
        };
        let (mut step, mut seq) = (None, None);
        for root in roots {
            learn(text, root, &mut step, &mut seq);
        }
        if let Some(s) = step {
            style.step = s;
        }
        if let Some(s) = seq {
            style.seq_offset = s;
        }
        style
    }
}

fn learn(text: &str, node: &Syn, step: &mut Option<usize>, seq: &mut Option<usize>) {
    if step.is_some() && seq.is_some() {
        return;
    }
    match &node.shape {
        Shape::Map {
            flow: false,
            entries,
        } => {
            for e in entries {
                let key_col = col(text, e.key_start);
                match &e.value.shape {
                    Shape::Map {
                        flow: false,
                        entries: inner,
                    } if step.is_none() => {
                        if let Some(first) = inner.first() {
                            let c = col(text, first.key_start);
                            if c > key_col
                                && line_start(text, first.key_start)
                                    != line_start(text, e.key_start)
                            {
                                *step = Some(c - key_col);
                            }
                        }
                    }
                    Shape::Seq { flow: false, items } if seq.is_none() => {
                        if let Some(dash) = items.first().and_then(|i| dash_before(text, i.start)) {
                            let c = col(text, dash);
                            if c >= key_col {
                                *seq = Some(c - key_col);
                            }
                        }
                    }
                    _ => {}
                }
                learn(text, &e.value, step, seq);
            }
        }
        Shape::Map { entries, .. } => {
            for e in entries {
                learn(text, &e.value, step, seq);
            }
        }
        Shape::Seq { items, .. } => {
            for i in items {
                learn(text, i, step, seq);
            }
        }
        Shape::Scalar { .. } => {}
    }
}

/// A replacement of `range` (bytes of the document text) by `text`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    pub range: Range<usize>,
    pub text: String,
}

/// Applies edits that do not overlap, from the last to the first.
pub fn apply(text: &mut String, mut edits: Vec<Edit>) {
    edits.sort_by_key(|e| std::cmp::Reverse((e.range.start, e.range.end)));
    for e in edits {
        text.replace_range(e.range, &e.text);
    }
}

fn line_start(text: &str, pos: usize) -> usize {
    text[..pos].rfind('\n').map_or(0, |i| i + 1)
}

/// The end of the line holding `pos`, before its line break.
fn line_end(text: &str, pos: usize) -> usize {
    match text[pos..].find('\n') {
        Some(i) => {
            let end = pos + i;
            if end > 0 && text.as_bytes()[end - 1] == b'\r' {
                end - 1
            } else {
                end
            }
        }
        None => text.len(),
    }
}

/// Past the line break of the line holding `pos`.
fn next_line(text: &str, pos: usize) -> usize {
    text[pos..].find('\n').map_or(text.len(), |i| pos + i + 1)
}

fn col(text: &str, pos: usize) -> usize {
    pos - line_start(text, pos)
}

/// The whitespace before `pos` on its line, when only whitespace is there.
fn indent_of(text: &str, pos: usize) -> Option<&str> {
    let before = &text[line_start(text, pos)..pos];
    before
        .chars()
        .all(|c| c == ' ' || c == '\t')
        .then_some(before)
}

/// The `-` that introduces a block list item starting at `pos`.
fn dash_before(text: &str, pos: usize) -> Option<usize> {
    let before = text[..pos].trim_end_matches([' ', '\t', '\r', '\n']);
    before.ends_with('-').then(|| before.len() - 1)
}

/// The position just past the `:` that follows a key.
fn colon_after(text: &str, key_end: usize) -> Option<usize> {
    let rest = &text[key_end..];
    let trimmed = rest.trim_start_matches([' ', '\t']);
    trimmed
        .starts_with(':')
        .then(|| key_end + (rest.len() - trimmed.len()) + 1)
}

/// Where a path leads in the document, as far as it exists.
struct Walk<'a> {
    /// The nodes along the path, from the root; `nodes[i + 1]` is reached by `segs[i]`.
    nodes: Vec<&'a Syn>,
}

fn walk<'a>(root: &'a Syn, path: &FieldPath) -> Walk<'a> {
    let mut nodes = vec![root];
    let mut node = root;
    for seg in path {
        let next = match (seg, &node.shape) {
            (SegRef::Key(k), Shape::Map { entries, .. }) => {
                entries.iter().find(|e| &*e.key == k).map(|e| &e.value)
            }
            (SegRef::Index(i), Shape::Seq { items, .. }) => items.get(i),
            _ => None,
        };
        match next {
            Some(n) => {
                nodes.push(n);
                node = n;
            }
            None => break,
        }
    }
    Walk { nodes }
}

/// Text edits that carry out one patch step on a document. `Err` says why it cannot be done
/// as a text edit (the caller reports it and leaves the document as it was).
pub fn edits_for(
    text: &str,
    root: &Syn,
    op: &PatchOp,
    style: &Style,
) -> Result<Vec<Edit>, EditError> {
    let e = Editor { text, style };
    match op {
        PatchOp::Set { path, value } => e.set(root, path, value),
        PatchOp::Append { path, value } => e.append(root, path, value),
        PatchOp::Remove { path } => e.remove(root, path),
    }
}

struct Editor<'t> {
    text: &'t str,
    style: &'t Style,
}

impl Editor<'_> {
    fn set(&self, root: &Syn, path: &FieldPath, value: &Json) -> Result<Vec<Edit>, EditError> {
        let w = walk(root, path);
        let segs = path.segs();
        let found = w.nodes.len() - 1;
        let node = w.nodes[found];
        if found == segs.len() {
            let parent = found.checked_sub(1).map(|i| (w.nodes[i], &segs[i]));
            return self.replace(node, parent, value);
        }
        // Create what is missing below the deepest node that exists.
        let mut nested = value.clone();
        for seg in segs[found + 1..].iter().rev() {
            let Seg::Key(k) = seg else {
                return Err(EditError::NoSuchItem {
                    path: path.clone(),
                    item: format!("{seg:?}"),
                });
            };
            let mut m = Map::new();
            m.insert((**k).to_owned(), nested);
            nested = Json::Object(m);
        }
        let Seg::Key(key) = &segs[found] else {
            return Err(EditError::NoSuchListItem(path.clone()));
        };
        let parent = found.checked_sub(1).map(|i| (w.nodes[i], &segs[i]));
        match &node.shape {
            Shape::Map {
                flow: false,
                entries,
            } if !entries.is_empty() => Ok(vec![self.insert_block_entry(node, key, &nested)]),
            Shape::Map { .. } => Ok(vec![self.insert_flow_entry(node, key, &nested)]),
            _ if node.is_null() => {
                let mut m = Map::new();
                m.insert((**key).to_owned(), nested);
                self.fill_null(node, parent, &Json::Object(m))
            }
            _ => Err(EditError::NotAMapping(path.clone())),
        }
    }

    fn append(&self, root: &Syn, path: &FieldPath, value: &Json) -> Result<Vec<Edit>, EditError> {
        let w = walk(root, path);
        let segs = path.segs();
        let found = w.nodes.len() - 1;
        if found < segs.len() {
            return self.set(root, path, &Json::Array(vec![value.clone()]));
        }
        let node = w.nodes[found];
        let parent = found.checked_sub(1).map(|i| (w.nodes[i], &segs[i]));
        match &node.shape {
            Shape::Seq { flow: false, items } if !items.is_empty() => {
                let dash = dash_before(self.text, items[0].start)
                    .ok_or_else(|| EditError::NoListDash(path.clone()))?;
                let at = line_end(self.text, node.end);
                let indent = indent_of(self.text, dash)
                    .map_or_else(|| " ".repeat(col(self.text, dash)), str::to_owned);
                let item = self.block_item(value, &indent);
                Ok(vec![Edit {
                    range: at..at,
                    text: format!("{}{item}", self.style.newline),
                }])
            }
            Shape::Seq { items, .. } => {
                let ranges: Vec<(usize, usize)> = items.iter().map(|i| (i.start, i.end)).collect();
                Ok(vec![self.insert_flow(node, &ranges, &self.flow(value))])
            }
            _ if node.is_null() => self.fill_null(node, parent, &Json::Array(vec![value.clone()])),
            _ => Err(EditError::NotAList(path.clone())),
        }
    }

    fn remove(&self, root: &Syn, path: &FieldPath) -> Result<Vec<Edit>, EditError> {
        let w = walk(root, path);
        let segs = path.segs();
        if w.nodes.len() - 1 < segs.len() || segs.is_empty() {
            return Err(EditError::Absent(path.clone()));
        }
        let container = w.nodes[segs.len() - 1];
        let grand = segs.len().checked_sub(2).map(|i| (w.nodes[i], &segs[i]));
        // Each element of the container as (start, end) of its text; the one to remove.
        let (elements, index, empty) = match (&container.shape, &segs[segs.len() - 1]) {
            (Shape::Map { entries, .. }, Seg::Key(k)) => {
                let index = entries
                    .iter()
                    .position(|e| *e.key == **k)
                    .ok_or_else(|| EditError::Absent(path.clone()))?;
                let el: Vec<(usize, usize)> =
                    entries.iter().map(|e| (e.key_start, e.value.end)).collect();
                (el, index, "{}")
            }
            (Shape::Seq { flow, items }, Seg::Index(i)) => {
                let mut el = Vec::new();
                for item in items {
                    let start = if *flow {
                        item.start
                    } else {
                        dash_before(self.text, item.start)
                            .ok_or_else(|| EditError::NoItemDash(path.clone()))?
                    };
                    el.push((start, item.end));
                }
                (el, *i, "[]")
            }
            _ => return Err(EditError::Absent(path.clone())),
        };
        if elements.len() == 1 {
            return self.empty(container, grand, empty);
        }
        let (start, end) = elements[index];
        if container.is_flow() {
            let range = if index + 1 < elements.len() {
                start..elements[index + 1].0
            } else {
                elements[index - 1].1..end
            };
            return Ok(vec![Edit {
                range,
                text: String::new(),
            }]);
        }
        if let Some(indent) = indent_of(self.text, start) {
            // The element starts its line: its lines go; its comments stay, as full lines.
            let range = line_start(self.text, start)..next_line(self.text, end);
            let kept = self.kept_comments(&self.text[range.clone()], indent);
            return Ok(vec![Edit { range, text: kept }]);
        }
        // The element shares its first line with what comes before (`- name: a`): the text up
        // to the next element goes, so the next one moves up behind the `- `.
        let Some(&(next, _)) = elements.get(index + 1) else {
            return Err(EditError::LastKeyOfItem(path.clone()));
        };
        let mut edits = vec![Edit {
            range: start..next,
            text: String::new(),
        }];
        let ls = line_start(self.text, start);
        let indent = " ".repeat(col(self.text, start));
        let kept = self.kept_comments(&self.text[start..next], &indent);
        if !kept.is_empty() {
            edits.push(Edit {
                range: ls..ls,
                text: kept,
            });
        }
        Ok(edits)
    }

    /// Replaces a whole mapping or list that loses its last element by `{}` or `[]`.
    fn empty(
        &self,
        node: &Syn,
        parent: Option<(&Syn, &Seg)>,
        empty: &str,
    ) -> Result<Vec<Edit>, EditError> {
        if node.is_flow() {
            return Ok(vec![Edit {
                range: node.start + 1..node.end - 1,
                text: String::new(),
            }]);
        }
        let (range, text) = match parent {
            Some((
                Syn {
                    shape: Shape::Map { entries, .. },
                    ..
                },
                Seg::Key(k),
            )) => {
                let entry = entries
                    .iter()
                    .find(|e| *e.key == **k)
                    .ok_or(EditError::NoParentKey)?;
                let colon = colon_after(self.text, entry.key_end).ok_or(EditError::NoColon)?;
                (colon..node.end, format!(" {empty}"))
            }
            _ => (node.start..node.end, empty.to_owned()),
        };
        let mut edits = Vec::new();
        let ls = line_start(self.text, range.start);
        let line = &self.text[ls..];
        let indent = &line[..line.len() - line.trim_start_matches([' ', '\t']).len()];
        let kept = self.kept_comments(&self.text[range.clone()], indent);
        if !kept.is_empty() {
            edits.push(Edit {
                range: ls..ls,
                text: kept,
            });
        }
        edits.push(Edit { range, text });
        Ok(edits)
    }

    /// The comments in text that an edit removes, as full-line comments to keep in its place.
    fn kept_comments(&self, removed: &str, indent: &str) -> String {
        let mut out = String::new();
        for line in removed.lines() {
            if let Some(c) = comment_of(line) {
                out.push_str(indent);
                out.push_str(c.trim_end());
                out.push_str(self.style.newline);
            }
        }
        out
    }

    /// Replaces an existing value.
    fn replace(
        &self,
        node: &Syn,
        parent: Option<(&Syn, &Seg)>,
        value: &Json,
    ) -> Result<Vec<Edit>, EditError> {
        let collection = matches!(value, Json::Object(m) if !m.is_empty())
            || matches!(value, Json::Array(a) if !a.is_empty());
        match &node.shape {
            Shape::Scalar { style, .. } if !collection => Ok(vec![Edit {
                range: node.start..node.end,
                text: self.scalar_like(value, *style),
            }]),
            _ if node.is_null() => self.fill_null(node, parent, value),
            _ if node.is_flow() || matches!(node.shape, Shape::Scalar { .. }) => Ok(vec![Edit {
                range: node.start..node.end,
                text: self.flow(value),
            }]),
            _ => {
                // A block collection: write the new value in block style where it was.
                let Some((
                    Syn {
                        shape: Shape::Map { entries, .. },
                        ..
                    },
                    Seg::Key(k),
                )) = parent
                else {
                    return Err(EditError::BlockOutsideMapping);
                };
                let entry = entries
                    .iter()
                    .find(|e| *e.key == **k)
                    .ok_or(EditError::NoParentKey)?;
                let colon = colon_after(self.text, entry.key_end).ok_or(EditError::NoColon)?;
                let indent = " ".repeat(col(self.text, entry.key_start));
                let block = self.block_entry("", value, &indent);
                let body = block
                    .split_once(':')
                    .map_or(String::new(), |(_, b)| b.to_owned());
                Ok(vec![Edit {
                    range: colon..node.end,
                    text: body,
                }])
            }
        }
    }

    /// Puts a mapping or list where a key has no value (`key:`, `key: null`, `key: ~`).
    fn fill_null(
        &self,
        node: &Syn,
        parent: Option<(&Syn, &Seg)>,
        value: &Json,
    ) -> Result<Vec<Edit>, EditError> {
        if let Some((
            Syn {
                shape:
                    Shape::Map {
                        flow: false,
                        entries,
                    },
                ..
            },
            Seg::Key(k),
        )) = parent
        {
            let entry = entries
                .iter()
                .find(|e| *e.key == **k)
                .ok_or(EditError::NoParentKey)?;
            let colon = colon_after(self.text, entry.key_end).ok_or(EditError::NoColon)?;
            let indent = indent_of(self.text, entry.key_start).map_or_else(
                || " ".repeat(col(self.text, entry.key_start)),
                str::to_owned,
            );
            let block = self.block_entry("k", value, &indent);
            let body = block.split_once(':').map_or("", |(_, b)| b);
            let mut edits = Vec::new();
            let at = line_end(self.text, colon.max(node.end));
            if node.end > node.start {
                edits.push(Edit {
                    range: colon..node.end,
                    text: String::new(),
                });
            }
            if body.starts_with(' ') {
                // An empty collection or a scalar goes on the key's line.
                edits.push(Edit {
                    range: colon..colon,
                    text: body.to_owned(),
                });
            } else {
                edits.push(Edit {
                    range: at..at,
                    text: body.to_owned(),
                });
            }
            return Ok(edits);
        }
        if node.end == node.start {
            return Err(EditError::NowhereToWrite);
        }
        Ok(vec![Edit {
            range: node.start..node.end,
            text: self.flow(value),
        }])
    }

    fn insert_block_entry(&self, map: &Syn, key: &str, value: &Json) -> Edit {
        let Shape::Map { entries, .. } = &map.shape else {
            unreachable!("insert_block_entry on a mapping")
        };
        let first = &entries[0];
        let indent = indent_of(self.text, first.key_start).map_or_else(
            || " ".repeat(col(self.text, first.key_start)),
            str::to_owned,
        );
        let last = &entries[entries.len() - 1];
        let at = line_end(self.text, last.value.end.max(last.key_end));
        Edit {
            range: at..at,
            text: format!(
                "{}{}",
                self.style.newline,
                self.block_entry(key, value, &indent)
            ),
        }
    }

    fn insert_flow_entry(&self, map: &Syn, key: &str, value: &Json) -> Edit {
        let Shape::Map { entries, .. } = &map.shape else {
            unreachable!("insert_flow_entry on a mapping")
        };
        let ranges: Vec<(usize, usize)> =
            entries.iter().map(|e| (e.key_start, e.value.end)).collect();
        let entry = format!("{}: {}", self.key(key), self.flow(value));
        self.insert_flow(map, &ranges, &entry)
    }

    /// Adds an element at the end of a flow collection, on a line of its own when the
    /// collection writes one element a line (pretty-printed JSON).
    fn insert_flow(&self, node: &Syn, elements: &[(usize, usize)], element: &str) -> Edit {
        let Some(&(last_start, last_end)) = elements.last() else {
            return Edit {
                range: node.start + 1..node.end - 1,
                text: element.to_owned(),
            };
        };
        let own_line = self.text[last_end..node.end].contains('\n');
        let text = match indent_of(self.text, last_start) {
            Some(indent) if own_line => format!(",{}{indent}{element}", self.style.newline),
            _ => format!(", {element}"),
        };
        Edit {
            range: last_end..last_end,
            text,
        }
    }

    /// `key: value` in block style, every line starting with `indent`; lines joined, no
    /// trailing line break.
    fn block_entry(&self, key: &str, value: &Json, indent: &str) -> String {
        let nl = self.style.newline;
        let key = self.key(key);
        match value {
            Json::Object(m) if !m.is_empty() => {
                let inner = format!("{indent}{}", " ".repeat(self.style.step));
                let mut out = format!("{indent}{key}:");
                for (k, v) in m {
                    out.push_str(nl);
                    out.push_str(&self.block_entry(k, v, &inner));
                }
                out
            }
            Json::Array(items) if !items.is_empty() => {
                let inner = format!("{indent}{}", " ".repeat(self.style.seq_offset));
                let mut out = format!("{indent}{key}:");
                for item in items {
                    out.push_str(nl);
                    out.push_str(&self.block_item(item, &inner));
                }
                out
            }
            _ => format!("{indent}{key}: {}", self.flow(value)),
        }
    }

    /// `- item` in block style with the `-` after `indent`.
    fn block_item(&self, value: &Json, indent: &str) -> String {
        let nl = self.style.newline;
        let inner = format!("{indent}  ");
        match value {
            Json::Object(m) if !m.is_empty() => {
                let mut out = String::new();
                for (i, (k, v)) in m.iter().enumerate() {
                    let entry = self.block_entry(k, v, &inner);
                    if i == 0 {
                        out.push_str(indent);
                        out.push_str("- ");
                        out.push_str(&entry[inner.len()..]);
                    } else {
                        out.push_str(nl);
                        out.push_str(&entry);
                    }
                }
                out
            }
            Json::Array(items) if !items.is_empty() => {
                let mut out = String::new();
                for (i, item) in items.iter().enumerate() {
                    let line = self.block_item(item, &inner);
                    if i == 0 {
                        out.push_str(indent);
                        out.push_str("- ");
                        out.push_str(&line[inner.len()..]);
                    } else {
                        out.push_str(nl);
                        out.push_str(&line);
                    }
                }
                out
            }
            _ => format!("{indent}- {}", self.flow(value)),
        }
    }

    /// A value in flow style (`{a: 1, b: [x]}`), or JSON in a JSON document.
    fn flow(&self, value: &Json) -> String {
        match value {
            Json::Object(m) => {
                let parts: Vec<String> = m
                    .iter()
                    .map(|(k, v)| format!("{}: {}", self.key(k), self.flow(v)))
                    .collect();
                format!("{{{}}}", parts.join(", "))
            }
            Json::Array(items) => {
                let parts: Vec<String> = items.iter().map(|v| self.flow(v)).collect();
                format!("[{}]", parts.join(", "))
            }
            Json::String(s) => self.string(s),
            other => other.to_string(),
        }
    }

    fn key(&self, key: &str) -> String {
        self.string(key)
    }

    fn string(&self, s: &str) -> String {
        if !self.style.json && plain_safe(s) {
            s.to_owned()
        } else {
            Json::String(s.to_owned()).to_string()
        }
    }

    /// A scalar that replaces one written in `style`: strings keep their quoting.
    fn scalar_like(&self, value: &Json, style: ScalarStyle) -> String {
        match (value, style) {
            (Json::String(s), ScalarStyle::SingleQuoted) => format!("'{}'", s.replace('\'', "''")),
            (Json::String(s), ScalarStyle::DoubleQuoted) => Json::String(s.clone()).to_string(),
            _ => self.flow(value),
        }
    }
}

/// Whether a string can be written without quotes and still read back as that string (in YAML
/// 1.1 as Kubernetes reads it, `yes`, `on` and `0755` are not strings).
fn plain_safe(s: &str) -> bool {
    let mut chars = s.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    if !first.is_ascii_alphabetic() {
        return false;
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-'))
    {
        return false;
    }
    !matches!(
        s.to_ascii_lowercase().as_str(),
        "y" | "n" | "yes" | "no" | "true" | "false" | "on" | "off" | "null"
    )
}

/// The comment on a line of YAML, if any: a `#` at the start or after a space, outside quotes.
fn comment_of(line: &str) -> Option<&str> {
    let (mut single, mut double, mut escaped) = (false, false, false);
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        if double {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => double = false,
                _ => {}
            }
        } else if single {
            if c == '\'' {
                single = false;
            }
        } else {
            match c {
                '#' if prev == ' ' || prev == '\t' => return Some(&line[i..]),
                '"' => double = true,
                '\'' => single = true,
                _ => {}
            }
        }
        prev = c;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cst;
    use serde_json::json;

    fn run(text: &str, op: &PatchOp) -> String {
        let root = cst::parse(text).unwrap().unwrap();
        let style = Style::detect(text, &[&root]);
        let edits = edits_for(text, &root, op, &style).unwrap();
        let mut out = text.to_owned();
        apply(&mut out, edits);
        out
    }

    fn set(path: &str, v: Json) -> PatchOp {
        PatchOp::Set {
            path: FieldPath::parse(path),
            value: v,
        }
    }

    #[test]
    fn replaces_a_scalar_keeping_its_comment() {
        let t = "spec:\n  hostPID: true # why\n  x: 1\n";
        assert_eq!(
            run(t, &set("spec.hostPID", json!(false))),
            "spec:\n  hostPID: false # why\n  x: 1\n"
        );
    }

    #[test]
    fn inserts_nested_keys_with_sibling_indentation() {
        let t = "spec:\n   a: 1 # c\n   b: 2\n\n# tail\n";
        assert_eq!(
            run(t, &set("spec.securityContext.runAsNonRoot", json!(true))),
            "spec:\n   a: 1 # c\n   b: 2\n   securityContext:\n      runAsNonRoot: true\n\n# tail\n"
        );
    }

    #[test]
    fn inserts_into_flow_mappings() {
        let t = "c: [{name: a, image: x}]\n";
        assert_eq!(
            run(t, &set("c[0].securityContext.privileged", json!(false))),
            "c: [{name: a, image: x, securityContext: {privileged: false}}]\n"
        );
    }

    #[test]
    fn removes_lines_and_keeps_comments() {
        let t = "spec:\n  # about pid\n  hostPID: true # trailing\n  x: 1\n";
        let op = PatchOp::Remove {
            path: FieldPath::parse("spec.hostPID"),
        };
        assert_eq!(run(t, &op), "spec:\n  # about pid\n  # trailing\n  x: 1\n");
    }

    #[test]
    fn removing_the_last_key_leaves_an_empty_mapping() {
        let t = "metadata:\n  annotations:\n    a/b: x\n  name: n\n";
        let op = PatchOp::Remove {
            path: FieldPath::parse("metadata.annotations[\"a/b\"]"),
        };
        assert_eq!(run(t, &op), "metadata:\n  annotations: {}\n  name: n\n");
    }

    #[test]
    fn appends_in_the_list_style_of_the_file() {
        let t = "a:\n  l:\n  - x\n  drop:\n  - NET_RAW\n";
        let op = PatchOp::Append {
            path: FieldPath::parse("a.drop"),
            value: json!("ALL"),
        };
        assert_eq!(
            run(t, &op),
            "a:\n  l:\n  - x\n  drop:\n  - NET_RAW\n  - ALL\n"
        );
        let op = PatchOp::Append {
            path: FieldPath::parse("a.add"),
            value: json!("ALL"),
        };
        assert_eq!(
            run(t, &op),
            "a:\n  l:\n  - x\n  drop:\n  - NET_RAW\n  add:\n  - ALL\n"
        );
    }

    #[test]
    fn fills_a_null_key() {
        let t = "a:\n  sc: # c\n  b: 1\n";
        assert_eq!(
            run(t, &set("a.sc.privileged", json!(false))),
            "a:\n  sc: # c\n    privileged: false\n  b: 1\n"
        );
    }

    #[test]
    fn keeps_crlf() {
        let t = "a:\r\n  b: 1\r\n";
        assert_eq!(
            run(t, &set("a.c", json!("x y"))),
            "a:\r\n  b: 1\r\n  c: \"x y\"\r\n"
        );
    }

    #[test]
    fn json_stays_json() {
        let t = "{\n  \"a\": {\n    \"b\": 1\n  }\n}\n";
        let root = cst::parse(t).unwrap().unwrap();
        let style = Style {
            json: true,
            ..Style::detect(t, &[&root])
        };
        let edits = edits_for(t, &root, &set("a.c", json!({"d": "e"})), &style).unwrap();
        let mut out = t.to_owned();
        apply(&mut out, edits);
        assert_eq!(
            out,
            "{\n  \"a\": {\n    \"b\": 1,\n    \"c\": {\"d\": \"e\"}\n  }\n}\n"
        );
    }

    #[test]
    fn tab_indented_json_keeps_its_tabs() {
        let t = "{\n\t\"a\": 1\n}\n";
        let root = cst::parse(t).unwrap().unwrap();
        let style = Style {
            json: true,
            ..Style::detect(t, &[&root])
        };
        let edits = edits_for(t, &root, &set("b", json!(false)), &style).unwrap();
        let mut out = t.to_owned();
        apply(&mut out, edits);
        assert_eq!(out, "{\n\t\"a\": 1,\n\t\"b\": false\n}\n");
    }
}

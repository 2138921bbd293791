//! The fast path of the YAML front end: a one-pass parser for the YAML that Kubernetes
//! manifests are written in, building the located tree directly from the text.
//!
//! It knows a subset (block mappings and sequences, the compact `- key: v` form and sequences at
//! their parent key's column; plain, single- and double-quoted scalars, on one line or folded
//! over several; literal and folded block scalars with `+`/`-` chomping; flow collections and
//! JSON; comments, document markers, multi-document streams, CRLF) and gives the same tree as
//! granit-parser: values, YAML 1.1 resolution (the same resolver) and every position. Whatever
//! it does not know (anchors, aliases, tags, complex keys, block-scalar indentation indicators,
//! tabs where they matter, duplicate and merge keys, deep nesting, anything that may be an
//! error) makes it decline the whole input, which the caller then parses with granit, so
//! diagnostics and limits stay those of one parser. Declining is always safe; a wrong tree would
//! be a missed finding, so when unsure it declines. The differential tests
//! (`crates/kspm_model/tests/yaml_fast.rs`) compare both paths.
//!
//! Positions follow granit's scanner, including its quirks: an empty value sits at its `:`, an
//! empty sequence entry at the end of its line, a sequence at its parent key's column starts
//! after its first `-`, a block scalar at its first content line.

use std::collections::HashSet;

use granit_parser::ScalarStyle;

use super::{Limits, ParsedDoc, resolve_scalar};
use crate::node::{Entry, Node, Pos, Value};

/// Why the fast path left an input to granit-parser (a short fixed phrase, for statistics).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Declined(pub &'static str);

type Res<T> = Result<T, Declined>;

/// The deepest nesting the fast path takes: it recurses a few frames per level, and scans
/// parse on threads with 2 MB stacks. Manifests (even CRD schemas) stay far below it.
const STACK_DEPTH: usize = 128;

const fn no<T>(why: &'static str) -> Res<T> {
    Err(Declined(why))
}

/// Parses `src` (one or more documents), or declines.
pub(super) fn parse(
    src: &str,
    limits: &Limits,
    line_offset: u32,
    doc_offset: usize,
) -> Res<Vec<ParsedDoc>> {
    prescan(src)?;
    let mut p = Parser {
        src,
        b: src.as_bytes(),
        i: 0,
        line: 0,
        ls: 0,
        cache: (usize::MAX, 0, 0),
        max_depth: limits.max_depth,
        depth: 0,
        line_offset,
        entries: Vec::new(),
        items: Vec::new(),
    };
    p.stream(doc_offset)
}

/// Refuses characters whose handling the fast path does not copy: control characters, a
/// carriage return that does not end a line, the byte order mark, C1 controls and the Unicode
/// line separators (YAML 1.1 line breaks).
fn prescan(src: &str) -> Res<()> {
    let b = src.as_bytes();
    // Branch-free over blocks, so that the common case (no such byte) is a fast scan.
    let control = b.chunks(64).any(|block| {
        block.iter().fold(0u8, |bad, &c| {
            bad | u8::from(matches!(c, 0..=8 | 11 | 12 | 14..=31 | 127))
        }) != 0
    });
    if control {
        return no("control character");
    }
    if b.contains(&b'\r') {
        for (i, &c) in b.iter().enumerate() {
            if c == b'\r' && b.get(i + 1) != Some(&b'\n') {
                return no("carriage return without line feed");
            }
        }
    }
    if !src.is_ascii()
        && src.chars().any(|c| {
            matches!(
                c,
                '\u{80}'
                    ..='\u{9f}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}' | '\u{2028}' | '\u{2029}'
            )
        })
    {
        return no("special unicode character");
    }
    Ok(())
}

/// What the next line that is not blank or a comment holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Line {
    Eof,
    /// `---` at column 0 (`true`) or `...` (`false`).
    Marker(bool),
    /// Content indented by this many spaces.
    Content(usize),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Chomp {
    Clip,
    Strip,
    Keep,
}

struct Parser<'a> {
    src: &'a str,
    b: &'a [u8],
    /// The cursor (a byte offset).
    i: usize,
    /// 0-based line of the cursor, and the byte where that line starts.
    line: u32,
    ls: usize,
    /// Column cache: (line start, byte, column of that byte), so that columns on long lines
    /// (minified JSON) cost no more than one walk over the line.
    cache: (usize, usize, u32),
    max_depth: usize,
    depth: usize,
    line_offset: u32,
    /// Entries and items of the collections being built, nested ones after their parents';
    /// a finished collection moves its own into a vector of its exact size.
    entries: Vec<Entry>,
    items: Vec<Node>,
}

fn is_blank_or_end(c: Option<&u8>) -> bool {
    matches!(c, None | Some(b' ' | b'\t' | b'\n' | b'\r'))
}

impl<'a> Parser<'a> {
    fn at(&self, i: usize) -> Option<u8> {
        self.b.get(i).copied()
    }

    /// The position of byte `at`, which is on the cursor's line.
    fn pos(&mut self, at: usize) -> Pos {
        let (ls, mut byte, mut col) = self.cache;
        if ls != self.ls || at < byte {
            byte = self.ls;
            col = 0;
        }
        let chars = self.b[byte..at]
            .iter()
            .filter(|b| (**b & 0xC0) != 0x80)
            .count();
        col += chars as u32;
        self.cache = (self.ls, at, col);
        Pos::new(self.line + 1 + self.line_offset, col + 1)
    }

    /// Where the cursor's line ends, before its line break.
    fn line_end(&self) -> usize {
        self.line_end_from(self.i)
    }

    /// Where the line holding byte `from` ends, before its line break.
    fn line_end_from(&self, from: usize) -> usize {
        let mut e = from;
        while e < self.b.len() && self.b[e] != b'\n' {
            e += 1;
        }
        if e > from && self.b[e - 1] == b'\r' {
            e - 1
        } else {
            e
        }
    }

    /// Moves the cursor to the start of the next line (or the end of the input).
    fn next_line(&mut self) {
        while self.i < self.b.len() && self.b[self.i] != b'\n' {
            self.i += 1;
        }
        if self.i < self.b.len() {
            self.i += 1;
            self.line += 1;
            self.ls = self.i;
        }
    }

    /// Skips spaces (not tabs) from the cursor; returns how many.
    fn spaces(&mut self) -> usize {
        let start = self.i;
        while self.at(self.i) == Some(b' ') {
            self.i += 1;
        }
        self.i - start
    }

    /// From the cursor inside a line: whether the rest of it is blank or a comment. A tab there
    /// declines (tabs as separation are where YAML parsers differ).
    fn rest_is_empty(&mut self) -> Res<bool> {
        let skipped = self.spaces();
        match self.at(self.i) {
            None | Some(b'\n' | b'\r') => Ok(true),
            Some(b'\t') => no("tab"),
            Some(b'#') if skipped > 0 => Ok(true),
            _ => Ok(false),
        }
    }

    /// Moves the cursor to the start of the next line with content, skipping blank and
    /// comment lines, and says what is there. The cursor must be at a line start.
    fn peek_line(&mut self) -> Res<Line> {
        loop {
            let start = self.i;
            if start >= self.b.len() {
                return Ok(Line::Eof);
            }
            let mut j = start;
            while self.b.get(j) == Some(&b' ') {
                j += 1;
            }
            match self.b.get(j) {
                None => return Ok(Line::Eof),
                Some(b'\n' | b'\r' | b'#') => self.next_line(),
                Some(b'\t') => return no("tab in indentation"),
                Some(_) if j == start && self.is_marker(start).is_some() => {
                    return Ok(Line::Marker(self.is_marker(start) == Some(true)));
                }
                Some(_) => return Ok(Line::Content(j - start)),
            }
        }
    }

    /// `---` (`Some(true)`) or `...` (`Some(false)`) followed by a blank or the line's end.
    fn is_marker(&self, i: usize) -> Option<bool> {
        let b = self.b;
        let three = b.get(i..i + 3)?;
        let start = match three {
            b"---" => true,
            b"..." => false,
            _ => return None,
        };
        is_blank_or_end(b.get(i + 3)).then_some(start)
    }

    /// A marker line may hold only a comment after the marker.
    fn marker_line(&mut self) -> Res<()> {
        self.i += 3;
        if !self.rest_is_empty()? {
            return no("content on a document marker line");
        }
        self.next_line();
        Ok(())
    }

    fn stream(&mut self, doc_offset: usize) -> Res<Vec<ParsedDoc>> {
        let mut docs = Vec::new();
        let mut index = doc_offset;
        let mut after_end = false;
        loop {
            let root = match self.peek_line()? {
                Line::Eof => break,
                Line::Marker(false) => return no("document end marker without a document"),
                Line::Marker(true) => {
                    self.marker_line()?;
                    match self.peek_line()? {
                        Line::Eof | Line::Marker(_) => None,
                        Line::Content(indent) => Some(self.root(indent)?),
                    }
                }
                Line::Content(indent) => {
                    if index > doc_offset && !after_end {
                        return no("content after a document");
                    }
                    Some(self.root(indent)?)
                }
            };
            after_end = false;
            match self.peek_line()? {
                Line::Content(_) => return no("content after the document's root"),
                Line::Marker(false) => {
                    self.marker_line()?;
                    after_end = true;
                }
                Line::Eof | Line::Marker(true) => {}
            }
            if let Some(root) = root
                && !root.is_null()
            {
                docs.push(ParsedDoc { index, root });
            }
            index += 1;
        }
        Ok(docs)
    }

    /// A document's root node, on a line indented by `indent`.
    fn root(&mut self, indent: usize) -> Res<Node> {
        self.i = self.ls + indent;
        match self.b[self.i] {
            b'[' | b'{' => {
                let node = self.flow(-1)?;
                if !self.rest_is_empty()? {
                    return no("content after a flow collection");
                }
                self.next_line();
                Ok(node)
            }
            _ => self.block_on_own_line(indent, None),
        }
    }

    /// A node that starts a line indented by `indent` (the cursor is at its first character):
    /// a block collection, or a plain or quoted scalar or flow collection inside a block
    /// collection at column `parent`.
    fn block_on_own_line(&mut self, indent: usize, parent: Option<usize>) -> Res<Node> {
        if self.at(self.i) == Some(b'-') && is_blank_or_end(self.b.get(self.i + 1)) {
            self.block_seq(indent, false)
        } else if self.key_ahead()? {
            self.block_map(indent)
        } else if let Some(parent) = parent
            && plain_may_start(self.b, self.i)
        {
            self.plain(parent)
        } else if let Some(parent) = parent
            && matches!(self.at(self.i), Some(b'"' | b'\''))
        {
            let start = self.i;
            let pos = self.pos(start);
            let (text, end) = self
                .quoted(start, Some(parent as isize))?
                .ok_or(Declined("quoted scalar"))?;
            self.i = end;
            if !self.rest_is_empty()? {
                return no("content after a quoted scalar");
            }
            self.next_line();
            Ok(Node::new(Value::Str(text.into()), pos))
        } else if let Some(parent) = parent
            && matches!(self.at(self.i), Some(b'[' | b'{'))
        {
            let node = self.flow(parent as isize)?;
            if !self.rest_is_empty()? {
                return no("content after a flow collection");
            }
            self.next_line();
            Ok(node)
        } else {
            no("scalar or flow collection on its own line")
        }
    }

    /// Counts a collection opening. Nesting near `max_depth` is left to granit, which reports
    /// it; so is anything deeper than [`STACK_DEPTH`], since this parser recurses.
    fn enter(&mut self) -> Res<()> {
        self.depth += 1;
        if self.depth + 1 >= self.max_depth || self.depth > STACK_DEPTH {
            return no("deep nesting");
        }
        Ok(())
    }

    /// Whether the cursor is at a `key:` (a one-line scalar followed by `:` and a blank).
    fn key_ahead(&mut self) -> Res<bool> {
        let save = (self.i, self.cache);
        let found = self.key_text()?.is_some();
        (self.i, self.cache) = save;
        Ok(found)
    }

    /// Reads a block mapping key at the cursor, leaving the cursor after its `:`. `None` if the
    /// cursor is not at a key.
    fn key_text(&mut self) -> Res<Option<(Box<str>, Pos)>> {
        let start = self.i;
        let c = self.b[start];
        if c == b'"' || c == b'\'' {
            let Some((text, end)) = self.quoted(start, None)? else {
                return Ok(None);
            };
            self.i = end;
            self.spaces();
            if self.at(self.i) != Some(b':') {
                return Ok(None);
            }
            if !is_blank_or_end(self.b.get(self.i + 1)) {
                return no("quoted key followed by `:` without a blank");
            }
            self.i += 1;
            let pos = self.pos(start);
            return Ok(Some((text.into(), pos)));
        }
        if !plain_may_start(self.b, start) {
            return Ok(None);
        }
        let end = self.line_end();
        let mut j = start;
        while j < end {
            match self.b[j] {
                b':' if is_blank_or_end(self.b.get(j + 1)) => {
                    let text = self.src[start..j].trim_end_matches(' ');
                    if text.len() > 1000 {
                        return no("long key");
                    }
                    if text.contains('\t') {
                        return no("tab in a key");
                    }
                    self.i = j + 1;
                    let pos = self.pos(start);
                    return Ok(Some((text.into(), pos)));
                }
                b'#' if matches!(self.b[j - 1], b' ' | b'\t') => return Ok(None),
                _ => j += 1,
            }
        }
        Ok(None)
    }

    /// A block mapping at column `n`; the cursor is at its first key.
    fn block_map(&mut self, n: usize) -> Res<Node> {
        self.enter()?;
        let map_pos = self.pos(self.i);
        let first = self.entries.len();
        loop {
            let Some((key, key_pos)) = self.key_text()? else {
                return no("not a key where a mapping entry was expected");
            };
            if &*key == "<<" {
                return no("merge key");
            }
            // The `:` is the byte before the cursor.
            let colon_pos = self.pos(self.i - 1);
            let value = self.map_value(n, colon_pos)?;
            self.entries.push(Entry {
                key,
                key_pos,
                value,
            });
            match self.peek_line()? {
                Line::Content(indent) if indent == n => {
                    self.i = self.ls + n;
                    if self.b[self.i] == b'-' && is_blank_or_end(self.b.get(self.i + 1)) {
                        return no("sequence entry at a mapping's column");
                    }
                }
                Line::Content(indent) if indent > n => return no("unexpected indentation"),
                _ => break,
            }
        }
        check_keys(&self.entries[first..])?;
        let entries = self.entries.drain(first..).collect();
        self.depth -= 1;
        Ok(Node::new(Value::Map(entries), map_pos))
    }

    /// The value after `key:` in a mapping at column `n`; the cursor is after the `:`. Leaves
    /// the cursor at the start of the line after the value.
    fn map_value(&mut self, n: usize, colon_pos: Pos) -> Res<Node> {
        if self.rest_is_empty()? {
            self.next_line();
            return match self.peek_line()? {
                Line::Content(indent) if indent > n => {
                    self.i = self.ls + indent;
                    self.block_on_own_line(indent, Some(n))
                }
                Line::Content(indent)
                    if indent == n
                        && self.b[self.ls + n] == b'-'
                        && is_blank_or_end(self.b.get(self.ls + n + 1)) =>
                {
                    self.i = self.ls + n;
                    self.block_seq(n, true)
                }
                _ => Ok(Node::new(Value::Null, colon_pos)),
            };
        }
        self.inline_value(n)
    }

    /// A block sequence whose entries' `-` are at column `n`; the cursor is at the first `-`.
    /// An indentless sequence (at its parent key's column) ends at the first line there without
    /// a `-`, and starts where granit puts it: after its first `-` and blanks.
    fn block_seq(&mut self, n: usize, indentless: bool) -> Res<Node> {
        self.enter()?;
        let mut seq_pos = self.pos(self.i);
        let first = self.items.len();
        loop {
            self.i += 1;
            let empty = self.rest_is_empty()?;
            let content = self.i;
            let entry_mark = if empty {
                let end = self.line_end();
                self.pos(end)
            } else {
                self.pos(content)
            };
            if indentless && self.items.len() == first {
                seq_pos = entry_mark;
            }
            let item = if empty {
                self.next_line();
                match self.peek_line()? {
                    Line::Content(indent) if indent > n => {
                        self.i = self.ls + indent;
                        self.block_on_own_line(indent, Some(n))?
                    }
                    _ => Node::new(Value::Null, entry_mark),
                }
            } else if self.b[content] == b'-' && is_blank_or_end(self.b.get(content + 1)) {
                self.block_seq(content - self.ls, false)?
            } else if self.key_ahead()? {
                self.block_map(content - self.ls)?
            } else {
                self.inline_value(n)?
            };
            self.items.push(item);
            match self.peek_line()? {
                Line::Content(indent) if indent == n => {
                    let at = self.ls + n;
                    if self.b[at] == b'-' && is_blank_or_end(self.b.get(at + 1)) {
                        self.i = at;
                    } else if indentless {
                        break;
                    } else {
                        return no("unexpected content at a sequence's column");
                    }
                }
                Line::Content(indent) if indent > n => return no("unexpected indentation"),
                _ => break,
            }
        }
        self.depth -= 1;
        let items = self.items.drain(first..).collect();
        Ok(Node::new(Value::Seq(items), seq_pos))
    }

    /// A value that starts on the cursor's line, inside a block collection at column `parent`:
    /// a scalar, a block scalar or a flow collection. Leaves the cursor at the next line.
    fn inline_value(&mut self, parent: usize) -> Res<Node> {
        let start = self.i;
        match self.b[start] {
            b'|' | b'>' => return self.block_scalar(parent),
            b'[' | b'{' => {
                let node = self.flow(parent as isize)?;
                if !self.rest_is_empty()? {
                    return no("content after a flow collection");
                }
                self.next_line();
                return Ok(node);
            }
            b'"' | b'\'' => {
                let pos = self.pos(start);
                let (text, end) = self
                    .quoted(start, Some(parent as isize))?
                    .ok_or(Declined("quoted scalar"))?;
                self.i = end;
                if !self.rest_is_empty()? {
                    return no("content after a quoted scalar");
                }
                self.next_line();
                return Ok(Node::new(Value::Str(text.into()), pos));
            }
            _ => {}
        }
        self.plain(parent)
    }

    /// A plain scalar in a block collection at column `parent`, over one or more lines: lines
    /// indented past `parent` continue it, folded as YAML does (one line break is a space, `n`
    /// empty lines are `n` line breaks). Leaves the cursor at the line after it.
    fn plain(&mut self, parent: usize) -> Res<Node> {
        let start = self.i;
        if !plain_may_start(self.b, start) {
            return no("indicator at the start of a value");
        }
        let pos = self.pos(start);
        let (first, mut commented) = self.plain_line(start)?;
        self.next_line();
        let mut text: Option<String> = None;
        while !commented {
            let after = (self.i, self.line, self.ls);
            let mut breaks = 0usize;
            let next = loop {
                let mut j = self.i;
                while self.b.get(j) == Some(&b' ') {
                    j += 1;
                }
                match self.b.get(j) {
                    None => break None,
                    Some(b'\n' | b'\r') => {
                        breaks += 1;
                        self.next_line();
                        if self.i >= self.b.len() {
                            break None;
                        }
                    }
                    Some(b'\t') => return no("tab in indentation"),
                    Some(_) => break Some(j),
                }
            };
            let Some(j) = next.filter(|j| j - self.ls > parent && self.b[*j] != b'#') else {
                (self.i, self.line, self.ls) = after;
                break;
            };
            // Indicators are content here (`a: b\n  - c` is "b - c"); `#` was a comment above.
            let part;
            (part, commented) = self.plain_line(j)?;
            let text = text.get_or_insert_with(|| first.to_owned());
            if breaks == 0 {
                text.push(' ');
            }
            push_breaks(text, breaks);
            text.push_str(part);
            self.next_line();
        }
        let value = resolve_scalar(text.as_deref().unwrap_or(first), ScalarStyle::Plain, None);
        Ok(Node::new(value, pos))
    }

    /// One line of a plain scalar from `start`: its text, and whether a comment ends it.
    fn plain_line(&self, start: usize) -> Res<(&'a str, bool)> {
        let end = self.line_end_from(start);
        let mut j = start;
        let mut stop = end;
        let mut commented = false;
        while j < end {
            match self.b[j] {
                b':' if is_blank_or_end(self.b.get(j + 1)) => {
                    return no("`: ` inside a plain scalar");
                }
                b'\t' => return no("tab in a plain scalar"),
                b'#' if self.b[j - 1] == b' ' => {
                    stop = j;
                    commented = true;
                    break;
                }
                _ => j += 1,
            }
        }
        let src: &'a str = self.src;
        Ok((src[start..stop].trim_end_matches(' '), commented))
    }

    /// A quoted scalar starting at `start`: its text and the byte after it. With `parent` (the
    /// block column its lines must be indented past, -1 at the root) it may go over several
    /// lines, folded as granit-parser (libyaml) folds them, and the cursor's line follows it;
    /// without, `None` when it goes past its line. A port of granit's scanner for this case.
    fn quoted(&mut self, start: usize, parent: Option<isize>) -> Res<Option<(String, usize)>> {
        let b = self.b;
        let single = b[start] == b'\'';
        let mut out = String::new();
        let mut j = start + 1;
        loop {
            let mut leading_blanks = false;
            let mut run = j;
            loop {
                match b.get(j) {
                    None => return no("unclosed quoted scalar"),
                    Some(b' ' | b'\t' | b'\n' | b'\r') => break,
                    Some(b'\'') if single => {
                        if b.get(j + 1) == Some(&b'\'') {
                            out.push_str(&self.src[run..=j]);
                            j += 2;
                            run = j;
                        } else {
                            break;
                        }
                    }
                    Some(b'"') if !single => break,
                    Some(b'\\') if !single => {
                        out.push_str(&self.src[run..j]);
                        if matches!(b.get(j + 1), Some(b'\n' | b'\r')) {
                            if parent.is_none() {
                                return Ok(None);
                            }
                            j = self.quoted_break(j + 1)?;
                            run = j;
                            leading_blanks = true;
                            break;
                        }
                        let (c, len) = escape(&b[j + 1..])?;
                        out.push(c);
                        j += 1 + len;
                        run = j;
                    }
                    Some(_) => j += 1,
                }
            }
            out.push_str(&self.src[run..j]);
            if !leading_blanks && b.get(j) == Some(if single { &b'\'' } else { &b'"' }) {
                return Ok(Some((out, j + 1)));
            }
            let mut trailing_ws: Option<usize> = None;
            let mut leading_break = false;
            let mut trailing_breaks = false;
            while let Some(&c) = b.get(j) {
                match c {
                    b' ' | b'\t' if leading_blanks => {
                        if c == b'\t' {
                            return no("tab in a quoted scalar's indentation");
                        }
                        j += 1;
                    }
                    b' ' | b'\t' => {
                        trailing_ws.get_or_insert(out.len());
                        out.push(char::from(c));
                        j += 1;
                    }
                    b'\n' | b'\r' => {
                        if parent.is_none() {
                            return Ok(None);
                        }
                        if leading_blanks {
                            out.push('\n');
                            trailing_breaks = true;
                        } else {
                            if let Some(at) = trailing_ws.take() {
                                out.truncate(at);
                            }
                            leading_break = true;
                            leading_blanks = true;
                        }
                        j = self.quoted_break(j)?;
                    }
                    _ => break,
                }
            }
            if leading_blanks {
                let parent = parent.unwrap_or(-1);
                if parent >= 0 && (j - self.ls) as isize <= parent {
                    return no("under-indented quoted scalar line");
                }
                if leading_break && !trailing_breaks {
                    out.push(' ');
                }
            }
        }
    }

    /// Moves past the line break at `j` inside a quoted scalar; returns the next line's start.
    fn quoted_break(&mut self, j: usize) -> Res<usize> {
        let next = if self.b[j] == b'\r' { j + 2 } else { j + 1 };
        self.line += 1;
        self.ls = next;
        if self.is_marker(next).is_some() {
            return no("document marker inside a quoted scalar");
        }
        Ok(next)
    }

    /// A literal or folded block scalar; the cursor is at its `|` or `>`, in a block collection
    /// at column `parent`. A port of granit-parser's (libyaml's) scanner for this case.
    fn block_scalar(&mut self, parent: usize) -> Res<Node> {
        let literal = self.b[self.i] == b'|';
        self.i += 1;
        let chomp = match self.at(self.i) {
            Some(b'+') => Chomp::Keep,
            Some(b'-') => Chomp::Strip,
            _ => Chomp::Clip,
        };
        if chomp != Chomp::Clip {
            self.i += 1;
        }
        if matches!(self.at(self.i), Some(b'0'..=b'9' | b'+' | b'-')) {
            return no("block scalar indentation indicator");
        }
        if !matches!(self.at(self.i), None | Some(b' ' | b'\n' | b'\r')) || !self.rest_is_empty()? {
            return no("block scalar header");
        }
        self.next_line();
        if self.i >= self.b.len() {
            return no("block scalar at the end of the input");
        }
        // Leading empty lines, and the indentation from the first content line.
        let mut breaks = 0usize;
        let mut max_indent = 0usize;
        let mut col;
        loop {
            let mut j = self.i;
            while self.b.get(j) == Some(&b' ') {
                j += 1;
            }
            col = j - self.ls;
            if j >= self.b.len() {
                return no("block scalar at the end of the input");
            }
            max_indent = max_indent.max(col);
            match self.b[j] {
                b'\n' | b'\r' => {
                    breaks += 1;
                    self.next_line();
                    if self.i >= self.b.len() {
                        return no("block scalar at the end of the input");
                    }
                }
                b'\t' => return no("tab in a block scalar's indentation"),
                _ => break,
            }
        }
        let indent = max_indent.max(parent + 1);
        if col < indent && col > parent {
            return no("under-indented block scalar");
        }
        let pos = self.pos(self.ls + col);
        let style_text = if col < indent {
            // No content line: the scalar is empty, and the cursor stays at the line that
            // ends it.
            if chomp == Chomp::Keep {
                "\n".repeat(breaks)
            } else {
                String::new()
            }
        } else {
            self.block_scalar_lines(literal, chomp, indent, breaks)?
        };
        Ok(Node::new(Value::Str(style_text.into()), pos))
    }

    fn block_scalar_lines(
        &mut self,
        literal: bool,
        chomp: Chomp,
        indent: usize,
        mut trailing_breaks: usize,
    ) -> Res<String> {
        let mut out = String::new();
        let mut leading_break = false;
        let mut leading_blank = false;
        let mut at_eof;
        let mut last_col;
        self.i = self.ls + indent;
        loop {
            let trailing_blank = matches!(self.at(self.i), Some(b' ' | b'\t'));
            if !literal && leading_break && !leading_blank && !trailing_blank {
                if trailing_breaks == 0 {
                    out.push(' ');
                }
                push_breaks(&mut out, trailing_breaks);
            } else {
                if leading_break {
                    out.push('\n');
                }
                push_breaks(&mut out, trailing_breaks);
            }
            leading_break = false;
            trailing_breaks = 0;
            leading_blank = trailing_blank;
            let end = self.line_end();
            out.push_str(&self.src[self.i..end]);
            if end >= self.b.len() {
                at_eof = true;
                last_col = usize::MAX;
                self.i = end;
                break;
            }
            self.next_line();
            leading_break = true;
            // The next line's indentation, and empty lines.
            loop {
                let mut j = self.i;
                while j - self.ls < indent && self.b.get(j) == Some(&b' ') {
                    j += 1;
                }
                last_col = j - self.ls;
                match self.b.get(j) {
                    None => {
                        at_eof = true;
                        break;
                    }
                    Some(b'\n' | b'\r') => {
                        trailing_breaks += 1;
                        self.next_line();
                    }
                    Some(b'\t') if last_col < indent => {
                        return no("tab in a block scalar's indentation");
                    }
                    Some(_) => {
                        at_eof = false;
                        break;
                    }
                }
            }
            if at_eof || last_col < indent {
                break;
            }
            self.i = self.ls + indent;
        }
        if chomp != Chomp::Strip {
            if !leading_break && at_eof && last_col >= indent.max(1) {
                out.push('\n');
            }
            if leading_break {
                out.push('\n');
            }
        }
        if chomp == Chomp::Keep {
            push_breaks(&mut out, trailing_breaks);
        }
        // The cursor stays at the start of the line that ended the scalar.
        self.i = self.ls;
        if at_eof {
            self.i = self.b.len();
        }
        Ok(out)
    }

    /// Skips blanks, line breaks and comments inside a flow collection whose block parent is
    /// at column `parent` (-1 for a root collection).
    fn flow_space(&mut self, parent: isize) -> Res<()> {
        let mut blank_before =
            self.i == self.ls || matches!(self.b.get(self.i - 1), Some(b' ' | b'\t'));
        loop {
            match self.at(self.i) {
                Some(b' ' | b'\t') => {
                    self.i += 1;
                    blank_before = true;
                }
                Some(b'#') if blank_before => {
                    let end = self.line_end();
                    self.i = end;
                }
                Some(b'\r' | b'\n') => {
                    self.next_line();
                    blank_before = true;
                    if self.is_marker(self.i).is_some() {
                        return no("document marker inside a flow collection");
                    }
                    if parent >= 0 {
                        let mut j = self.i;
                        while self.b.get(j) == Some(&b' ') {
                            j += 1;
                        }
                        let blank = matches!(self.b.get(j), None | Some(b'\n' | b'\r' | b'#'));
                        if !blank && (j - self.ls) as isize <= parent + 1 {
                            return no("under-indented flow collection line");
                        }
                        if self.b.get(j) == Some(&b'\t') {
                            return no("tab in a flow collection's indentation");
                        }
                    }
                }
                None => return no("unclosed flow collection"),
                Some(_) => return Ok(()),
            }
        }
    }

    /// A flow sequence or mapping at the cursor.
    fn flow(&mut self, parent: isize) -> Res<Node> {
        self.enter()?;
        let open = self.b[self.i];
        let pos = self.pos(self.i);
        self.i += 1;
        let value = if open == b'[' {
            let first = self.items.len();
            self.flow_space(parent)?;
            if self.at(self.i) == Some(b']') {
                self.i += 1;
            } else {
                loop {
                    let item = self.flow_node(parent)?;
                    self.flow_space(parent)?;
                    if self.at(self.i) == Some(b':') {
                        return no("single-pair mapping in a flow sequence");
                    }
                    self.items.push(item);
                    match self.at(self.i) {
                        Some(b',') => {
                            self.i += 1;
                            self.flow_space(parent)?;
                            if self.at(self.i) == Some(b']') {
                                self.i += 1;
                                break;
                            }
                        }
                        Some(b']') => {
                            self.i += 1;
                            break;
                        }
                        _ => return no("unexpected character in a flow sequence"),
                    }
                }
            }
            Value::Seq(self.items.drain(first..).collect())
        } else {
            let first = self.entries.len();
            self.flow_space(parent)?;
            if self.at(self.i) == Some(b'}') {
                self.i += 1;
            } else {
                loop {
                    let entry = self.flow_entry(parent)?;
                    self.entries.push(entry);
                    self.flow_space(parent)?;
                    match self.at(self.i) {
                        Some(b',') => {
                            self.i += 1;
                            self.flow_space(parent)?;
                            if self.at(self.i) == Some(b'}') {
                                self.i += 1;
                                break;
                            }
                        }
                        Some(b'}') => {
                            self.i += 1;
                            break;
                        }
                        _ => return no("unexpected character in a flow mapping"),
                    }
                }
            }
            check_keys(&self.entries[first..])?;
            Value::Map(self.entries.drain(first..).collect())
        };
        self.depth -= 1;
        Ok(Node::new(value, pos))
    }

    /// `key: value` in a flow mapping; the cursor is at the key.
    fn flow_entry(&mut self, parent: isize) -> Res<Entry> {
        let start = self.i;
        let key_pos = self.pos(start);
        let line = self.line;
        let key: Box<str> = match self.b[start] {
            b'"' | b'\'' => {
                let Some((text, end)) = self.quoted(start, None)? else {
                    return no("multi-line flow mapping key");
                };
                self.i = end;
                while matches!(self.at(self.i), Some(b' ' | b'\t')) {
                    self.i += 1;
                }
                if self.at(self.i) != Some(b':') {
                    return no("flow mapping key without a value");
                }
                text.into()
            }
            _ => {
                let text = self.flow_plain_text()?;
                if self.at(self.i) != Some(b':') || !is_blank_or_end(self.b.get(self.i + 1)) {
                    return no("flow mapping key without `: `");
                }
                text.into()
            }
        };
        if &*key == "<<" {
            return no("merge key");
        }
        self.i += 1;
        self.flow_space(parent)?;
        if self.line != line {
            return no("flow mapping value on another line");
        }
        if matches!(self.at(self.i), Some(b',' | b'}' | b']')) {
            return no("empty value in a flow mapping");
        }
        let value = self.flow_node(parent)?;
        Ok(Entry {
            key,
            key_pos,
            value,
        })
    }

    /// A node inside a flow collection.
    fn flow_node(&mut self, parent: isize) -> Res<Node> {
        let start = self.i;
        match self.b[start] {
            b'[' | b'{' => self.flow(parent),
            b'"' | b'\'' => {
                let pos = self.pos(start);
                let (text, end) = self
                    .quoted(start, Some(parent))?
                    .ok_or(Declined("quoted scalar"))?;
                self.i = end;
                Ok(Node::new(Value::Str(text.into()), pos))
            }
            _ => {
                let pos = self.pos(start);
                let text = self.flow_plain_text()?;
                Ok(Node::new(
                    resolve_scalar(text, ScalarStyle::Plain, None),
                    pos,
                ))
            }
        }
    }

    /// A one-line plain scalar inside a flow collection; leaves the cursor after it (and its
    /// trailing blanks).
    fn flow_plain_text(&mut self) -> Res<&'a str> {
        let start = self.i;
        if !plain_may_start(self.b, start) {
            return no("indicator at the start of a flow scalar");
        }
        let mut j = start;
        loop {
            match self.b.get(j) {
                None | Some(b',' | b'[' | b']' | b'{' | b'}' | b'\n' | b'\r') => break,
                Some(b':') => {
                    if is_blank_or_end(self.b.get(j + 1)) {
                        break;
                    }
                    return no("`:` inside a flow scalar");
                }
                Some(b'#') if matches!(self.b[j - 1], b' ' | b'\t') => break,
                Some(_) => j += 1,
            }
        }
        let src: &'a str = self.src;
        let text = src[start..j].trim_end_matches([' ', '\t']);
        if text.is_empty() {
            return no("empty flow scalar");
        }
        self.i = start + text.len();
        Ok(text)
    }
}

fn push_breaks(out: &mut String, n: usize) {
    for _ in 0..n {
        out.push('\n');
    }
}

/// Whether a plain scalar may start at `i`: not at an indicator; `-` only before a character
/// that is neither a blank nor a flow indicator (YAML allows `?` and `:` there too; the fast
/// path leaves them to granit).
fn plain_may_start(b: &[u8], i: usize) -> bool {
    match b.get(i) {
        None
        | Some(
            b'?' | b':' | b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!' | b'|'
            | b'>' | b'\'' | b'"' | b'%' | b'@' | b'`' | b' ' | b'\t' | b'\n' | b'\r',
        ) => false,
        Some(b'-') => {
            !is_blank_or_end(b.get(i + 1))
                && !matches!(b.get(i + 1), Some(b',' | b'[' | b']' | b'{' | b'}'))
        }
        Some(_) => true,
    }
}

/// A double-quoted escape after its `\`: the character and how many bytes it took.
fn escape(rest: &[u8]) -> Res<(char, usize)> {
    let c = match rest.first() {
        Some(b'0') => '\0',
        Some(b'a') => '\x07',
        Some(b'b') => '\x08',
        Some(b't' | b'\t') => '\t',
        Some(b'n') => '\n',
        Some(b'v') => '\x0b',
        Some(b'f') => '\x0c',
        Some(b'r') => '\r',
        Some(b'e') => '\x1b',
        Some(b' ') => ' ',
        Some(b'"') => '"',
        Some(b'/') => '/',
        Some(b'\\') => '\\',
        Some(b'N') => '\u{85}',
        Some(b'_') => '\u{a0}',
        Some(b'L') => '\u{2028}',
        Some(b'P') => '\u{2029}',
        Some(b'x') => return hex(rest, 2),
        Some(b'u') => return hex(rest, 4),
        Some(b'U') => return hex(rest, 8),
        _ => return no("unknown escape"),
    };
    Ok((c, 1))
}

fn hex(rest: &[u8], len: usize) -> Res<(char, usize)> {
    let digits = rest.get(1..=len).ok_or(Declined("short escape"))?;
    let mut value = 0u32;
    for d in digits {
        let v = match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            b'A'..=b'F' => d - b'A' + 10,
            _ => return no("bad hex escape"),
        };
        value = (value << 4) | u32::from(v);
    }
    match char::from_u32(value) {
        Some(c) => Ok((c, 1 + len)),
        None => no("escape is not a character"),
    }
}

/// Declines mappings with a repeated key (granit-parser warns about them).
fn check_keys(entries: &[Entry]) -> Res<()> {
    let dup = if entries.len() <= 16 {
        entries
            .iter()
            .enumerate()
            .any(|(i, e)| entries[..i].iter().any(|f| f.key == e.key))
    } else {
        let mut seen = HashSet::with_capacity(entries.len());
        !entries.iter().all(|e| seen.insert(&*e.key))
    };
    if dup {
        return no("duplicate key");
    }
    Ok(())
}

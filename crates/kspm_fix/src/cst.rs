//! A located syntax tree of one YAML (or JSON) document: every key, value and collection with
//! its byte range in the text and its style (block or flow, plain or quoted).
//!
//! kspm_model's tree keeps only where things start, which is enough to point at a field; an
//! edit also needs where a value ends, whether a mapping is written in block or flow style and
//! how a scalar is quoted. Built from the same parser's events (granit-parser), so both trees
//! read a document the same way.

use granit_parser::{Event, Options, Parser, ScalarStyle, Span};

/// A node of the document with its byte range (`start..end`) in the parsed text. For block
/// collections the range runs from the first key or item to the end of the last value's text
/// (trailing blank lines and comments are not part of it).
#[derive(Clone, Debug)]
pub struct Syn {
    pub start: usize,
    pub end: usize,
    pub shape: Shape,
}

#[derive(Clone, Debug)]
pub enum Shape {
    Scalar {
        style: ScalarStyle,
        /// The value as parsed (quotes and escapes resolved).
        text: String,
    },
    Map {
        flow: bool,
        entries: Vec<SynEntry>,
    },
    Seq {
        flow: bool,
        items: Vec<Syn>,
    },
}

#[derive(Clone, Debug)]
pub struct SynEntry {
    pub key: String,
    pub key_start: usize,
    pub key_end: usize,
    pub value: Syn,
}

impl Syn {
    /// A null written as nothing, `~` or `null` (plain): a place a mapping or list can be put.
    pub fn is_null(&self) -> bool {
        matches!(&self.shape, Shape::Scalar { style: ScalarStyle::Plain, text }
            if matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    pub fn is_flow(&self) -> bool {
        matches!(
            self.shape,
            Shape::Map { flow: true, .. } | Shape::Seq { flow: true, .. }
        )
    }
}

/// Why a document is not edited: constructs a text edit could silently get wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unsupported(pub String);

enum Frame {
    Map {
        flow: bool,
        start: usize,
        entries: Vec<SynEntry>,
        key: Option<(String, usize, usize)>,
    },
    Seq {
        flow: bool,
        start: usize,
        items: Vec<Syn>,
    },
}

/// Parses the one document in `text` (offsets are relative to `text`). `Ok(None)` for an
/// empty document.
pub fn parse(text: &str) -> Result<Option<Syn>, Unsupported> {
    let mut options = Options::default();
    options.emit_anchor_events = true;
    let mut parser = Parser::new_from_str_with_options(text, options);
    let mut stack: Vec<Frame> = Vec::new();
    let mut root = None;
    let mut docs = 0;
    while let Some(next) = parser.next_event() {
        let (event, span) =
            next.map_err(|e| Unsupported(format!("does not parse: {}", e.info())))?;
        let range = span
            .byte_range()
            .ok_or_else(|| Unsupported("no byte offsets".into()))?;
        match event {
            Event::StreamEnd => break,
            Event::DocumentStart(..) => {
                docs += 1;
                if docs > 1 {
                    return Err(Unsupported("more than one document".into()));
                }
            }
            Event::Anchor(..) | Event::Alias(_) | Event::UnresolvedAlias(_) => {
                return Err(Unsupported(
                    "the document uses YAML anchors or aliases (&name, *name): an edit could change every place that shares the value".into(),
                ));
            }
            Event::Scalar(value, style, anchor, _) => {
                if anchor != 0 {
                    return Err(Unsupported("the document uses YAML anchors".into()));
                }
                let mut start = start_of(&span, range.start);
                let end = match style {
                    // A block scalar's span starts after its `|` or `>` header and runs over
                    // the blank lines after it.
                    ScalarStyle::Literal | ScalarStyle::Folded => {
                        let header = text[..start]
                            .trim_end()
                            .rfind(['|', '>'])
                            .ok_or_else(|| Unsupported("block scalar without header".into()))?;
                        let end = start + text[start..range.end].trim_end().len();
                        start = start_of(&span, header);
                        end.max(header + 1)
                    }
                    _ => range.end,
                };
                let node = Syn {
                    start,
                    end,
                    shape: Shape::Scalar {
                        style,
                        text: value.into_owned(),
                    },
                };
                place(&mut stack, &mut root, node)?;
            }
            Event::MappingStart(style, anchor, _) | Event::SequenceStart(style, anchor, _) => {
                if anchor != 0 {
                    return Err(Unsupported("the document uses YAML anchors".into()));
                }
                let is_map = matches!(event, Event::MappingStart(..));
                let flow = style == granit_parser::StructureStyle::Flow;
                let start = start_of(&span, range.start);
                stack.push(if is_map {
                    Frame::Map {
                        flow,
                        start,
                        entries: Vec::new(),
                        key: None,
                    }
                } else {
                    Frame::Seq {
                        flow,
                        start,
                        items: Vec::new(),
                    }
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let node = match stack.pop() {
                    Some(Frame::Map {
                        flow,
                        start,
                        entries,
                        ..
                    }) => {
                        let end = if flow {
                            range.end
                        } else {
                            entries.last().map_or(start, |e| e.value.end)
                        };
                        Syn {
                            start,
                            end,
                            shape: Shape::Map { flow, entries },
                        }
                    }
                    Some(Frame::Seq { flow, start, items }) => {
                        let end = if flow {
                            range.end
                        } else {
                            items.last().map_or(start, |i| i.end)
                        };
                        Syn {
                            start,
                            end,
                            shape: Shape::Seq { flow, items },
                        }
                    }
                    None => return Err(Unsupported("unbalanced collection".into())),
                };
                place(&mut stack, &mut root, node)?;
            }
            _ => {}
        }
    }
    Ok(root)
}

/// Where a node's text starts: at its tag when it has one (`!!str true`), so that replacing the
/// node replaces the tag too.
fn start_of(span: &Span, start: usize) -> usize {
    span.tag_span()
        .and_then(|t| t.byte_range())
        .map_or(start, |t| t.start.min(start))
}

fn place(stack: &mut [Frame], root: &mut Option<Syn>, node: Syn) -> Result<(), Unsupported> {
    match stack.last_mut() {
        None => *root = Some(node),
        Some(Frame::Seq { items, .. }) => items.push(node),
        Some(Frame::Map { entries, key, .. }) => match key.take() {
            None => {
                let Shape::Scalar { text, .. } = &node.shape else {
                    return Err(Unsupported("a mapping key is a collection".into()));
                };
                if text == "<<" {
                    return Err(Unsupported("the document uses merge keys (<<)".into()));
                }
                *key = Some((text.clone(), node.start, node.end));
            }
            Some((k, key_start, key_end)) => {
                // The last of duplicate keys wins, as in the API server and kspm's reader.
                entries.retain(|e| e.key != k);
                entries.push(SynEntry {
                    key: k,
                    key_start,
                    key_end,
                    value: node,
                });
            }
        },
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_values_and_collections() {
        let text =
            "a: 1 # c\nspec:\n  x: \"q\"\n  l:\n  - a\n  - b\n\n  f: {k: v}\n  n: |\n    t\n\n";
        let root = parse(text).unwrap().unwrap();
        let Shape::Map { entries, flow } = &root.shape else {
            panic!()
        };
        assert!(!flow);
        let spec = &entries[1].value;
        assert_eq!(
            &text[spec.start..spec.end],
            "x: \"q\"\n  l:\n  - a\n  - b\n\n  f: {k: v}\n  n: |\n    t"
        );
        let Shape::Map { entries, .. } = &spec.shape else {
            panic!()
        };
        assert_eq!(&text[entries[0].value.start..entries[0].value.end], "\"q\"");
        assert_eq!(
            &text[entries[2].value.start..entries[2].value.end],
            "{k: v}"
        );
    }

    #[test]
    fn anchors_are_refused() {
        assert!(parse("a: &x 1\nb: *x\n").is_err());
        assert!(parse("a: {<<: {b: 1}}\n").is_err());
        assert!(parse("a: !!str true\n").is_ok());
    }

    #[test]
    fn a_tag_belongs_to_its_value() {
        let text = "a: !!str true\n";
        let root = parse(text).unwrap().unwrap();
        let Shape::Map { entries, .. } = &root.shape else {
            panic!()
        };
        assert_eq!(
            &text[entries[0].value.start..entries[0].value.end],
            "!!str true"
        );
    }
}

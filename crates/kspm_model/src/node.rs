//! A located YAML/JSON tree: every value keeps the line and column it was written at.

use std::fmt;

use serde_json::Value as Json;

use crate::path::{FieldPath, Seg, SegRef};

/// A 1-based line and column in a source file. `Pos::default()` (0:0) means "unknown", as for
/// resources that came from a live cluster or were built in memory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

impl Pos {
    pub const fn new(line: u32, col: u32) -> Self {
        Self { line, col }
    }

    pub const fn is_known(self) -> bool {
        self.line > 0
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// A value in the tree, with YAML 1.1 scalars resolved the way Kubernetes' YAML decoder does
/// (`yes`/`on` are booleans, `0755` is octal).
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Box<str>),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

/// One `key: value` pair of a mapping; `key_pos` is where the key was written, which is the line
/// a user expects a finding about that field to point at.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub key: Box<str>,
    pub key_pos: Pos,
    pub value: Node,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub value: Value,
    pub pos: Pos,
}

impl Node {
    pub const fn new(value: Value, pos: Pos) -> Self {
        Self { value, pos }
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|e| &*e.key == key).map(|e| &e.value),
            _ => None,
        }
    }

    pub fn entry(&self, key: &str) -> Option<&Entry> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|e| &*e.key == key),
            _ => None,
        }
    }

    /// Follows a chain of mapping keys.
    pub fn at(&self, keys: &[&str]) -> Option<&Node> {
        keys.iter().try_fold(self, |node, key| node.get(key))
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self.value {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self.value {
            Value::Int(i) => Some(i),
            // JSON numbers such as `1000.0` are integers to the API server.
            Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(f as i64),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[Entry]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    pub const fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// The YAML type name, for diagnostics such as "expected a boolean, found a string".
    pub const fn type_name(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    /// The value as a short piece of evidence for a report: scalars as written, collections
    /// summarised. Long strings are cut so a report never carries a whole embedded file.
    pub fn evidence(&self) -> String {
        const MAX: usize = 120;
        let text = match &self.value {
            Value::Null => "null".to_owned(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Str(s) => (**s).to_owned(),
            Value::Seq(items) => {
                let parts: Vec<String> = items.iter().map(Node::evidence).collect();
                format!("[{}]", parts.join(", "))
            }
            Value::Map(entries) => format!("{{{} keys}}", entries.len()),
        };
        if text.chars().count() > MAX {
            let cut: String = text.chars().take(MAX).collect();
            format!("{cut}…")
        } else {
            text
        }
    }

    /// Walks a field path and returns the node at its end, if every step exists.
    pub fn lookup(&self, path: &FieldPath) -> Option<&Node> {
        let mut node = self;
        for seg in path {
            node = match seg {
                SegRef::Key(k) => node.get(k)?,
                SegRef::Index(i) => node.as_seq()?.get(i)?,
            };
        }
        Some(node)
    }

    /// The source position for a field path: the key of the last step that exists, so a finding
    /// about a missing field points at its nearest existing parent. The flag says whether the
    /// whole path existed.
    pub fn locate(&self, path: &FieldPath) -> (Pos, bool) {
        let mut node = self;
        let mut pos = self.pos;
        for seg in path {
            let next = match seg {
                SegRef::Key(k) => node.entry(k).map(|e| (e.key_pos, &e.value)),
                SegRef::Index(i) => node.as_seq().and_then(|s| s.get(i)).map(|n| (n.pos, n)),
            };
            match next {
                Some((p, n)) => {
                    pos = p;
                    node = n;
                }
                None => return (pos, false),
            }
        }
        (pos, true)
    }

    /// Converts to JSON, the shape policies (Rego, CEL) and JSON output see.
    pub fn to_json(&self) -> Json {
        match &self.value {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(i) => Json::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
            Value::Str(s) => Json::String((**s).to_owned()),
            Value::Seq(items) => Json::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => Json::Object(
                entries
                    .iter()
                    .map(|e| ((*e.key).to_owned(), e.value.to_json()))
                    .collect(),
            ),
        }
    }

    /// Builds a tree from JSON; positions are unknown (0:0), as for live-cluster objects.
    pub fn from_json(json: &Json) -> Self {
        let value = match json {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => n
                .as_i64()
                .map_or_else(|| Value::Float(n.as_f64().unwrap_or(0.0)), Value::Int),
            Json::String(s) => Value::Str(s.as_str().into()),
            Json::Array(items) => Value::Seq(items.iter().map(Node::from_json).collect()),
            Json::Object(map) => Value::Map(
                map.iter()
                    .map(|(k, v)| Entry {
                        key: k.as_str().into(),
                        key_pos: Pos::default(),
                        value: Node::from_json(v),
                    })
                    .collect(),
            ),
        };
        Node::new(value, Pos::default())
    }

    /// Mutable access along a path, creating missing mappings on the way (for applying fixes).
    pub fn lookup_mut_or_create(&mut self, path: &FieldPath) -> Option<&mut Node> {
        let mut node = self;
        for seg in path {
            node = match seg {
                SegRef::Key(k) => {
                    if node.is_null() {
                        node.value = Value::Map(Vec::new());
                    }
                    let Value::Map(entries) = &mut node.value else {
                        return None;
                    };
                    let idx = if let Some(i) = entries.iter().position(|e| &*e.key == k) {
                        i
                    } else {
                        entries.push(Entry {
                            key: k.into(),
                            key_pos: Pos::default(),
                            value: Node::new(Value::Null, Pos::default()),
                        });
                        entries.len() - 1
                    };
                    &mut entries[idx].value
                }
                SegRef::Index(i) => {
                    let Value::Seq(items) = &mut node.value else {
                        return None;
                    };
                    items.get_mut(i)?
                }
            };
        }
        Some(node)
    }

    /// Removes the value at a path; returns whether something was removed.
    pub fn remove(&mut self, path: &FieldPath) -> bool {
        let Some((last, parent)) = path.split_last() else {
            return false;
        };
        let Some(parent) = self.lookup_mut_existing(&parent) else {
            return false;
        };
        match (&mut parent.value, last) {
            (Value::Map(entries), Seg::Key(k)) => {
                let before = entries.len();
                entries.retain(|e| *e.key != *k);
                before != entries.len()
            }
            (Value::Seq(items), Seg::Index(i)) if i < items.len() => {
                items.remove(i);
                true
            }
            _ => false,
        }
    }

    fn lookup_mut_existing(&mut self, path: &FieldPath) -> Option<&mut Node> {
        let mut node = self;
        for seg in path {
            node = match (&mut node.value, seg) {
                (Value::Map(entries), SegRef::Key(k)) => {
                    &mut entries.iter_mut().find(|e| &*e.key == k)?.value
                }
                (Value::Seq(items), SegRef::Index(i)) => items.get_mut(i)?,
                _ => return None,
            };
        }
        Some(node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{Limits, parse_stream};

    fn doc(src: &str) -> Node {
        let (mut docs, errors) = parse_stream(src, &Limits::default());
        assert!(errors.is_empty(), "{errors:?}");
        docs.remove(0).root
    }

    #[test]
    fn locate_points_at_the_key_or_nearest_parent() {
        let n = doc("spec:\n  containers:\n  - name: a\n    image: x\n");
        let image = FieldPath::parse("spec.containers[0].image");
        assert_eq!(n.locate(&image), (Pos::new(4, 5), true));
        let missing = FieldPath::parse("spec.containers[0].securityContext.privileged");
        assert_eq!(n.locate(&missing), (Pos::new(3, 5), false));
    }

    #[test]
    fn create_and_remove_paths() {
        let mut n = doc("spec: {}\n");
        let p = FieldPath::parse("spec.securityContext.runAsNonRoot");
        *n.lookup_mut_or_create(&p).unwrap() = Node::new(Value::Bool(true), Pos::default());
        assert_eq!(n.lookup(&p).and_then(Node::as_bool), Some(true));
        assert!(n.remove(&p));
        assert!(n.lookup(&p).is_none());
        assert!(!n.remove(&p));
    }

    #[test]
    fn evidence_cuts_long_values() {
        let long = "x".repeat(500);
        let n = Node::new(Value::Str(long.into()), Pos::default());
        assert!(n.evidence().chars().count() <= 121);
    }
}

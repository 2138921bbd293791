//! Turning fixes into the patch sent to the server, and back.
//!
//! A rule's fix says what to set or remove, creating parents as needed; an RFC 6902 patch sent
//! to a server must instead be valid against the object it holds. So the fixes are applied to a
//! copy of the object read from the server, and the patch is the difference between the two,
//! preceded by a `test` of `metadata.resourceVersion`: the server applies it only to the version
//! that was read, and a concurrent edit fails the test (a conflict, never overwritten).

use kspm_model::{Fix, Node};
use serde_json::{Map, Value as Json, json};

/// The fields the server owns, left out of comparisons and undo.
const SERVER_FIELDS: &[&str] = &[
    "resourceVersion",
    "generation",
    "managedFields",
    "creationTimestamp",
    "uid",
    "selfLink",
];

/// The object without status and server-owned metadata: what a person changes.
pub fn desired(object: &Json) -> Json {
    let mut o = object.clone();
    if let Some(map) = o.as_object_mut() {
        map.remove("status");
        if let Some(meta) = map.get_mut("metadata").and_then(Json::as_object_mut) {
            for f in SERVER_FIELDS {
                meta.remove(*f);
            }
        }
    }
    o
}

/// The object with every fix applied; `None` when a fix does not fit it (a path through a
/// value of the wrong type).
pub fn apply(object: &Json, fixes: &[&Fix]) -> Option<Json> {
    let mut node = Node::from_json(object);
    for fix in fixes {
        if !fix.apply(&mut node) {
            return None;
        }
    }
    Some(node.to_json())
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// RFC 6902 operations that turn `from` into `to` (lists compared item by item when their
/// lengths match, replaced whole otherwise).
pub fn diff(from: &Json, to: &Json) -> Vec<Json> {
    let mut ops = Vec::new();
    walk(from, to, "", &mut ops);
    ops
}

fn walk(from: &Json, to: &Json, at: &str, ops: &mut Vec<Json>) {
    match (from, to) {
        (Json::Object(a), Json::Object(b)) => {
            for (k, va) in a {
                let p = format!("{at}/{}", escape(k));
                match b.get(k) {
                    Some(vb) => walk(va, vb, &p, ops),
                    None => ops.push(json!({"op": "remove", "path": p})),
                }
            }
            for (k, vb) in b {
                if !a.contains_key(k) {
                    ops.push(
                        json!({"op": "add", "path": format!("{at}/{}", escape(k)), "value": vb}),
                    );
                }
            }
        }
        (Json::Array(a), Json::Array(b)) if a.len() == b.len() => {
            for (i, (va, vb)) in a.iter().zip(b).enumerate() {
                walk(va, vb, &format!("{at}/{i}"), ops);
            }
        }
        _ if from == to => {}
        _ => ops.push(json!({"op": "replace", "path": at, "value": to})),
    }
}

/// The patch that takes the object at `resource_version` to `to`, or fails.
pub fn guarded(resource_version: &str, ops: Vec<Json>) -> Json {
    let mut all = vec![json!({
        "op": "test", "path": "/metadata/resourceVersion", "value": resource_version
    })];
    all.extend(ops);
    Json::Array(all)
}

/// Field-level lines for a person: `- path: old` and `+ path: new`.
pub fn describe(from: &Json, ops: &[Json]) -> Vec<String> {
    let mut lines = Vec::new();
    for op in ops {
        let path = op["path"].as_str().unwrap_or_default();
        let shown = path.trim_start_matches('/').replace('/', ".");
        let old = from.pointer(path);
        match op["op"].as_str() {
            Some("remove") => lines.push(format!("- {shown}: {}", show(old))),
            Some("add") => lines.push(format!("+ {shown}: {}", op["value"])),
            Some("replace") => {
                lines.push(format!("- {shown}: {}", show(old)));
                lines.push(format!("+ {shown}: {}", op["value"]));
            }
            _ => {}
        }
    }
    lines
}

fn show(v: Option<&Json>) -> String {
    v.map_or_else(|| "(absent)".to_owned(), Json::to_string)
}

/// Keeps only the fields `ops` touched, for the recorded before and after states.
pub fn touched(object: &Json, ops: &[Json]) -> Json {
    let mut out = Map::new();
    for op in ops {
        let Some(path) = op["path"].as_str() else {
            continue;
        };
        out.insert(
            path.to_owned(),
            object.pointer(path).cloned().unwrap_or(Json::Null),
        );
    }
    Json::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_difference_applies_the_fix_and_nothing_else() {
        let before = json!({"metadata": {"name": "d", "resourceVersion": "7"},
            "spec": {"template": {"spec": {"containers": [
                {"name": "a", "securityContext": {"privileged": true}},
                {"name": "b"}]}}}});
        let fix = Fix::new("x")
            .set(
                kspm_model::FieldPath::parse(
                    "spec.template.spec.containers[0].securityContext.privileged",
                ),
                json!(false),
            )
            .set(
                kspm_model::FieldPath::parse(
                    "spec.template.spec.containers[1].securityContext.allowPrivilegeEscalation",
                ),
                json!(false),
            );
        let after = apply(&before, &[&fix]).unwrap();
        let ops = diff(&before, &after);
        assert_eq!(
            ops,
            vec![
                json!({"op": "replace", "path": "/spec/template/spec/containers/0/securityContext/privileged", "value": false}),
                json!({"op": "add", "path": "/spec/template/spec/containers/1/securityContext", "value": {"allowPrivilegeEscalation": false}}),
            ]
        );
        let lines = describe(&before, &ops);
        assert_eq!(
            lines[0],
            "- spec.template.spec.containers.0.securityContext.privileged: true"
        );
        // Undo is the difference the other way.
        let back = diff(&after, &before);
        assert_eq!(back.len(), 2);
        assert_eq!(guarded("7", back)[0]["op"], "test");
    }
}

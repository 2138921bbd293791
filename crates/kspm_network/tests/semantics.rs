//! The NetworkPolicy semantics table (`semantics.yaml`): every case's answer must be the
//! expected one, with the expected deciding rules where the case names them.

use kspm_model::yaml::{Limits, parse_stream};
use kspm_model::{Node, Resource, Source};
use kspm_network::{EndpointSpec, NetworkModel, Port};

fn resources(text: &str, case: &str) -> Vec<Resource> {
    let (docs, errors) = parse_stream(text, &Limits::default());
    assert!(errors.is_empty(), "{case}: {errors:?}");
    docs.into_iter()
        .filter(|d| !d.root.is_null())
        .map(|d| {
            let source = Source {
                file: "case.yaml".into(),
                doc: d.index,
                origin: None,
            };
            Resource::from_node(d.root, source).unwrap_or_else(|e| panic!("{case}: {e}"))
        })
        .collect()
}

#[test]
fn semantics_table() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/semantics.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    let (docs, errors) = parse_stream(&text, &Limits::default());
    assert!(errors.is_empty(), "{errors:?}");
    let cases = docs[0].root.get("cases").and_then(Node::as_seq).unwrap();
    assert!(cases.len() >= 40, "the table must keep at least 40 cases");
    let mut failures = Vec::new();
    for case in cases {
        let s = |k: &str| case.get(k).and_then(Node::as_str).unwrap_or("").to_owned();
        let name = s("name");
        let model = NetworkModel::build(&resources(&s("manifest"), &name));
        let from = EndpointSpec::parse(&s("from")).unwrap();
        let to = EndpointSpec::parse(&s("to")).unwrap();
        let port = case
            .get("port")
            .and_then(Node::as_str)
            .map(|p| Port::parse(p).unwrap());
        let want = case.get("allowed").and_then(Node::as_bool).unwrap();
        let answer = model.query(&from, &to, port.as_ref());
        // The matrix takes shortcuts; it must agree with the full answer for every pair.
        let matrix = model.matrix();
        for (i, a) in matrix.namespaces.iter().enumerate() {
            for (j, b) in matrix.namespaces.iter().enumerate() {
                let full = model
                    .query(
                        &EndpointSpec::parse(a).unwrap(),
                        &EndpointSpec::parse(b).unwrap(),
                        None,
                    )
                    .allowed;
                if matrix.allowed[i][j] != full {
                    failures.push(format!(
                        "{name}: matrix {a} → {b} = {}, the query says {full}",
                        matrix.allowed[i][j]
                    ));
                }
            }
        }
        if answer.allowed != want {
            failures.push(format!(
                "{name}: allowed = {}, expected {want}",
                answer.allowed
            ));
            continue;
        }
        if let Some(by) = case.get("by").and_then(Node::as_seq) {
            let want: Vec<&str> = by.iter().filter_map(Node::as_str).collect();
            let pair = answer
                .pairs
                .iter()
                .find(|p| p.allowed == answer.allowed)
                .unwrap();
            let got: Vec<String> = pair
                .egress
                .allowed_by
                .iter()
                .chain(&pair.ingress.allowed_by)
                .map(ToString::to_string)
                .collect();
            if got != want {
                failures.push(format!("{name}: allowed by {got:?}, expected {want:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

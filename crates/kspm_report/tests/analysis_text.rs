//! The text of `kspm rbac` and `kspm network` answers, one snapshot per output, on the shipped
//! examples (the same files crates/kspm/tests/analysis.rs drives through the CLI).

use std::path::PathBuf;

use kspm_engine::Input;
use kspm_model::{Limits, Resource};
use kspm_network::{EndpointSpec, NetworkModel, Port};
use kspm_rbac::{RbacModel, Request, Subject, Workload, escalation};
use kspm_report::{network, rbac};

fn example(name: &str) -> Vec<Resource> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name);
    let (resources, diags) = kspm_engine::source::load(&[Input::Path(path)], &Limits::default());
    assert!(diags.is_empty(), "{diags:?}");
    resources
}

#[test]
fn rbac_text() {
    let resources = example("rbac-escalation.yaml");
    let model = RbacModel::build(&resources);
    let req = Request::parse("create", "deployments", Some("prod")).unwrap();
    insta::assert_snapshot!("who_can", rbac::who_can_table(&req, &model.who_can(&req)));
    let subject = Subject::parse("system:serviceaccount:ci:builder").unwrap();
    insta::assert_snapshot!(
        "permissions",
        rbac::permissions_table(&subject, &model.permissions(&subject))
    );
    let paths = escalation::paths(&model, &Workload::collect(&resources));
    insta::assert_snapshot!("paths", rbac::paths_table(&paths));
    insta::assert_snapshot!("graph_dot", rbac::graph_dot(&paths));
    insta::assert_snapshot!("graph_mermaid", rbac::graph_mermaid(&paths));
    insta::assert_snapshot!(
        "permissions_json",
        kspm_report::text::json(&rbac::permissions_json(
            &subject,
            &model.permissions(&subject)
        ))
    );
}

#[test]
fn network_text() {
    let resources = example("network-policies.yaml");
    let model = NetworkModel::build(&resources);
    let answer = model.query(
        &EndpointSpec::parse("front/app=web").unwrap(),
        &EndpointSpec::parse("payments/app=api").unwrap(),
        Some(&Port::parse("8080").unwrap()),
    );
    insta::assert_snapshot!("reachability", network::answer_text(&answer));
    insta::assert_snapshot!("matrix", network::matrix_table(&model.matrix()));
    insta::assert_snapshot!(
        "coverage",
        network::gaps_table(&kspm_network::coverage::gaps(&model))
    );
    insta::assert_snapshot!(
        "exposure",
        network::exposure_table(&kspm_network::exposure::exposed(&resources))
    );
}

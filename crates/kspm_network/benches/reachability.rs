//! Reachability benchmarks on a generated cluster: 2,000 pods (20 namespaces of 100
//! Deployments) and 500 NetworkPolicies (25 per namespace: a default-deny and rules by pod
//! labels, namespace labels and ports). Run: `cargo bench -p kspm_network --bench reachability`.

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kspm_model::yaml::{Limits, parse_stream};
use kspm_model::{Resource, Source};
use kspm_network::{EndpointSpec, NetworkModel, Port};

fn generate() -> String {
    let mut y = String::new();
    for ns in 0..20 {
        let _ = write!(
            y,
            "---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: ns-{ns}, labels: {{tier: t{}}}}}\n",
            ns % 4
        );
        for d in 0..100 {
            let _ = write!(
                y,
                "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: app-{d}, namespace: ns-{ns}}}\nspec:\n  template:\n    metadata: {{labels: {{app: app-{}, role: r{}}}}}\n    spec:\n      containers:\n      - name: a\n        image: a:1\n        ports: [{{name: http, containerPort: {}}}]\n",
                d % 25,
                d % 5,
                8000 + d % 10
            );
        }
        let _ = write!(
            y,
            "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: deny, namespace: ns-{ns}}}\nspec: {{podSelector: {{}}, policyTypes: [Ingress, Egress]}}\n"
        );
        for p in 0..24 {
            let _ = write!(
                y,
                "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: p-{p}, namespace: ns-{ns}}}\nspec:\n  podSelector: {{matchLabels: {{app: app-{p}}}}}\n  policyTypes: [Ingress, Egress]\n  ingress:\n  - from:\n    - podSelector: {{matchLabels: {{role: r{}}}}}\n    - namespaceSelector: {{matchLabels: {{tier: t{}}}}}\n      podSelector: {{matchExpressions: [{{key: app, operator: In, values: [app-{}, app-{}]}}]}}\n    ports: [{{port: http}}, {{port: 9000, endPort: 9100}}]\n  egress:\n  - to: [{{namespaceSelector: {{}}}}]\n    ports: [{{port: 53, protocol: UDP}}]\n  - to: [{{podSelector: {{matchLabels: {{app: app-{}}}}}}}]\n",
                p % 5,
                p % 4,
                (p + 1) % 25,
                (p + 2) % 25,
                (p + 3) % 25
            );
        }
    }
    y
}

fn resources() -> Vec<Resource> {
    let (docs, errors) = parse_stream(&generate(), &Limits::default());
    assert!(errors.is_empty());
    docs.into_iter()
        .map(|d| {
            let source = Source {
                file: "gen.yaml".into(),
                doc: d.index,
                origin: None,
            };
            Resource::from_node(d.root, source).unwrap()
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let resources = resources();
    let model = NetworkModel::build(&resources);
    assert_eq!(model.pods.len(), 2_000);
    assert_eq!(model.policies.len(), 500);
    let mut g = c.benchmark_group("network");
    g.sample_size(10);
    g.bench_function("build model (2,000 pods, 500 policies)", |b| {
        b.iter(|| NetworkModel::build(black_box(&resources)));
    });
    let from = EndpointSpec::parse("ns-1/app=app-3").unwrap();
    let to = EndpointSpec::parse("ns-2/app=app-4").unwrap();
    let port = Port::parse("8004/TCP").unwrap();
    g.bench_function("reachability, one query with a port (4 x 4 pods)", |b| {
        b.iter(|| model.query(black_box(&from), black_box(&to), Some(&port)));
    });
    g.bench_function("reachability, one query on any port", |b| {
        b.iter(|| model.query(black_box(&from), black_box(&to), None));
    });
    g.bench_function("namespace matrix (20 x 20)", |b| {
        b.iter(|| black_box(&model).matrix());
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

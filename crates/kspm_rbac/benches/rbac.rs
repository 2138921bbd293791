//! RBAC model benchmarks on a generated cluster: 5,000 roles and bindings (50 namespaces with
//! 45 Roles and 45 RoleBindings each, 250 ClusterRoles and 250 ClusterRoleBindings), 1,000
//! workloads. Run: `cargo bench -p kspm_rbac --bench rbac`.

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kspm_model::yaml::{Limits, parse_stream};
use kspm_model::{Resource, Source};
use kspm_rbac::{RbacModel, Request, Subject, Workload, escalation};

const VERBS: &[&str] = &[
    "get", "list", "watch", "create", "update", "patch", "delete",
];
const RESOURCES: &[(&str, &str)] = &[
    ("", "pods"),
    ("", "pods/log"),
    ("", "pods/exec"),
    ("", "configmaps"),
    ("", "secrets"),
    ("", "services"),
    ("apps", "deployments"),
    ("apps", "statefulsets"),
    ("batch", "jobs"),
    ("networking.k8s.io", "ingresses"),
];

/// A deterministic cluster's RBAC objects and workloads, as YAML.
fn generate() -> String {
    let mut y = String::new();
    let mut n = 0usize;
    let mut pick = |m: usize| {
        n = (n * 1_103_515_245 + 12_345) % (1 << 31);
        n % m
    };
    for ns in 0..50 {
        for r in 0..45 {
            let (g, res) = RESOURCES[pick(RESOURCES.len())];
            let (g2, res2) = RESOURCES[pick(RESOURCES.len())];
            let v1 = VERBS[pick(VERBS.len())];
            let v2 = VERBS[pick(VERBS.len())];
            let _ = write!(
                y,
                "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {{name: role-{r}, namespace: ns-{ns}}}\nrules:\n- {{apiGroups: [\"{g}\"], resources: [{res}], verbs: [{v1}, {v2}]}}\n- {{apiGroups: [\"{g2}\"], resources: [{res2}], verbs: [get, list]}}\n"
            );
            let sa = pick(20);
            let user = pick(200);
            let _ = write!(
                y,
                "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {{name: rb-{r}, namespace: ns-{ns}}}\nsubjects:\n- {{kind: ServiceAccount, name: sa-{sa}, namespace: ns-{ns}}}\n- {{kind: User, name: user-{user}}}\nroleRef: {{kind: Role, name: role-{r}}}\n"
            );
        }
        for w in 0..20 {
            let _ = write!(
                y,
                "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: app-{w}, namespace: ns-{ns}}}\nspec:\n  template:\n    spec:\n      serviceAccountName: sa-{w}\n      containers: [{{name: a, image: a:1}}]\n"
            );
        }
    }
    for c in 0..250 {
        let (g, res) = RESOURCES[pick(RESOURCES.len())];
        let v = VERBS[pick(VERBS.len())];
        let _ = write!(
            y,
            "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {{name: cr-{c}}}\nrules:\n- {{apiGroups: [\"{g}\"], resources: [{res}], verbs: [{v}]}}\n"
        );
        let subject = if c % 50 == 0 {
            format!(
                "{{kind: ServiceAccount, name: sa-{}, namespace: ns-{}}}",
                c % 20,
                c % 50
            )
        } else {
            format!("{{kind: Group, name: group-{}}}", c % 20)
        };
        let role = if c % 50 == 0 {
            "cluster-admin".to_owned()
        } else {
            format!("cr-{c}")
        };
        let _ = write!(
            y,
            "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {{name: crb-{c}}}\nsubjects:\n- {subject}\nroleRef: {{kind: ClusterRole, name: {role}}}\n"
        );
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
    let rbac = resources
        .iter()
        .filter(|r| r.group() == "rbac.authorization.k8s.io")
        .count();
    assert_eq!(rbac, 5_000);
    let mut g = c.benchmark_group("rbac");
    g.sample_size(10);
    g.bench_function("build model (5,000 roles and bindings)", |b| {
        b.iter(|| RbacModel::build(black_box(&resources)));
    });
    let model = RbacModel::build(&resources);
    let in_ns = Request::parse("create", "pods", Some("ns-7")).unwrap();
    g.bench_function("who-can create pods -n ns-7", |b| {
        b.iter(|| model.who_can(black_box(&in_ns)));
    });
    let anywhere = Request::parse("get", "secrets", None).unwrap();
    g.bench_function("who-can get secrets (any namespace)", |b| {
        b.iter(|| model.who_can(black_box(&anywhere)));
    });
    let sa = Subject::service_account("ns-3", "sa-4");
    g.bench_function("permissions of a service account", |b| {
        b.iter(|| model.permissions(black_box(&sa)));
    });
    let workloads = Workload::collect(&resources);
    g.bench_function("escalation paths (1,000 workloads)", |b| {
        b.iter(|| escalation::paths(black_box(&model), black_box(&workloads)));
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! The RBAC model against hand-checked manifests: matching semantics, scopes, aggregation,
//! implicit groups, missing roles, and escalation paths.

use kspm_model::yaml::{Limits, parse_stream};
use kspm_model::{Resource, Source};
use kspm_rbac::escalation::{self, Power};
use kspm_rbac::{RbacModel, Request, Subject, SubjectKind, Workload};

fn resources(text: &str) -> Vec<Resource> {
    let (docs, errors) = parse_stream(text, &Limits::default());
    assert!(errors.is_empty(), "{errors:?}");
    docs.into_iter()
        .map(|d| {
            Resource::from_node(
                d.root,
                Source {
                    file: "t.yaml".into(),
                    doc: d.index,
                    origin: None,
                },
            )
            .unwrap()
        })
        .collect()
}

const FIXTURE: &str = r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: pod-reader, namespace: team-a}
rules:
- apiGroups: [""]
  resources: [pods, pods/log]
  verbs: [get, list]
- apiGroups: [""]
  resources: [secrets]
  resourceNames: [app-config]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: read-pods, namespace: team-a}
subjects:
- {kind: User, name: alice, apiGroup: rbac.authorization.k8s.io}
- {kind: ServiceAccount, name: builder, namespace: team-a}
roleRef: {kind: Role, name: pod-reader, apiGroup: rbac.authorization.k8s.io}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: exec}
rules:
- apiGroups: [""]
  resources: [pods/exec]
  verbs: [create]
- apiGroups: ["*"]
  resources: ["*/scale"]
  verbs: [update]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: exec-b, namespace: team-b}
subjects:
- {kind: Group, name: dev}
roleRef: {kind: ClusterRole, name: exec}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: monitoring
aggregationRule:
  clusterRoleSelectors:
  - matchLabels: {rbac.example.com/aggregate-to-monitoring: "true"}
rules: []
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: monitoring-endpoints
  labels: {rbac.example.com/aggregate-to-monitoring: "true"}
rules:
- apiGroups: [""]
  resources: [endpoints]
  verbs: [get, list, watch]
- nonResourceURLs: ["/metrics", "/debug/*"]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: monitoring}
subjects:
- {kind: ServiceAccount, name: prometheus, namespace: mon}
- {kind: Group, name: "system:authenticated"}
roleRef: {kind: ClusterRole, name: monitoring}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: dangling, namespace: team-a}
subjects:
- {kind: User, name: bob}
roleRef: {kind: Role, name: does-not-exist}
"#;

fn names(model: &RbacModel, req: &Request) -> Vec<String> {
    model
        .who_can(req)
        .iter()
        .map(|a| a.subject.to_string())
        .collect()
}

#[test]
fn who_can_respects_namespaces_verbs_and_subresources() {
    let model = RbacModel::build(&resources(FIXTURE));
    let req = Request::parse("get", "pods", Some("team-a")).unwrap();
    assert_eq!(
        names(&model, &req),
        vec![
            "User alice",
            "Group system:masters",
            "ServiceAccount team-a/builder"
        ]
    );
    // Same verb in another namespace: the RoleBinding does not apply.
    let req = Request::parse("get", "pods", Some("team-b")).unwrap();
    assert_eq!(names(&model, &req), vec!["Group system:masters"]);
    // A verb the role lacks.
    let req = Request::parse("delete", "pods", Some("team-a")).unwrap();
    assert_eq!(names(&model, &req), vec!["Group system:masters"]);
    // Subresources are distinct: pods does not grant pods/exec, pods/log is granted.
    let req = Request::parse("create", "pods/exec", Some("team-a")).unwrap();
    assert_eq!(names(&model, &req), vec!["Group system:masters"]);
    let req = Request::parse("create", "pods/exec", Some("team-b")).unwrap();
    assert_eq!(
        names(&model, &req),
        vec!["Group dev", "Group system:masters"]
    );
    let req = Request::parse("get", "pods/log", Some("team-a")).unwrap();
    assert_eq!(model.who_can(&req).len(), 3);
    // `*/scale` matches any resource's scale subresource, and only that.
    let req = Request::parse("update", "deployments/scale", Some("team-b")).unwrap();
    assert_eq!(
        names(&model, &req),
        vec!["Group dev", "Group system:masters"]
    );
    let req = Request::parse("update", "deployments", Some("team-b")).unwrap();
    assert_eq!(names(&model, &req), vec!["Group system:masters"]);
}

/// Issue 15: impersonating users and groups is authorized without a namespace, so a RoleBinding
/// cannot grant it; `bind` on a ClusterRole is checked in the namespace of the RoleBinding being
/// created, so a Role there can grant it.
#[test]
fn who_can_impersonate_users_is_cluster_wide_and_bind_clusterroles_is_namespaced() {
    let model = RbacModel::build(&resources(
        r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: impersonator}
rules:
- {apiGroups: [""], resources: [users, groups, serviceaccounts], verbs: [impersonate]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: local-impersonator, namespace: team-a}
subjects: [{kind: User, name: alice}]
roleRef: {kind: ClusterRole, name: impersonator}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: global-impersonator}
subjects: [{kind: User, name: carol}]
roleRef: {kind: ClusterRole, name: impersonator}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: binder, namespace: team-a}
rules:
- {apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], resourceNames: [view], verbs: [bind]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: binder, namespace: team-a}
subjects: [{kind: User, name: dave}]
roleRef: {kind: Role, name: binder}
"#,
    ));
    for target in ["users", "groups"] {
        let req = Request::parse("impersonate", target, Some("team-a")).unwrap();
        assert_eq!(
            names(&model, &req),
            vec!["User carol", "Group system:masters"],
            "impersonate {target}"
        );
    }
    // Service accounts are namespaced: the RoleBinding counts in its namespace.
    let req = Request::parse("impersonate", "serviceaccounts", Some("team-a")).unwrap();
    assert_eq!(
        names(&model, &req),
        vec!["User alice", "User carol", "Group system:masters"]
    );
    let bind = |ns: Option<&str>| {
        Request::parse("bind", "clusterroles", ns)
            .unwrap()
            .named(Some("view"))
    };
    assert_eq!(
        names(&model, &bind(Some("team-a"))),
        vec!["User dave", "Group system:masters"]
    );
    assert_eq!(
        names(&model, &bind(Some("team-b"))),
        vec!["Group system:masters"]
    );
    // Without a namespace: anywhere, each grant where it applies.
    assert_eq!(
        names(&model, &bind(None)),
        vec!["User dave", "Group system:masters"]
    );
}

#[test]
fn resource_names_restrict_and_via_names_binding_and_role() {
    let model = RbacModel::build(&resources(FIXTURE));
    let any = Request::parse("get", "secrets", Some("team-a")).unwrap();
    assert_eq!(names(&model, &any), vec!["Group system:masters"]);
    let named = any.clone().named(Some("app-config"));
    let allowed = model.who_can(&named);
    let alice = allowed
        .iter()
        .find(|a| a.subject == Subject::user("alice"))
        .unwrap();
    assert_eq!(alice.via[0].binding.name, "read-pods");
    assert_eq!(alice.via[0].role.name, "pod-reader");
    assert_eq!(alice.via[0].namespace.as_deref(), Some("team-a"));
    let other = any.named(Some("db-password"));
    assert_eq!(names(&model, &other), vec!["Group system:masters"]);
}

#[test]
fn aggregation_and_non_resource_urls() {
    let model = RbacModel::build(&resources(FIXTURE));
    // The aggregated role has no rules of its own; it gets its members'.
    let req = Request::parse("watch", "endpoints", Some("anywhere")).unwrap();
    assert_eq!(
        names(&model, &req),
        vec![
            "Group system:authenticated",
            "Group system:masters",
            "ServiceAccount mon/prometheus"
        ]
    );
    let url = Request::parse("get", "/debug/pprof", None).unwrap();
    assert_eq!(model.who_can(&url).len(), 3);
    let other = Request::parse("get", "/healthz", None).unwrap();
    assert_eq!(names(&model, &other), vec!["Group system:masters"]);
    let post = Request::parse("post", "/metrics", None).unwrap();
    assert_eq!(names(&model, &post), vec!["Group system:masters"]);
}

#[test]
fn permissions_include_implicit_groups() {
    let model = RbacModel::build(&resources(FIXTURE));
    let sa = Subject::parse("system:serviceaccount:team-a:builder").unwrap();
    assert_eq!(sa.kind, SubjectKind::ServiceAccount);
    let perms = model.permissions(&sa);
    // Own binding: 2 rules; through system:authenticated: the aggregated role's 2 rules.
    assert_eq!(perms.len(), 4);
    assert!(
        perms
            .iter()
            .filter(|p| p.through == Some(Subject::group("system:authenticated")))
            .count()
            == 2
    );
    let anon = Subject::parse("user:system:anonymous").unwrap();
    assert!(model.permissions(&anon).is_empty());
    let bob = Subject::parse("user:bob").unwrap();
    // bob's only binding points at a missing role: nothing from it, and it is reported.
    assert!(model.permissions(&bob).iter().all(|p| p.through.is_some()));
    assert_eq!(model.problems.len(), 1);
    assert!(
        model.problems[0]
            .message
            .contains("Role team-a/does-not-exist, which is not among the inputs")
    );
}

#[test]
fn subject_parsing() {
    assert_eq!(
        Subject::parse("sa:prod/deployer").unwrap(),
        Subject::service_account("prod", "deployer")
    );
    assert_eq!(Subject::parse("group:dev").unwrap(), Subject::group("dev"));
    assert!(Subject::parse("alice").is_err());
    assert!(Subject::parse("robot:x").is_err());
    assert!(Subject::parse("serviceaccount:nonamespace").is_err());
    // A User named like a service account is that service account.
    assert_eq!(
        Subject::user("system:serviceaccount:a:b"),
        Subject::service_account("a", "b")
    );
}

const ESCALATION: &str = r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: deployer, namespace: prod}
rules:
- apiGroups: [apps]
  resources: [deployments]
  verbs: [create, update]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: ci-deploys, namespace: prod}
subjects:
- {kind: ServiceAccount, name: builder, namespace: ci}
roleRef: {kind: Role, name: deployer}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: deployer-admin}
subjects:
- {kind: ServiceAccount, name: deployer, namespace: prod}
roleRef: {kind: ClusterRole, name: cluster-admin}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: prod}
spec:
  template:
    spec:
      serviceAccountName: deployer
      containers: [{name: api, image: api:1}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: shell, namespace: prod}
rules:
- apiGroups: [""]
  resources: [pods/exec]
  verbs: [create]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: oncall-shell, namespace: prod}
subjects:
- {kind: User, name: oncall}
roleRef: {kind: Role, name: shell}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: impersonator}
rules:
- apiGroups: [""]
  resources: [groups]
  verbs: [impersonate]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: impersonator}
subjects:
- {kind: User, name: mallory}
roleRef: {kind: ClusterRole, name: impersonator}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: binder, namespace: dev}
rules:
- apiGroups: [rbac.authorization.k8s.io]
  resources: [rolebindings]
  verbs: [create]
- apiGroups: [rbac.authorization.k8s.io]
  resources: [clusterroles]
  verbs: [bind]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: binder, namespace: dev}
subjects:
- {kind: Group, name: devs}
roleRef: {kind: Role, name: binder}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: helm, namespace: dev}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: helm-admin}
subjects:
- {kind: ServiceAccount, name: helm, namespace: dev}
roleRef: {kind: ClusterRole, name: cluster-admin}
"#;

#[test]
fn escalation_paths_cover_workloads_exec_impersonation_and_bind() {
    let res = resources(ESCALATION);
    let model = RbacModel::build(&res);
    let workloads = Workload::collect(&res);
    let paths = escalation::paths(&model, &workloads);
    let by_start = |s: &Subject| paths.iter().find(|p| &p.start == s);

    let builder = by_start(&Subject::service_account("ci", "builder")).expect("builder path");
    assert_eq!(
        builder.describe(),
        "ServiceAccount ci/builder can create deployments in prod (RoleBinding prod/ci-deploys → Role prod/deployer) → a pod can run as ServiceAccount prod/deployer which is bound to cluster-admin (ClusterRoleBinding deployer-admin → ClusterRole cluster-admin)"
    );
    assert_eq!(builder.holders, vec!["Deployment/prod/api"]);

    let oncall = by_start(&Subject::user("oncall")).expect("exec path");
    assert_eq!(
        oncall.steps[0].to,
        Power::Subject(Subject::service_account("prod", "deployer"))
    );
    assert_eq!(oncall.steps[0].workloads, vec!["Deployment/prod/api"]);

    let mallory = by_start(&Subject::user("mallory")).expect("impersonation path");
    assert_eq!(
        mallory.steps[0].to,
        Power::Subject(Subject::group("system:masters"))
    );

    let devs = by_start(&Subject::group("devs")).expect("bind path");
    assert_eq!(
        devs.steps[0].to,
        Power::NamespaceAdmin {
            namespace: "dev".into()
        }
    );
    assert_eq!(devs.steps.len(), 3);

    // Cluster-admins by their own binding are not escalation paths.
    assert!(by_start(&Subject::service_account("prod", "deployer")).is_none());
    // The graphs drawn from these paths are kspm_report's (`rbac::graph_dot`), snapshotted there.
}

#[test]
fn nodes_proxy_reaches_the_service_accounts_of_every_workload() {
    let text = format!(
        "{ESCALATION}---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {{name: kubelet-api}}\nrules:\n- {{apiGroups: [\"\"], resources: [nodes/proxy], verbs: [get]}}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {{name: monitoring}}\nsubjects: [{{kind: ServiceAccount, name: agent, namespace: mon}}]\nroleRef: {{kind: ClusterRole, name: kubelet-api}}\n"
    );
    let res = resources(&text);
    let model = RbacModel::build(&res);
    let paths = escalation::paths(&model, &Workload::collect(&res));
    let agent = paths
        .iter()
        .find(|p| p.start == Subject::service_account("mon", "agent"))
        .expect("nodes/proxy path");
    assert_eq!(
        agent.steps[0].to,
        Power::Subject(Subject::service_account("prod", "deployer"))
    );
    assert!(
        agent
            .describe()
            .contains("run commands in any pod through nodes/proxy")
    );
}

#[test]
fn reading_a_legacy_token_secret_is_a_hop() {
    let text = format!(
        "{ESCALATION}---\napiVersion: v1\nkind: Secret\ntype: kubernetes.io/service-account-token\nmetadata:\n  name: deployer-token\n  namespace: prod\n  annotations: {{kubernetes.io/service-account.name: deployer}}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {{name: one-secret, namespace: prod}}\nrules:\n- {{apiGroups: [\"\"], resources: [secrets], resourceNames: [deployer-token], verbs: [get]}}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {{name: reader, namespace: prod}}\nsubjects: [{{kind: User, name: reader}}]\nroleRef: {{kind: Role, name: one-secret}}\n"
    );
    let res = resources(&text);
    let model = RbacModel::build(&res);
    let paths = escalation::paths(&model, &Workload::collect(&res));
    let reader = paths
        .iter()
        .find(|p| p.start == Subject::user("reader"))
        .expect("token secret path");
    assert!(
        reader
            .describe()
            .starts_with("User reader can read Secret prod/deployer-token (RoleBinding prod/reader → Role prod/one-secret) → the legacy token of ServiceAccount prod/deployer"),
        "{}",
        reader.describe()
    );
}

#[test]
fn no_escalation_without_power() {
    let text = ESCALATION.replace("name: cluster-admin}", "name: view}");
    let res = resources(&text);
    let model = RbacModel::build(&res);
    let paths = escalation::paths(&model, &Workload::collect(&res));
    // Only the impersonation of groups (system:masters) still leads to cluster-admin.
    let starts: Vec<String> = paths.iter().map(|p| p.start.to_string()).collect();
    assert_eq!(starts, vec!["User mallory"]);
}

#[test]
fn answers_do_not_depend_on_input_order() {
    let mut res = resources(ESCALATION);
    let describe = |res: &[Resource]| {
        let model = RbacModel::build(res);
        let paths: Vec<String> = escalation::paths(&model, &Workload::collect(res))
            .iter()
            .map(escalation::Path::describe)
            .collect();
        let who = format!(
            "{:?}",
            model.who_can(&Request::parse("create", "pods", Some("prod")).unwrap())
        );
        (paths, who)
    };
    let forward = describe(&res);
    res.reverse();
    assert_eq!(describe(&res), forward);
}

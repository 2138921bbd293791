//! The cluster-wide analyses the dashboard shows beside the findings, computed from the same
//! resources a judgement reads: RBAC escalation paths (what `kspm rbac paths` prints) and
//! exposed workloads (what `kspm network exposure` prints). `kspm serve` reads only the store,
//! so the agent stores them, one JSON document per analysis, rewritten only when it changed
//! ([`kspm_store::Store::put_analysis`]).
//!
//! The documents are the analyses' own serialisations (the CLI's `--format json`), with the
//! CLI's phrases for each path, step and node beside them, capped so that one pathological cluster cannot grow
//! a row without bound; `truncated` says how many were left out.

use std::borrow::Borrow;

use kspm_model::Resource;
use kspm_rbac::escalation;
use kspm_rbac::{RbacModel, Workload};
use kspm_store::{AnalysisKind, Store, StoreError};
use serde_json::{Value as Json, json};

/// The most escalation paths (exposed workloads) a document holds.
pub const MAX_PATHS: usize = 500;
pub const MAX_EXPOSED: usize = 2_000;

/// The analyses of `resources` (the objects of one judgement of the whole cluster, owned or
/// borrowed from what the agent holds).
pub fn documents<R: std::borrow::Borrow<Resource>>(resources: &[R]) -> Vec<(AnalysisKind, Json)> {
    let all = || resources.iter().map(Borrow::borrow);
    let model = RbacModel::build(all());
    let paths = escalation::paths(&model, &Workload::collect(all()));
    let exposed = kspm_network::exposure::exposed(all());
    let rbac = json!({
        "paths": paths
            .iter()
            .take(MAX_PATHS)
            .map(|p| {
                // The path as `--format json` gives it, with the CLI's phrases beside (the
                // dashboard shows them as they are, never re-deriving them from the parts).
                let mut v = serde_json::to_value(p).expect("a path serializes");
                v["description"] = p.describe().into();
                v["start_label"] = p.start.to_string().into();
                for (step, e) in v["steps"].as_array_mut().into_iter().flatten().zip(&p.steps) {
                    step["text"] = e.describe().into();
                    step["from_label"] = e.from.to_string().into();
                    step["to_label"] = e.to.to_string().into();
                }
                v
            })
            .collect::<Vec<_>>(),
        "truncated": paths.len().saturating_sub(MAX_PATHS),
        "problems": model.problems.iter().take(MAX_PATHS).map(ToString::to_string).collect::<Vec<_>>(),
    });
    let network = json!({
        "exposed": exposed.iter().take(MAX_EXPOSED).collect::<Vec<_>>(),
        "truncated": exposed.len().saturating_sub(MAX_EXPOSED),
    });
    vec![(AnalysisKind::Rbac, rbac), (AnalysisKind::Network, network)]
}

/// Computes the analyses of `resources` and stores those that changed; returns how many
/// documents were written.
pub async fn store(
    store: &Store,
    cluster: &str,
    resources: &[Resource],
    now: i64,
) -> Result<usize, StoreError> {
    write(store, cluster, documents(resources), now).await
}

/// Stores documents made by [`documents`] (those that changed); returns how many were written.
///
/// The split lets the agent compute the documents where its judgement holds the resources (a
/// synchronous judgement of the whole cluster, never of a few namespaces: the paths and the
/// exposure span namespaces) and write them after the store sync:
///
/// ```ignore
/// // in the judgement of everything, beside `Index::build(&resources)`:
/// judged.analyses = Some(analyses::documents(&resources));
/// // in lib.rs, after `judge_and_sync`, when `judged.analyses.take()` is `Some(docs)`:
/// analyses::write(&self.store, &self.cluster, docs, kspm_store::time::now()).await
/// ```
pub async fn write(
    store: &Store,
    cluster: &str,
    documents: Vec<(AnalysisKind, Json)>,
    now: i64,
) -> Result<usize, StoreError> {
    let mut written = 0;
    for (kind, document) in documents {
        if store.put_analysis(cluster, kind, &document, now).await? {
            written += 1;
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use kspm_model::yaml::{Limits, parse_stream};
    use kspm_model::{Resource, Source};

    use super::*;

    const CLUSTER: &str = r"
apiVersion: v1
kind: ServiceAccount
metadata: {name: deployer, namespace: ci}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: pods, namespace: kube-system}
rules:
- {apiGroups: [''], resources: [pods], verbs: [create]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: deployer-pods, namespace: kube-system}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pods}
subjects:
- {kind: ServiceAccount, name: deployer, namespace: ci}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ops-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects:
- {kind: ServiceAccount, name: ops, namespace: kube-system}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx}]
";

    fn resources(text: &str) -> Vec<Resource> {
        let (docs, errors) = parse_stream(text, &Limits::default());
        assert!(errors.is_empty(), "{errors:?}");
        docs.into_iter()
            .filter_map(|d| {
                Resource::from_node(
                    d.root,
                    Source {
                        file: "cluster.yaml".into(),
                        doc: d.index,
                        origin: None,
                    },
                )
                .ok()
            })
            .collect()
    }

    #[test]
    fn the_documents_hold_what_the_cli_prints() {
        let docs = documents(&resources(CLUSTER));
        let rbac = &docs[0].1;
        let paths = rbac["paths"].as_array().unwrap();
        // ci/deployer can create pods in kube-system, running as kube-system/ops.
        let deployer = paths
            .iter()
            .find(|p| p["start"]["name"] == "deployer")
            .unwrap_or_else(|| panic!("{rbac:#}"));
        let text = deployer["description"].as_str().unwrap();
        assert!(
            text.contains("create pods") && text.contains("cluster-admin"),
            "{text}"
        );
        assert_eq!(rbac["truncated"], 0);
        let network = &docs[1].1;
        assert_eq!(network["exposed"][0]["workload"], "Deployment/shop/web");
        assert_eq!(network["truncated"], 0);
    }
}

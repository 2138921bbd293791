//! Coverage gaps and exposure on small hand-checked manifests.

use kspm_model::yaml::{Limits, parse_stream};
use kspm_model::{Resource, Source};
use kspm_network::NetworkModel;
use kspm_network::coverage::gaps;
use kspm_network::exposure::exposed;

fn resources(text: &str) -> Vec<Resource> {
    let (docs, errors) = parse_stream(text, &Limits::default());
    assert!(errors.is_empty(), "{errors:?}");
    docs.into_iter()
        .map(|d| {
            let source = Source {
                file: "t.yaml".into(),
                doc: d.index,
                origin: None,
            };
            Resource::from_node(d.root, source).unwrap()
        })
        .collect()
}

#[test]
fn coverage_gaps() {
    let res = resources(
        r"
apiVersion: v1
kind: Namespace
metadata: {name: empty}
---
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: iso, labels: {app: a}}
spec: {containers: [{name: a, image: a:1}]}
---
apiVersion: v1
kind: Pod
metadata: {name: agent, namespace: iso}
spec: {hostNetwork: true, containers: [{name: a, image: a:1}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: iso}
spec: {podSelector: {}, policyTypes: [Ingress]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: reopen, namespace: iso}
spec:
  podSelector: {matchLabels: {app: a}}
  ingress: [{from: [{namespaceSelector: {}}], ports: [{port: 80}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: open, namespace: iso}
spec:
  podSelector: {matchLabels: {app: b}}
  ingress: [{}]
",
    );
    let model = NetworkModel::build(&res);
    let got: Vec<(&str, String)> = gaps(&model)
        .into_iter()
        .map(|g| (g.kind, g.object))
        .collect();
    assert_eq!(
        got,
        vec![
            ("namespace-without-policy", "empty".to_owned()),
            ("pod-without-egress-policy", "Pod/iso/a".to_owned()),
            ("isolation-undone", "NetworkPolicy/iso/reopen".to_owned()),
            ("policy-allows-all", "NetworkPolicy/iso/open".to_owned()),
            ("isolation-undone", "NetworkPolicy/iso/open".to_owned()),
        ]
    );
}

#[test]
fn exposure_reasons() {
    let res = resources(
        r"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    metadata: {labels: {app: web, tier: front}}
    spec: {containers: [{name: w, image: w:1}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {type: NodePort, selector: {app: web}, externalIPs: [203.0.113.7], ports: [{port: 80}]}
---
apiVersion: extensions/v1beta1
kind: Ingress
metadata: {name: old, namespace: shop}
spec:
  tls: [{hosts: [shop.example.com]}]
  rules:
  - http: {paths: [{backend: {serviceName: web, servicePort: 80}}]}
---
apiVersion: v1
kind: Service
metadata: {name: other-namespace, namespace: elsewhere}
spec: {type: LoadBalancer, selector: {app: web}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: mon}
spec:
  template:
    spec:
      containers: [{name: a, image: a:1, ports: [{containerPort: 9100, hostPort: 9100}]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: internal, namespace: shop}
spec:
  template:
    metadata: {labels: {app: internal}}
    spec: {containers: [{name: i, image: i:1}]}
",
    );
    let got = exposed(&res);
    let names: Vec<&str> = got.iter().map(|e| e.workload.as_str()).collect();
    assert_eq!(names, vec!["DaemonSet/mon/agent", "Deployment/shop/web"]);
    assert_eq!(got[0].reasons, vec!["binds a port on the node (hostPort)"]);
    assert_eq!(
        got[1].reasons,
        vec![
            "Service shop/web is of type NodePort",
            "Service shop/web has external IPs",
            "Ingress shop/old routes to Service web",
        ]
    );
}

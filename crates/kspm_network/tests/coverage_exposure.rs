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

/// Cilium and Calico policies isolate the pods they select: coverage does not call those
/// namespaces and pods unprotected, and reachability says their rules are not modelled.
#[test]
fn cni_policies_count_as_isolation() {
    let res = resources(
        r"
apiVersion: v1
kind: Namespace
metadata: {name: cilium, labels: {team: a}}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: cilium, labels: {app: web}}
spec: {containers: [{name: a, image: a:1}]}
---
apiVersion: v1
kind: Pod
metadata: {name: other, namespace: cilium, labels: {app: other}}
spec: {containers: [{name: a, image: a:1}]}
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: web, namespace: cilium}
spec:
  endpointSelector: {matchLabels: {'k8s:app': web}}
  ingress: [{fromEndpoints: [{matchLabels: {app: client}}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: api, namespace: calico, labels: {app: api, tier: back}}
spec: {containers: [{name: a, image: a:1}]}
---
apiVersion: v1
kind: Pod
metadata: {name: front, namespace: calico, labels: {app: front}}
spec: {containers: [{name: a, image: a:1}]}
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: api, namespace: calico}
spec:
  selector: tier in {'back', 'data'} && app == 'api'
  types: [Ingress, Egress]
---
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: global}
spec: {containers: [{name: a, image: a:1}]}
---
apiVersion: crd.projectcalico.org/v1
kind: GlobalNetworkPolicy
metadata: {name: default-deny}
spec:
  namespaceSelector: has(projectcalico.org/name) && projectcalico.org/name not in {'kube-system', 'cilium'}
  selector: all()
  types: [Ingress]
---
apiVersion: v1
kind: Pod
metadata: {name: q, namespace: fancy}
spec: {containers: [{name: a, image: a:1}]}
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: odd, namespace: fancy}
spec:
  selector: app starts with 'x'
  types: [Egress]
",
    );
    let model = NetworkModel::build(&res);
    let got: Vec<(&str, String)> = gaps(&model)
        .into_iter()
        .map(|g| (g.kind, g.object))
        .collect();
    // The global Calico policy denies ingress everywhere but in kube-system and cilium; egress
    // stays open except where a policy selects for it. The unparsed selector is taken to select.
    let want = vec![
        ("pod-without-ingress-policy", "Pod/cilium/other".to_owned()),
        ("pod-without-egress-policy", "Pod/cilium/web".to_owned()),
        ("pod-without-egress-policy", "Pod/cilium/other".to_owned()),
        ("pod-without-egress-policy", "Pod/calico/front".to_owned()),
        ("pod-without-egress-policy", "Pod/global/p".to_owned()),
    ];
    let mut got_sorted = got.clone();
    got_sorted.sort();
    let mut want_sorted = want.clone();
    want_sorted.sort();
    assert_eq!(got_sorted, want_sorted, "{got:#?}");

    let web = model
        .pods
        .iter()
        .find(|p| p.name == "Pod/cilium/web")
        .unwrap();
    assert_eq!(
        model
            .cni_selecting(web, true)
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["CiliumNetworkPolicy/cilium/web"]
    );
    let answer = model.query(
        &kspm_network::EndpointSpec::parse("cilium/app=other").unwrap(),
        &kspm_network::EndpointSpec::parse("cilium/app=web").unwrap(),
        None,
    );
    assert_eq!(
        answer.pairs[0].ingress.not_modelled,
        ["CiliumNetworkPolicy/cilium/web"]
    );
}

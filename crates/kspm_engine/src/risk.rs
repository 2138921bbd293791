//! Risk: a finding's severity weighed by where it sits, so that teams fix the most serious
//! problems first. A privileged container matters more when a LoadBalancer sends internet
//! traffic to it; a missing limit matters more in `kube-system`.
//!
//! The score is the severity's base plus the points of each context factor, capped at 100:
//!
//! | factor | points | when |
//! |---|---|---|
//! | severity | critical 60, high 45, medium 30, low 15, info 5 | always |
//! | `exposed` | 20 (LoadBalancer, Ingress, external IPs), 15 (NodePort) | a Service or Ingress in the input sends outside traffic to the workload |
//! | `privileged` | 15 | a container of the workload runs privileged |
//! | `host-namespaces` | 10 | the workload shares the host's network, PID or IPC namespace |
//! | `kube-system` | 10 | the object lives in `kube-system` |
//! | `cluster-component` | 10 | the object configures a control-plane component, a kubelet or a node file |
//! | `service-account-privileges` | 20 | the workload's service account holds dangerous RBAC permissions ([`RiskContext`]) |
//!
//! A factor that restates the finding (privileged on `privileged-container`) is left out.
//! Context comes from the scanned input itself: the scan's own Roles and bindings tell which
//! service accounts are dangerous (`kspm_rbac::dangerous_service_accounts`, the RBAC model the
//! RBAC rules share), and [`RiskContext::service_account_privileges`] adds what the input cannot
//! show.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use kspm_model::selector::{LabelSelector, Labels, SelectorIndex, labels_at};
use kspm_model::view::pod_specs;
use kspm_model::{Finding, Node, Resource, ResourceId, RiskFactor, Severity};

use crate::scan::Scanned;

/// Facts about the cluster that the manifests alone do not show.
#[derive(Clone, Debug, Default)]
pub struct RiskContext {
    /// (namespace, service account) → what makes it dangerous, in words
    /// (`can create pods in every namespace`, `bound to cluster-admin`).
    pub service_account_privileges: HashMap<(String, String), Vec<String>>,
}

/// What a workload's context is made of, kept once its tree is dropped.
#[derive(Clone, Debug, Default)]
pub struct WorkloadFacts {
    /// The pod template's labels.
    pub labels: Labels,
    pub privileged: bool,
    /// `hostNetwork`, `hostPID`, `hostIPC` that are true.
    pub host_namespaces: Vec<&'static str>,
    pub service_account: String,
}

/// What a Service or Ingress exposes.
#[derive(Clone, Debug)]
pub enum ExposureFacts {
    Service {
        /// LoadBalancer, NodePort, or ClusterIP with external IPs.
        how: &'static str,
        points: u8,
        selector: LabelSelector,
    },
    /// Internal Services are kept so that an Ingress can reach workloads through them.
    InternalService {
        selector: LabelSelector,
    },
    Ingress {
        services: Vec<String>,
    },
}

/// The context facts of one resource, if it is a workload, Service or Ingress.
pub fn facts(r: &Resource) -> (Option<WorkloadFacts>, Option<ExposureFacts>) {
    match r.kind() {
        "Service" => {
            let spec = r.spec();
            let kind = spec
                .and_then(|s| s.get("type"))
                .and_then(Node::as_str)
                .unwrap_or("ClusterIP");
            let selector = LabelSelector::from_map(spec.and_then(|s| s.get("selector")));
            let external = spec
                .and_then(|s| s.get("externalIPs"))
                .and_then(Node::as_seq)
                .is_some_and(|s| !s.is_empty());
            let exposure = match kind {
                "LoadBalancer" => ExposureFacts::Service {
                    how: "LoadBalancer",
                    points: 20,
                    selector,
                },
                "NodePort" => ExposureFacts::Service {
                    how: "NodePort",
                    points: 15,
                    selector,
                },
                _ if external => ExposureFacts::Service {
                    how: "external IPs",
                    points: 20,
                    selector,
                },
                _ => ExposureFacts::InternalService { selector },
            };
            (None, Some(exposure))
        }
        "Ingress" => {
            let mut services = Vec::new();
            collect_backends(&r.root, &mut services);
            services.sort();
            services.dedup();
            (None, Some(ExposureFacts::Ingress { services }))
        }
        _ => {
            let pods = pod_specs(r);
            let Some(pod) = pods.first() else {
                return (None, None);
            };
            let mut host_namespaces = Vec::new();
            for (field, name) in [
                ("hostNetwork", "host network"),
                ("hostPID", "host PID"),
                ("hostIPC", "host IPC"),
            ] {
                if pod.get(field).and_then(Node::as_bool) == Some(true) {
                    host_namespaces.push(name);
                }
            }
            let privileged = pod
                .containers()
                .iter()
                .any(|c| c.security("privileged").and_then(Node::as_bool) == Some(true));
            let service_account = pod
                .get("serviceAccountName")
                .or_else(|| pod.get("serviceAccount"))
                .and_then(Node::as_str)
                .unwrap_or("default")
                .to_owned();
            let labels = labels_at(pod.meta.and_then(|m| m.get("labels")));
            (
                Some(WorkloadFacts {
                    labels,
                    privileged,
                    host_namespaces,
                    service_account,
                }),
                None,
            )
        }
    }
}

/// Every `service.name` (networking/v1) or `serviceName` (v1beta1) under an Ingress.
fn collect_backends(node: &Node, out: &mut Vec<String>) {
    if let Some(map) = node.as_map() {
        for e in map {
            match &*e.key {
                "serviceName" => {
                    if let Some(s) = e.value.as_str() {
                        out.push(s.to_owned());
                    }
                }
                "service" => {
                    if let Some(s) = e.value.get("name").and_then(Node::as_str) {
                        out.push(s.to_owned());
                    }
                }
                _ => collect_backends(&e.value, out),
            }
        }
    } else if let Some(seq) = node.as_seq() {
        for item in seq {
            collect_backends(item, out);
        }
    }
}

/// The severity's share of the score.
pub const fn base(severity: Severity) -> u8 {
    match severity {
        Severity::Critical => 60,
        Severity::High => 45,
        Severity::Medium => 30,
        Severity::Low => 15,
        Severity::Info => 5,
    }
}

type Key<'a> = (&'a str, usize, &'a ResourceId);

/// Whether a context factor says what the finding itself says.
fn restates(factor: &str, slug: &str) -> bool {
    match factor {
        "privileged" => slug == "privileged-container",
        "host-namespaces" => matches!(slug, "host-pid" | "host-ipc" | "host-network"),
        _ => false,
    }
}

/// A map looked up once per finding: foldhash (seeded per process, as std's) rather than the
/// slower SipHash.
type Fast<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// The Services and Ingresses of one namespace, indexed so that a workload meets only the
/// Services that can select it: a namespace with thousands of Services and workloads must not
/// try every pair.
#[derive(Default)]
struct Exposures<'a> {
    /// Services in input order: name, and (how, points) when they reach outside the cluster.
    services: Vec<(&'a str, Option<(&'static str, u8)>)>,
    /// Their selectors, numbered as `services`.
    selectors: SelectorIndex,
    /// Service name → the Ingresses that name it as a backend, in input order.
    ingresses: Fast<&'a str, Vec<&'a str>>,
}

impl<'a> Exposures<'a> {
    fn add_service(&mut self, name: &'a str, e: &'a ExposureFacts) {
        let (selector, outside) = match e {
            ExposureFacts::Service {
                how,
                points,
                selector,
            } => (selector, Some((*how, *points))),
            ExposureFacts::InternalService { selector } => (selector, None),
            ExposureFacts::Ingress { .. } => return,
        };
        self.services.push((name, outside));
        // A Service's `spec.selector` (a plain map): an empty or missing one selects nothing
        // (the Service's endpoints are managed by hand).
        self.selectors
            .push((!selector.is_empty()).then(|| selector.clone()));
    }
}

/// Sets every finding's risk from its severity and its object's context.
pub fn assign(findings: &mut [Finding], scanned: &[Scanned], ctx: &RiskContext) {
    use rayon::prelude::*;
    // Namespace-less objects meet only those of their directory, never `default`'s.
    let namespaces: Vec<std::borrow::Cow<'_, str>> = scanned
        .iter()
        .map(|s| {
            kspm_model::resource::join_namespace(
                &s.id.kind,
                s.id.namespace.as_deref(),
                &s.source.file,
            )
        })
        .collect();
    let mut exposures: Fast<&str, Exposures<'_>> = Fast::default();
    for (s, ns) in scanned.iter().zip(&namespaces) {
        let ns: &str = ns;
        match s.exposure.as_deref() {
            Some(ExposureFacts::Ingress { services: backends }) => {
                let ingresses = &mut exposures.entry(ns).or_default().ingresses;
                for b in backends {
                    ingresses.entry(b.as_str()).or_default().push(&s.id.name);
                }
            }
            Some(e) => exposures.entry(ns).or_default().add_service(&s.id.name, e),
            None => {}
        }
    }
    let context = |i: usize| {
        let (s, ns): (&Scanned, &str) = (&scanned[i], &namespaces[i]);
        let mut factors = Vec::new();
        if let Some(w) = s.workload.as_deref() {
            // The strongest exposure counts; the detail names every path in.
            let mut paths: BTreeMap<String, u8> = BTreeMap::new();
            if let Some(exp) = exposures.get(ns) {
                for i in exp.selectors.matching(&w.labels) {
                    let (name, outside) = exp.services[i];
                    if let Some((how, points)) = outside {
                        paths.insert(format!("Service {ns}/{name} ({how})"), points);
                    }
                    for ingress in exp.ingresses.get(name).into_iter().flatten() {
                        paths.insert(format!("Ingress {ns}/{ingress} via Service {name}"), 20);
                    }
                }
            }
            if let Some(points) = paths.values().max() {
                let list: Vec<&str> = paths.keys().map(String::as_str).collect();
                factors.push(RiskFactor {
                    factor: "exposed",
                    points: *points,
                    detail: format!(
                        "reachable from outside the cluster through {}",
                        list.join(", ")
                    ),
                });
            }
            if w.privileged {
                factors.push(RiskFactor {
                    factor: "privileged",
                    points: 15,
                    detail: "a container runs privileged: a compromise is a node compromise".into(),
                });
            }
            if !w.host_namespaces.is_empty() {
                factors.push(RiskFactor {
                    factor: "host-namespaces",
                    points: 10,
                    detail: format!("shares the node's {}", w.host_namespaces.join(", ")),
                });
            }
            let key = (ns.to_owned(), w.service_account.clone());
            if let Some(what) = ctx.service_account_privileges.get(&key) {
                factors.push(RiskFactor {
                    factor: "service-account-privileges",
                    points: 20,
                    detail: format!(
                        "runs as service account {ns}/{}, which {}",
                        w.service_account,
                        what.join("; ")
                    ),
                });
            }
        }
        if !s.components.is_empty() {
            let names: Vec<&str> = s.components.iter().map(|c| c.as_str()).collect();
            factors.push(RiskFactor {
                factor: "cluster-component",
                points: 10,
                detail: format!(
                    "configures {}: a weakness here is a weakness of every workload it serves",
                    names.join(", ")
                ),
            });
        }
        if s.id.namespace.as_deref() == Some("kube-system") {
            factors.push(RiskFactor {
                factor: "kube-system",
                points: 10,
                detail: "lives in kube-system, next to the cluster's own components".into(),
            });
        }
        (!factors.is_empty()).then(|| {
            let key: Key<'_> = (&s.source.file, s.source.doc, &s.id);
            (key, Arc::<[RiskFactor]>::from(factors))
        })
    };
    let found: Vec<_> = (0..scanned.len())
        .into_par_iter()
        .filter_map(context)
        .collect();
    // In input order, so that of two objects with one key the later wins, as it always has.
    let contexts: Fast<Key<'_>, Arc<[RiskFactor]>> = found.into_iter().collect();
    findings.par_iter_mut().for_each(|f| {
        let mut factors = contexts
            .get(&(&*f.source.file, f.source.doc, &*f.resource))
            .cloned()
            .unwrap_or_default();
        // A finding is not its own context: a privileged container is not riskier for being
        // privileged.
        if factors.iter().any(|x| restates(x.factor, f.slug)) {
            factors = factors
                .iter()
                .filter(|x| !restates(x.factor, f.slug))
                .cloned()
                .collect();
        }
        let total: u32 =
            u32::from(base(f.severity)) + factors.iter().map(|x| u32::from(x.points)).sum::<u32>();
        f.risk = kspm_model::Risk {
            score: total.min(100) as u8,
            factors,
        };
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Input, ScanOptions, scan};

    const INPUT: &str = "
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  template:
    metadata: {labels: {app: api, tier: web}}
    spec:
      serviceAccountName: deployer
      containers:
      - name: api
        image: nginx:1.27
        securityContext: {privileged: true}
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec: {type: NodePort, selector: {app: api}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: internal, namespace: shop}
spec: {selector: {tier: web}, ports: [{port: 80}]}
---
apiVersion: networking.k8s.io/v1beta1
kind: Ingress
metadata: {name: public, namespace: shop}
spec:
  backend: {serviceName: internal, servicePort: 80}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: quiet, namespace: other}
spec:
  template:
    metadata: {labels: {app: api}}
    spec:
      containers: [{name: q, image: nginx:1.27}]
";

    fn run(ctx: RiskContext) -> crate::ScanResult {
        let opts = ScanOptions {
            inputs: vec![Input::Text {
                name: "risk.yaml".into(),
                text: INPUT.into(),
            }],
            rules: vec![
                kspm_rules::find_rule("privileged-container").unwrap(),
                kspm_rules::find_rule("image-without-digest").unwrap(),
            ],
            risk: ctx,
            ..ScanOptions::default()
        };
        scan(&opts)
    }

    fn factors(f: &Finding) -> Vec<&'static str> {
        f.risk.factors.iter().map(|x| x.factor).collect()
    }

    #[test]
    fn context_raises_risk_and_explains_it() {
        let result = run(RiskContext::default());
        let digest = |name: &str| {
            result
                .findings
                .iter()
                .find(|f| f.slug == "image-without-digest" && f.resource.name == name)
                .unwrap()
        };
        let api = digest("api");
        // Exposed through the Ingress (via the internal Service, 20) and the NodePort (15): the
        // strongest counts, and the detail names both paths.
        assert_eq!(factors(api), ["exposed", "privileged"]);
        assert_eq!(api.risk.factors[0].points, 20);
        let detail = &api.risk.factors[0].detail;
        assert!(
            detail.contains("Ingress shop/public via Service internal"),
            "{detail}"
        );
        assert!(detail.contains("Service shop/api (NodePort)"), "{detail}");
        assert_eq!(api.risk.score, base(Severity::Low) + 20 + 15);
        // Same labels in another namespace: no Service selects it there.
        let quiet = digest("quiet");
        assert!(quiet.risk.factors.is_empty());
        assert_eq!(quiet.risk.score, base(Severity::Low));
        // A finding is not its own context: privileged-container gets no `privileged` factor.
        let privileged = result
            .findings
            .iter()
            .find(|f| f.slug == "privileged-container")
            .unwrap();
        assert_eq!(factors(privileged), ["exposed"]);
        // Ordered by risk.
        assert!(
            result
                .findings
                .windows(2)
                .all(|w| w[0].risk.score >= w[1].risk.score)
        );
    }

    /// Services are found by the first label their selector requires; the rest of the
    /// selector must still hold, and a Service selecting nothing never counts.
    #[test]
    fn only_services_whose_whole_selector_holds_expose_a_workload() {
        let text = "
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    metadata: {labels: {app: web, tier: front, track: stable}}
    spec:
      containers: [{name: w, image: nginx:1.27}]
---
apiVersion: v1
kind: Service
metadata: {name: by-track, namespace: shop}
spec: {type: LoadBalancer, selector: {track: stable, app: web}}
---
apiVersion: v1
kind: Service
metadata: {name: canary, namespace: shop}
spec: {type: LoadBalancer, selector: {app: web, track: canary}}
---
apiVersion: v1
kind: Service
metadata: {name: everything, namespace: shop}
spec: {type: LoadBalancer, selector: {}}
---
apiVersion: v1
kind: Service
metadata: {name: bad-value, namespace: shop}
spec: {type: LoadBalancer, selector: {app: web, tier: 1}}
---
apiVersion: v1
kind: Service
metadata: {name: port, namespace: shop}
spec: {type: NodePort, selector: {tier: front}}
";
        let opts = ScanOptions {
            inputs: vec![Input::Text {
                name: "risk.yaml".into(),
                text: text.into(),
            }],
            rules: vec![kspm_rules::find_rule("image-without-digest").unwrap()],
            ..ScanOptions::default()
        };
        let result = scan(&opts);
        let f = result.findings.first().unwrap();
        assert_eq!(factors(f), ["exposed"]);
        assert_eq!(f.risk.factors[0].points, 20);
        assert_eq!(
            f.risk.factors[0].detail,
            "reachable from outside the cluster through Service shop/by-track (LoadBalancer), \
             Service shop/port (NodePort)"
        );
    }

    #[test]
    fn service_account_privileges_come_from_the_context_input() {
        let mut ctx = RiskContext::default();
        ctx.service_account_privileges.insert(
            ("shop".into(), "deployer".into()),
            vec!["can create pods in every namespace".into()],
        );
        let result = run(ctx);
        let f = result
            .findings
            .iter()
            .find(|f| f.slug == "image-without-digest" && f.resource.name == "api")
            .unwrap();
        let sa = f
            .risk
            .factors
            .iter()
            .find(|x| x.factor == "service-account-privileges")
            .unwrap();
        assert_eq!(sa.points, 20);
        assert!(sa.detail.contains("shop/deployer") && sa.detail.contains("create pods"));
    }

    #[test]
    fn service_accounts_bound_to_cluster_admin_in_the_scan_raise_risk() {
        let text = "apiVersion: apps/v1
kind: Deployment
metadata: {name: ci, namespace: build}
spec:
  template:
    spec:
      serviceAccountName: runner
      containers: [{name: c, image: nginx:1.27}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: plain, namespace: build}
spec:
  template:
    spec:
      serviceAccountName: other
      containers: [{name: c, image: nginx:1.27}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: runner-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: runner, namespace: build}]
";
        let result = scan(&ScanOptions {
            inputs: vec![Input::Text {
                name: "rbac-risk.yaml".into(),
                text: text.into(),
            }],
            rules: vec![kspm_rules::find_rule("image-without-digest").unwrap()],
            ..ScanOptions::default()
        });
        let on = |name: &str| {
            result
                .findings
                .iter()
                .find(|f| f.resource.name == name)
                .unwrap()
        };
        let ci = on("ci");
        let sa = ci
            .risk
            .factors
            .iter()
            .find(|x| x.factor == "service-account-privileges")
            .unwrap_or_else(|| panic!("{:?}", ci.risk));
        assert!(
            sa.detail.contains("build/runner") && sa.detail.contains("cluster-admin"),
            "{}",
            sa.detail
        );
        assert!(!factors(on("plain")).contains(&"service-account-privileges"));
        assert!(ci.risk.score > on("plain").risk.score);
    }
}

//! One finding per problem. Some rules imply others on the same part of an object (a privileged
//! container has every capability, so "capabilities not dropped" adds nothing) or repeat them
//! (a hostPath volume is also a volume type the restricted profile forbids). Reported apart, they
//! bury the problem a person has to fix under findings that go away with it.
//!
//! Folding keeps the strongest finding of each such group and moves the others into its
//! [`Finding::folded`] list, where they remain evidence: reports can show them (`--show-folded`,
//! the JSON `folded` list), and compliance still counts their rules' controls as failed. Rules
//! stay independent (each one's cases run alone); only this table knows how they relate.

use kspm_model::{Finding, Folded, Seg};

/// The part of an object two findings must share for one to fold into the other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The same field.
    Field,
    /// The same container (`...containers[i]`, `initContainers[i]`, `ephemeralContainers[i]`).
    Container,
    /// The same volume (`...volumes[i]`).
    Volume,
    /// The same entry of a Role's `rules`.
    RbacRule,
    /// Anywhere on the same object.
    Object,
}

impl Scope {
    /// How many leading segments of `path` name the part; `None` when the path is not inside
    /// such a part (a pod-level field has no container).
    fn prefix(self, path: &[Seg]) -> Option<usize> {
        let after_item = |keys: &[&str]| {
            path.windows(2)
                .position(|w| {
                    matches!((&w[0], &w[1]), (Seg::Key(k), Seg::Index(_)) if keys.contains(&&**k))
                })
                .map(|i| i + 2)
        };
        match self {
            Scope::Field => Some(path.len()),
            Scope::Container => {
                after_item(&["containers", "initContainers", "ephemeralContainers"])
            }
            Scope::Volume => after_item(&["volumes"]),
            Scope::RbacRule => {
                matches!(path, [Seg::Key(k), Seg::Index(_), ..] if &**k == "rules").then_some(2)
            }
            Scope::Object => Some(0),
        }
    }
}

/// One relation: within one [`Scope`], the strongest finding of `into` absorbs those of `folds`.
#[derive(Debug)]
pub struct Fold {
    /// The rules that absorb, in order of preference when several fired (the highest severity
    /// wins first, then this order).
    pub into: &'static [&'static str],
    /// The rules whose findings are absorbed. A code may be in both lists: the members of a
    /// group of duplicates absorb each other, and one remains.
    pub folds: &'static [&'static str],
    pub scope: Scope,
    /// Only a finding of `into` that names the whole part absorbs (RB003 on a whole rule
    /// entry means every verb on every resource; on one field it is a narrower wildcard).
    pub whole: bool,
    /// Why the folded findings add nothing, for the docs.
    pub why: &'static str,
}

/// The relations, applied in this order to what earlier ones left.
pub const FOLDS: &[Fold] = &[
    Fold {
        into: &["PS004"],
        folds: &["PS006", "PS009", "PS019"],
        scope: Scope::Container,
        whole: false,
        why: "a privileged container has every capability and may always gain privileges; the \
              API server even rejects allowPrivilegeEscalation: false beside privileged: true",
    },
    Fold {
        into: &["PS005"],
        folds: &["PS007"],
        scope: Scope::Field,
        whole: false,
        why: "a capability the baseline profile forbids is also one the restricted profile forbids",
    },
    Fold {
        into: &["PS025", "PS026", "PS010"],
        folds: &["PS026", "PS010", "PS018"],
        scope: Scope::Volume,
        whole: false,
        why: "one hostPath volume is one problem: the runtime socket, the sensitive path, the \
              host path and the forbidden volume type are named in one finding, at the highest \
              severity",
    },
    Fold {
        into: &["WL019"],
        folds: &["WL001", "WL002", "WL003", "WL004"],
        scope: Scope::Container,
        whole: false,
        why: "the missing requests and limits of one container are one finding",
    },
    Fold {
        into: &[
            "PS004", "PS019", "PS006", "PS020", "PS016", "PS027", "PS009",
        ],
        folds: &["WL016"],
        scope: Scope::Container,
        whole: false,
        why: "a container without a securityContext is already flagged by the securityContext \
              rules that name the settings it lacks",
    },
    Fold {
        into: &["WL010"],
        folds: &["WL011"],
        scope: Scope::Object,
        whole: false,
        why: "a pod that runs as the default service account with its token mounted is flagged \
              by the token rule",
    },
    Fold {
        into: &["RB003"],
        folds: &[
            "RB002", "RB004", "RB007", "RB008", "RB009", "RB010", "RB011", "RB012", "RB015",
            "RB016", "RB017", "RB018",
        ],
        scope: Scope::RbacRule,
        whole: true,
        why: "every verb on every resource in every API group is cluster-admin (or namespace \
              admin) already: the rights it includes are not separate findings",
    },
];

/// Folds the findings of one object (none suppressed: an exception hides only what it names,
/// and a suppressed finding absorbs nothing). Absorbed findings leave the list and are kept in
/// their absorber's `folded`, whose message then names them.
pub fn fold(findings: &mut Vec<Finding>) {
    let kept = fold_in_place(findings);
    findings.truncate(kept);
}

/// [`fold`] without a list of its own: the findings that stay are moved to the front of
/// `findings`, in order, and their number returned; the absorbed ones are left behind them.
/// For a scan that folds every object's findings where they lie.
pub fn fold_in_place(findings: &mut [Finding]) -> usize {
    if findings.len() < 2 {
        return findings.len();
    }
    let mut into: Vec<Option<usize>> = vec![None; findings.len()];
    for relation in FOLDS {
        fold_one(relation, findings, &mut into);
    }
    if into.iter().all(Option::is_none) {
        return findings.len();
    }
    // Follow chains (a finding absorbed by one that is absorbed in turn) to the one that stays.
    let root = |mut i: usize| {
        while let Some(j) = into[i] {
            i = j;
        }
        i
    };
    let mut moved: Vec<Vec<Folded>> = vec![Vec::new(); findings.len()];
    let mut fixes: Vec<Vec<(&'static str, kspm_model::Fix)>> = vec![Vec::new(); findings.len()];
    for i in 0..findings.len() {
        if into[i].is_some() {
            let f = &findings[i];
            let to = &mut moved[root(i)];
            to.push(Folded::of(f));
            to.extend(f.folded.iter().cloned());
            if let Some(fix) = &f.fix {
                fixes[root(i)].push((f.code, (**fix).clone()));
            }
        }
    }
    let mut kept = 0;
    for (i, (extra, mut extra_fixes)) in moved.into_iter().zip(fixes).enumerate() {
        if into[i].is_some() {
            continue;
        }
        let f = &mut findings[i];
        // The stronger finding's fix, when it has one, also carries out the folded ones' so
        // that fixing the one finding leaves none of them behind.
        if let Some(fix) = &mut f.fix {
            extra_fixes.sort_by_key(|(code, _)| *code);
            for (_, other) in extra_fixes {
                fix.description = format!("{}; {}", fix.description, other.description);
                for op in other.ops {
                    if !fix.ops.contains(&op) {
                        fix.ops.push(op);
                    }
                }
            }
        }
        if !extra.is_empty() {
            f.folded.extend(extra);
            f.folded
                .sort_by(|a, b| a.code.cmp(b.code).then_with(|| a.path.cmp(&b.path)));
            let mut names: Vec<String> = f
                .folded
                .iter()
                .map(|x| format!("{} {}", x.code, x.slug))
                .collect();
            names.dedup();
            f.message = format!("{} (also: {})", f.message, names.join(", "));
            f.message.shrink_to_fit();
        }
        findings.swap(kept, i);
        kept += 1;
    }
    kept
}

fn fold_one(relation: &Fold, findings: &[Finding], into: &mut [Option<usize>]) {
    if !findings.iter().any(|f| relation.into.contains(&f.code)) {
        return;
    }
    // Each finding's part (and path length) once, not once per pair compared.
    let scopes: Vec<Option<kspm_model::path::Segs>> = findings
        .iter()
        .map(|f| {
            let mut segs = f.path.segs();
            let n = relation.scope.prefix(&segs)?;
            segs.truncate(n);
            Some(segs)
        })
        .collect();
    let whole_path = |j: usize, scope: &kspm_model::path::Segs| {
        !relation.whole || findings[j].path.len() == scope.len()
    };
    for (i, strong) in findings.iter().enumerate() {
        let Some(rank) = relation.into.iter().position(|c| *c == strong.code) else {
            continue;
        };
        if into[i].is_some() {
            continue;
        }
        let Some(scope) = &scopes[i] else {
            continue;
        };
        if !whole_path(i, scope) {
            continue;
        }
        // Only the strongest of the absorbers in this part absorbs; ties go to the list order,
        // then to the first reported.
        let outranked = findings.iter().enumerate().any(|(j, other)| {
            j != i
                && into[j].is_none()
                && scopes[j].as_ref() == Some(scope)
                && whole_path(j, scope)
                && relation
                    .into
                    .iter()
                    .position(|c| *c == other.code)
                    .is_some_and(|r| {
                        (other.severity, std::cmp::Reverse(r), std::cmp::Reverse(j))
                            > (
                                strong.severity,
                                std::cmp::Reverse(rank),
                                std::cmp::Reverse(i),
                            )
                    })
        });
        if outranked {
            continue;
        }
        for (j, weak) in findings.iter().enumerate() {
            if j != i
                && into[j].is_none()
                && relation.folds.contains(&weak.code)
                && scopes[j].as_ref() == Some(scope)
            {
                into[j] = Some(i);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use kspm_model::yaml::{Limits, parse_stream};
    use kspm_model::{Finding, Index, Resource, Severity, Source};

    use crate::{RuleSet, Settings, check_resource, rules};

    /// Every rule on every object of `yaml`, folded per object as a scan folds them.
    fn scan(yaml: &str, select: impl Fn(&crate::Rule) -> bool) -> Vec<Finding> {
        let (docs, errors) = parse_stream(yaml, &Limits::default());
        assert!(errors.is_empty(), "{errors:?}");
        let resources: Vec<Resource> = docs
            .into_iter()
            .map(|d| {
                let source = Source {
                    file: "dir/f.yaml".into(),
                    doc: d.index,
                    origin: None,
                };
                Resource::from_node(d.root, source).unwrap()
            })
            .collect();
        let set = RuleSet::new(rules().iter().copied().filter(|r| select(r)));
        let index = Index::build(&resources);
        let mut all = Vec::new();
        for r in &resources {
            let mut findings = Vec::new();
            check_resource(&set, r, &index, &Settings::default(), &mut findings);
            super::fold(&mut findings);
            all.extend(findings);
        }
        all
    }

    fn defaults(r: &crate::Rule) -> bool {
        r.meta.default_enabled
    }

    fn codes(findings: &[Finding]) -> Vec<&str> {
        findings.iter().map(|f| f.code).collect()
    }

    fn folded(f: &Finding) -> Vec<&str> {
        f.folded.iter().map(|x| x.code).collect()
    }

    #[test]
    fn a_privileged_container_holds_what_it_implies() {
        let findings = scan(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: a}\nspec:\n  containers:\n  - name: c\n    image: nginx:1.27\n    securityContext: {privileged: true}\n  - name: d\n    image: nginx:1.27\n",
            defaults,
        );
        let codes = codes(&findings);
        let ps004 = findings.iter().find(|f| f.code == "PS004").unwrap();
        assert_eq!(folded(ps004), ["PS006", "PS009", "PS019"]);
        // Its fix carries out the folded findings' fixes too.
        let fix = ps004.fix.as_ref().unwrap();
        assert_eq!(fix.ops.len(), 4, "{fix:?}");
        assert!(
            fix.description
                .starts_with("set privileged to false; add \"ALL\""),
            "{fix:?}"
        );
        assert!(
            ps004
                .message
                .contains("(also: PS006 capabilities-not-dropped")
        );
        // The unprivileged container keeps its own findings: folding stays within a container.
        for code in ["PS006", "PS009", "PS019"] {
            assert_eq!(codes.iter().filter(|c| **c == code).count(), 1, "{code}");
        }
        // A container with no securityContext at all: WL016 folds into the strongest
        // securityContext finding of that container.
        let d = findings
            .iter()
            .filter(|f| f.path.to_string().starts_with("spec.containers[1]"))
            .find(|f| folded(f).contains(&"WL016"));
        assert!(d.is_some(), "{codes:?}");
        assert!(!codes.contains(&"WL016"));
    }

    #[test]
    fn one_finding_per_runtime_socket_volume_at_the_highest_severity() {
        let findings = scan(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: a}\nspec:\n  containers: [{name: c, image: nginx:1.27}]\n  volumes:\n  - {name: sock, hostPath: {path: /var/run/docker.sock}}\n  - {name: logs, hostPath: {path: /var/log}}\n",
            defaults,
        );
        let on = |v: &str| -> Vec<&Finding> {
            findings
                .iter()
                .filter(|f| f.path.to_string().starts_with(v))
                .collect()
        };
        let sock = on("spec.volumes[0]");
        assert_eq!(sock.len(), 1, "{:?}", codes(&findings));
        assert_eq!(sock[0].code, "PS025");
        assert_eq!(sock[0].severity, Severity::Critical);
        assert_eq!(folded(sock[0]), ["PS010", "PS018"]);
        let logs = on("spec.volumes[1]");
        assert_eq!(logs.len(), 1);
        assert_eq!(logs[0].code, "PS026");
        assert_eq!(folded(logs[0]), ["PS010", "PS018"]);
    }

    #[test]
    fn a_repeated_capability_is_one_finding() {
        let findings = scan(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: a}\nspec:\n  containers:\n  - name: c\n    image: nginx:1.27\n    securityContext:\n      capabilities: {drop: [ALL], add: [SYS_ADMIN, NET_BIND_SERVICE, CHOWN]}\n",
            defaults,
        );
        let ps005: Vec<_> = findings.iter().filter(|f| f.code == "PS005").collect();
        assert_eq!(ps005.len(), 1);
        assert_eq!(folded(ps005[0]), ["PS007"]);
        // CHOWN is allowed by baseline, forbidden by restricted: PS007 stays on its own.
        let ps007: Vec<_> = findings.iter().filter(|f| f.code == "PS007").collect();
        assert_eq!(ps007.len(), 1);
        assert_eq!(
            ps007[0].path.to_string(),
            "spec.containers[0].securityContext.capabilities.add[2]"
        );
    }

    #[test]
    fn everything_on_everything_is_one_critical_finding_cluster_wide() {
        let role = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: god}\nrules:\n- {apiGroups: ['*'], resources: ['*'], verbs: ['*']}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: god}\nsubjects: [{kind: ServiceAccount, name: op, namespace: ops}]\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: god}\n";
        let findings = scan(role, defaults);
        let on_role: Vec<_> = findings
            .iter()
            .filter(|f| f.resource.kind == "ClusterRole")
            .collect();
        assert_eq!(on_role.len(), 1, "{:?}", codes(&findings));
        assert_eq!(on_role[0].code, "RB003");
        assert_eq!(on_role[0].severity, Severity::Critical);
        assert!(on_role[0].message.contains("cluster-admin equivalent"));
        let f = folded(on_role[0]);
        for code in [
            "RB002", "RB004", "RB007", "RB009", "RB011", "RB012", "RB015", "RB017", "RB018",
        ] {
            assert!(f.contains(&code), "{code} not folded: {f:?}");
        }
        // Bound only in one namespace, the same role is namespace admin: one step lower.
        let namespaced = role.replace(
            "kind: ClusterRoleBinding\nmetadata: {name: god}",
            "kind: RoleBinding\nmetadata: {name: god, namespace: team}",
        );
        let findings = scan(&namespaced, defaults);
        let rb003 = findings.iter().find(|f| f.code == "RB003").unwrap();
        assert_eq!(rb003.severity, Severity::High);
        assert!(rb003.message.contains("admin of its namespace"));
    }

    #[test]
    fn named_objects_and_one_namespace_lower_an_rbac_grant() {
        let findings = scan(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: all-secrets}\nrules:\n- {apiGroups: [''], resources: [secrets], verbs: [get]}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: one-secret}\nrules:\n- {apiGroups: [''], resources: [secrets], verbs: [get], resourceNames: [tls]}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: ns-secrets, namespace: a}\nrules:\n- {apiGroups: [''], resources: [secrets], verbs: [get]}\n",
            |r| r.meta.code == "RB002",
        );
        let severity = |name: &str| {
            findings
                .iter()
                .find(|f| f.resource.name == name)
                .map(|f| f.severity)
        };
        assert_eq!(severity("all-secrets"), Some(Severity::High));
        assert_eq!(severity("one-secret"), Some(Severity::Medium));
        assert_eq!(severity("ns-secrets"), Some(Severity::Medium));
    }

    #[test]
    fn resource_rules_fold_into_one_finding_per_container() {
        let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: a}\nspec:\n  containers: [{name: c, image: nginx:1.27}]\n";
        let findings = scan(pod, |r| {
            r.meta.code.starts_with("WL00") || r.meta.code == "WL019"
        });
        let wl: Vec<_> = findings
            .iter()
            .filter(|f| ["WL001", "WL002", "WL003", "WL004", "WL019"].contains(&f.code))
            .collect();
        assert_eq!(wl.len(), 1, "{:?}", codes(&findings));
        assert_eq!(wl[0].code, "WL019");
        assert_eq!(folded(wl[0]), ["WL001", "WL002", "WL003", "WL004"]);
        assert!(
            wl[0]
                .message
                .contains("CPU request, memory request, memory limit")
        );
        // By default, WL019 alone: CPU limits are not asked for.
        let findings = scan(pod, defaults);
        let c = codes(&findings);
        assert!(c.contains(&"WL019") && !c.contains(&"WL003"), "{c:?}");
    }

    #[test]
    fn the_default_account_finding_folds_into_the_token_finding() {
        let findings = scan(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: a}\nspec:\n  containers: [{name: c, image: nginx:1.27}]\n",
            |r| ["WL010", "WL011"].contains(&r.meta.code),
        );
        assert_eq!(codes(&findings), ["WL010"]);
        assert_eq!(folded(&findings[0]), ["WL011"]);
        // Asked for explicitly, the token is not a finding; running as `default` still is.
        let findings = scan(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: a}\nspec:\n  automountServiceAccountToken: true\n  containers: [{name: c, image: nginx:1.27}]\n",
            |r| ["WL010", "WL011"].contains(&r.meta.code),
        );
        assert_eq!(codes(&findings), ["WL011"]);
    }
}

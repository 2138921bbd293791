//! Field paths such as `spec.template.spec.containers[0].securityContext.privileged`.

use std::borrow::Cow;
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Seg {
    /// A mapping key; the common Kubernetes field names are shared, not allocated ([`key`]).
    Key(Cow<'static, str>),
    Index(usize),
}

/// Field names that findings' paths repeat (every finding has a path, a large scan hundreds of
/// thousands): kept as references to this table instead of one allocation per key per path.
/// Sorted, for a binary search.
const FIELD_NAMES: &[&str] = &[
    "add",
    "affinity",
    "allowPrivilegeEscalation",
    "annotations",
    "apiGroups",
    "apiVersion",
    "appArmorProfile",
    "args",
    "automountServiceAccountToken",
    "backend",
    "backendRefs",
    "capabilities",
    "cidr",
    "claimName",
    "clientConfig",
    "clusterIP",
    "command",
    "configMap",
    "configMapKeyRef",
    "configMapRef",
    "containerPort",
    "containers",
    "cpu",
    "data",
    "defaultBackend",
    "dnsPolicy",
    "drop",
    "egress",
    "emptyDir",
    "env",
    "envFrom",
    "ephemeral-storage",
    "ephemeralContainers",
    "except",
    "externalIPs",
    "externalTrafficPolicy",
    "failurePolicy",
    "from",
    "fsGroup",
    "host",
    "hostIPC",
    "hostNetwork",
    "hostPID",
    "hostPath",
    "hostPort",
    "hostUsers",
    "http",
    "image",
    "imagePullPolicy",
    "imagePullSecrets",
    "ingress",
    "initContainers",
    "ipBlock",
    "items",
    "jobTemplate",
    "key",
    "kind",
    "labels",
    "lifecycle",
    "limits",
    "livenessProbe",
    "loadBalancerIP",
    "loadBalancerSourceRanges",
    "matchExpressions",
    "matchLabels",
    "matchPolicy",
    "maxUnavailable",
    "memory",
    "metadata",
    "minAvailable",
    "mode",
    "mountPath",
    "mountPropagation",
    "name",
    "namespace",
    "namespaceSelector",
    "nodeName",
    "nodePort",
    "nodeSelector",
    "nonResourceURLs",
    "objectSelector",
    "operations",
    "operator",
    "optional",
    "overhead",
    "ownerReferences",
    "path",
    "paths",
    "persistentVolumeClaim",
    "podAntiAffinity",
    "podSelector",
    "policyTypes",
    "port",
    "ports",
    "preemptionPolicy",
    "priorityClassName",
    "privileged",
    "procMount",
    "projected",
    "protocol",
    "readOnly",
    "readOnlyRootFilesystem",
    "readinessProbe",
    "replicas",
    "requests",
    "resourceNames",
    "resources",
    "restartPolicy",
    "roleRef",
    "rule",
    "ruleWithOperations",
    "rules",
    "runAsGroup",
    "runAsNonRoot",
    "runAsUser",
    "runtimeClassName",
    "scaleTargetRef",
    "schedulerName",
    "seLinuxOptions",
    "seccompProfile",
    "secret",
    "secretKeyRef",
    "secretRef",
    "securityContext",
    "selector",
    "service",
    "serviceAccount",
    "serviceAccountName",
    "serviceName",
    "sessionAffinity",
    "shareProcessNamespace",
    "sideEffects",
    "sizeLimit",
    "sources",
    "spec",
    "startupProbe",
    "status",
    "stdin",
    "strategy",
    "subPath",
    "subjects",
    "supplementalGroups",
    "sysctls",
    "targetPort",
    "template",
    "terminationGracePeriodSeconds",
    "timeoutSeconds",
    "tls",
    "to",
    "tolerations",
    "topologySpreadConstraints",
    "ttlSecondsAfterFinished",
    "tty",
    "type",
    "value",
    "valueFrom",
    "values",
    "verbs",
    "volumeMounts",
    "volumes",
    "webhooks",
    "windowsOptions",
    "workingDir",
];

/// A path key: the table's copy when it has one, an owned string otherwise.
pub fn key(name: &str) -> Cow<'static, str> {
    match FIELD_NAMES.binary_search(&name) {
        Ok(i) => Cow::Borrowed(FIELD_NAMES[i]),
        Err(_) => Cow::Owned(name.to_owned()),
    }
}

/// A path from a resource's root to one field. Rendered in the dotted form users know from
/// `kubectl explain`; keys that contain dots or slashes (annotation names) are bracketed:
/// `metadata.annotations["seccomp.security.alpha.kubernetes.io/pod"]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldPath(Vec<Seg>);

impl FieldPath {
    pub const fn root() -> Self {
        Self(Vec::new())
    }

    pub fn segs(&self) -> &[Seg] {
        &self.0
    }

    /// A new path with one key appended.
    #[must_use]
    pub fn key(&self, key: &str) -> Self {
        self.with(std::iter::once(Seg::Key(self::key(key))), 1)
    }

    /// A new path with several keys appended.
    #[must_use]
    pub fn keys(&self, keys: &[&str]) -> Self {
        self.with(keys.iter().map(|k| Seg::Key(self::key(k))), keys.len())
    }

    #[must_use]
    pub fn index(&self, index: usize) -> Self {
        self.with(std::iter::once(Seg::Index(index)), 1)
    }

    /// This path and `more` (`n` segments), allocated at its final size: findings keep their
    /// paths, and a cloned-then-grown list would carry twice the room it needs.
    fn with(&self, more: impl Iterator<Item = Seg>, n: usize) -> Self {
        let mut segs = Vec::with_capacity(self.0.len() + n);
        segs.extend_from_slice(&self.0);
        segs.extend(more);
        Self(segs)
    }

    pub fn split_last(&self) -> Option<(&Seg, FieldPath)> {
        let (last, rest) = self.0.split_last()?;
        Some((last, FieldPath(rest.to_vec())))
    }

    /// Parses the dotted form written by hand in tests and fixtures: `a.b[0].c`. Keys with dots
    /// go in brackets and quotes: `metadata.annotations["a.b/c"]`.
    pub fn parse(text: &str) -> Self {
        let mut segs = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix("[\"") {
                let end = after.find("\"]").unwrap_or(after.len());
                segs.push(Seg::Key(key(&after[..end])));
                rest = after.get(end + 2..).unwrap_or("");
            } else if let Some(after) = rest.strip_prefix('[') {
                let end = after.find(']').unwrap_or(after.len());
                match after[..end].parse() {
                    Ok(i) => segs.push(Seg::Index(i)),
                    Err(_) => segs.push(Seg::Key(key(&after[..end]))),
                }
                rest = after.get(end + 1..).unwrap_or("");
            } else {
                let rest_trim = rest.strip_prefix('.').unwrap_or(rest);
                let end = rest_trim.find(['.', '[']).unwrap_or(rest_trim.len());
                if end > 0 {
                    segs.push(Seg::Key(key(&rest_trim[..end])));
                }
                rest = &rest_trim[end..];
                if end == 0 && !rest.starts_with('[') {
                    rest = rest.get(1..).unwrap_or("");
                }
            }
        }
        Self(segs)
    }

    /// RFC 6901 JSON pointer, for JSON Patch operations.
    pub fn to_pointer(&self) -> String {
        let mut out = String::new();
        for seg in &self.0 {
            out.push('/');
            match seg {
                Seg::Key(k) => out.push_str(&k.replace('~', "~0").replace('/', "~1")),
                Seg::Index(i) => out.push_str(&i.to_string()),
            }
        }
        out
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) if k.contains(['.', '/', '[', ']', ' ']) || k.is_empty() => {
                    write!(f, "[\"{k}\"]")?;
                }
                Seg::Key(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(k)?;
                }
                Seg::Index(idx) => write!(f, "[{idx}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_dotted_form() {
        for text in [
            "spec.template.spec.containers[0].securityContext.privileged",
            "metadata.annotations[\"container.apparmor.security.beta.kubernetes.io/app\"]",
            "spec.volumes[2]",
            "kind",
        ] {
            assert_eq!(FieldPath::parse(text).to_string(), text);
        }
    }

    #[test]
    fn field_names_are_sorted_and_shared() {
        assert!(FIELD_NAMES.windows(2).all(|w| w[0] < w[1]));
        assert!(matches!(key("securityContext"), Cow::Borrowed(_)));
        assert!(matches!(key("my-annotation"), Cow::Owned(_)));
        assert_eq!(FieldPath::root().key("spec"), FieldPath::parse("spec"));
    }

    #[test]
    fn pointer_escapes() {
        let p = FieldPath::parse("metadata.annotations[\"a/b~c\"]");
        assert_eq!(p.to_pointer(), "/metadata/annotations/a~1b~0c");
    }
}

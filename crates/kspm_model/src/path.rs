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
    match table_index(name) {
        Some(i) => Cow::Borrowed(FIELD_NAMES[usize::from(i)]),
        None => Cow::Owned(name.to_owned()),
    }
}

/// Where `name` is in [`FIELD_NAMES`]: a hash lookup, as every step of every path built asks
/// (a binary search's string comparisons were 6 % of a scan).
fn table_index(name: &str) -> Option<u8> {
    type Table = std::collections::HashMap<&'static str, u8, foldhash::fast::FixedState>;
    static TABLE: std::sync::OnceLock<Table> = std::sync::OnceLock::new();
    TABLE
        .get_or_init(|| {
            FIELD_NAMES
                .iter()
                .zip(0u8..)
                .map(|(name, i)| (*name, i))
                .collect()
        })
        .get(name)
        .copied()
}

/// One step of a path, borrowed from it: what walking a path yields without allocating.
/// Ordered as [`Seg`]: keys before indices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SegRef<'a> {
    Key(&'a str),
    Index(usize),
}

impl SegRef<'_> {
    /// The owned step (a table key stays shared; only a key outside the table is copied).
    pub fn to_seg(self) -> Seg {
        match self {
            SegRef::Key(k) => Seg::Key(key(k)),
            SegRef::Index(i) => Seg::Index(i),
        }
    }
}

/// The steps of a path, decoded: a slice for the callers that index or split it, on the stack
/// for the usual depth.
pub type Segs = smallvec::SmallVec<[Seg; 8]>;

// The encoding: one byte per step for the common cases, so that a typical finding's path
// (`spec.template.spec.containers[0].securityContext.privileged`: seven steps) is seven bytes
// held inside the `FieldPath` itself, with no allocation.
//
// - `0x00..=0xBF`: the key `FIELD_NAMES[b]`;
// - `0xC0..=0xEF`: the index `b - 0xC0` (0 to 47);
// - `0xF0` + LEB128: any other index;
// - `0xF1` + LEB128 length + UTF-8: any other key.
//
// Every path has exactly one encoding (a table key is never written out, a small index never
// in LEB128), so equal paths have equal bytes and equality and hashing work on the bytes.
const INDEX_BASE: u8 = 0xC0;
const SMALL_INDICES: usize = 0xF0 - 0xC0;
const BIG_INDEX: u8 = 0xF0;
const OTHER_KEY: u8 = 0xF1;
const _: () = assert!(FIELD_NAMES.len() <= INDEX_BASE as usize);

/// Bytes held inline up to this length (every path of the scans measured), on the heap beyond.
const INLINE: usize = 22;

/// Where a path's bytes are put together: on the stack unless the path is unusually long.
type Buf = smallvec::SmallVec<[u8; 32]>;

#[derive(Clone)]
enum Bytes {
    Inline(u8, [u8; INLINE]),
    Heap(Box<[u8]>),
}

impl Bytes {
    fn new(bytes: &[u8]) -> Self {
        if bytes.len() <= INLINE {
            let mut buf = [0; INLINE];
            buf[..bytes.len()].copy_from_slice(bytes);
            #[allow(clippy::cast_possible_truncation)] // at most INLINE
            Bytes::Inline(bytes.len() as u8, buf)
        } else {
            Bytes::Heap(bytes.into())
        }
    }

    fn as_slice(&self) -> &[u8] {
        match self {
            Bytes::Inline(len, buf) => &buf[..usize::from(*len)],
            Bytes::Heap(b) => b,
        }
    }
}

fn push_varint(out: &mut Buf, mut n: usize) {
    loop {
        #[allow(clippy::cast_possible_truncation)] // the low seven bits
        let low = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(low);
            return;
        }
        out.push(low | 0x80);
    }
}

fn read_varint(bytes: &[u8], at: &mut usize) -> usize {
    let mut n = 0usize;
    let mut shift = 0;
    while let Some(&b) = bytes.get(*at) {
        *at += 1;
        n |= usize::from(b & 0x7f) << shift;
        shift += 7;
        if b & 0x80 == 0 {
            break;
        }
    }
    n
}

fn encode_key(out: &mut Buf, name: &str) {
    match table_index(name) {
        Some(i) => out.push(i),
        None => {
            out.push(OTHER_KEY);
            push_varint(out, name.len());
            out.extend_from_slice(name.as_bytes());
        }
    }
}

fn encode_index(out: &mut Buf, index: usize) {
    if index < SMALL_INDICES {
        #[allow(clippy::cast_possible_truncation)] // under 48
        out.push(INDEX_BASE + index as u8);
    } else {
        out.push(BIG_INDEX);
        push_varint(out, index);
    }
}

fn encode_seg(out: &mut Buf, seg: SegRef<'_>) {
    match seg {
        SegRef::Key(k) => encode_key(out, k),
        SegRef::Index(i) => encode_index(out, i),
    }
}

/// The steps of an encoded path, in order.
#[derive(Clone)]
pub struct Iter<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = SegRef<'a>;

    fn next(&mut self) -> Option<SegRef<'a>> {
        let b = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(match b {
            _ if b < INDEX_BASE => SegRef::Key(FIELD_NAMES[usize::from(b)]),
            BIG_INDEX => SegRef::Index(read_varint(self.bytes, &mut self.at)),
            OTHER_KEY => {
                let len = read_varint(self.bytes, &mut self.at);
                let end = (self.at + len).min(self.bytes.len());
                let text = std::str::from_utf8(&self.bytes[self.at..end]).unwrap_or_default();
                self.at = end;
                SegRef::Key(text)
            }
            _ => SegRef::Index(usize::from(b - INDEX_BASE)),
        })
    }
}

/// A path from a resource's root to one field. Rendered in the dotted form users know from
/// `kubectl explain`; keys that contain dots or slashes (annotation names) are bracketed:
/// `metadata.annotations["seccomp.security.alpha.kubernetes.io/pod"]`.
///
/// Held compactly (a scan keeps hundreds of thousands of paths, in findings and their fixes):
/// one byte per common step, inside the value itself for paths up to 22 bytes, so building and
/// keeping a path allocates nothing. [`FieldPath::iter`] walks it without decoding into a list.
#[derive(Clone)]
pub struct FieldPath(Bytes);

impl Default for FieldPath {
    fn default() -> Self {
        Self::root()
    }
}

impl PartialEq for FieldPath {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_slice() == other.0.as_slice()
    }
}

impl Eq for FieldPath {}

impl std::hash::Hash for FieldPath {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.as_slice().hash(state);
    }
}

/// Step by step, keys before indices at the same step: the order of the paths' dotted forms'
/// steps, as when paths were lists of steps.
impl Ord for FieldPath {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.iter().cmp(other.iter())
    }
}

impl PartialOrd for FieldPath {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Debug for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FieldPath({self})")
    }
}

impl<'a> IntoIterator for &'a FieldPath {
    type Item = SegRef<'a>;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl FromIterator<Seg> for FieldPath {
    fn from_iter<I: IntoIterator<Item = Seg>>(iter: I) -> Self {
        let mut out = Buf::new();
        for seg in iter {
            encode_seg(&mut out, seg.as_ref());
        }
        Self(Bytes::new(&out))
    }
}

impl Seg {
    /// The step, borrowed.
    pub fn as_ref(&self) -> SegRef<'_> {
        match self {
            Seg::Key(k) => SegRef::Key(k),
            Seg::Index(i) => SegRef::Index(*i),
        }
    }
}

impl FieldPath {
    pub const fn root() -> Self {
        Self(Bytes::Inline(0, [0; INLINE]))
    }

    /// The steps, borrowed, without decoding them into a list.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            bytes: self.0.as_slice(),
            at: 0,
        }
    }

    /// The steps as a list (on the stack for the usual depth), for callers that index or split.
    pub fn segs(&self) -> Segs {
        let bytes = self.0.as_slice();
        let mut steps = self.iter();
        let mut out = Segs::new();
        loop {
            let at = steps.at;
            let Some(seg) = steps.next() else {
                return out;
            };
            out.push(match (bytes[at], seg) {
                // A table key is shared as it is, not looked up again.
                (b, _) if b < INDEX_BASE => Seg::Key(Cow::Borrowed(FIELD_NAMES[usize::from(b)])),
                (_, SegRef::Key(k)) => Seg::Key(Cow::Owned(k.to_owned())),
                (_, SegRef::Index(i)) => Seg::Index(i),
            });
        }
    }

    /// The number of steps.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    pub fn is_empty(&self) -> bool {
        self.0.as_slice().is_empty()
    }

    /// The last step.
    pub fn last(&self) -> Option<SegRef<'_>> {
        self.iter().last()
    }

    /// A new path with one key appended.
    #[must_use]
    pub fn key(&self, key: &str) -> Self {
        self.with(|out| encode_key(out, key))
    }

    /// A new path with several keys appended.
    #[must_use]
    pub fn keys(&self, keys: &[&str]) -> Self {
        self.with(|out| keys.iter().for_each(|k| encode_key(out, k)))
    }

    #[must_use]
    pub fn index(&self, index: usize) -> Self {
        self.with(|out| encode_index(out, index))
    }

    /// This path and what `more` appends, put together on the stack.
    fn with(&self, more: impl FnOnce(&mut Buf)) -> Self {
        let mut all = Buf::from_slice(self.0.as_slice());
        more(&mut all);
        Self(Bytes::new(&all))
    }

    /// The path without its last step, and that step.
    pub fn split_last(&self) -> Option<(Seg, FieldPath)> {
        let mut steps = self.iter();
        let mut before = 0;
        let mut last = steps.next()?;
        let mut end = steps.at;
        while let Some(seg) = steps.next() {
            before = end;
            end = steps.at;
            last = seg;
        }
        Some((
            last.to_seg(),
            Self(Bytes::new(&self.0.as_slice()[..before])),
        ))
    }

    /// Whether `prefix`'s steps begin this path.
    pub fn starts_with(&self, prefix: &FieldPath) -> bool {
        // Encodings are unique and steps self-delimiting, so a prefix of steps is a prefix of
        // bytes that ends on a step boundary; the steps are compared to be sure of the latter.
        let mut mine = self.iter();
        prefix.iter().all(|s| mine.next() == Some(s))
    }

    /// Parses the dotted form written by hand in tests and fixtures: `a.b[0].c`. Keys with dots
    /// go in brackets and quotes: `metadata.annotations["a.b/c"]`.
    pub fn parse(text: &str) -> Self {
        let mut out = Buf::new();
        let mut rest = text;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix("[\"") {
                let end = after.find("\"]").unwrap_or(after.len());
                encode_key(&mut out, &after[..end]);
                rest = after.get(end + 2..).unwrap_or("");
            } else if let Some(after) = rest.strip_prefix('[') {
                let end = after.find(']').unwrap_or(after.len());
                match after[..end].parse() {
                    Ok(i) => encode_index(&mut out, i),
                    Err(_) => encode_key(&mut out, &after[..end]),
                }
                rest = after.get(end + 1..).unwrap_or("");
            } else {
                let rest_trim = rest.strip_prefix('.').unwrap_or(rest);
                let end = rest_trim.find(['.', '[']).unwrap_or(rest_trim.len());
                if end > 0 {
                    encode_key(&mut out, &rest_trim[..end]);
                }
                rest = &rest_trim[end..];
                if end == 0 && !rest.starts_with('[') {
                    rest = rest.get(1..).unwrap_or("");
                }
            }
        }
        Self(Bytes::new(&out))
    }

    /// RFC 6901 JSON pointer, for JSON Patch operations.
    pub fn to_pointer(&self) -> String {
        let mut out = String::new();
        for seg in self {
            out.push('/');
            match seg {
                SegRef::Key(k) if k.contains(['~', '/']) => {
                    out.push_str(&k.replace('~', "~0").replace('/', "~1"));
                }
                SegRef::Key(k) => out.push_str(k),
                SegRef::Index(i) => {
                    use fmt::Write;
                    let _ = write!(out, "{i}");
                }
            }
        }
        out
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.iter().enumerate() {
            match seg {
                SegRef::Key(k) if k.contains(['.', '/', '[', ']', ' ']) || k.is_empty() => {
                    write!(f, "[\"{k}\"]")?;
                }
                SegRef::Key(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(k)?;
                }
                SegRef::Index(idx) => write!(f, "[{idx}]")?,
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
            "spec.volumes[47].x[48].y[300000]",
            "kind",
            "",
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

    #[test]
    fn common_paths_are_held_inline_and_long_ones_spill() {
        let p = FieldPath::parse("spec.template.spec.containers[0].securityContext.privileged");
        assert!(matches!(p.0, Bytes::Inline(7, _)));
        let long = (0..30).fold(FieldPath::root(), |p, i| p.key("spec").index(i));
        assert!(matches!(long.0, Bytes::Heap(_)));
        assert_eq!(long.len(), 60);
        assert_eq!(std::mem::size_of::<FieldPath>(), 24);
    }

    #[test]
    fn built_and_parsed_paths_are_equal_whatever_their_steps() {
        let owned = "x".repeat(200);
        let built = FieldPath::root()
            .key("metadata")
            .key("annotations")
            .key("a.b/c")
            .index(3)
            .index(47)
            .index(48)
            .index(1 << 40)
            .key(&owned);
        let text = format!(
            "metadata.annotations[\"a.b/c\"][3][47][48][{}].{owned}",
            1usize << 40
        );
        assert_eq!(built, FieldPath::parse(&text));
        assert_eq!(built.to_string(), text);
        let segs = built.segs();
        assert_eq!(segs.len(), 8);
        assert_eq!(segs[2], Seg::Key(Cow::Owned("a.b/c".to_owned())));
        assert_eq!(segs[6], Seg::Index(1 << 40));
        assert_eq!(
            built.iter().map(SegRef::to_seg).collect::<FieldPath>(),
            built
        );
        let (last, parent) = built.split_last().unwrap();
        assert_eq!(last, Seg::Key(Cow::Owned(owned.clone())));
        assert_eq!(parent.key(&owned), built);
        assert!(built.starts_with(&parent));
        assert!(!parent.starts_with(&built));
        assert_eq!(FieldPath::root().split_last(), None);
    }

    #[test]
    fn orders_step_by_step_keys_before_indices() {
        let mut paths: Vec<FieldPath> = ["b", "a.z", "a[1]", "a[0]", "a.b", "a", "zz", "a[48]"]
            .iter()
            .map(|t| FieldPath::parse(t))
            .collect();
        paths.sort();
        let text: Vec<String> = paths.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            ["a", "a.b", "a.z", "a[0]", "a[1]", "a[48]", "b", "zz"]
        );
    }
}

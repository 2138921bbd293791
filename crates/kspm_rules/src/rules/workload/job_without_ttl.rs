use crate::prelude::*;

declare_rule! {
    /// ## What it does
    /// Flags Jobs without `spec.ttlSecondsAfterFinished`. Jobs a CronJob creates (owned by
    /// one, or the CronJob's own `jobTemplate`) are not reported: the CronJob's history
    /// limits clean them up. Jobs that Helm or Argo CD delete themselves (a
    /// `helm.sh/hook-delete-policy` or `argocd.argoproj.io/hook-delete-policy` annotation) are
    /// not reported either.
    ///
    /// Off by default: whether finished Jobs should stay for inspection is a team's choice.
    ///
    /// ## Why is this bad?
    /// A finished Job and its pods stay until someone deletes them: their logs and exit codes
    /// are useful for a while, but they accumulate, keep the secrets and service account
    /// names of their spec visible in the API, and slow every list of pods.
    ///
    /// ## Remediation
    /// Set `spec.ttlSecondsAfterFinished` (for example `86400` for a day) so that the TTL
    /// controller deletes the Job and its pods once they have been looked at.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: batch/v1
    /// kind: Job
    /// metadata:
    ///   name: migrate
    /// spec:
    ///   template:
    ///     spec:
    ///       restartPolicy: Never
    ///       containers:
    ///       - name: migrate
    ///         image: example/migrate:1.0
    /// ```
    pub const RULE = {
        code: "WL024",
        slug: "job-without-ttl",
        title: "Job is never cleaned up after it finishes",
        severity: Low,
        category: Workload,
        check: Check::Object { kinds: &["Job"], check },
        frameworks: [soc2::A1_1, nist::CM_6],
        equivalents: ["kube-linter:job-ttl-seconds-after-finished"],
        fix: false,
        default: false,
    }
}

const DELETE_POLICIES: &[&str] = &[
    "helm.sh/hook-delete-policy",
    "argocd.argoproj.io/hook-delete-policy",
];

fn check(r: &Resource, out: &mut Reporter<'_>) {
    if r.group() != "batch" {
        return;
    }
    let owned_by_cronjob = r
        .root
        .at(&["metadata", "ownerReferences"])
        .and_then(Node::as_seq)
        .unwrap_or(&[])
        .iter()
        .any(|o| o.get("kind").and_then(Node::as_str) == Some("CronJob"));
    let deleted_by_tool = DELETE_POLICIES
        .iter()
        .any(|a| r.root.at(&["metadata", "annotations", a]).is_some());
    if owned_by_cronjob || deleted_by_tool {
        return;
    }
    if r.root
        .at(&["spec", "ttlSecondsAfterFinished"])
        .is_some_and(|n| !n.is_null())
    {
        return;
    }
    out.report(
        FieldPath::root().keys(&["spec", "ttlSecondsAfterFinished"]),
        format!(
            "Job \"{}\" sets no ttlSecondsAfterFinished: it and its pods stay after it finishes",
            r.name()
        ),
    );
}

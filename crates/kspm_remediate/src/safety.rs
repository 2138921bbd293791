//! Which fixes may be applied without a person: the one table of them.
//!
//! A fix is *safe* when applying it to a running workload is very unlikely to break it: it
//! removes a permission almost no application uses, or restates the same setting in its current
//! form. Everything else (dropping capabilities such as NET_RAW, running as non-root, a read-only
//! root filesystem, no service account token, leaving the host's namespaces) can break a
//! workload that relies on it, and is applied only when named with `--select`.
//!
//! Kept here, not on each rule, so that the decision is reviewed in one place; a test checks
//! that every entry names a rule that has a fix.

/// `(rule code, why its fix is safe)`.
pub const SAFE: &[(&str, &str)] = &[
    (
        "AP003",
        "moves the deprecated seccomp annotation to the securityContext field with the same meaning",
    ),
    (
        "AP004",
        "moves the deprecated AppArmor annotation to the securityContext field with the same meaning",
    ),
    (
        "WL027",
        "moves the deprecated serviceAccount field to serviceAccountName (same account)",
    ),
    (
        "PS014",
        "removes procMount: Unmasked (the default masked /proc is what almost every container runs with)",
    ),
    (
        "PS015",
        "replaces an Unconfined seccomp profile with RuntimeDefault, the container runtime's default filter",
    ),
    (
        "PS019",
        "sets allowPrivilegeEscalation: false (only setuid binaries gaining privileges are affected)",
    ),
];

/// Whether the fix of rule `code` is safe to apply unattended, and why.
pub fn safe(code: &str) -> Option<&'static str> {
    SAFE.iter().find(|(c, _)| *c == code).map(|(_, why)| *why)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_entry_names_a_rule() {
        for (code, why) in super::SAFE {
            let rule = kspm_rules::find_rule(code)
                .unwrap_or_else(|| panic!("fix_safety names unknown rule {code}"));
            assert_eq!(rule.meta.code, *code);
            assert!(!why.is_empty());
        }
    }
}

//! Secrets and credentials: where they are kept and how they reach containers.
//!
//! The credential detectors these rules use are a library of their own,
//! `kspm_model::credentials`: the same code redacts every finding's message and evidence.

pub mod credential_in_configmap;
pub mod hardcoded_credential_in_env;
pub mod secret_in_env_var;
pub mod service_account_token_secret;

pub(crate) static RULES: &[&crate::Rule] = &[
    &secret_in_env_var::RULE,
    &hardcoded_credential_in_env::RULE,
    &credential_in_configmap::RULE,
    &service_account_token_secret::RULE,
];

/// For the credential rules' tests: the literals their cases use are still in the cases, and
/// appear nowhere in what the rule shows (its snapshot), not even as evidence.
#[cfg(test)]
pub(crate) fn assert_snapshot_hides(cases: &str, snapshot: &str, literals: &[&str]) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/rules/secrets");
    let cases = std::fs::read_to_string(dir.join(cases)).unwrap();
    let snapshot = std::fs::read_to_string(dir.join("snapshots").join(snapshot))
        .expect("run the cases first: INSTA_UPDATE=always cargo test -p kspm_rules");
    for literal in literals {
        assert!(
            cases.contains(literal),
            "`{literal}` is not used by the cases any more"
        );
        assert!(
            !snapshot.contains(literal),
            "the snapshot shows the credential `{literal}`"
        );
    }
    assert!(
        !snapshot.contains("[value:"),
        "a finding carries its value as evidence"
    );
}

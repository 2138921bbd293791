//! `kspm version`, `kspm completion <shell>` and the binary's name as a kubectl plugin: what a
//! user installing a release checks first.

mod support;
use support::{kspm, stderr, stdout};

use std::path::Path;
use std::process::Command;

use kspm_frameworks::Framework;
use kspm_rules::KubeVersion;
use serde_json::Value;

fn here() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn version_names_the_build_and_what_it_knows() {
    let out = kspm(&["version", "--format", "json"], here());
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    // build.rs embeds the commit for the package's binary and its tests alike.
    assert_eq!(v["commit"], env!("KSPM_GIT_COMMIT"));
    let head = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(here())
        .output()
        .ok()
        .filter(|o| o.status.success());
    if let Some(head) = head
        && env!("KSPM_GIT_COMMIT_SOURCE") == "git"
    {
        assert_eq!(
            v["commit"].as_str().unwrap(),
            String::from_utf8_lossy(&head.stdout).trim(),
            "the commit embedded is HEAD's"
        );
    }
    assert_eq!(v["kubernetes"]["latest"], KubeVersion::LATEST.to_string());
    let frameworks = v["frameworks"].as_array().unwrap();
    assert_eq!(frameworks.len(), Framework::ALL.len());
    for (fw, got) in Framework::ALL.iter().zip(frameworks) {
        assert_eq!(got["key"], fw.key());
        assert_eq!(got["version"], fw.version());
    }
    assert_eq!(
        v["features"],
        serde_json::json!([
            "cluster",
            "policies",
            "store",
            "agent",
            "alerts",
            "admission",
            "remediate",
            "serve"
        ]),
        "the default build has every optional part"
    );

    let text = stdout(&kspm(&["version"], here()));
    assert!(
        text.starts_with(&format!("kspm {}\n", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    assert!(
        text.contains(&format!("commit:     {}\n", env!("KSPM_GIT_COMMIT"))),
        "{text}"
    );
    for fw in Framework::ALL {
        assert!(text.contains(fw.version()), "{} missing:\n{text}", fw.key());
    }
}

/// The bash script really completes: sourced into bash, `kspm sc<TAB>` offers `scan` and
/// `kspm scan --form<TAB>` offers `--format`.
#[test]
fn bash_completion_completes_commands_and_flags() {
    let script = stdout(&kspm(&["completion", "bash"], here()));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kspm.bash");
    std::fs::write(&file, &script).unwrap();
    let complete = |words: &str| {
        let out = Command::new("bash")
            .arg("-c")
            .arg(format!(
                "source '{}'; COMP_WORDS=({words}); COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 )); COMP_LINE='{words}'; _kspm kspm \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
                file.display()
            ))
            .output()
            .expect("bash runs");
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
    };
    let commands = complete("kspm sc");
    assert!(commands.lines().any(|l| l == "scan"), "{commands}");
    assert!(!commands.lines().any(|l| l == "rules"), "{commands}");
    let flags = complete("kspm scan --form");
    assert!(flags.lines().any(|l| l == "--format"), "{flags}");
}

#[test]
fn every_shell_gets_a_script_and_unknown_shells_are_usage_errors() {
    for (shell, marker) in [
        ("bash", "complete -F _kspm"),
        ("zsh", "#compdef kspm"),
        ("fish", "complete -c kspm"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = kspm(&["completion", shell], here());
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        let script = stdout(&out);
        assert!(script.contains(marker), "{shell}: {script}");
        assert!(script.contains("scan"), "{shell} completes subcommands");
    }
    let out = kspm(&["completion", "tcsh"], here());
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("possible values"), "{}", stderr(&out));
}

/// Run as `kubectl-kspm` (how kubectl and krew invoke it), usage and help say `kubectl kspm`;
/// run as `kspm`, they say `kspm`.
#[test]
#[cfg(unix)]
fn named_kubectl_kspm_it_speaks_as_a_kubectl_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = dir.path().join("kubectl-kspm");
    // A link, as krew installs it: a copy made in this process can be "busy" (ETXTBSY) when
    // another test forks while its file is still open for writing.
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_kspm"), &plugin).unwrap();
    let help = Command::new(&plugin)
        .args(["scan", "--help"])
        .output()
        .unwrap();
    assert!(help.status.success(), "{}", stderr(&help));
    assert!(
        stdout(&help).contains("Usage: kubectl kspm scan [OPTIONS]"),
        "{}",
        stdout(&help)
    );
    let bad = Command::new(&plugin).arg("bogus").output().unwrap();
    assert_eq!(bad.status.code(), Some(3));
    assert!(
        stderr(&bad).contains("Usage: kubectl kspm <COMMAND>"),
        "{}",
        stderr(&bad)
    );
    // The same commands work.
    let v = Command::new(&plugin)
        .args(["version", "--format", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&v.stdout).expect("JSON");
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));

    let plain = kspm(&["scan", "--help"], here());
    assert!(
        stdout(&plain).contains("Usage: kspm scan [OPTIONS]"),
        "{}",
        stdout(&plain)
    );
}

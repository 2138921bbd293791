//! The HTML report opened in a real headless Chromium: it renders (the script ran, the page is
//! not blank) and shows the counts the JSON report gives for the same scan.
//!
//! Chromium comes from `scripts/install-chromium` (scripts/test runs it) or `KSPM_CHROMIUM`.
//! With `KSPM_REQUIRE_TOOLS=1` a missing browser fails the test instead of skipping it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn kspm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kspm"))
        .args(args)
        .current_dir(repo_root())
        .output()
        .expect("kspm runs")
}

fn chromium() -> Option<String> {
    let candidates: Vec<String> = std::env::var("KSPM_CHROMIUM")
        .into_iter()
        .chain(["chromium", "chromium-browser", "google-chrome"].map(String::from))
        .collect();
    let found = candidates.into_iter().find(|c| {
        Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    assert!(
        found.is_some() || std::env::var_os("KSPM_REQUIRE_TOOLS").is_none(),
        "Chromium is not installed; run scripts/install-chromium (scripts/test does) or set KSPM_CHROMIUM"
    );
    if found.is_none() {
        eprintln!("skipped: Chromium is not installed (scripts/install-chromium installs it)");
    }
    found
}

/// Runs headless Chromium with no network, no profile and no background services.
fn headless(browser: &str, profile: &Path, extra: &[&str], page: &Path) -> Output {
    let url = format!("file://{}", page.display());
    Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .output()
        .expect("chromium runs")
}

#[test]
fn html_report_renders_in_chromium_with_its_counts() {
    let Some(browser) = chromium() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("report.html");
    let out = kspm(&[
        "scan",
        "examples",
        "--framework",
        "cis",
        "--format",
        "html",
        "-o",
        html.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&html).unwrap();
    // Self-contained: nothing fetched from anywhere.
    for needle in ["http://", "https://", "<link", "src="] {
        let outside_svg_ns = text.replace("http://www.w3.org/2000/svg", "");
        assert!(
            !outside_svg_ns.contains(needle),
            "the report references `{needle}`"
        );
    }

    let json: serde_json::Value = serde_json::from_slice(
        &kspm(&["scan", "examples", "--framework", "cis", "--format", "json"]).stdout,
    )
    .unwrap();
    let total = json["summary"]["findings"].as_u64().unwrap();
    let critical = json["summary"]["by_severity"]["critical"].as_u64().unwrap();
    let score = json["compliance"]["cis"]["score"].as_f64().unwrap();
    assert!(total > 0);

    let dom = headless(
        &browser,
        &dir.path().join("profile"),
        &["--dump-dom"],
        &html,
    );
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.contains("data-ready=\"1\""),
        "the page script did not run:\n{dom:.2000}"
    );
    assert!(
        dom.contains(&format!(
            "id=\"count-findings\" style=\"color:#1d2125\">{total}<"
        )),
        "{dom:.3000}"
    );
    assert!(dom.contains(&format!(
        "id=\"count-critical\" style=\"color:#8e24aa\">{critical}<"
    )));
    assert!(
        dom.contains(&format!("{score:.1}%")),
        "CIS score {score} not shown"
    );
    // The filter script counted every row of the findings table.
    assert!(dom.contains(&format!("<span id=\"shown-count\">{total}</span>")));
    let rows = dom.matches("<tr><td class=\"risk\">").count();
    assert_eq!(rows as u64, total);
    assert!(dom.contains("Top risks") && dom.contains("chart-severity"));

    // Not blank: a screenshot of the report carries far more detail than one of an empty page.
    let blank = dir.path().join("blank.html");
    std::fs::write(&blank, "<!DOCTYPE html><html><body></body></html>").unwrap();
    let shot = |page: &Path, name: &str| -> u64 {
        let png = dir.path().join(name);
        let arg = format!("--screenshot={}", png.display());
        let out = headless(
            &browser,
            &dir.path().join("profile"),
            &[&arg, "--window-size=1280,1600"],
            page,
        );
        assert!(
            png.exists(),
            "no screenshot: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::metadata(&png).unwrap().len()
    };
    let report_png = shot(&html, "report.png");
    let blank_png = shot(&blank, "blank.png");
    assert!(
        report_png > blank_png * 5,
        "report screenshot ({report_png} bytes) is hardly bigger than a blank page's ({blank_png})"
    );
}

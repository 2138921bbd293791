//! The `alerts:` section of kspm.yaml: routes (which findings, to which sinks, at once or as a
//! digest) and sinks (where alerts go, with credentials named by file or environment variable).
//!
//! Validated like the rest of kspm.yaml: every unknown key and bad value is reported with its
//! file:line:column, all at once. Credentials are only *named* here (a file, a variable); they
//! are read when the sinks are built ([`crate::sink::Sinks::build`]), so no secret is ever part
//! of the parsed configuration, its `Debug` output or an error.

use std::collections::BTreeMap;
use std::path::PathBuf;

use kspm_engine::ConfigError;
use kspm_model::{Node, Pos};

use crate::route::Match;

/// Defaults, in seconds.
pub const DEFAULT_FLAP_WINDOW: i64 = 10 * 60;
pub const DEFAULT_MAX_AGE: i64 = 24 * 3600;
pub const DEFAULT_KEEPALIVE: i64 = 60;

/// The parsed `alerts:` section.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertsConfig {
    pub routes: Vec<Route>,
    pub sinks: BTreeMap<String, SinkSpec>,
    /// A finding that reopens less than this after it resolved is flapping: not re-alerted.
    pub flap_window: i64,
    /// An alert a sink could not take for this long is dead-lettered (logged and counted).
    pub max_age: i64,
    /// What a route sends when it first starts (a fresh store, a new agent, a changed route).
    pub on_start: OnStart,
    /// How often open findings are re-posted to Alertmanager (their `endsAt` is four of these
    /// ahead, so Alertmanager never times out an alert kspm still sees).
    pub keepalive: i64,
}

/// What a route does with the findings already open when it first runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnStart {
    /// One summary message per route and sink: counts by severity and the worst findings.
    Summary,
    /// Nothing: only what changes from now on is alerted.
    Silent,
}

/// One route: findings that match go to every sink in `to`.
#[derive(Clone, Debug, PartialEq)]
pub struct Route {
    /// Names the route's delivery cursors in the store: `name:` when given, else a hash of what
    /// the route matches (a route whose match changes is a new route and starts afresh).
    pub key: String,
    pub matcher: Match,
    pub to: Vec<String>,
    /// Also send a notice when a finding resolves (or is suppressed).
    pub resolved: bool,
    /// Collect into one message per period instead of one per finding.
    pub digest: Option<i64>,
    pub pos: Pos,
}

/// Where a credential comes from. Never the value itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Secret {
    File(PathBuf),
    Env(String),
}

/// A URL that may be written inline (it holds no credential) or, when it does, named by file or
/// environment variable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UrlSource {
    Inline(String),
    Secret(Secret),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SinkSpec {
    Alertmanager {
        url: UrlSource,
    },
    Webhook {
        url: UrlSource,
        hmac: Option<Secret>,
    },
    Slack {
        url: Secret,
    },
    Log,
}

impl SinkSpec {
    pub fn type_name(&self) -> &'static str {
        match self {
            SinkSpec::Alertmanager { .. } => "alertmanager",
            SinkSpec::Webhook { .. } => "webhook",
            SinkSpec::Slack { .. } => "slack",
            SinkSpec::Log => "log",
        }
    }
}

struct Problems(Vec<(Pos, String)>);

impl Problems {
    fn push(&mut self, pos: Pos, msg: impl Into<String>) {
        self.0.push((pos, msg.into()));
    }

    fn keys(&mut self, node: &Node, allowed: &[&str], what: &str) -> bool {
        let Some(entries) = node.as_map() else {
            self.push(
                node.pos,
                format!("{what} must be a mapping, found {}", node.type_name()),
            );
            return false;
        };
        for e in entries {
            if !allowed.contains(&&*e.key) {
                self.push(
                    e.key_pos,
                    format!(
                        "unknown key `{}` in {what} (expected one of: {})",
                        e.key,
                        allowed.join(", ")
                    ),
                );
            }
        }
        true
    }

    fn strings(&mut self, node: &Node, what: &str) -> Vec<String> {
        if let Some(s) = node.as_str() {
            return vec![s.to_owned()];
        }
        let Some(items) = node.as_seq() else {
            self.push(
                node.pos,
                format!(
                    "{what}: expected a list of strings, found {}",
                    node.type_name()
                ),
            );
            return Vec::new();
        };
        items
            .iter()
            .filter_map(|i| match i.as_str() {
                Some(s) => Some(s.to_owned()),
                None => {
                    self.push(
                        i.pos,
                        format!("{what}: expected a string, found {}", i.type_name()),
                    );
                    None
                }
            })
            .collect()
    }

    fn string(&mut self, node: &Node, what: &str) -> Option<String> {
        match node.as_str() {
            Some(s) if !s.trim().is_empty() => Some(s.to_owned()),
            _ => {
                self.push(
                    node.pos,
                    format!(
                        "{what}: expected a non-empty string, found {}",
                        node.type_name()
                    ),
                );
                None
            }
        }
    }

    fn bool(&mut self, node: &Node, what: &str) -> Option<bool> {
        let b = node.as_bool();
        if b.is_none() {
            self.push(
                node.pos,
                format!("{what}: expected true or false, found {}", node.type_name()),
            );
        }
        b
    }

    /// `90s`, `10m`, `1h`, `1d`: a positive span in seconds.
    fn span(&mut self, node: &Node, what: &str) -> Option<i64> {
        let parsed = match (node.as_str(), node.as_i64()) {
            (Some(s), _) => kspm_store::time::parse_duration(s).map_err(|e| e.to_string()),
            (None, Some(n)) => Ok(n),
            _ => Err(format!(
                "expected a span such as 90s, 10m or 1h, found {}",
                node.type_name()
            )),
        };
        match parsed {
            Ok(n) if n > 0 => Some(n),
            Ok(_) => {
                self.push(node.pos, format!("{what}: must be longer than zero"));
                None
            }
            Err(e) => {
                self.push(node.pos, format!("{what}: {e}"));
                None
            }
        }
    }
}

impl AlertsConfig {
    /// Parses the `alerts:` node of the configuration file `file`.
    pub fn parse(node: &Node, file: &str) -> Result<Self, ConfigError> {
        let mut p = Problems(Vec::new());
        let mut config = AlertsConfig {
            routes: Vec::new(),
            sinks: BTreeMap::new(),
            flap_window: DEFAULT_FLAP_WINDOW,
            max_age: DEFAULT_MAX_AGE,
            on_start: OnStart::Summary,
            keepalive: DEFAULT_KEEPALIVE,
        };
        if p.keys(
            node,
            &[
                "routes",
                "sinks",
                "flap_window",
                "max_age",
                "on_start",
                "keepalive",
            ],
            "`alerts`",
        ) {
            if let Some(n) = node.get("flap_window") {
                config.flap_window = p
                    .span(n, "alerts.flap_window")
                    .unwrap_or(config.flap_window);
            }
            if let Some(n) = node.get("max_age") {
                config.max_age = p.span(n, "alerts.max_age").unwrap_or(config.max_age);
            }
            if let Some(n) = node.get("keepalive") {
                config.keepalive = p.span(n, "alerts.keepalive").unwrap_or(config.keepalive);
            }
            if let Some(n) = node.get("on_start") {
                match n.as_str() {
                    Some("summary") => config.on_start = OnStart::Summary,
                    Some("silent") => config.on_start = OnStart::Silent,
                    _ => p.push(n.pos, "alerts.on_start: expected `summary` or `silent`"),
                }
            }
            let mut names = Vec::new();
            if let Some(sinks) = node.get("sinks") {
                match sinks.as_map() {
                    Some(entries) => {
                        for e in entries {
                            names.push(e.key.to_string());
                            if let Some(spec) = parse_sink(&e.key, &e.value, &mut p) {
                                config.sinks.insert(e.key.to_string(), spec);
                            }
                        }
                    }
                    None => p.push(sinks.pos, "alerts.sinks must map sink names to sinks"),
                }
            }
            match node.get("routes").map(|r| (r, r.as_seq())) {
                Some((_, Some(items))) => {
                    for (i, item) in items.iter().enumerate() {
                        if let Some(route) = parse_route(i, item, &names, &config.sinks, &mut p) {
                            config.routes.push(route);
                        }
                    }
                }
                Some((r, None)) => p.push(r.pos, "alerts.routes must be a list of routes"),
                None => p.push(node.pos, "alerts: `routes` is required (a list of routes)"),
            }
            let mut seen = BTreeMap::new();
            for r in &config.routes {
                if let Some(first) = seen.insert(r.key.clone(), r.pos) {
                    p.push(
                        r.pos,
                        format!(
                            "alerts.routes: this route has the same name (or match) as the one at line {}",
                            first.line
                        ),
                    );
                }
            }
        }
        if p.0.is_empty() {
            Ok(config)
        } else {
            // In the order of the file, whichever part found them.
            p.0.sort_by_key(|(pos, _)| *pos);
            Err(ConfigError {
                file: file.to_owned(),
                problems: p.0,
            })
        }
    }

    /// Every (route, sink name) pair, in route order.
    pub fn pairs(&self) -> impl Iterator<Item = (&Route, &str)> {
        self.routes
            .iter()
            .flat_map(|r| r.to.iter().map(move |s| (r, s.as_str())))
    }
}

fn parse_secret(node: &Node, key: &str, what: &str, p: &mut Problems) -> Option<Secret> {
    let file = node.get(&format!("{key}_file"));
    let env = node.get(&format!("{key}_env"));
    match (file, env) {
        (Some(f), None) => p
            .string(f, &format!("{what}.{key}_file"))
            .map(|s| Secret::File(PathBuf::from(s))),
        (None, Some(e)) => p.string(e, &format!("{what}.{key}_env")).map(Secret::Env),
        (Some(f), Some(_)) => {
            p.push(
                f.pos,
                format!("{what}: give {key}_file or {key}_env, not both"),
            );
            None
        }
        (None, None) => None,
    }
}

fn parse_url(node: &Node, what: &str, p: &mut Problems) -> Option<UrlSource> {
    let secret = parse_secret(node, "url", what, p);
    match (node.get("url"), secret) {
        (Some(u), None) => {
            let url = p.string(u, &format!("{what}.url"))?;
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                p.push(
                    u.pos,
                    format!("{what}.url: expected an http:// or https:// URL"),
                );
                return None;
            }
            if url
                .split('/')
                .nth(2)
                .is_some_and(|authority| authority.contains('@'))
            {
                p.push(
                    u.pos,
                    format!(
                        "{what}.url holds a user or password: credentials go in url_file or url_env"
                    ),
                );
                return None;
            }
            Some(UrlSource::Inline(url))
        }
        (None, Some(s)) => Some(UrlSource::Secret(s)),
        (Some(u), Some(_)) => {
            p.push(
                u.pos,
                format!("{what}: give url, url_file or url_env, only one"),
            );
            None
        }
        (None, None) => {
            p.push(
                node.pos,
                format!("{what}: `url` (or url_file, url_env) is required"),
            );
            None
        }
    }
}

fn parse_sink(name: &str, node: &Node, p: &mut Problems) -> Option<SinkSpec> {
    let what = format!("alerts.sinks.{name}");
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        p.push(
            node.pos,
            format!("{what}: sink names use letters, digits, `-` and `_`"),
        );
    }
    let Some(ty) = node.get("type") else {
        p.push(
            node.pos,
            format!("{what}: `type` is required (alertmanager, webhook, slack or log)"),
        );
        return None;
    };
    match ty.as_str() {
        Some("alertmanager") => {
            p.keys(
                node,
                &["type", "url", "url_file", "url_env"],
                &format!("`{what}`"),
            );
            parse_url(node, &what, p).map(|url| SinkSpec::Alertmanager { url })
        }
        Some("webhook") => {
            p.keys(
                node,
                &[
                    "type",
                    "url",
                    "url_file",
                    "url_env",
                    "hmac_secret_file",
                    "hmac_secret_env",
                ],
                &format!("`{what}`"),
            );
            let url = parse_url(node, &what, p);
            let hmac = parse_secret(node, "hmac_secret", &what, p);
            url.map(|url| SinkSpec::Webhook { url, hmac })
        }
        Some("slack") => {
            p.keys(
                node,
                &["type", "webhook_url", "webhook_url_file", "webhook_url_env"],
                &format!("`{what}`"),
            );
            if let Some(u) = node.get("webhook_url") {
                p.push(
                    u.pos,
                    format!(
                        "{what}.webhook_url: a Slack webhook URL is a credential; name it with webhook_url_file or webhook_url_env"
                    ),
                );
                return None;
            }
            match parse_secret(node, "webhook_url", &what, p) {
                Some(url) => Some(SinkSpec::Slack { url }),
                None => {
                    p.push(
                        node.pos,
                        format!("{what}: webhook_url_file or webhook_url_env is required"),
                    );
                    None
                }
            }
        }
        Some("log") => {
            p.keys(node, &["type"], &format!("`{what}`"));
            Some(SinkSpec::Log)
        }
        _ => {
            p.push(
                ty.pos,
                format!("{what}.type: expected alertmanager, webhook, slack or log"),
            );
            None
        }
    }
}

fn parse_route(
    index: usize,
    node: &Node,
    names: &[String],
    sinks: &BTreeMap<String, SinkSpec>,
    p: &mut Problems,
) -> Option<Route> {
    let what = format!("alerts.routes[{index}]");
    if !p.keys(
        node,
        &["name", "match", "to", "resolved", "digest"],
        &format!("`{what}`"),
    ) {
        return None;
    }
    let matcher = match node.get("match") {
        Some(m) => Match::parse(m, &format!("{what}.match"), &mut |pos, msg| {
            p.push(pos, msg);
        })?,
        None => Match::default(),
    };
    let to = match node.get("to") {
        Some(t) => {
            let to = p.strings(t, &format!("{what}.to"));
            for n in &to {
                if !names.contains(n) {
                    p.push(
                        t.pos,
                        if names.is_empty() {
                            format!("{what}.to: no sink named `{n}` (no sinks are defined)")
                        } else {
                            format!(
                                "{what}.to: no sink named `{n}` (sinks: {})",
                                names.join(", ")
                            )
                        },
                    );
                }
            }
            if to.is_empty() {
                p.push(t.pos, format!("{what}.to: name at least one sink"));
            }
            to
        }
        None => {
            p.push(
                node.pos,
                format!("{what}: `to` is required (the sinks to send to)"),
            );
            Vec::new()
        }
    };
    let resolved = node
        .get("resolved")
        .and_then(|n| p.bool(n, &format!("{what}.resolved")))
        .unwrap_or(false);
    let digest = node
        .get("digest")
        .and_then(|n| p.span(n, &format!("{what}.digest")));
    if let Some(d) = node.get("digest") {
        for n in &to {
            if matches!(sinks.get(n), Some(SinkSpec::Alertmanager { .. })) {
                p.push(
                    d.pos,
                    format!(
                        "{what}.digest: `{n}` is an Alertmanager, which groups alerts itself (group_interval); route it without a digest"
                    ),
                );
            }
        }
    }
    let key = match node.get("name") {
        Some(n) => p.string(n, &format!("{what}.name"))?,
        None => {
            let canonical = format!("{matcher:?}|{digest:?}|{resolved}");
            let digest = ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes());
            format!("route-{}", &crate::hex(digest.as_ref())[..12])
        }
    };
    Some(Route {
        key,
        matcher,
        to,
        resolved,
        digest,
        pos: node.pos,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kspm_model::Severity;
    use kspm_model::yaml::{Limits, parse_stream};

    fn parse(text: &str) -> Result<AlertsConfig, ConfigError> {
        let (docs, errors) = parse_stream(text, &Limits::default());
        assert!(errors.is_empty());
        AlertsConfig::parse(docs[0].root.get("alerts").unwrap(), "kspm.yaml")
    }

    #[test]
    fn the_issue_example_parses() {
        let c = parse(
            "alerts:
  routes:
    - match: {min_severity: high, namespaces: [\"prod-*\"], exclude_rules: [WL007]}
      to: [oncall, slack-sec]
      resolved: true
    - match: {min_severity: low}
      to: [log]
      digest: 1h
  sinks:
    oncall:    {type: alertmanager, url: http://alertmanager:9093}
    slack-sec: {type: slack, webhook_url_file: /etc/kspm/slack-url}
    siem:      {type: webhook, url: https://siem.example/kspm, hmac_secret_file: /etc/kspm/hmac}
    log:       {type: log}
",
        )
        .unwrap();
        assert_eq!(c.routes.len(), 2);
        assert_eq!(c.routes[1].digest, Some(3600));
        assert!(c.routes[0].resolved);
        assert_eq!(c.routes[0].matcher.min_severity, Some(Severity::High));
        assert_eq!(c.sinks.len(), 4);
        assert_ne!(c.routes[0].key, c.routes[1].key);
    }

    #[test]
    fn every_problem_names_its_line_and_column() {
        let msg = parse(
            "alerts:
  routes:
    - match: {min_severty: high}
      to: [nowhere]
      digest: soon
  sinks:
    s: {type: slack, webhook_url: https://hooks.slack.com/services/T/B/SECRET}
    w: {type: webhook, url: \"https://user:pw@siem.example/\"}
    x: {type: pager}
",
        )
        .unwrap_err()
        .to_string();
        assert!(
            msg.contains("kspm.yaml:3:15: unknown key `min_severty`"),
            "{msg}"
        );
        assert!(
            msg.contains("kspm.yaml:4:11: alerts.routes[0].to: no sink named `nowhere`"),
            "{msg}"
        );
        assert!(
            msg.contains("kspm.yaml:5:15: alerts.routes[0].digest"),
            "{msg}"
        );
        assert!(
            msg.contains(
                "kspm.yaml:7:35: alerts.sinks.s.webhook_url: a Slack webhook URL is a credential"
            ),
            "{msg}"
        );
        assert!(
            msg.contains("kspm.yaml:8:29: alerts.sinks.w.url holds a user or password"),
            "{msg}"
        );
        assert!(msg.contains("kspm.yaml:9:15: alerts.sinks.x.type"), "{msg}");
        // The credentials written by mistake are not repeated back.
        assert!(!msg.contains("SECRET") && !msg.contains("pw@"), "{msg}");
    }

    #[test]
    fn a_digest_to_alertmanager_is_refused() {
        let msg = parse(
            "alerts:
  routes: [{to: [am], digest: 1h}]
  sinks: {am: {type: alertmanager, url: \"http://am:9093\"}}
",
        )
        .unwrap_err()
        .to_string();
        assert!(msg.contains("groups alerts itself"), "{msg}");
    }
}

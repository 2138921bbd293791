//! Credentials in plain text: what a literal or a name looks like, and redaction.
//!
//! The secrets rules (`kspm_rules::rules::secrets`) use the detectors to flag credentials, and
//! every finding's message, evidence and every diagnostic pass through [`redact`], so a value
//! shaped like a key or token never reaches a report, a log, the store or an alert. The
//! detectors return what kind of credential a literal looks like — never the literal itself.

/// Why a literal is taken for a credential, for messages: "its name suggests a password",
/// "it looks like an AWS access key ID". Never contains the value.
pub fn credential_reason(name: &str, value: &str) -> Option<String> {
    if let Some(kind) = value_looks_like_credential(value) {
        return Some(format!("it looks like {kind}"));
    }
    if is_placeholder(value) {
        return None;
    }
    name_suggests_credential(name).map(|kind| format!("its name suggests {kind}"))
}

/// Splits a variable or key name into lower-case words: on `_`, `-`, `.`, spaces and
/// camelCase boundaries (`dbPassword`, `APIKey` → `db password`, `api key`).
fn words(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut out = Vec::new();
    let mut cur = String::new();
    for (i, &ch) in chars.iter().enumerate() {
        if !ch.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if ch.is_ascii_uppercase() && !cur.is_empty() {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(char::is_ascii_lowercase);
            if prev.is_ascii_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_ascii_uppercase() && next_lower)
            {
                out.push(std::mem::take(&mut cur));
            }
        }
        cur.push(ch.to_ascii_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Last words that make a name about a credential rather than the credential itself:
/// `PASSWORD_FILE`, `SECRET_NAME`, `TOKEN_URL`, `PASSWORD_MIN_LENGTH`, `secrets.yaml`.
const NOT_A_VALUE: &[&str] = &[
    "file",
    "files",
    "path",
    "dir",
    "directory",
    "name",
    "names",
    "ref",
    "url",
    "uri",
    "endpoint",
    "host",
    "enabled",
    "enable",
    "disabled",
    "required",
    "ttl",
    "timeout",
    "expiry",
    "expiration",
    "expires",
    "lifetime",
    "length",
    "len",
    "size",
    "type",
    "mode",
    "header",
    "field",
    "version",
    "policy",
    "location",
    "count",
    "format",
    "algorithm",
    "kind",
    "namespace",
    "mount",
    "provider",
    "store",
    "backend",
    "rotation",
    "yaml",
    "yml",
    "json",
    "conf",
    "cfg",
    "ini",
    "properties",
    "toml",
    "xml",
    "tpl",
    "template",
    "sh",
    "py",
    "lua",
    "js",
];

/// The kind of credential a variable or key name suggests ("a password", "a token"...), if any.
pub fn name_suggests_credential(name: &str) -> Option<&'static str> {
    let words = words(name);
    let last = words.last()?;
    if NOT_A_VALUE.contains(&last.as_str()) {
        return None;
    }
    // Settings about a credential (`MYSQL_ALLOW_EMPTY_PASSWORD`, `PASSWORD_MIN_LENGTH`) are
    // switches and numbers, not the credential itself.
    if words.iter().any(|w| SETTING_WORDS.contains(&w.as_str())) {
        return None;
    }
    let pair = |a: &str, b: &str| words.windows(2).any(|w| w[0] == a && w[1] == b);
    let any = |f: &dyn Fn(&str) -> bool| words.iter().any(|w| f(w));
    // etcd's `initial-cluster-token` names a cluster so that members do not join the wrong one;
    // it grants nothing.
    if pair("cluster", "token") {
        return None;
    }
    if pair("private", "key") || any(&|w| w == "privatekey") {
        Some("a private key")
    } else if pair("api", "key") || any(&|w| w == "apikey") {
        Some("an API key")
    } else if pair("access", "key") || any(&|w| w == "accesskey") {
        Some("an access key")
    } else if any(&|w| {
        matches!(w, "pass" | "passphrase")
            || w.ends_with("password")
            || w.ends_with("passwd")
            || w == "passwords"
    }) {
        Some("a password")
    } else if any(&|w| w.ends_with("secret") || w == "secrets") {
        Some("a secret")
    } else if any(&|w| w.ends_with("token") || w == "tokens") {
        Some("a token")
    } else if any(&|w| w.ends_with("credential") || w.ends_with("credentials")) {
        Some("a credential")
    } else {
        None
    }
}

/// Words that make a credential-like name a setting about the credential rather than the
/// credential (found reviewing the real-world corpus: `MYSQL_ALLOW_EMPTY_PASSWORD: "1"`).
const SETTING_WORDS: &[&str] = &[
    "allow",
    "enable",
    "enabled",
    "disable",
    "disabled",
    "require",
    "required",
    "skip",
    "empty",
    "random",
    "generate",
    "min",
    "max",
    "length",
    "expiry",
    "expiration",
    "ttl",
    "rotation",
    "policy",
    "mode",
    "type",
    "format",
    "algorithm",
    "hash",
    "enforce",
];

/// Replaces every quoted or whitespace-separated piece of `text` that looks like a credential
/// with `<redacted>`. The safety net for finding messages and evidence: whatever a rule quotes,
/// a value shaped like a key or token never reaches a report.
pub fn redact(text: &str) -> std::borrow::Cow<'_, str> {
    let is_separator = |ch: char| {
        ch.is_whitespace() || matches!(ch, '"' | '\'' | '`' | ',' | '(' | ')' | '[' | ']')
    };
    // Every finding's message passes here: one search over the whole text for the value
    // shapes, and the name check only on `NAME=value` / `NAME:value` pieces.
    if value_looks_like_credential(text).is_none()
        && !text
            .split(is_separator)
            .any(|p| p.contains(['=', ':']) && named_secret(p).is_some())
    {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut piece = String::new();
    let flush = |piece: &mut String, out: &mut String| {
        match secret_piece(piece) {
            Some(keep) => {
                out.push_str(&piece[..keep]);
                out.push_str("<redacted>");
            }
            None => out.push_str(piece),
        }
        piece.clear();
    };
    for ch in text.chars() {
        if is_separator(ch) {
            flush(&mut piece, &mut out);
            out.push(ch);
        } else {
            piece.push(ch);
        }
    }
    flush(&mut piece, &mut out);
    std::borrow::Cow::Owned(out)
}

/// Whether a piece of text is (or ends in) a credential: `Some(n)` keeps its first `n` bytes
/// and redacts the rest. A piece shaped like a key or token goes whole; `NAME=value` and
/// `NAME:value` with a credential-like name (`DB_PASSWORD=...`, as a string where an `env` list
/// belongs quotes it) lose the value.
fn secret_piece(piece: &str) -> Option<usize> {
    if value_looks_like_credential(piece).is_some() {
        return Some(0);
    }
    named_secret(piece)
}

/// `NAME=value` or `NAME:value` with a credential-like name: the bytes to keep (`NAME=`).
fn named_secret(piece: &str) -> Option<usize> {
    let at = piece.find(['=', ':'])?;
    let (name, value) = (&piece[..at], &piece[at + 1..]);
    let value = value.trim_start_matches(['=', ':']);
    (!value.is_empty() && !is_placeholder(value) && name_suggests_credential(name).is_some())
        .then_some(at + 1)
}

/// Literal values that stand in for a credential rather than being one (compared in lower case).
const PLACEHOLDERS: &[&str] = &[
    "changeme",
    "change-me",
    "change_me",
    "changeit",
    "replaceme",
    "replace-me",
    "replace_me",
    "placeholder",
    "redacted",
    "todo",
    "tbd",
    "none",
    "null",
    "nil",
    "n/a",
    "undefined",
    "dummy",
    "example",
    "true",
    "false",
    "yes",
    "no",
    "on",
    "off",
];

/// Values that hold no credential even under a credential-like name: empty, references
/// (`$(VAR)`, `${VAR}`, `{{ .Values.x }}`, `<your-token>`), masks (`****`, `xxxx`), obvious
/// placeholders (`changeme`), booleans, and file paths.
pub fn is_placeholder(value: &str) -> bool {
    let v = value.trim();
    if v.is_empty()
        || (v.starts_with("$(") && v.ends_with(')'))
        || v.contains("${")
        || v.contains("{{")
        || (v.starts_with('<') && v.ends_with('>'))
        || v.starts_with('/')
        // Substitution markers in install manifests: `__SERVICEACCOUNT_TOKEN__`.
        || (v.len() > 4 && v.starts_with("__") && v.ends_with("__"))
        // Empty collections in embedded config (`custom_secrets: []`) and tiny numeric switches.
        || matches!(v, "[]" | "{}" | "\"\"" | "''")
        || (v.len() <= 2 && v.bytes().all(|b| b.is_ascii_digit()))
        || v.chars()
            .all(|c| matches!(c, 'x' | 'X' | '*' | '.' | '-' | '#' | '?'))
        || is_fill_in_marker(v)
    {
        return true;
    }
    PLACEHOLDERS.contains(&v.to_ascii_lowercase().as_str())
}

/// An instruction to the person installing the manifest, written where the value goes:
/// `INSERT_ETCD_DISCOVERY_TOKEN`, `REPLACE_WITH_PASSWORD`, `YOUR_API_KEY_HERE`. Upper-case
/// words joined by `_`, opening with a verb of filling in (or `YOUR`) or closing with `HERE`.
fn is_fill_in_marker(v: &str) -> bool {
    if !v.contains('_')
        || !v
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
    {
        return false;
    }
    let first = v.split('_').next().unwrap_or("");
    matches!(
        first,
        "INSERT" | "REPLACE" | "YOUR" | "ENTER" | "PUT" | "FILL" | "CHANGE" | "SET" | "ADD"
    ) || v.ends_with("_HERE")
}

/// A credential assigned inside an embedded configuration file or env file: a line
/// `NAME=value`, `NAME: value` (optionally after `export ` or a YAML `- `) whose name suggests a
/// credential and whose value is a literal, not a placeholder or a `$VAR` reference. Returns the
/// 1-based line, the name and the kind of credential, never the value. Comment lines are skipped.
pub fn embedded_credential(text: &str) -> Option<(usize, String, &'static str)> {
    for (i, line) in text.lines().enumerate() {
        let mut t = line.trim();
        if t.is_empty() || t.starts_with('#') || t.starts_with(';') || t.starts_with("//") {
            continue;
        }
        t = t.strip_prefix("export ").unwrap_or(t).trim_start();
        t = t.strip_prefix("- ").unwrap_or(t).trim_start();
        let eq = t.find('=');
        // A YAML colon separates only when followed by a space or the end of the line.
        let colon = t
            .match_indices(':')
            .map(|(j, _)| j)
            .find(|&j| t[j + 1..].is_empty() || t[j + 1..].starts_with([' ', '\t']));
        let sep = match (eq, colon) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) => a,
            (None, Some(b)) => b,
            (None, None) => continue,
        };
        let name = t[..sep].trim().trim_matches(['"', '\'']);
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        {
            continue;
        }
        let mut value = t[sep + 1..].trim();
        for q in ['"', '\''] {
            if value.len() >= 2 && value.starts_with(q) && value.ends_with(q) {
                value = &value[1..value.len() - 1];
            }
        }
        if value.starts_with('$') || is_placeholder(value) {
            continue;
        }
        if let Some(kind) = name_suggests_credential(name) {
            return Some((i + 1, name.to_owned(), kind));
        }
    }
    None
}

/// The kind of credential a value looks like by its shape, if any: AWS access key IDs, PEM
/// private keys, GitHub and Slack tokens, JSON Web Tokens, URLs with an embedded password.
pub fn value_looks_like_credential(value: &str) -> Option<&'static str> {
    if !may_hold_credential_shape(value.as_bytes()) {
        return None;
    }
    if value.contains("-----BEGIN") && value.contains("PRIVATE KEY-----") {
        return Some("a private key");
    }
    if has_aws_key_id(value) {
        return Some("an AWS access key ID");
    }
    if has_github_token(value) {
        return Some("a GitHub token");
    }
    if has_slack_token(value) {
        return Some("a Slack token");
    }
    if has_jwt(value) {
        return Some("a JSON Web Token");
    }
    if has_url_password(value) {
        return Some("a URL with an embedded password");
    }
    None
}

/// Whether `v` holds the start of any shape [`value_looks_like_credential`] knows (`-----BEGIN`,
/// `AKIA`/`ASIA`, `gh?_`/`github_pat_`, `xox`, `eyJ`, `://`): one pass over the bytes, so that
/// the text of every finding and diagnostic, which almost never holds one, is not searched
/// once per shape (in a profile of 10,000 resources, redaction took 8 % of the CPU time and
/// the shape searches 8 %, the two overlapping).
fn may_hold_credential_shape(v: &[u8]) -> bool {
    (0..v.len()).any(|i| {
        let rest = &v[i..];
        match v[i] {
            b'-' => rest.starts_with(b"-----BEGIN"),
            b'A' => rest.starts_with(b"AKIA") || rest.starts_with(b"ASIA"),
            b'g' => {
                rest.starts_with(b"github_pat_")
                    || (rest.len() >= 4
                        && rest[1] == b'h'
                        && matches!(rest[2], b'p' | b'o' | b'u' | b's' | b'r')
                        && rest[3] == b'_')
            }
            b'x' => rest.starts_with(b"xox"),
            b'e' => rest.starts_with(b"eyJ"),
            b':' => rest.starts_with(b"://"),
            _ => false,
        }
    })
}

/// Byte offsets where `needle` occurs, not preceded by an alphanumeric character.
fn word_starts<'a>(hay: &'a str, needle: &'a str) -> impl Iterator<Item = usize> + 'a {
    hay.match_indices(needle)
        .map(|(i, _)| i)
        .filter(move |&i| i == 0 || !hay.as_bytes()[i - 1].is_ascii_alphanumeric())
}

/// The length of the run of bytes from `start` that satisfy `ok`.
fn run_len(s: &str, start: usize, ok: impl Fn(u8) -> bool) -> usize {
    s.as_bytes()[start.min(s.len())..]
        .iter()
        .take_while(|&&b| ok(b))
        .count()
}

/// `AKIA`/`ASIA` followed by exactly 16 upper-case letters or digits.
fn has_aws_key_id(v: &str) -> bool {
    ["AKIA", "ASIA"].iter().any(|p| {
        word_starts(v, p).any(|i| {
            run_len(v, i + 4, |b| b.is_ascii_uppercase() || b.is_ascii_digit()) == 16
                && !v
                    .as_bytes()
                    .get(i + 20)
                    .is_some_and(u8::is_ascii_alphanumeric)
        })
    })
}

/// Classic (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_` + 36 characters) and fine-grained
/// (`github_pat_` + 22 or more) GitHub tokens.
fn has_github_token(v: &str) -> bool {
    let classic = ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"]
        .iter()
        .any(|p| word_starts(v, p).any(|i| run_len(v, i + 4, |b| b.is_ascii_alphanumeric()) >= 36));
    classic
        || word_starts(v, "github_pat_")
            .any(|i| run_len(v, i + 11, |b| b.is_ascii_alphanumeric() || b == b'_') >= 22)
}

/// `xoxb-`, `xoxa-`, `xoxp-`, `xoxr-`, `xoxs-` followed by at least 10 token characters.
fn has_slack_token(v: &str) -> bool {
    ["xoxb-", "xoxa-", "xoxp-", "xoxr-", "xoxs-"]
        .iter()
        .any(|p| {
            word_starts(v, p)
                .any(|i| run_len(v, i + 5, |b| b.is_ascii_alphanumeric() || b == b'-') >= 10)
        })
}

/// Three base64url segments separated by dots, the first two starting with `eyJ` (a JSON
/// object): `header.payload.signature`.
fn has_jwt(v: &str) -> bool {
    word_starts(v, "eyJ").any(|i| {
        let len = run_len(v, i, |b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')
        });
        let parts: Vec<&str> = v[i..i + len].split('.').collect();
        parts.len() == 3
            && parts[0].len() >= 10
            && parts[1].len() >= 10
            && parts[1].starts_with("eyJ")
    })
}

/// `scheme://user:password@host` with a literal, non-empty password.
fn has_url_password(v: &str) -> bool {
    v.match_indices("://").any(|(i, _)| {
        let rest = &v[i + 3..];
        let authority = &rest[..rest
            .find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace())
            .unwrap_or(rest.len())];
        let Some((userinfo, host)) = authority.rsplit_once('@') else {
            return false;
        };
        let Some((_, password)) = userinfo.split_once(':') else {
            return false;
        };
        !host.is_empty()
            && !password.is_empty()
            && !is_placeholder(password)
            && !password.starts_with('$')
    })
}

/// Decodes standard base64 (ConfigMap `binaryData`), ignoring whitespace; `None` when invalid.
pub fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for b in text.bytes().filter(|b| !b.is_ascii_whitespace()) {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for (name, kind) in [
            ("DB_PASSWORD", "a password"),
            ("dbPassword", "a password"),
            ("MYSQL_ROOT_PASSWORD", "a password"),
            ("REDIS_PASS", "a password"),
            ("passwd", "a password"),
            ("CLIENT_SECRET", "a secret"),
            ("clientSecret", "a secret"),
            ("GITHUB_TOKEN", "a token"),
            ("authToken", "a token"),
            ("API_KEY", "an API key"),
            ("apikey", "an API key"),
            ("x-api-key", "an API key"),
            ("AWS_ACCESS_KEY_ID", "an access key"),
            ("AWS_SECRET_ACCESS_KEY", "an access key"),
            ("PRIVATE_KEY", "a private key"),
            ("GOOGLE_CREDENTIALS", "a credential"),
            ("db.password", "a password"),
        ] {
            assert_eq!(name_suggests_credential(name), Some(kind), "{name}");
        }
        for name in [
            "PASSWORD_FILE",
            "GF_SECURITY_ADMIN_PASSWORD__FILE",
            "SECRET_NAME",
            "TOKEN_URL",
            "PASSWORD_MIN_LENGTH",
            "secrets.yaml",
            "LOG_LEVEL",
            "BYPASS_CACHE",
            "PASSENGERS",
            "KEY",
        ] {
            assert_eq!(name_suggests_credential(name), None, "{name}");
        }
    }

    #[test]
    fn embedded_assignments() {
        let found = embedded_credential;
        assert_eq!(
            found("REDIS_PASSWORD=abcd1234"),
            Some((1, "REDIS_PASSWORD".to_owned(), "a password"))
        );
        assert_eq!(
            found("# settings\nlevel: info\ndb:\n  password: 'hunter2-not-real'\n"),
            Some((4, "password".to_owned(), "a password"))
        );
        assert_eq!(
            found("export API_TOKEN=\"abc123def\""),
            Some((1, "API_TOKEN".to_owned(), "a token"))
        );
        for text in [
            "REDIS_PASSWORD=",
            "REDIS_PASSWORD=${REDIS_PASSWORD}",
            "REDIS_PASSWORD=$REDIS_PASSWORD",
            "password: \"{{ .Values.password }}\"",
            "password:\n  valueFrom: vault",
            "# password=hunter2-not-real",
            "password_file=/etc/secrets/db",
            "token_url: https://auth.example.com/token",
            "server { listen 80; }",
            "secret: false",
            "url=https://example.com/?token=abc",
        ] {
            assert_eq!(found(text), None, "{text}");
        }
    }

    #[test]
    fn values() {
        assert_eq!(
            value_looks_like_credential("AKIAIOSFODNN7EXAMPLE"),
            Some("an AWS access key ID")
        );
        assert_eq!(
            value_looks_like_credential("id=AKIAIOSFODNN7EXAMPLE;"),
            Some("an AWS access key ID")
        );
        assert_eq!(value_looks_like_credential("AKIAIOSFODNN7EXAMPLEX"), None);
        assert_eq!(value_looks_like_credential("XAKIAIOSFODNN7EXAMPLE"), None);
        assert_eq!(
            value_looks_like_credential(
                "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----"
            ),
            Some("a private key")
        );
        assert_eq!(
            value_looks_like_credential("-----BEGIN CERTIFICATE-----"),
            None
        );
        assert_eq!(
            value_looks_like_credential(&format!("ghp_{}", "a1".repeat(18))),
            Some("a GitHub token")
        );
        assert_eq!(value_looks_like_credential("ghp_short"), None);
        assert_eq!(
            value_looks_like_credential(&format!("github_pat_{}", "A_1".repeat(10))),
            Some("a GitHub token")
        );
        assert_eq!(
            value_looks_like_credential("xoxb-1234567890-abcdef"),
            Some("a Slack token")
        );
        assert_eq!(
            value_looks_like_credential(
                "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlLWZha2U"
            ),
            Some("a JSON Web Token")
        );
        assert_eq!(value_looks_like_credential("eyJhbGciOiJIUzI1NiJ9"), None);
        assert_eq!(
            value_looks_like_credential("postgres://app:s3cr3t@db:5432/app"),
            Some("a URL with an embedded password")
        );
        assert_eq!(
            value_looks_like_credential("postgres://app:$(DB_PASSWORD)@db:5432/app"),
            None
        );
        assert_eq!(
            value_looks_like_credential("postgres://app@db:5432/app"),
            None
        );
        assert_eq!(
            value_looks_like_credential("https://example.com/a:b@c"),
            None
        );
        assert_eq!(value_looks_like_credential("hello world"), None);
    }

    #[test]
    fn the_quick_filter_passes_every_shape_and_few_messages() {
        for shape in [
            "-----BEGIN RSA PRIVATE KEY-----",
            "AKIAIOSFODNN7EXAMPLE",
            "ASIAIOSFODNN7EXAMPLE",
            "github_pat_x",
            "ghp_x",
            "gho_x",
            "ghu_x",
            "ghs_x",
            "ghr_x",
            "xoxb-",
            "eyJhbGci",
            "https://u:p@h",
        ] {
            assert!(may_hold_credential_shape(shape.as_bytes()), "{shape}");
            assert!(
                may_hold_credential_shape(format!("a {shape} b").as_bytes()),
                "{shape}"
            );
        }
        for text in [
            "container \"app\" can escalate its privileges (allowPrivilegeEscalation is not false)",
            "ghq_x eyj AKI xo :// ",
            "",
        ] {
            assert_eq!(
                may_hold_credential_shape(text.as_bytes()),
                text.contains("://"),
                "{text}"
            );
        }
    }

    #[test]
    fn redaction() {
        let token = "ghp_0123456789abcdefghijABCDEFGHIJ012345";
        let msg = format!("container \"a\" uses image \"{token}\" without a tag");
        assert_eq!(
            redact(&msg),
            "container \"a\" uses image \"<redacted>\" without a tag"
        );
        assert_eq!(redact("nothing to hide here"), "nothing to hide here");
    }

    #[test]
    fn placeholders() {
        for v in [
            "",
            "  ",
            "$(DB_PASSWORD)",
            "${DB_PASSWORD}",
            "{{ .Values.pw }}",
            "<your-token>",
            "****",
            "xxxx",
            "changeme",
            "TRUE",
            "/run/secrets/db",
            "__SERVICEACCOUNT_TOKEN__",
            "INSERT_ETCD_DISCOVERY_TOKEN",
            "REPLACE_WITH_PASSWORD",
            "MY_TOKEN_HERE",
            "[]",
            "1",
        ] {
            assert!(is_placeholder(v), "{v:?}");
        }
        // Settings about a credential are not the credential (real-world corpus review).
        assert_eq!(
            credential_reason("MYSQL_ALLOW_EMPTY_PASSWORD", "yes-please"),
            None
        );
        assert_eq!(credential_reason("PASSWORD_MIN_LENGTH", "12"), None);
        assert_eq!(credential_reason("MYSQL_RANDOM_ROOT_PASSWORD", "1"), None);
        assert_eq!(
            credential_reason("ETCD_INITIAL_CLUSTER_TOKEN", "etcd-cluster-1"),
            None
        );
        for v in [
            "hunter2",
            "s3cr3t-value",
            "12345",
            "INSERTED_K3Y",
            "Insert_Token_9f",
        ] {
            assert!(!is_placeholder(v), "{v:?}");
        }
        assert_eq!(credential_reason("DB_PASSWORD", "$(PW)"), None);
        assert_eq!(
            credential_reason("DB_PASSWORD", "hunter2").as_deref(),
            Some("its name suggests a password")
        );
        assert_eq!(
            credential_reason("NOTE", "AKIAIOSFODNN7EXAMPLE").as_deref(),
            Some("it looks like an AWS access key ID")
        );
    }

    #[test]
    fn base64() {
        assert_eq!(decode_base64("aGVsbG8=").as_deref(), Some(&b"hello"[..]));
        assert_eq!(
            decode_base64("aGVs\nbG8gd29ybGQ=").as_deref(),
            Some(&b"hello world"[..])
        );
        assert_eq!(decode_base64("!!"), None);
    }
}

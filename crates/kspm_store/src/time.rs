//! Times as the store keeps them (seconds since the Unix epoch, UTC) and as people read them.

/// Now, in seconds since the epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Civil date (year, month, day) of a day number since 1970-01-01 (Howard Hinnant's algorithm).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// `2026-12-07` for a day number.
pub fn date(day: i64) -> String {
    let (y, m, d) = civil(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `2026-12-07T03:20:51Z`.
pub fn rfc3339(t: i64) -> String {
    let secs = t.rem_euclid(86_400);
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        date(t.div_euclid(86_400)),
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// A span like `7d`, `12h`, `30m`, `2w` or `90s`, in seconds.
pub fn parse_duration(text: &str) -> Result<i64, DurationError> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: i64 = digits
        .parse()
        .map_err(|_| DurationError::NotADuration(text.to_owned()))?;
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" | "" => 86_400,
        "w" => 7 * 86_400,
        _ => {
            return Err(DurationError::UnknownUnit {
                text: text.to_owned(),
                unit: unit.to_owned(),
            });
        }
    };
    n.checked_mul(scale)
        .ok_or_else(|| DurationError::TooLong(text.to_owned()))
}

/// Why [`parse_duration`] refused a span; each names the text it was given.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// No number first (`d`), or a number too large to read (`99999999999999999999d`).
    #[error("`{0}` is not a duration like 7d, 12h, 30m or 2w")]
    NotADuration(String),
    /// A number with a unit other than s, m, h, d or w.
    #[error("`{text}`: unknown unit `{unit}` (use s, m, h, d or w)")]
    UnknownUnit { text: String, unit: String },
    /// More seconds than an `i64` holds.
    #[error("`{0}` is too long a duration")]
    TooLong(String),
}

/// `3d 4h`, `2h 5m`, `40s`: a duration for people.
pub fn human(seconds: i64) -> String {
    let s = seconds.max(0);
    let (d, h, m) = (s / 86_400, s % 86_400 / 3_600, s % 3_600 / 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, m) => format!("{m}m"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(20_454 * 86_400 + 3_661), "2026-01-01T01:01:01Z");
        assert_eq!(date(11_016), "2000-02-29");
        assert_eq!(human(90_000), "1d 1h");
        assert_eq!(human(59), "59s");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("7d"), Ok(604_800));
        assert_eq!(parse_duration("12h"), Ok(43_200));
        assert_eq!(parse_duration("2w"), Ok(1_209_600));
        assert_eq!(
            parse_duration("7 days").unwrap_err().to_string(),
            "`7 days`: unknown unit ` days` (use s, m, h, d or w)"
        );
        assert_eq!(
            parse_duration("d").unwrap_err().to_string(),
            "`d` is not a duration like 7d, 12h, 30m or 2w"
        );
        assert!(matches!(
            parse_duration("99999999999999999999d"),
            Err(DurationError::NotADuration(_))
        ));
        assert_eq!(
            parse_duration("999999999999999999d")
                .unwrap_err()
                .to_string(),
            "`999999999999999999d` is too long a duration"
        );
    }
}

//! Paginated listing (`limit` + `continue`) that keeps memory bounded by one page, retries with
//! exponential backoff on throttling (429), server errors (5xx) and transport failures, and
//! starts the list again when the server says the continue token expired (410 Gone).

use std::future::Future;
use std::time::Duration;

use serde_json::Value as Json;

/// One page of a list response.
pub(crate) struct Page {
    pub items: Vec<Json>,
    pub next: Option<String>,
}

/// How a failed request is handled.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// Try the same request again after a pause (429, 5xx, transport errors, timeouts).
    Retry(String),
    /// The continue token expired: list again from the start.
    Gone,
    /// Give up on this list (403, 404, ...): the message says why.
    Stop(String),
}

pub(crate) fn classify(e: &kube::Error) -> Failure {
    match e {
        kube::Error::Api(s) if s.code == 410 => Failure::Gone,
        kube::Error::Api(s) if s.code == 429 || s.code >= 500 => {
            Failure::Retry(format!("{} {}: {}", s.code, s.reason, s.message))
        }
        kube::Error::Api(s) => Failure::Stop(format!("{} {}: {}", s.code, s.reason, s.message)),
        kube::Error::HyperError(_) | kube::Error::Service(_) => Failure::Retry(e.to_string()),
        other => Failure::Stop(other.to_string()),
    }
}

/// Why a list was given up; the rest of the scan goes on without that kind.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ListError {
    /// The continue token expired again and again (a kind that changes faster than it lists).
    #[error("the list kept expiring (410 Gone) after {0} fresh starts")]
    KeptExpiring(u32),
    /// Throttling, server or transport errors outlasted the attempt budget.
    #[error("gave up after {attempts} attempts: {last}")]
    GaveUp { attempts: u32, last: String },
    /// The server refused (403, 404...): its answer.
    #[error("{0}")]
    Refused(String),
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Backoff {
    /// First pause; doubled after each failed attempt, up to `max`.
    pub base: Duration,
    pub max: Duration,
    /// Attempts per request before giving up.
    pub attempts: u32,
    /// Fresh starts after 410 Gone before giving up.
    pub restarts: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_millis(200),
            max: Duration::from_secs(5),
            attempts: 6,
            restarts: 3,
        }
    }
}

/// What a completed list cost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ListStats {
    pub requests: u32,
    pub retries: u32,
    pub restarts: u32,
}

/// Lists every page through `fetch(continue_token)`, handing each page's items to `on_page` as it
/// arrives. After a 410 the list starts over, so `on_page` may see an object twice: callers
/// deduplicate by uid.
pub(crate) async fn list_all<F, Fut>(
    mut fetch: F,
    backoff: Backoff,
    mut on_page: impl FnMut(Vec<Json>),
) -> Result<ListStats, (ListError, ListStats)>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<Page, Failure>>,
{
    let mut stats = ListStats::default();
    let mut token: Option<String> = None;
    let mut attempt = 0u32;
    loop {
        stats.requests += 1;
        match fetch(token.clone()).await {
            Ok(page) => {
                attempt = 0;
                on_page(page.items);
                match page.next {
                    Some(next) if !next.is_empty() => token = Some(next),
                    _ => return Ok(stats),
                }
            }
            Err(Failure::Gone) => {
                if stats.restarts >= backoff.restarts {
                    return Err((ListError::KeptExpiring(stats.restarts), stats));
                }
                stats.restarts += 1;
                token = None;
                attempt = 0;
            }
            Err(Failure::Retry(why)) => {
                attempt += 1;
                if attempt >= backoff.attempts {
                    return Err((
                        ListError::GaveUp {
                            attempts: attempt,
                            last: why,
                        },
                        stats,
                    ));
                }
                stats.retries += 1;
                let pause = backoff
                    .base
                    .saturating_mul(1 << (attempt - 1).min(16))
                    .min(backoff.max);
                tokio::time::sleep(pause).await;
            }
            Err(Failure::Stop(why)) => return Err((ListError::Refused(why), stats)),
        }
    }
}

#[cfg(test)]
mod tests {
    //! The pager's retry and restart logic, driven by scripted server answers. The same code
    //! runs against the real kube-apiserver in tests/live.rs (pagination over many pages).
    use super::*;
    use std::cell::RefCell;

    fn fast() -> Backoff {
        Backoff {
            base: Duration::from_millis(1),
            max: Duration::from_millis(2),
            attempts: 3,
            restarts: 2,
        }
    }

    type Outcome = Result<ListStats, (ListError, ListStats)>;

    /// Runs the pager against a script of answers; returns the names seen, the continue tokens
    /// asked with, and the outcome.
    fn run(
        script: Vec<Result<Page, Failure>>,
        backoff: Backoff,
    ) -> (Vec<String>, Vec<Option<String>>, Outcome) {
        let script = RefCell::new(script.into_iter());
        let tokens = RefCell::new(Vec::new());
        let mut seen = Vec::new();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let out = rt.block_on(list_all(
            |token| {
                tokens.borrow_mut().push(token);
                let next = script.borrow_mut().next().expect("script too short");
                async move { next }
            },
            backoff,
            |items| seen.extend(items.iter().map(|i| i["n"].as_str().unwrap().to_owned())),
        ));
        (seen, tokens.into_inner(), out)
    }

    #[allow(clippy::unnecessary_wraps)] // a script entry is a server answer
    fn page(names: &[&str], next: Option<&str>) -> Result<Page, Failure> {
        Ok(Page {
            items: names
                .iter()
                .map(|n| serde_json::json!({ "n": n }))
                .collect(),
            next: next.map(str::to_owned),
        })
    }

    #[test]
    fn follows_continue_tokens_to_the_end() {
        let (seen, tokens, out) = run(
            vec![page(&["a", "b"], Some("t1")), page(&["c"], Some(""))],
            fast(),
        );
        assert_eq!(seen, ["a", "b", "c"]);
        assert_eq!(tokens, [None, Some("t1".to_owned())]);
        assert_eq!(out.unwrap().requests, 2);
    }

    #[test]
    fn retries_throttling_and_server_errors_with_the_same_token() {
        let (seen, tokens, out) = run(
            vec![
                page(&["a"], Some("t1")),
                Err(Failure::Retry("429 TooManyRequests".into())),
                Err(Failure::Retry("503 ServiceUnavailable".into())),
                page(&["b"], None),
            ],
            fast(),
        );
        assert_eq!(seen, ["a", "b"]);
        assert_eq!(
            tokens[1..],
            [
                Some("t1".to_owned()),
                Some("t1".to_owned()),
                Some("t1".to_owned())
            ]
        );
        let stats = out.unwrap();
        assert_eq!((stats.requests, stats.retries), (4, 2));
    }

    #[test]
    fn gives_up_after_the_attempt_budget() {
        let (_, _, out) = run(
            vec![
                Err(Failure::Retry("500".into())),
                Err(Failure::Retry("500".into())),
                Err(Failure::Retry("500 boom".into())),
            ],
            fast(),
        );
        let (why, _) = out.unwrap_err();
        assert_eq!(why.to_string(), "gave up after 3 attempts: 500 boom");
    }

    #[test]
    fn restarts_from_the_beginning_on_410() {
        let (seen, tokens, out) = run(
            vec![
                page(&["a"], Some("t1")),
                Err(Failure::Gone),
                page(&["a"], Some("t2")),
                page(&["b"], None),
            ],
            fast(),
        );
        assert_eq!(
            seen,
            ["a", "a", "b"],
            "callers deduplicate the replayed page"
        );
        assert_eq!(
            tokens,
            [None, Some("t1".to_owned()), None, Some("t2".to_owned())]
        );
        assert_eq!(out.unwrap().restarts, 1);
    }

    #[test]
    fn a_list_that_keeps_expiring_ends_with_a_reason() {
        let (_, _, out) = run(
            vec![Err(Failure::Gone), Err(Failure::Gone), Err(Failure::Gone)],
            fast(),
        );
        let (why, _) = out.unwrap_err();
        assert_eq!(why, ListError::KeptExpiring(fast().restarts));
        assert!(why.to_string().contains("410 Gone"), "{why}");
    }

    #[test]
    fn forbidden_stops_at_once() {
        let (seen, _, out) = run(vec![Err(Failure::Stop("403 Forbidden: no".into()))], fast());
        assert!(seen.is_empty());
        assert_eq!(
            out.unwrap_err().0,
            ListError::Refused("403 Forbidden: no".into())
        );
    }
}

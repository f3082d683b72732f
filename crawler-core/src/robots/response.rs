//! What a robots.txt response means for its host (RFC 9309 §2.3.1).

use std::time::{Duration, SystemTime};

use super::parse::{RobotsTxt, MAX_ROBOTS_BYTES};
use crate::error_kind::ErrorKind;
use crate::fetch::{retry_after, BodyLimit, FetchOutcome, Fetcher};
use crate::url::CanonicalUrl;

/// Redirects followed for one robots.txt; RFC 9309 §2.3.1.2 asks for at least five.
pub const MAX_ROBOTS_REDIRECTS: u8 = 5;

/// The meaning of one robots.txt fetch.
#[derive(Debug)]
pub enum RobotsResponse {
    /// 2xx: the file (parsed up to [`MAX_ROBOTS_BYTES`]).
    Found(RobotsTxt),
    /// 4xx other than 429, or too many redirects: there is no file, so no rules apply
    /// (§2.3.1.3). The text says why.
    Unavailable(String),
    /// 3xx with a usable `Location`: fetch that next, through the same host's politeness.
    Redirect(CanonicalUrl),
    /// 5xx, 429 or no response: nothing on the host may be fetched until a later try
    /// succeeds (§2.3.1.4).
    Unreachable {
        /// What went wrong, for the record.
        reason: String,
        /// What the server's `Retry-After` asked for.
        retry_after: Option<Duration>,
        /// No response at all (connection, DNS, timeout): counts toward parking the host.
        connection_failure: bool,
    },
}

/// Interprets the fetch of `url`, reached after `hops` redirects.
pub fn interpret(url: &CanonicalUrl, outcome: &FetchOutcome, hops: u8) -> RobotsResponse {
    let Some(response) = &outcome.response else {
        if let Some(error) = outcome
            .error
            .as_ref()
            .filter(|e| e.kind == ErrorKind::AddressRefused)
        {
            // Nothing of the host will be connected to either: each of its URLs is
            // recorded as refused when its turn comes, not held back for a robots.txt.
            return RobotsResponse::Unavailable(format!("{}: {}", error.kind, error.message));
        }
        let (reason, connection_failure) = match &outcome.error {
            Some(error) => (
                format!("{}: {}", error.kind, error.message),
                error.kind.is_connection_failure(),
            ),
            None => ("no response".to_owned(), true),
        };
        return RobotsResponse::Unreachable {
            reason,
            retry_after: None,
            connection_failure,
        };
    };
    let status = response.status;
    let retry = || {
        response
            .retry_after
            .as_deref()
            .and_then(|value| retry_after(value, SystemTime::now()))
    };
    match status {
        200..=299 if outcome.error.is_none() => {
            RobotsResponse::Found(RobotsTxt::parse(&outcome.body))
        }
        200..=299 => RobotsResponse::Unreachable {
            reason: outcome
                .error
                .as_ref()
                .map(|e| format!("{}: {}", e.kind, e.message))
                .unwrap_or_default(),
            retry_after: None,
            connection_failure: outcome
                .error
                .as_ref()
                .is_some_and(|e| e.kind.is_connection_failure()),
        },
        300..=399 => {
            let target = response
                .location
                .as_deref()
                .and_then(|location| CanonicalUrl::join(url.as_url(), location).ok());
            match target {
                Some(_) if hops >= MAX_ROBOTS_REDIRECTS => RobotsResponse::Unavailable(format!(
                    "more than {MAX_ROBOTS_REDIRECTS} redirects"
                )),
                Some(target) => RobotsResponse::Redirect(target),
                None => RobotsResponse::Unavailable(format!("{status} without a usable Location")),
            }
        }
        429 | 500..=599 => RobotsResponse::Unreachable {
            reason: format!("status {status}"),
            retry_after: retry(),
            connection_failure: false,
        },
        _ => RobotsResponse::Unavailable(format!("status {status}")),
    }
}

/// Fetches the robots.txt at `url` and follows its redirects at once, for a one-off
/// look (`crawler robots --url`). A crawl does not use this: it schedules each hop
/// through the host's politeness like any other request.
pub fn fetch(fetcher: &Fetcher, url: &CanonicalUrl) -> RobotsResponse {
    let limit = BodyLimit::Truncate(MAX_ROBOTS_BYTES as u64);
    let mut url = url.clone();
    let mut hops = 0;
    loop {
        let outcome = fetcher.fetch_with_limit(url.as_url(), limit);
        match interpret(&url, &outcome, hops) {
            RobotsResponse::Redirect(next) => {
                url = next;
                hops += 1;
            }
            meaning => return meaning,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::fetch::{FetchError, ResponseMeta};

    fn outcome(status: Option<u16>, body: &str) -> FetchOutcome {
        FetchOutcome {
            response: status.map(|status| ResponseMeta {
                status,
                location: Some("/elsewhere.txt".into()),
                retry_after: Some("7".into()),
                ..ResponseMeta::default()
            }),
            body: body.as_bytes().to_vec(),
            error: status.is_none().then(|| FetchError {
                kind: ErrorKind::Connect,
                message: "refused".into(),
            }),
            bytes: body.len() as u64,
            elapsed: Duration::ZERO,
            answered: Instant::now(),
            proxy: None,
            exchange: None,
        }
    }

    fn meaning(status: Option<u16>, hops: u8) -> RobotsResponse {
        let url = CanonicalUrl::parse("http://a.test/robots.txt").unwrap();
        interpret(
            &url,
            &outcome(status, "User-agent: *\nDisallow: /x\n"),
            hops,
        )
    }

    #[test]
    fn a_refused_address_has_no_robots_txt_to_wait_for() {
        let url = CanonicalUrl::parse("http://10.0.0.1/robots.txt").unwrap();
        let mut refused = outcome(None, "");
        refused.error = Some(FetchError {
            kind: ErrorKind::AddressRefused,
            message: "10.0.0.1 is private".into(),
        });
        match interpret(&url, &refused, 0) {
            RobotsResponse::Unavailable(why) => assert!(why.contains("address-refused"), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn statuses_map_as_rfc_9309_says() {
        assert!(matches!(meaning(Some(200), 0), RobotsResponse::Found(f) if f.groups.len() == 1));
        assert!(matches!(
            meaning(Some(404), 0),
            RobotsResponse::Unavailable(_)
        ));
        assert!(matches!(
            meaning(Some(403), 0),
            RobotsResponse::Unavailable(_)
        ));
        assert!(matches!(
            meaning(Some(410), 0),
            RobotsResponse::Unavailable(_)
        ));
        match meaning(Some(301), 0) {
            RobotsResponse::Redirect(to) => assert_eq!(to.as_str(), "http://a.test/elsewhere.txt"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            meaning(Some(301), 5),
            RobotsResponse::Unavailable(_)
        ));
        for status in [500, 503, 429] {
            match meaning(Some(status), 0) {
                RobotsResponse::Unreachable {
                    retry_after,
                    connection_failure,
                    ..
                } => {
                    assert_eq!(retry_after, Some(Duration::from_secs(7)));
                    assert!(!connection_failure);
                }
                other => panic!("{status}: {other:?}"),
            }
        }
        assert!(matches!(
            meaning(None, 0),
            RobotsResponse::Unreachable {
                connection_failure: true,
                ..
            }
        ));
    }
}

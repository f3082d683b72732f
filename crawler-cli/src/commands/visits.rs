//! `crawler get --history` and `--version`: the visits of one URL that a recrawl keeps,
//! and the body a visit saw.

use std::io::Write;

use anyhow::anyhow;
use crawler_storage::{Store, Visit};

use crate::escape::escape;
use crate::table::{self, Align, Cell};
use crate::time::{now_ms, parse_time, rfc3339_millis};
use crate::Failure;

/// Every visit of `url`, newest first: a table for people, or one JSON object per
/// visit.
pub fn print_history(
    out: &mut impl Write,
    store: &Store,
    url: &str,
    json: bool,
) -> Result<(), Failure> {
    let visits = store.history(url, usize::MAX)?;
    if json {
        for visit in &visits {
            serde_json::to_writer(&mut *out, &visit_json(visit))?;
            writeln!(out)?;
        }
        return Ok(());
    }
    let headers = [
        ("fetched", Align::Left),
        ("status", Align::Left),
        ("change", Align::Left),
        ("digest", Align::Left),
        ("body", Align::Left),
    ];
    let rows: Vec<Vec<Cell>> = visits
        .iter()
        .map(|visit| {
            [
                rfc3339_millis(visit.fetched_at_ms),
                escape(&outcome(visit)),
                change(visit).to_owned(),
                escape(visit.digest.as_deref().unwrap_or("-")),
                body(visit).to_owned(),
            ]
            .map(Cell::plain)
            .into()
        })
        .collect();
    for line in table::render(&headers, &rows, None, false) {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// One visit as `--history --json` prints it: the time in both forms (`--version`
/// takes either), and `change` named `new` on the first visit.
fn visit_json(visit: &Visit) -> serde_json::Value {
    serde_json::json!({
        "fetched_at": rfc3339_millis(visit.fetched_at_ms),
        "fetched_at_ms": visit.fetched_at_ms,
        "status": visit.status,
        "error": visit.error,
        "digest": visit.digest,
        "change": change(visit),
        "body_kept": visit.body_kept,
    })
}

/// `new` for a URL's first visit, else what it found against the one before.
fn change(visit: &Visit) -> &'static str {
    visit.change.map_or("new", |change| change.as_str())
}

/// `200`, `200 body-too-large`, `timeout`.
fn outcome(visit: &Visit) -> String {
    match (visit.status, &visit.error) {
        (Some(status), None) => status.to_string(),
        (Some(status), Some(kind)) => format!("{status} {kind}"),
        (None, Some(kind)) => kind.clone(),
        (None, None) => "-".into(),
    }
}

/// Whether the store holds the body this visit brought: `kept`, `not kept`, or `-`
/// when it brought none (a failure, or a visit that kept the content before it).
fn body(visit: &Visit) -> &'static str {
    if visit.body_kept {
        "kept"
    } else if visit.status.is_none() || visit.change.is_some_and(|c| c.kept_content()) {
        "-"
    } else {
        "not kept"
    }
}

/// The body `url` had at the visit `--version TIME` names.
pub fn version(store: &Store, url: &str, time: &str) -> Result<Vec<u8>, Failure> {
    let at = parse_visit_time(time)?;
    let visits = store.history(url, usize::MAX)?;
    let listing = format!(
        "crawler get --store {} --history {url}",
        store.path().display()
    );
    let (visit, captured) = visit_at(&visits, at).map_err(|found| match found {
        0 => {
            anyhow!("{url} has no visit at {time} (`{listing}` lists its visits with their times)")
        }
        n => anyhow!(
            "{url} has {n} visits within the second {time}: give the time with its \
             milliseconds, as `{listing}` shows it"
        ),
    })?;
    let when = rfc3339_millis(visit.fetched_at_ms);
    if visit.status.is_none() {
        let error = visit.error.as_deref().unwrap_or("no response");
        return Err(anyhow!("{url} got no response at {when} ({error}): there is no body").into());
    }
    let kept = match captured {
        Some(captured) => store.version(url, captured)?,
        None => None,
    };
    kept.ok_or_else(|| {
        // A visit that kept an earlier capture: say which one it saw.
        let captured = captured
            .filter(|at| *at != visit.fetched_at_ms)
            .map_or(String::new(), |at| {
                format!(" (captured at {})", rfc3339_millis(at))
            });
        anyhow!(
            "the body {url} had at {when}{captured} is not kept in the store: a crawl keeps \
             the newest body of each URL, and earlier ones only with --keep-versions"
        )
        .into()
    })
}

/// `--version`'s TIME: milliseconds since the Unix epoch, or a time (RFC 3339).
fn parse_visit_time(text: &str) -> Result<VisitTime, Failure> {
    let text = text.trim();
    if let Ok(ms) = text.parse::<u64>() {
        return Ok(VisitTime { ms, whole: false });
    }
    let ms = parse_time(text, now_ms()).map_err(|e| {
        Failure::Usage(format!(
            "--version: {e}; give a visit's time as `--history` shows it"
        ))
    })?;
    Ok(VisitTime {
        ms,
        whole: !text.contains('.') && ms.is_multiple_of(1000),
    })
}

/// A time `--version` looks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct VisitTime {
    ms: u64,
    /// Given to the second: any visit within that second matches, if it is the only one.
    whole: bool,
}

/// The visit at `at` in `visits` (newest first), and when the content it saw was
/// captured (`None`: before the oldest visit known). `Err(n)`: `n` visits match (0 or
/// more than one).
fn visit_at(visits: &[Visit], at: VisitTime) -> Result<(&Visit, Option<u64>), usize> {
    let exact: Vec<usize> = (0..visits.len())
        .filter(|&i| visits[i].fetched_at_ms == at.ms)
        .collect();
    let found = if exact.is_empty() && at.whole {
        (0..visits.len())
            .filter(|&i| visits[i].fetched_at_ms / 1000 == at.ms / 1000)
            .collect()
    } else {
        exact
    };
    let [index] = found[..] else {
        return Err(found.len());
    };
    // A visit that kept the content saw the capture of the latest visit before it
    // that did not.
    let captured = visits[index..]
        .iter()
        .find(|visit| !visit.change.is_some_and(|c| c.kept_content()))
        .map(|visit| visit.fetched_at_ms);
    Ok((&visits[index], captured))
}

#[cfg(test)]
mod tests {
    use crawler_storage::Change;

    use super::*;

    fn visit(at: u64, change: Option<Change>) -> Visit {
        Visit {
            fetched_at_ms: at,
            status: Some(200),
            change,
            ..Visit::default()
        }
    }

    #[test]
    fn a_visit_that_kept_the_content_saw_the_capture_before_it() {
        let visits = [
            visit(4_500, Some(Change::Unchanged)),
            visit(3_000, Some(Change::NotModified)),
            visit(2_000, Some(Change::Changed)),
            visit(1_000, None),
        ];
        let at = |ms, whole| {
            visit_at(&visits, VisitTime { ms, whole }).map(|(v, c)| (v.fetched_at_ms, c))
        };
        assert_eq!(at(1_000, false), Ok((1_000, Some(1_000))));
        assert_eq!(at(3_000, false), Ok((3_000, Some(2_000))));
        assert_eq!(at(4_500, false), Ok((4_500, Some(2_000))));
        // To the second: the one visit in it.
        assert_eq!(at(4_000, true), Ok((4_500, Some(2_000))));
        assert_eq!(at(4_000, false), Err(0));
        assert_eq!(at(5_000, true), Err(0));
        // The oldest known visit kept content captured before the history begins.
        assert_eq!(
            visit_at(
                &visits[..2],
                VisitTime {
                    ms: 3_000,
                    whole: false
                }
            )
            .map(|(_, c)| c),
            Ok(None)
        );
    }

    #[test]
    fn visit_times_are_milliseconds_or_times() {
        let ms = |text| parse_visit_time(text).ok();
        assert_eq!(
            ms("1700000000123"),
            Some(VisitTime {
                ms: 1_700_000_000_123,
                whole: false
            })
        );
        assert_eq!(
            ms("2023-11-14T22:13:20.123Z"),
            Some(VisitTime {
                ms: 1_700_000_000_123,
                whole: false
            })
        );
        assert_eq!(
            ms("2023-11-14T22:13:20Z"),
            Some(VisitTime {
                ms: 1_700_000_000_000,
                whole: true
            })
        );
        assert!(matches!(parse_visit_time("then"), Err(Failure::Usage(_))));
    }

    #[test]
    fn the_first_visit_is_new_and_a_body_is_kept_or_not() {
        let first = Visit {
            body_kept: true,
            ..visit(1, None)
        };
        assert_eq!((change(&first), body(&first)), ("new", "kept"));
        let same = visit(2, Some(Change::NotModified));
        assert_eq!((change(&same), body(&same)), ("not-modified", "-"));
        let dropped = visit(3, Some(Change::Changed));
        assert_eq!(body(&dropped), "not kept");
    }
}

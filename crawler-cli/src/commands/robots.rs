//! `crawler robots`: what a crawl would decide for some URLs, and which rule decided.

use std::io::{self, Write};
use std::process::ExitCode;

use crawler_core::fetch::Fetcher;
use crawler_core::robots::{self, ProductToken, RobotsResponse, RobotsRules, RobotsTxt};
use crawler_core::{CanonicalUrl, CrawlConfig};
use url::Url;

use crate::args::RobotsArgs;
use crate::escape::escaped;
use crate::terminal::notice;
use crate::Failure;

/// What the robots.txt source amounts to.
enum Source {
    /// Rules to apply (a missing file means none).
    Rules(RobotsRules),
    /// robots.txt is unreachable: a crawl fetches nothing on the host (RFC 9309 §2.3.1.4).
    Unreachable,
}

pub fn run(args: RobotsArgs) -> Result<ExitCode, Failure> {
    let agent = ProductToken::from_user_agent(&args.user_agent).ok_or_else(|| {
        Failure::Usage(format!(
            "--user-agent {:?} has no product token (letters, '_' and '-')",
            args.user_agent
        ))
    })?;
    let base = args
        .url
        .as_deref()
        .map(|url| CanonicalUrl::parse(url).map_err(|e| Failure::Usage(format!("--url: {e}"))))
        .transpose()?;
    let targets = args
        .test_urls
        .iter()
        .map(|input| target(input, base.as_ref()).map(|url| (input.as_str(), url)))
        .collect::<Result<Vec<_>, _>>()?;
    let source = match (&args.file, &base) {
        (Some(path), _) => {
            let body = std::fs::read(path)
                .map_err(|e| Failure::Usage(format!("--file {}: {e}", path.display())))?;
            Source::Rules(RobotsTxt::parse(&body).rules_for(&agent))
        }
        (None, Some(url)) => download(&args, &agent, url)?,
        (None, None) => return Err(Failure::Usage("give --file PATH or --url URL".into())),
    };
    let mut out = io::stdout().lock();
    for (input, url) in targets {
        let line = match &source {
            Source::Rules(rules) => verdict_line(input, &url, rules, args.json),
            Source::Unreachable => unreachable_line(input, args.json),
        };
        writeln!(out, "{line}")?;
    }
    Ok(ExitCode::SUCCESS)
}

/// A URL to judge, as given: absolute, or a path taken relative to `--url`. Not
/// canonicalized: the verdict is on what the user wrote (`/a?` keeps its `?`).
fn target(input: &str, base: Option<&CanonicalUrl>) -> Result<Url, Failure> {
    let parsed = match base {
        Some(base) => base.as_url().join(input),
        // Only the path matters for the verdict; any origin will do.
        None if input.starts_with('/') => Url::parse(&format!("http://robots.invalid{input}")),
        None => Url::parse(input),
    };
    match parsed {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Ok(url),
        Ok(_) => Err(Failure::Usage(format!(
            "{input:?}: not an http or https URL, nor a path starting with '/'"
        ))),
        Err(e) => Err(Failure::Usage(format!("{input:?}: {e}"))),
    }
}

fn download(
    args: &RobotsArgs,
    agent: &ProductToken,
    url: &CanonicalUrl,
) -> Result<Source, Failure> {
    let mut config = CrawlConfig {
        user_agent: args.user_agent.clone(),
        robots_agent: Some(agent.as_str().to_owned()),
        resolve: args.resolve.clone(),
        ..CrawlConfig::default()
    };
    if let Some(timeout) = args.timeout {
        config.timeout = timeout.0;
    }
    let config = config.validate().map_err(Failure::Setting)?;
    // The URL given is the seed: its own address class may be connected to.
    let fetcher = Fetcher::new(&config.fetch_settings(std::slice::from_ref(url)))?;
    Ok(match robots::fetch(&fetcher, url) {
        RobotsResponse::Found(file) => Source::Rules(file.rules_for(agent)),
        RobotsResponse::Redirect(_) | RobotsResponse::Unavailable(_) => {
            notice(&format!(
                "{url} is unavailable: no rules apply, everything is allowed"
            ));
            Source::Rules(RobotsRules::default())
        }
        RobotsResponse::Unreachable { reason, .. } => {
            notice(&format!(
                "{url} is unreachable ({reason}): a crawl fetches nothing on this host"
            ));
            Source::Unreachable
        }
    })
}

fn verdict_line(input: &str, url: &Url, rules: &RobotsRules, json: bool) -> String {
    let verdict = rules.verdict_as_given(url);
    let word = if verdict.allowed {
        "allowed"
    } else {
        "disallowed"
    };
    if json {
        return serde_json::json!({
            "url": input,
            "allowed": verdict.allowed,
            "rule": verdict.rule.map(|r| r.to_string()),
            "line": verdict.rule.map(|r| r.line),
            "group": rules.group(),
        })
        .to_string();
    }
    let group = escaped(rules.group().unwrap_or("none"));
    let input = escaped(input);
    match verdict.rule {
        Some(rule) => format!(
            "{word:<10}  {input}  {} (line {}, group {group})",
            escaped(&rule.to_string()),
            rule.line
        ),
        None => format!("{word:<10}  {input}  no rule matched (group {group})"),
    }
}

fn unreachable_line(input: &str, json: bool) -> String {
    if json {
        return serde_json::json!({
            "url": input,
            "allowed": false,
            "rule": null,
            "line": null,
            "group": null,
        })
        .to_string();
    }
    format!(
        "{:<10}  {}  robots.txt unreachable",
        "disallowed",
        escaped(input)
    )
}

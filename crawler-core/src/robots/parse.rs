//! Reading a robots.txt file into groups of rules (RFC 9309 §2.1 and §2.2).
//!
//! The parser is lenient where real files are sloppy and the intent is clear, as
//! Google's parser is: keys are case-insensitive and a few common misspellings are
//! accepted (`useragent`, `disalow`, ...); a missing `:` is accepted when whitespace
//! separates key and value; a `User-agent` value is read up to its first character
//! that cannot be in a product token (`FooBot/1.2` names `foobot`). Lines it does not
//! understand are skipped without ending a group, and so are `Sitemap` and
//! `Crawl-delay` lines (the RFC forbids other records from interfering with groups);
//! a `Crawl-delay` is read into the group it stands in.

use super::agent::leading_token;
use super::pattern::Pattern;

/// How much of a robots.txt file is parsed: RFC 9309 §2.5 asks for at least 500 KiB.
pub const MAX_ROBOTS_BYTES: usize = 500 * 1024;

/// An `Allow` or a `Disallow` rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// `Allow` (true) or `Disallow`.
    pub allow: bool,
    /// The path pattern, compiled.
    pub pattern: Pattern,
    /// The pattern as written in the file.
    pub written: String,
    /// 1-based line number in the file.
    pub line: usize,
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let key = if self.allow { "Allow" } else { "Disallow" };
        write!(f, "{key}: {}", self.written)
    }
}

/// A group: the `User-agent` lines that start it and the records that follow.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Group {
    /// The `User-agent` values as written (`*` for the catch-all group).
    pub agents: Vec<String>,
    pub rules: Vec<Rule>,
    /// The first valid `Crawl-delay` of the group, in seconds.
    pub crawl_delay: Option<f64>,
}

impl Group {
    pub(crate) fn is_catch_all(&self) -> bool {
        self.agents.iter().any(|a| a == "*")
    }
}

/// A parsed robots.txt file: its groups and its `Sitemap` URLs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RobotsTxt {
    pub(crate) groups: Vec<Group>,
    /// `Sitemap` values, in file order (they apply to every crawler).
    pub sitemaps: Vec<String>,
    /// Whether the file was longer than [`MAX_ROBOTS_BYTES`] and its end ignored.
    pub truncated: bool,
}

/// What one line of the file says.
enum Record<'a> {
    UserAgent(&'a str),
    Rule { allow: bool, value: &'a [u8] },
    CrawlDelay(&'a str),
    Sitemap(&'a str),
    Other,
}

impl RobotsTxt {
    /// Parses a robots.txt body. Never fails: what is not understood is skipped.
    pub fn parse(body: &[u8]) -> RobotsTxt {
        let mut robots = RobotsTxt::default();
        let mut body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
        if body.len() > MAX_ROBOTS_BYTES {
            robots.truncated = true;
            // Drop the cut line too: "Disallow: /private" cut to "Disallow: /" would
            // forbid everything.
            let kept = &body[..MAX_ROBOTS_BYTES];
            let end = kept
                .iter()
                .rposition(|&b| b == b'\n' || b == b'\r')
                .unwrap_or(0);
            body = &kept[..end];
        }
        let mut current: Option<Group> = None;
        // Whether the last record that mattered was a `User-agent` line: a run of them
        // names one group.
        let mut in_agents = false;
        for (index, line) in lines(body).enumerate() {
            match record(line) {
                Record::UserAgent(value) => {
                    if !in_agents {
                        robots.groups.extend(current.take());
                        current = Some(Group::default());
                        in_agents = true;
                    }
                    if let Some(group) = current.as_mut() {
                        group.agents.push(agent_value(value));
                    }
                }
                Record::Rule { allow, value } => {
                    in_agents = false;
                    // Rules outside any group are ignored (RFC 9309 §2.2.2); an empty
                    // pattern matches nothing.
                    if let (Some(group), false) = (current.as_mut(), value.is_empty()) {
                        group.rules.push(Rule {
                            allow,
                            pattern: Pattern::new(value),
                            written: String::from_utf8_lossy(value).into_owned(),
                            line: index + 1,
                        });
                    }
                }
                Record::CrawlDelay(value) => {
                    // Like `Sitemap` and unknown records, it does not end a run of
                    // `User-agent` lines (RFC 9309 §2.2.4; Google's parser agrees): a
                    // group whose only record is a delay still gets the next group's rules.
                    if let Some(group) = current.as_mut() {
                        if group.crawl_delay.is_none() {
                            group.crawl_delay = parse_delay(value);
                        }
                    }
                }
                Record::Sitemap(url) => {
                    if !url.is_empty() {
                        robots.sitemaps.push(url.to_owned());
                    }
                }
                Record::Other => {}
            }
        }
        robots.groups.extend(current);
        robots
    }
}

/// Lines split on `\n`, `\r\n` or `\r`.
fn lines(mut body: &[u8]) -> impl Iterator<Item = &[u8]> {
    std::iter::from_fn(move || {
        if body.is_empty() {
            return None;
        }
        let end = body
            .iter()
            .position(|&b| b == b'\n' || b == b'\r')
            .unwrap_or(body.len());
        let line = &body[..end];
        let ending = match body.get(end..end + 2) {
            Some(b"\r\n") => 2,
            _ => usize::from(end < body.len()),
        };
        body = &body[end + ending..];
        Some(line)
    })
}

/// Reads one line: comment removed, key recognized, value trimmed.
///
/// As Google's parser reads it: a line ends at its first NUL (that parser reads each
/// line as a C string), and what is trimmed from a line, a key and a value is C's
/// whitespace, vertical tab included. Any other control character is part of the
/// value, and of the path a pattern matches (percent-encoded, as in a URL).
fn record(line: &[u8]) -> Record<'_> {
    let line = match line.iter().position(|&b| b == b'#' || b == 0) {
        Some(at) => &line[..at],
        None => line,
    };
    let line = trim_space(line);
    let split_at = |at: usize| {
        let key = String::from_utf8_lossy(trim_space(&line[..at])).to_ascii_lowercase();
        (key, trim_space(&line[at + 1..]))
    };
    let by_colon = line.iter().position(|&b| b == b':').map(split_at);
    let (key, value) = match by_colon {
        Some((key, value)) if is_key(&key) => (key, value),
        // `Sitemap http://...`: the first colon is the URL's.
        _ => match line.iter().position(|&b| b == b' ' || b == b'\t') {
            Some(at) => split_at(at),
            None => return Record::Other,
        },
    };
    let text = || std::str::from_utf8(value).unwrap_or_default();
    match key.as_str() {
        "user-agent" | "useragent" | "user agent" => Record::UserAgent(text()),
        "allow" => Record::Rule { allow: true, value },
        "disallow" | "dissallow" | "dissalow" | "disalow" | "diasllow" | "disallaw" => {
            Record::Rule {
                allow: false,
                value,
            }
        }
        "crawl-delay" | "crawldelay" | "crawl delay" => Record::CrawlDelay(text()),
        "sitemap" | "site-map" => Record::Sitemap(text()),
        _ => Record::Other,
    }
}

/// C's `isspace`: space, tab, line feed, vertical tab, form feed, carriage return.
fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn trim_space(mut bytes: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = bytes {
        if !is_space(*first) {
            break;
        }
        bytes = rest;
    }
    while let [rest @ .., last] = bytes {
        if !is_space(*last) {
            break;
        }
        bytes = rest;
    }
    bytes
}

fn is_key(key: &str) -> bool {
    matches!(
        key,
        "user-agent"
            | "useragent"
            | "user agent"
            | "allow"
            | "disallow"
            | "dissallow"
            | "dissalow"
            | "disalow"
            | "diasllow"
            | "disallaw"
            | "crawl-delay"
            | "crawldelay"
            | "crawl delay"
            | "sitemap"
            | "site-map"
    )
}

/// A `User-agent` value as the group records it: `*` for the catch-all, else the
/// leading product token. Only a `*` alone (trailing whitespace aside; a comment is
/// already cut) is the catch-all: `*SomeBot*` names no crawler, so its group applies
/// to none (as Google's parser reads it), rather than to every one.
fn agent_value(value: &str) -> String {
    if value.trim_end() == "*" {
        "*".to_owned()
    } else {
        leading_token(value).to_owned()
    }
}

/// A non-negative, finite number of seconds.
fn parse_delay(value: &str) -> Option<f64> {
    value
        .parse::<f64>()
        .ok()
        .filter(|d| d.is_finite() && *d >= 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_share_consecutive_agent_lines_and_skip_empty_lines() {
        let robots = RobotsTxt::parse(
            b"\xEF\xBB\xBFUser-Agent: barbot\r\n\r\nuser-agent: BazBot/2.0 # comment\nDisallow: /a\n\nallow: /b\nuser-agent: *\ndisallow: /",
        );
        assert_eq!(robots.groups.len(), 2);
        assert_eq!(robots.groups[0].agents, ["barbot", "BazBot"]);
        let rules: Vec<String> = robots.groups[0]
            .rules
            .iter()
            .map(|r| r.to_string())
            .collect();
        assert_eq!(rules, ["Disallow: /a", "Allow: /b"]);
        assert_eq!(robots.groups[0].rules[1].line, 6);
        assert!(robots.groups[1].is_catch_all());
    }

    #[test]
    fn sitemaps_and_unknown_lines_do_not_end_a_group() {
        let robots = RobotsTxt::parse(
            b"User-agent: a\nSitemap: http://x.test/s.xml\nUser-agent: b\nUnknown: z\nDisallow: /x\nsitemap http://x.test/t.xml\nDisallow: /y\n",
        );
        assert_eq!(robots.groups.len(), 1);
        assert_eq!(robots.groups[0].agents, ["a", "b"]);
        assert_eq!(robots.groups[0].rules.len(), 2);
        assert_eq!(
            robots.sitemaps,
            ["http://x.test/s.xml", "http://x.test/t.xml"]
        );
    }

    #[test]
    fn rules_before_any_group_and_empty_rules_are_ignored() {
        let robots = RobotsTxt::parse(b"Disallow: /\nUser-agent: *\nDisallow:\nAllow: \n");
        assert_eq!(robots.groups.len(), 1);
        assert!(robots.groups[0].rules.is_empty());
    }

    #[test]
    fn misspellings_and_missing_colons_are_understood() {
        let robots =
            RobotsTxt::parse(b"useragent x\ndisalow /a\nCRAWL-DELAY: 2.5\nCrawl-delay: 9\n");
        assert_eq!(robots.groups[0].agents, ["x"]);
        assert_eq!(robots.groups[0].rules[0].to_string(), "Disallow: /a");
        assert_eq!(robots.groups[0].crawl_delay, Some(2.5));
    }

    #[test]
    fn bad_delays_are_ignored() {
        for bad in ["-1", "soon", "inf", "NaN", ""] {
            let text = format!("User-agent: *\nCrawl-delay: {bad}\n");
            assert_eq!(
                RobotsTxt::parse(text.as_bytes()).groups[0].crawl_delay,
                None
            );
        }
    }

    #[test]
    fn control_characters_are_read_as_googles_parser_reads_them() {
        use crate::robots::ProductToken;
        use crate::url::CanonicalUrl;

        let file = b"User-agent: *\n\
            Disallow:\x0b/vt\x0b\n\
            Disallow\x0c: /ff-key\n\
            Disallow: /nul\x00junk\n\
            Disallow: /ctl\x01b\n\
            Disallow: /esc\x1b[2J\n\
            Disallow: /tab\tin\n\
            Disallow: /del\x7f\n";
        let rules = RobotsTxt::parse(file).rules_for(&ProductToken::parse("x").unwrap());
        let base = CanonicalUrl::parse("http://a.test/").unwrap();
        let allowed = |link: &str| rules.allows(&CanonicalUrl::join(base.as_url(), link).unwrap());
        // Whitespace around a key or a value is trimmed, vertical tab and form feed too.
        assert!(!allowed("/vt/page"));
        assert!(!allowed("/ff-key"));
        // A NUL ends the line.
        assert!(!allowed("/nul/page"));
        // Other controls are part of the path, matched in their percent-encoded form:
        // a link holding the raw character is encoded the same way.
        for link in [
            "/ctl\x01b",
            "/ctl%01b",
            "/esc\x1b[2J",
            "/esc%1b[2J",
            "/del\x7f",
            "/del%7F",
        ] {
            assert!(!allowed(link), "{link:?}");
        }
        // A tab in a link is dropped by URL parsing; the rule names an encoded one.
        assert!(!allowed("/tab%09in"));
        assert!(allowed("/tab\tin"));
        assert!(allowed("/ctl"));
    }

    #[test]
    fn parsing_stops_at_the_limit_without_a_cut_rule() {
        let mut text = b"User-agent: *\nDisallow: /first\n".to_vec();
        while text.len() < MAX_ROBOTS_BYTES - 5 {
            text.extend_from_slice(b"# filler filler filler filler\n");
        }
        text.extend_from_slice(b"Disallow: /private\nDisallow: /after\n");
        let robots = RobotsTxt::parse(&text);
        assert!(robots.truncated);
        let rules: Vec<&str> = robots.groups[0]
            .rules
            .iter()
            .map(|r| r.written.as_str())
            .collect();
        assert_eq!(rules, ["/first"]);
    }

    #[test]
    fn a_crawl_delay_between_agent_lines_does_not_split_their_group() {
        let robots = RobotsTxt::parse(
            b"User-agent: bingbot\nCrawl-delay: 2\n\nUser-agent: *\nDisallow: /private/\n",
        );
        assert_eq!(robots.groups.len(), 1);
        assert_eq!(robots.groups[0].agents, ["bingbot", "*"]);
        assert_eq!(robots.groups[0].crawl_delay, Some(2.0));
        assert_eq!(robots.groups[0].rules[0].to_string(), "Disallow: /private/");
    }

    #[test]
    fn only_a_bare_star_is_the_catch_all() {
        let robots = RobotsTxt::parse(
            b"User-agent: *SomeBot*\nDisallow: /\n\nUser-agent: *  \nDisallow: /p\n\nUser-agent: * # all\nDisallow: /q\n",
        );
        let catch_all: Vec<bool> = robots.groups.iter().map(Group::is_catch_all).collect();
        assert_eq!(catch_all, [false, true, true]);
        assert_eq!(robots.groups[0].agents, [""]);
    }

    mod grouping {
        use super::*;
        use proptest::prelude::*;

        /// A line of a generated file, and what the model makes of it.
        #[derive(Clone, Debug)]
        enum Line {
            Agent(&'static str),
            Rule(&'static str),
            Delay,
            Sitemap,
            Unknown,
            Blank,
            Comment,
        }

        impl Line {
            fn text(&self) -> String {
                match self {
                    Line::Agent(name) => format!("User-agent: {name}"),
                    Line::Rule(path) => format!("Disallow: {path}"),
                    Line::Delay => "Crawl-delay: 1".into(),
                    Line::Sitemap => "Sitemap: http://a.test/s.xml".into(),
                    Line::Unknown => "Noindex: /x".into(),
                    Line::Blank => String::new(),
                    Line::Comment => "# a comment".into(),
                }
            }
        }

        fn line() -> impl Strategy<Value = Line> {
            prop_oneof![
                prop::sample::select(vec!["a", "b", "*", "*x*", "C/1.0"]).prop_map(Line::Agent),
                prop::sample::select(vec!["/p", "/q", "/r"]).prop_map(Line::Rule),
                Just(Line::Delay),
                Just(Line::Sitemap),
                Just(Line::Unknown),
                Just(Line::Blank),
                Just(Line::Comment),
            ]
        }

        /// The grouping rule, written as plainly as it can be: a group is a run of
        /// agent lines with nothing but other records, blanks and comments between
        /// them, and holds the rules up to the next such run.
        fn model(lines: &[Line]) -> Vec<(Vec<String>, Vec<String>)> {
            let mut groups: Vec<(Vec<String>, Vec<String>)> = Vec::new();
            let mut rule_seen_since_agent = true;
            for line in lines {
                match line {
                    Line::Agent(name) => {
                        if rule_seen_since_agent {
                            groups.push((Vec::new(), Vec::new()));
                            rule_seen_since_agent = false;
                        }
                        let agent = match *name {
                            "*" => "*",
                            "C/1.0" => "C",
                            "*x*" => "",
                            other => other,
                        };
                        groups.last_mut().unwrap().0.push(agent.to_owned());
                    }
                    Line::Rule(path) => {
                        rule_seen_since_agent = true;
                        if let Some(group) = groups.last_mut() {
                            group.1.push((*path).to_owned());
                        }
                    }
                    _ => {}
                }
            }
            groups
        }

        proptest! {
            #[test]
            fn groups_are_what_the_grouping_rule_says(lines in prop::collection::vec(line(), 0..40)) {
                let text: Vec<String> = lines.iter().map(Line::text).collect();
                let robots = RobotsTxt::parse(text.join("\n").as_bytes());
                let parsed: Vec<(Vec<String>, Vec<String>)> = robots
                    .groups
                    .iter()
                    .map(|g| (g.agents.clone(), g.rules.iter().map(|r| r.written.clone()).collect()))
                    .collect();
                prop_assert_eq!(parsed, model(&lines));
            }
        }
    }
}

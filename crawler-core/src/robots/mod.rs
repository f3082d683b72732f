//! robots.txt, as RFC 9309 specifies it: parsing, group selection and the verdict
//! on one URL, plus what a robots.txt response means for a host.
//!
//! ```
//! use crawler_core::robots::{ProductToken, RobotsTxt};
//! use crawler_core::CanonicalUrl;
//!
//! let file = b"User-agent: *\nDisallow: /private\n\nUser-agent: FooBot\nDisallow: /\nAllow: /public\nCrawl-delay: 2\n";
//! let rules = RobotsTxt::parse(file).rules_for(&ProductToken::parse("foobot")?);
//! let url = CanonicalUrl::parse("http://a.test/public/x")?;
//! let verdict = rules.verdict(&url);
//! assert!(verdict.allowed);
//! assert_eq!(verdict.rule.map(|r| r.to_string()).as_deref(), Some("Allow: /public"));
//! assert_eq!(rules.group(), Some("foobot"));
//! assert_eq!(rules.crawl_delay(), Some(2.0));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Why not a crate
//!
//! `texting_robots`, a robots.txt crate on crates.io, was checked first. It gets longest
//! match, Allow on ties, `*`, `$` and group merging right, but its verdict is a bare `bool`
//! (`crawler robots` must print the rule and group that decided), it does not decode
//! `%62`-style escapes of unreserved characters in rules (RFC 9309 Figure 4), compares hex
//! digits by case, reads `User-agent: FooBot/1.2` as the token `foobot/1.2`, and treats a
//! `$` inside a pattern as an anchor. `robotstxt` (the port of Google's parser) re-parses
//! the whole file for every URL and hides the deciding line. The RFC's matching rules fit
//! in a few hundred lines, tested here against the RFC's own examples.
//!
//! # Deviations and choices where the RFC leaves room
//!
//! - Lenient reading (module `parse`): misspelled keys, missing `:`, and `User-agent`
//!   values read up to their first non-token character, as Google's parser does.
//! - `Sitemap`, `Crawl-delay` and unknown lines never end a group: `User-agent` lines with
//!   only such records between them name one group (RFC 9309 §2.2.4). `Crawl-delay`
//!   belongs to the group it is in (the first valid one of the selected groups counts).
//! - Only a bare `*` is the catch-all: `User-agent: *SomeBot*` names no crawler.
//! - In a crawl, a URL is judged as it is requested (its canonical form); `crawler
//!   robots` judges a URL as the user wrote it, percent-escapes normalized.
//!
//! # Where we knowingly differ from Google's parser
//!
//! - `/robots.txt` itself is always allowed (RFC 9309 §2.2.2); Google's library judges
//!   it like any path.
//! - `%3d` and `%3D` are the same octet (hex digits compare without regard to case);
//!   Google's library compares the escapes as written.
//! - Only the first [`MAX_ROBOTS_BYTES`] are parsed, and a line cut by that limit is
//!   dropped.
//! - 429 is treated as a server error (unreachable, retry later), not as a 4xx that
//!   allows everything: the server is asking us to slow down.
//! - More than five redirects in a row count as "unavailable" (everything allowed), which
//!   the RFC permits.

mod agent;
mod directives;
mod parse;
mod pattern;
mod response;
mod shared;

use std::sync::Arc;

use url::Position;

use crate::url::CanonicalUrl;
pub use agent::{ProductToken, ProductTokenError};
pub use directives::PageDirectives;
pub use parse::{RobotsTxt, Rule, MAX_ROBOTS_BYTES};
pub use pattern::{match_target, Pattern};
pub use response::{fetch, interpret, RobotsResponse, MAX_ROBOTS_REDIRECTS};

/// The rules of one robots.txt that apply to one crawler, ready to judge URLs.
///
/// Cheap to share: the crawl keeps one per host in an [`Arc`] that the frontier checks
/// URLs against before it dispatches them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RobotsRules {
    /// `Some("foobot")` when groups named the crawler, `Some("*")` for the catch-all
    /// group, `None` when no group applies.
    group: Option<String>,
    /// Most specific first; on equal specificity, Allow first.
    rules: Vec<Rule>,
    crawl_delay: Option<f64>,
    sitemaps: Vec<String>,
}

/// Whether one URL may be fetched, and the rule that decided.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Verdict<'a> {
    /// Whether the URL may be fetched.
    pub allowed: bool,
    /// `None` when no rule matched (allowed) or the URL is `/robots.txt` itself.
    pub rule: Option<&'a Rule>,
}

impl RobotsTxt {
    /// The rules for `agent` (RFC 9309 §2.2.1): every group naming it, merged; else
    /// every `*` group, merged; else none (everything allowed).
    pub fn rules_for(&self, agent: &ProductToken) -> RobotsRules {
        let named = |g: &&parse::Group| g.agents.iter().any(|a| agent.is_named_by(a));
        let (group, groups): (_, Vec<&parse::Group>) =
            match self.groups.iter().filter(named).collect::<Vec<_>>() {
                found if !found.is_empty() => (Some(agent.as_str().to_owned()), found),
                _ => {
                    let all: Vec<_> = self.groups.iter().filter(|g| g.is_catch_all()).collect();
                    ((!all.is_empty()).then(|| "*".to_owned()), all)
                }
            };
        let mut rules: Vec<Rule> = groups.iter().flat_map(|g| g.rules.clone()).collect();
        rules.sort_by_key(|rule| (std::cmp::Reverse(rule.pattern.specificity()), !rule.allow));
        RobotsRules {
            group,
            rules,
            crawl_delay: groups.iter().find_map(|g| g.crawl_delay),
            sitemaps: self.sitemaps.clone(),
        }
    }
}

impl RobotsRules {
    /// No rules at all: what a missing robots.txt (4xx) means, and `--ignore-robots`.
    pub fn allow_all() -> Arc<RobotsRules> {
        Arc::new(RobotsRules::default())
    }

    /// The verdict on `url`: the most specific matching rule decides, Allow winning a
    /// tie (RFC 9309 §2.2.2); no match, or `/robots.txt` itself, is allowed.
    pub fn verdict(&self, url: &CanonicalUrl) -> Verdict<'_> {
        // A canonical URL is spelled as patterns are already: it only needs `*` and `$`
        // escaped. This is the URL the crawl requests, so it is judged as requested.
        let path = &url.as_url()[Position::BeforePath..Position::AfterQuery];
        self.verdict_on(&match_target(path))
    }

    /// The verdict on a URL as a user wrote it (`crawler robots`): its path and query
    /// are brought to the spelling patterns are compared in (percent-escapes, RFC 9309
    /// §2.2.2) and nothing more, so `/a?` keeps the empty query that canonicalization
    /// would drop, and `Disallow: /a?` refuses it.
    pub fn verdict_as_given(&self, url: &url::Url) -> Verdict<'_> {
        let path = &url[Position::BeforePath..Position::AfterQuery];
        self.verdict_on(&pattern::normalize_target(path))
    }

    fn verdict_on(&self, target: &str) -> Verdict<'_> {
        if target == "/robots.txt" {
            return Verdict {
                allowed: true,
                rule: None,
            };
        }
        let rule = self.rules.iter().find(|rule| rule.pattern.matches(target));
        Verdict {
            allowed: rule.is_none_or(|rule| rule.allow),
            rule,
        }
    }

    /// Shorthand for `verdict(url).allowed`.
    pub fn allows(&self, url: &CanonicalUrl) -> bool {
        self.verdict(url).allowed
    }

    /// The selected group: the crawler's product token, `*`, or `None`.
    pub fn group(&self) -> Option<&str> {
        self.group.as_deref()
    }

    /// `Crawl-delay` of the selected group, in seconds.
    pub fn crawl_delay(&self) -> Option<f64> {
        self.crawl_delay
    }

    /// `Sitemap` URLs of the file, as written.
    pub fn sitemaps(&self) -> &[String] {
        &self.sitemaps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(file: &str, agent: &str) -> RobotsRules {
        RobotsTxt::parse(file.as_bytes()).rules_for(&ProductToken::parse(agent).unwrap())
    }

    fn allowed(file: &str, agent: &str, path: &str) -> bool {
        let url = CanonicalUrl::parse(&format!("http://www.example.com{path}")).unwrap();
        rules(file, agent).allows(&url)
    }

    /// RFC 9309 §5.1.
    const SIMPLE: &str = "User-Agent: *
Disallow: *.gif$
Disallow: /example/
Allow: /publications/

User-Agent: foobot
Disallow:/
Allow:/example/page.html
Allow:/example/allowed.gif

User-Agent: barbot
User-Agent: bazbot
Disallow: /example/page.html

User-Agent: quxbot

EOF
";

    #[test]
    fn rfc_5_1_simple_example() {
        // foobot: only the two allowed paths.
        assert!(allowed(SIMPLE, "foobot", "/example/page.html"));
        assert!(allowed(SIMPLE, "foobot", "/example/allowed.gif"));
        assert!(!allowed(SIMPLE, "foobot", "/"));
        assert!(!allowed(SIMPLE, "foobot", "/example/other.html"));
        assert!(!allowed(SIMPLE, "foobot", "/publications/"));
        // barbot and bazbot: everything but /example/page.html.
        for bot in ["barbot", "bazbot", "BazBot"] {
            assert!(!allowed(SIMPLE, bot, "/example/page.html"), "{bot}");
            assert!(allowed(SIMPLE, bot, "/example/allowed.gif"), "{bot}");
            assert!(allowed(SIMPLE, bot, "/x.gif"), "{bot}");
        }
        // quxbot: an empty group of its own, so everything.
        assert!(allowed(SIMPLE, "quxbot", "/example/page.html"));
        assert!(allowed(SIMPLE, "quxbot", "/a.gif"));
        assert_eq!(rules(SIMPLE, "quxbot").group(), Some("quxbot"));
        // Everyone else gets the * group.
        assert!(!allowed(SIMPLE, "otherbot", "/a/b.gif"));
        assert!(!allowed(SIMPLE, "otherbot", "/example/index.html"));
        assert!(allowed(SIMPLE, "otherbot", "/publications/index.html"));
        // The longer Allow beats `*.gif$` here.
        assert!(allowed(SIMPLE, "otherbot", "/publications/a.gif"));
        assert_eq!(rules(SIMPLE, "otherbot").group(), Some("*"));
    }

    #[test]
    fn rfc_5_2_longest_match() {
        let file =
            "User-Agent: foobot\nAllow: /example/page/\nDisallow: /example/page/disallowed.gif\n";
        assert!(allowed(file, "foobot", "/example/page/"));
        assert!(allowed(file, "foobot", "/example/page/other.gif"));
        assert!(!allowed(file, "foobot", "/example/page/disallowed.gif"));
    }

    #[test]
    fn rfc_2_2_1_groups_naming_the_crawler_are_merged() {
        let file = "user-agent: ExampleBot\ndisallow: /foo\ndisallow: /bar\n\nuser-agent: ExampleBot\ndisallow: /baz\n";
        for path in ["/foo", "/bar", "/baz"] {
            assert!(!allowed(file, "examplebot", path), "{path}");
        }
        assert!(allowed(file, "examplebot", "/qux"));
    }

    #[test]
    fn the_catch_all_applies_only_when_no_group_names_us() {
        let file = "User-agent: *\nDisallow: /\n\nUser-agent: foobot\nDisallow: /private\n";
        assert!(allowed(file, "foobot", "/public"));
        assert!(!allowed(file, "foobot", "/private"));
        assert!(!allowed(file, "barbot", "/public"));
        // No group for us and no `*` group, or no groups at all: no rules apply.
        assert!(allowed("User-agent: barbot\nDisallow: /\n", "foobot", "/x"));
        assert!(allowed("", "foobot", "/x"));
        assert_eq!(rules("", "foobot").group(), None);
    }

    #[test]
    fn allow_wins_a_tie_whatever_the_order() {
        for file in [
            "User-agent: *\nAllow: /page\nDisallow: /page\n",
            "User-agent: *\nDisallow: /page\nAllow: /page\n",
            "User-agent: *\nDisallow: /*.html\nAllow: /page*l\n",
        ] {
            let url = CanonicalUrl::parse("http://a.test/page.html").unwrap();
            let rules = rules(file, "x");
            let verdict = rules.verdict(&url);
            assert!(verdict.allowed, "{file}");
            assert!(verdict.rule.unwrap().allow);
        }
    }

    #[test]
    fn robots_txt_itself_is_always_allowed() {
        let file = "User-agent: *\nDisallow: /\n";
        assert!(allowed(file, "x", "/robots.txt"));
        assert!(!allowed(file, "x", "/robots.txt?x=1"));
        assert!(!allowed(file, "x", "/"));
    }

    #[test]
    fn urls_are_compared_in_canonical_spelling() {
        let file = "User-agent: *\nDisallow: /foo/bar/%62%61%7A\nDisallow: /caf\u{e9}\nDisallow: /star-%2A\n";
        assert!(!allowed(file, "x", "/foo/bar/baz"));
        assert!(!allowed(file, "x", "/foo/bar/%62az"));
        assert!(!allowed(file, "x", "/caf%C3%A9"));
        assert!(!allowed(file, "x", "/caf\u{e9}"));
        assert!(!allowed(file, "x", "/star-*"));
        assert!(allowed(file, "x", "/star-x"));
    }

    #[test]
    fn the_deciding_rule_and_the_delay_are_reported() {
        let file = "User-agent: *\nCrawl-delay: 3\nDisallow: /a\nAllow: /a/b\nSitemap: http://a.test/s.xml\n";
        let rules = rules(file, "x");
        let url = CanonicalUrl::parse("http://a.test/a/c").unwrap();
        let verdict = rules.verdict(&url);
        assert_eq!(
            verdict.rule.map(|r| (r.to_string(), r.line)),
            Some(("Disallow: /a".to_owned(), 3))
        );
        assert_eq!(rules.crawl_delay(), Some(3.0));
        assert_eq!(rules.sitemaps(), ["http://a.test/s.xml"]);
    }

    #[test]
    fn an_agent_whose_group_has_only_a_delay_gets_the_next_groups_rules() {
        let file = "User-agent: bingbot\nCrawl-delay: 2\n\nUser-agent: *\nDisallow: /private/\n";
        assert!(!allowed(file, "bingbot", "/private/x"));
        assert!(!allowed(file, "otherbot", "/private/x"));
        assert_eq!(rules(file, "bingbot").crawl_delay(), Some(2.0));
        assert_eq!(rules(file, "bingbot").group(), Some("bingbot"));
    }

    #[test]
    fn a_starred_name_is_not_the_catch_all() {
        let file = "User-agent: *SomeBot*\nDisallow: /\n";
        assert!(allowed(file, "somebot", "/x"));
        assert!(allowed(file, "otherbot", "/x"));
        assert_eq!(rules(file, "otherbot").group(), None);
    }

    #[test]
    fn a_url_as_given_keeps_its_empty_query() {
        let file = "User-agent: *\nDisallow: /a?\n";
        let rules = rules(file, "x");
        let given = |url: &str| {
            rules
                .verdict_as_given(&url::Url::parse(url).unwrap())
                .allowed
        };
        assert!(!given("http://a.test/a?"));
        assert!(!given("http://a.test/a?b=1"));
        assert!(given("http://a.test/a"));
        // Escapes are normalized on the URL side too: `%62` is `b`, hex case is one.
        let file = "User-agent: *\nDisallow: /b%3d\n";
        let rules = self::rules(file, "x");
        let given = |url: &str| {
            rules
                .verdict_as_given(&url::Url::parse(url).unwrap())
                .allowed
        };
        assert!(!given("http://a.test/%62%3D"));
        assert!(given("http://a.test/robots.txt"));
    }
}

//! [`Scope`]: which canonical URLs a crawl may fetch.
//!
//! A crawl starts from seeds and would, left alone, wander off to the whole
//! web. The scope keeps it where the user meant it to be: on the seeds' hosts
//! (with their ports, or on any port), on their registrable domains, or anywhere,
//! further narrowed by allow and deny regular expressions over the canonical URL
//! string.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, RwLock};

use regex::Regex;
use url::Host;

use super::canonical::CanonicalUrl;
use super::name_set::NameSet;

/// How far from its seeds a crawl may go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ScopeMode {
    /// Only URLs on a seed's host and port: the port is part of the origin, and
    /// another port of a host may be another service. A scheme's default port
    /// counts as no port, so `http://a.test/` admits `https://a.test/` (an
    /// http-to-https redirect stays in scope) but not `http://a.test:8080/`.
    /// `www.a.test` is a different host.
    #[default]
    Host,
    /// Only URLs whose host name equals a seed's host name, whatever the scheme
    /// and port: `http://a.test/` admits `https://a.test:8443/` too.
    Hostname,
    /// Only URLs on a seed's registrable domain (public suffix + one label):
    /// seeding `https://www.a.test/` admits `http://blog.a.test/`, but seeding
    /// `https://user.github.io/` does not admit `other.github.io`. IP addresses
    /// and names the public suffix list cannot split fall back to the exact host.
    Domain,
    /// Any http(s) URL; only the allow and deny patterns restrict the crawl.
    All,
}

impl ScopeMode {
    const CHOICES: &'static str = "host, hostname, domain, all";
    /// Every mode, in the order of `CHOICES`.
    pub const ALL: [ScopeMode; 4] = [
        ScopeMode::Host,
        ScopeMode::Hostname,
        ScopeMode::Domain,
        ScopeMode::All,
    ];

    /// The name used in flags and config files.
    pub fn as_str(self) -> &'static str {
        match self {
            ScopeMode::Host => "host",
            ScopeMode::Hostname => "hostname",
            ScopeMode::Domain => "domain",
            ScopeMode::All => "all",
        }
    }
}

impl fmt::Display for ScopeMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A scope mode name that is none of `host`, `hostname`, `domain`, `all`.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
#[error("unknown scope mode `{value}`; expected one of: {choices}", choices = ScopeMode::CHOICES)]
pub struct ScopeModeError {
    /// The rejected value, as given.
    pub value: String,
}

impl FromStr for ScopeMode {
    type Err = ScopeModeError;

    /// Parses `host`, `hostname`, `domain` or `all`, ignoring ASCII case.
    fn from_str(value: &str) -> Result<ScopeMode, ScopeModeError> {
        ScopeMode::ALL
            .into_iter()
            .find(|mode| mode.as_str().eq_ignore_ascii_case(value))
            .ok_or_else(|| ScopeModeError {
                value: value.to_owned(),
            })
    }
}

/// The rule deciding whether a URL belongs to the crawl.
///
/// A URL is admitted when it passes the mode check, at least one allow pattern
/// matches (or there are none), and no deny pattern matches. Patterns are
/// searched (not anchored) in [`CanonicalUrl::as_str`], so write them against
/// the canonical form: lowercase host, no default port, no fragment.
#[derive(Clone, Debug)]
pub struct Scope {
    mode: ScopeMode,
    /// Seed hosts with their ports (Host mode), seed hosts (Hostname mode) or
    /// registrable domains (Domain mode).
    keys: NameSet,
    allow: Vec<Regex>,
    deny: Vec<Regex>,
    /// Keys learned while the crawl runs: the seeds other nodes of a cluster crawl
    /// were given (see [`SharedScopeKeys`]).
    learned: Option<Arc<SharedScopeKeys>>,
}

/// Scope keys added while a crawl runs, shared by every clone of its [`Scope`]: a
/// cluster node learns the seeds other nodes were given, as it goes.
#[derive(Debug, Default)]
pub struct SharedScopeKeys {
    keys: RwLock<NameSet>,
}

impl SharedScopeKeys {
    /// Adds keys as [`Scope::key_of`] made them.
    pub fn extend<'a>(&self, keys: impl IntoIterator<Item = &'a str>) {
        // Plain data: valid after a panic elsewhere.
        let mut set = self.keys.write().unwrap_or_else(|p| p.into_inner());
        for key in keys {
            set.insert(key);
        }
    }

    fn contains(&self, key: &str) -> bool {
        let set = self.keys.read().unwrap_or_else(|p| p.into_inner());
        set.contains(key)
    }
}

impl Scope {
    /// Builds the scope of a crawl from its mode, seeds and patterns.
    pub fn new(
        mode: ScopeMode,
        seeds: &[CanonicalUrl],
        allow: Vec<Regex>,
        deny: Vec<Regex>,
    ) -> Scope {
        let mut scope = Scope {
            mode,
            keys: NameSet::default(),
            allow,
            deny,
            learned: None,
        };
        for seed in seeds {
            scope.add_seed(seed);
        }
        scope
    }

    /// Widens the scope to a seed added later (a resumed crawl's new seeds).
    pub fn add_seed(&mut self, seed: &CanonicalUrl) {
        if self.mode != ScopeMode::All {
            let key = self.key(seed);
            self.keys.insert(&key);
        }
    }

    /// Whether the crawl may fetch `url`.
    pub fn admits(&self, url: &CanonicalUrl) -> bool {
        self.mode_admits(url) && self.patterns_admit(url.as_str())
    }

    /// Whether an embed may fetch `url` (`--requisites`): on any host and whatever
    /// `allow` says, since a page's images and stylesheets are often elsewhere, but
    /// never what `deny` refuses.
    pub fn admits_embed(&self, url: &CanonicalUrl) -> bool {
        !self.deny.iter().any(|re| re.is_match(url.as_str()))
    }

    fn mode_admits(&self, url: &CanonicalUrl) -> bool {
        if self.mode == ScopeMode::All {
            return true;
        }
        let key = self.key(url);
        self.keys.contains(&key) || self.learned.as_ref().is_some_and(|l| l.contains(&key))
    }

    /// Lets keys learned while the crawl runs widen the scope too.
    pub fn learning(mut self, learned: Arc<SharedScopeKeys>) -> Scope {
        self.learned = Some(learned);
        self
    }

    /// What a seed adds to the scope (`None` in mode `all`, where it adds nothing):
    /// the key other nodes of a cluster crawl learn.
    pub fn key_of(&self, seed: &CanonicalUrl) -> Option<String> {
        (self.mode != ScopeMode::All).then(|| self.key(seed).into_owned())
    }

    fn patterns_admit(&self, url: &str) -> bool {
        let allowed = self.allow.is_empty() || self.allow.iter().any(|re| re.is_match(url));
        allowed && !self.deny.iter().any(|re| re.is_match(url))
    }

    /// The part of `url` that the mode compares with the seeds.
    fn key<'u>(&self, url: &'u CanonicalUrl) -> Cow<'u, str> {
        match self.mode {
            ScopeMode::Domain => Cow::Borrowed(registrable_domain(url)),
            // `port()` is `None` for the scheme's default port.
            ScopeMode::Host => match url.as_url().port() {
                Some(port) => Cow::Owned(format!("{}:{port}", url.host())),
                None => Cow::Borrowed(url.host()),
            },
            ScopeMode::Hostname | ScopeMode::All => Cow::Borrowed(url.host()),
        }
    }
}

/// The registrable domain of `url`'s host, or the whole host when there is
/// none (IP addresses, bare public suffixes, single-label names).
fn registrable_domain(url: &CanonicalUrl) -> &str {
    match url.as_url().host() {
        Some(Host::Domain(_)) => psl::domain_str(url.host()).unwrap_or(url.host()),
        _ => url.host(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn url(input: &str) -> CanonicalUrl {
        CanonicalUrl::parse(input).unwrap_or_else(|e| panic!("test URL {input}: {e}"))
    }

    fn re(pattern: &str) -> Regex {
        Regex::new(pattern).unwrap_or_else(|e| panic!("test pattern {pattern}: {e}"))
    }

    fn scope(mode: ScopeMode, seeds: &[&str]) -> Scope {
        let seeds: Vec<_> = seeds.iter().map(|s| url(s)).collect();
        Scope::new(mode, &seeds, vec![], vec![])
    }

    #[test]
    fn mode_parses_case_insensitively_and_names_bad_values() {
        assert_eq!("host".parse(), Ok(ScopeMode::Host));
        assert_eq!("Domain".parse(), Ok(ScopeMode::Domain));
        assert_eq!("ALL".parse(), Ok(ScopeMode::All));
        assert_eq!(ScopeMode::default(), ScopeMode::Host);
        let err = "site".parse::<ScopeMode>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown scope mode `site`; expected one of: host, hostname, domain, all"
        );
        for mode in ScopeMode::ALL {
            assert_eq!(mode.to_string().parse(), Ok(mode));
        }
    }

    #[test]
    fn host_mode_matches_the_host_and_port_with_default_ports_alike() {
        let s = scope(
            ScopeMode::Host,
            &["http://a.test/start", "http://b.test:8080/"],
        );
        assert!(s.admits(&url("http://a.test/other")));
        assert!(s.admits(&url("https://a.test/secure")));
        assert!(s.admits(&url("http://A.test:80/x")));
        assert!(!s.admits(&url("https://a.test:8443/x")));
        assert!(!s.admits(&url("http://a.test:8080/x")));
        assert!(s.admits(&url("http://b.test:8080/x")));
        assert!(!s.admits(&url("http://b.test/")));
        assert!(!s.admits(&url("http://b.test:8081/")));
        assert!(!s.admits(&url("http://www.a.test/")));
    }

    #[test]
    fn hostname_mode_matches_the_host_name_across_schemes_and_ports() {
        let s = scope(ScopeMode::Hostname, &["http://a.test/start"]);
        assert!(s.admits(&url("http://a.test/other")));
        assert!(s.admits(&url("https://A.test:8443/x")));
        assert!(!s.admits(&url("http://www.a.test/")));
        assert!(!s.admits(&url("http://b.test/")));
        assert!(!s.admits(&url("http://a.test.evil.test/")));
    }

    #[test]
    fn domain_mode_uses_registrable_domains() {
        let s = scope(ScopeMode::Domain, &["https://www.example.co.uk/"]);
        assert!(s.admits(&url("http://example.co.uk/")));
        assert!(s.admits(&url("http://deep.blog.example.co.uk/")));
        assert!(!s.admits(&url("http://other.co.uk/")));

        let s = scope(ScopeMode::Domain, &["https://alice.github.io/"]);
        assert!(s.admits(&url("https://alice.github.io/repo")));
        assert!(!s.admits(&url("https://bob.github.io/")));
    }

    #[test]
    fn domain_mode_falls_back_to_the_host_for_ips_and_unsplittable_names() {
        let s = scope(
            ScopeMode::Domain,
            &[
                "http://127.0.0.1:8080/",
                "http://[::1]/",
                "http://localhost/",
            ],
        );
        assert!(s.admits(&url("http://127.0.0.1/x")));
        assert!(!s.admits(&url("http://127.0.0.2/")));
        assert!(!s.admits(&url("http://1.0.0.1/")));
        assert!(s.admits(&url("https://[::1]:9/")));
        assert!(s.admits(&url("http://localhost:3000/")));
        assert!(!s.admits(&url("http://other/")));
    }

    #[test]
    fn all_mode_admits_anything_the_patterns_allow() {
        let s = Scope::new(ScopeMode::All, &[], vec![], vec![re(r"\.pdf$")]);
        assert!(s.admits(&url("http://anything.test/")));
        assert!(!s.admits(&url("http://anything.test/x.pdf")));
    }

    #[test]
    fn allow_and_deny_run_on_the_canonical_string() {
        let seeds = [url("http://a.test/")];
        let s = Scope::new(
            ScopeMode::Host,
            &seeds,
            vec![re("^http://a\\.test/docs/"), re("~")],
            vec![re("/private")],
        );
        assert!(s.admits(&url("HTTP://A.TEST:80/docs/x")));
        assert!(
            s.admits(&url("http://a.test/%7Euser")),
            "matches the decoded `~`"
        );
        assert!(!s.admits(&url("http://a.test/blog/")));
        assert!(!s.admits(&url("http://a.test/docs/private/1")));
        assert!(
            !s.admits(&url("http://b.test/docs/")),
            "mode check still applies"
        );
    }

    #[test]
    fn seeds_can_be_added_later() {
        let mut s = scope(ScopeMode::Host, &["http://a.test/"]);
        assert!(!s.admits(&url("http://b.test/")));
        s.add_seed(&url("http://b.test/resume"));
        s.add_seed(&url("http://b.test/again"));
        assert!(s.admits(&url("http://b.test/")));
        assert_eq!(s.keys.len(), 2);
    }

    #[test]
    fn no_seeds_admit_nothing_outside_all_mode() {
        assert!(!scope(ScopeMode::Host, &[]).admits(&url("http://a.test/")));
        assert!(!scope(ScopeMode::Domain, &[]).admits(&url("http://a.test/")));
    }

    proptest! {
        #[test]
        fn every_seed_is_in_its_own_scope(host in "[a-z]{1,8}(\\.[a-z]{1,8}){0,3}", path in "[a-z/]{0,10}") {
            let Ok(seed) = CanonicalUrl::parse(&format!("http://{host}/{path}")) else {
                return Ok(());
            };
            for mode in ScopeMode::ALL {
                let s = Scope::new(mode, std::slice::from_ref(&seed), vec![], vec![]);
                prop_assert!(s.admits(&seed), "{} {}", mode, seed);
            }
        }
    }
}

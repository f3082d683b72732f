//! `--resolve HOST:PORT:ADDR`: name-to-address overrides, curl's syntax.
//!
//! This is what lets one loopback server stand in for thousands of hostnames. HOST
//! may be `*.example.test` (any name ending in `.example.test`). Names no rule
//! matches go to the system resolver, except names under `.invalid`, which fail at
//! once without a query, as RFC 6761 §6.4 asks of resolver libraries.
//!
//! As in curl, a rule applies to its host on its PORT only. reqwest asks a resolver for
//! a name alone, so the fetcher keeps one client per port the rules name, each with a
//! resolver holding that port's rules ([`OverrideResolver::for_port`]), and one without
//! rules for every other port (`pools.rs`).

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// One override: names matching `host` resolve to `addr`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolveRule {
    /// Lowercased host, or `*.suffix` for a wildcard.
    pub host: String,
    /// The port the rule applies to.
    pub port: u16,
    /// Where the name resolves.
    pub addr: IpAddr,
}

/// A `--resolve` value that does not follow `HOST:PORT:ADDR`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{input:?} is not HOST:PORT:ADDR ({reason})")]
pub struct ResolveRuleError {
    /// The value as given.
    pub input: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl FromStr for ResolveRule {
    type Err = ResolveRuleError;

    fn from_str(input: &str) -> Result<ResolveRule, ResolveRuleError> {
        let fail = |reason| ResolveRuleError {
            input: input.to_owned(),
            reason,
        };
        let mut parts = input.splitn(3, ':');
        let host = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let port = parts.next().ok_or_else(|| fail("missing PORT"))?;
        let addr = parts.next().ok_or_else(|| fail("missing ADDR"))?;
        if host.is_empty() || host == "*." || host.contains('/') {
            return Err(fail("bad HOST"));
        }
        let stars_ok = match host.strip_prefix("*.") {
            Some(suffix) => !suffix.contains('*'),
            None => !host.contains('*'),
        };
        if !stars_ok {
            return Err(fail("a wildcard HOST must look like *.example.test"));
        }
        let port = port
            .parse::<u16>()
            .map_err(|_| fail("PORT is not a number from 0 to 65535"))?;
        let addr = addr.trim_start_matches('[').trim_end_matches(']');
        let addr = addr
            .parse::<IpAddr>()
            .map_err(|_| fail("ADDR is not an IP address"))?;
        Ok(ResolveRule { host, port, addr })
    }
}

impl ResolveRule {
    fn matches(&self, name: &str) -> bool {
        match self.host.strip_prefix("*.") {
            Some(suffix) => {
                name.len() > suffix.len() + 1
                    && name.ends_with(suffix)
                    && name[..name.len() - suffix.len()].ends_with('.')
            }
            None => self.host == name,
        }
    }
}

/// A name resolution failure; found in an error's source chain to classify it as `dns`.
#[derive(Debug, thiserror::Error)]
#[error("cannot resolve {name}: {reason}")]
pub struct DnsFailure {
    /// The name that did not resolve.
    pub name: String,
    /// Why.
    pub reason: String,
}

/// The resolver handed to reqwest: rules first, then the system resolver.
#[derive(Clone, Debug, Default)]
pub struct OverrideResolver {
    rules: Arc<Vec<ResolveRule>>,
}

impl OverrideResolver {
    /// A resolver applying `rules` before the system resolver.
    pub fn new(rules: Vec<ResolveRule>) -> OverrideResolver {
        OverrideResolver {
            rules: Arc::new(rules),
        }
    }

    /// A resolver with only the rules for `port`.
    pub fn for_port(&self, port: u16) -> OverrideResolver {
        OverrideResolver::new(
            self.rules
                .iter()
                .filter(|rule| rule.port == port)
                .cloned()
                .collect(),
        )
    }

    /// The ports the rules name, each once, in order.
    pub fn ports(&self) -> Vec<u16> {
        let mut ports: Vec<u16> = self.rules.iter().map(|rule| rule.port).collect();
        ports.sort_unstable();
        ports.dedup();
        ports
    }

    /// The address a rule for `port` gives `name`, if any matches (the first wins).
    pub fn lookup_override_at(&self, name: &str, port: u16) -> Option<IpAddr> {
        self.find(name, Some(port))
    }

    /// The address a rule gives `name`, if any rule matches (the first wins), whatever
    /// the rule's port: a resolver made by [`OverrideResolver::for_port`] holds one
    /// port's rules.
    pub fn lookup_override(&self, name: &str) -> Option<IpAddr> {
        self.find(name, None)
    }

    /// The first rule matching `name` (and `port`, when given).
    fn find(&self, name: &str, port: Option<u16>) -> Option<IpAddr> {
        if self.rules.is_empty() {
            return None;
        }
        let name = name.trim_end_matches('.');
        // Hosts of canonical URLs are lowercase already: most names are not copied.
        let name = match name.bytes().any(|b| b.is_ascii_uppercase()) {
            true => std::borrow::Cow::Owned(name.to_ascii_lowercase()),
            false => std::borrow::Cow::Borrowed(name),
        };
        self.rules
            .iter()
            .find(|rule| port.is_none_or(|port| rule.port == port) && rule.matches(&name))
            .map(|rule| rule.addr)
    }
}

impl Resolve for OverrideResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        if let Some(addr) = self.lookup_override(&host) {
            let addrs: Addrs = Box::new(std::iter::once(SocketAddr::new(addr, 0)));
            return Box::pin(std::future::ready(Ok(addrs)));
        }
        if is_reserved_invalid(&host) {
            let failure = DnsFailure {
                name: host,
                reason: "names under .invalid never resolve (RFC 6761)".into(),
            };
            return Box::pin(std::future::ready(Err(Box::new(failure) as _)));
        }
        Box::pin(async move {
            let found = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|e| DnsFailure {
                    name: host.clone(),
                    reason: e.to_string(),
                })?;
            let addrs: Vec<SocketAddr> = found.collect();
            if addrs.is_empty() {
                return Err(Box::new(DnsFailure {
                    name: host,
                    reason: "no addresses".into(),
                }) as _);
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// `invalid` and names under it (RFC 6761 §6.4), with or without the final dot.
pub(super) fn is_reserved_invalid(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "invalid" || name.ends_with(".invalid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_curl_syntax_with_wildcards_and_ipv6() {
        let rule: ResolveRule = "*.Example.test:8080:127.0.0.1".parse().unwrap();
        assert_eq!(rule.host, "*.example.test");
        assert_eq!(rule.port, 8080);
        let v6: ResolveRule = "a.test:80:[::1]".parse().unwrap();
        assert_eq!(v6.addr, "::1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn rejects_bad_rules_with_a_reason() {
        for bad in [
            "",
            "a.test",
            "a.test:80",
            "a.test:x:127.0.0.1",
            "a.test:80:nope",
            "*:80:127.0.0.1",
            "a*.test:80:127.0.0.1",
        ] {
            let err = bad.parse::<ResolveRule>().err();
            assert!(err.is_some(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn wildcard_matches_subdomains_only() {
        let resolver = OverrideResolver::new(vec![
            "*.web.test:80:127.0.0.2".parse().unwrap(),
            "exact.test:80:127.0.0.3".parse().unwrap(),
        ]);
        assert_eq!(
            resolver.lookup_override("h1.web.test"),
            Some("127.0.0.2".parse().unwrap())
        );
        assert_eq!(
            resolver.lookup_override("A.B.WEB.TEST."),
            Some("127.0.0.2".parse().unwrap())
        );
        assert_eq!(resolver.lookup_override("web.test"), None);
        assert_eq!(resolver.lookup_override("xweb.test"), None);
        assert_eq!(
            resolver.lookup_override("exact.test"),
            Some("127.0.0.3".parse().unwrap())
        );
    }

    #[test]
    fn a_rule_applies_on_its_port_only() {
        let resolver = OverrideResolver::new(vec![
            "a.test:8080:127.0.0.2".parse().unwrap(),
            "a.test:443:127.0.0.3".parse().unwrap(),
            "*.b.test:8080:127.0.0.4".parse().unwrap(),
        ]);
        assert_eq!(resolver.ports(), [443, 8080]);
        let at = |name: &str, port| resolver.lookup_override_at(name, port);
        assert_eq!(at("a.test", 8080), Some("127.0.0.2".parse().unwrap()));
        assert_eq!(at("a.test", 443), Some("127.0.0.3".parse().unwrap()));
        assert_eq!(at("a.test", 80), None);
        assert_eq!(at("x.b.test", 443), None);
        let view = resolver.for_port(8080);
        assert_eq!(view.ports(), [8080]);
        assert_eq!(
            view.lookup_override("a.test"),
            Some("127.0.0.2".parse().unwrap())
        );
    }

    #[test]
    fn names_under_invalid_fail_without_a_query() {
        assert!(is_reserved_invalid("nowhere.invalid"));
        assert!(is_reserved_invalid("A.INVALID."));
        assert!(is_reserved_invalid("invalid"));
        assert!(!is_reserved_invalid("invalid.test"));
        assert!(!is_reserved_invalid("xinvalid"));
    }
}

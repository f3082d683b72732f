//! Which addresses a crawl may connect to: the guard against server-side request
//! forgery.
//!
//! A page may link or redirect anywhere: to a cloud's metadata service
//! (169.254.169.254), to the crawling machine itself, to the private network it sits
//! on. Every address a request would connect to is judged here, when it connects:
//! the resolver drops what a name resolves to that is refused (and fails when
//! nothing is left), and a host written as an address, which no resolver sees, is
//! judged before the request. A name that resolves to a public address once and to
//! a private one the next time (DNS rebinding) gains nothing.
//!
//! The rules, in order; the first that applies decides:
//! 1. an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is judged as `a.b.c.d`;
//! 2. `--allow-address` and `--deny-address`: the most specific network holding the
//!    address decides (the longest prefix); deny wins between two of one length;
//! 3. unspecified (`0.0.0.0/8`, `::`), link-local (`169.254.0.0/16`, `fe80::/10`),
//!    multicast (`224.0.0.0/4`, `ff00::/8`) and broadcast (`255.255.255.255`) are
//!    refused;
//! 4. loopback (`127.0.0.0/8` with `::1`) and each private range (`10.0.0.0/8`,
//!    `172.16.0.0/12`, `192.168.0.0/16`, `100.64.0.0/10`, `fc00::/7`) are refused,
//!    unless a seed's host is in that same range: a seed written as an address or
//!    mapped by `--resolve` counts from the start, a seed's name from the moment the
//!    crawl resolves it to connect (seeds are fetched first; no name is looked up at
//!    start, which a list of a million seeds could not afford);
//! 5. any other address is allowed.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::Host;

use super::resolver::OverrideResolver;
use crate::url::{CanonicalUrl, NameSet};

/// One `--allow-address` or `--deny-address` network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddressRule {
    /// The network (a bare address is a network of one).
    pub net: IpNet,
    /// Allowed (`--allow-address`) or refused (`--deny-address`).
    pub allow: bool,
}

/// A value that is not a network: `10.0.0.0/8`, `fd00::/8`, or one address.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{input:?} is not an IP network (CIDR like 10.0.0.0/8 or fd00::/8) nor an IP address")]
pub struct AddressRuleError {
    /// The value as given.
    pub input: String,
}

/// Parses `10.0.0.0/8`, `fd00::/8` or a bare address. Bits past the prefix are
/// dropped (`10.1.2.3/8` is `10.0.0.0/8`); an IPv4-mapped IPv6 network is the IPv4
/// network it maps, as the addresses in it are judged.
pub fn parse_network(input: &str) -> Result<IpNet, AddressRuleError> {
    let text = input.trim();
    let net = text
        .parse::<IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| AddressRuleError {
            input: input.to_owned(),
        })?;
    Ok(unmapped_net(net).trunc())
}

/// Why a connection was refused: the address and the rule that refused it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{addr} is {why}")]
pub struct Refusal {
    /// The address refused.
    pub addr: IpAddr,
    /// The rule, for people.
    pub why: String,
}

/// A name whose every address was refused; found in an error's source chain to
/// classify it as `address-refused`.
#[derive(Debug, thiserror::Error)]
#[error("not connected to {name}, which resolves to refused addresses only: {refusal}")]
pub struct AddressRefused {
    /// The host name or address.
    pub name: String,
    /// Why (the first address's refusal).
    pub refusal: Refusal,
}

const fn v4(a: u8, b: u8, c: u8, d: u8, prefix: u8) -> IpNet {
    IpNet::V4(Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), prefix))
}

const fn v6(addr: Ipv6Addr, prefix: u8) -> IpNet {
    IpNet::V6(Ipv6Net::new_assert(addr, prefix))
}

/// Refused whatever the seeds: nothing a crawl should reach goes there.
const NEVER: [(&str, IpNet); 8] = [
    ("unspecified", v4(0, 0, 0, 0, 8)),
    ("unspecified", v6(Ipv6Addr::UNSPECIFIED, 128)),
    ("link-local", v4(169, 254, 0, 0, 16)),
    (
        "link-local",
        v6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10),
    ),
    ("multicast", v4(224, 0, 0, 0, 4)),
    (
        "multicast",
        v6(Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0), 8),
    ),
    ("broadcast", v4(255, 255, 255, 255, 32)),
    // Deprecated (RFC 3879), private in all but name.
    (
        "site-local",
        v6(Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0), 10),
    ),
];

/// Refused unless a seed is in the same class: (what the class is, its networks).
const GUARDED: [(&str, &[IpNet]); 6] = [
    (
        "loopback",
        &[v4(127, 0, 0, 0, 8), v6(Ipv6Addr::LOCALHOST, 128)],
    ),
    ("private (10.0.0.0/8)", &[v4(10, 0, 0, 0, 8)]),
    ("private (172.16.0.0/12)", &[v4(172, 16, 0, 0, 12)]),
    ("private (192.168.0.0/16)", &[v4(192, 168, 0, 0, 16)]),
    (
        "shared, carrier-grade NAT (100.64.0.0/10)",
        &[v4(100, 64, 0, 0, 10)],
    ),
    (
        "unique local (fc00::/7)",
        &[v6(Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7)],
    ),
];

/// The address rules of a crawl: the user's networks and the guarded classes its
/// seeds are in. Clones share which classes the seeds opened.
#[derive(Clone, Debug, Default)]
pub struct AddressPolicy {
    rules: Vec<AddressRule>,
    /// Which of [`GUARDED`] a seed is in, by index; set as seed names resolve.
    seeded: Arc<[AtomicBool; GUARDED.len()]>,
    /// The seeds' host names (lowercase): what they resolve to opens its class.
    seed_names: Arc<NameSet>,
}

impl AddressPolicy {
    /// The policy of `rules`, with the guarded classes that any of `seed_addresses`
    /// is in allowed.
    pub fn new(
        rules: Vec<AddressRule>,
        seed_addresses: impl IntoIterator<Item = IpAddr>,
    ) -> AddressPolicy {
        let policy = AddressPolicy {
            rules,
            ..AddressPolicy::default()
        };
        for addr in seed_addresses {
            policy.open_class_of(addr);
        }
        policy
    }

    /// The policy, with the guarded class of whatever `names` (seed hosts) resolve to
    /// opened when the crawl resolves them.
    pub fn with_seed_names(mut self, names: NameSet) -> AddressPolicy {
        self.seed_names = Arc::new(names);
        self
    }

    /// Opens the guarded class `addr` is in, if any; true when it was closed.
    fn open_class_of(&self, addr: IpAddr) -> bool {
        guarded_class(unmapped(addr))
            .is_some_and(|class| !self.seeded[class].swap(true, Ordering::Relaxed))
    }

    /// `name` resolved to `addrs`: when it is a seed's host, their guarded classes open.
    fn resolved(&self, name: &str, addrs: &[SocketAddr]) {
        if !self.seed_names.contains(name) {
            return;
        }
        for addr in addrs {
            if self.open_class_of(addr.ip()) {
                tracing::info!(
                    seed = name,
                    addr = %addr.ip(),
                    "a seed is on a guarded address: its range may be connected to"
                );
            }
        }
    }

    /// Whether a request may connect to `addr`, and if not, why.
    pub fn check(&self, addr: IpAddr) -> Result<(), Refusal> {
        let ip = unmapped(addr);
        let refuse = |why: String| Err(Refusal { addr, why });
        let decisive = self
            .rules
            .iter()
            .filter(|rule| rule.net.contains(&ip))
            .max_by_key(|rule| (rule.net.prefix_len(), !rule.allow));
        if let Some(rule) = decisive {
            return match rule.allow {
                true => Ok(()),
                false => refuse(format!("in --deny-address {}", rule.net)),
            };
        }
        if let Some((name, _)) = NEVER.iter().find(|(_, net)| net.contains(&ip)) {
            return refuse(format!(
                "{name}: never connected to (unless --allow-address names it)"
            ));
        }
        match guarded_class(ip) {
            Some(class) if !self.seeded[class].load(Ordering::Relaxed) => refuse(format!(
                "{}: connected to only when a seed is (or --allow-address names it)",
                GUARDED[class].0
            )),
            _ => Ok(()),
        }
    }

    /// The guarded classes the seeds opened, for the log.
    pub fn seeded_classes(&self) -> Vec<&'static str> {
        GUARDED
            .iter()
            .zip(self.seeded.iter())
            .filter_map(|((name, _), seeded)| seeded.load(Ordering::Relaxed).then_some(*name))
            .collect()
    }
}

impl AddressPolicy {
    /// [`AddressPolicy::check`] for a URL whose host is an address (which no resolver
    /// sees); `None` for a name or an allowed address.
    pub fn check_literal(&self, url: &url::Url) -> Option<Refusal> {
        let addr = match url.host()? {
            Host::Ipv4(v4) => IpAddr::V4(v4),
            Host::Ipv6(v6) => IpAddr::V6(v6),
            Host::Domain(_) => return None,
        };
        self.check(addr).err()
    }
}

/// The seeds' hosts as the address rules see them before any lookup, taken one seed
/// at a time (a broad crawl's seeds are not all in memory at once): the addresses of
/// those written as an address or mapped by `--resolve`, and the names (lowercase) of
/// the others, whose addresses count once the crawl resolves them.
#[derive(Debug, Default)]
pub struct SeedHosts {
    addresses: BTreeSet<IpAddr>,
    names: NameSet,
}

impl SeedHosts {
    /// Takes `seed`'s host in.
    pub fn add(&mut self, seed: &CanonicalUrl, resolver: &OverrideResolver) {
        match seed.as_url().host() {
            Some(Host::Ipv4(v4)) => {
                self.addresses.insert(IpAddr::V4(v4));
            }
            Some(Host::Ipv6(v6)) => {
                self.addresses.insert(IpAddr::V6(v6));
            }
            Some(Host::Domain(name)) => match seed
                .as_url()
                .port_or_known_default()
                .and_then(|port| resolver.lookup_override_at(name, port))
            {
                Some(addr) => {
                    self.addresses.insert(addr);
                }
                None => {
                    self.names.insert(&name.to_ascii_lowercase());
                }
            },
            None => {}
        }
    }

    /// The addresses, and the names to watch.
    pub fn into_parts(self) -> (Vec<IpAddr>, NameSet) {
        (self.addresses.into_iter().collect(), self.names)
    }
}

/// The resolver handed to the client: [`OverrideResolver`]'s answer with every
/// refused address dropped, or an [`AddressRefused`] error when none is left. The
/// proxies' own hosts are exempt: the user named them.
#[derive(Clone, Debug)]
pub struct GuardedResolver {
    inner: OverrideResolver,
    policy: Arc<AddressPolicy>,
    exempt: Arc<Vec<String>>,
}

impl GuardedResolver {
    /// `inner`'s answers judged by `policy`, but for the names in `exempt`.
    pub fn new(
        inner: OverrideResolver,
        policy: Arc<AddressPolicy>,
        exempt: Vec<String>,
    ) -> GuardedResolver {
        GuardedResolver {
            inner,
            policy,
            exempt: Arc::new(exempt),
        }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().trim_end_matches('.').to_ascii_lowercase();
        let resolving = self.inner.resolve(name);
        if self.exempt.contains(&host) {
            return resolving;
        }
        let policy = Arc::clone(&self.policy);
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = resolving.await?.collect();
            policy.resolved(&host, &addrs);
            let mut first_refusal = None;
            let allowed: Vec<SocketAddr> = addrs
                .into_iter()
                .filter(|addr| match policy.check(addr.ip()) {
                    Ok(()) => true,
                    Err(refusal) => {
                        first_refusal.get_or_insert(refusal);
                        false
                    }
                })
                .collect();
            match first_refusal {
                Some(refusal) if allowed.is_empty() => Err(Box::new(AddressRefused {
                    name: host,
                    refusal,
                }) as _),
                _ => Ok(Box::new(allowed.into_iter()) as Addrs),
            }
        })
    }
}

/// Which of [`GUARDED`] holds `ip`.
fn guarded_class(ip: IpAddr) -> Option<usize> {
    GUARDED
        .iter()
        .position(|(_, nets)| nets.iter().any(|net| net.contains(&ip)))
}

/// An IPv4-mapped IPv6 address as the IPv4 address it maps; any other as it is.
fn unmapped(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        IpAddr::V4(_) => addr,
    }
}

/// [`unmapped`] for a network: `::ffff:10.0.0.0/104` is `10.0.0.0/8`.
fn unmapped_net(net: IpNet) -> IpNet {
    match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.addr().to_ipv4_mapped() {
            Some(v4) => IpNet::V4(Ipv4Net::new_assert(v4, v6.prefix_len() - 96)),
            None => net,
        },
        _ => net,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn rule(text: &str) -> AddressRule {
        let (verb, net) = text.split_once(':').unwrap();
        AddressRule {
            net: parse_network(net).unwrap(),
            allow: verb == "allow",
        }
    }

    fn refused(policy: &AddressPolicy, addr: &str) -> bool {
        policy.check(ip(addr)).is_err()
    }

    #[test]
    fn with_no_seed_on_them_only_public_addresses_are_allowed() {
        let policy = AddressPolicy::new(vec![], [ip("93.184.216.34")]);
        for addr in [
            "169.254.169.254",
            "fe80::1",
            "0.0.0.0",
            "0.1.2.3",
            "::",
            "224.0.0.1",
            "ff02::1",
            "255.255.255.255",
            "127.0.0.1",
            "127.9.9.9",
            "::1",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "fd00::1",
            "fec0::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.1.1.1",
        ] {
            assert!(refused(&policy, addr), "{addr} was allowed");
        }
        for addr in [
            "93.184.216.34",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1",
            "::ffff:8.8.8.8",
        ] {
            assert!(!refused(&policy, addr), "{addr} was refused");
        }
    }

    #[test]
    fn a_seed_opens_its_own_class_only() {
        let policy = AddressPolicy::new(vec![], [ip("127.0.0.1"), ip("::ffff:192.168.0.9")]);
        assert!(!refused(&policy, "127.0.0.2"));
        assert!(
            !refused(&policy, "::1"),
            "loopback is one class, both families"
        );
        assert!(!refused(&policy, "192.168.200.1"));
        assert!(refused(&policy, "10.0.0.1"));
        assert!(
            refused(&policy, "169.254.169.254"),
            "never opened by a seed"
        );
        assert_eq!(
            policy.seeded_classes(),
            ["loopback", "private (192.168.0.0/16)"]
        );
        let on_link_local = AddressPolicy::new(vec![], [ip("169.254.1.1")]);
        assert!(refused(&on_link_local, "169.254.1.1"));
    }

    #[test]
    fn a_seed_name_opens_its_class_when_the_crawl_resolves_it() {
        let policy =
            AddressPolicy::new(vec![], []).with_seed_names(["seed.test"].into_iter().collect());
        assert!(
            refused(&policy, "10.0.0.9"),
            "nothing is looked up at start"
        );
        let at = |addr: &str| SocketAddr::new(ip(addr), 80);
        policy.resolved("other.test", &[at("192.168.1.1")]);
        assert!(refused(&policy, "192.168.1.1"), "only a seed's name opens");
        policy.clone().resolved("seed.test", &[at("10.0.0.5")]);
        assert!(!refused(&policy, "10.0.0.9"), "clones share what opened");
        assert!(refused(&policy, "192.168.1.1"));
    }

    #[test]
    fn the_most_specific_user_rule_wins_and_deny_wins_a_tie() {
        let policy = AddressPolicy::new(
            vec![
                rule("allow:10.0.0.0/8"),
                rule("deny:10.9.0.0/16"),
                rule("allow:10.9.9.9"),
                rule("deny:127.0.0.2/32"),
                rule("allow:192.168.0.0/16"),
                rule("deny:192.168.0.0/16"),
                rule("allow:169.254.169.254"),
            ],
            [ip("127.0.0.1")],
        );
        assert!(!refused(&policy, "10.1.1.1"));
        assert!(refused(&policy, "10.9.1.1"));
        assert!(!refused(&policy, "10.9.9.9"));
        assert!(refused(&policy, "127.0.0.2"));
        assert!(refused(&policy, "::ffff:127.0.0.2"));
        assert!(!refused(&policy, "127.0.0.3"));
        assert!(refused(&policy, "192.168.1.1"));
        assert!(
            !refused(&policy, "169.254.169.254"),
            "an allow overrides all"
        );
        let why = policy.check(ip("10.9.1.1")).unwrap_err().to_string();
        assert_eq!(why, "10.9.1.1 is in --deny-address 10.9.0.0/16");
    }

    #[test]
    fn networks_parse_as_cidr_or_one_address() {
        assert_eq!(
            parse_network("10.1.2.3/8").unwrap().to_string(),
            "10.0.0.0/8"
        );
        assert_eq!(parse_network(" ::1 ").unwrap().to_string(), "::1/128");
        assert_eq!(
            parse_network("::ffff:10.0.0.0/104").unwrap().to_string(),
            "10.0.0.0/8"
        );
        for bad in [
            "",
            "10.0.0.0/33",
            "10/8",
            "fe80::/129",
            "example.test",
            "1.2.3",
        ] {
            assert!(parse_network(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
